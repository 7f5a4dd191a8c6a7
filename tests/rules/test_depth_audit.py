"""Issue 11, audit in depth: DynamoDB data events, ReadOnly + WriteOnly selectors, trails homed outside China
(AUD-002); delete denies whose exemption is a wildcard or a whole account (AUD-003); RDS log exports (AUD-004);
access logs of load balancers, CloudFront and API Gateway (AUD-005); Lambda log groups (AUD-006)."""

from __future__ import annotations

import json

import pytest
from builders import messages, res
from honesty import check

U = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
TRAIL = "aws:cloudtrail/trail:Trail"
TABLE = "aws:dynamodb/table:Table"
BUCKET = "aws:s3/bucketV2:BucketV2"
POLICY = "aws:s3/bucketPolicy:BucketPolicy"
RDS = "aws:rds/instance:Instance"
CLUSTER = "aws:rds/cluster:Cluster"
LB = "aws:lb/loadBalancer:LoadBalancer"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
STAGE = "aws:apigateway/stage:Stage"
STAGE_V2 = "aws:apigatewayv2/stage:Stage"
FUNCTION = "aws:lambda/function:Function"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ACCOUNTS = {"data-category": "account-registration"}
NON_PERSONAL = {"data-category": "non-personal"}
TABLE_ARN = "arn:aws-cn:dynamodb:cn-north-1:111122223333:table/users"


def trail(name="audit", *, selectors=None, advanced=None, **props):
    inputs = {
        "s3BucketName": "audit-logs",
        "enableLogFileValidation": True,
        "kmsKeyId": "arn:aws-cn:kms:cn-north-1:111122223333:key/abc",
        "isMultiRegionTrail": True,
        **props,
    }
    if selectors is not None:
        inputs["eventSelectors"] = selectors
    if advanced is not None:
        inputs["advancedEventSelectors"] = advanced
    return res(TRAIL, name, inputs)


def table(name="users", **inputs):
    return res(TABLE, name, {"name": name, "tags": ACCOUNTS, **inputs})


def selector(kind, *values, read_write="All"):
    return {"readWriteType": read_write, "dataResources": [{"type": kind, "values": list(values)}]}


def on(result, name):
    return [f for f in result.findings if f.name == name]


# -- AUD-002: DynamoDB data events ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "audit_trail",
    [
        trail(selectors=[selector("AWS::DynamoDB::Table", TABLE_ARN)]),
        trail(selectors=[selector("AWS::DynamoDB::Table", "arn:aws-cn:dynamodb")]),
        trail(
            selectors=[
                selector("AWS::DynamoDB::Table", TABLE_ARN, read_write="ReadOnly"),
                selector("AWS::DynamoDB::Table", TABLE_ARN, read_write="WriteOnly"),
            ]
        ),
        trail(
            advanced=[
                {
                    "fieldSelectors": [
                        {"field": "eventCategory", "equals": ["Data"]},
                        {"field": "resources.type", "equals": ["AWS::DynamoDB::Table"]},
                        {"field": "resources.ARN", "equals": [TABLE_ARN]},
                    ]
                }
            ]
        ),
    ],
    ids=["basic-table-arn", "basic-all-tables", "read-only-plus-write-only", "advanced-equals"],
)
def test_aud002_table_covered(audit_trail):
    assert messages(check("AUD-002", table(), audit_trail)) == []


@pytest.mark.parametrize(
    "audit_trail, expected",
    [
        (
            trail(selectors=[selector("AWS::S3::Object", "arn:aws-cn:s3:::uploads/")]),
            "no trail in this stack",
        ),
        (
            trail(selectors=[selector("AWS::DynamoDB::Table", TABLE_ARN, read_write="ReadOnly")]),
            "all reads and writes of its items",
        ),
        (
            trail(selectors=[selector("AWS::DynamoDB::Table", TABLE_ARN.replace("users", "orders"))]),
            "no trail in this stack",
        ),
    ],
    ids=["only-s3", "read-only", "another-table"],
)
def test_aud002_table_not_covered(audit_trail, expected):
    [finding] = on(check("AUD-002", table(), audit_trail), "users")
    assert not finding.unknown and expected in finding.message
    assert (
        "{type: 'AWS::DynamoDB::Table', values: ['arn:aws-cn:dynamodb:cn-north-1:<account>:table/users']}"
        in (finding.message)
    )


def test_aud002_table_without_any_trail():
    [message] = messages(check("AUD-002", table()))
    assert (
        "Table 'users' holds personal data but no CloudTrail trail" in message
        and "DynamoDB data events" in message
    )


def test_aud002_table_name_unknown_is_unknown():
    audit_trail = trail(selectors=[selector("AWS::DynamoDB::Table", TABLE_ARN)])
    unnamed = res(TABLE, "users", {"name": U, "tags": ACCOUNTS})
    [finding] = on(check("AUD-002", unnamed, audit_trail), "users")
    assert finding.unknown and "table name is not known until apply" in finding.message


def test_aud002_non_personal_table_is_exempt():
    assert messages(check("AUD-002", res(TABLE, "catalog", {"name": "catalog", "tags": NON_PERSONAL}))) == []


