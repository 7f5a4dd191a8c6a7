"""ENC-001 (S3 default encryption), ENC-002 (data stores' KMS keys) and ENC-003 (key rotation)."""

from __future__ import annotations

import json

import pytest
from builders import messages, res, urn
from honesty import check, evaluate
from paths import public_fixture

from policies.registry import all_rules
from policies.sources import load_stack

U = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
KEY = "arn:aws-cn:kms:cn-north-1:123456789012:key/11111111-2222-3333-4444-555555555555"
FAR_KEY = "arn:aws-cn:kms:cn-northwest-1:123456789012:key/66666666-7777-8888-9999-000000000000"

BUCKET_V6 = "aws:s3/bucketV2:BucketV2"
BUCKET = "aws:s3/bucket:Bucket"  # v7 bucket, and the legacy inline v6 bucket
SSE_V6 = "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"
SSE_V7 = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
KMS_KEY = "aws:kms/key:Key"


def sse_rule(algorithm="aws:kms", key=KEY, bucket_key=True) -> dict:
    default = {"sseAlgorithm": algorithm}
    if key is not None:
        default["kmsMasterKeyId"] = key
    rule = {"applyServerSideEncryptionByDefault": default}
    if bucket_key is not None:
        rule["bucketKeyEnabled"] = bucket_key
    return rule


def split_bucket(bucket_type, side_type, rule, *, deps=None, tags=None):
    """A bucket and its encryption side resource, joined through the bucket property dependency."""
    bucket = res(bucket_type, "uploads", {"bucket": "uploads", "tags": tags or {}})
    side = res(
        side_type,
        "uploads-sse",
        {"bucket": "uploads", "rules": rule if rule == U else [rule]},
        property_dependencies={"bucket": [bucket.urn], **(deps or {})},
    )
    return bucket, side


def legacy_bucket(rule, tags=None):
    """The v6 legacy bucket with its inline, singular encryption block."""
    return res(
        BUCKET,
        "uploads",
        {"bucket": "uploads", "tags": tags or {}, "serverSideEncryptionConfiguration": {"rule": rule}},
    )


def key(name="cmk", region=None, rotation=True, **props):
    inputs = {"enableKeyRotation": rotation, **props}
    if region:
        inputs["region"] = region
    return res(KMS_KEY, name, inputs)


# -- ENC-001 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "resources",
    [
        pytest.param(split_bucket(BUCKET_V6, SSE_V6, sse_rule()), id="v6-side-resource"),
        pytest.param(split_bucket(BUCKET, SSE_V7, sse_rule()), id="v7-side-resource"),
        pytest.param((legacy_bucket(sse_rule()),), id="v6-legacy-inline"),
        pytest.param(
            split_bucket(BUCKET, SSE_V7, sse_rule("aws:kms:dsse", bucket_key=None)), id="dsse-no-bucket-key"
        ),
        pytest.param(split_bucket(BUCKET_V6, SSE_V6, sse_rule(key="alias/uploads")), id="customer-alias"),
        pytest.param(
            (*split_bucket(BUCKET_V6, SSE_V6, sse_rule(key=U), deps={"rules": [urn(KMS_KEY, "cmk")]}), key()),
            id="unknown-key-from-stack-key",
        ),
        pytest.param(
            (res(BUCKET_V6, "assets", {"bucket": "assets", "tags": {"data-category": "non-personal"}}),),
            id="non-personal-exempt",
        ),
    ],
)
def test_enc001_passes(resources):
    assert messages(check("ENC-001", *resources)) == []


