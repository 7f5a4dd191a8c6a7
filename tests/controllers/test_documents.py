"""Custom-resource documents: validation messages, and the CRDs generated from the same models."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml

from controllers import crds
from controllers.documents import load_files, load_text
from policies.errors import InputError
from policies.settings import Settings

EXAMPLES = Path(__file__).resolve().parents[2] / "controllers" / "examples" / "estate.yaml"

GOOD = """\
apiVersion: residency.pushauction.com/v1alpha1
kind: RetentionPolicy
metadata: {name: ok}
spec:
  dataStores: [{s3: {bucket: data-bucket, region: cn-north-1}}]
  rules: [{name: r, maxAgeDays: 30}]
"""


def bad(spec_yaml: str, kind: str = "RetentionPolicy") -> str:
    return (
        GOOD
        + f"---\napiVersion: residency.pushauction.com/v1alpha1\nkind: {kind}\nmetadata: {{name: bad}}\n"
        + spec_yaml
    )


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        (bad("spec:\n  dataStores: [{s3: {bucket: data-bucket, region: cn-north-1}}]\n  rules: [{name: r, maxAgeDays: -5}]\n"),
         ["document 2 (RetentionPolicy/bad)", "spec.rules[0].maxAgeDays", "greater than or equal to 1"]),
        (bad("spec:\n  dataStores: [{s3: {bucket: data-bucket, region: us-east-1}}]\n  rules: [{name: r, maxAgeDays: 5}]\n"),
         ["document 2 (RetentionPolicy/bad)", "spec.dataStores[0].s3.region", "outside the territory", "cn-north-1 or cn-northwest-1"]),
        (bad("spec: {}\n", kind="BackupPolicy"), ["document 2 (BackupPolicy/bad)", "kind", "RetentionPolicy"]),
        (bad("spec:\n  dataStores: [{s3: {bucket: data-bucket, region: cn-north-1}}]\n  rules: [{name: r, maxAgeDays: 5, minAgeDays: 9}]\n"),
         ["spec.rules[0]", "minAgeDays (9) is above maxAgeDays (5)"]),
        (bad("spec:\n  dataStores: [{s3: {bucket: b-1, region: cn-north-1}, dynamodb: {table: ttt, region: cn-north-1}}]\n  rules: [{name: r, maxAgeDays: 5}]\n"),
         ["spec.dataStores[0]", "exactly one"]),
        (bad("spec:\n  dataStores: [{s3: {bucket: b-1, region: cn-north-1}}]\n  rules: [{name: r, maxAgeDays: 5, maxAge: 3}]\n"),
         ["spec.rules[0].maxAge", "remove it"]),
        (bad("spec:\n  dataStores: [{s3: {bucket: data-bucket, region: cn-north-1}}]\n  auditLog: {bucket: audit-logs, minRetentionDays: 30}\n"
             "  allowedPrincipals: ['arn:aws-cn:iam::12345:role/x']\n", kind="AccessAuditPolicy"),
         ["document 2 (AccessAuditPolicy/bad)", "spec.allowedPrincipals", "[0]", "not an IAM principal ARN"]),
        (bad("spec:\n  dataStores: [{s3: {bucket: data-bucket, region: cn-north-1}}]\n  auditLog: {bucket: audit-logs, minRetentionDays: 30}\n"
             "  allowedPrincipals: ['arn:aws:iam::123456789012:role/x']\n", kind="AccessAuditPolicy"),
         ["partition aws", "use arn:aws-cn:"]),
        (bad("spec:\n  subjectId: '*'\n  dataStores: [{s3: {bucket: data-bucket, region: cn-north-1, keyPrefix: 'u/{subjectId}/'}}]\n", kind="ErasureRequest"),
         ["document 2 (ErasureRequest/bad)", "spec.subjectId", "could widen the key prefix"]),
        (bad("spec:\n  subjectId: ''\n  dataStores: [{s3: {bucket: data-bucket, region: cn-north-1, keyPrefix: 'u/{subjectId}/'}}]\n", kind="ErasureRequest"),
         ["spec.subjectId", "empty"]),
        (bad("spec:\n  subjectId: u1\n  dataStores: [{s3: {bucket: data-bucket, region: cn-north-1, keyPrefix: 'u/'}}]\n", kind="ErasureRequest"),
         ["spec.dataStores[0].s3.keyPrefix", "{subjectId}"]),
        (GOOD + "---\n[1, 2]\n", ["document 2", "expected a mapping"]),
        (GOOD + "---\nkind: RetentionPolicy\napiVersion: v1\nmetadata: {name: x}\nspec: {}\n", ["apiVersion", "residency.pushauction.com/v1alpha1"]),
        (GOOD + "---\n" + GOOD, ["document 2 (RetentionPolicy/ok)", "duplicates document 1"]),
        ("a: [\n", ["not valid YAML at line"]),
        ("", ["no custom-resource documents"]),
        # Strict inputs: whole-value patterns, no duplicate keys, whole numbers only.
        (bad("spec:\n  subjectId: \"user-1\\n\"\n  dataStores: [{s3: {bucket: data-bucket, region: cn-north-1, keyPrefix: 'u/{subjectId}/'}}]\n", kind="ErasureRequest"),
         ["spec.subjectId", "could widen the key prefix"]),
        (bad("spec:\n  dataStores: [{s3: {bucket: \"data-bucket\\n\", region: cn-north-1}}]\n  rules: [{name: r, maxAgeDays: 5}]\n"),
         ["spec.dataStores[0].s3.bucket", "pattern"]),
        (bad("spec:\n  dataStores: [{s3: {bucket: data-bucket, region: cn-north-1}}]\n  rules: [{name: \"r\\n\", maxAgeDays: 5}]\n"),
         ["spec.rules[0].name", "pattern"]),
        (bad("spec:\n  dataStores: [{s3: {bucket: data-bucket, region: cn-north-1}}]\n  rules: [{name: r, maxAgeDays: yes}]\n"),
         ["spec.rules[0].maxAgeDays", "boolean", "whole number"]),
        (bad("spec:\n  dataStores: [{s3: {bucket: data-bucket, region: cn-north-1}}]\n  rules: [{name: r, maxAgeDays: 7.5}]\n"),
         ["spec.rules[0].maxAgeDays", "7.5 is not a whole number"]),
        (bad("spec:\n  dataStores: [{s3: {bucket: data-bucket, region: cn-north-1}}]\n  rules: [{name: r, maxAgeDays: '30'}]\n"),
         ["spec.rules[0].maxAgeDays", "without quotes"]),
        (bad("spec:\n  dataStores: [{s3: {bucket: data-bucket, region: cn-north-1}}]\n  rules: [{name: r, maxAgeDays: 5}]\n  blastRadius: {maxPercent: on}\n"),
         ["spec.blastRadius.maxPercent", "not a number"]),
        (bad("spec:\n  dataStores: [{s3: {bucket: data-bucket, region: cn-north-1}}]\n  rules: [{name: r, maxAgeDays: 5}]\n"
             "spec:\n  dataStores: [{s3: {bucket: data-bucket, region: cn-north-1}}]\n  rules: [{name: r, maxAgeDays: 1}]\n"),
         ["key 'spec' appears twice", "lines 11 and 14"]),
        (bad("spec:\n  dataStores: [{s3: {bucket: data-bucket, region: cn-north-1}}]\n  rules: [{name: r, maxAgeDays: 5}]\n  rules: [{name: r, maxAgeDays: 1}]\n"),
         ["key 'rules' appears twice"]),
        (bad("spec:\n  dataStores: [{s3: {bucket: data-bucket, region: cn-north-1}}]\n  rules: [{name: r, maxAgeDays: 5, maxAgeDays: 1}]\n"),
         ["key 'maxAgeDays' appears twice"]),
        (bad("spec:\n  subjectId: u1\n  dataStores: [{s3: {bucket: data-bucket, region: cn-north-1, keyPrefix: 'u/{subjectId}/{subjectId}/'}}]\n", kind="ErasureRequest"),
         ["spec.dataStores[0].s3.keyPrefix", "exactly once"]),
        # Retention bound to the catalogue.
        (bad("spec:\n  dataStores: [{s3: {bucket: data-bucket, region: cn-north-1, category: user-uploads}}]\n  rules: [{name: r, maxAgeDays: 36500}]\n"),
         ["document 2 (RetentionPolicy/bad)", "spec.rules[0].maxAgeDays", "user-uploads", "at most 365"]),
        (bad("spec:\n  dataStores: [{dynamodb: {table: sessions, region: cn-north-1, category: cookie}}]\n  rules: [{name: r, maxAgeDays: 31}]\n"),
         ["spec.rules[0].maxAgeDays", "cookies", "at most 30"]),
        (bad("spec:\n  dataStores: [{s3: {bucket: data-bucket, region: cn-north-1}}]\n  rules: [{name: c, match: {tags: {data-category: cookies}}, maxAgeDays: 90}]\n"),
         ["spec.rules[0].maxAgeDays", "rule c", "cookies", "at most 30", "match.tags data-category: cookies"]),
        (bad("spec:\n  dataStores: [{s3: {bucket: data-bucket, region: cn-north-1, category: server-logs}}]\n  rules: [{name: r, maxAgeDays: 30}]\n"),
         ["spec.rules[0].maxAgeDays", "before the 180 days"]),
        (bad("spec:\n  dataStores: [{s3: {bucket: data-bucket, region: cn-north-1, category: photos}}]\n  rules: [{name: r, maxAgeDays: 30}]\n"),
         ["spec.dataStores[0].s3.category", "not in the catalogue", "user-uploads"]),
    ],
)  # fmt: skip
def test_bad_documents_name_the_document_the_field_and_the_fix(
    tmp_path: Path, text: str, fragments: list[str]
) -> None:
    path = tmp_path / "crs.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        load_files([path], Settings())
    message = str(err.value)
    assert message.startswith(str(path)) and "\n" not in message
    for fragment in fragments:
        assert fragment in message, message


def test_the_example_estate_is_valid() -> None:
    docs = load_files([EXAMPLES], Settings())
    assert [d.kind for d in docs] == [
        "RetentionPolicy",
        "RetentionPolicy",
        "AccessAuditPolicy",
        "ErasureRequest",
    ]


def test_a_tuned_territory_tunes_validation() -> None:
    with pytest.raises(InputError, match="outside the territory"):
        load_text(GOOD, source="x", settings=Settings(allowed_regions=("cn-northwest-1",)))


def test_committed_crds_equal_the_generated_ones() -> None:
    for path, text in crds.generated().items():
        assert path.exists(), f"{path} is missing; run `python -m controllers.crds`"
        assert path.read_text(encoding="utf-8") == text, f"{path} is stale; run `python -m controllers.crds`"


def _walk(node: object, path: str = "") -> list[str]:
    """Structural-schema violations: a node without a type, a $ref, an anyOf with types inside."""
    problems: list[str] = []
    if isinstance(node, dict):
        if "$ref" in node:
            problems.append(f"{path}: $ref")
        if "properties" in node and node.get("type") != "object":
            problems.append(f"{path}: properties without type object")
        for key in ("oneOf", "anyOf", "allOf"):
            for sub in node.get(key, ()):
                if "type" in sub or "properties" in sub:
                    problems.append(f"{path}.{key}: type inside a junctor")
        for name, sub in node.get("properties", {}).items():
            if "type" not in sub and not sub.get("x-kubernetes-preserve-unknown-fields"):
                problems.append(f"{path}.{name}: no type")
            problems += _walk(sub, f"{path}.{name}")
        if isinstance(node.get("items"), dict):
            problems += _walk(node["items"], f"{path}[]")
        if isinstance(node.get("additionalProperties"), dict):
            problems += _walk(node["additionalProperties"], f"{path}{{}}")
    return problems


@pytest.mark.parametrize("kind", ["RetentionPolicy", "AccessAuditPolicy", "ErasureRequest"])
def test_crds_are_structural_with_status_and_printer_columns(kind: str) -> None:
    doc = yaml.safe_load(crds.render(kind))
    version = doc["spec"]["versions"][0]
    schema = version["schema"]["openAPIV3Schema"]
    assert (
        doc["apiVersion"] == "apiextensions.k8s.io/v1" and doc["spec"]["group"] == "residency.pushauction.com"
    )
    assert version["name"] == "v1alpha1" and version["subresources"] == {"status": {}}
    assert version["additionalPrinterColumns"]
    assert _walk(schema) == []
    conditions = schema["properties"]["status"]["properties"]["conditions"]["items"]
    assert set(conditions["required"]) == {"type", "status", "reason", "message", "lastTransitionTime"}
    assert "observedGeneration" in schema["properties"]["status"]["properties"]


def test_crd_validation_agrees_with_the_models_on_examples() -> None:
    """Every example document validates against its CRD schema (jsonschema, Draft 4 subset)."""
    for raw in yaml.safe_load_all(EXAMPLES.read_text()):
        schema = yaml.safe_load(crds.render(raw["kind"]))["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        jsonschema.Draft4Validator(schema).validate(raw)
    bad = next(iter(yaml.safe_load_all(EXAMPLES.read_text())))
    bad["spec"]["rules"][0]["maxAgeDays"] = 0
    schema = yaml.safe_load(crds.render("RetentionPolicy"))["spec"]["versions"][0]["schema"][
        "openAPIV3Schema"
    ]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(schema).validate(bad)


def test_a_result_status_validates_against_the_crd_status_schema() -> None:
    from datetime import UTC, datetime

    from controllers.results import ReconcileResult, StoreResult

    result = ReconcileResult(
        "ErasureRequest", "e", "t", started=datetime.now(UTC), finished=datetime.now(UTC)
    )
    result.stores.append(StoreResult("s3://b", examined=3, deleted=2, held=1, held_items=["k@v: legal hold"]))
    result.held_blocks_compliance = True
    result.evidence = {"deletedSha256": "0" * 64, "deletedCount": 2}
    status = result.status(observed_generation=4)
    schema = yaml.safe_load(crds.render("ErasureRequest"))["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    jsonschema.Draft4Validator(schema["properties"]["status"]).validate(status)
    assert status["conditions"][0]["status"] == "False" and status["conditions"][0]["reason"] == "Held"
    assert status["observedGeneration"] == 4 == status["conditions"][0]["observedGeneration"]


def test_the_shipped_examples_keep_to_the_catalogue_without_relying_on_tags() -> None:
    """Every RetentionPolicy store in the examples declares its category, or its rules fit the fail-safe
    category (what an untagged store gets), so the examples are valid whatever the stores' tags say."""
    from controllers.models import rule_bound_problems
    from policies.catalog import default_catalog

    settings = default_catalog().settings()
    for path in sorted(EXAMPLES.parent.glob("*.yaml")):
        for doc in load_files([path], settings):
            if doc.kind != "RetentionPolicy":
                continue
            for store in doc.spec.data_stores:
                inner = store.s3 or store.dynamodb
                category = settings.resolve_category(inner.category) if inner.category else settings.untagged
                assert rule_bound_problems(doc.spec.rules, settings, category) == [], (path, doc.ref)
