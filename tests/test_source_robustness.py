"""Whatever JSON a user feeds `residency check`, it is a Result or an InputError: never a crash.

Hypothesis builds damaged previews and stack exports (wrong types in every slot, unknown sentinels,
secret objects, odd nesting) from a realistic skeleton; the source must either refuse them with an
InputError or build a stack the engine evaluates without any rule crashing. Every example starts
from its own deep copy of the skeleton and of each value it inserts, so no example can see another's
objects (or an object inside itself).

Deep nesting and very large inputs go through the real command: a clean exit 2 with one line when
they are refused, a verdict when they are judged, never a traceback or an internal error.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
from honesty import no_crash
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies.check import run_check, settings_for
from policies.engine import evaluate
from policies.errors import InputError
from policies.examples.reference import as_stack_export, compliant_unit, noncompliant_unit, preview
from policies.model import SIG_KEY, UNKNOWN_SENTINEL
from policies.sources import decode_json, stack_from_document
from policies.sources.state import MAX_DEPTH

SECRET = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "ciphertext": "AAAB"}


def fresh(value):
    """A strategy for `value` that hands every draw its own copy: examples never share an object."""
    return st.builds(copy.deepcopy, st.just(value))


def nested(depth: int, leaf=None):
    """`depth` levels of alternating objects and lists around `leaf`."""
    value = leaf
    for level in range(depth):
        value = {"k": value} if level % 2 else [value]
    return value


ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.just(UNKNOWN_SENTINEL),
    st.just("[secret]"),
    fresh(SECRET),
    fresh({}),
    fresh([]),
    fresh({"rules": UNKNOWN_SENTINEL}),
    st.just('{"Statement": "nope"}'),
    st.just('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*"}]}'),
    st.just("arn:aws:s3:::x"),
    # Shallow to too deep, around a value rules look at. (Hypothesis raises the recursion limit while
    # it runs a test, so a RecursionError shows only outside it: the CLI tests below cover that.)
    st.builds(nested, st.integers(1, 3 * MAX_DEPTH), st.sampled_from([None, UNKNOWN_SENTINEL, "x"])),
)

BASE_PREVIEW = preview(compliant_unit() + noncompliant_unit())
BASE_EXPORT = as_stack_export(BASE_PREVIEW, 3)


def _paths(doc, prefix=()):
    """Every (path) to a value inside the document, for mutation."""
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield (*prefix, k)
            yield from _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield (*prefix, i)
            yield from _paths(v, (*prefix, i))


PREVIEW_PATHS = list(_paths(BASE_PREVIEW))
EXPORT_PATHS = list(_paths(BASE_EXPORT))


def _mutate(doc, mutations):
    doc = copy.deepcopy(doc)
    for path, value in mutations:
        target = doc
        try:
            for key in path[:-1]:
                target = target[key]
            # A copy: a value written twice, or under itself, must not become one shared object.
            target[path[-1]] = copy.deepcopy(value)
        except (KeyError, IndexError, TypeError):
            continue
    return doc


def _judge(doc):
    _, catalog_settings = settings_for(None)
    try:
        stack = stack_from_document(doc, "fuzz.json", catalog_settings)
    except InputError as exc:
        assert str(exc).startswith("fuzz.json: ")
        return
    no_crash(evaluate(stack))


# Example counts and randomness come from the profile tests/conftest.py loads (CI: derandomized).
@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(PREVIEW_PATHS), ODD_VALUES), min_size=1, max_size=6))
def test_damaged_previews_are_refused_or_judged_without_crashing(mutations):
    _judge(_mutate(BASE_PREVIEW, mutations))


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(EXPORT_PATHS), ODD_VALUES), min_size=1, max_size=6))
def test_damaged_stack_exports_are_refused_or_judged_without_crashing(mutations):
    _judge(_mutate(BASE_EXPORT, mutations))


def test_mutations_never_share_objects_between_examples():
    """The same drawn value written at two paths, one inside the other, stays a tree."""
    inner = {"x": 1}
    outer_path = PREVIEW_PATHS[0]
    doc = _mutate(BASE_PREVIEW, [(outer_path, inner), ((*outer_path, "x"), inner)])
    assert doc[outer_path[0]] == {"x": {"x": 1}}
    assert inner == {"x": 1}
    json.dumps(doc)  # raises ValueError("Circular reference detected") on a shared object


@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_arbitrary_bytes_are_refused_with_one_line(data):
    try:
        doc = decode_json(data, "junk.json")
    except InputError as exc:
        assert "\n" not in str(exc)
        return
    try:
        _judge(doc)
    except InputError:
        pass


def test_a_json_round_trip_of_the_base_documents_is_stable():
    assert json.loads(json.dumps(BASE_PREVIEW)) == BASE_PREVIEW


# -- deep nesting and very large inputs, through `residency check` ---------------------------------


def _check_cli(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "policies.cli", "check", str(path), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=300,
    )


def _refused_with_one_line(proc: subprocess.CompletedProcess, *expected: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr[-2000:]
    assert "internal error" not in lines[0] and "RecursionError" not in lines[0], lines[0]
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


def _with_inputs(doc, urn_suffix, key, value):
    doc = copy.deepcopy(doc)
    for step in doc["steps"]:
        if step["urn"].endswith(urn_suffix):
            step["newState"]["inputs"][key] = value
            return doc
    raise AssertionError(f"no step ends with {urn_suffix}")


TABLE = "aws:dynamodb/table:Table::accounts"


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 500, 950])
def test_a_property_nested_too_deep_is_refused_naming_the_step(tmp_path, depth):
    """Valid JSON, as deep as orjson reads (1024), in one resource's inputs: one line, exit 2."""
    path = tmp_path / "deep.json"
    path.write_text(_dumps_deep(_with_inputs(BASE_PREVIEW, TABLE, "tags", nested(depth, "x"))))
    _refused_with_one_line(_check_cli(path), str(path), TABLE, f"nested more than {MAX_DEPTH} levels deep")