@pytest.mark.parametrize(
    "resources, expected",
    [
        pytest.param(
            (res(BUCKET_V6, "uploads", {"bucket": "uploads"}),), "no default encryption", id="none-v6"
        ),
        pytest.param((res(BUCKET, "uploads", {"bucket": "uploads"}),), "no default encryption", id="none-v7"),
        pytest.param(
            split_bucket(BUCKET_V6, SSE_V6, sse_rule("AES256", None, None)), "'AES256'", id="aes256-v6"
        ),
        pytest.param((legacy_bucket(sse_rule("AES256", None, None)),), "'AES256'", id="aes256-legacy"),
        pytest.param(split_bucket(BUCKET, SSE_V7, sse_rule(key=None)), "AWS managed key aws/s3", id="no-key"),
        pytest.param(
            split_bucket(BUCKET_V6, SSE_V6, sse_rule(key="alias/aws/s3")),
            "AWS managed key 'alias/aws/s3'",
            id="alias",
        ),
        pytest.param(
            (legacy_bucket(sse_rule(key="arn:aws-cn:kms:cn-north-1:123456789012:alias/aws/s3")),),
            "AWS managed key",
            id="alias-arn-legacy",
        ),
        pytest.param(
            split_bucket(BUCKET, SSE_V7, sse_rule(key=FAR_KEY)), "is in cn-northwest-1", id="key-arn-far"
        ),
        pytest.param(
            (
                *split_bucket(BUCKET_V6, SSE_V6, sse_rule(key=U), deps={"rules": [urn(KMS_KEY, "far")]}),
                key("far", region="cn-northwest-1"),
            ),
            "Key 'far'",
            id="stack-key-far",
        ),
        pytest.param(
            split_bucket(BUCKET_V6, SSE_V6, sse_rule(bucket_key=False)), "bucketKeyEnabled", id="bk-off"
        ),
        pytest.param((legacy_bucket(sse_rule(bucket_key=None)),), "bucketKeyEnabled", id="bk-missing-legacy"),
    ],
)
def test_enc001_fails(resources, expected):
    result = check("ENC-001", *resources)
    found = messages(result)
    assert len(found) == 1, found
    assert expected in found[0]
    assert found[0].startswith(("BucketV2 'uploads'", "Bucket 'uploads'"))
    # The finding is about the bucket even when the setting lives in a side resource.
    assert result.findings[0].urn == resources[0].urn
    assert not result.findings[0].unknown


def test_enc001_names_the_side_resource_to_fix():
    found = messages(check("ENC-001", *split_bucket(BUCKET_V6, SSE_V6, sse_rule(bucket_key=False))))
    assert "BucketServerSideEncryptionConfigurationV2 'uploads-sse'" in found[0]


@pytest.mark.parametrize(
    "resources",
    [
        pytest.param(split_bucket(BUCKET_V6, SSE_V6, U), id="rules-unknown"),
        pytest.param(split_bucket(BUCKET, SSE_V7, sse_rule(key=U)), id="key-unknown"),
        pytest.param(split_bucket(BUCKET, SSE_V7, sse_rule(algorithm=U)), id="algorithm-unknown"),
        pytest.param(split_bucket(BUCKET_V6, SSE_V6, sse_rule(bucket_key=U)), id="bucket-key-unknown"),
        pytest.param(
            (res(BUCKET, "uploads", {"bucket": "uploads", "serverSideEncryptionConfiguration": U}),),
            id="legacy-inline-unknown",
        ),
    ],
)
def test_enc001_unknown_fails_closed(resources):
    result = check("ENC-001", *resources)
    assert len(result.findings) == 1
    assert result.findings[0].unknown
    assert "not known until apply" in result.findings[0].message


# -- ENC-002 -----------------------------------------------------------------------------------------

DDB = "aws:dynamodb/table:Table"
RDS = "aws:rds/instance:Instance"
AURORA = "aws:rds/cluster:Cluster"
EBS = "aws:ebs/volume:Volume"
SNAPSHOT = "aws:ebs/snapshot:Snapshot"
EFS = "aws:efs/fileSystem:FileSystem"
SQS = "aws:sqs/queue:Queue"
SNS = "aws:sns/topic:Topic"
LOGS = "aws:cloudwatch/logGroup:LogGroup"
SECRET = "aws:secretsmanager/secret:Secret"
CACHE = "aws:elasticache/replicationGroup:ReplicationGroup"
OPENSEARCH = "aws:opensearch/domain:Domain"
ELASTICSEARCH = "aws:elasticsearch/domain:Domain"
REDSHIFT = "aws:redshift/cluster:Cluster"
KINESIS = "aws:kinesis/stream:Stream"
FIREHOSE = "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream"
VAULT = "aws:backup/vault:Vault"

