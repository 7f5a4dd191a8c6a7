"""Real `pulumi preview --json`, `pulumi stack export` and plan files from public repositories.

Every file parses, and each gets the verdict a user would expect: all of them were deployed to
global AWS regions, so their data stores fail residency, while resources that do nothing wrong
(an EKS service role's trust policy, SNS's default topic policy) are judged on their own merits.
"""

from __future__ import annotations

from collections import defaultdict

import pytest
from honesty import no_crash
from paths import PUBLIC_FIXTURES

from policies.check import run_check
from policies.model import Severity

FILES = sorted(PUBLIC_FIXTURES.glob("*.json")) if PUBLIC_FIXTURES.is_dir() else []
pytestmark = pytest.mark.skipif(not FILES, reason="shared/fixtures/pulumi-public is not beside the checkout")


def findings_by_name(path):
    result = no_crash(run_check([str(path)]))
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
    residency = [f for f in result.findings if f.rule in {"RES-001", "RES-002"}]
    assert residency
    # Each names its resource and the region it found, or why no region can be verified.
    reasons = (
        " is in ",
        " targets ",
        "has no region",
        "no `aws:region`",
        "not known until apply",
        # An explicit provider without a region deploys wherever AWS_REGION points.
        "has no `region` input",
    )
    for f in residency:
        assert f"'{f.name}'" in f.message and any(r in f.message for r in reasons), f.message


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
    partition = [
        f.message
        for f in result.findings
        if f.rule == "RES-004" and f.type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
    ]
    assert partition
    assert all("`policyArn` names arn:aws:iam::aws:policy/" in m for m in partition), partition
    assert all("an ARN in the global `aws` partition" in m for m in partition), partition
    # The volume, like every store here, is in the stack's us-west-2.
    (volume,) = [f.message for f in result.findings if f.rule == "RES-001" and f.name == "example-ebs-volume"]
    assert "is in us-west-2 (from the stack config `aws:region`)" in volume


def test_sns_default_topic_policy_is_not_public():
    result, by = findings_by_name(_fixture("pulumi-aws-recorded-sns-topic-stack.json"))
    topic_rules = set().union(*[r for (t, _), r in by.items() if t == "aws:sns/topic:Topic"])
    assert "ACC-003" not in topic_rules
    (residency,) = [f.message for f in result.findings if f.rule == "RES-001"]
    assert residency.startswith("Topic 'user_updates' is in us-west-2 (from its ARN)"), residency


def test_kms_key_without_rotation_is_flagged():
    result, _ = findings_by_name(_fixture("pulumi-aws-recorded-kms-key-stack.json"))
    key = {f.rule: f.message for f in result.findings if f.type == "aws:kms/key:Key"}
    assert key["ENC-003"].startswith("Key 'a' does not rotate its key material"), key
    assert key["RES-001"].startswith("Key 'a' is in us-west-2 (from its ARN)"), key


def test_preview_without_any_region_fails_closed():
    result, _ = findings_by_name(_fixture("dundalek-stratify-preview-creates-aws6.json"))
    (bucket,) = [f for f in result.findings if f.rule == "RES-001" and f.type == "aws:s3/bucket:Bucket"]
    # Not "is in <region>": this template is the one for a resource whose region nothing gives.
    assert bucket.message.startswith("Bucket 'docs' has no region: it has no `region` input"), bucket.message
    assert "stack config has no `aws:region`" in bucket.message


def test_aws7_state_is_judged_with_v7_tokens():
    result, by = findings_by_name(_fixture("pulumi-tf_stack_test-aws7-state.json"))
    buckets = {"lambda_artifacts", "this"}
    assert {name for (t, name) in by if t == "aws:s3/bucket:Bucket"} == buckets
    for name in buckets:
        rules = by[("aws:s3/bucket:Bucket", name)]
        # v7 side resources (no V2 suffix) are joined to their buckets: each bucket has a public
        # access block with all four settings on, so ACC-001 has nothing to say about it ...
        assert "ACC-001" not in rules, [f.message for f in result.findings if f.rule == "ACC-001"]
        # ... and ENC-001 judges the encryption configuration it reads from the joined side resource.
        (enc,) = [f.message for f in result.findings if f.rule == "ENC-001" and f.name == name]
        assert f"in BucketServerSideEncryptionConfiguration '{name}'" in enc, enc
    (residency,) = [f.message for f in result.findings if f.rule == "RES-001" and f.name == "this"]
    assert residency.startswith("Bucket 'this' is in us-east-1 (from its own `region` input)")
