"""ENC-002 (more stores, read replicas), ENC-004 (store settings), ENC-005 (store TLS) and NET-001.

Each case is one store shape from issue 11: it fails, passes, or is unknown until apply, and a failing
case names what its message must say (the property and the fix).
"""

from __future__ import annotations

import json

import pytest
from builders import messages, res, urn
from honesty import check

from policies.model import UNKNOWN_SENTINEL as U

KEY = "arn:aws-cn:kms:cn-north-1:123456789012:key/11111111-2222-3333-4444-555555555555"
FAR_KEY = "arn:aws-cn:kms:cn-northwest-1:123456789012:key/66666666-7777-8888-9999-000000000000"
KMS = "aws:kms/key:Key"
INSTANCE = "aws:ec2/instance:Instance"
RDS = "aws:rds/instance:Instance"
TABLE = "aws:dynamodb/table:Table"
DOCDB = "aws:docdb/cluster:Cluster"
DOCDB_PG = "aws:docdb/clusterParameterGroup:ClusterParameterGroup"
NEPTUNE = "aws:neptune/cluster:Cluster"
NEPTUNE_PG = "aws:neptune/clusterParameterGroup:ClusterParameterGroup"

PASS = ("pass", None)


def fail(text: str) -> tuple[str, str]:
    return ("fail", text)


def unknown(text: str) -> tuple[str, str]:
    return ("unknown", text)


def judge(rule_id: str, resources, expected) -> None:
    kind, text = expected
    result = check(rule_id, *resources)
    found = messages(result)
    if kind == "pass":
        assert not result.findings, found
        return
    assert result.findings, f"expected a {kind} finding"
    assert any(text in m for m in found), found
    if kind == "unknown":
        assert all(f.unknown for f in result.findings), found
    else:
        assert any(not f.unknown for f in result.findings), found
    for m in found:
        assert "arn:aws:" not in m, m


def one(type_, inputs, name="store", **kwargs):
    return (res(type_, name, inputs, **kwargs),)


def key(name="cmk"):
    return res(KMS, name, {"enableKeyRotation": True})


# -- ENC-002: more stores ----------------------------------------------------------------------------

