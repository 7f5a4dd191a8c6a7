"""Generate the CRDs in controllers/crds/ from the pydantic spec models, so the two never disagree.

    python -m controllers.crds          # rewrite controllers/crds/*.yaml
    python -m controllers.crds --check  # exit 1 if a committed file differs from the generated one

The pydantic JSON schema is made *structural* (what apiextensions.k8s.io/v1 requires): `$ref`s are
inlined, `Optional[X]` becomes X (simply not required), every node has a `type`, titles go, and
pydantic's `null` defaults go. Regex patterns are written RE2-compatible in the models, because the
API server validates them with Go's regexp.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from controllers.models import GROUP, KINDS, VERSION

CRD_DIR = Path(__file__).with_name("crds")

_NAMES = {
    "RetentionPolicy": ("retentionpolicies", "retentionpolicy", ["rp"]),
    "AccessAuditPolicy": ("accessauditpolicies", "accessauditpolicy", ["aap"]),
    "ErasureRequest": ("erasurerequests", "erasurerequest", ["er"]),
    "AccessRequest": ("accessrequests", "accessrequest", ["acr"]),
}

_COMPLIANT = '.status.conditions[?(@.type=="Compliant")].status'
_COLUMNS: dict[str, list[dict[str, str]]] = {
    "RetentionPolicy": [
        {"name": "Mode", "type": "string", "jsonPath": ".spec.mode"},
        {"name": "Compliant", "type": "string", "jsonPath": _COMPLIANT},
        {"name": "Deleted", "type": "integer", "jsonPath": ".status.deleted"},
        {"name": "Held", "type": "integer", "jsonPath": ".status.held"},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ],
    "AccessAuditPolicy": [
        {"name": "Mode", "type": "string", "jsonPath": ".spec.mode"},
        {"name": "Audit bucket", "type": "string", "jsonPath": ".spec.auditLog.bucket"},
        {"name": "Compliant", "type": "string", "jsonPath": _COMPLIANT},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ],
    "ErasureRequest": [
        {"name": "Subject", "type": "string", "jsonPath": ".spec.subjectId"},
        {"name": "Deadline", "type": "date", "jsonPath": ".spec.deadline"},
        {"name": "Compliant", "type": "string", "jsonPath": _COMPLIANT},
        {"name": "Deleted", "type": "integer", "jsonPath": ".status.deleted"},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ],
    "AccessRequest": [
        {"name": "Subject", "type": "string", "jsonPath": ".spec.subjectId"},
        {"name": "Deadline", "type": "date", "jsonPath": ".spec.deadline"},
        {"name": "Compliant", "type": "string", "jsonPath": _COMPLIANT},
        {
            "name": "Package sha256",
            "type": "string",
            "jsonPath": ".status.evidence.packageSha256",
            "priority": 1,
        },
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ],
}

_CONDITION = {
    "type": "object",
    "required": ["type", "status", "reason", "message", "lastTransitionTime"],
    "properties": {
        "type": {"type": "string", "maxLength": 316},
        "status": {"type": "string", "enum": ["True", "False", "Unknown"]},
        "reason": {"type": "string", "maxLength": 1024},
        "message": {"type": "string", "maxLength": 32768},
        "observedGeneration": {"type": "integer", "format": "int64", "minimum": 0},
        "lastTransitionTime": {"type": "string", "format": "date-time"},
    },
}

_STATUS = {
    "type": "object",
    "properties": {
        "observedGeneration": {"type": "integer", "format": "int64"},
        "conditions": {
            "type": "array",
            "items": _CONDITION,
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["type"],
        },
        "lastRun": {"type": "string", "format": "date-time"},
        "examined": {"type": "integer"},
        "deleted": {"type": "integer"},
        "held": {"type": "integer"},
        "pending": {"type": "integer"},
        "findings": {"type": "array", "items": {"type": "string"}},
        "evidence": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    },
}

_DROP = {"title", "$defs"}


def structural(schema: dict[str, Any], defs: dict[str, Any] | None = None) -> dict[str, Any]:
    """A pydantic JSON schema node as a structural OpenAPI v3 node."""
    defs = defs if defs is not None else schema.get("$defs", {})
    if "$ref" in schema:
        target = defs[schema["$ref"].rsplit("/", 1)[-1]]
        merged = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        return structural(merged, defs)
    if "anyOf" in schema:
        options = [o for o in schema["anyOf"] if o.get("type") != "null"]
        if len(options) != 1:
            raise ValueError(f"cannot express a union of {len(options)} types structurally: {schema}")
        rest = {k: v for k, v in schema.items() if k != "anyOf"}
        if rest.get("default", 0) is None:
            rest.pop("default")
        return structural({**options[0], **rest}, defs)
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _DROP or (key == "default" and value is None):
            continue
        if key == "properties":
            out[key] = {name: structural(sub, defs) for name, sub in value.items()}
        elif key == "items":
            out[key] = structural(value, defs)
        elif key in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(value, bool):
            # JSON Schema 2020-12 (pydantic) writes the bound here; OpenAPI v3, which the API server
            # reads, wants `minimum`/`maximum` plus a boolean flag (a number is rejected).
            out["minimum" if key == "exclusiveMinimum" else "maximum"] = value
            out[key] = True
        elif key == "additionalProperties":
            if isinstance(value, dict):
                out[key] = structural(value, defs)
            # `false` is the structural default (unknown fields are pruned); leave it out.
        else:
            out[key] = value
    if "type" not in out:
        out["type"] = "object" if "properties" in out else "string"
    return out


def crd(kind: str) -> dict[str, Any]:
    plural, singular, short = _NAMES[kind]
    spec_schema = structural(KINDS[kind].model_json_schema(by_alias=True, mode="validation"))
    spec_schema["description"] = f"Desired state of the {kind}; see controllers/README.md."
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "names": {
                "kind": kind,
                "listKind": f"{kind}List",
                "plural": plural,
                "singular": singular,
                "shortNames": short,
                "categories": ["residency"],
            },
            "scope": "Namespaced",
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": _COLUMNS[kind],
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "required": ["spec"],
                            "properties": {
                                "apiVersion": {"type": "string"},
                                "kind": {"type": "string"},
                                "metadata": {"type": "object"},
                                "spec": spec_schema,
                                "status": _STATUS,
                            },
                        }
                    },
                }
            ],
        },
    }


def render(kind: str) -> str:
    import yaml

    header = "# Generated by `python -m controllers.crds` from controllers/models.py. Do not edit.\n"
    return header + yaml.safe_dump(crd(kind), sort_keys=False, width=110)


def generated() -> dict[Path, str]:
    return {CRD_DIR / f"{_NAMES[kind][0]}.yaml": render(kind) for kind in KINDS}


def main(argv: list[str]) -> int:
    files = generated()
    if "--check" in argv:
        stale = [p for p, text in files.items() if not p.exists() or p.read_text(encoding="utf-8") != text]
        for path in stale:
            print(f"{path}: differs from the models; run `python -m controllers.crds`", file=sys.stderr)
        return 1 if stale else 0
    CRD_DIR.mkdir(exist_ok=True)
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
