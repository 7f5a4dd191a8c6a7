"""Issue 11, IAM by what a policy grants: AWS managed policies judged from data (ACC-004), metadata reads,
wildcards inside ARNs, lambda:InvokeFunction on "*", conditions that admit everyone (ACC-003), foreign-account
and OIDC trusts (ACC-005), AppSync API keys in front of personal data (ACC-006)."""

from __future__ import annotations

import json

import pytest
from builders import messages, res
from honesty import check

from policies import managed_policies
from policies.iam import data_plane_actions

U = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
ROLE = "aws:iam/role:Role"
POLICY = "aws:iam/policy:Policy"
ATTACH = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
QUEUE = "aws:sqs/queue:Queue"
TABLE = "aws:dynamodb/table:Table"
APPSYNC = "aws:appsync/graphQLApi:GraphQLApi"
DATA_SOURCE = "aws:appsync/dataSource:DataSource"
OWN = "111122223333"
FOREIGN = "444455556666"


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*", sid="Grant", **extra):
    return {"Sid": sid, "Effect": "Allow", "Action": action, "Resource": resource, **extra}


def policy(*statements):
    return res(POLICY, "app", {"policy": doc(*statements)})


# -- AWS managed policies, judged from the data moto ships ------------------------------------------------


def attach(name, path=""):
    return res(ATTACH, "attach", {"policyArn": f"arn:aws-cn:iam::aws:policy/{path}{name}", "role": "app"})


@pytest.mark.parametrize(
    "name, telling",
    [
        ("ReadOnlyAccess", "reads personal-data stores"),
        ("AmazonS3ReadOnlyAccess", "s3:GetObject"),
        ("PowerUserAccess", "every action except iam:*"),
        ("AmazonCognitoPowerUser", "cognito-idp:AdminGetUser"),
        ("AWSLambda_FullAccess", "lambda:InvokeFunction"),
        ("AmazonEventBridgeFullAccess", "runs code or routes data"),
        ("AmazonDynamoDBReadOnlyAccess", "dynamodb:Query"),
    ],
)
def test_acc004_managed_policy_judged_by_what_it_grants(name, telling):
    [message] = messages(check("ACC-004", attach(name)))
    assert f"attaches the AWS managed policy {name}, which on every resource" in message
    assert telling in message
    assert "moto" in message  # names the data the verdict comes from
    assert "arn:aws:" not in message and "arn:aws-cn:" in message


@pytest.mark.parametrize(
    "name, path",
    [
        ("AWSLambdaBasicExecutionRole", "service-role/"),  # appends its own log events only
        ("AmazonECSTaskExecutionRolePolicy", "service-role/"),
        ("AmazonEKSWorkerNodePolicy", ""),
    ],
)
def test_acc004_narrow_managed_policies_pass(name, path):
    assert messages(check("ACC-004", attach(name, path))) == []


def test_acc004_managed_policy_missing_from_the_data_is_unknown():
    result = check("ACC-004", attach("NoSuchPolicyEver"))
    [finding] = result.findings
    assert finding.unknown and "NoSuchPolicyEver, which is not in" in finding.message


def test_acc004_managed_policy_in_role_managed_policy_arns():
    role = res(
        ROLE,
        "app",
        {"assumeRolePolicy": doc(), "managedPolicyArns": ["arn:aws-cn:iam::aws:policy/ReadOnlyAccess"]},
    )
    [message] = messages(check("ACC-004", role))
    assert "Role 'app' attaches the AWS managed policy ReadOnlyAccess" in message


def test_managed_policy_data_is_installed_and_holds_the_named_policies():
    assert managed_policies.available()
    for name in ("ReadOnlyAccess", "PowerUserAccess", "AWSLambda_FullAccess", "AmazonEventBridgeFullAccess"):
        assert managed_policies.judge(name).broad, name
    assert not managed_policies.judge("AWSLambdaBasicExecutionRole").broad


