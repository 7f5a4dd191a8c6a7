"""PUSHAUCTION's reference stack, as `pulumi preview --json` would print it.

One "unit" is what a team deploys for a data category: a KMS key, a personal-data bucket with all
its side resources, an audit-log bucket with Object Lock, a DynamoDB table, a PostgreSQL database
with a TLS-forcing parameter group, a CloudTrail trail with S3 and DynamoDB data events, a log group and an
application role with a least-privilege policy. `compliant_unit` passes every rule;
`noncompliant_unit` is the same stack copied from a global template (us-west-2, AES256, public,
no TLS, wildcards) and fails most of them.

The bundled examples (`policies/examples/*.json`) and the benchmark's synthetic stacks are built
from these units, so the demo, the tests and the benchmark exercise the same realistic shapes.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

ACCOUNT = "123456789012"
PROJECT = "pushauction-data"
STACK = "prod"
PFX = f"urn:pulumi:{STACK}::{PROJECT}"
STACK_URN = f"{PFX}::pulumi:pulumi:Stack::{PROJECT}-{STACK}"


def _urn(type_: str, name: str, parent_type: str | None = None) -> str:
    qualified = f"{parent_type}${type_}" if parent_type else type_
    return f"{PFX}::{qualified}::{name}"


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, indent=2)


def _step(
    type_: str,
    name: str,
    inputs: dict[str, Any],
    outputs: dict[str, Any] | None = None,
    *,
    provider: str | None,
    op: str = "same",
    deps: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    urn = _urn(type_, name)
    state: dict[str, Any] = {
        "urn": urn,
        "custom": True,
        "type": type_,
        "inputs": inputs,
        "outputs": {**inputs, **(outputs or {})},
        "parent": STACK_URN,
        "provider": provider,
        "dependencies": sorted({d for ds in (deps or {}).values() for d in ds}),
        "propertyDependencies": deps or {},
    }
    step: dict[str, Any] = {"op": op, "urn": urn, "provider": provider, "newState": state}
    if op in ("same", "update"):
        step["oldState"] = state
    return step


def compliant_unit(suffix: str = "", region: str = "cn-north-1", op: str = "same") -> list[dict[str, Any]]:
    """One data category's storage, compliant with every rule."""
    partition = "aws-cn"
    p_urn = _urn("pulumi:providers:aws", f"china{suffix}")
    provider = f"{p_urn}::a1b2c3d4-0000-4000-8000-{zlib.crc32(suffix.encode()) % 10**12:012d}"
    key_arn = f"arn:{partition}:kms:{region}:{ACCOUNT}:key/0b9d2f3e-aaaa-4bbb-8ccc-{zlib.crc32((suffix + 'k').encode()) % 10**12:012d}"
    uploads = f"pushauction-{STACK}-user-uploads{suffix}"
    audit = f"pushauction-{STACK}-audit-logs{suffix}"
    table = f"pushauction-{STACK}-accounts{suffix}"
    role_arn = f"arn:{partition}:iam::{ACCOUNT}:role/uploads-app{suffix}"
    trail_arn = f"arn:{partition}:cloudtrail:{region}:{ACCOUNT}:trail/pushauction-audit{suffix}"
    key_urn = _urn("aws:kms/key:Key", f"data-key{suffix}")
    uploads_urn = _urn("aws:s3/bucketV2:BucketV2", f"user-uploads{suffix}")
    audit_urn = _urn("aws:s3/bucketV2:BucketV2", f"audit-logs{suffix}")
    tls_deny = [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [f"arn:{partition}:s3:::{{b}}", f"arn:{partition}:s3:::{{b}}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
        {
            "Sid": "DenyOutdatedTls",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [f"arn:{partition}:s3:::{{b}}", f"arn:{partition}:s3:::{{b}}/*"],
            "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}},
        },
    ]

    def tls_statements(bucket: str) -> list[dict[str, Any]]:
        return json.loads(json.dumps(tls_deny).replace("{b}", bucket))

    def sse(bucket: str, name: str, bucket_urn: str) -> dict[str, Any]:
        return _step(
            "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
            name,
            {
                "bucket": bucket,
                "rules": [
                    {
                        "applyServerSideEncryptionByDefault": {
                            "sseAlgorithm": "aws:kms",
                            "kmsMasterKeyId": key_arn,
                        },
                        "bucketKeyEnabled": True,
                    }
                ],
            },
            provider=provider,
            op=op,
            deps={"bucket": [bucket_urn], "rules": [key_urn]},
        )

    def pab(bucket: str, name: str, bucket_urn: str) -> dict[str, Any]:
        return _step(
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
            name,
            {
                "bucket": bucket,
                "blockPublicAcls": True,
                "blockPublicPolicy": True,
                "ignorePublicAcls": True,
                "restrictPublicBuckets": True,
            },
            provider=provider,
            op=op,
            deps={"bucket": [bucket_urn]},
        )

    def versioning(bucket: str, name: str, bucket_urn: str) -> dict[str, Any]:
        return _step(
            "aws:s3/bucketVersioningV2:BucketVersioningV2",
            name,
            {"bucket": bucket, "versioningConfiguration": {"status": "Enabled"}},
            provider=provider,
            op=op,
            deps={"bucket": [bucket_urn]},
        )

    return [
        _step(
            "pulumi:providers:aws",
            f"china{suffix}",
            {"region": region, "version": "6.66.0", "skipCredentialsValidation": "false"},
            provider=None,
            op=op,
        ),
        _step(
            "aws:kms/key:Key",
            f"data-key{suffix}",
            {
                "description": "PUSHAUCTION personal data key",
                "enableKeyRotation": True,
                "deletionWindowInDays": 30,
                "policy": _doc(
                    {
                        "Sid": "AccountAdministration",
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:{partition}:iam::{ACCOUNT}:root"},
                        "Action": "kms:*",
                        "Resource": "*",
                    },
                    {
                        "Sid": "CloudTrailEncryptLogs",
                        "Effect": "Allow",
                        "Principal": {"Service": "cloudtrail.amazonaws.com"},
                        "Action": "kms:GenerateDataKey*",
                        "Resource": "*",
                        "Condition": {"StringEquals": {"aws:SourceArn": trail_arn}},
                    },
                ),
                "tags": {"data-category": "account-registration"},
            },
            {"arn": key_arn, "keyId": key_arn.rsplit("/", 1)[-1]},
            provider=provider,
            op=op,
        ),
        # --- audit-log bucket: Object Lock, kept >= 180 days, never public -------------------
        _step(
            "aws:s3/bucketV2:BucketV2",
            f"audit-logs{suffix}",
            {"bucket": audit, "objectLockEnabled": True, "tags": {"data-category": "audit-logs"}},
            {"arn": f"arn:{partition}:s3:::{audit}", "id": audit},
            provider=provider,
            op=op,
        ),
        sse(audit, f"audit-logs-sse{suffix}", audit_urn),
        pab(audit, f"audit-logs-pab{suffix}", audit_urn),
        versioning(audit, f"audit-logs-versioning{suffix}", audit_urn),
        _step(
            "aws:s3/bucketObjectLockConfigurationV2:BucketObjectLockConfigurationV2",
            f"audit-logs-lock{suffix}",
            {
                "bucket": audit,
                "objectLockEnabled": "Enabled",
                "rule": {"defaultRetention": {"mode": "COMPLIANCE", "days": 180}},
            },
            provider=provider,
            op=op,
            deps={"bucket": [audit_urn]},
        ),
        _step(
            "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
            f"audit-logs-lifecycle{suffix}",
            {
                "bucket": audit,
                "rules": [
                    {
                        "id": "expire-audit-logs",
                        "status": "Enabled",
                        "filter": {"prefix": ""},
                        "expiration": {"days": 1095},
                        "noncurrentVersionExpiration": {"noncurrentDays": 1095},
                    }
                ],
            },
            provider=provider,
            op=op,
            deps={"bucket": [audit_urn]},
        ),
        _step(
            "aws:s3/bucketPolicy:BucketPolicy",
            f"audit-logs-policy{suffix}",
            {
                "bucket": audit,
                "policy": _doc(
                    *tls_statements(audit),
                    {
                        "Sid": "CloudTrailAclCheck",
                        "Effect": "Allow",
                        "Principal": {"Service": "cloudtrail.amazonaws.com"},
                        "Action": "s3:GetBucketAcl",
                        "Resource": f"arn:{partition}:s3:::{audit}",
                        "Condition": {"StringEquals": {"aws:SourceArn": trail_arn}},
                    },
                    {
                        "Sid": "CloudTrailWrite",
                        "Effect": "Allow",
                        "Principal": {"Service": "cloudtrail.amazonaws.com"},
                        "Action": "s3:PutObject",
                        "Resource": f"arn:{partition}:s3:::{audit}/cloudtrail/AWSLogs/{ACCOUNT}/*",
                        "Condition": {
                            "StringEquals": {
                                "aws:SourceArn": trail_arn,
                                "s3:x-amz-acl": "bucket-owner-full-control",
                            }
                        },
                    },
                    {
                        "Sid": "S3ServerAccessLogs",
                        "Effect": "Allow",
                        "Principal": {"Service": "logging.s3.amazonaws.com"},
                        "Action": "s3:PutObject",
                        "Resource": f"arn:{partition}:s3:::{audit}/s3/*",
                        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
                    },
                ),
            },
            provider=provider,
            op=op,
            deps={"bucket": [audit_urn]},
        ),
        # --- personal-data bucket: user uploads ------------------------------------------------
        _step(
            "aws:s3/bucketV2:BucketV2",
            f"user-uploads{suffix}",
            {"bucket": uploads, "tags": {"data-category": "user-uploads"}},
            {"arn": f"arn:{partition}:s3:::{uploads}", "id": uploads},
            provider=provider,
            op=op,
        ),
        sse(uploads, f"user-uploads-sse{suffix}", uploads_urn),
        pab(uploads, f"user-uploads-pab{suffix}", uploads_urn),
        versioning(uploads, f"user-uploads-versioning{suffix}", uploads_urn),
        _step(
            "aws:s3/bucketLoggingV2:BucketLoggingV2",
            f"user-uploads-logging{suffix}",
            {"bucket": uploads, "targetBucket": audit, "targetPrefix": f"s3/{uploads}/"},
            provider=provider,
            op=op,
            deps={"bucket": [uploads_urn], "targetBucket": [audit_urn]},
        ),
        _step(
            "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
            f"user-uploads-lifecycle{suffix}",
            {
                "bucket": uploads,
                "rules": [
                    {
                        "id": "expire-uploads",
                        "status": "Enabled",
                        "filter": {"prefix": ""},
                        "expiration": {"days": 365},
                        "noncurrentVersionExpiration": {"noncurrentDays": 7},
                        "abortIncompleteMultipartUpload": {"daysAfterInitiation": 1},
                    }
                ],
            },
            provider=provider,
            op=op,
            deps={"bucket": [uploads_urn]},
        ),
        _step(
            "aws:s3/bucketPolicy:BucketPolicy",
            f"user-uploads-policy{suffix}",
            {
                "bucket": uploads,
                "policy": _doc(
                    *tls_statements(uploads),
                    {
                        "Sid": "AppReadWrite",
                        "Effect": "Allow",
                        "Principal": {"AWS": role_arn},
                        "Action": ["s3:GetObject", "s3:PutObject"],
                        "Resource": f"arn:{partition}:s3:::{uploads}/*",
                    },
                ),
            },
            provider=provider,
            op=op,
            deps={"bucket": [uploads_urn]},
        ),
        # --- account registration table -------------------------------------------------------
        _step(
            "aws:dynamodb/table:Table",
            f"accounts{suffix}",
            {
                "name": table,
                "billingMode": "PAY_PER_REQUEST",
                "hashKey": "userId",
                "attributes": [{"name": "userId", "type": "S"}],
                "serverSideEncryption": {"enabled": True, "kmsKeyArn": key_arn},
                "pointInTimeRecovery": {"enabled": True},
                "deletionProtectionEnabled": True,
                "ttl": {"enabled": True, "attributeName": "expiresAt"},
                "tags": {"data-category": "account-registration"},
            },
            {"arn": f"arn:{partition}:dynamodb:{region}:{ACCOUNT}:table/{table}"},
            provider=provider,
            op=op,
            deps={"serverSideEncryption": [key_urn]},
        ),
        # --- PostgreSQL with TLS forced ----------------------------------------------------------
        _step(
            "aws:rds/parameterGroup:ParameterGroup",
            f"accounts-db-params{suffix}",
            {
                "name": f"pushauction-pg16{suffix}",
                "family": "postgres16",
                "parameters": [{"name": "rds.force_ssl", "value": "1", "applyMethod": "pending-reboot"}],
            },
            provider=provider,
            op=op,
        ),
        _step(
            "aws:rds/instance:Instance",
            f"accounts-db{suffix}",
            {
                "engine": "postgres",
                "engineVersion": "16.4",
                "instanceClass": "db.t4g.medium",
                "allocatedStorage": 50,
                "storageEncrypted": True,
                "kmsKeyId": key_arn,
                "parameterGroupName": f"pushauction-pg16{suffix}",
                "publiclyAccessible": False,
                "manageMasterUserPassword": True,
                "masterUserSecretKmsKeyId": key_arn,
                "username": "pushauction",
                "backupRetentionPeriod": 7,
                "deletionProtection": True,
                # Connections and statements go to CloudWatch Logs (AUD-004).
                "enabledCloudwatchLogsExports": ["postgresql"],
                "tags": {"data-category": "account-registration"},
            },
            {"arn": f"arn:{partition}:rds:{region}:{ACCOUNT}:db:accounts-db{suffix}"},
            provider=provider,
            op=op,
            deps={
                "parameterGroupName": [
                    _urn("aws:rds/parameterGroup:ParameterGroup", f"accounts-db-params{suffix}")
                ],
                "kmsKeyId": [key_urn],
            },
        ),
        # --- audit trail with S3 and DynamoDB data events -----------------------------------------------------
        _step(
            "aws:cloudtrail/trail:Trail",
            f"audit-trail{suffix}",
            {
                "name": f"pushauction-audit{suffix}",
                "s3BucketName": audit,
                "s3KeyPrefix": "cloudtrail",
                "kmsKeyId": key_arn,
                "enableLogFileValidation": True,
                "isMultiRegionTrail": True,
                "includeGlobalServiceEvents": True,
                "eventSelectors": [
                    {
                        "readWriteType": "All",
                        "includeManagementEvents": True,
                        "dataResources": [
                            {"type": "AWS::S3::Object", "values": [f"arn:{partition}:s3:::{uploads}/"]},
                            {
                                "type": "AWS::DynamoDB::Table",
                                "values": [f"arn:{partition}:dynamodb:{region}:{ACCOUNT}:table/{table}"],
                            },
                        ],
                    }
                ],
            },
            {"arn": trail_arn},
            provider=provider,
            op=op,
            deps={"s3BucketName": [audit_urn], "kmsKeyId": [key_urn]},
        ),
        # --- server logs ------------------------------------------------------------------------------
        _step(
            "aws:cloudwatch/logGroup:LogGroup",
            f"app-logs{suffix}",
            {
                "name": f"/pushauction/app{suffix}",
                "retentionInDays": 180,
                "kmsKeyId": key_arn,
                "tags": {"data-category": "server-logs"},
            },
            provider=provider,
            op=op,
            deps={"kmsKeyId": [key_urn]},
        ),
        # --- the application's role: exact ARNs, no wildcards -------------------------------------
        _step(
            "aws:iam/role:Role",
            f"uploads-app{suffix}",
            {
                "name": f"uploads-app{suffix}",
                "assumeRolePolicy": _doc(
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
                    }
                ),
            },
            {"arn": role_arn},
            provider=provider,
            op=op,
        ),
        _step(
            "aws:iam/rolePolicy:RolePolicy",
            f"uploads-app-access{suffix}",
            {
                "role": f"uploads-app{suffix}",
                "policy": _doc(
                    {
                        "Sid": "Uploads",
                        "Effect": "Allow",
                        "Action": ["s3:GetObject", "s3:PutObject"],
                        "Resource": f"arn:{partition}:s3:::{uploads}/*",
                    },
                    {
                        "Sid": "Accounts",
                        "Effect": "Allow",
                        "Action": [
                            "dynamodb:GetItem",
                            "dynamodb:PutItem",
                            "dynamodb:UpdateItem",
                            "dynamodb:Query",
                        ],
                        "Resource": f"arn:{partition}:dynamodb:{region}:{ACCOUNT}:table/{table}",
                    },
                    {
                        "Sid": "DataKey",
                        "Effect": "Allow",
                        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                        "Resource": key_arn,
                    },
                ),
            },
            provider=provider,
            op=op,
        ),
    ]


