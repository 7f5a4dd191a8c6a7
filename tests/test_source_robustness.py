"""Whatever JSON a user feeds `residency check`, it is a Result or an InputError: never a crash.

Hypothesis builds damaged previews and stack exports (wrong types in every slot, unknown sentinels,
secret objects, odd nesting) from a realistic skeleton; the source must either refuse them with an
InputError or build a stack the engine evaluates without any rule crashing.
"""

from __future__ import annotations

import copy
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies.check import settings_for
from policies.engine import evaluate
from policies.errors import InputError
from policies.examples.reference import as_stack_export, compliant_unit, noncompliant_unit, preview
from policies.model import UNKNOWN_SENTINEL
from policies.sources import decode_json, stack_from_document

SECRET = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "ciphertext": "AAAB"}
ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.just(UNKNOWN_SENTINEL),
    st.just("[secret]"),
    st.just(SECRET),
    st.just({}),
    st.just([]),
    st.just({"rules": UNKNOWN_SENTINEL}),
    st.just('{"Statement": "nope"}'),
    st.just('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*"}]}'),
    st.just("arn:aws:s3:::x"),
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
            target[path[-1]] = value
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
    result = evaluate(stack)
    crashed = [f.message for f in result.findings if "could not be checked" in f.message]
    assert not crashed, crashed[:3]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(PREVIEW_PATHS), ODD_VALUES), min_size=1, max_size=6))
def test_damaged_previews_are_refused_or_judged_without_crashing(mutations):
    _judge(_mutate(BASE_PREVIEW, mutations))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(EXPORT_PATHS), ODD_VALUES), min_size=1, max_size=6))
def test_damaged_stack_exports_are_refused_or_judged_without_crashing(mutations):
    _judge(_mutate(BASE_EXPORT, mutations))


@settings(max_examples=80, deadline=None)
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