# -- metadata reads are not data access -------------------------------------------------------------------


@pytest.mark.parametrize(
    "action", ["s3:GetBucketLocation", "dynamodb:DescribeTable", "sqs:GetQueueAttributes"]
)
def test_metadata_reads_are_not_data_plane(action):
    assert data_plane_actions([action]) == []
    assert messages(check("ACC-004", policy(allow(action)))) == []


def test_data_reads_on_every_resource_still_fail():
    [message] = messages(check("ACC-004", policy(allow(["s3:GetBucketLocation", "s3:GetObject"]))))
    assert "s3:GetObject" in message and "s3:GetBucketLocation" not in message


# -- wildcards inside ARNs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement, expected",
    [
        (
            allow("dynamodb:GetItem", "arn:aws-cn:dynamodb:*:*:table/*"),
            'every resource ("arn:aws-cn:dynamodb:*:*:table/*")',
        ),
        (allow("iam:PassRole", f"arn:aws-cn:iam::{OWN}:role/*"), "iam:PassRole on every resource"),
        (allow("logs:GetLogEvents", "arn:aws-cn:logs:cn-north-1:*:log-group:*"), "logs:GetLogEvents"),
    ],
)
def test_acc004_wildcards_inside_arns(statement, expected):
    [message] = messages(check("ACC-004", policy(statement)))
    assert expected in message and "Policy 'app'" in message


@pytest.mark.parametrize(
    "statement",
    [
        allow("dynamodb:GetItem", f"arn:aws-cn:dynamodb:cn-north-1:{OWN}:table/users"),
        allow("iam:PassRole", f"arn:aws-cn:iam::{OWN}:role/app-task"),
        allow("s3:GetObject", "arn:aws-cn:s3:::uploads/*"),
    ],
)
def test_acc004_named_arns_pass(statement):
    assert messages(check("ACC-004", policy(statement))) == []


# -- lambda:InvokeFunction on "*" -----------------------------------------------------------------------


def test_acc004_invoke_every_function_fails():
    [message] = messages(check("ACC-004", policy(allow("lambda:InvokeFunction"))))
    assert "lambda:InvokeFunction on every resource" in message and "ARNs of the functions" in message


def test_acc004_invoke_one_function_passes():
    scoped = allow("lambda:InvokeFunction", f"arn:aws-cn:lambda:cn-north-1:{OWN}:function:resize")
    assert messages(check("ACC-004", policy(scoped))) == []


def test_acc004_invoke_on_unknown_resource_is_unknown():
    unknown_doc = json.dumps({"Version": "2012-10-17", "Statement": [allow("lambda:InvokeFunction", U)]})
    [finding] = check("ACC-004", res(POLICY, "app", {"policy": unknown_doc})).findings
    assert finding.unknown and "not known until apply" in finding.message


# -- conditions that look restrictive but admit everyone (ACC-003) ----------------------------------------


def queue_policy(condition):
    st = {
        "Sid": "Public",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "sqs:ReceiveMessage",
        "Resource": "*",
    }
    st["Condition"] = condition
    return res(QUEUE, "orders", {"policy": doc(st)})


@pytest.mark.parametrize(
    "condition",
    [
        {"IpAddress": {"aws:SourceIp": ["0.0.0.0/1", "128.0.0.0/1"]}},
        {"ArnLike": {"aws:PrincipalArn": "arn:aws-cn:iam::*:role/admin"}},
        {"StringLike": {"aws:PrincipalArn": "arn:aws-cn:iam::??????????*:role/admin"}},
    ],
    ids=["two-halves-of-the-internet", "principal-arn-any-account", "principal-arn-wildcard-digits"],
)
def test_acc003_conditions_that_admit_everyone(condition):
    [message] = messages(check("ACC-003", queue_policy(condition)))
    assert "Queue 'orders': policy statement 'Public' allows \"*\"" in message
    assert "without a condition that limits who" in message


