"""RES-001..RES-004: data, copies, providers and ARNs stay in mainland China (aws-cn)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from builders import messages, res, urn
from honesty import check, evaluate

from policies.catalog import default_catalog
from policies.engine import Result
from policies.model import UNKNOWN_SENTINEL as U
from policies.registry import all_rules
from policies.stack import Stack

BUCKET_V2 = "aws:s3/bucketV2:BucketV2"
BUCKET = "aws:s3/bucket:Bucket"  # v7 bucket, or the v6 legacy inline bucket
REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
TABLE = "aws:dynamodb/table:Table"
ACCOUNT = "123456789012"


def only(result: Result) -> str:
    assert len(result.findings) == 1, messages(result)
    return result.findings[0].message


def assert_unknown(result: Result) -> None:
    assert result.findings, "an unknown value must never read as compliant"
    assert all(f.unknown for f in result.findings), messages(result)


# -- RES-001 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "type_, inputs",
    [
        (BUCKET_V2, {"bucket": "uploads"}),
        (BUCKET, {"bucket": "uploads"}),
        (TABLE, {"name": "accounts", "hashKey": "id"}),
        ("aws:rds/instance:Instance", {"engine": "postgres"}),
        ("aws:kms/key:Key", {}),
    ],
)
def test_res001_store_in_china_passes(type_, inputs):
    assert not check("RES-001", res(type_, "store", inputs)).findings


@pytest.mark.parametrize("type_", [BUCKET_V2, BUCKET, TABLE, "aws:ebs/snapshotCopy:SnapshotCopy"])
def test_res001_store_through_foreign_provider_fails(type_):
    message = only(check("RES-001", res(type_, "store", {}), provider_region="us-west-2"))
    assert "us-west-2" in message and "provider 'cn'" in message
    assert "cn-north-1 or cn-northwest-1" in message


def test_res001_own_region_input_wins_over_provider():
    message = only(check("RES-001", res(BUCKET, "uploads", {"region": "eu-central-1"})))
    assert "eu-central-1" in message and "its own `region` input" in message


@pytest.mark.parametrize(
    "config, expected",
    [
        ({"aws:region": "us-west-2"}, "the stack config `aws:region`"),
        ({"aws:region": "cn-northwest-1"}, None),
    ],
)
def test_res001_region_from_stack_config(config, expected):
    result = check("RES-001", res(BUCKET_V2, "uploads", {}, provider=None), config=config)
    if expected is None:
        assert not result.findings
    else:
        message = only(result)
        assert expected in message and "us-west-2" in message


def test_res001_no_region_anywhere_fails_and_says_how_to_pin_it():
    message = only(check("RES-001", res(BUCKET_V2, "uploads", {}, provider=None)))
    assert "has no region" in message and "aws:region" in message


@pytest.mark.parametrize(
    "resource, kwargs",
    [
        (res(BUCKET, "uploads", {"region": U}), {}),
        (res(BUCKET_V2, "uploads", {}, provider=None), {"config": {"aws:region": "[secret]"}}),
    ],
)
def test_res001_unknown_region_is_unknown(resource, kwargs):
    assert_unknown(check("RES-001", resource, **kwargs))


@pytest.mark.parametrize(
    "tags, flagged",
    [
        (None, True),  # untagged: fail safe, personal data collected in mainland China
        ({"data-category": "user-uploads"}, True),
        ({"data-category": "not-a-category"}, True),  # unknown value: fail safe too
        ({"data-category": "non-personal"}, False),  # exempt: not bound to the territory
    ],
)
def test_res001_category_exemption(tags, flagged):
    inputs: dict[str, Any] = {"bucket": "assets"}
    if tags is not None:
        inputs["tags"] = tags
    result = check("RES-001", res(BUCKET_V2, "assets", inputs), provider_region="us-east-1")
    assert bool(result.findings) is flagged, messages(result)
    if flagged:
        assert only(result).startswith("BucketV2 'assets' is in us-east-1 (from provider 'cn')")


# -- RES-002 -----------------------------------------------------------------------------------------


def provider(name: str, inputs: dict[str, Any]) -> Any:
    return res("pulumi:providers:aws", name, inputs, provider=None)


def test_res002_china_provider_passes():
    assert not check("RES-002").findings  # the builders' provider is pinned to cn-north-1


def test_res002_foreign_provider_fails():
    message = only(check("RES-002", provider_region="ap-southeast-1"))
    assert "AWS provider 'cn' targets ap-southeast-1" in message and "set its `region`" in message


@pytest.mark.parametrize(
    "name, config, expected",
    [
        # pulumi-aws takes an explicit provider's region from AWS_REGION, never from stack config.
        ("bare", {}, "has no `region` input: pulumi-aws takes an explicit provider's region"),
        ("bare", {"aws:region": "us-west-2"}, "has no `region` input: pulumi-aws takes an explicit"),
        ("bare", {"aws:region": "cn-northwest-1"}, "has no `region` input: pulumi-aws takes an explicit"),
        # A default provider takes `aws:region` from the stack config.
        ("default_6_0_0", {}, "has no region and the stack config sets no `aws:region`"),
        ("default_6_0_0", {"aws:region": "us-west-2"}, "us-west-2 (from the stack config `aws:region`)"),
        ("default_6_0_0", {"aws:region": "cn-northwest-1"}, None),
    ],
)
def test_res002_provider_without_region_input(name, config, expected):
    result = check("RES-002", provider(name, {}), config=config)
    if expected is None:
        assert not result.findings
    else:
        assert expected in only(result)
    if name == "bare":
        assert result.findings[0].unknown, "an explicit provider without a region cannot be proven"


def test_resources_of_an_explicit_provider_without_region_are_unknown_not_the_stack_region():
    bare = provider("bare", {})
    bucket = res(BUCKET_V2, "uploads", {"bucket": "uploads"}, provider=f"{bare.urn}::id")
    result = check("RES-001", bare, bucket, config={"aws:region": "cn-north-1"})
    finding = only(result)
    assert result.findings[0].unknown
    assert "explicit provider 'bare', which has no `region` input" in finding


def test_res002_unknown_region_is_unknown():
    assert_unknown(check("RES-002", provider("dynamic", {"region": U})))


# -- RES-003: S3 replication -------------------------------------------------------------------------


def side_replication(bucket_name: str, dest: str, *, deps: list[str] | None = None) -> Any:
    return res(
        REPLICATION,
        f"{bucket_name}-replication",
        {
            "bucket": bucket_name,
            "role": f"arn:aws-cn:iam::{ACCOUNT}:role/replication",
            "rules": [{"id": "dr", "status": "Enabled", "destination": {"bucket": dest}}],
        },
        property_dependencies={"rules": deps or []},
    )


def legacy_inline_bucket(name: str, dest: str) -> Any:
    """pulumi-aws v6 `aws:s3/bucket:Bucket` with the singular inline replication block."""
    return res(
        BUCKET,
        name,
        {
            "bucket": name,
            "replicationConfiguration": {
                "role": f"arn:aws-cn:iam::{ACCOUNT}:role/replication",
                "rules": [{"id": "dr", "status": "Enabled", "destination": {"bucket": dest}}],
            },
        },
    )


def v6_bucketv2_inline(name: str, dest: str) -> Any:
    """pulumi-aws v6 `BucketV2` with the deprecated plural inline blocks (as its outputs echo them)."""
    return res(
        BUCKET_V2,
        name,
        {"bucket": name},
        outputs={
            "replicationConfigurations": [
                {
                    "role": "r",
                    "rules": [{"id": "dr", "status": "Enabled", "destinations": [{"bucket": dest}]}],
                }
            ]
        },
    )


def shapes(dest: str) -> list[tuple[str, list[Any]]]:
    return [
        (
            "v6 BucketV2 + BucketReplicationConfig",
            [res(BUCKET_V2, "src", {"bucket": "src"}), side_replication("src", dest)],
        ),
        (
            "v7 Bucket + BucketReplicationConfig",
            [res(BUCKET, "src", {"bucket": "src"}), side_replication("src", dest)],
        ),
        ("v6 legacy inline Bucket", [legacy_inline_bucket("src", dest)]),
        ("v6 BucketV2 inline", [v6_bucketv2_inline("src", dest)]),
    ]


def dest_bucket(region: str, type_: str = BUCKET) -> Any:
    return res(type_, "dr", {"bucket": "dr-copy", "region": region})


@pytest.mark.parametrize(
    "shape, resources", shapes("arn:aws-cn:s3:::dr-copy"), ids=lambda v: v if isinstance(v, str) else ""
)
def test_res003_s3_replication_to_china_bucket_in_stack_passes(shape, resources):
    assert not check("RES-003", *resources, dest_bucket("cn-northwest-1")).findings


@pytest.mark.parametrize(
    "shape, resources", shapes("arn:aws-cn:s3:::dr-copy"), ids=lambda v: v if isinstance(v, str) else ""
)
def test_res003_s3_replication_to_foreign_bucket_in_stack_fails(shape, resources):
    result = check("RES-003", *resources, dest_bucket("us-west-2"))
    message = only(result)
    assert "us-west-2" in message and "Bucket 'dr'" in message and "replication rule 'dr'" in message
    if any(r.type == REPLICATION for r in resources):
        # The finding points at the resource to fix: the replication configuration.
        assert result.findings[0].urn == urn(REPLICATION, "src-replication")


@pytest.mark.parametrize(
    "shape, resources", shapes("arn:aws:s3:::somewhere-else"), ids=lambda v: v if isinstance(v, str) else ""
)
def test_res003_s3_replication_to_global_partition_fails(shape, resources):
    message = only(check("RES-003", *resources))
    assert "arn:aws:s3:::somewhere-else" in message and "`aws` partition" in message


@pytest.mark.parametrize(
    "shape, resources",
    shapes("arn:aws-cn:s3:::other-stack-bucket"),
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_res003_s3_replication_to_china_partition_outside_stack_passes(shape, resources):
    assert not check("RES-003", *resources).findings


@pytest.mark.parametrize("shape, resources", shapes(U), ids=lambda v: v if isinstance(v, str) else "")
def test_res003_s3_replication_unknown_destination_is_unknown(shape, resources):
    assert_unknown(check("RES-003", *resources))


@pytest.mark.parametrize("region, flagged", [("cn-northwest-1", False), ("us-west-2", True)])
def test_res003_unknown_destination_judged_by_its_dependencies(region, flagged):
    """First preview: `destination.bucket = dr.arn` is unknown, but it comes from bucket 'dr'."""
    dr = dest_bucket(region)
    resources = [res(BUCKET, "src", {"bucket": "src"}), side_replication("src", U, deps=[dr.urn]), dr]
    result = check("RES-003", *resources)
    if flagged:
        message = only(result)
        assert "computed from Bucket 'dr', which is in us-west-2" in message
        assert not result.findings[0].unknown
    else:
        assert not result.findings, messages(result)


def test_res003_replication_of_bucket_outside_stack_is_checked():
    orphan = side_replication("bucket-of-another-stack", "arn:aws:s3:::global-copy")
    assert "arn:aws:s3:::global-copy" in only(check("RES-003", orphan))


def test_res003_non_personal_bucket_may_replicate_anywhere():
    bucket = res(BUCKET, "src", {"bucket": "src", "tags": {"data-category": "non-personal"}})
    assert not check("RES-003", bucket, side_replication("src", "arn:aws:s3:::cdn-origin")).findings


# -- RES-003: other copy destinations ----------------------------------------------------------------

VAULT_CN = f"arn:aws-cn:backup:cn-northwest-1:{ACCOUNT}:backup-vault:dr"
VAULT_US = f"arn:aws:backup:us-east-1:{ACCOUNT}:backup-vault:dr"


def table(replicas: Any, type_: str = TABLE, **extra: Any) -> Any:
    return res(type_, "accounts", {"name": "accounts", "replicas": replicas, **extra})


def backup_plan(target: Any) -> Any:
    return res(
        "aws:backup/plan:Plan",
        "daily",
        {
            "rules": [
                {
                    "ruleName": "daily",
                    "targetVaultName": "main",
                    "copyActions": [{"destinationVaultArn": target}],
                }
            ]
        },
    )


def secret(replicas: Any) -> Any:
    return res("aws:secretsmanager/secret:Secret", "db-password", {"replicas": replicas})


def backups_replication(source: str, region: str = "cn-northwest-1") -> Any:
    return res(
        "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication",
        "db-backups",
        {"sourceDbInstanceArn": source, "region": region},
    )


def replica_key(primary: Any) -> Any:
    return res("aws:kms/replicaKey:ReplicaKey", "key", {"primaryKeyArn": primary})


def efs(destination: Any) -> Any:
    return res(
        "aws:efs/replicationConfiguration:ReplicationConfiguration",
        "files",
        {"sourceFileSystemId": "fs-1", "destination": destination},
    )


def subscription(destination: Any) -> Any:
    return res(
        "aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter",
        "ship",
        {"logGroup": "/app", "filterPattern": "", "destinationArn": destination},
    )


def firehose(**blocks: Any) -> Any:
    return res(
        "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream", "events", {"name": "events", **blocks}
    )


CN_DB = f"arn:aws-cn:rds:cn-north-1:{ACCOUNT}:db:main"
CN_KEY = f"arn:aws-cn:kms:cn-north-1:{ACCOUNT}:key/mrk-1"
CN_STREAM = f"arn:aws-cn:kinesis:cn-north-1:{ACCOUNT}:stream/logs"
CN_JDBC = "jdbc:redshift://wh.abc123.cn-north-1.redshift.amazonaws.com.cn:5439/dev"
CN_DOMAIN = f"arn:aws-cn:es:cn-northwest-1:{ACCOUNT}:domain/search"

PASSING = [
    ("dynamodb replica in china", [table([{"regionName": "cn-northwest-1"}])]),
    (
        "global table in china",
        [table([{"regionName": "cn-north-1"}], "aws:dynamodb/globalTable:GlobalTable")],
    ),
    ("backup copy to china vault", [backup_plan(VAULT_CN)]),
    ("secret replica in china", [secret([{"region": "cn-northwest-1"}])]),
    ("rds backups replicated in china", [backups_replication(CN_DB)]),
    ("kms replica of china key", [replica_key(CN_KEY)]),
    ("efs replica in china (object)", [efs({"region": "cn-northwest-1"})]),
    ("efs replica in china (list of one)", [efs([{"availabilityZoneName": "cn-northwest-1a"}])]),
    ("efs replica in source region", [efs({"fileSystemId": "fs-2"})]),
    ("log subscription to china stream", [subscription(CN_STREAM)]),
    ("firehose to china bucket", [firehose(extendedS3Configuration={"bucketArn": "arn:aws-cn:s3:::lake"})]),
    (
        "firehose to in-stack china bucket",
        [
            firehose(extendedS3Configuration={"bucketArn": "arn:aws-cn:s3:::dr-copy"}),
            dest_bucket("cn-north-1"),
        ],
    ),
    ("firehose to china redshift", [firehose(redshiftConfiguration={"clusterJdbcurl": CN_JDBC})]),
    ("firehose to china elasticsearch", [firehose(elasticsearchConfiguration={"domainArn": CN_DOMAIN})]),
    ("firehose to china opensearch", [firehose(opensearchConfiguration=[{"domainArn": CN_DOMAIN}])]),
    (
        "firehose to china api gateway",
        [
            firehose(
                httpEndpointConfiguration={"url": "https://x1.execute-api.cn-north-1.amazonaws.com.cn/ingest"}
            )
        ],
    ),
    (
        "non-personal table replicated abroad",
        [table([{"regionName": "us-east-1"}], tags={"data-category": "non-personal"})],
    ),
]

FAILING = [
    (
        "dynamodb replica abroad",
        [table([{"regionName": "cn-north-1"}, {"regionName": "us-east-1"}])],
        "us-east-1",
    ),
    (
        "global table abroad",
        [table([{"regionName": "eu-west-1"}], "aws:dynamodb/globalTable:GlobalTable")],
        "eu-west-1",
    ),
    ("backup copy abroad", [backup_plan(VAULT_US)], "us-east-1"),
    ("secret replica abroad", [secret([{"region": "ap-northeast-1"}])], "ap-northeast-1"),
    ("rds backups replicated abroad", [backups_replication(CN_DB, region="us-west-2")], "us-west-2"),
    ("rds backups from abroad", [backups_replication(f"arn:aws:rds:us-east-1:{ACCOUNT}:db:x")], "us-east-1"),
    ("kms replica of foreign key", [replica_key(f"arn:aws:kms:us-east-1:{ACCOUNT}:key/mrk-1")], "us-east-1"),
    ("efs replica abroad", [efs({"region": "us-west-2"})], "us-west-2"),
    ("efs replica in foreign zone", [efs([{"availabilityZoneName": "us-east-1b"}])], "us-east-1"),
    (
        "log subscription abroad",
        [subscription(f"arn:aws:firehose:us-east-1:{ACCOUNT}:deliverystream/x")],
        "us-east-1",
    ),
    (
        "firehose to global bucket",
        [firehose(extendedS3Configuration={"bucketArn": "arn:aws:s3:::lake"})],
        "`aws` partition",
    ),
    (
        "firehose backup to in-stack foreign bucket",
        [
            firehose(
                extendedS3Configuration={
                    "bucketArn": "arn:aws-cn:s3:::lake",
                    "s3BackupConfiguration": {"bucketArn": "arn:aws-cn:s3:::dr-copy"},
                }
            ),
            dest_bucket("us-west-2"),
        ],
        "s3BackupConfiguration",
    ),
    (
        "firehose to foreign redshift",
        [
            firehose(
                redshiftConfiguration={
                    "clusterJdbcurl": "jdbc:redshift://wh.abc.us-west-2.redshift.amazonaws.com:5439/dev"
                }
            )
        ],
        "us-west-2",
    ),
    (
        "firehose to foreign opensearch",
        [firehose(opensearchConfiguration={"domainArn": f"arn:aws:es:eu-west-1:{ACCOUNT}:domain/x"})],
        "eu-west-1",
    ),
    (
        "firehose to arbitrary http endpoint",
        [firehose(httpEndpointConfiguration={"url": "https://intake.example.com/v1"})],
        "https://intake.example.com/v1",
    ),
    (
        "firehose to splunk",
        [firehose(splunkConfiguration={"hecEndpoint": "https://splunk.example.com:8088"})],
        "splunk",
    ),
]

UNKNOWN_CASES = [
    ("dynamodb replica region", [table([{"regionName": U}])]),
    ("dynamodb replicas", [table(U)]),
    ("backup copy vault", [backup_plan(U)]),
    ("secret replica region", [secret([{"region": U}])]),
    ("rds backups region", [backups_replication(CN_DB, region=U)]),
    ("kms primary key", [replica_key(U)]),
    ("efs destination", [efs(U)]),
    ("efs destination region", [efs({"region": U})]),
    ("log subscription destination", [subscription(U)]),
    ("firehose bucket", [firehose(extendedS3Configuration={"bucketArn": U})]),
    ("firehose http url", [firehose(httpEndpointConfiguration={"url": U})]),
]


@pytest.mark.parametrize("case, resources", PASSING, ids=[c for c, _ in PASSING])
def test_res003_copy_in_territory_passes(case, resources):
    result = check("RES-003", *resources)
    assert not result.findings, messages(result)


@pytest.mark.parametrize("case, resources, expected", FAILING, ids=[c for c, _, _ in FAILING])
def test_res003_copy_outside_territory_fails(case, resources, expected):
    message = only(check("RES-003", *resources))
    assert expected in message
    assert "mainland China" in message


@pytest.mark.parametrize("case, resources", UNKNOWN_CASES, ids=[c for c, _ in UNKNOWN_CASES])
def test_res003_unknown_copy_destination_is_unknown(case, resources):
    assert_unknown(check("RES-003", *resources))


def test_res003_leaves_snapshot_copy_to_res001():
    """An EBS snapshot copy's own region is RES-001's finding; RES-003 does not report it twice."""
    copy = res(
        "aws:ebs/snapshotCopy:SnapshotCopy", "copy", {"sourceSnapshotId": "snap-1", "region": "us-west-2"}
    )
    assert not check("RES-003", copy).findings
    assert "'copy' is in us-west-2 (from its own `region` input)" in only(check("RES-001", copy))


# -- RES-004 -----------------------------------------------------------------------------------------


def policy_document(*resources: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": list(resources)}],
        }
    )


def test_res004_managed_policy_in_global_partition_fails():
    attachment = res(
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "read-only",
        {"role": "app", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"},
    )
    message = only(check("RES-004", attachment))
    assert "`policyArn`" in message and "arn:aws:iam::aws:policy/ReadOnlyAccess" in message
    assert "arn:aws-cn:iam::aws:policy/ReadOnlyAccess" in message and "get_partition" in message


def test_res004_reports_each_property_once_with_the_location_inside_the_policy():
    doc = policy_document("arn:aws:s3:::uploads/*", "arn:aws:s3:::uploads", "arn:aws-cn:s3:::fine/*")
    policy = res("aws:iam/policy:Policy", "app", {"policy": doc, "description": "see arn:aws:s3:::uploads"})
    result = check("RES-004", policy)
    found = sorted(messages(result))
    assert len(found) == 2, found
    assert any(
        "`policy` names arn:aws:s3:::uploads/* at Statement[0].Resource[0] (and 1 more)" in m for m in found
    )
    assert any("`description`" in m for m in found)


@pytest.mark.parametrize(
    "inputs",
    [
        {"policyArn": "arn:aws-cn:iam::aws:policy/ReadOnlyAccess"},
        {"policyArn": "arn:aws-us-gov:iam::aws:policy/ReadOnlyAccess"},
        {"policy": policy_document("arn:aws-cn:s3:::uploads/*")},
        {"description": "learn:aws: is not an ARN"},
        {"policy": U},  # nothing to see until apply; other rules judge the document itself
    ],
)
def test_res004_china_partition_passes(inputs):
    assert not check("RES-004", res("aws:iam/policy:Policy", "app", inputs)).findings


def test_res004_ignores_the_resources_own_identity():
    """A bucket deployed outside China fails RES-001; its own ARN is not repeated here."""
    bucket = res(BUCKET, "b", {"bucket": "b"}, outputs={"arn": "arn:aws:s3:::b", "id": "b"})
    assert not check("RES-004", bucket).findings


def test_res004_applies_to_any_resource_type_and_nested_values():
    config_map = res(
        "kubernetes:core/v1:ServiceAccount",
        "app",
        {"metadata": {"annotations": {"eks.amazonaws.com/role-arn": f"arn:aws:iam::{ACCOUNT}:role/app"}}},
    )
    message = only(check("RES-004", config_map))
    assert "`metadata.annotations.eks.amazonaws.com/role-arn`" in message


def test_res004_only_in_a_china_stack():
    settings = dataclasses.replace(default_catalog().settings(), allowed_regions=("eu-west-1",))
    attachment = res(
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "read-only",
        {"role": "app", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"},
    )
    stack = Stack.build([attachment], settings=settings)
    assert not evaluate(stack, [all_rules()["RES-004"]]).findings


def test_res004_regional_arn_outside_china_says_to_point_it_at_china():
    subscription_ = res(
        "aws:sns/topicSubscription:TopicSubscription",
        "queue",
        {
            "protocol": "sqs",
            "endpoint": f"arn:aws:sqs:us-east-1:{ACCOUNT}:jobs",
            "topic": f"arn:aws-cn:sns:cn-north-1:{ACCOUNT}:t",
        },
    )
    message = only(check("RES-004", subscription_))
    assert "`endpoint`" in message and "(us-east-1), outside AWS China" in message
    assert "arn:aws-cn:sqs:us-east-1" not in message  # swapping the partition alone would be wrong advice


def test_res002_default_provider_is_fixed_through_stack_config():
    message = only(check("RES-002", provider("default_6_63_0", {})))
    assert "set `aws:region` in the stack config" in message
