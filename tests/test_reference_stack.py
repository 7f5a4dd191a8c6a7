"""The reference stack passes every rule in every shape a user can hand us; the template copy fails."""

from __future__ import annotations

import pytest

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
    return evaluate(stack_from_document(doc, "reference", settings)).findings


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("region", ["cn-north-1", "cn-northwest-1"])
def test_reference_stack_is_compliant_in_every_shape(shape, region):
    doc = SHAPES[shape](preview(compliant_unit(region=region)))
    assert [f"{f.rule} {f.name}: {f.message}" for f in findings(doc)] == []


@pytest.mark.parametrize("shape", SHAPES)
def test_global_template_copy_fails_in_every_shape(shape):
    rules = {f.rule for f in findings(SHAPES[shape](preview(noncompliant_unit())))}
    assert {"RES-001", "RES-002", "RES-003", "ENC-001", "ACC-001", "ACC-003", "ACC-004", "ACC-005"} <= rules


def test_compliant_unit_moved_out_of_china_fails_residency_everywhere():
    doc = preview(compliant_unit(region="ap-east-1"))
    residency = [f for f in findings(doc) if f.rule == "RES-001"]
    # every data store of the unit: 2 buckets, key, table, database, log group
    assert len(residency) == 6