ENC002 = [
    # MSK: always encrypted; without its own key it uses aws/kafka.
    ("msk-default-key", one("aws:msk/cluster:Cluster", {"clusterName": "events"}), fail("aws/kafka")),
    (
        "msk-cmk",
        one("aws:msk/cluster:Cluster", {"encryptionInfo": {"encryptionAtRestKmsKeyArn": KEY}}),
        PASS,
    ),
    (
        "msk-key-unknown",
        one("aws:msk/cluster:Cluster", {"encryptionInfo": {"encryptionAtRestKmsKeyArn": U}}),
        unknown("not known until apply"),
    ),
    ("mq-aws-owned", one("aws:mq/broker:Broker", {"engineType": "ActiveMQ"}), fail("useAwsOwnedKey")),
    # RabbitMQ brokers can only use an AWS owned key: nothing the program could choose.
    ("mq-rabbitmq-not-judged", one("aws:mq/broker:Broker", {"engineType": "RabbitMQ"}), PASS),
    (
        "mq-cmk",
        one("aws:mq/broker:Broker", {"encryptionOptions": {"useAwsOwnedKey": False, "kmsKeyId": KEY}}),
        PASS,
    ),
    (
        "mq-unknown",
        one("aws:mq/broker:Broker", {"encryptionOptions": {"useAwsOwnedKey": U}}),
        unknown("whether it is encrypted"),
    ),
    (
        "ssm-securestring-default",
        one("aws:ssm/parameter:Parameter", {"type": "SecureString", "value": "x"}),
        fail("alias/aws/ssm"),
    ),
    ("ssm-string-not-judged", one("aws:ssm/parameter:Parameter", {"type": "String", "value": "x"}), PASS),
    (
        "ssm-securestring-cmk",
        one("aws:ssm/parameter:Parameter", {"type": "SecureString", "keyId": KEY}),
        PASS,
    ),
    ("ssm-type-unknown", one("aws:ssm/parameter:Parameter", {"type": U}), unknown("not known until apply")),
    ("ecr-aes256", one("aws:ecr/repository:Repository", {"name": "app"}), fail("encryptionConfigurations")),
    (
        "ecr-kms",
        one(
            "aws:ecr/repository:Repository",
            {"encryptionConfigurations": [{"encryptionType": "KMS", "kmsKey": KEY}]},
        ),
        PASS,
    ),
    (
        "ecr-unknown",
        one("aws:ecr/repository:Repository", {"encryptionConfigurations": [{"encryptionType": U}]}),
        unknown("not known until apply"),
    ),
    (
        "lambda-env-no-key",
        one("aws:lambda/function:Function", {"environment": {"variables": {"DB_PASSWORD": "x"}}}),
        fail("kmsKeyArn"),
    ),
    ("lambda-no-env", one("aws:lambda/function:Function", {"runtime": "python3.12"}), PASS),
    (
        "lambda-env-cmk",
        one("aws:lambda/function:Function", {"environment": {"variables": {"A": "b"}}, "kmsKeyArn": KEY}),
        PASS,
    ),
    (
        "lambda-env-key-unknown",
        one("aws:lambda/function:Function", {"environment": {"variables": {"A": "b"}}, "kmsKeyArn": U}),
        unknown("not known until apply"),
    ),
    (
        "lambda-env-unknown-no-key",
        one("aws:lambda/function:Function", {"environment": {"variables": U}}),
        unknown("environment variables are not known"),
    ),
    ("docdb-unencrypted", one(DOCDB, {"engine": "docdb"}), fail("storageEncrypted: true and kmsKeyId")),
    ("docdb-cmk", one(DOCDB, {"storageEncrypted": True, "kmsKeyId": KEY}), PASS),
    ("docdb-unknown", one(DOCDB, {"storageEncrypted": U}), unknown("whether it is encrypted")),
    (
        "neptune-unencrypted",
        one(NEPTUNE, {"engine": "neptune"}),
        fail("storageEncrypted: true and kmsKeyArn"),
    ),
    ("neptune-cmk", one(NEPTUNE, {"storageEncrypted": True, "kmsKeyArn": KEY}), PASS),
    ("eks-no-secrets-encryption", one("aws:eks/cluster:Cluster", {"name": "k"}), fail("encryptionConfig")),
    (
        "eks-secrets-cmk",
        one(
            "aws:eks/cluster:Cluster",
            {"encryptionConfig": {"resources": ["secrets"], "provider": {"keyArn": KEY}}},
        ),
        PASS,
    ),
    (
        "eks-unknown",
        one("aws:eks/cluster:Cluster", {"encryptionConfig": U}),
        unknown("not known until apply"),
    ),
    ("athena-no-encryption", one("aws:athena/workgroup:Workgroup", {"name": "w"}), fail("query results")),
    (
        "athena-sse-s3",
        one(
            "aws:athena/workgroup:Workgroup",
            {
                "configuration": {
                    "resultConfiguration": {"encryptionConfiguration": {"encryptionOption": "SSE_S3"}}
                }
            },
        ),
        fail("SSE_S3"),
    ),
    (
        "athena-sse-kms",
        one(
            "aws:athena/workgroup:Workgroup",
            {
                "configuration": {
                    "resultConfiguration": {
                        "encryptionConfiguration": {"encryptionOption": "SSE_KMS", "kmsKeyArn": KEY}
                    }
                }
            },
        ),
        PASS,
    ),
    (
        "athena-unknown",
        one("aws:athena/workgroup:Workgroup", {"configuration": U}),
        unknown("not known until apply"),
    ),
]


@pytest.mark.parametrize(("resources", "expected"), [c[1:] for c in ENC002], ids=[c[0] for c in ENC002])
def test_enc002_more_stores(resources, expected):
    judge("ENC-002", resources, expected)


