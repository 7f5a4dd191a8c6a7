"""Unknowns resolved through the graph (issue 9, item 4): `policies.references` and the rules using it.

A first preview shows `log_bucket.id`, `bucket.arn`, `key.arn` and `role.arn` as the unknown sentinel,
with a property dependency naming the resource they come from. Exactly one resource of the stack, of
a type the input can identify, resolves the value; anything else stays unknown, and the finding says
the CrossGuard pack checks it at apply.
"""

from __future__ import annotations

import json

import pytest
from builders import messages, res, stack, urn
from honesty import no_crash

from policies.documents import parse_document
from policies.engine import evaluate
from policies.model import UNKNOWN
from policies.references import (
    AT_APPLY,
    BUCKETS,
    KEYS,
    Reference,
    referenced,
    resolve_statements,
    resolve_value,
)
from policies.registry import all_rules

U = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

BUCKET_V6 = "aws:s3/bucketV2:BucketV2"
BUCKET_V7 = "aws:s3/bucket:Bucket"
LOGGING_V6 = "aws:s3/bucketLoggingV2:BucketLoggingV2"
LOGGING_V7 = "aws:s3/bucketLogging:BucketLogging"
POLICY_V6 = "aws:s3/bucketPolicy:BucketPolicy"
SSE_V6 = "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"
SSE_V7 = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
KEY = "aws:kms/key:Key"
ROLE = "aws:iam/role:Role"
IAM_POLICY = "aws:iam/policy:Policy"
TRAIL = "aws:cloudtrail/trail:Trail"
TABLE = "aws:dynamodb/table:Table"
TOPIC = "aws:sns/topic:Topic"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
FOREIGN_PROVIDER = "urn:pulumi:prod::shop::pulumi:providers:aws::us::22222222-3333-4444-5555-666666666666"

UPLOADS = {"data-category": "user-uploads"}
AUDIT = {"data-category": "audit-logs"}


def run(rule_ids, *resources):
    rules = all_rules()
    return evaluate(stack(*resources), [rules[r] for r in rule_ids])


def unnamed_bucket(name, tags=UPLOADS, type_=BUCKET_V6, **kwargs):
    """A bucket as a first preview shows it: its name is computed by the provider."""
    return res(type_, name, {"bucket": U, "tags": tags}, **kwargs)


# -- referenced(): the one place that decides -----------------------------------------------------------


def test_referenced_resolves_exactly_one_resource_of_an_accepted_type():
    logs = unnamed_bucket("logs", tags=AUDIT)
    key = res(KEY, "cmk", {})
    other = unnamed_bucket("other")
    cases = {
        "one bucket": ({"targetBucket": [logs.urn]}, logs),
        "the same URN twice": ({"targetBucket": [logs.urn, logs.urn]}, logs),
        "two buckets": ({"targetBucket": [logs.urn, other.urn]}, None),
        "a bucket and a key": ({"targetBucket": [logs.urn, key.urn]}, None),
        "a key where a bucket is expected": ({"targetBucket": [key.urn]}, None),
        "a URN not in the stack": ({"targetBucket": [urn(BUCKET_V6, "elsewhere")]}, None),
        "no dependency": ({}, None),
        "another property's dependency": ({"bucket": [logs.urn]}, None),
    }
    for why, (deps, expected) in cases.items():
        side = res(LOGGING_V6, "l", {"bucket": "b", "targetBucket": U}, property_dependencies=deps)
        st = stack(logs, key, other, side)
        assert referenced(st, side, "targetBucket", BUCKETS) is expected, why


