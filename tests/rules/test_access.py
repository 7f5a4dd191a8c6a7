"""ACC-001..ACC-005: no public buckets, objects or resource policies; least-privilege IAM; safe trusts."""

from __future__ import annotations

import json

import pytest
from builders import messages, res, stack, urn
from honesty import check, evaluate
from paths import PUBLIC_FIXTURES

from policies.catalog import default_catalog
from policies.registry import all_rules
from policies.sources import load_stack

U = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

BUCKET_V2 = "aws:s3/bucketV2:BucketV2"
BUCKET = "aws:s3/bucket:Bucket"  # v7 bucket, or the legacy v6 inline bucket
PAB_V2 = "aws:s3/bucketPublicAccessBlockV2:BucketPublicAccessBlockV2"
PAB_V7 = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
ACCOUNT_PAB = "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock"
ALL_ON = {
    "blockPublicAcls": True,
    "blockPublicPolicy": True,
    "ignorePublicAcls": True,
    "restrictPublicBuckets": True,
}
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTH_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
ROLE = "aws:iam/role:Role"
POLICY = "aws:iam/policy:Policy"


def bucket(name="uploads", type_=BUCKET_V2, **inputs):
    return res(type_, name, {"bucket": name, **inputs})


def side(type_, name, bucket_name="uploads", **inputs):
    return res(type_, name, {"bucket": bucket_name, **inputs})


def doc(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def findings(result, unknown=None):
    return [f for f in result.findings if unknown is None or f.unknown is unknown]


def fixture_stack(name):
    path = PUBLIC_FIXTURES / name
    if not path.exists():
        pytest.skip(f"{name} missing")
    return load_stack(str(path), settings=default_catalog().settings())


def run_on(st, rule_id):
    return evaluate(st, [all_rules()[rule_id]])


# --- ACC-001 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bucket_type", "pab_type"), [(BUCKET_V2, PAB_V2), (BUCKET, PAB_V7)], ids=["v6-BucketV2", "v7-Bucket"]
)
def test_acc001_passes_with_all_four_settings_on(bucket_type, pab_type):
    result = check("ACC-001", bucket(type_=bucket_type), side(pab_type, "uploads-pab", **ALL_ON))
    assert messages(result) == []


def test_acc001_fails_without_a_public_access_block():
    result = check("ACC-001", bucket())
    [message] = messages(result)
    assert "BucketV2 'uploads' has no public access block" in message
    assert "BucketPublicAccessBlock" in message


def test_acc001_names_the_settings_that_are_off():
    pab = side(
        PAB_V2, "uploads-pab", **{**ALL_ON, "blockPublicPolicy": False, "restrictPublicBuckets": False}
    )
    [message] = messages(check("ACC-001", bucket(), pab))
    assert "blockPublicPolicy, restrictPublicBuckets are not true" in message
    assert "blockPublicAcls" not in message


def test_acc001_missing_settings_default_to_off():
    pab = side(PAB_V2, "uploads-pab", blockPublicAcls=True, ignorePublicAcls=True)
    [message] = messages(check("ACC-001", bucket(), pab))
    assert "blockPublicPolicy, restrictPublicBuckets" in message


def test_acc001_joins_the_block_through_property_dependencies():
    b = res(BUCKET_V2, "uploads", {"bucket": U})
    pab = res(PAB_V2, "uploads-pab", {"bucket": U, **ALL_ON}, property_dependencies={"bucket": [b.urn]})
    assert messages(check("ACC-001", b, pab)) == []


def test_acc001_account_level_block_covers_every_bucket():
    result = check("ACC-001", bucket(), bucket("logs"), res(ACCOUNT_PAB, "account", ALL_ON))
    assert messages(result) == []


def test_acc001_bucket_and_account_settings_combine_per_setting():
    pab = side(PAB_V2, "uploads-pab", blockPublicAcls=True, ignorePublicAcls=True)
    account = res(ACCOUNT_PAB, "account", {"blockPublicPolicy": True, "restrictPublicBuckets": True})
    assert messages(check("ACC-001", bucket(), pab, account)) == []


def test_acc001_unknown_setting_is_unknown_not_compliant():
    pab = side(PAB_V2, "uploads-pab", **{**ALL_ON, "blockPublicPolicy": U})
    result = check("ACC-001", bucket(), pab)
    [finding] = findings(result)
    assert finding.unknown
    assert "blockPublicPolicy" in finding.message and "not known until apply" in finding.message