# -- ENC-002: read replicas --------------------------------------------------------------------------


def primary(encrypted=True, key_id=KEY):
    inputs = {"identifier": "main", "engine": "postgres", "storageEncrypted": encrypted}
    if key_id:
        inputs["kmsKeyId"] = key_id
    return res(RDS, "main", inputs)


REPLICAS = [
    (
        "same-region-replica-of-encrypted-source",
        (primary(), res(RDS, "replica", {"replicateSourceDb": "main"})),
        PASS,
    ),
    (
        "same-region-replica-of-unencrypted-source",
        (primary(encrypted=False, key_id=None), res(RDS, "replica", {"replicateSourceDb": "main"})),
        fail("inherits the encryption of its source"),
    ),
    (
        "replica-source-by-unknown-reference",
        (
            primary(),
            res(
                RDS,
                "replica",
                {"replicateSourceDb": U},
                property_dependencies={"replicateSourceDb": [urn(RDS, "main")]},
            ),
        ),
        PASS,
    ),
    (
        "replica-of-source-outside-the-stack",
        (res(RDS, "replica", {"replicateSourceDb": "elsewhere"}),),
        unknown("not a DB instance of this stack"),
    ),
    (
        "cross-region-replica-without-key",
        (
            res(
                RDS,
                "replica",
                {"replicateSourceDb": "arn:aws-cn:rds:cn-northwest-1:123456789012:db:main"},
            ),
        ),
        fail("storageEncrypted: true and kmsKeyId"),
    ),
    (
        "cross-region-replica-with-key",
        (
            res(
                RDS,
                "replica",
                {
                    "replicateSourceDb": "arn:aws-cn:rds:cn-northwest-1:123456789012:db:main",
                    "kmsKeyId": KEY,
                },
            ),
        ),
        PASS,
    ),
]


@pytest.mark.parametrize(("resources", "expected"), [c[1:] for c in REPLICAS], ids=[c[0] for c in REPLICAS])
def test_enc002_read_replica_inherits_its_source(resources, expected):
    result = check("ENC-002", *resources)
    replica_findings = [f for f in result.findings if f.urn == urn(RDS, "replica")]
    kind, text = expected
    if kind == "pass":
        assert not replica_findings, messages(result)
    else:
        assert any(text in f.message for f in replica_findings), messages(result)
        assert all(f.unknown == (kind == "unknown") for f in replica_findings)


def test_enc002_fix_never_names_a_foreign_region():
    """A store outside the territory is told to use a key in the territory, not in its own region."""
    result = check("ENC-002", res(TABLE, "t", {"region": "us-west-2", "hashKey": "id"}))
    text = " ".join(messages(result))
    assert "us-west-2, outside the territory" in text
    assert "key in us-west-2" not in text and "arn:aws:" not in text


def test_enc001_fix_on_a_foreign_bucket_names_a_territory_key():
    result = check("ENC-001", res("aws:s3/bucket:Bucket", "b", {"bucket": "b", "region": "us-west-2"}))
    text = " ".join(messages(result))
    assert "arn:aws-cn:kms:cn-north-1" in text
    assert "key in us-west-2" not in text and "arn:aws:" not in text


# -- ENC-004 -----------------------------------------------------------------------------------------

