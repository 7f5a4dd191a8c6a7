"""Real `pulumi preview --json`, `pulumi stack export` and plan files from public repositories.

Every file parses, and each gets the verdict a user would expect: all of them were deployed to
global AWS regions, so their data stores fail residency, while resources that do nothing wrong
(an EKS service role's trust policy, SNS's default topic policy) are judged on their own merits.
"""

from __future__ import annotations

from collections import defaultdict

import pytest
from paths import PUBLIC_FIXTURES

from policies.check import run_check
from policies.model import Severity

FILES = sorted(PUBLIC_FIXTURES.glob("*.json")) if PUBLIC_FIXTURES.is_dir() else []
pytestmark = pytest.mark.skipif(not FILES, reason="shared/fixtures/pulumi-public is not beside the checkout")


def findings_by_name(path):
    result = run_check([str(path)])
    by = defaultdict(set)
    for f in result.findings:
        by[(f.type, f.name)].add(f.rule)
    return result, by


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_public_fixture_parses_and_fails_residency(path):
    result, by = findings_by_name(path)
    assert result.resources > 0
    assert result.failing(Severity.LOW), "a stack in a global region must not pass"
    # Data stores outside China fail RES-001; stacks without data stores (IAM, load balancers) still
    # fail residency through their provider, which does not target a China region.
    assert {f.rule for f in result.findings} & {"RES-001", "RES-002"}
    crashed = [f.message for f in result.findings if "could not be checked" in f.message]
    assert not crashed, crashed


def _fixture(name):
    path = PUBLIC_FIXTURES / name
    if not path.exists():
        pytest.skip(f"{name} missing")
    return path


def test_infracost_60_resource_preview_fails_for_bucket_database_and_volumes():
    result, by = findings_by_name(_fixture("infracost-aws-ts-ebs-preview-existing.json"))
    assert result.resources >= 45  # 60 steps: the stack and awsx components are not custom resources
    residency = {name for (type_, name), rules in by.items() if "RES-001" in rules}
    types = {type_ for (type_, name), rules in by.items() if "RES-001" in rules}
    assert {
        "aws:s3/bucket:Bucket",
        "aws:ebs/volume:Volume",
        "aws:rds/cluster:Cluster",
        "aws:rds/instance:Instance",
    } <= types, types
    assert len([n for n in residency]) >= 5
    # The EKS role trusts a service principal only: its trust policy is fine.
    role_rules = by.get(("aws:iam/role:Role", "example-iam-role"), set())
    assert "ACC-005" not in role_rules
    # Managed-policy ARNs copied from a global template are flagged for the aws-cn partition.
    assert any(
        "RES-004" in rules
        for (type_, _), rules in by.items()
        if type_ == "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
    )


def test_sns_default_topic_policy_is_not_public():
    _, by = findings_by_name(_fixture("pulumi-aws-recorded-sns-topic-stack.json"))
    topic_rules = set().union(*[r for (t, _), r in by.items() if t == "aws:sns/topic:Topic"])
    assert "RES-001" in topic_rules
    assert "ACC-003" not in topic_rules


def test_kms_key_without_rotation_is_flagged():
    _, by = findings_by_name(_fixture("pulumi-aws-recorded-kms-key-stack.json"))
    key_rules = set().union(*[r for (t, _), r in by.items() if t == "aws:kms/key:Key"])
    assert {"RES-001", "ENC-003"} <= key_rules


def test_preview_without_any_region_fails_closed():
    result, _ = findings_by_name(_fixture("dundalek-stratify-preview-creates-aws6.json"))
    bucket = [f for f in result.findings if f.rule == "RES-001" and f.type == "aws:s3/bucket:Bucket"]
    assert bucket and "region" in bucket[0].message


def test_aws7_state_is_judged_with_v7_tokens():
    result, by = findings_by_name(_fixture("pulumi-tf_stack_test-aws7-state.json"))
    bucket_rules = set().union(*[r for (t, _), r in by.items() if t == "aws:s3/bucket:Bucket"])
    assert "RES-001" in bucket_rules
    # v7 side resources without V2 were joined to their buckets: the public access block exists.
    assert "ACC-001" not in bucket_rules or any(
        "blockPublic" in f.message or "public access" in f.message.lower()
        for f in result.findings
        if f.rule == "ACC-001"
    )
