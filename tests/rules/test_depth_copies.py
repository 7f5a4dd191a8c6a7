"""RES-003 on the egress channels of issue 11: snapshot copies, SNS subscriptions, EventBridge targets
and API destinations, DynamoDB table exports and DMS endpoints; RES-004 on an EventTarget's `arn`."""

from __future__ import annotations

import pytest
from builders import messages, res, urn
from honesty import check

from policies.model import UNKNOWN_SENTINEL as U

ACCOUNT = "123456789012"
SUB = "aws:sns/topicSubscription:TopicSubscription"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
API_DEST = "aws:cloudwatch/eventApiDestination:EventApiDestination"
EXPORT = "aws:dynamodb/tableExport:TableExport"
DMS = "aws:dms/endpoint:Endpoint"
DMS_S3 = "aws:dms/s3Endpoint:S3Endpoint"
QUEUE = "aws:sqs/queue:Queue"
BUCKET = "aws:s3/bucket:Bucket"
TABLE_ARN = f"arn:aws-cn:dynamodb:cn-north-1:{ACCOUNT}:table/accounts"

PASS = ("pass", None)


def fail(text: str) -> tuple[str, str]:
    return ("fail", text)


def unknown(text: str) -> tuple[str, str]:
    return ("unknown", text)


def one(type_, inputs, name="copy", **kwargs):
    return (res(type_, name, inputs, **kwargs),)