def test_acc001_non_personal_bucket_is_exempt_and_untagged_is_not():
    public_site = bucket("site", tags={"data-category": "non-personal"})
    untagged = bucket("uploads")
    result = check("ACC-001", public_site, untagged)
    assert [f.name for f in result.findings] == ["uploads"]
    assert "has no public access block" in result.findings[0].message


def test_acc001_legacy_inline_bucket():
    legacy = res(BUCKET, "legacy", {"bucket": "legacy", "acl": "private"})
    [msg] = messages(check("ACC-001", legacy))
    assert msg.startswith("Bucket 'legacy' has no public access block")
    assert messages(check("ACC-001", legacy, side(PAB_V7, "legacy-pab", "legacy", **ALL_ON))) == []


# --- ACC-002 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("acl", ["private", "log-delivery-write", "bucket-owner-full-control", None])
def test_acc002_private_acls_pass(acl):
    inputs = {"acl": acl} if acl else {}
    assert messages(check("ACC-002", bucket(type_=BUCKET, **inputs))) == []


@pytest.mark.parametrize("acl", ["public-read", "public-read-write", "authenticated-read"])
def test_acc002_public_canned_acl_fails(acl):
    [message] = messages(check("ACC-002", bucket(type_=BUCKET, acl=acl)))
    assert f"Bucket 'uploads' has the public canned ACL '{acl}'" in message
    assert "private" in message


@pytest.mark.parametrize(("uri", "who"), [(ALL_USERS, "everyone"), (AUTH_USERS, "every AWS account")])
def test_acc002_inline_grant_to_public_group_fails(uri, who):
    grants = [
        {"type": "CanonicalUser", "id": "abc", "permissions": ["FULL_CONTROL"]},
        {"type": "Group", "uri": uri, "permissions": ["READ"]},
    ]
    [message] = messages(check("ACC-002", bucket(type_=BUCKET, grants=grants)))
    assert f"grants READ to {who}" in message


def test_acc002_bucket_acl_side_resource_grant_fails():
    acl = side(
        "aws:s3/bucketAclV2:BucketAclV2",
        "uploads-acl",
        accessControlPolicy={
            "grants": [{"grantee": {"type": "Group", "uri": ALL_USERS}, "permission": "READ"}],
            "owner": {"id": "abc"},
        },
    )
    [message] = messages(check("ACC-002", bucket(), acl))
    assert "BucketV2 'uploads' grants READ to everyone" in message


def test_acc002_bucket_acl_side_resource_canned_acl_fails():
    acl = side("aws:s3/bucketAcl:BucketAcl", "uploads-acl", acl="public-read")
    [message] = messages(check("ACC-002", bucket(type_=BUCKET), acl))
    assert "'public-read'" in message


@pytest.mark.parametrize(
    "inputs",
    [{"acl": U}, {"grants": U}, {"grants": [{"type": "Group", "uri": U, "permissions": ["READ"]}]}],
    ids=["acl", "grants", "grantee"],
)
def test_acc002_unknown_acl_is_unknown(inputs):
    result = check("ACC-002", bucket(type_=BUCKET, **inputs))
    assert result.findings and all(f.unknown for f in result.findings)


@pytest.mark.parametrize(
    "object_type", ["aws:s3/bucketObject:BucketObject", "aws:s3/bucketObjectv2:BucketObjectv2"]
)
def test_acc002_public_object_fails_and_private_passes(object_type):
    public = res(object_type, "avatar", {"bucket": "uploads", "key": "a.png", "acl": "public-read"})
    private = res(object_type, "doc", {"bucket": "uploads", "key": "b.txt", "acl": "private"})
    pending = res(object_type, "later", {"bucket": "uploads", "key": "c.txt", "acl": U})
    result = check("ACC-002", bucket(), public, private, pending)
    by_name = {f.name: f for f in result.findings}
    assert set(by_name) == {"avatar", "later"}
    assert "'public-read'" in by_name["avatar"].message and not by_name["avatar"].unknown
    assert by_name["later"].unknown