def noncompliant_unit(suffix: str = "", region: str = "us-west-2") -> list[dict[str, Any]]:
    """The same storage copied from a global template: wrong region, weak settings (pulumi-aws v7)."""
    p_urn = _urn("pulumi:providers:aws", f"global{suffix}")
    provider = f"{p_urn}::f0e1d2c3-0000-4000-8000-000000000000"
    bucket = f"pushauction-{STACK}-crash-dumps{suffix}"
    bucket_urn = _urn("aws:s3/bucket:Bucket", f"crash-dumps{suffix}")
    return [
        _step(
            "pulumi:providers:aws",
            f"global{suffix}",
            {"region": region, "version": "7.12.0"},
            provider=None,
            op="create",
        ),
        _step(
            "aws:s3/bucket:Bucket",
            f"crash-dumps{suffix}",
            {"bucket": bucket, "region": region},
            {"arn": f"arn:aws:s3:::{bucket}"},
            provider=provider,
            op="create",
        ),
        _step(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            f"crash-dumps-sse{suffix}",
            {"bucket": bucket, "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]},
            provider=provider,
            op="create",
            deps={"bucket": [bucket_urn]},
        ),
        _step(
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
            f"crash-dumps-pab{suffix}",
            {
                "bucket": bucket,
                "blockPublicAcls": True,
                "blockPublicPolicy": False,
                "ignorePublicAcls": True,
                "restrictPublicBuckets": False,
            },
            provider=provider,
            op="create",
            deps={"bucket": [bucket_urn]},
        ),
        _step(
            "aws:s3/bucketPolicy:BucketPolicy",
            f"crash-dumps-policy{suffix}",
            {
                "bucket": bucket,
                "policy": _doc(
                    {
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": f"arn:aws:s3:::{bucket}/*",
                    }
                ),
            },
            provider=provider,
            op="create",
            deps={"bucket": [bucket_urn]},
        ),
        _step(
            "aws:dynamodb/table:Table",
            f"sessions{suffix}",
            {
                "name": f"sessions{suffix}",
                "hashKey": "id",
                "billingMode": "PAY_PER_REQUEST",
                "attributes": [{"name": "id", "type": "S"}],
                "replicas": [{"regionName": "us-east-1"}],
                "region": region,
                "tags": {"data-category": "cookies"},
            },
            provider=provider,
            op="create",
        ),
        _step(
            "aws:kms/key:Key",
            f"global-key{suffix}",
            {"description": "copied from the global template", "region": region},
            provider=provider,
            op="create",
        ),
        _step(
            "aws:iam/role:Role",
            f"crash-reader{suffix}",
            {
                "name": f"crash-reader{suffix}",
                "region": region,
                "assumeRolePolicy": _doc(
                    {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
                ),
            },
            provider=provider,
            op="create",
        ),
        _step(
            "aws:iam/rolePolicy:RolePolicy",
            f"crash-reader-policy{suffix}",
            {
                "role": f"crash-reader{suffix}",
                "policy": _doc(
                    {"Sid": "Everything", "Effect": "Allow", "Action": "s3:*", "Resource": "*"},
                    {"Sid": "PassAnyRole", "Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"},
                ),
            },
            provider=provider,
            op="create",
        ),
        _step(
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
            f"crash-reader-admin{suffix}",
            {"role": f"crash-reader{suffix}", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
            provider=provider,
            op="create",
        ),
        _step(
            "aws:cloudwatch/logGroup:LogGroup",
            f"crash-logs{suffix}",
            {
                "name": f"/pushauction/crash{suffix}",
                "region": region,
                "tags": {"data-category": "crash-diagnostics"},
            },
            provider=provider,
            op="create",
        ),
        _step(
            "aws:lb/listener:Listener",
            f"web-http{suffix}",
            {
                "loadBalancerArn": f"arn:aws:elasticloadbalancing:{region}:{ACCOUNT}:loadbalancer/app/web/1",
                "port": 80,
                "protocol": "HTTP",
                "region": region,
                "defaultActions": [
                    {
                        "type": "forward",
                        "targetGroupArn": f"arn:aws:elasticloadbalancing:{region}:{ACCOUNT}:targetgroup/web/1",
                    }
                ],
            },
            provider=provider,
            op="create",
        ),
    ]


def stack_step() -> dict[str, Any]:
    state = {"urn": STACK_URN, "custom": False, "type": "pulumi:pulumi:Stack"}
    return {"op": "same", "urn": STACK_URN, "oldState": state, "newState": state}


def preview(steps: list[dict[str, Any]], region: str = "cn-north-1") -> dict[str, Any]:
    from collections import Counter

    return {
        "config": {"aws:region": region, f"{PROJECT}:environment": STACK},
        "steps": [stack_step(), *steps],
        "duration": 1850000000,
        "changeSummary": dict(Counter(s["op"] for s in steps) + Counter({"same": 1})),
    }


def synthetic_preview(units: int, *, noncompliant_every: int = 10) -> dict[str, Any]:
    """`units` reference units (22 resources each); every Nth one is the non-compliant variant."""
    steps: list[dict[str, Any]] = []
    for i in range(units):
        if noncompliant_every and i % noncompliant_every == noncompliant_every - 1:
            steps.extend(noncompliant_unit(f"-{i}"))
        else:
            steps.extend(compliant_unit(f"-{i}", region="cn-north-1" if i % 2 else "cn-northwest-1"))
    return preview(steps)


def write_examples(folder: str) -> None:
    """Regenerate the bundled example files: `python -m policies.examples.reference policies/examples`."""
    from pathlib import Path

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    (out / "reference-compliant-preview.json").write_text(
        json.dumps(preview(compliant_unit()), indent=2) + "\n"
    )
    (out / "global-template-preview.json").write_text(
        json.dumps(preview(noncompliant_unit()), indent=2) + "\n"
    )


if __name__ == "__main__":
    import sys

    write_examples(sys.argv[1] if len(sys.argv) > 1 else "policies/examples")


def as_pulumi_aws_v7(doc: dict[str, Any]) -> dict[str, Any]:
    """The same preview as pulumi-aws v7 prints it: `Bucket` for BucketV2, side resources without V2."""
    import re

    text = json.dumps(doc)
    text = text.replace("aws:s3/bucketV2:BucketV2", "aws:s3/bucket:Bucket")
    text = re.sub(r"(aws:s3/bucket[A-Za-z]+)V2:(Bucket[A-Za-z]+)V2", r"\1:\2", text)
    return json.loads(text.replace('"version": "6.66.0"', '"version": "7.12.0"'))


def as_stack_export(doc: dict[str, Any], version: int = 3) -> dict[str, Any]:
    """The deployed state of a preview's resources, as `pulumi stack export` prints it."""
    resources = []
    for step in doc["steps"]:
        state = dict(step.get("newState") or step["oldState"])
        if state.get("custom") and state["type"] != "pulumi:providers:aws":
            state.setdefault("id", state["urn"].rsplit("::", 1)[-1])
        resources.append(state)
    return {
        "version": version,
        "deployment": {
            "manifest": {"time": "2026-11-01T00:00:00Z", "magic": "", "version": "v3.200.0"},
            "secrets_providers": {"type": "service"},
            "resources": resources,
        },
    }