ENC004 = [
    ("ec2-root-unencrypted", one(INSTANCE, {"ami": "ami-1"}), fail("root volume (rootBlockDevice)")),
    (
        "ec2-root-encrypted-default-key",
        one(INSTANCE, {"rootBlockDevice": {"encrypted": True}}),
        fail("AWS managed key"),
    ),
    ("ec2-root-cmk", one(INSTANCE, {"rootBlockDevice": {"encrypted": True, "kmsKeyId": KEY}}), PASS),
    (
        "ec2-ebs-device-unencrypted",
        one(
            INSTANCE,
            {
                "rootBlockDevice": {"encrypted": True, "kmsKeyId": KEY},
                "ebsBlockDevices": [{"deviceName": "/dev/sdf", "encrypted": False}],
            },
        ),
        fail("EBS volume /dev/sdf (ebsBlockDevices[0]) sets encrypted: false"),
    ),
    (
        "ec2-encryption-by-default",
        (
            res(INSTANCE, "store", {"ami": "ami-1"}),
            res("aws:ebs/encryptionByDefault:EncryptionByDefault", "ebs", {"enabled": True}),
            res("aws:ebs/defaultKmsKey:DefaultKmsKey", "ebs-key", {"keyArn": KEY}),
        ),
        PASS,
    ),
    (
        "ec2-encrypted-false-overridden-by-default",
        (
            res(INSTANCE, "store", {"rootBlockDevice": {"encrypted": False}}),
            res("aws:ebs/encryptionByDefault:EncryptionByDefault", "ebs", {"enabled": True}),
            res("aws:ebs/defaultKmsKey:DefaultKmsKey", "ebs-key", {"keyArn": KEY}),
        ),
        PASS,
    ),
    (
        "ec2-encryption-by-default-aws-managed-key",
        (
            res(INSTANCE, "store", {"ami": "ami-1"}),
            res("aws:ebs/encryptionByDefault:EncryptionByDefault", "ebs", {"enabled": True}),
        ),
        fail("AWS managed key"),
    ),
    (
        "ec2-root-unknown",
        one(INSTANCE, {"rootBlockDevice": {"encrypted": U}}),
        unknown("not known until apply"),
    ),
    (
        "ec2-key-in-other-region",
        one(INSTANCE, {"rootBlockDevice": {"encrypted": True, "kmsKeyId": FAR_KEY}}),
        fail("cn-northwest-1"),
    ),
    ("dax-off", one("aws:dax/cluster:Cluster", {"clusterName": "c"}), fail("serverSideEncryption.enabled")),
    (
        "dax-explicitly-off",
        one("aws:dax/cluster:Cluster", {"serverSideEncryption": {"enabled": False}}),
        fail("is false"),
    ),
    ("dax-on", one("aws:dax/cluster:Cluster", {"serverSideEncryption": {"enabled": True}}), PASS),
    (
        "dax-unknown",
        one("aws:dax/cluster:Cluster", {"serverSideEncryption": {"enabled": U}}),
        unknown("serverSideEncryption.enabled"),
    ),
    ("memcached", one("aws:elasticache/cluster:Cluster", {"engine": "memcached"}), fail("memcached")),
    (
        "cache-member-of-group",
        one("aws:elasticache/cluster:Cluster", {"replicationGroupId": "g", "engine": "redis"}),
        PASS,
    ),
    ("cache-engine-unknown", one("aws:elasticache/cluster:Cluster", {"engine": U}), unknown("its engine")),
    (
        "performance-insights-default-key",
        one(RDS, {"storageEncrypted": True, "kmsKeyId": KEY, "performanceInsightsEnabled": True}),
        fail("performanceInsightsKmsKeyId"),
    ),
    (
        "performance-insights-cmk",
        one(
            RDS,
            {
                "performanceInsightsEnabled": True,
                "performanceInsightsKmsKeyId": KEY,
            },
        ),
        PASS,
    ),
    ("performance-insights-off", one(RDS, {"performanceInsightsEnabled": False}), PASS),
    (
        "performance-insights-unknown",
        one(RDS, {"performanceInsightsEnabled": U}),
        unknown("performanceInsightsEnabled"),
    ),
    (
        "global-table-replica-without-key",
        one(TABLE, {"replicas": [{"regionName": "cn-northwest-1"}]}),
        fail("alias/aws/dynamodb"),
    ),
    (
        "global-table-replica-key-in-table-region",
        one(TABLE, {"replicas": [{"regionName": "cn-northwest-1", "kmsKeyArn": KEY}]}),
        fail("replica's own region"),
    ),
    (
        "global-table-replica-own-key",
        one(TABLE, {"replicas": [{"regionName": "cn-northwest-1", "kmsKeyArn": FAR_KEY}]}),
        PASS,
    ),
    (
        "global-table-replica-key-unknown",
        one(TABLE, {"replicas": [{"regionName": "cn-northwest-1", "kmsKeyArn": U}]}),
        unknown("kmsKeyArn"),
    ),
    (
        "glue-disabled",
        one(
            "aws:glue/securityConfiguration:SecurityConfiguration",
            {
                "encryptionConfiguration": {
                    "cloudwatchEncryption": {"cloudwatchEncryptionMode": "DISABLED"},
                    "jobBookmarksEncryption": {"jobBookmarksEncryptionMode": "CSE-KMS", "kmsKeyArn": KEY},
                    "s3Encryption": {"s3EncryptionMode": "SSE-S3"},
                }
            },
        ),
        fail("encryptionConfiguration.s3Encryption.s3EncryptionMode is 'SSE-S3'"),
    ),
    (
        "glue-all-kms",
        one(
            "aws:glue/securityConfiguration:SecurityConfiguration",
            {
                "encryptionConfiguration": {
                    "cloudwatchEncryption": {"cloudwatchEncryptionMode": "SSE-KMS", "kmsKeyArn": KEY},
                    "jobBookmarksEncryption": {"jobBookmarksEncryptionMode": "CSE-KMS", "kmsKeyArn": KEY},
                    "s3Encryption": {"s3EncryptionMode": "SSE-KMS", "kmsKeyArn": KEY},
                }
            },
        ),
        PASS,
    ),
    (
        "glue-unknown",
        one("aws:glue/securityConfiguration:SecurityConfiguration", {"encryptionConfiguration": U}),
        unknown("encryptionConfiguration"),
    ),
    (
        "aoss-aws-owned-key",
        one(
            "aws:opensearch/serverlessSecurityPolicy:ServerlessSecurityPolicy",
            {"type": "encryption", "policy": json.dumps({"Rules": [], "AWSOwnedKey": True})},
        ),
        fail("AWSOwnedKey: true"),
    ),
    (
        "aoss-cmk",
        one(
            "aws:opensearch/serverlessSecurityPolicy:ServerlessSecurityPolicy",
            {"type": "encryption", "policy": json.dumps({"Rules": [], "AWSOwnedKey": False, "KmsARN": KEY})},
        ),
        PASS,
    ),
    (
        "aoss-network-policy-not-judged",
        one(
            "aws:opensearch/serverlessSecurityPolicy:ServerlessSecurityPolicy",
            {"type": "network", "policy": "[]"},
        ),
        PASS,
    ),
    (
        "aoss-unknown",
        one(
            "aws:opensearch/serverlessSecurityPolicy:ServerlessSecurityPolicy",
            {"type": "encryption", "policy": U},
        ),
        unknown("encryption policy"),
    ),
    (
        "cognito-custom-sender-without-key",
        one("aws:cognito/userPool:UserPool", {"lambdaConfig": {"customSmsSender": {"lambdaArn": "x"}}}),
        fail("lambdaConfig.kmsKeyId"),
    ),
    (
        "cognito-custom-sender-cmk",
        one(
            "aws:cognito/userPool:UserPool",
            {"lambdaConfig": {"customSmsSender": {"lambdaArn": "x"}, "kmsKeyId": KEY}},
        ),
        PASS,
    ),
    ("cognito-no-senders", one("aws:cognito/userPool:UserPool", {"name": "users"}), PASS),
    ("cognito-unknown", one("aws:cognito/userPool:UserPool", {"lambdaConfig": U}), unknown("lambdaConfig")),
]