def test_referenced_without_types_takes_any_single_resource_and_a_known_value_is_never_replaced():
    key = res(KEY, "cmk", {})
    holder = res(TABLE, "t", {"kmsKeyArn": U}, property_dependencies={"kmsKeyArn": [key.urn]})
    st = stack(key, holder)
    assert referenced(st, holder, "kmsKeyArn") is key
    assert referenced(st, holder, "kmsKeyArn", BUCKETS) is None
    resolved = resolve_value(st, holder, "kmsKeyArn", UNKNOWN, KEYS)
    assert isinstance(resolved, Reference) and resolved.resource is key
    assert resolve_value(st, holder, "kmsKeyArn", "arn:aws-cn:kms:cn-north-1:1:key/literal", KEYS) == (
        "arn:aws-cn:kms:cn-north-1:1:key/literal"
    )
    assert resolve_value(st, holder, "kmsKeyArn", UNKNOWN, BUCKETS) is UNKNOWN


def test_a_document_unknown_as_a_whole_stays_unknown_even_with_a_dependency():
    bucket = unnamed_bucket("uploads")
    policy = res(IAM_POLICY, "p", {"policy": U}, property_dependencies={"policy": [bucket.urn]})
    st = stack(bucket, policy)
    assert resolve_statements(st, policy, "policy", parse_document(UNKNOWN)) is UNKNOWN