def test_acc002_non_personal_bucket_and_its_objects_are_exempt():
    site = bucket("site", type_=BUCKET, acl="public-read", tags={"data-category": "non-personal"})
    page = res("aws:s3/bucketObjectv2:BucketObjectv2", "index", {"bucket": "site", "acl": "public-read"})
    assert messages(check("ACC-002", site, page)) == []


# --- ACC-003 ---------------------------------------------------------------------------------------

SNS_DEFAULT = {
    "Sid": "__default_statement_ID",
    "Effect": "Allow",
    "Principal": {"AWS": "*"},
    "Action": ["SNS:Publish", "SNS:Subscribe"],
    "Resource": "arn:aws-cn:sns:cn-north-1:111122223333:events",
    "Condition": {"StringEquals": {"AWS:SourceOwner": "111122223333"}},
}
DENY_INSECURE = {
    "Sid": "TLSOnly",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": ["arn:aws-cn:s3:::uploads", "arn:aws-cn:s3:::uploads/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}


def allow_everyone(principal="*", condition=None, sid="Public"):
    st = {"Sid": sid, "Effect": "Allow", "Principal": principal, "Action": "s3:GetObject", "Resource": "*"}
    if condition is not None:
        st["Condition"] = condition
    return st


RESOURCE_POLICY_CASES = [
    ("sns default policy (SourceOwner)", doc(SNS_DEFAULT), None),
    ("deny with * enforces TLS", doc(DENY_INSECURE), None),
    ("named account", doc(allow_everyone({"AWS": "arn:aws-cn:iam::111122223333:root"})), None),
    ("service principal", doc(allow_everyone({"Service": "cloudtrail.amazonaws.com"})), None),
    (
        "source arn",
        doc(allow_everyone(condition={"ArnLike": {"aws:SourceArn": "arn:aws-cn:s3:::logs"}})),
        None,
    ),
    ("org id", doc(allow_everyone(condition={"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}})), None),
    ("private network", doc(allow_everyone(condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})), None),
    (
        "kms caller account",
        doc(allow_everyone(condition={"StringEquals": {"kms:CallerAccount": "1111"}})),
        None,
    ),
    ("principal *", doc(allow_everyone("*")), 'allows "*"'),
    ("AWS *", doc(allow_everyone({"AWS": "*"})), 'allows {"AWS": "*"}'),
    ("AWS list with *", doc(allow_everyone({"AWS": ["arn:aws-cn:iam::1111:root", "*"]})), '{"AWS": "*"}'),
    ("unrelated condition", doc(allow_everyone(condition={"Bool": {"aws:SecureTransport": "true"}})), '"*"'),
    (
        "negated condition",
        doc(allow_everyone(condition={"StringNotEquals": {"aws:SourceAccount": "1"}})),
        '"*"',
    ),
    (
        "IfExists condition",
        doc(allow_everyone(condition={"ArnLikeIfExists": {"aws:SourceArn": "arn:x"}})),
        '"*"',
    ),
    ("Null condition", doc(allow_everyone(condition={"Null": {"aws:SourceArn": "false"}})), '"*"'),
    ("wildcard org id", doc(allow_everyone(condition={"StringLike": {"aws:PrincipalOrgID": "*"}})), '"*"'),
    ("open source ip", doc(allow_everyone(condition={"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}})), '"*"'),
    (
        "NotPrincipal allow",
        doc(
            {
                "Effect": "Allow",
                "NotPrincipal": {"AWS": "arn:aws-cn:iam::1:root"},
                "Action": "*",
                "Resource": "*",
            }
        ),
        "NotPrincipal",
    ),
]


@pytest.mark.parametrize("as_string", [True, False], ids=["json-string", "dict"])
@pytest.mark.parametrize(
    ("document", "expected"),
    [c[1:] for c in RESOURCE_POLICY_CASES],
    ids=[c[0] for c in RESOURCE_POLICY_CASES],
)
def test_acc003_policy_documents(document, expected, as_string):
    policy = json.dumps(document) if as_string else document
    result = check("ACC-003", res("aws:sns/topic:Topic", "events", {"policy": policy}))
    if expected is None:
        assert messages(result) == []
    else:
        [finding] = findings(result)
        assert not finding.unknown
        assert finding.message.startswith("Topic 'events': policy statement")
        assert expected in finding.message


def test_acc003_message_names_the_sid_and_how_to_fix():
    result = check(
        "ACC-003", res("aws:sqs/queue:Queue", "jobs", {"policy": json.dumps(doc(allow_everyone()))})
    )
    [message] = messages(result)
    assert "statement 'Public'" in message
    assert "aws:SourceArn" in message


@pytest.mark.parametrize(
    ("type_", "prop"),
    [
        (BUCKET, "policy"),  # legacy inline bucket policy
        ("aws:s3/bucketPolicy:BucketPolicy", "policy"),
        ("aws:sqs/queuePolicy:QueuePolicy", "policy"),
        ("aws:sns/topicPolicy:TopicPolicy", "policy"),
        ("aws:kms/key:Key", "policy"),
        ("aws:kms/keyPolicy:KeyPolicy", "policy"),
        ("aws:secretsmanager/secret:Secret", "policy"),
        ("aws:secretsmanager/secretPolicy:SecretPolicy", "policy"),
        ("aws:opensearch/domain:Domain", "accessPolicies"),
        ("aws:elasticsearch/domain:Domain", "accessPolicies"),
        ("aws:opensearch/domainPolicy:DomainPolicy", "accessPolicies"),
        ("aws:efs/fileSystemPolicy:FileSystemPolicy", "policy"),
        ("aws:backup/vaultPolicy:VaultPolicy", "policy"),
        ("aws:glacier/vault:Vault", "accessPolicy"),
        ("aws:ecr/repositoryPolicy:RepositoryPolicy", "policy"),
    ],
)
def test_acc003_reads_each_resource_types_policy_property(type_, prop):
    public = res(type_, "public", {prop: json.dumps(doc(allow_everyone()))})
    private = res(type_, "private", {prop: json.dumps(doc(SNS_DEFAULT))})
    result = check("ACC-003", public, private)
    assert [f.name for f in result.findings] == ["public"]
    assert f"': {prop} statement 'Public'" in result.findings[0].message


def test_acc003_bucket_policy_of_a_non_personal_bucket_is_exempt():
    site = bucket("site", tags={"data-category": "non-personal"})
    policy = side(
        "aws:s3/bucketPolicy:BucketPolicy", "site-policy", "site", policy=json.dumps(doc(allow_everyone()))
    )
    assert messages(check("ACC-003", site, policy)) == []


@pytest.mark.parametrize(
    "policy",
    [U, {"Version": "2012-10-17", "Statement": U}, doc(allow_everyone(U)), doc(allow_everyone({"AWS": U}))],
    ids=["whole-document", "statements", "principal", "aws-principal"],
)
def test_acc003_unknown_policy_is_unknown(policy):
    result = check("ACC-003", res("aws:sqs/queue:Queue", "jobs", {"policy": policy}))
    [finding] = findings(result)
    assert finding.unknown
    assert "not known until apply" in finding.message


def test_acc003_unknown_condition_value_on_public_statement_is_unknown():
    st = allow_everyone(condition={"StringEquals": {"aws:SourceAccount": U}})
    [finding] = findings(check("ACC-003", res("aws:sqs/queue:Queue", "jobs", {"policy": doc(st)})))
    assert finding.unknown


def test_acc003_malformed_policy_is_a_finding():
    [finding] = findings(check("ACC-003", res("aws:sqs/queue:Queue", "jobs", {"policy": "{not json"})))
    assert not finding.unknown
    assert "not a valid policy document (not valid JSON)" in finding.message


LAMBDA_PERMISSION = "aws:lambda/permission:Permission"
NO_CONDITION = (
    "lets everyone ('*') call lambda:InvokeFunction with no sourceArn, sourceAccount or principalOrgId"
)


@pytest.mark.parametrize(
    ("inputs", "deps", "expected"),
    [
        ({"principal": "s3.amazonaws.com", "sourceArn": "arn:aws-cn:s3:::uploads"}, {}, None),
        ({"principal": "*", "sourceArn": "arn:aws-cn:execute-api:cn-north-1:1:api/*"}, {}, None),
        ({"principal": "*", "sourceAccount": "111122223333"}, {}, None),
        ({"principal": "*", "principalOrgId": "o-abc123"}, {}, None),
        ({"principal": "*", "sourceArn": U}, {"sourceArn": [urn(BUCKET, "uploads")]}, None),
        ({"principal": "*"}, {}, ("finding", NO_CONDITION)),
        ({"principal": "*", "sourceArn": "*"}, {}, ("finding", NO_CONDITION)),
        (
            {"principal": "*", "sourceArn": U},
            {},
            ("unknown", "its sourceArn/sourceAccount/principalOrgId is not known"),
        ),
        (
            {"principal": U},
            {},
            ("unknown", "Permission 'invoke': principal is not known until apply, so it may be"),
        ),
    ],
)
def test_acc003_lambda_permission(inputs, deps, expected):
    perm = res(
        LAMBDA_PERMISSION,
        "invoke",
        {"action": "lambda:InvokeFunction", "function": "fn", **inputs},
        property_dependencies=deps,
    )
    result = check("ACC-003", perm)
    if expected is None:
        assert messages(result) == []
        return
    [finding] = findings(result)
    kind, says = expected
    assert finding.unknown is (kind == "unknown")
    assert says in finding.message, finding.message


def test_acc003_real_sns_topic_default_policy_passes():
    st = fixture_stack("pulumi-aws-recorded-sns-topic-stack.json")
    assert st.of_type("aws:sns/topic:Topic")
    assert messages(run_on(st, "ACC-003")) == []


def test_acc003_real_kms_key_default_policy_passes():
    st = fixture_stack("pulumi-aws-recorded-kms-key-stack.json")
    assert st.of_type("aws:kms/key:Key")
    assert messages(run_on(st, "ACC-003")) == []


# --- ACC-004 ---------------------------------------------------------------------------------------


def allow(action, resource="*", sid="Grant", **extra):
    return {"Sid": sid, "Effect": "Allow", "Action": action, "Resource": resource, **extra}


TABLE_ARN = "arn:aws-cn:dynamodb:cn-north-1:111122223333:table/users"

IDENTITY_POLICY_CASES = [
    ("scoped object read", doc(allow("s3:GetObject", "arn:aws-cn:s3:::uploads/*")), []),
    ("scoped table", doc(allow(["dynamodb:GetItem", "dynamodb:Query"], TABLE_ARN)), []),
    ("kms:CreateKey needs *", doc(allow("kms:CreateKey")), []),
    ("list buckets needs *", doc(allow("s3:ListAllMyBuckets")), []),
    ("describe ec2", doc(allow("ec2:Describe*")), []),
    ("unknown non-data action", doc(allow("nosuchservice:DoThing")), []),
    ("pass a named role", doc(allow("iam:PassRole", "arn:aws-cn:iam::111122223333:role/app")), []),
    ("deny everything", doc({"Effect": "Deny", "Action": "*", "Resource": "*"}), []),
    ("every action", doc(allow("*")), ['allows every action ("*")']),
    ("every action *:*", doc(allow("*:*")), ['allows every action ("*")']),
    (
        "NotAction",
        doc({"Sid": "Grant", "Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}),
        ["NotAction"],
    ),
    (
        "s3:* on a bucket",
        doc(allow("s3:*", "arn:aws-cn:s3:::uploads")),
        ["every action of the data service s3:*"],
    ),
    ("s3:Get* on *", doc(allow("s3:Get*")), ["s3:GetObject"]),
    ("dynamodb on *", doc(allow("dynamodb:GetItem")), ["dynamodb:GetItem on every resource"]),
    ("secret on *", doc(allow("secretsmanager:GetSecretValue")), ["secretsmanager:GetSecretValue"]),
    ("kms decrypt on *", doc(allow("kms:Decrypt")), ["kms:Decrypt"]),
    ("all buckets ARN", doc(allow("s3:GetObject", "arn:aws-cn:s3:::*/*")), ['"arn:aws-cn:s3:::*/*"']),
    ("NotResource", doc(allow("s3:GetObject", NotResource="arn:aws-cn:s3:::x/*")), ["NotResource"]),
    ("unknown data action", doc(allow("s3:GetObjectz")), ["s3:GetObjectz"]),
    ("PassRole on *", doc(allow("iam:PassRole")), ["iam:PassRole on every resource"]),
    ("iam:* on *", doc(allow("iam:*")), ["iam:PassRole"]),
    ("iam:Pass* on *", doc(allow("iam:Pass*")), ["iam:PassRole"]),
    (
        "two problems, two findings",
        doc(
            allow("s3:*", "arn:aws-cn:s3:::uploads", sid="A"),
            allow(["logs:PutLogEvents", "iam:PassRole"], sid="B"),
        ),
        ["statement 'A'", "logs:PutLogEvents", "iam:PassRole"],
    ),
]


@pytest.mark.parametrize("as_string", [True, False], ids=["json-string", "dict"])
@pytest.mark.parametrize(
    ("document", "expected"),
    [c[1:] for c in IDENTITY_POLICY_CASES],
    ids=[c[0] for c in IDENTITY_POLICY_CASES],
)
def test_acc004_policy_documents(document, expected, as_string):
    policy = json.dumps(document) if as_string else document
    result = check("ACC-004", res(POLICY, "app", {"policy": policy}))
    got = messages(result)
    assert not any(f.unknown for f in result.findings)
    if not expected:
        assert got == []
        return
    # One finding per statement problem, in statement order.
    assert len(got) == len(expected), got
    for needle, message in zip(expected, got, strict=True):
        assert needle in message
    assert all(m.startswith("Policy 'app': policy statement") for m in got)


def test_acc004_wildcard_names_the_pattern_and_five_telling_examples():
    [message] = messages(
        check("ACC-004", res(POLICY, "app", {"policy": doc(allow("s3:Get*", sid="ReadAll"))}))
    )
    assert "statement 'ReadAll' allows s3:Get* (" in message
    examples = message.split("such as ", 1)[1].split(")", 1)[0].split(", ")
    assert len(examples) == 5
    assert "s3:GetObject" in examples
    assert 'on every resource ("*"); scope Resource' in message


def test_acc004_lists_at_most_five_literal_actions():
    actions = [
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "dynamodb:Scan",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchGetItem",
    ]
    [message] = messages(check("ACC-004", res(POLICY, "app", {"policy": doc(allow(actions))})))
    assert (
        "dynamodb:GetItem, dynamodb:PutItem, dynamodb:Query, dynamodb:Scan, dynamodb:UpdateItem and 2 more"
        in message
    )


@pytest.mark.parametrize(
    "type_",
    ["aws:iam/rolePolicy:RolePolicy", "aws:iam/userPolicy:UserPolicy", "aws:iam/groupPolicy:GroupPolicy"],
)
def test_acc004_inline_policy_resources(type_):
    bad = res(type_, "bad", {"policy": json.dumps(doc(allow("*")))})
    good = res(type_, "good", {"policy": json.dumps(doc(allow("s3:GetObject", "arn:aws-cn:s3:::uploads/*")))})
    result = check("ACC-004", bad, good)
    assert [f.name for f in result.findings] == ["bad"]
    assert "'bad': policy statement 'Grant' allows every action (\"*\")" in result.findings[0].message


def test_acc004_role_inline_policies():
    role = res(
        ROLE,
        "app",
        {
            "assumeRolePolicy": doc(
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ),
            "inlinePolicies": [
                {"name": "read-users", "policy": json.dumps(doc(allow("dynamodb:GetItem", TABLE_ARN)))},
                {"name": "wide", "policy": json.dumps(doc(allow("dynamodb:*", TABLE_ARN, sid="All")))},
            ],
        },
    )
    [message] = messages(check("ACC-004", role))
    assert "Role 'app': inline policy 'wide' statement 'All'" in message


@pytest.mark.parametrize(
    ("arn", "bad"),
    [
        ("arn:aws:iam::aws:policy/AdministratorAccess", True),
        ("arn:aws-cn:iam::aws:policy/AdministratorAccess", True),
        ("arn:aws-cn:iam::aws:policy/AmazonS3FullAccess", True),
        ("arn:aws-cn:iam::aws:policy/SecretsManagerReadWrite", True),
        # Issue 11: judged by what it grants (s3:Get* on every bucket reads every object), not by its name.
        ("arn:aws-cn:iam::aws:policy/AmazonS3ReadOnlyAccess", True),
        ("arn:aws-cn:iam::aws:policy/AmazonEKSClusterPolicy", False),
        ("arn:aws-cn:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole", False),
    ],
)
@pytest.mark.parametrize(
    "type_",
    [
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "aws:iam/userPolicyAttachment:UserPolicyAttachment",
        "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
        "aws:iam/policyAttachment:PolicyAttachment",
        "managedPolicyArns",
    ],
)
def test_acc004_broad_aws_managed_policies(type_, arn, bad):
    if type_ == "managedPolicyArns":
        subject = res(ROLE, "app", {"assumeRolePolicy": doc(), "managedPolicyArns": [arn]})
    else:
        subject = res(type_, "attach", {"policyArn": arn, "role": "app"})
    got = messages(check("ACC-004", subject))
    if bad:
        [message] = got
        assert f"attaches the AWS managed policy {arn.rsplit('/', 1)[1]}" in message
    else:
        assert got == []


CUSTOMER_POLICY = "arn:aws-cn:iam::111122223333:policy/AdministratorAccess"


@pytest.mark.parametrize("type_", ["aws:iam/rolePolicyAttachment:RolePolicyAttachment", "managedPolicyArns"])
def test_acc004_a_customer_policy_is_judged_where_the_stack_declares_it_else_unknown(type_):
    if type_ == "managedPolicyArns":
        subject = res(ROLE, "app", {"assumeRolePolicy": doc(), "managedPolicyArns": [CUSTOMER_POLICY]})
    else:
        subject = res(type_, "attach", {"policyArn": CUSTOMER_POLICY, "role": "app"})
    # Not in this stack: nothing here says what it grants (its name proves nothing).
    result = check("ACC-004", subject)
    assert [f.unknown for f in result.findings] == [True]
    assert "a policy this stack does not declare, so what it grants cannot be checked" in messages(result)[0]
    # Declared in the stack (here by its name): ACC-004 judges the policy itself, not the attachment.
    policy = res(
        POLICY,
        "admin",
        {"name": "AdministratorAccess", "policy": doc(allow("s3:GetObject", "arn:aws-cn:s3:::uploads/*"))},
    )
    assert messages(check("ACC-004", policy, subject)) == []


def test_acc004_unknown_attachment_of_a_policy_in_the_stack_is_checked_there():
    policy = res(POLICY, "app", {"policy": doc(allow("s3:GetObject", "arn:aws-cn:s3:::uploads/*"))})
    attach = res(
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "attach",
        {"policyArn": U, "role": "app"},
        property_dependencies={"policyArn": [policy.urn]},
    )
    assert messages(check("ACC-004", policy, attach)) == []


@pytest.mark.parametrize(
    "subject",
    [
        res(POLICY, "app", {"policy": U}),
        res(POLICY, "app", {"policy": doc(allow("s3:GetObject", U))}),
        res(POLICY, "app", {"policy": doc(allow(U))}),
        res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "app", {"policyArn": U, "role": "r"}),
        res(ROLE, "app", {"assumeRolePolicy": doc(), "inlinePolicies": U}),
        res(ROLE, "app", {"assumeRolePolicy": doc(), "managedPolicyArns": [U]}),
    ],
    ids=["document", "resource", "action", "attachment", "inline-policies", "managed-arns"],
)
def test_acc004_unknown_is_unknown(subject):
    result = check("ACC-004", subject)
    assert result.findings and all(f.unknown for f in result.findings)
    assert all("not known until apply" in m for m in messages(result))


def test_acc004_malformed_policy_is_a_finding():
    [finding] = findings(check("ACC-004", res(POLICY, "app", {"policy": '{"Statement": "nope"}'})))
    assert not finding.unknown and "not a valid policy document" in finding.message


def test_acc004_real_iam_user_policy_with_s3_star_fails():
    st = fixture_stack("pulumi-aws-recorded-iam-user-stack.json")
    [message] = messages(run_on(st, "ACC-004"))
    assert "s3:*" in message


# --- ACC-005 ---------------------------------------------------------------------------------------

GITHUB = "arn:aws-cn:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"
COGNITO = "cognito-identity.amazonaws.com"


def trust(principal, action="sts:AssumeRole", condition=None, sid="Trust", effect="Allow"):
    st = {"Sid": sid, "Effect": effect, "Principal": principal, "Action": action}
    if condition is not None:
        st["Condition"] = condition
    return doc(st)


def github(condition):
    return trust({"Federated": GITHUB}, "sts:AssumeRoleWithWebIdentity", condition)


AUD = {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}

TRUST_CASES = [
    ("service principal", trust({"Service": "ec2.amazonaws.com"}), None),
    ("named account", trust({"AWS": "arn:aws-cn:iam::111122223333:root"}), None),
    (
        "everyone with external id",
        trust({"AWS": "*"}, condition={"StringEquals": {"sts:ExternalId": "x1"}}),
        None,
    ),
    ("everyone in the org", trust("*", condition={"StringEquals": {"aws:PrincipalOrgID": "o-abc"}}), None),
    ("deny everyone", trust("*", effect="Deny"), None),
    ("everyone, non-assume action", trust("*", action="s3:GetObject"), None),
    (
        "github repo sub",
        github(
            {
                "StringEquals": {**AUD},
                "StringLike": {
                    "token.actions.githubusercontent.com:sub": "repo:pushauction/shop:ref:refs/heads/main"
                },
            }
        ),
        None,
    ),
    (
        "cognito pool aud",
        trust(
            {"Federated": COGNITO},
            "sts:AssumeRoleWithWebIdentity",
            {"StringEquals": {f"{COGNITO}:aud": "cn-north-1:pool-id"}},
        ),
        None,
    ),
    ("everyone", trust("*"), 'allows "*"'),
    ("AWS everyone", trust({"AWS": "*"}), 'allows {"AWS": "*"}'),
    ("sts:* everyone", trust({"AWS": ["*"]}, action="sts:*"), '{"AWS": "*"}'),
    ("action * everyone", trust("*", action="*"), '"*"'),
    ("unrelated condition", trust("*", condition={"Bool": {"aws:SecureTransport": "true"}}), '"*"'),
    (
        "NotPrincipal",
        doc(
            {"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws-cn:iam::1:root"}, "Action": "sts:AssumeRole"}
        ),
        "NotPrincipal",
    ),
    ("github without sub", github({"StringEquals": AUD}), "no ':sub' condition"),
    ("github without condition", github(None), "no ':sub' condition"),
    ("github repo:*", github({"StringLike": {"token.actions.githubusercontent.com:sub": "repo:*"}}), ":sub"),
    ("github sub *", github({"StringLike": {"token.actions.githubusercontent.com:sub": "*"}}), ":sub"),
    (
        "github sub negated",
        github({"StringNotLike": {"token.actions.githubusercontent.com:sub": "repo:x/y:*"}}),
        ":sub",
    ),
]


@pytest.mark.parametrize("as_string", [True, False], ids=["json-string", "dict"])
@pytest.mark.parametrize(
    ("document", "expected"), [c[1:] for c in TRUST_CASES], ids=[c[0] for c in TRUST_CASES]
)
def test_acc005_trust_policies(document, expected, as_string):
    policy = json.dumps(document) if as_string else document
    # The role's ARN names the stack's own account: "named account" trusts that account (a foreign one needs
    # sts:ExternalId, tests/rules/test_depth_iam.py).
    own = {"arn": "arn:aws-cn:iam::111122223333:role/deployer"}
    result = check("ACC-005", res(ROLE, "deployer", {"assumeRolePolicy": policy}, outputs=own))
    if expected is None:
        assert messages(result) == []
        return
    [finding] = findings(result)
    assert not finding.unknown
    assert finding.message.startswith("Role 'deployer': assumeRolePolicy statement")
    assert expected in finding.message


@pytest.mark.parametrize(
    "policy",
    [U, trust(U), trust({"AWS": U}), github({"StringLike": {"token.actions.githubusercontent.com:sub": U}})],
    ids=["document", "principal", "aws-principal", "sub-condition"],
)
def test_acc005_unknown_is_unknown(policy):
    [finding] = findings(check("ACC-005", res(ROLE, "deployer", {"assumeRolePolicy": policy})))
    assert finding.unknown
    assert "not known until apply" in finding.message


def test_acc005_malformed_is_a_finding():
    [finding] = findings(check("ACC-005", res(ROLE, "deployer", {"assumeRolePolicy": "[]"})))
    assert not finding.unknown and "not a valid policy document" in finding.message


@pytest.mark.parametrize(
    "name",
    ["pulumi-aws-recorded-iam-instanceprofile-stack.json", "infracost-aws-ts-ebs-preview-existing.json"],
)
def test_acc005_real_service_trusts_pass(name):
    st = fixture_stack(name)
    assert st.of_type(ROLE)
    assert messages(run_on(st, "ACC-005")) == []


def test_every_access_rule_runs_on_an_empty_stack():
    result = evaluate(stack(), [all_rules()[f"ACC-00{i}"] for i in range(1, 6)])
    assert result.findings == []
