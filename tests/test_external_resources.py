"""Resources read from other stacks (`op: read` in a preview, `external: true` in state) are context.

They stay in the stack (joins and references still find them) but produce no finding of their own and
are reported "not applicable" with the reason.
"""

from __future__ import annotations

from honesty import evaluate

from policies.catalog import default_catalog
from policies.coverage import EXTERNAL_REASON
from policies.sources import stack_from_document

P = "urn:pulumi:prod::shop"
BUCKET = "aws:s3/bucket:Bucket"
REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
FOREIGN_BUCKET = {
    "urn": f"{P}::{BUCKET}::legacy",
    "type": BUCKET,
    "custom": True,
    # Deliberately non-compliant: were it this stack's, RES-001 and ENC-001 would fire.
    "inputs": {"bucket": "legacy", "region": "us-east-1"},
    "outputs": {"bucket": "legacy", "arn": "arn:aws:s3:::legacy"},
}


def _settings():
    return default_catalog().settings()


def _preview(op: str) -> dict:
    return {
        "config": {"aws:region": "cn-north-1"},
        "steps": [
            {"op": op, "urn": FOREIGN_BUCKET["urn"], "newState": dict(FOREIGN_BUCKET)},
            {
                "op": "create",
                "urn": f"{P}::{BUCKET}::own",
                "newState": {"urn": f"{P}::{BUCKET}::own", "type": BUCKET, "inputs": {"bucket": "own"}},
            },
        ],
    }


def _external_entries(result):
    return [entry for entry in result.coverage.not_applicable if entry[0] == FOREIGN_BUCKET["urn"]]


def test_preview_read_step_is_context_not_a_finding():
    stack = stack_from_document(_preview("read"), "preview.json", _settings())
    result = evaluate(stack)
    assert not [f for f in result.findings if f.urn == FOREIGN_BUCKET["urn"]]
    assert _external_entries(result) == [(FOREIGN_BUCKET["urn"], BUCKET, EXTERNAL_REASON)]
    # The stack's own bucket is still judged.
    assert any(f.urn == f"{P}::{BUCKET}::own" for f in result.findings)
    assert stack.by_urn[FOREIGN_BUCKET["urn"]].external


def test_same_resource_created_by_this_stack_is_judged():
    """The control: the same bucket as a `create` step is this stack's, and fails."""
    result = evaluate(stack_from_document(_preview("create"), "preview.json", _settings()))
    found = [f for f in result.findings if f.urn == FOREIGN_BUCKET["urn"]]
    assert any(f.rule == "RES-001" and "us-east-1" in f.message for f in found)
    assert not _external_entries(result)


def test_stack_export_external_resource_is_context():
    doc = {
        "version": 3,
        "deployment": {
            "resources": [
                {
                    "urn": "urn:pulumi:prod::shop::pulumi:providers:aws::default",
                    "type": "pulumi:providers:aws",
                    "custom": True,
                    "inputs": {"region": "cn-north-1"},
                },
                {**FOREIGN_BUCKET, "external": True},
            ]
        },
    }
    result = evaluate(stack_from_document(doc, "state.json", _settings()))
    assert not [f for f in result.findings if f.urn == FOREIGN_BUCKET["urn"]]
    assert _external_entries(result) == [(FOREIGN_BUCKET["urn"], BUCKET, EXTERNAL_REASON)]


def test_external_bucket_still_resolves_a_reference():
    """A replication rule of this stack pointing at the read bucket is judged by where that bucket is."""
    doc = _preview("read")
    doc["steps"].append(
        {
            "op": "create",
            "urn": f"{P}::{REPLICATION}::copy",
            "newState": {
                "urn": f"{P}::{REPLICATION}::copy",
                "type": REPLICATION,
                "inputs": {
                    "bucket": "own",
                    "rules": [
                        {
                            "id": "all",
                            "status": "Enabled",
                            "destination": {"bucket": "arn:aws-cn:s3:::legacy"},
                        }
                    ],
                },
            },
        }
    )
    result = evaluate(stack_from_document(doc, "preview.json", _settings()))
    res003 = [f for f in result.findings if f.rule == "RES-003"]
    assert any("us-east-1" in f.message and "legacy" in f.message for f in res003), [
        f.message for f in res003
    ]


def test_saved_plan_read_step_is_context():
    doc = {
        "config": {"aws:region": "cn-north-1"},
        "resourcePlans": {
            FOREIGN_BUCKET["urn"]: {
                "goal": {"type": BUCKET, "custom": True, "inputDiff": {"adds": FOREIGN_BUCKET["inputs"]}},
                "steps": ["read"],
            },
            f"{P}::{BUCKET}::own": {
                "goal": {"type": BUCKET, "custom": True, "inputDiff": {"adds": {"bucket": "own"}}},
                "steps": ["create"],
            },
        },
    }
    result = evaluate(stack_from_document(doc, "plan.json", _settings()))
    assert not [f for f in result.findings if f.urn == FOREIGN_BUCKET["urn"]]
    assert _external_entries(result) == [(FOREIGN_BUCKET["urn"], BUCKET, EXTERNAL_REASON)]
    assert any(f.urn == f"{P}::{BUCKET}::own" for f in result.findings)