CASES = [
    # RDS snapshot copies
    (
        "snapshot-copy-to-us",
        one("aws:rds/snapshotCopy:SnapshotCopy", {"destinationRegion": "us-west-2"}),
        fail("copies data to us-west-2 (destinationRegion of the snapshot copy)"),
    ),
    (
        "cluster-snapshot-copy-to-us",
        one("aws:rds/clusterSnapshotCopy:ClusterSnapshotCopy", {"destinationRegion": "us-east-1"}),
        fail("us-east-1"),
    ),
    (
        "snapshot-copy-in-territory",
        one("aws:rds/snapshotCopy:SnapshotCopy", {"destinationRegion": "cn-northwest-1"}),
        PASS,
    ),
    (
        "snapshot-copy-same-region",
        one("aws:rds/snapshotCopy:SnapshotCopy", {"targetDbSnapshotIdentifier": "c"}),
        PASS,
    ),
    (
        "snapshot-copy-of-non-personal-data",
        one(
            "aws:rds/snapshotCopy:SnapshotCopy",
            {"destinationRegion": "us-west-2", "tags": {"data-category": "non-personal"}},
        ),
        PASS,
    ),
    (
        "snapshot-copy-unknown",
        one("aws:rds/snapshotCopy:SnapshotCopy", {"destinationRegion": U}),
        unknown("destinationRegion"),
    ),
    # SNS subscriptions
    (
        "sns-http-cleartext",
        one(SUB, {"protocol": "http", "endpoint": "http://hooks.example.com/in"}),
        fail("in cleartext to http://hooks.example.com/in (protocol 'http')"),
    ),
    (
        "sns-https-outside",
        one(SUB, {"protocol": "https", "endpoint": "https://hooks.example.com/in"}),
        fail("an endpoint outside AWS China"),
    ),
    (
        "sns-https-china-service",
        one(
            SUB, {"protocol": "https", "endpoint": "https://abc.execute-api.cn-north-1.amazonaws.com.cn/prod"}
        ),
        PASS,
    ),
    (
        "sns-sqs-abroad",
        one(SUB, {"protocol": "sqs", "endpoint": f"arn:aws:sqs:us-east-1:{ACCOUNT}:q"}),
        fail("us-east-1 (sqs endpoint"),
    ),
    (
        "sns-sqs-in-territory",
        one(SUB, {"protocol": "sqs", "endpoint": f"arn:aws-cn:sqs:cn-north-1:{ACCOUNT}:q"}),
        PASS,
    ),
    (
        "sns-sqs-of-this-stack",
        (
            res(QUEUE, "q", {"name": "q"}),
            res(
                SUB,
                "copy",
                {"protocol": "sqs", "endpoint": U},
                property_dependencies={"endpoint": [urn(QUEUE, "q")]},
            ),
        ),
        PASS,
    ),
    (
        "sns-email",
        one(SUB, {"protocol": "email", "endpoint": "ops@example.com"}),
        fail("the mailbox ops@example.com"),
    ),
    (
        "sns-email-of-non-personal-topic",
        (
            res(
                "aws:sns/topic:Topic", "alarms", {"name": "alarms", "tags": {"data-category": "non-personal"}}
            ),
            res(
                SUB,
                "copy",
                {"protocol": "email", "endpoint": "ops@example.com", "topic": U},
                property_dependencies={"topic": [urn("aws:sns/topic:Topic", "alarms")]},
            ),
        ),
        PASS,
    ),
    (
        "sns-https-endpoint-from-stack-stage",
        (
            res("aws:apigateway/stage:Stage", "prod", {"stageName": "prod"}),
            res(
                SUB,
                "copy",
                {"protocol": "https", "endpoint": U},
                property_dependencies={"endpoint": [urn("aws:apigateway/stage:Stage", "prod")]},
            ),
        ),
        PASS,
    ),
    (
        "sns-https-endpoint-from-stage-abroad",
        (
            res("aws:apigateway/stage:Stage", "prod", {"stageName": "prod", "region": "us-east-1"}),
            res(
                SUB,
                "copy",
                {"protocol": "https", "endpoint": U},
                property_dependencies={"endpoint": [urn("aws:apigateway/stage:Stage", "prod")]},
            ),
        ),
        fail("computed from Stage 'prod', which is in us-east-1"),
    ),
    (
        "sns-endpoint-unknown",
        one(SUB, {"protocol": "https", "endpoint": U}),
        unknown("the https `endpoint` is not known"),
    ),
    ("sns-protocol-unknown", one(SUB, {"protocol": U, "endpoint": "x"}), unknown("its protocol")),
    # EventBridge targets
    (
        "event-target-bus-in-us-east-1",
        one(TARGET, {"rule": "r", "arn": f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/default"}),
        fail("copies data to us-east-1 (event target destination `arn`"),
    ),
    (
        "event-target-in-territory",
        one(TARGET, {"rule": "r", "arn": f"arn:aws-cn:lambda:cn-north-1:{ACCOUNT}:function:f"}),
        PASS,
    ),
    (
        "event-target-from-stack-queue-abroad",
        (
            res(QUEUE, "q", {"name": "q", "region": "us-west-2"}),
            res(TARGET, "copy", {"rule": "r", "arn": U}, property_dependencies={"arn": [urn(QUEUE, "q")]}),
        ),
        fail("computed from Queue 'q', which is in us-west-2"),
    ),
    (
        "event-target-on-a-bus-abroad",
        one(
            TARGET,
            {
                "rule": "r",
                "eventBusName": f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/orders",
                "arn": f"arn:aws-cn:lambda:cn-north-1:{ACCOUNT}:function:f",
            },
        ),
        fail("us-east-1 (event bus `eventBusName`"),
    ),
    (
        "event-rule-on-a-bus-abroad",
        one(
            "aws:cloudwatch/eventRule:EventRule",
            {"eventBusName": f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/orders", "eventPattern": "{}"},
        ),
        fail("event bus `eventBusName`"),
    ),
    (
        "event-rule-on-a-named-bus",
        one("aws:cloudwatch/eventRule:EventRule", {"eventBusName": "orders"}),
        PASS,
    ),
    ("event-target-unknown", one(TARGET, {"rule": "r", "arn": U}), unknown("not known until apply")),
    (
        "pipe-target-abroad",
        one("aws:pipes/pipe:Pipe", {"source": "x", "target": f"arn:aws:sqs:ap-east-1:{ACCOUNT}:q"}),
        fail("ap-east-1 (pipe target"),
    ),
    (
        "pipe-target-in-territory",
        one("aws:pipes/pipe:Pipe", {"target": f"arn:aws-cn:sqs:cn-north-1:{ACCOUNT}:q"}),
        PASS,
    ),
    ("pipe-target-unknown", one("aws:pipes/pipe:Pipe", {"target": U}), unknown("pipe target")),
    # API destinations
    (
        "api-destination-outside",
        one(API_DEST, {"invocationEndpoint": "https://api.partner.example.com/events", "httpMethod": "POST"}),
        fail("api.partner.example.com"),
    ),
    (
        "api-destination-china-gateway",
        one(API_DEST, {"invocationEndpoint": "https://x.execute-api.cn-northwest-1.amazonaws.com.cn/p"}),
        PASS,
    ),
    ("api-destination-unknown", one(API_DEST, {"invocationEndpoint": U}), unknown("invocationEndpoint")),
    # DynamoDB exports
    (
        "export-to-other-account",
        one(
            EXPORT,
            {"tableArn": TABLE_ARN, "s3Bucket": "arn:aws-cn:s3:::dump", "s3BucketOwner": "999999999999"},
        ),
        fail("owned by another account, 999999999999 (s3BucketOwner"),
    ),
    (
        "export-to-stack-bucket",
        (
            res(BUCKET, "dump", {"bucket": "dump"}),
            res(EXPORT, "copy", {"tableArn": TABLE_ARN, "s3Bucket": "dump", "s3BucketOwner": ACCOUNT}),
        ),
        PASS,
    ),
    (
        "export-to-bucket-abroad",
        (
            res(BUCKET, "dump", {"bucket": "dump", "region": "eu-west-1"}),
            res(EXPORT, "copy", {"tableArn": TABLE_ARN, "s3Bucket": "dump"}),
        ),
        fail("eu-west-1"),
    ),
    (
        "export-owner-unknown",
        one(EXPORT, {"tableArn": TABLE_ARN, "s3Bucket": "arn:aws-cn:s3:::dump", "s3BucketOwner": U}),
        unknown("s3BucketOwner"),
    ),
    # DMS
    (
        "dms-target-outside",
        one(DMS, {"endpointType": "target", "engineName": "postgres", "serverName": "db.example.com"}),
        fail("names no AWS region"),
    ),
    (
        "dms-target-rds-abroad",
        one(
            DMS,
            {
                "endpointType": "target",
                "serverName": "db.abc.us-east-1.rds.amazonaws.com",
                "engineName": "mysql",
            },
        ),
        fail("us-east-1"),
    ),
    (
        "dms-target-rds-china",
        one(
            DMS,
            {
                "endpointType": "target",
                "serverName": "db.abc.cn-north-1.rds.amazonaws.com.cn",
                "engineName": "mysql",
            },
        ),
        PASS,
    ),
    (
        "dms-source-not-judged",
        one(DMS, {"endpointType": "source", "serverName": "db.example.com", "engineName": "mysql"}),
        PASS,
    ),
    (
        "dms-target-kinesis-abroad",
        one(
            DMS,
            {
                "endpointType": "target",
                "engineName": "kinesis",
                "kinesisSettings": {"streamArn": f"arn:aws:kinesis:us-west-2:{ACCOUNT}:stream/s"},
            },
        ),
        fail("kinesisSettings.streamArn"),
    ),
    ("dms-type-unknown", one(DMS, {"endpointType": U}), unknown("endpointType")),
    (
        "dms-s3-target-abroad",
        (
            res(BUCKET, "dump", {"bucket": "dump", "region": "us-east-2"}),
            res(DMS_S3, "copy", {"endpointType": "target", "bucketName": "dump"}),
        ),
        fail("us-east-2"),
    ),
]


@pytest.mark.parametrize(("resources", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_res003_egress_channels(resources, expected):
    kind, text = expected
    result = check("RES-003", *resources)
    found = messages(result)
    if kind == "pass":
        assert not result.findings, found
        return
    assert any(text in m for m in found), found
    assert all(f.unknown == (kind == "unknown") for f in result.findings), found
    assert all(f.urn == urn(resources[-1].type, "copy") for f in result.findings)


def test_event_target_arn_is_not_its_own_region():
    """An EventTarget's `arn` abroad does not make the target itself live abroad (no provider region)."""
    from builders import stack

    target = res(
        TARGET,
        "copy",
        {"rule": "r", "arn": f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/default"},
        provider=None,
    )
    built = stack(target, config={})
    assert built.by_urn[target.urn].region is None
    assert built.by_urn[target.urn].partition is None


def test_res004_reads_an_event_target_arn():
    result = check(
        "RES-004",
        res(TARGET, "copy", {"rule": "r", "arn": f"arn:aws:sqs:cn-north-1:{ACCOUNT}:q"}),
    )
    assert any("`arn`" in m and "arn:aws-cn:sqs:cn-north-1" in m for m in messages(result)), messages(result)
