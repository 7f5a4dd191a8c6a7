"""Deploy a Pulumi state onto the moto server, as `pulumi up` would, for the `residency audit` tests.

`deploy(states, url)` creates every KMS key, alias, bucket (with its side resources), IAM role and
role policy, DynamoDB table, CloudTrail trail, log group and RDS database the serialized states
declare, through boto3 over HTTP. What AWS assigns (a key's id, an auto-named policy's name) is written
back into the states' outputs, so a stack export built from them is what Pulumi would hold after
the deploy: `residency audit --against` it then reports no drift until the account is changed.
"""

from __future__ import annotations

import json
from typing import Any

import boto3

ACCOUNT = "123456789012"

_AWS_NAMES = {
    "id": "ID",
    "uri": "URI",
    "sseAlgorithm": "SSEAlgorithm",
    "kmsMasterKeyId": "KMSMasterKeyID",
    "replicaKmsKeyId": "ReplicaKmsKeyID",
    "sseKmsEncryptedObjects": "SseKmsEncryptedObjects",
}


def aws_shape(value: Any) -> Any:
    """pulumi-aws property names -> AWS API member names (the inverse of live_aws.pulumi_shape)."""
    if isinstance(value, dict):
        return {_AWS_NAMES.get(k, k[:1].upper() + k[1:]): aws_shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [aws_shape(v) for v in value]
    return value


def _props(state: dict[str, Any]) -> dict[str, Any]:
    return {**(state.get("outputs") or {}), **(state.get("inputs") or {})}


def _name(state: dict[str, Any]) -> str:
    return state["urn"].rsplit("::", 1)[-1]


def _set_output(state: dict[str, Any], **values: Any) -> None:
    state.setdefault("outputs", {}).update(values)
    state.setdefault("inputs", {}).update(values)


def remap(states: list[dict[str, Any]], mapping: dict[str, str]) -> list[dict[str, Any]]:
    """Every string of the states with the ids AWS assigned in place of the mocked ones."""
    text = json.dumps(states)
    for old, new in sorted(mapping.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(old, new)
    return json.loads(text)


def export(states: list[dict[str, Any]]) -> dict[str, Any]:
    """A `pulumi stack export` (version 3) holding the states."""
    return {"version": 3, "deployment": {"manifest": {"time": "2026-11-26T00:00:00Z"}, "resources": states}}


class Deployer:
    def __init__(self, url: str, region: str = "cn-north-1") -> None:
        self.url = url
        self.region = region
        self._clients: dict[tuple[str, str], Any] = {}

    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region or self.region)
        if key not in self._clients:
            self._clients[key] = boto3.client(
                service,
                endpoint_url=self.url,
                region_name=key[1],
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
        return self._clients[key]

    def deploy(self, states: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Create what the states declare; returns the states as Pulumi would hold them afterwards."""
        by_type: dict[str, list[dict[str, Any]]] = {}
        for state in states:
            by_type.setdefault(state["type"].replace("V2:", ":").replace("V2", ""), []).append(state)

        def of(*suffixes: str) -> list[dict[str, Any]]:
            return [s for t, items in by_type.items() if t.rsplit(":", 1)[-1] in suffixes for s in items]

        mapping: dict[str, str] = {}
        kms = self.client("kms")
        for state in of("Key"):
            p = _props(state)
            tags = [{"TagKey": k, "TagValue": str(v)} for k, v in (p.get("tags") or {}).items()]
            meta = kms.create_key(Description=p.get("description") or "", Tags=tags)["KeyMetadata"]
            if p.get("policy"):
                kms.put_key_policy(KeyId=meta["KeyId"], PolicyName="default", Policy=p["policy"])
            if p.get("enableKeyRotation"):
                kms.enable_key_rotation(KeyId=meta["KeyId"])
            for old in (p.get("arn"), p.get("keyId")):
                if isinstance(old, str):
                    mapping[old] = meta["Arn"] if old.startswith("arn:") else meta["KeyId"]
        states = remap(states, mapping)
        return self._rest(states, mapping)

    def _rest(self, states: list[dict[str, Any]], mapping: dict[str, str]) -> list[dict[str, Any]]:
        def of(*classes: str) -> list[dict[str, Any]]:
            return [s for s in states if s["type"].rsplit(":", 1)[-1].removesuffix("V2") in classes]

        kms = self.client("kms")
        for state in of("Alias"):
            p = _props(state)
            kms.create_alias(AliasName=p["name"], TargetKeyId=p["targetKeyId"])
        buckets: dict[str, str] = {}
        for state in of("Bucket"):
            p = _props(state)
            name = p.get("bucket") or _name(state)
            region = p.get("region") or self.region
            s3 = self.client("s3", region)
            s3.create_bucket(
                Bucket=name,
                CreateBucketConfiguration={"LocationConstraint": region},
                ObjectLockEnabledForBucket=bool(p.get("objectLockEnabled")),
            )
            if p.get("tags"):
                s3.put_bucket_tagging(
                    Bucket=name,
                    Tagging={"TagSet": [{"Key": k, "Value": str(v)} for k, v in p["tags"].items()]},
                )
            buckets[name] = region
            _set_output(state, bucket=name)
        order = [
            "BucketVersioning",
            "BucketServerSideEncryptionConfiguration",
            "BucketPublicAccessBlock",
            # Before logging: moto writes access logs into the target, and a lock needs an empty bucket.
            "BucketObjectLockConfiguration",
            # Before the policies: moto cannot read a target bucket policy with `Principal: "*"`, so the
            # seeding grants log delivery through the ACL for the call and sets it back to private.
            "BucketLogging",
            "BucketPolicy",
            "BucketLifecycleConfiguration",
        ]
        for cls in order:
            for state in of(cls):
                p = _props(state)
                bucket = p["bucket"]
                s3 = self.client("s3", buckets.get(bucket))
                if cls == "BucketVersioning":
                    config = p["versioningConfiguration"]
                    s3.put_bucket_versioning(
                        Bucket=bucket, VersioningConfiguration={"Status": config["status"]}
                    )
                elif cls == "BucketServerSideEncryptionConfiguration":
                    s3.put_bucket_encryption(
                        Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": aws_shape(p["rules"])}
                    )
                elif cls == "BucketPublicAccessBlock":
                    keys = (
                        "blockPublicAcls",
                        "blockPublicPolicy",
                        "ignorePublicAcls",
                        "restrictPublicBuckets",
                    )
                    s3.put_public_access_block(
                        Bucket=bucket,
                        PublicAccessBlockConfiguration=aws_shape({k: bool(p.get(k)) for k in keys}),
                    )
                elif cls == "BucketPolicy":
                    s3.put_bucket_policy(Bucket=bucket, Policy=p["policy"])
                elif cls == "BucketObjectLockConfiguration":
                    s3.put_object_lock_configuration(
                        Bucket=bucket,
                        ObjectLockConfiguration={
                            "ObjectLockEnabled": "Enabled",
                            "Rule": aws_shape(p["rule"]),
                        },
                    )
                elif cls == "BucketLifecycleConfiguration":
                    s3.put_bucket_lifecycle_configuration(
                        Bucket=bucket, LifecycleConfiguration={"Rules": aws_shape(p["rules"])}
                    )
                elif cls == "BucketLogging":
                    target = self.client("s3", buckets.get(p["targetBucket"]))
                    target.put_bucket_acl(Bucket=p["targetBucket"], ACL="log-delivery-write")
                    s3.put_bucket_logging(
                        Bucket=bucket,
                        BucketLoggingStatus={
                            "LoggingEnabled": {
                                "TargetBucket": p["targetBucket"],
                                "TargetPrefix": p.get("targetPrefix", ""),
                            }
                        },
                    )
                    target.put_bucket_acl(Bucket=p["targetBucket"], ACL="private")
        iam = self.client("iam")
        for state in of("Role"):
            p = _props(state)
            name = p.get("name") or _name(state)
            iam.create_role(
                RoleName=name,
                AssumeRolePolicyDocument=p["assumeRolePolicy"],
                Tags=[{"Key": k, "Value": str(v)} for k, v in (p.get("tags") or {}).items()],
            )
            _set_output(state, name=name)
        for state in of("RolePolicy"):
            p = _props(state)
            name = p.get("name") or _name(state)
            iam.put_role_policy(
                RoleName=p["role"].rsplit("/", 1)[-1], PolicyName=name, PolicyDocument=p["policy"]
            )
            _set_output(state, name=name)
        for state in of("BucketReplicationConfig"):
            p = _props(state)
            s3 = self.client("s3", buckets.get(p["bucket"]))
            s3.put_bucket_replication(
                Bucket=p["bucket"],
                ReplicationConfiguration={"Role": p["role"], "Rules": aws_shape(p["rules"])},
            )
        ddb = self.client("dynamodb")
        for state in of("Table"):
            p = _props(state)
            args: dict[str, Any] = {
                "TableName": p["name"],
                "KeySchema": [{"AttributeName": p["hashKey"], "KeyType": "HASH"}],
                "AttributeDefinitions": [
                    {"AttributeName": a["name"], "AttributeType": a["type"]} for a in p["attributes"]
                ],
                "BillingMode": p.get("billingMode", "PAY_PER_REQUEST"),
                "Tags": [{"Key": k, "Value": str(v)} for k, v in (p.get("tags") or {}).items()],
            }
            if p.get("rangeKey"):
                args["KeySchema"].append({"AttributeName": p["rangeKey"], "KeyType": "RANGE"})
            sse = p.get("serverSideEncryption") or {}
            if sse.get("enabled"):
                args["SSESpecification"] = {
                    "Enabled": True,
                    "SSEType": "KMS",
                    "KMSMasterKeyId": sse.get("kmsKeyArn"),
                }
            ddb.create_table(**args)
            ttl = p.get("ttl") or {}
            if ttl.get("enabled"):
                ddb.update_time_to_live(
                    TableName=p["name"],
                    TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["attributeName"]},
                )
            if (p.get("pointInTimeRecovery") or {}).get("enabled"):
                ddb.update_continuous_backups(
                    TableName=p["name"], PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
                )
        logs = self.client("logs")
        for state in of("LogGroup"):
            p = _props(state)
            args = {"logGroupName": p["name"], "tags": {k: str(v) for k, v in (p.get("tags") or {}).items()}}
            if p.get("kmsKeyId"):
                args["kmsKeyId"] = p["kmsKeyId"]
            logs.create_log_group(**args)
            if p.get("retentionInDays"):
                logs.put_retention_policy(logGroupName=p["name"], retentionInDays=p["retentionInDays"])
        rds = self.client("rds")
        for state in of("ParameterGroup"):
            p = _props(state)
            rds.create_db_parameter_group(
                DBParameterGroupName=p["name"],
                DBParameterGroupFamily=p["family"],
                Description="residency test",
            )
            rds.modify_db_parameter_group(
                DBParameterGroupName=p["name"],
                Parameters=[
                    {
                        "ParameterName": x["name"],
                        "ParameterValue": x["value"],
                        "ApplyMethod": x.get("applyMethod", "pending-reboot"),
                    }
                    for x in p.get("parameters") or ()
                ],
            )
        for state in of("Instance"):
            if not state["type"].startswith("aws:rds/"):
                continue
            p = _props(state)
            identifier = p.get("identifier") or _name(state)
            rds.create_db_instance(
                DBInstanceIdentifier=identifier,
                Engine=p["engine"],
                EngineVersion=p.get("engineVersion", ""),
                DBInstanceClass=p.get("instanceClass", "db.t4g.medium"),
                AllocatedStorage=int(p.get("allocatedStorage", 20)),
                StorageEncrypted=bool(p.get("storageEncrypted")),
                KmsKeyId=p.get("kmsKeyId", ""),
                DBParameterGroupName=p.get("parameterGroupName", ""),
                PubliclyAccessible=bool(p.get("publiclyAccessible")),
                MasterUsername=p.get("username", "admin"),
                MasterUserPassword="not-a-real-password-1",
                EnableCloudwatchLogsExports=list(p.get("enabledCloudwatchLogsExports") or []),
                EnablePerformanceInsights=bool(p.get("performanceInsightsEnabled")),
                Tags=[{"Key": k, "Value": str(v)} for k, v in (p.get("tags") or {}).items()],
            )
            _set_output(state, identifier=identifier)
        trail_client = self.client("cloudtrail")
        for state in of("Trail"):
            p = _props(state)
            trail = trail_client.create_trail(
                Name=p["name"],
                S3BucketName=p["s3BucketName"],
                S3KeyPrefix=p.get("s3KeyPrefix", ""),
                KmsKeyId=p.get("kmsKeyId", ""),
                EnableLogFileValidation=bool(p.get("enableLogFileValidation")),
                IsMultiRegionTrail=bool(p.get("isMultiRegionTrail")),
                IncludeGlobalServiceEvents=bool(p.get("includeGlobalServiceEvents", True)),
            )
            if p.get("eventSelectors"):
                trail_client.put_event_selectors(
                    TrailName=p["name"], EventSelectors=aws_shape(p["eventSelectors"])
                )
            if p.get("advancedEventSelectors"):
                trail_client.put_event_selectors(
                    TrailName=p["name"], AdvancedEventSelectors=aws_shape(p["advancedEventSelectors"])
                )
            if p.get("enableLogging", True):
                trail_client.start_logging(Name=p["name"])
            _set_output(state, arn=trail["TrailARN"])
        return states
