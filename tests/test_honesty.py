"""The helper every rule, integration and pack test relies on recognises a rule that raised.

It must keep recognising what the engine actually produces: `Finding.error`, `"error": true` in
`--format json`, and the message alone (all a pack diagnostic carries).
"""

from __future__ import annotations

import dataclasses

import pytest
from builders import res, stack
from honesty import crashes, no_crash
from pulumi.runtime.proto import analyzer_pb2

from policies.engine import evaluate
from policies.registry import all_rules

BUCKET = "aws:s3/bucketV2:BucketV2"


def _raise(res, stack):
    raise RuntimeError("broken on purpose")


def _run(rule):
    return evaluate(stack(res(BUCKET, "uploads", {"bucket": "uploads"}), provider_region="us-west-2"), [rule])


def test_a_rule_that_raises_is_caught_in_findings_json_and_diagnostics():
    broken = dataclasses.replace(all_rules()["RES-001"], func=_raise)
    result = _run(broken)
    # For users it still fails closed, as a finding of that rule ...
    assert [(f.rule, f.name) for f in result.findings] == [("RES-001", "uploads")]
    # ... which no test may take for the rule working.
    assert len(crashes(result)) == 1
    with pytest.raises(AssertionError, match="from a rule that raised"):
        no_crash(result)
    document = result.to_json()
    assert document["findings"][0]["error"] is True
    assert len(crashes(document)) == 1
    # By the message alone: a JSON finding without the key, and a pack diagnostic.
    del document["findings"][0]["error"]
    assert len(crashes(document["findings"])) == 1
    diagnostic = analyzer_pb2.AnalyzeDiagnostic(
        policyName="RES-001", message=f"{broken.title}\n{result.findings[0].message}"
    )
    assert len(crashes([diagnostic])) == 1
    assert len(crashes([(diagnostic, "urn")])) == 1


def test_a_working_rule_is_not_a_crash():
    result = _run(all_rules()["RES-001"])
    (finding,) = result.findings
    assert "is in us-west-2" in finding.message and not finding.error
    assert no_crash(result) is result
    assert crashes(result.to_json()) == []
