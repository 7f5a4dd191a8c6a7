"""The reference stack passes every rule in every shape a user can hand us; the template copy fails."""

from __future__ import annotations

import pytest
from honesty import no_crash

from policies.check import settings_for
from policies.engine import evaluate
from policies.examples.reference import (
    as_pulumi_aws_v7,
    as_stack_export,
    compliant_unit,
    noncompliant_unit,
    preview,
)
from policies.sources import stack_from_document

SHAPES = {
    "preview-v6": lambda doc: doc,
    "preview-v7": as_pulumi_aws_v7,
    "export-v3": lambda doc: as_stack_export(doc, 3),
    "export-v4-v7": lambda doc: as_stack_export(as_pulumi_aws_v7(doc), 4),
}


def findings(doc):
    _, settings = settings_for(None)
    return no_crash(evaluate(stack_from_document(doc, "reference", settings))).findings


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("region", ["cn-north-1", "cn-northwest-1"])
def test_reference_stack_is_compliant_in_every_shape(shape, region):
    doc = SHAPES[shape](preview(compliant_unit(region=region)))
    assert [f"{f.rule} {f.name}: {f.message}" for f in findings(doc)] == []


#: What the template copy does wrong, as each rule words it: the same in every shape.
TEMPLATE_FAULTS = {
    "RES-001": "LogGroup 'crash-logs' is in us-west-2",
    "RES-002": "AWS provider 'global' targets us-west-2",
    "RES-003": "Table 'sessions' copies data to us-east-1 (replica #1)",
    "ENC-001": "'crash-dumps' uses sseAlgorithm 'AES256' in BucketServerSideEncryptionConfiguration",
    "ACC-001": "'crash-dumps' does not block all public access: blockPublicPolicy, restrictPublicBuckets",
    "ACC-003": 'allows "*" to s3:GetObject without a condition',
    "ACC-004": "allows every action of the data service s3:*",
    "ACC-005": 'allows {"AWS": "*"} to sts:AssumeRole without a condition',
}


@pytest.mark.parametrize("shape", SHAPES)
def test_global_template_copy_fails_in_every_shape(shape):
    found = findings(SHAPES[shape](preview(noncompliant_unit())))
    for rule, fault in TEMPLATE_FAULTS.items():
        messages = [f.message for f in found if f.rule == rule]
        assert any(fault in m for m in messages), (rule, messages)


def test_compliant_unit_moved_out_of_china_fails_residency_everywhere():
    doc = preview(compliant_unit(region="ap-east-1"))
    residency = {f.name: f.message for f in findings(doc) if f.rule == "RES-001"}
    # every data store of the unit: 2 buckets, key, table, database, log group
    assert set(residency) == {"user-uploads", "audit-logs", "data-key", "accounts", "accounts-db", "app-logs"}
    for name, message in residency.items():
        assert f"'{name}' is in ap-east-1 (from provider 'china')" in message, message
