"""Every rule survives a value of the wrong JSON type anywhere a program can put one.

A preview or stack export is user input: any property can hold an object where a string belongs, a
list where a number belongs. A rule must then report the value (or stay silent), never raise: a
crash is a fail-closed finding for users, but it says "could not be checked" where a clear
finding belonged. Each scalar in every resource's inputs is swapped, one at a time, for an object,
a list, a number and a boolean, and the whole stack is evaluated again.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from honesty import crashes
from paths import PUBLIC_FIXTURES, ROOT

from policies.catalog import default_catalog
from policies.demo import EXAMPLES
from policies.engine import evaluate
from policies.sources import stack_from_document

MORE = ROOT / "tests" / "fixtures" / "pulumi-more"
WRONG_TYPES: tuple[Any, ...] = ({"x": 1}, ["x"], 7, True)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a scalar (and every container) under a step's inputs."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield path + (key,)
            yield from _paths(inner, path + (key,))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            yield path + (i,)
            yield from _paths(inner, path + (i,))


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        doc = doc[key]
    doc[path[-1]] = value


def _states(doc: dict[str, Any]) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
    """(path to the state, the state) of every resource: preview steps or an export's resources."""
    if "steps" in doc:
        return [
            (("steps", i, "newState"), s["newState"]) for i, s in enumerate(doc["steps"]) if s.get("newState")
        ]
    resources = doc.get("deployment", {}).get("resources") or []
    return [(("deployment", "resources", i), r) for i, r in enumerate(resources)]