@pytest.mark.parametrize(("resources", "expected"), [c[1:] for c in ENC004], ids=[c[0] for c in ENC004])
def test_enc004_store_settings(resources, expected):
    judge("ENC-004", resources, expected)


def test_enc004_key_from_the_stack_resolves_an_unknown():
    instance = res(
        INSTANCE,
        "web",
        {"rootBlockDevice": {"encrypted": True, "kmsKeyId": U}},
        property_dependencies={"rootBlockDevice": [urn(KMS, "cmk")]},
    )
    assert not check("ENC-004", instance, key()).findings


def test_enc004_non_personal_store_is_not_judged():
    store = res(INSTANCE, "web", {"tags": {"data-category": "non-personal"}})
    assert not check("ENC-004", store).findings


# -- ENC-005 -----------------------------------------------------------------------------------------

ENC005 = [
    (
        "msk-plaintext",
        one(
            "aws:msk/cluster:Cluster",
            {"encryptionInfo": {"encryptionInTransit": {"clientBroker": "PLAINTEXT"}}},
        ),
        fail("clientBroker is 'PLAINTEXT'"),
    ),
    (
        "msk-tls-plaintext",
        one(
            "aws:msk/cluster:Cluster",
            {"encryptionInfo": {"encryptionInTransit": {"clientBroker": "TLS_PLAINTEXT"}}},
        ),
        fail("TLS_PLAINTEXT"),
    ),
    (
        "msk-in-cluster-off",
        one("aws:msk/cluster:Cluster", {"encryptionInfo": {"encryptionInTransit": {"inCluster": False}}}),
        fail("inCluster is false"),
    ),
    ("msk-default-tls", one("aws:msk/cluster:Cluster", {"clusterName": "c"}), PASS),
    (
        "msk-unknown",
        one("aws:msk/cluster:Cluster", {"encryptionInfo": {"encryptionInTransit": {"clientBroker": U}}}),
        unknown("clientBroker"),
    ),
    (
        "docdb-tls-disabled",
        (
            res(DOCDB_PG, "pg", {"name": "docs", "parameters": [{"name": "tls", "value": "disabled"}]}),
            res(DOCDB, "store", {"dbClusterParameterGroupName": "docs"}),
        ),
        fail("sets tls to 'disabled'"),
    ),
    (
        "docdb-tls-enabled",
        (
            res(DOCDB_PG, "pg", {"name": "docs", "parameters": [{"name": "tls", "value": "enabled"}]}),
            res(DOCDB, "store", {"dbClusterParameterGroupName": "docs"}),
        ),
        PASS,
    ),
    ("docdb-default-group", one(DOCDB, {"engine": "docdb"}), PASS),
    (
        "docdb-group-outside-stack",
        one(DOCDB, {"dbClusterParameterGroupName": "shared"}),
        unknown("not a group of this stack"),
    ),
    (
        "docdb-tls-unknown",
        (
            res(DOCDB_PG, "pg", {"name": "docs", "parameters": [{"name": "tls", "value": U}]}),
            res(
                DOCDB,
                "store",
                {"dbClusterParameterGroupName": U},
                property_dependencies={"dbClusterParameterGroupName": [urn(DOCDB_PG, "pg")]},
            ),
        ),
        unknown("tls in"),
    ),
    (
        "neptune-ssl-off",
        (
            res(
                NEPTUNE_PG,
                "pg",
                {"name": "graph", "parameters": [{"name": "neptune_enforce_ssl", "value": "0"}]},
            ),
            res(NEPTUNE, "store", {"neptuneClusterParameterGroupName": "graph"}),
        ),
        fail("neptune_enforce_ssl"),
    ),
    ("neptune-default", one(NEPTUNE, {"engine": "neptune"}), PASS),
    ("rds-proxy-default", one("aws:rds/proxy:Proxy", {"engineFamily": "MYSQL"}), fail("defaults to false")),
    ("rds-proxy-false", one("aws:rds/proxy:Proxy", {"requireTls": False}), fail("requireTls is false")),
    ("rds-proxy-tls", one("aws:rds/proxy:Proxy", {"requireTls": True}), PASS),
    ("rds-proxy-unknown", one("aws:rds/proxy:Proxy", {"requireTls": U}), unknown("requireTls")),
]