@pytest.mark.parametrize(
    ("statement", "resolved_fields", "still_unknown"),
    [
        pytest.param(
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": U}, {"resources"}, False, id="resource"
        ),
        pytest.param(
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": [U, "arn:aws-cn:s3:::fixed/*"]},
            {"resources"},
            False,
            id="resource-list",
        ),
        pytest.param(
            {"Effect": U, "Action": "s3:GetObject", "Resource": U}, {"resources"}, True, id="effect-stays"
        ),
        pytest.param({"Effect": "Allow", "Action": U, "Resource": "*"}, set(), True, id="action-stays"),
        pytest.param(
            {"Effect": "Allow", "Principal": {"Service": U}, "Action": "s3:GetObject", "Resource": "*"},
            set(),
            True,
            id="service-principal-stays",
        ),
        pytest.param(
            {"Effect": "Allow", "Principal": U, "Action": "s3:GetObject", "Resource": "*"},
            set(),
            True,
            id="whole-principal-stays",
        ),
        pytest.param(
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"StringEquals": U}},
            set(),
            True,
            id="condition-block-stays",
        ),
        pytest.param(
            {
                "Effect": "Allow",
                "Action": "s3:*",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:userid": U}},
            },
            set(),
            True,
            id="non-arn-condition-stays",
        ),
    ],
)
def test_only_references_resolve_in_a_statement_never_content(statement, resolved_fields, still_unknown):
    bucket = unnamed_bucket("uploads")
    policy = res(
        IAM_POLICY,
        "p",
        {"policy": {"Statement": [statement]}},
        property_dependencies={"policy": [bucket.urn]},
    )
    st = stack(bucket, policy)
    [before] = parse_document(policy.props["policy"])
    [after] = resolve_statements(st, policy, "policy", [before])
    changed = {f for f in ("resources", "principal", "condition") if getattr(after, f) != getattr(before, f)}
    assert changed == resolved_fields
    assert after.has_unknown is still_unknown
    if "resources" in resolved_fields:
        assert any(isinstance(r, Reference) and r.resource is bucket for r in after.resources)


# -- AUD-001: BucketLogging whose targetBucket is unknown -------------------------------------------------


def logging_to(source, target_deps, type_=LOGGING_V6):
    return res(
        type_,
        source.name,
        {"bucket": U, "targetBucket": U, "targetPrefix": "s3/"},
        property_dependencies={"bucket": [source.urn], "targetBucket": target_deps},
    )


@pytest.mark.parametrize("logging_type", [LOGGING_V6, LOGGING_V7])
@pytest.mark.parametrize("bucket_type", [BUCKET_V6, BUCKET_V7])
def test_aud001_unknown_target_resolved_to_the_audit_bucket_passes(logging_type, bucket_type):
    uploads = unnamed_bucket("uploads", type_=bucket_type)
    logs = unnamed_bucket("access-logs", tags=AUDIT, type_=bucket_type)
    result = run(["AUD-001"], uploads, logs, logging_to(uploads, [logs.urn], logging_type))
    assert messages(result) == []


def test_aud001_resolved_target_is_checked_like_a_named_one():
    uploads = unnamed_bucket("uploads")
    # Its own access logs: the dependency names the bucket itself.
    result = run(["AUD-001"], uploads, logging_to(uploads, [uploads.urn]))
    assert messages(result) == [
        "BucketV2 'uploads' writes its access logs into itself, where they can be deleted with the data they "
        "record: send them to a separate audit-log bucket"
    ]
    # A log bucket of the stack in another region.
    far = res(BUCKET_V6, "far-logs", {"bucket": U, "tags": AUDIT, "region": "cn-northwest-1"})
    [msg] = messages(run(["AUD-001"], uploads, far, logging_to(uploads, [far.urn])))
    assert msg.startswith(
        "BucketV2 'uploads' is in cn-north-1 but logs access to BucketV2 'far-logs' in cn-northwest-1"
    )


@pytest.mark.parametrize(
    "deps",
    [
        pytest.param(lambda logs, other, key: [logs.urn, other.urn], id="two-buckets"),
        pytest.param(lambda logs, other, key: [key.urn], id="a-key"),
        pytest.param(lambda logs, other, key: [], id="no-dependency"),
    ],
)
def test_aud001_unresolvable_target_stays_unknown_and_says_the_pack_checks_it(deps):
    uploads = unnamed_bucket("uploads")
    logs = unnamed_bucket("access-logs", tags=AUDIT)
    other = unnamed_bucket("other-logs", tags=AUDIT)
    key = res(KEY, "cmk", {})
    result = run(["AUD-001"], uploads, logs, other, key, logging_to(uploads, deps(logs, other, key)))
    [finding] = [f for f in result.findings if f.urn == uploads.urn]
    assert finding.unknown
    assert "does not come from exactly one bucket of this stack" in finding.message
    assert AT_APPLY in finding.message
    assert "pulumi up --policy-pack policies" in finding.message


def test_aud003_bucket_resolved_as_a_logging_target_is_an_audit_bucket():
    uploads = unnamed_bucket("uploads")
    logs = unnamed_bucket("access-logs", tags={})
    [msg] = messages(run(["AUD-003"], uploads, logs, logging_to(uploads, [logs.urn])))
    assert msg.startswith(
        "BucketV2 'access-logs' holds audit logs (it receives the server access logs of BucketV2 'uploads') "
        "but nothing stops their deletion"
    )


# -- AUD-002: the trail's key ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("deps", "expected"),
    [
        pytest.param(lambda key, key2, b: [key.urn], None, id="one-key"),
        pytest.param(lambda key, key2, b: [key.urn, key2.urn], "unknown", id="two-keys"),
        pytest.param(lambda key, key2, b: [b.urn], "unknown", id="a-bucket"),
    ],
)
def test_aud002_trail_key_from_the_graph(deps, expected):
    key, key2 = res(KEY, "cmk", {}), res(KEY, "cmk2", {})
    logs = unnamed_bucket("trail-logs", tags=AUDIT)
    trail = res(
        TRAIL,
        "audit",
        {"s3BucketName": U, "enableLogFileValidation": True, "kmsKeyId": U, "isMultiRegionTrail": True},
        property_dependencies={"kmsKeyId": deps(key, key2, logs), "s3BucketName": [logs.urn]},
    )
    result = run(["AUD-002"], key, key2, logs, trail)
    found = [f for f in result.findings if f.urn == trail.urn]
    if expected is None:
        assert found == []
        return
    [finding] = found
    assert finding.unknown
    assert finding.message == (
        "Trail 'audit': kmsKeyId is not known until apply and does not come from exactly one KMS key of this "
        f"stack; pass the key resource's ARN so the preview can see it ({AT_APPLY})"
    )


# -- ENC-001 / ENC-002: keys --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("deps", "expected"),
    [
        pytest.param(lambda near, far, other: [near.urn], None, id="one-key"),
        pytest.param(lambda near, far, other: [far.urn], "far", id="one-key-elsewhere"),
        pytest.param(lambda near, far, other: [near.urn, other.urn], "unknown", id="two-keys"),
        pytest.param(lambda near, far, other: [], "unknown", id="no-dependency"),
    ],
)
def test_enc002_key_from_the_graph(deps, expected):
    near = res(KEY, "near", {"enableKeyRotation": True})
    other = res(KEY, "other", {"enableKeyRotation": True})
    far = res(KEY, "far", {"region": "cn-northwest-1", "enableKeyRotation": True})
    table = res(
        TABLE,
        "users",
        {"tags": UPLOADS, "serverSideEncryption": {"enabled": True, "kmsKeyArn": U}},
        property_dependencies={"serverSideEncryption": deps(near, far, other)},
    )
    result = run(["ENC-002"], near, other, far, table)
    found = [f for f in result.findings if f.urn == table.urn]
    if expected is None:
        assert found == []
        return
    [finding] = found
    if expected == "far":
        assert not finding.unknown
        assert finding.message.startswith(
            "Table 'users' is in cn-north-1 but its KMS key Key 'far' is in cn-northwest-1"
        )
    else:
        assert finding.unknown
        assert "does not come from exactly one KMS key of this stack" in finding.message
        assert AT_APPLY in finding.message


# -- ACC-003 / ACC-004 / ACC-005: policy documents -------------------------------------------------------


def iam_policy(statements, deps, name="app"):
    return res(
        IAM_POLICY,
        name,
        {"policy": {"Version": "2012-10-17", "Statement": statements}},
        property_dependencies={"policy": deps},
    )


def read_objects(resource):
    return {
        "Sid": "Read",
        "Effect": "Allow",
        "Action": ["s3:GetObject", "s3:PutObject"],
        "Resource": resource,
    }


@pytest.mark.parametrize(
    ("resource", "deps", "expected"),
    [
        pytest.param([U, U], lambda b, r, t: [b.urn], None, id="bucket-arn-and-objects"),
        pytest.param(U, lambda b, r, t: [t.urn], None, id="table-arn"),
        pytest.param([U], lambda b, r, t: [b.urn, r.urn], "unknown", id="two-resources"),
        pytest.param([U], lambda b, r, t: [], "unknown", id="no-dependency"),
        pytest.param("*", lambda b, r, t: [b.urn], "finding", id="literal-star-wins"),
        pytest.param([U, "*"], lambda b, r, t: [b.urn], "finding", id="a-star-beside-a-reference"),
    ],
)
def test_acc004_resource_from_the_graph(resource, deps, expected):
    bucket = unnamed_bucket("uploads")
    role = res(ROLE, "app", {"assumeRolePolicy": json.dumps({"Statement": []})})
    table = res(TABLE, "users", {"tags": UPLOADS})
    policy = iam_policy([read_objects(resource)], deps(bucket, role, table))
    result = run(["ACC-004"], bucket, role, table, policy)
    found = [f for f in result.findings if f.urn == policy.urn]
    if expected is None:
        assert found == []
        return
    [finding] = found
    if expected == "unknown":
        assert finding.unknown
        assert finding.message == (
            "Policy 'app': policy statement 'Read' grants data or iam:PassRole actions on resources not known "
            "until apply"
        )
    else:
        assert not finding.unknown
        assert finding.message.startswith(
            "Policy 'app': policy statement 'Read' allows s3:GetObject, s3:PutObject on every resource"
        )


def test_acc004_policy_json_entirely_unknown_stays_unknown_and_names_the_pack():
    bucket = unnamed_bucket("uploads")
    policy = res(IAM_POLICY, "app", {"policy": U}, property_dependencies={"policy": [bucket.urn]})
    [finding] = run(["ACC-004"], bucket, policy).findings
    assert finding.unknown
    assert finding.message == (
        "Policy 'app': policy is not known until apply, so it cannot be checked for least privilege here; "
        "the CrossGuard pack checks it at apply (pulumi up --policy-pack policies), or build the document "
        "from known values"
    )


def bucket_policy(bucket, statements, deps, name="uploads"):
    return res(
        POLICY_V6,
        name,
        {"bucket": U, "policy": {"Version": "2012-10-17", "Statement": statements}},
        property_dependencies={"bucket": [bucket.urn], "policy": deps},
    )


@pytest.mark.parametrize(
    ("principal", "deps", "expected"),
    [
        pytest.param({"AWS": U}, lambda b, r, r2: [r.urn], None, id="role-arn"),
        pytest.param({"AWS": [U]}, lambda b, r, r2: [r.urn], None, id="role-arn-list"),
        pytest.param({"AWS": U}, lambda b, r, r2: [b.urn], "unknown", id="a-bucket-is-no-principal"),
        pytest.param({"AWS": U}, lambda b, r, r2: [r.urn, r2.urn], "unknown", id="two-roles"),
        pytest.param(U, lambda b, r, r2: [r.urn], "unknown", id="whole-principal"),
        pytest.param("*", lambda b, r, r2: [b.urn], "finding", id="everyone"),
    ],
)
def test_acc003_bucket_policy_principal_from_the_graph(principal, deps, expected):
    bucket = unnamed_bucket("uploads")
    role, role2 = (res(ROLE, n, {"assumeRolePolicy": json.dumps({"Statement": []})}) for n in ("app", "ops"))
    statement = {
        "Sid": "AppReads",
        "Effect": "Allow",
        "Principal": principal,
        "Action": "s3:GetObject",
        "Resource": "arn:aws-cn:s3:::uploads/*",
    }
    policy = bucket_policy(bucket, [statement], deps(bucket, role, role2))
    result = run(["ACC-003"], bucket, role, role2, policy)
    found = [f for f in result.findings if f.urn == policy.urn]
    if expected is None:
        assert found == []
        return
    [finding] = found
    if expected == "unknown":
        assert finding.unknown
        assert "has a principal not known until apply, so it may be everyone" in finding.message
    else:
        assert not finding.unknown
        assert finding.message.startswith(
            "BucketPolicy 'uploads': policy statement 'AppReads' allows \"*\" to s3:GetObject without a condition"
        )


def test_acc003_everyone_with_a_resolved_resource_is_a_plain_finding_not_an_unknown():
    """Resolving the Resource leaves nothing unknown in the statement: the public grant is reported as such."""
    bucket = unnamed_bucket("uploads")
    statement = {
        "Sid": "Public",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": U,
    }
    policy = bucket_policy(bucket, [statement], [bucket.urn])
    [finding] = run(["ACC-003"], bucket, policy).findings
    assert not finding.unknown
    assert 'allows "*" to s3:GetObject without a condition that limits who' in finding.message
    unresolved = bucket_policy(bucket, [statement], [])
    [finding] = run(["ACC-003"], bucket, unresolved).findings
    assert finding.unknown
    assert "part of the statement is not known until apply" in finding.message


@pytest.mark.parametrize(
    ("deps", "expected"),
    [
        pytest.param(lambda b, b2: [b.urn], None, id="one-bucket"),
        pytest.param(lambda b, b2: [b.urn, b2.urn], "unknown", id="two-buckets"),
    ],
)
def test_acc003_source_arn_condition_from_the_graph(deps, expected):
    """An SNS topic policy that lets S3 publish for one bucket (`aws:SourceArn: bucket.arn`)."""
    bucket, bucket2 = unnamed_bucket("uploads"), unnamed_bucket("photos")
    statement = {
        "Sid": "S3Publishes",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "sns:Publish",
        "Resource": "arn:aws-cn:sns:cn-north-1:111122223333:events",
        "Condition": {"ArnLike": {"aws:SourceArn": U}},
    }
    topic_policy = res(
        TOPIC_POLICY,
        "events",
        {"arn": "arn:aws-cn:sns:cn-north-1:111122223333:events", "policy": {"Statement": [statement]}},
        property_dependencies={"policy": deps(bucket, bucket2)},
    )
    found = run(["ACC-003"], bucket, bucket2, topic_policy).findings
    if expected is None:
        assert found == []
        return
    [finding] = found
    assert finding.unknown
    assert "part of the statement is not known until apply" in finding.message


@pytest.mark.parametrize(
    ("deps", "expected"),
    [
        pytest.param(lambda r, r2: [r.urn], None, id="one-role"),
        pytest.param(lambda r, r2: [r.urn, r2.urn], "unknown", id="two-roles"),
    ],
)
def test_acc005_trust_policy_principal_from_the_graph(deps, expected):
    ci, ops = (res(ROLE, n, {"assumeRolePolicy": json.dumps({"Statement": []})}) for n in ("ci", "ops"))
    trust = {
        "Statement": [{"Sid": "Ci", "Effect": "Allow", "Principal": {"AWS": U}, "Action": "sts:AssumeRole"}]
    }
    deployer = res(
        ROLE,
        "deployer",
        {"assumeRolePolicy": trust},
        property_dependencies={"assumeRolePolicy": deps(ci, ops)},
    )
    found = [f for f in run(["ACC-005"], ci, ops, deployer).findings if f.urn == deployer.urn]
    if expected is None:
        assert found == []
        return
    [finding] = found
    assert finding.unknown
    assert finding.message == (
        "Role 'deployer': assumeRolePolicy statement 'Ci' has a principal not known until apply, so it may be "
        "everyone"
    )


def test_acc005_trust_policy_entirely_unknown_names_the_pack():
    ci = res(ROLE, "ci", {"assumeRolePolicy": json.dumps({"Statement": []})})
    deployer = res(
        ROLE, "deployer", {"assumeRolePolicy": U}, property_dependencies={"assumeRolePolicy": [ci.urn]}
    )
    [finding] = [f for f in run(["ACC-005"], ci, deployer).findings if f.urn == deployer.urn]
    assert finding.unknown
    assert AT_APPLY in finding.message


# -- what a derived string can and cannot prove -------------------------------------------------------------


def test_aud003_a_deny_on_a_resolved_resource_does_not_prove_every_object_is_covered():
    """`${bucket.arn}/*` and `${bucket.arn}/tmp/*` look alike in a preview: deletion protection stays unknown."""
    logs = unnamed_bucket("access-logs", tags=AUDIT)
    deny = {
        "Sid": "KeepLogs",
        "Effect": "Deny",
        "Principal": "*",
        "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion"],
        "Resource": U,
    }
    policy = bucket_policy(logs, [deny], [logs.urn], name="access-logs")
    [finding] = [f for f in run(["AUD-003"], logs, policy).findings if f.urn == logs.urn]
    assert finding.unknown
    assert finding.message == (
        "BucketV2 'access-logs' holds audit logs (it is tagged data-category=audit-logs): its Object Lock "
        "configuration or bucket policy is not known until apply, so its protection against deletion cannot be "
        f"checked here; {AT_APPLY}"
    )


def test_tls001_bucket_policy_entirely_unknown_names_the_pack():
    bucket = unnamed_bucket("uploads")
    policy = res(
        POLICY_V6,
        "uploads",
        {"bucket": U, "policy": U},
        property_dependencies={"bucket": [bucket.urn], "policy": [bucket.urn]},
    )
    [finding] = run(["TLS-001"], bucket, policy).findings
    assert finding.unknown
    assert finding.message == (
        "BucketV2 'uploads': the bucket policy in BucketPolicy 'uploads' is not known until apply, so its TLS "
        f"statements cannot be verified here; {AT_APPLY}"
    )


# -- the first preview of an ordinary program -------------------------------------------------------------


def tls_statements():
    return [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": "s3:*",
            "Resource": [U, U],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
        {
            "Sid": "DenyOutdatedTls",
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": "s3:*",
            "Resource": [U, U],
            "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}},
        },
    ]


def hardened(bucket, key, policy_document=None):
    """A bucket's side resources as a Pulumi program writes them: every link is `bucket.id`,
    `bucket.arn` or `key.arn`, so every one of them is unknown in a first preview."""
    on = {
        k: True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    }
    rules = [
        {
            "applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": U},
            "bucketKeyEnabled": True,
        }
    ]
    document = policy_document if policy_document is not None else {"Statement": tls_statements()}
    return [
        res(
            POLICY_V6,
            bucket.name,
            {"bucket": U, "policy": document},
            property_dependencies={"bucket": [bucket.urn], "policy": [bucket.urn]},
        ),
        res(PAB, bucket.name, {"bucket": U, **on}, property_dependencies={"bucket": [bucket.urn]}),
        res(
            SSE_V6,
            bucket.name,
            {"bucket": U, "rules": rules},
            property_dependencies={"bucket": [bucket.urn], "rules": [key.urn]},
        ),
    ]


def first_preview(*, logging_deps=None, policy_document=None):
    """bucket + log bucket + BucketLogging(targetBucket=log_bucket.id) + BucketPolicy from bucket.arn,
    SSE with key.arn, public access blocks, and an IAM policy scoped to bucket.arn."""
    key = res(KEY, "data", {"enableKeyRotation": True})
    uploads = unnamed_bucket("uploads")
    logs = unnamed_bucket("access-logs", tags=AUDIT)
    return [
        key,
        uploads,
        logs,
        logging_to(uploads, logging_deps if logging_deps is not None else [logs.urn]),
        *hardened(uploads, key, policy_document),
        *hardened(logs, key),
        iam_policy([read_objects([U, U])], [uploads.urn]),
    ]


RESOLVED_RULES = ["AUD-001", "ACC-001", "ACC-003", "ACC-004", "TLS-001", "ENC-001", "ENC-003"]


def test_first_preview_of_an_ordinary_program_passes_the_resolved_rules():
    result = run(RESOLVED_RULES, *first_preview())
    assert messages(result) == []


def test_first_preview_with_a_policy_built_entirely_from_unknowns_stays_unknown():
    result = run(RESOLVED_RULES, *first_preview(policy_document=U))
    assert result.findings, "a policy nobody can read must not pass"
    assert all(f.unknown for f in result.findings)
    assert {f.rule for f in result.findings} == {"ACC-003", "TLS-001"}
    assert all(AT_APPLY in f.message for f in result.findings)


def test_first_preview_with_an_ambiguous_log_target_stays_unknown():
    key, uploads, logs = first_preview()[:3]
    other = unnamed_bucket("other-logs", tags=AUDIT)
    resources = first_preview(logging_deps=[logs.urn, other.urn])
    result = run(RESOLVED_RULES, *resources, other, *hardened(other, key))
    [finding] = result.findings
    assert (finding.rule, finding.unknown) == ("AUD-001", True)
    assert AT_APPLY in finding.message


def test_resolution_is_not_needed_when_the_program_names_things():
    """The same program with literal names (a stack export) gives the same verdict."""
    key = res(KEY, "data", {"enableKeyRotation": True, "arn": "arn:aws-cn:kms:cn-north-1:1:key/k"})
    uploads = res(BUCKET_V6, "uploads", {"bucket": "uploads", "tags": UPLOADS})
    logs = res(BUCKET_V6, "access-logs", {"bucket": "access-logs", "tags": AUDIT})
    logging = res(
        LOGGING_V6, "uploads", {"bucket": "uploads", "targetBucket": "access-logs", "targetPrefix": "s3/"}
    )
    assert messages(run(["AUD-001"], uploads, logs, logging, key)) == []


def test_acc004_json_text_with_unknown_resources_resolves_like_an_object():
    """A stack export or a mock may carry the sentinel inside known JSON text: the same rules apply."""
    bucket = unnamed_bucket("uploads")
    text = json.dumps({"Version": "2012-10-17", "Statement": [read_objects([U, U])]})
    scoped = res(IAM_POLICY, "app", {"policy": text}, property_dependencies={"policy": [bucket.urn]})
    assert messages(run(["ACC-004"], bucket, scoped)) == []
    ambiguous = res(IAM_POLICY, "app", {"policy": text}, property_dependencies={"policy": []})
    [finding] = run(["ACC-004"], bucket, ambiguous).findings
    assert finding.unknown


@pytest.mark.parametrize(
    ("deps", "expected"),
    [
        pytest.param(lambda p, b: [p.urn], [], id="policies-of-the-stack"),
        pytest.param(
            lambda p, b: [p.urn, b.urn],
            ["Role 'app': managedPolicyArns are not known until apply, so they cannot be checked"],
            id="a-bucket-among-them",
        ),
    ],
)
def test_acc004_managed_policy_arns_from_policies_of_the_stack(deps, expected):
    bucket = unnamed_bucket("uploads")
    policy = iam_policy([read_objects("arn:aws-cn:s3:::uploads/*")], [], name="reads")
    role = res(
        ROLE,
        "app",
        {"assumeRolePolicy": json.dumps({"Statement": []}), "managedPolicyArns": [U]},
        property_dependencies={"managedPolicyArns": deps(policy, bucket)},
    )
    assert messages(run(["ACC-004"], bucket, policy, role)) == expected


# -- real files ---------------------------------------------------------------------------------------------


def test_real_first_preview_links_resolve_to_the_resources_they_name():
    """dundalek/stratify's first preview (pulumi-aws v6): every link between its resources is unknown."""
    from paths import public_fixture

    from policies.catalog import default_catalog
    from policies.references import ROLES, computed_from_resources
    from policies.sources import load_stack

    st = load_stack(
        str(public_fixture("dundalek-stratify-preview-creates-aws6.json")), default_catalog().settings()
    )
    [docs] = st.of_type(BUCKET_V7)
    [role] = st.of_type(ROLE)
    [notification] = st.of_type("aws:s3/bucketNotification:BucketNotification")
    [function] = st.of_type("aws:lambda/function:Function")
    [permission] = st.of_type("aws:lambda/permission:Permission")
    assert notification.props["bucket"] is UNKNOWN
    assert referenced(st, notification, "bucket", BUCKETS) is docs
    assert referenced(st, function, "role", ROLES) is role
    assert referenced(st, function, "role", BUCKETS) is None
    assert referenced(st, permission, "function") is function
    assert permission.props["sourceArn"] is UNKNOWN and computed_from_resources(permission, "sourceArn")
    # Nothing in this preview is left unknown by the rules that resolve references.
    result = no_crash(
        evaluate(st, [all_rules()[r] for r in ("ACC-003", "ACC-004", "ACC-005", "AUD-001", "ENC-002")])
    )
    assert [f.message for f in result.findings if f.unknown] == []


@pytest.mark.parametrize(
    ("deps", "expected"),
    [
        pytest.param(lambda r, b: [r.urn], None, id="a-role"),
        pytest.param(lambda r, b: [b.urn], "unknown", id="a-bucket"),
        pytest.param(lambda r, b: [], "unknown", id="no-dependency"),
    ],
)
def test_acc003_lambda_permission_principal_from_the_graph(deps, expected):
    role = res(ROLE, "caller", {"assumeRolePolicy": json.dumps({"Statement": []})})
    bucket = unnamed_bucket("uploads")
    permission = res(
        "aws:lambda/permission:Permission",
        "invoke",
        {"action": "lambda:InvokeFunction", "function": "fn", "principal": U},
        property_dependencies={"principal": deps(role, bucket)},
    )
    found = [f for f in run(["ACC-003"], role, bucket, permission).findings if f.urn == permission.urn]
    if expected is None:
        assert found == []
        return
    [finding] = found
    assert finding.unknown
    assert finding.message == (
        "Permission 'invoke': principal is not known until apply, so it may be everyone ('*'): it does not come "
        f"from exactly one role or user of this stack; {AT_APPLY}"
    )


def test_a_policy_nested_too_deep_is_malformed_not_a_crash():
    from policies.documents import MalformedDocument

    parsed = parse_document('{"Statement": ' + "[" * 5000 + "]" * 5000 + "}")
    assert isinstance(parsed, MalformedDocument)
    assert parsed.reason == "nested too deeply to be a policy document"