def _mutants(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for where, state in _states(doc):
        for part in ("inputs", "outputs"):
            props = state.get(part)
            if not isinstance(props, dict):
                continue
            for path in _paths(props):
                for wrong in WRONG_TYPES:
                    mutant = copy.deepcopy(doc)
                    _set(mutant, (*where, part, *path), copy.deepcopy(wrong))
                    name = state.get("urn", "?").rsplit("::", 1)[-1]
                    yield f"{name}:{part}.{'.'.join(map(str, path))}={type(wrong).__name__}", mutant


PFX = "urn:pulumi:prod::shop"
PROVIDER = f"{PFX}::pulumi:providers:aws::cn"
ARN = "arn:aws-cn"
ACCOUNT = "123456789012"

#: Resources of the types the depth rules read, with the inputs a program gives them (pulumi-aws v7).
CORPUS: dict[str, tuple[str, dict[str, Any]]] = {
    "cdn": (
        "aws:cloudfront/distribution:Distribution",
        {
            "enabled": True,
            "viewerCertificate": {"iamCertificateId": "ASCA1", "minimumProtocolVersion": "TLSv1.2_2021"},
            "defaultCacheBehavior": {"viewerProtocolPolicy": "redirect-to-https", "targetOriginId": "o"},
            "origins": [
                {
                    "originId": "o",
                    "domainName": "api.example.cn",
                    "customOriginConfig": {
                        "originProtocolPolicy": "https-only",
                        "originSslProtocols": ["TLSv1.2"],
                    },
                }
            ],
            "loggingConfig": {"bucket": "logs.s3.amazonaws.com.cn"},
            "tags": {"data-category": "user-uploads"},
        },
    ),
    "sub": (
        "aws:sns/topicSubscription:TopicSubscription",
        {
            "topic": f"{ARN}:sns:cn-north-1:{ACCOUNT}:t",
            "protocol": "sqs",
            "endpoint": f"{ARN}:sqs:cn-north-1:{ACCOUNT}:q",
        },
    ),
    "elb-policy": (
        "aws:elb/loadBalancerPolicy:LoadBalancerPolicy",
        {
            "loadBalancerName": "lb",
            "policyName": "tls",
            "policyTypeName": "SSLNegotiationPolicyType",
            "policyAttributes": [
                {"name": "Reference-Security-Policy", "value": "ELBSecurityPolicy-TLS-1-2-2017-01"}
            ],
        },
    ),
    "target": (
        "aws:cloudwatch/eventTarget:EventTarget",
        {"rule": "r", "arn": f"{ARN}:events:cn-north-1:{ACCOUNT}:event-bus/other"},
    ),
    "kafka": (
        "aws:msk/cluster:Cluster",
        {
            "clusterName": "k",
            "kafkaVersion": "3.6.0",
            "numberOfBrokerNodes": 2,
            "encryptionInfo": {
                "encryptionAtRestKmsKeyArn": f"{ARN}:kms:cn-north-1:{ACCOUNT}:key/k",
                "encryptionInTransit": {"clientBroker": "TLS", "inCluster": True},
            },
        },
    ),
    "dax": (
        "aws:dax/cluster:Cluster",
        {"nodeType": "dax.r4.large", "serverSideEncryption": {"enabled": True}},
    ),
    "db": (
        "aws:rds/instance:Instance",
        {
            "engine": "postgres",
            "storageEncrypted": True,
            "kmsKeyId": f"{ARN}:kms:cn-north-1:{ACCOUNT}:key/k",
            "backupRetentionPeriod": 7,
            "performanceInsightsEnabled": True,
            "performanceInsightsKmsKeyId": f"{ARN}:kms:cn-north-1:{ACCOUNT}:key/k",
            "enabledCloudwatchLogsExports": ["postgresql"],
            "tags": {"data-category": "account-registration"},
        },
    ),
    "plan": (
        "aws:backup/plan:Plan",
        {"rules": [{"ruleName": "daily", "targetVaultName": "v", "lifecycle": {"deleteAfter": 30}}]},
    ),
    "stream": (
        "aws:kinesis/stream:Stream",
        {"retentionPeriod": 24, "encryptionType": "KMS", "kmsKeyId": "alias/k"},
    ),
    "dms": (
        "aws:dms/endpoint:Endpoint",
        {"endpointId": "e", "endpointType": "target", "engineName": "s3", "s3Settings": {"bucketName": "b"}},
    ),
    "stage": (
        "aws:apigateway/stage:Stage",
        {
            "stageName": "prod",
            "restApi": "api",
            "accessLogSettings": {"destinationArn": "arn", "format": "$context"},
        },
    ),
    "domain": (
        "aws:apigateway/domainName:DomainName",
        {"domainName": "api.example.cn", "securityPolicy": "TLS_1_2"},
    ),
    "graphql": ("aws:appsync/graphQLApi:GraphQLApi", {"authenticationType": "AWS_IAM", "name": "g"}),
    "fn": (
        "aws:lambda/function:Function",
        {"runtime": "python3.12", "role": "r", "environment": {"variables": {"A": "b"}}, "kmsKeyArn": "k"},
    ),
    "eks": (
        "aws:eks/cluster:Cluster",
        {
            "roleArn": "r",
            "encryptionConfig": {"resources": ["secrets"], "provider": {"keyArn": "k"}},
            "enabledClusterLogTypes": ["audit", "api"],
            "vpcConfig": {"endpointPublicAccess": False, "publicAccessCidrs": ["10.0.0.0/8"]},
        },
    ),
    "vm": (
        "aws:ec2/instance:Instance",
        {
            "ami": "ami-1",
            "rootBlockDevice": {"encrypted": True, "kmsKeyId": "k"},
            "ebsBlockDevices": [{"deviceName": "/dev/sdf", "encrypted": True}],
        },
    ),
    "lt": (
        "aws:ec2/launchTemplate:LaunchTemplate",
        {"blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "true", "volumeSize": 8}}]},
    ),
    "users": (
        "aws:cognito/userPool:UserPool",
        {"name": "u", "tags": {"data-category": "account-registration"}},
    ),
    "wg": (
        "aws:athena/workgroup:Workgroup",
        {
            "name": "w",
            "configuration": {
                "resultConfiguration": {
                    "encryptionConfiguration": {"encryptionOption": "SSE_KMS", "kmsKeyArn": "k"}
                }
            },
        },
    ),
    "param": ("aws:ssm/parameter:Parameter", {"type": "SecureString", "value": "x", "keyId": "alias/k"}),
    "repo": (
        "aws:ecr/repository:Repository",
        {"encryptionConfigurations": [{"encryptionType": "KMS", "kmsKey": "k"}]},
    ),
    "docdb": ("aws:docdb/cluster:Cluster", {"storageEncrypted": True, "dbClusterParameterGroupName": "pg"}),
    "docdb-pg": (
        "aws:docdb/clusterParameterGroup:ClusterParameterGroup",
        {"name": "pg", "family": "docdb5.0", "parameters": [{"name": "tls", "value": "enabled"}]},
    ),
    "proxy": ("aws:rds/proxy:Proxy", {"engineFamily": "POSTGRESQL", "requireTls": True, "roleArn": "r"}),
    "mq": (
        "aws:mq/broker:Broker",
        {
            "engineType": "ActiveMQ",
            "publiclyAccessible": False,
            "encryptionOptions": {"useAwsOwnedKey": False, "kmsKeyId": "k"},
        },
    ),
    "glue-sec": (
        "aws:glue/securityConfiguration:SecurityConfiguration",
        {
            "encryptionConfiguration": {
                "cloudwatchEncryption": {"cloudwatchEncryptionMode": "SSE-KMS", "kmsKeyArn": "k"},
                "jobBookmarksEncryption": {"jobBookmarksEncryptionMode": "CSE-KMS", "kmsKeyArn": "k"},
                "s3Encryption": {"s3EncryptionMode": "SSE-KMS", "kmsKeyArn": "k"},
            }
        },
    ),
    "trail": (
        "aws:cloudtrail/trail:Trail",
        {
            "s3BucketName": "audit",
            "isMultiRegionTrail": True,
            "advancedEventSelectors": [
                {
                    "name": "data",
                    "fieldSelectors": [
                        {"field": "eventCategory", "equals": ["Data"]},
                        {"field": "resources.type", "equals": ["AWS::DynamoDB::Table"]},
                    ],
                }
            ],
        },
    ),
    "table": (
        "aws:dynamodb/table:Table",
        {
            "hashKey": "id",
            "pointInTimeRecovery": {"enabled": True, "recoveryPeriodInDays": 7},
            "replicas": [{"regionName": "cn-northwest-1", "kmsKeyArn": "k"}],
            "serverSideEncryption": {"enabled": True, "kmsKeyArn": "k"},
            "tags": {"data-category": "cookies"},
        },
    ),
    "role": (
        "aws:iam/role:Role",
        {
            "assumeRolePolicy": json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"AWS": f"{ARN}:iam::210987654321:root"},
                            "Action": "sts:AssumeRole",
                            "Condition": {"StringEquals": {"sts:ExternalId": "x"}},
                        }
                    ],
                }
            ),
            "managedPolicyArns": [f"{ARN}:iam::aws:policy/ReadOnlyAccess"],
        },
    ),
}