#: (type, inputs that pass) for every store type ENC-002 reads.
GOOD = [
    (DDB, {"serverSideEncryption": {"enabled": True, "kmsKeyArn": KEY}}),
    (DDB, {"serverSideEncryption": [{"enabled": True, "kmsKeyArn": KEY}]}),
    (RDS, {"storageEncrypted": True, "kmsKeyId": KEY}),
    (AURORA, {"storageEncrypted": True, "kmsKeyId": KEY}),
    (EBS, {"encrypted": True, "kmsKeyId": KEY}),
    (SNAPSHOT, {"volumeId": "vol-1", "encrypted": True, "kmsKeyId": KEY}),
    (EFS, {"encrypted": True, "kmsKeyId": KEY}),
    (SQS, {"kmsMasterKeyId": "alias/orders"}),
    (SNS, {"kmsMasterKeyId": KEY}),
    (LOGS, {"kmsKeyId": KEY}),
    (SECRET, {"kmsKeyId": KEY}),
    (CACHE, {"atRestEncryptionEnabled": True, "kmsKeyId": KEY}),
    (OPENSEARCH, {"encryptAtRest": {"enabled": True, "kmsKeyId": KEY}}),
    (ELASTICSEARCH, {"encryptAtRest": [{"enabled": True, "kmsKeyId": KEY}]}),
    (REDSHIFT, {"encrypted": True, "kmsKeyId": KEY}),
    (KINESIS, {"encryptionType": "KMS", "kmsKeyId": KEY}),
    (FIREHOSE, {"serverSideEncryption": {"enabled": True, "keyType": "CUSTOMER_MANAGED_CMK", "keyArn": KEY}}),
    (VAULT, {"kmsKeyArn": KEY}),
    ("aws:dynamodb/tableReplica:TableReplica", {"kmsKeyArn": KEY}),
    ("aws:ebs/snapshotCopy:SnapshotCopy", {"encrypted": True, "kmsKeyId": KEY}),
    ("aws:docdb/cluster:Cluster", {"storageEncrypted": True, "kmsKeyId": KEY}),
    ("aws:neptune/cluster:Cluster", {"storageEncrypted": True, "kmsKeyArn": KEY}),
    ("aws:elasticache/serverlessCache:ServerlessCache", {"kmsKeyId": KEY}),
    ("aws:redshiftserverless/namespace:Namespace", {"kmsKeyId": KEY}),
    ("aws:memorydb/cluster:Cluster", {"kmsKeyArn": KEY}),
    ("aws:fsx/lustreFileSystem:LustreFileSystem", {"kmsKeyId": KEY}),
]


@pytest.mark.parametrize(
    "type_, inputs", GOOD, ids=[f"{t.split(':')[-1]}-{i}" for i, (t, _) in enumerate(GOOD)]
)
def test_enc002_customer_managed_key_passes(type_, inputs):
    assert messages(check("ENC-002", res(type_, "store", inputs))) == []


@pytest.mark.parametrize(
    "type_, inputs, expected",
    [
        (DDB, {}, "AWS owned key"),
        (DDB, {"serverSideEncryption": {"enabled": False}}, "AWS owned key"),
        (DDB, {"serverSideEncryption": {"enabled": True}}, "aws/dynamodb"),
        (RDS, {"storageEncrypted": False}, "not encrypted at rest"),
        (RDS, {"storageEncrypted": True}, "aws/rds"),
        (AURORA, {"storageEncrypted": True, "kmsKeyId": "alias/aws/rds"}, "'alias/aws/rds'"),
        (EBS, {"encrypted": True}, "aws/ebs"),
        (SNAPSHOT, {"volumeId": "vol-1", "encrypted": False}, "not encrypted at rest"),
        (EFS, {"encrypted": True}, "aws/elasticfilesystem"),
        (SQS, {"sqsManagedSseEnabled": True}, "SSE-SQS"),
        (SQS, {"kmsMasterKeyId": "alias/aws/sqs"}, "'alias/aws/sqs'"),
        (SNS, {"kmsMasterKeyId": "alias/aws/sns"}, "'alias/aws/sns'"),
        (SNS, {}, "not encrypted at rest"),
        (LOGS, {}, "CloudWatch Logs service key"),
        (SECRET, {}, "aws/secretsmanager"),
        (CACHE, {"atRestEncryptionEnabled": False}, "not encrypted at rest"),
        (CACHE, {"atRestEncryptionEnabled": True}, "aws/elasticache"),
        (OPENSEARCH, {"encryptAtRest": {"enabled": True}}, "aws/es"),
        (ELASTICSEARCH, {}, "not encrypted at rest"),
        (REDSHIFT, {"encrypted": True}, "aws/redshift"),
        (KINESIS, {"encryptionType": "KMS", "kmsKeyId": "alias/aws/kinesis"}, "'alias/aws/kinesis'"),
        (KINESIS, {"encryptionType": "NONE"}, "not encrypted at rest"),
        (FIREHOSE, {"serverSideEncryption": {"enabled": True, "keyType": "AWS_OWNED_CMK"}}, "AWS owned key"),
        (FIREHOSE, {}, "not encrypted at rest"),
        (VAULT, {}, "aws/backup"),
        ("aws:neptune/cluster:Cluster", {"storageEncrypted": False}, "not encrypted at rest"),
        ("aws:redshiftserverless/namespace:Namespace", {}, "an AWS owned key"),
        (RDS, {"storageEncrypted": True, "kmsKeyId": FAR_KEY}, "its KMS key 'arn:aws-cn:kms:cn-northwest-1"),
        (VAULT, {"kmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/abc"}, "is in us-east-1"),
    ],
)
def test_enc002_fails(type_, inputs, expected):
    found = messages(check("ENC-002", res(type_, "store", inputs)))
    assert len(found) == 1, found
    assert expected in found[0]
    assert "'store'" in found[0] and "customer-managed" in found[0]