def test_aud002_fix_for_a_table_outside_the_territory_names_a_territory_region():
    [message] = messages(check("AUD-002", table(region="us-west-2")))
    assert (
        "arn:aws-cn:dynamodb:cn-north-1:" in message
        and "us-west-2" not in message
        and "arn:aws:" not in message
    )


def test_aud002_read_only_plus_write_only_basic_selectors_cover_a_bucket():
    bucket = res(BUCKET, "uploads", {"bucket": "uploads", "tags": {"data-category": "user-uploads"}})
    audit_trail = trail(
        selectors=[
            selector("AWS::S3::Object", "arn:aws-cn:s3:::uploads/", read_write="ReadOnly"),
            selector("AWS::S3::Object", "arn:aws-cn:s3:::uploads/", read_write="WriteOnly"),
        ]
    )
    assert messages(check("AUD-002", bucket, audit_trail)) == []


def test_aud002_advanced_read_only_true_and_false_cover_a_bucket():
    def half(read_only):
        return {
            "fieldSelectors": [
                {"field": "eventCategory", "equals": ["Data"]},
                {"field": "resources.type", "equals": ["AWS::S3::Object"]},
                {"field": "readOnly", "equals": [read_only]},
            ]
        }

    bucket = res(BUCKET, "uploads", {"bucket": "uploads", "tags": {"data-category": "user-uploads"}})
    assert messages(check("AUD-002", bucket, trail(advanced=[half("true"), half("false")]))) == []
    [message] = messages(check("AUD-002", bucket, trail(advanced=[half("true")])))
    assert "all reads and writes of its objects" in message


def test_aud002_multi_region_trail_homed_outside_china():
    audit_trail = trail(region="us-east-1", selectors=[selector("AWS::DynamoDB::Table", "arn:aws:dynamodb")])
    result = check("AUD-002", table(), audit_trail)
    [on_trail] = on(result, "audit")
    assert "is a multi-region trail but its partition is aws" in on_trail.message
    assert "cn-north-1 or cn-northwest-1" in on_trail.message
    [on_table] = on(result, "users")
    assert "no trail in this stack (Trail 'audit')" in on_table.message


# -- AUD-003: a delete deny whose exemption admits everyone ---------------------------------------------


def audit_bucket(exemption):
    deny = {
        "Sid": "DenyDelete",
        "Effect": "Deny",
        "Principal": "*",
        "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion"],
        "Resource": "arn:aws-cn:s3:::audit-logs/*",
    }
    if exemption:
        deny["Condition"] = exemption
    bucket = res(BUCKET, "audit-logs", {"bucket": "audit-logs", "tags": {"data-category": "audit-logs"}})
    policy = res(
        POLICY,
        "audit-logs-policy",
        {"bucket": "audit-logs", "policy": json.dumps({"Version": "2012-10-17", "Statement": [deny]})},
        property_dependencies={"bucket": [bucket.urn]},
    )
    return bucket, policy


def aud003(exemption):
    return [m for m in messages(check("AUD-003", *audit_bucket(exemption))) if "deletion" in m]


@pytest.mark.parametrize(
    "exemption, shown",
    [
        (
            {"StringNotLike": {"aws:PrincipalArn": "arn:aws-cn:iam::111122223333:*"}},
            "a wildcard of principals",
        ),
        ({"ArnNotLike": {"aws:PrincipalArn": "arn:aws-cn:iam::*:role/admin"}}, "a wildcard of principals"),
        ({"StringNotLike": {"aws:PrincipalArn": "*"}}, "everyone"),
        ({"StringNotEquals": {"aws:PrincipalAccount": "111122223333"}}, "every principal of that account"),
    ],
)
def test_aud003_broad_exemption_protects_nothing(exemption, shown):
    [message] = aud003(exemption)
    assert "the Deny of deletion in its bucket policy exempts" in message and shown in message
    assert "arn:aws-cn:iam::<account>:role/<break-glass role>" in message


def test_aud003_named_break_glass_exemption_passes():
    exemption = {"StringNotEquals": {"aws:PrincipalArn": "arn:aws-cn:iam::111122223333:role/break-glass"}}
    assert aud003(exemption) == []


def test_aud003_unknown_policy_is_unknown():
    bucket = res(BUCKET, "audit-logs", {"bucket": "audit-logs", "tags": {"data-category": "audit-logs"}})
    policy = res(
        POLICY, "p", {"bucket": "audit-logs", "policy": U}, property_dependencies={"bucket": [bucket.urn]}
    )
    found = [f for f in check("AUD-003", bucket, policy).findings if "deletion" in f.message]
    assert found and found[0].unknown