def _dumps_deep(doc: object) -> str:
    """json.dumps of a document ~1000 levels deep: the encoder recurses once per level, on top of the
    frames pytest (and an xdist worker) already use, so the test's own writer needs the room."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 5000))
    try:
        return json.dumps(doc)
    finally:
        sys.setrecursionlimit(limit)


def test_a_stack_export_with_a_deep_output_is_refused_naming_the_resource(tmp_path):
    doc = copy.deepcopy(BASE_EXPORT)
    state = doc["deployment"]["resources"][-1]
    state["outputs"]["deep"] = nested(500)
    path = tmp_path / "deep-export.json"
    path.write_text(json.dumps(doc))
    _refused_with_one_line(_check_cli(path), state["urn"], f"nested more than {MAX_DEPTH} levels deep")


def test_a_secret_whose_plaintext_nests_too_deep_is_refused(tmp_path):
    secret = {SIG_KEY: SECRET["4dabf18193072939515e22adb298388d"], "plaintext": "[" * 5000 + "]" * 5000}
    path = tmp_path / "deep-secret.json"
    path.write_text(json.dumps(_with_inputs(BASE_PREVIEW, TABLE, "tags", secret)))
    _refused_with_one_line(_check_cli(path), TABLE, "secret's plaintext is nested more than")


def test_a_document_deeper_than_the_json_reader_allows_is_refused(tmp_path):
    path = tmp_path / "deeper.json"
    path.write_text('{"steps": ' + "[" * 3000 + "]" * 3000 + "}")
    _refused_with_one_line(_check_cli(path), "nested more than 1024 levels deep")


def test_deep_nesting_where_no_rule_looks_is_judged(tmp_path):
    """A deep `detailedDiff` is not resource state: the stack is still judged, not refused."""
    doc = copy.deepcopy(BASE_PREVIEW)
    doc["steps"][0]["detailedDiff"] = nested(900)
    path = tmp_path / "deep-diff.json"
    path.write_text(json.dumps(doc))
    proc = _check_cli(path)
    assert proc.returncode == 1, proc.stderr[-2000:]
    no_crash(json.loads(proc.stdout))


def test_a_number_beyond_a_double_is_refused_with_one_line(tmp_path):
    path = tmp_path / "huge-number.json"
    path.write_text(json.dumps(BASE_PREVIEW).replace('"cn-north-1"', "1e400", 1))
    _refused_with_one_line(_check_cli(path), "is not valid JSON", "infinity")


def test_very_large_values_are_judged_not_refused(tmp_path):
    """A 20 MB string and a 300,000-element list in one resource: a verdict, every rule ran."""
    doc = _with_inputs(BASE_PREVIEW, TABLE, "description", "x" * 20_000_000)
    doc = _with_inputs(doc, TABLE, "attribute", [{"name": f"a{i}", "type": "S"} for i in range(300_000)])
    path = tmp_path / "large.json"
    path.write_text(json.dumps(doc))
    assert path.stat().st_size > 25_000_000
    proc = _check_cli(path)
    assert proc.returncode == 1, proc.stderr[-2000:]
    out = no_crash(json.loads(proc.stdout))
    base = tmp_path / "base.json"
    base.write_text(json.dumps(BASE_PREVIEW))
    # The same resources are judged as in the document without the large values.
    assert out["summary"]["resources"] == run_check([str(base)]).resources


def test_many_resources_are_judged(tmp_path):
    """5,000 copies of the non-compliant unit's table: each one is judged."""
    steps = [s for s in BASE_PREVIEW["steps"] if s["urn"].endswith(TABLE) or "providers" in s["urn"]]
    doc = copy.deepcopy({**BASE_PREVIEW, "steps": steps})
    table = next(s for s in doc["steps"] if s["urn"].endswith(TABLE))
    for i in range(5000):
        step = copy.deepcopy(table)
        step["urn"] = step["newState"]["urn"] = f"{table['urn']}-{i}"
        doc["steps"].append(step)
    path = tmp_path / "many.json"
    path.write_text(json.dumps(doc))
    proc = _check_cli(path)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    out = no_crash(json.loads(proc.stdout))
    assert out["summary"]["resources"] >= 5000