def _corpus_preview() -> dict[str, Any]:
    steps = [
        {
            "op": "create",
            "urn": PROVIDER,
            "newState": {
                "urn": PROVIDER,
                "type": "pulumi:providers:aws",
                "custom": True,
                "inputs": {"region": "cn-north-1"},
            },
        }
    ]
    for name, (type_, inputs) in CORPUS.items():
        urn = f"{PFX}::{type_}::{name}"
        state = {"urn": urn, "type": type_, "custom": True, "inputs": inputs, "provider": f"{PROVIDER}::id"}
        steps.append({"op": "create", "urn": urn, "newState": state})
    return {"config": {"aws:region": "cn-north-1"}, "steps": steps}


def _documents() -> list[tuple[str, Path]]:
    files = [EXAMPLES / "reference-compliant-preview.json", EXAMPLES / "global-template-preview.json"]
    files += sorted(PUBLIC_FIXTURES.glob("*.json")) + sorted(MORE.glob("*.json"))
    return [(f.name, f) for f in files if f.exists() and f.stat().st_size < 200_000]


def _load(path: Path | None) -> dict[str, Any]:
    return _corpus_preview() if path is None else json.loads(path.read_text(encoding="utf-8-sig"))


@pytest.mark.parametrize(
    ("name", "path"),
    [*_documents(), ("depth-corpus", None)],
    ids=[*(n for n, _ in _documents()), "depth-corpus"],
)
def test_no_rule_raises_on_a_value_of_the_wrong_type(name, path):
    doc = _load(path)
    if not isinstance(doc, dict):
        pytest.skip(f"{name} is not a JSON object")
    settings = default_catalog().settings()
    failures: list[str] = []
    count = 0
    for label, mutant in _mutants(doc):
        count += 1
        try:
            stack = stack_from_document(mutant, name, settings)
        except Exception as exc:  # noqa: BLE001 - an input error is a clean refusal, not a crash
            from policies.errors import InputError

            assert isinstance(exc, InputError), (label, exc)
            continue
        crashed = crashes(evaluate(stack))
        if crashed:
            failures.append(f"{label}: {crashed[0]}")
    if not count:
        # Components only, no properties: nothing to mutate in this file (it still parses above).
        assert not any(state.get("inputs") or state.get("outputs") for _, state in _states(doc)), name
    assert not failures, f"{len(failures)} of {count} mutants crashed a rule:\n" + "\n".join(failures[:60])
