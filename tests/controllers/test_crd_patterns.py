"""The CRDs carry the same patterns as the models, and they accept and refuse the same values.

The API server matches a CRD `pattern` with Go's RE2, where `$` is the end of the text; pydantic's
Rust regex reads `$` the same way, and the models' Python checks use `fullmatch`. So a value with a
trailing newline ("user-1\\n") is refused on every side. These tests compare the two sides field by
field: structurally (the same pattern at the same place) and by behaviour (sample values, valid and
hostile, accepted by the model exactly when the CRD's schema accepts them).
"""

from __future__ import annotations

import copy
import functools
import re
from typing import Any

import jsonschema
import pytest
import yaml
from pydantic import ValidationError

from controllers import crds
from controllers.models import (
    ARN_PRINCIPAL_CRD_PATTERN,
    KEY_PREFIX_PATTERN,
    KINDS,
    SUBJECT_ID,
    SUBJECT_ID_PATTERN,
)
from policies.catalog import default_catalog

SETTINGS = default_catalog().settings()


@functools.cache
def _crd_spec_schema(kind: str) -> dict[str, Any]:
    doc = yaml.safe_load(crds.render(kind))
    return doc["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]


def crd_spec_schema(kind: str) -> dict[str, Any]:
    return copy.deepcopy(_crd_spec_schema(kind))


def patterns(node: Any, path: str = "") -> dict[str, str]:
    """Every `pattern` in a (structural or pydantic) JSON schema, by field path."""
    found: dict[str, str] = {}
    if isinstance(node, dict):
        if isinstance(node.get("pattern"), str):
            found[path] = node["pattern"]
        for name, sub in (node.get("properties") or {}).items():
            found.update(patterns(sub, f"{path}.{name}"))
        if isinstance(node.get("items"), dict):
            found.update(patterns(node["items"], f"{path}[]"))
    return found


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    return crds.structural(schema)  # $refs inlined; patterns are copied through unchanged


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_pattern_of_the_model_is_in_the_crd_at_the_same_place(kind: str) -> None:
    model = patterns(_inline(KINDS[kind].model_json_schema(by_alias=True, mode="validation")))
    crd = patterns(crd_spec_schema(kind))
    assert model == crd
    assert model  # there is something to compare


def test_the_python_checks_use_the_crd_patterns() -> None:
    erasure = patterns(crd_spec_schema("ErasureRequest"))
    assert erasure[".subjectId"] == SUBJECT_ID_PATTERN == SUBJECT_ID.pattern
    assert erasure[".dataStores[].s3.keyPrefix"] == KEY_PREFIX_PATTERN
    audit = patterns(crd_spec_schema("AccessAuditPolicy"))
    assert audit[".allowedPrincipals[]"] == ARN_PRINCIPAL_CRD_PATTERN


# --- by behaviour ---------------------------------------------------------------------------------


def _go_pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Any:
    """`pattern` as the API server reads it (RE2: `$` is the end of the text, not before a final \\n)."""
    if not isinstance(instance, str):
        return
    python = pattern[:-1] + r"\Z" if pattern.endswith("$") and not pattern.endswith(r"\$") else pattern
    if not re.search(python, instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


#: The one CEL rule on a string field, emulated (the test fails if the rule text changes).
_CEL_ONCE = "self.indexOf('{subjectId}') == self.lastIndexOf('{subjectId}')"


def _cel(validator: Any, rules: Any, instance: Any, schema: Any) -> Any:
    for rule in rules:
        if rule["rule"] == _CEL_ONCE:
            if isinstance(instance, str) and instance.find("{subjectId}") != instance.rfind("{subjectId}"):
                yield jsonschema.ValidationError(rule["message"])
        elif "minAgeDays" not in rule["rule"]:
            raise AssertionError(f"no emulation for CEL rule {rule['rule']!r}")


ApiServer = jsonschema.validators.extend(
    jsonschema.Draft4Validator, {"pattern": _go_pattern, "x-kubernetes-validations": _cel}
)

BASE: dict[str, dict[str, Any]] = {
    "RetentionPolicy": {
        "dataStores": [
            {"s3": {"bucket": "data-bucket", "region": "cn-north-1", "category": "user-uploads"}},
            {"dynamodb": {"table": "sessions", "region": "cn-north-1", "ttlAttribute": "expiresAt"}},
        ],
        "rules": [{"name": "crash", "match": {"prefix": "crash/"}, "maxAgeDays": 30}],
        "interval": "6h",
    },
    "AccessAuditPolicy": {
        "dataStores": [{"s3": {"bucket": "data-bucket", "region": "cn-north-1"}}],
        "auditLog": {"bucket": "audit-logs", "prefix": "s3/", "minRetentionDays": 180},
        "allowedPrincipals": ["arn:aws-cn:iam::123456789012:role/reader"],
    },
    "ErasureRequest": {
        "subjectId": "user-42",
        "dataStores": [
            {"s3": {"bucket": "data-bucket", "region": "cn-north-1", "keyPrefix": "users/{subjectId}/"}},
            {"dynamodb": {"table": "profiles", "region": "cn-north-1", "partitionKey": "userId"}},
        ],
    },
}

#: (kind, path to the field, good values) for every field that has a pattern.
FIELDS = [
    ("RetentionPolicy", ("dataStores", 0, "s3", "bucket"), ["data-bucket", "a.b-c", "abc"]),
    ("RetentionPolicy", ("dataStores", 1, "dynamodb", "table"), ["sessions", "Sessions_2024.v1"]),
    ("RetentionPolicy", ("dataStores", 1, "dynamodb", "ttlAttribute"), ["expiresAt", "ttl_1"]),
    ("RetentionPolicy", ("rules", 0, "name"), ["crash", "Crash.v2_x-y"]),
    ("RetentionPolicy", ("interval",), ["90s", "15m", "6h", "1d"]),
    ("AccessAuditPolicy", ("auditLog", "bucket"), ["audit-logs"]),
    ("AccessAuditPolicy", ("allowedPrincipals", 0), [
        "arn:aws-cn:iam::123456789012:role/reader",
        "arn:aws-cn:sts::123456789012:assumed-role/svc/i-0a1b",
        "arn:aws-cn:iam::123456789012:root",
    ]),
    ("ErasureRequest", ("subjectId",), ["user-42", "a.b", "x@y.com", "A+B=C_d-e"]),
    ("ErasureRequest", ("dataStores", 0, "s3", "keyPrefix"), ["users/{subjectId}/", "{subjectId}/photos/"]),
    ("ErasureRequest", ("dataStores", 1, "dynamodb", "partitionKey"), ["userId"]),
]  # fmt: skip


def hostile(good: str) -> list[str]:
    return [
        good + "\n",
        "\n" + good,
        good + "\r",
        good + " ",
        " " + good,
        good + "*",
        good + "/..",
        good + "\x00",
        "ü" + good,
        good.upper(),
        good + ".",
        "." + good,
        good + "/" + good,
        good * 3,
        "",
        good + "{subjectId}/",
        good.replace("/", ""),
    ]


def set_path(doc: dict[str, Any], path: tuple[Any, ...], value: str) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    node: Any = out
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return out


def model_accepts(kind: str, spec: dict[str, Any]) -> bool:
    try:
        KINDS[kind].model_validate(spec, context={"settings": SETTINGS})
    except ValidationError:
        return False
    return True


def crd_accepts(kind: str, spec: dict[str, Any]) -> bool:
    return not list(ApiServer(crd_spec_schema(kind)).iter_errors(spec))


@pytest.mark.parametrize(("kind", "path", "goods"), FIELDS, ids=[".".join(map(str, f[1])) for f in FIELDS])
def test_the_model_and_the_crd_accept_the_same_values(
    kind: str, path: tuple[Any, ...], goods: list[str]
) -> None:
    base = BASE[kind]
    assert model_accepts(kind, base) and crd_accepts(kind, base)
    disagree = []
    for value in {v for good in goods for v in [good, *hostile(good)]}:
        spec = set_path(base, path, value)
        if model_accepts(kind, spec) != crd_accepts(kind, spec):
            disagree.append((value, model_accepts(kind, spec), crd_accepts(kind, spec)))
    assert disagree == [], disagree
    for good in goods:
        assert model_accepts(kind, set_path(base, path, good)), good
    # A trailing newline never passes either side.
    assert not model_accepts(kind, set_path(base, path, goods[0] + "\n"))


def test_categories_are_checked_against_the_catalogue_beyond_the_pattern() -> None:
    """The CRD can only check a category's shape; the model also knows which ones the catalogue has."""
    path = ("dataStores", 0, "s3", "category")
    base = BASE["RetentionPolicy"]
    for value in ["user-uploads", "uploads", "cookies", "cookie", "crash-diagnostics"]:
        spec = set_path(base, path, value)
        assert model_accepts("RetentionPolicy", spec) and crd_accepts("RetentionPolicy", spec), value
    for value in ["cookies\n", "", " cookies", "cook ies"]:
        spec = set_path(base, path, value)
        assert not model_accepts("RetentionPolicy", spec) and not crd_accepts("RetentionPolicy", spec), value
    unknown = set_path(base, path, "photos")
    assert crd_accepts("RetentionPolicy", unknown) and not model_accepts("RetentionPolicy", unknown)


@pytest.mark.parametrize("value", [True, False, 7.5, "30"])
def test_integers_are_strict_on_both_sides(value: Any) -> None:
    spec = copy.deepcopy(BASE["RetentionPolicy"])
    spec["rules"][0]["maxAgeDays"] = value
    assert not model_accepts("RetentionPolicy", spec) and not crd_accepts("RetentionPolicy", spec)


_OPENAPI_KEYS = {
    "type", "description", "properties", "items", "required", "pattern", "minLength", "maxLength",
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minItems", "maxItems", "enum",
    "default", "format", "oneOf", "anyOf", "allOf", "additionalProperties", "nullable",
    "x-kubernetes-validations", "x-kubernetes-preserve-unknown-fields", "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
}  # fmt: skip


def _keys(node: Any, path: str = "") -> list[str]:
    out: list[str] = []
    if isinstance(node, dict):
        out += [f"{path}.{k}" for k in node if k not in _OPENAPI_KEYS]
        for name, sub in (node.get("properties") or {}).items():
            out += _keys(sub, f"{path}.{name}")
        for key in ("items", "additionalProperties"):
            if isinstance(node.get(key), dict):
                out += _keys(node[key], f"{path}.{key}")
        for key in ("oneOf", "anyOf", "allOf"):
            for sub in node.get(key, ()):
                out += _keys(sub, f"{path}.{key}")
    return out


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_the_crd_schema_uses_only_openapi_keywords(kind: str) -> None:
    """A constraint pydantic could not translate (a raw `ge`, `le`) is silently ignored by the API server."""
    assert _keys(crd_spec_schema(kind)) == []
