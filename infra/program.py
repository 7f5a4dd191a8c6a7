"""The reference stack: every data category of the stack config, stored compliant by construction.

`run()` is the whole program (`infra/__main__.py` calls it): validate the stack config against the
catalogue, then declare the resources with one explicit AWS provider pinned to the stack's region.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pulumi
from pulumi_aws import Provider, get_caller_identity_output

from infra.buckets import (
    AuditLogBucket,
    AuditLogBucketArgs,
    PersonalDataBucket,
    PersonalDataBucketArgs,
    ReplicaTarget,
)
from infra.config import StackConfig, load_config, raw_from_pulumi
from infra.kms_key import KmsKey, KmsKeyArgs
from infra.place import Place
from infra.roles import ApplicationRole, ApplicationRoleArgs
from infra.table import PersonalDataTable, PersonalDataTableArgs
from infra.trail import AuditTrail, AuditTrailArgs


def bucket_name(prefix: str, what: str, region: str) -> str:
    """Bucket names are global: the region is part of the name, so DR stacks never collide."""
    return f"{prefix}-{what}-{region}"


def app_role_name(prefix: str, category: str) -> str:
    return f"{prefix}-{category}-app"[:64]


@dataclass
class Declared:
    """What the program declared, for tests and stack outputs."""

    provider: Provider
    data_key: KmsKey
    audit_key: KmsKey
    audit_buckets: list[AuditLogBucket] = field(default_factory=list)
    buckets: dict[str, PersonalDataBucket] = field(default_factory=dict)
    tables: dict[str, PersonalDataTable] = field(default_factory=dict)
    roles: dict[str, ApplicationRole] = field(default_factory=dict)
    trail: AuditTrail | None = None


def run() -> Declared:
    """The program: refuse a non-compliant config before declaring anything, then declare."""
    return declare(load_config(raw_from_pulumi()))


def declare(config: StackConfig) -> Declared:
    region, prefix = config.region, config.name_prefix
    # The only AWS provider of the stack: pinned to the validated region (default providers are
    # disabled, so a resource without it fails instead of landing in AWS_REGION).
    provider = Provider(f"aws-{region}", region=region)
    within = pulumi.ResourceOptions(providers=[provider])
    account = get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=provider)).account_id
    replication = config.replication
    data_regions = (region, replication.region) if replication else (region,)
    place = Place(region=region, account_id=account, data_regions=data_regions)

    trail_name = f"{prefix}-audit"
    data_key = KmsKey(
        "data-key",
        KmsKeyArgs(description=f"{prefix} personal data ({region})", place=place, alias=f"{prefix}-data"),
        within,
    )
    audit_key = KmsKey(
        "audit-key",
        KmsKeyArgs(
            description=f"{prefix} audit logs ({region})",
            place=place,
            alias=f"{prefix}-audit",
            cloudtrail_trails=(trail_name,),
            s3_access_logging=True,
        ),
        within,
    )
    audit = config.audit
    trail_bucket = AuditLogBucket(
        "audit-trail-logs",
        AuditLogBucketArgs(
            bucket_name=bucket_name(prefix, "audit-trail", region),
            retention_days=audit.retention_days,
            kms_key_arn=audit_key.arn,
            place=place,
            protection="object-lock",
            cloudtrail_trails=(trail_name,),
            auditor_role_arns=audit.auditor_role_arns,
        ),
        within,
    )
    # S3 refuses to deliver server access logs to a bucket with Object Lock: this one denies deletes.
    access_bucket = AuditLogBucket(
        "audit-access-logs",
        AuditLogBucketArgs(
            bucket_name=bucket_name(prefix, "audit-access", region),
            retention_days=audit.retention_days,
            kms_key_arn=audit_key.arn,
            place=place,
            protection="deny-delete",
            s3_access_logs=True,
            auditor_role_arns=audit.auditor_role_arns,
        ),
        within,
    )
    declared = Declared(provider, data_key, audit_key, [trail_bucket, access_bucket])

    for category, store in config.categories.items():
        role_name = app_role_name(prefix, category)
        role_args = ApplicationRoleArgs(
            role_name=role_name,
            place=place,
            trust_service=config.app_trust_service,
            kms_key_arns=(data_key.arn,),
        )
        if store.store == "bucket":
            name = bucket_name(prefix, category, region)
            replica = (
                ReplicaTarget(
                    region=replication.region,
                    bucket_name=bucket_name(prefix, category, replication.region),
                    kms_key_arn=replication.kms_key_arn,
                )
                if replication
                else None
            )
            declared.buckets[category] = bucket = PersonalDataBucket(
                category,
                PersonalDataBucketArgs(
                    bucket_name=name,
                    category=category,
                    retention_days=store.retention_days,
                    kms_key_arn=data_key.arn,
                    place=place,
                    access_log_bucket=access_bucket.bucket_name,
                    allowed_role_arns=[place.role_arn(role_name), *store.reader_role_arns],
                    reader_role_arns=store.reader_role_arns,
                    replica=replica,
                ),
                within,
            )
            role_args = replace(role_args, bucket_arns=(bucket.arn,))
        else:
            declared.tables[category] = table = PersonalDataTable(
                category,
                PersonalDataTableArgs(
                    table_name=f"{prefix}-{category}",
                    category=category,
                    retention_days=store.retention_days,
                    kms_key_arn=data_key.arn,
                    hash_key=store.hash_key,
                    ttl_attribute=store.ttl_attribute,
                ),
                within,
            )
            role_args = replace(role_args, table_arns=(place.table_arn(table.table_name),))
        declared.roles[category] = ApplicationRole(f"{category}-app", role_args, within)

    declared.trail = AuditTrail(
        "trail",
        AuditTrailArgs(
            trail_name=trail_name,
            place=place,
            bucket_name=trail_bucket.bucket_name,
            kms_key_arn=audit_key.arn,
            data_bucket_names=[b.bucket_name for b in declared.buckets.values()],
            table_arns=[place.table_arn(t.table_name) for t in declared.tables.values()],
        ),
        within,
        depends_on=[trail_bucket.policy],
    )

    pulumi.export("region", region)
    pulumi.export("buckets", {c: b.bucket_name for c, b in declared.buckets.items()})
    pulumi.export("tables", {c: t.table.name for c, t in declared.tables.items()})
    pulumi.export("roles", {c: r.arn for c, r in declared.roles.items()})
    pulumi.export("auditBuckets", [b.bucket_name for b in declared.audit_buckets])
    pulumi.export("dataKeyArn", data_key.arn)
    return declared
