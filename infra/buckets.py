"""S3 buckets compliant by construction: a personal-data bucket and an audit-log bucket.

Both get, as side resources parented to the component: default encryption with a customer-managed
key (bucket key on), versioning, a public access block with all four settings, a TLS-only bucket
policy and a lifecycle configuration from the category's retention. The personal-data bucket also
logs access to an audit-log bucket, denies every principal but the named roles and may replicate,
for disaster recovery, to a bucket of the other China region. The audit-log bucket keeps logs at
least the catalogue's minimum: S3 Object Lock in COMPLIANCE mode where the writer allows it
(CloudTrail), an explicit delete deny where it does not (S3 refuses server access logs into a bucket
with Object Lock).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pulumi
from pulumi_aws import iam, s3

from infra.config import partition_for
from infra.place import Place, document, region_pin, statement, tls_only_statements

CLASSIFICATION_TAG = "data-category"
AUDIT_CATEGORY = "audit-logs"
#: Old versions (overwritten or deleted objects) are kept this long at most, then expire.
NONCURRENT_DAYS = 7
#: Object-level actions: what "access to the data" means in a bucket policy.
_OBJECT_ACTIONS = "s3:*"
_LIST_ACTIONS = ("s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads")
_READ_ACTIONS = ("s3:GetObject", "s3:GetObjectVersion")
_DELETE_ACTIONS = ("s3:DeleteObject", "s3:DeleteObjectVersion")


@dataclass(frozen=True)
class ReplicaTarget:
    """A disaster-recovery copy: the bucket and key of the stack in the other China region."""

    region: str
    bucket_name: str
    kms_key_arn: str

    @property
    def bucket_arn(self) -> str:
        return f"arn:{partition_for(self.region)}:s3:::{self.bucket_name}"


@dataclass(frozen=True)
class PersonalDataBucketArgs:
    bucket_name: str
    category: str
    retention_days: int
    kms_key_arn: pulumi.Input[str]
    place: Place
    #: The audit-log bucket (same region) that receives the server access logs.
    access_log_bucket: str
    #: Roles that may use the data (the application role, readers); every other principal is denied.
    allowed_role_arns: Sequence[pulumi.Input[str]]
    #: Roles (possibly of other accounts) granted read access by the bucket policy itself.
    reader_role_arns: Sequence[str] = ()
    noncurrent_days: int = NONCURRENT_DAYS
    replica: ReplicaTarget | None = None


def _bucket_basics(
    component: pulumi.ComponentResource,
    name: str,
    bucket_name: str,
    category: str,
    kms_key_arn: pulumi.Input[str],
    *,
    object_lock: bool = False,
) -> tuple[s3.Bucket, s3.BucketPublicAccessBlock, s3.BucketVersioning]:
    """The bucket, its default encryption, its public access block and versioning."""
    child = pulumi.ResourceOptions(parent=component)
    bucket = s3.Bucket(
        name,
        bucket=bucket_name,
        object_lock_enabled=True if object_lock else None,
        tags={CLASSIFICATION_TAG: category},
        opts=child,
    )
    s3.BucketServerSideEncryptionConfiguration(
        f"{name}-sse",
        bucket=bucket.id,
        rules=[
            {
                "apply_server_side_encryption_by_default": {
                    "sse_algorithm": "aws:kms",
                    "kms_master_key_id": kms_key_arn,
                },
                "bucket_key_enabled": True,
            }
        ],
        opts=child,
    )
    public_access_block = s3.BucketPublicAccessBlock(
        f"{name}-pab",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=child,
    )
    versioning = s3.BucketVersioning(
        f"{name}-versioning",
        bucket=bucket.id,
        versioning_configuration={"status": "Enabled"},
        opts=child,
    )
    return bucket, public_access_block, versioning


def _lifecycle(
    component: pulumi.ComponentResource,
    name: str,
    bucket: s3.Bucket,
    rule_id: str,
    expiration_days: int,
    noncurrent_days: int,
    depends_on: Sequence[pulumi.Resource],
) -> s3.BucketLifecycleConfiguration:
    return s3.BucketLifecycleConfiguration(
        f"{name}-lifecycle",
        bucket=bucket.id,
        rules=[
            {
                "id": rule_id,
                "status": "Enabled",
                # An empty prefix: the rule covers every object of the bucket.
                "filter": {"prefix": ""},
                "expiration": {"days": expiration_days},
                "noncurrent_version_expiration": {"noncurrent_days": noncurrent_days},
                "abort_incomplete_multipart_upload": {"days_after_initiation": 1},
            }
        ],
        opts=pulumi.ResourceOptions(parent=component, depends_on=list(depends_on)),
    )


class PersonalDataBucket(pulumi.ComponentResource):
    """A bucket for one category of personal data (CN-RES-1, SEC-ENC-1/2, SEC-ACC-1, SEC-AUD-1, RET-1)."""

    bucket: s3.Bucket
    bucket_name: str
    arn: str

    def __init__(
        self, name: str, args: PersonalDataBucketArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("residency:infra:PersonalDataBucket", name, None, opts)
        place = args.place
        self.bucket_name = args.bucket_name
        self.arn = place.bucket_arn(args.bucket_name)
        bucket, public_access_block, versioning = _bucket_basics(
            self, name, args.bucket_name, args.category, args.kms_key_arn
        )
        self.bucket = bucket
        child = pulumi.ResourceOptions(parent=self)

        s3.BucketLogging(
            f"{name}-logging",
            bucket=bucket.id,
            target_bucket=args.access_log_bucket,
            target_prefix=f"s3/{args.bucket_name}/",
            opts=child,
        )
        _lifecycle(
            self,
            name,
            bucket,
            f"expire-{args.category}",
            args.retention_days,
            min(args.noncurrent_days, args.retention_days),
            [versioning],
        )

        allowed: list[pulumi.Input[str]] = list(args.allowed_role_arns)
        replication_role: iam.Role | None = None
        if args.replica is not None:
            replication_role_name = _role_name(f"{args.bucket_name}-replication")
            allowed.append(place.role_arn(replication_role_name))
            replication_role = self._replication_role(name, replication_role_name, args)

        s3.BucketPolicy(
            f"{name}-policy",
            bucket=bucket.id,
            policy=self._policy(args, allowed),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access_block]),
        )

        if args.replica is not None and replication_role is not None:
            replica = args.replica
            s3.BucketReplicationConfig(
                f"{name}-replication",
                bucket=bucket.id,
                role=replication_role.arn,
                rules=[
                    {
                        "id": f"dr-{replica.region}",
                        "status": "Enabled",
                        "filter": {"prefix": ""},
                        "delete_marker_replication": {"status": "Enabled"},
                        "source_selection_criteria": {"sse_kms_encrypted_objects": {"status": "Enabled"}},
                        "destination": {
                            "bucket": replica.bucket_arn,
                            "storage_class": "STANDARD",
                            "encryption_configuration": {"replica_kms_key_id": replica.kms_key_arn},
                        },
                    }
                ],
                opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]),
            )

        self.register_outputs(
            {"bucket": bucket.bucket, "arn": self.arn, "category": args.category, "region": place.region}
        )

    def _policy(self, args: PersonalDataBucketArgs, allowed: list[pulumi.Input[str]]) -> pulumi.Output[str]:
        arn = self.arn
        statements = [
            *tls_only_statements(arn),
            # Nobody but the named roles reaches the objects or their keys, whatever IAM grants them.
            statement(
                "DenyUnlistedPrincipalsObjects",
                "Deny",
                _OBJECT_ACTIONS,
                [f"{arn}/*"],
                principal="*",
                condition={"StringNotLike": {"aws:PrincipalArn": allowed}},
            ),
            statement(
                "DenyUnlistedPrincipalsListing",
                "Deny",
                _LIST_ACTIONS,
                [arn],
                principal="*",
                condition={"StringNotLike": {"aws:PrincipalArn": allowed}},
            ),
        ]
        if args.reader_role_arns:
            statements.append(
                statement(
                    "NamedReaders",
                    "Allow",
                    _READ_ACTIONS,
                    [f"{arn}/*"],
                    principal={"AWS": list(args.reader_role_arns)},
                )
            )
        return document(*statements)

    def _replication_role(self, name: str, role_name: str, args: PersonalDataBucketArgs) -> iam.Role:
        place, replica = args.place, args.replica
        assert replica is not None
        child = pulumi.ResourceOptions(parent=self)
        role = iam.Role(
            f"{name}-replication-role",
            name=role_name,
            assume_role_policy=document(
                statement(
                    "S3Replication",
                    "Allow",
                    "sts:AssumeRole",
                    None,
                    principal={"Service": "s3.amazonaws.com"},
                    condition={"StringEquals": {"aws:SourceAccount": place.account_id}},
                )
            ),
            opts=child,
        )
        source = self.arn
        iam.RolePolicy(
            f"{name}-replication-access",
            role=role.name,
            policy=document(
                statement(
                    "ReadSourceConfiguration",
                    "Allow",
                    ["s3:GetReplicationConfiguration", "s3:ListBucket"],
                    [source],
                    condition=region_pin(place),
                ),
                statement(
                    "ReadSourceVersions",
                    "Allow",
                    [
                        "s3:GetObjectVersionForReplication",
                        "s3:GetObjectVersionAcl",
                        "s3:GetObjectVersionTagging",
                    ],
                    [f"{source}/*"],
                    condition=region_pin(place),
                ),
                statement(
                    "WriteReplica",
                    "Allow",
                    ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
                    [f"{replica.bucket_arn}/*"],
                    condition=region_pin(place),
                ),
                statement(
                    "EncryptReplica",
                    "Allow",
                    ["kms:Encrypt"],
                    [replica.kms_key_arn],
                    condition=region_pin(place),
                ),
            ),
            opts=child,
        )
        # The source key is created by this stack: its own policy, unknown only in the first preview.
        iam.RolePolicy(
            f"{name}-replication-key-access",
            role=role.name,
            policy=document(
                statement(
                    "DecryptSource", "Allow", ["kms:Decrypt"], [args.kms_key_arn], condition=region_pin(place)
                )
            ),
            opts=child,
        )
        return role


@dataclass(frozen=True)
class AuditLogBucketArgs:
    bucket_name: str
    retention_days: int
    kms_key_arn: pulumi.Input[str]
    place: Place
    #: How logs are protected against deletion: Object Lock (COMPLIANCE) or a delete deny for everyone.
    protection: Literal["object-lock", "deny-delete"]
    #: Trails (by name) that write here, under the `cloudtrail/` prefix.
    cloudtrail_trails: Sequence[str] = ()
    #: Whether S3 server access logs are delivered here, under the `s3/` prefix.
    s3_access_logs: bool = False
    auditor_role_arns: Sequence[str] = ()


class AuditLogBucket(pulumi.ComponentResource):
    """An in-territory, tamper-resistant store for audit logs (SEC-AUD-1, RET-2)."""

    bucket: s3.Bucket
    bucket_name: str
    arn: str

    def __init__(
        self, name: str, args: AuditLogBucketArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("residency:infra:AuditLogBucket", name, None, opts)
        self.bucket_name = args.bucket_name
        self.arn = args.place.bucket_arn(args.bucket_name)
        object_lock = args.protection == "object-lock"
        bucket, public_access_block, versioning = _bucket_basics(
            self, name, args.bucket_name, AUDIT_CATEGORY, args.kms_key_arn, object_lock=object_lock
        )
        self.bucket = bucket
        if object_lock:
            s3.BucketObjectLockConfiguration(
                f"{name}-lock",
                bucket=bucket.id,
                object_lock_enabled="Enabled",
                rule={"default_retention": {"mode": "COMPLIANCE", "days": args.retention_days}},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]),
            )
        # Logs are never expired before the retention, nor their old versions.
        _lifecycle(
            self, name, bucket, "expire-audit-logs", args.retention_days, args.retention_days, [versioning]
        )
        self.policy = s3.BucketPolicy(
            f"{name}-policy",
            bucket=bucket.id,
            policy=self._policy(args),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access_block]),
        )
        self.register_outputs({"bucket": bucket.bucket, "arn": self.arn, "protection": args.protection})

    def _policy(self, args: AuditLogBucketArgs) -> pulumi.Output[str]:
        place, arn = args.place, self.arn
        statements: list[dict[str, Any]] = [
            *tls_only_statements(arn),
            # Lifecycle expiration is not subject to bucket policies: logs still expire after retention.
            statement("DenyLogDeletion", "Deny", list(_DELETE_ACTIONS), [f"{arn}/*"], principal="*"),
        ]
        for trail in args.cloudtrail_trails:
            trail_arn = place.trail_arn(trail)
            statements.append(
                statement(
                    "CloudTrailAclCheck",
                    "Allow",
                    "s3:GetBucketAcl",
                    [arn],
                    principal={"Service": "cloudtrail.amazonaws.com"},
                    condition={"StringEquals": {"aws:SourceArn": trail_arn}},
                )
            )
            statements.append(
                statement(
                    "CloudTrailWrite",
                    "Allow",
                    "s3:PutObject",
                    [pulumi.Output.concat(arn, "/cloudtrail/AWSLogs/", place.account_id, "/*")],
                    principal={"Service": "cloudtrail.amazonaws.com"},
                    condition={
                        "StringEquals": {
                            "aws:SourceArn": trail_arn,
                            "s3:x-amz-acl": "bucket-owner-full-control",
                        }
                    },
                )
            )
        if args.s3_access_logs:
            statements.append(
                statement(
                    "S3ServerAccessLogs",
                    "Allow",
                    "s3:PutObject",
                    [f"{arn}/s3/*"],
                    principal={"Service": "logging.s3.amazonaws.com"},
                    condition={"StringEquals": {"aws:SourceAccount": place.account_id}},
                )
            )
        if args.auditor_role_arns:
            auditors = list(args.auditor_role_arns)
            statements.append(
                statement("Auditors", "Allow", list(_READ_ACTIONS), [f"{arn}/*"], principal={"AWS": auditors})
            )
        return document(*statements)


def _role_name(text: str) -> str:
    """IAM role names are at most 64 characters."""
    return text[:64].rstrip("-")