@pytest.mark.parametrize(
    "condition",
    [
        {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"]}},
        {"ArnEquals": {"aws:PrincipalArn": f"arn:aws-cn:iam::{OWN}:role/admin"}},
        # StringEquals has no wildcards: "*" is a literal that no ARN carries.
        {"StringEquals": {"aws:PrincipalArn": "arn:aws-cn:iam::*:role/admin"}},
    ],
)
def test_acc003_real_restrictions_pass(condition):
    assert messages(check("ACC-003", queue_policy(condition))) == []


def test_acc003_unknown_restriction_is_unknown():
    [finding] = check("ACC-003", queue_policy({"IpAddress": {"aws:SourceIp": U}})).findings
    assert finding.unknown


# -- trust policies (ACC-005) ---------------------------------------------------------------------------


def role(trust_statement, own_arn=True):
    outputs = {"arn": f"arn:aws-cn:iam::{OWN}:role/deployer"} if own_arn else {}
    return res(ROLE, "deployer", {"assumeRolePolicy": doc(trust_statement)}, outputs=outputs)


def trust(principal, condition=None, action="sts:AssumeRole"):
    st = {"Sid": "Trust", "Effect": "Allow", "Principal": principal, "Action": action}
    if condition:
        st["Condition"] = condition
    return st


def test_acc005_foreign_account_without_external_id_fails():
    [message] = messages(check("ACC-005", role(trust({"AWS": f"arn:aws-cn:iam::{FOREIGN}:root"}))))
    assert f"lets account {FOREIGN}, which is not this stack's account ({OWN})" in message
    assert "sts:ExternalId" in message


@pytest.mark.parametrize(
    "principal, condition",
    [
        ({"AWS": f"arn:aws-cn:iam::{FOREIGN}:root"}, {"StringEquals": {"sts:ExternalId": "shop-7f3a"}}),
        ({"AWS": f"arn:aws-cn:iam::{OWN}:role/ci"}, None),
        ({"Service": "lambda.amazonaws.com"}, None),
    ],
)
def test_acc005_trusts_that_pass(principal, condition):
    assert messages(check("ACC-005", role(trust(principal, condition)))) == []


def test_acc005_own_account_from_allowed_account_ids():
    result = check(
        "ACC-005",
        role(trust({"AWS": FOREIGN}), own_arn=False),
        config={"aws:allowedAccountIds": json.dumps([FOREIGN])},
    )
    assert messages(result) == []


def test_acc005_account_unknown_is_unknown():
    [finding] = check("ACC-005", role(trust({"AWS": FOREIGN}), own_arn=False)).findings
    assert finding.unknown and "aws:allowedAccountIds" in finding.message


def test_acc005_external_id_unknown_is_unknown():
    statement = trust({"AWS": FOREIGN}, {"StringEquals": {"sts:ExternalId": U}})
    [finding] = check("ACC-005", role(statement)).findings
    assert finding.unknown and "sts:ExternalId not known until apply" in finding.message


def test_acc005_oidc_trust_with_only_a_chosen_audience_fails():
    github = f"arn:aws-cn:iam::{OWN}:oidc-provider/token.actions.githubusercontent.com"
    statement = trust(
        {"Federated": github},
        {"StringEquals": {"token.actions.githubusercontent.com:aud": "shop-deploy"}},
        action="sts:AssumeRoleWithWebIdentity",
    )
    [message] = messages(check("ACC-005", role(statement)))
    assert "no ':sub' condition" in message


# -- AppSync API keys (ACC-006) ---------------------------------------------------------------------------


def api(auth="API_KEY", extra=None, tags=None):
    inputs = {"authenticationType": auth, "name": "shop", "tags": tags or {}}
    if extra is not None:
        inputs["additionalAuthenticationProviders"] = extra
    return res(APPSYNC, "shop", inputs, outputs={"id": "api123"})


def test_acc006_api_key_in_front_of_personal_data_fails():
    table = res(TABLE, "users", {"name": "users", "tags": {"data-category": "account-registration"}})
    source = res(
        DATA_SOURCE,
        "users",
        {"apiId": "api123", "type": "AMAZON_DYNAMODB", "dynamodbConfig": {"tableName": "users"}},
    )
    [message] = messages(check("ACC-006", api(), table, source))
    assert (
        "GraphQLApi 'shop' fronts personal data" in message and "authenticationType is 'API_KEY'" in message
    )


def test_acc006_additional_api_key_fails():
    [message] = messages(check("ACC-006", api("AWS_IAM", [{"authenticationType": "API_KEY"}])))
    assert "additionalAuthenticationProviders[0].authenticationType is 'API_KEY'" in message


@pytest.mark.parametrize(
    "resources",
    [
        (api("AMAZON_COGNITO_USER_POOLS"),),
        (
            api(),
            res(TABLE, "catalog", {"name": "catalog", "tags": {"data-category": "non-personal"}}),
            res(
                DATA_SOURCE,
                "catalog",
                {"apiId": "api123", "type": "AMAZON_DYNAMODB", "dynamodbConfig": {"tableName": "catalog"}},
            ),
        ),
        (api(tags={"data-category": "non-personal"}),),
    ],
    ids=["cognito", "api-key-over-non-personal-table", "api-classified-non-personal"],
)
def test_acc006_passes(resources):
    assert messages(check("ACC-006", *resources)) == []


def test_acc006_unknown_authentication_is_unknown():
    [finding] = check("ACC-006", api(U)).findings
    assert finding.unknown and "authenticationType is not known until apply" in finding.message


# -- a Lambda permission for a service with no source (ACC-003) -------------------------------------------

PERMISSION = "aws:lambda/permission:Permission"


def permission(**inputs):
    return res(
        PERMISSION,
        "invoke",
        {
            "action": "lambda:InvokeFunction",
            "function": "resize",
            "principal": "apigateway.amazonaws.com",
            **inputs,
        },
    )


def test_acc003_service_permission_without_source_fails():
    [message] = messages(check("ACC-003", permission()))
    assert (
        "Permission 'invoke' lets apigateway.amazonaws.com acting for any resource of any account" in message
    )
    assert "set sourceArn" in message and "arn:aws-cn:execute-api:" in message


def test_acc003_service_permission_with_source_passes():
    scoped = permission(sourceArn=f"arn:aws-cn:execute-api:cn-north-1:{OWN}:abc123/*/*")
    assert messages(check("ACC-003", scoped)) == []


def test_acc003_service_permission_source_unknown_is_unknown():
    [finding] = check("ACC-003", permission(sourceArn=U)).findings
    assert finding.unknown and "not known until apply" in finding.message


def test_acc004_exclusive_attachments_are_judged_per_policy():
    exclusive = res(
        "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive",
        "app-policies",
        {
            "roleName": "app",
            "policyArns": [
                "arn:aws-cn:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
                "arn:aws-cn:iam::aws:policy/PowerUserAccess",
            ],
        },
    )
    [message] = messages(check("ACC-004", exclusive))
    assert (
        "RolePolicyAttachmentsExclusive 'app-policies' attaches the AWS managed policy PowerUserAccess"
        in message
    )
    [finding] = check("ACC-004", res(exclusive.type, "later", {"roleName": "app", "policyArns": U})).findings
    assert finding.unknown and "policyArns are not known until apply" in finding.message


@pytest.mark.parametrize("name", ["AmazonSNSReadOnlyAccess", "AmazonSQSReadOnlyAccess"])
def test_read_only_policies_of_metadata_only_pass(name):
    # They list and describe topics and queues (metadata); neither receives a message.
    assert messages(check("ACC-004", attach(name))) == []