@pytest.mark.parametrize(("resources", "expected"), [c[1:] for c in ENC005], ids=[c[0] for c in ENC005])
def test_enc005_store_tls(resources, expected):
    judge("ENC-005", resources, expected)


# -- NET-001 -----------------------------------------------------------------------------------------

NET001 = [
    (
        "mq-public",
        one("aws:mq/broker:Broker", {"publiclyAccessible": True}),
        fail("publiclyAccessible: false"),
    ),
    ("mq-private", one("aws:mq/broker:Broker", {"publiclyAccessible": False}), PASS),
    ("mq-default-private", one("aws:mq/broker:Broker", {"engineType": "ActiveMQ"}), PASS),
    ("mq-unknown", one("aws:mq/broker:Broker", {"publiclyAccessible": U}), unknown("publiclyAccessible")),
]


@pytest.mark.parametrize(("resources", "expected"), [c[1:] for c in NET001], ids=[c[0] for c in NET001])
def test_net001_broker_not_public(resources, expected):
    judge("NET-001", resources, expected)


LAUNCH_CONFIG = "aws:ec2/launchConfiguration:LaunchConfiguration"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"

LAUNCHES = [
    (
        "launch-config-root-unencrypted",
        one(LAUNCH_CONFIG, {"imageId": "ami-1"}),
        fail("aws.ebs.DefaultKmsKey"),
    ),
    (
        "launch-config-encrypted-default-key",
        one(LAUNCH_CONFIG, {"rootBlockDevice": {"encrypted": True}}),
        fail("AWS managed key"),
    ),
    (
        "launch-config-encrypted-account-cmk",
        (
            res(LAUNCH_CONFIG, "store", {"rootBlockDevice": {"encrypted": True}}),
            res("aws:ebs/defaultKmsKey:DefaultKmsKey", "ebs-key", {"keyArn": KEY}),
        ),
        PASS,
    ),
    ("launch-config-unknown", one(LAUNCH_CONFIG, {"rootBlockDevice": U}), unknown("rootBlockDevice")),
    (
        "launch-template-cmk",
        one(
            LAUNCH_TEMPLATE,
            {
                "blockDeviceMappings": [
                    {"deviceName": "/dev/xvda", "ebs": {"encrypted": "true", "kmsKeyId": KEY}}
                ]
            },
        ),
        PASS,
    ),
    (
        "launch-template-unencrypted",
        one(
            LAUNCH_TEMPLATE,
            {"blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "false"}}]},
        ),
        fail("blockDeviceMappings[0].ebs) sets encrypted: false"),
    ),
    (
        "launch-template-no-mappings",
        one(LAUNCH_TEMPLATE, {"imageId": "ami-1"}),
        fail("as the AMI's snapshot is"),
    ),
    (
        "launch-template-unknown",
        one(LAUNCH_TEMPLATE, {"blockDeviceMappings": U}),
        unknown("blockDeviceMappings"),
    ),
    (
        "instance-from-stack-template-judged-there",
        (
            res(
                LAUNCH_TEMPLATE,
                "tpl",
                {"blockDeviceMappings": [{"ebs": {"encrypted": "true", "kmsKeyId": KEY}}]},
            ),
            res(
                INSTANCE,
                "store",
                {"launchTemplate": {"id": U}},
                property_dependencies={"launchTemplate": [urn(LAUNCH_TEMPLATE, "tpl")]},
            ),
        ),
        PASS,
    ),
    (
        "instance-from-foreign-template",
        one(INSTANCE, {"launchTemplate": {"id": "lt-123"}}),
        unknown("launch template that is not in this stack"),
    ),
]


@pytest.mark.parametrize(("resources", "expected"), [c[1:] for c in LAUNCHES], ids=[c[0] for c in LAUNCHES])
def test_enc004_launch_configurations_and_templates(resources, expected):
    judge("ENC-004", resources, expected)