# -- AUD-004: database log exports ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "type_, engine, exports, verdict",
    [
        (RDS, "postgres", None, "fail"),
        (RDS, "postgres", ["postgresql", "upgrade"], "pass"),
        (RDS, "mysql", ["error", "slowquery"], "fail"),
        (RDS, "mariadb", ["audit"], "pass"),
        (CLUSTER, "aurora-postgresql", ["postgresql"], "pass"),
        (CLUSTER, "aurora-mysql", [], "fail"),
        (RDS, "postgres", U, "unknown"),
        (RDS, U, None, "unknown"),
    ],
)
def test_aud004_database_log_exports(type_, engine, exports, verdict):
    inputs = {"engine": engine, "tags": ACCOUNTS}
    if exports is not None:
        inputs["enabledCloudwatchLogsExports"] = exports
    result = check("AUD-004", res(type_, "db", inputs))
    if verdict == "pass":
        assert messages(result) == []
        return
    [finding] = result.findings
    assert finding.unknown is (verdict == "unknown")
    if verdict == "fail":
        wanted = "postgresql" if "postgres" in engine else "audit"
        assert f"add '{wanted}' to enabledCloudwatchLogsExports" in finding.message
    else:
        assert "not known until apply" in finding.message


def test_aud004_non_personal_database_is_exempt():
    assert messages(check("AUD-004", res(RDS, "db", {"engine": "postgres", "tags": NON_PERSONAL}))) == []


# -- AUD-005: access logs of what fronts personal data ----------------------------------------------------


@pytest.mark.parametrize(
    "type_, inputs, verdict, words",
    [
        (LB, {"loadBalancerType": "application"}, "fail", "set accessLogs"),
        (
            LB,
            {"loadBalancerType": "network", "accessLogs": {"bucket": "lb-logs", "enabled": False}},
            "fail",
            "set accessLogs",
        ),
        (LB, {"accessLogs": {"bucket": "lb-logs", "enabled": True}}, "pass", ""),
        (LB, {"loadBalancerType": "gateway"}, "pass", ""),
        (LB, {"accessLogs": U}, "unknown", "accessLogs"),
        (DISTRIBUTION, {}, "fail", "set loggingConfig"),
        (DISTRIBUTION, {"loggingConfig": {"bucket": "cdn-logs.s3.cn-north-1.amazonaws.com.cn"}}, "pass", ""),
        (STAGE, {"stageName": "prod"}, "fail", "set accessLogSettings"),
        (
            STAGE,
            {
                "accessLogSettings": {
                    "destinationArn": "arn:aws-cn:logs:cn-north-1:1:log-group:api",
                    "format": "{}",
                }
            },
            "pass",
            "",
        ),
        (STAGE_V2, {"accessLogSettings": U}, "unknown", "accessLogSettings"),
        (STAGE, {"tags": NON_PERSONAL}, "pass", ""),
    ],
)
def test_aud005_access_logs(type_, inputs, verdict, words):
    result = check("AUD-005", res(type_, "front", inputs))
    if verdict == "pass":
        assert messages(result) == []
        return
    [finding] = result.findings
    assert finding.unknown is (verdict == "unknown")
    assert words in finding.message and "'front'" in finding.message


def test_aud005_cloudfront_logging_through_a_delivery_source_passes():
    cdn = res(DISTRIBUTION, "cdn", {})
    source = res(
        "aws:cloudwatch/logDeliverySource:LogDeliverySource",
        "cdn-logs",
        {"logType": "ACCESS_LOGS", "resourceArn": U},
        property_dependencies={"resourceArn": [cdn.urn]},
    )
    assert messages(check("AUD-005", cdn, source)) == []


# -- AUD-006: Lambda log groups -------------------------------------------------------------------------


def function(name="resize", **inputs):
    return res(FUNCTION, "resize", {"name": name, "runtime": "python3.12", **inputs})


def test_aud006_undeclared_log_group_fails():
    [message] = messages(check("AUD-006", function()))
    assert (
        "Function 'resize' writes its logs to /aws/lambda/resize, which this program never declares"
        in message
    )
    assert "kept forever" in message and "retentionInDays=365" in message


@pytest.mark.parametrize(
    "extra",
    [
        lambda fn: [res(LOG_GROUP, "resize-logs", {"name": "/aws/lambda/resize", "retentionInDays": 30})],
        lambda fn: [
            res(
                LOG_GROUP,
                "resize-logs",
                {"name": U, "retentionInDays": 30},
                property_dependencies={"name": [fn.urn]},
            )
        ],
    ],
    ids=["by-name", "named-from-the-function"],
)
def test_aud006_declared_log_group_passes(extra):
    fn = function()
    assert messages(check("AUD-006", fn, *extra(fn))) == []


def test_aud006_custom_log_group_declared_passes_and_missing_is_unknown():
    fn = function(loggingConfig={"logFormat": "JSON", "logGroup": "/shop/functions"})
    group = res(LOG_GROUP, "functions", {"name": "/shop/functions", "retentionInDays": 30})
    assert messages(check("AUD-006", fn, group)) == []
    [finding] = check("AUD-006", fn).findings
    assert finding.unknown and "'/shop/functions' (loggingConfig.logGroup)" in finding.message


def test_aud006_unknown_log_group_is_unknown():
    [finding] = check("AUD-006", function(loggingConfig={"logGroup": U})).findings
    assert finding.unknown and "loggingConfig.logGroup is not known until apply" in finding.message