def test_enc002_key_resource_in_another_region_fails():
    far = key("far", region="cn-northwest-1")
    table = res(
        DDB,
        "accounts",
        {"serverSideEncryption": {"enabled": True, "kmsKeyArn": U}},
        property_dependencies={"serverSideEncryption": [far.urn]},
    )
    found = messages(check("ENC-002", table, far))
    assert found == [
        "Table 'accounts' is in cn-north-1 but its KMS key Key 'far' is in cn-northwest-1; "
        "use a customer-managed key in cn-north-1"
    ]


def test_enc002_key_of_the_stack_found_by_id_is_checked_for_region():
    far = res(KMS_KEY, "far", {"region": "cn-northwest-1"}, outputs={"keyId": "abcd-1234", "id": "abcd-1234"})
    queue = res(SQS, "orders", {"kmsMasterKeyId": "abcd-1234"})
    assert "cn-northwest-1" in messages(check("ENC-002", queue, far))[0]


def test_enc002_unknown_key_from_same_region_stack_key_passes():
    cmk = key()
    db = res(
        RDS, "db", {"storageEncrypted": True, "kmsKeyId": U}, property_dependencies={"kmsKeyId": [cmk.urn]}
    )
    assert messages(check("ENC-002", db, cmk)) == []


def test_enc002_snapshot_reads_its_volume_before_apply():
    volume = res(EBS, "data", {"encrypted": True})
    snapshot = res(SNAPSHOT, "nightly", {"volumeId": U}, property_dependencies={"volumeId": [volume.urn]})
    result = check("ENC-002", volume, snapshot)
    assert sorted(f.urn for f in result.findings) == sorted([volume.urn, snapshot.urn])
    assert messages(result, snapshot.urn)[0].startswith(
        "Snapshot 'nightly' is encrypted with the AWS managed key aws/ebs"
    )


def test_enc002_non_personal_store_is_exempt():
    table = res(DDB, "catalogue", {"tags": {"data-category": "non-personal"}})
    assert messages(check("ENC-002", table)) == []


@pytest.mark.parametrize(
    "type_, inputs",
    [
        (DDB, {"serverSideEncryption": U}),
        (RDS, {"storageEncrypted": U, "kmsKeyId": KEY}),
        (RDS, {"storageEncrypted": True, "kmsKeyId": U}),
        (SQS, {"kmsMasterKeyId": U}),
        (KINESIS, {"encryptionType": U}),
        (FIREHOSE, {"serverSideEncryption": {"enabled": True, "keyType": U}}),
    ],
)
def test_enc002_unknown_fails_closed(type_, inputs):
    result = check("ENC-002", res(type_, "store", inputs))
    assert len(result.findings) == 1
    assert result.findings[0].unknown
    assert "not known until apply" in result.findings[0].message


# -- ENC-003 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "inputs",
    [
        {"enableKeyRotation": True},
        {"enableKeyRotation": True, "rotationPeriodInDays": 90},
        {"customerMasterKeySpec": "RSA_2048", "keyUsage": "SIGN_VERIFY"},
        {"customerMasterKeySpec": "HMAC_256", "keyUsage": "GENERATE_VERIFY_MAC"},
        {"keySpec": "ECC_NIST_P256"},
        {"customKeyStoreId": "cks-1234567890abcdef0"},
    ],
)
def test_enc003_passes(inputs):
    assert messages(check("ENC-003", res(KMS_KEY, "k", inputs))) == []


@pytest.mark.parametrize(
    "inputs", [{}, {"enableKeyRotation": False}, {"customerMasterKeySpec": "SYMMETRIC_DEFAULT"}]
)
def test_enc003_fails(inputs):
    assert messages(check("ENC-003", res(KMS_KEY, "k", inputs))) == [
        "Key 'k' does not rotate its key material; set enableKeyRotation: true "
        "(new key material every year, or every rotationPeriodInDays)"
    ]


@pytest.mark.parametrize("inputs", [{"enableKeyRotation": U}, {"customerMasterKeySpec": U}])
def test_enc003_unknown_fails_closed(inputs):
    result = check("ENC-003", res(KMS_KEY, "k", inputs))
    assert len(result.findings) == 1 and result.findings[0].unknown


def test_enc003_recorded_key_without_rotation_fails():
    """The pulumi-aws recorded KMS key (enableKeyRotation false) is reported."""
    path = public_fixture("pulumi-aws-recorded-kms-key-stack.json")
    assert json.loads(path.read_text())["deployment"]["resources"]
    result = evaluate(load_stack(str(path)), [all_rules()["ENC-003"]])
    assert [f.name for f in result.findings] == ["a"]
    assert result.findings[0].message.startswith("Key 'a' does not rotate its key material")
