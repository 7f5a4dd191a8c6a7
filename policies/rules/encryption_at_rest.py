"""Encryption at rest: personal data is encrypted with customer-managed KMS keys in its own region.

The privacy policy promises "encryption technologies" for personal information (control SEC-ENC-1).
An AWS owned or AWS managed key (`aws/s3`, `aws/rds`, ...) cannot be scoped, audited or disabled by
PUSHAUCTION, so only a customer-managed key counts; a key in another region would send every data
key request out of the store's region, so the key must be in the same region as the store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from policies import kms
from policies.model import UNKNOWN, Resource, Severity
from policies.references import AT_APPLY, referenced
from policies.registry import Violation, rule, unknown
from policies.s3 import bucket_view, first
from policies.stack import Stack
from policies.tokens import (
    BACKUP_VAULT,
    DYNAMODB_TABLE,
    DYNAMODB_TABLE_REPLICA,
    EBS_SNAPSHOT,
    EBS_SNAPSHOT_COPY,
    EBS_VOLUME,
    EFS_FILE_SYSTEM,
    ELASTICACHE_REPLICATION_GROUP,
    ELASTICACHE_SERVERLESS,
    ELASTICSEARCH_DOMAIN,
    FIREHOSE_STREAM,
    KINESIS_STREAM,
    KMS_KEY,
    LOG_GROUP,
    OPENSEARCH_DOMAIN,
    RDS_CLUSTER,
    RDS_INSTANCE,
    REDSHIFT_CLUSTER,
    REDSHIFT_SERVERLESS_NAMESPACE,
    S3_BUCKET_TYPES,
    SECRET,
    SNS_TOPIC,
    SQS_QUEUE,
)
from policies.values import flag as as_flag

Problem = str | Violation


def _get(res: Resource, *path: str) -> Any:
    """Nested lookup where each block may be an object or a one-element list."""
    value: Any = res.props
    for key in path:
        value = first(value)
        if value is UNKNOWN:
            return UNKNOWN
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


# -- ENC-001: S3 default encryption ------------------------------------------------------------------

#: Inputs that carry the key of a bucket's default encryption, for property dependencies.
_S3_KEY_INPUTS = ("rules", "rule", "serverSideEncryptionConfiguration", "serverSideEncryptionConfigurations")


def _s3_key(source: Resource, ref: Any, stack: Stack) -> kms.KeyReference:
    resolved = kms.resolve(source, _S3_KEY_INPUTS[0], ref, stack)
    for prop in _S3_KEY_INPUTS[1:]:
        if resolved.text is not UNKNOWN or resolved.resource is not None:
            break
        resolved = kms.resolve(source, prop, ref, stack)
    return resolved


@rule(
    id="ENC-001",
    title="S3 default encryption uses a customer-managed KMS key with bucket key on",
    severity=Severity.HIGH,
    types=S3_BUCKET_TYPES,
    remediation=(
        "Declare a BucketServerSideEncryptionConfiguration (v6: ...V2) for the bucket with "
        "sseAlgorithm 'aws:kms', kmsMasterKeyId set to a customer-managed KMS key in the bucket's "
        "region, and bucketKeyEnabled true."
    ),
)
def s3_default_encryption(res: Resource, stack: Stack) -> Iterator[Problem]:
    """Every personal-data bucket encrypts new objects with a customer-managed key of its own region."""
    if not stack.holds_personal_data(res):
        return
    view = bucket_view(res)
    source = view.encryption_source
    where = f" in {source.label}" if source is not None and source is not res else ""
    fix = (
        f"set sseAlgorithm 'aws:kms' with kmsMasterKeyId = a customer-managed KMS key in "
        f"{res.region if isinstance(res.region, str) else 'the bucket region'} and bucketKeyEnabled true"
    )
    if view.encryption is UNKNOWN:
        yield unknown(f"{res.label}: its default encryption{where} is not known until apply; {fix}")
        return
    if not view.encryption:
        yield (
            f"{res.label} has no default encryption configuration, so S3 uses its own keys (SSE-S3); "
            f"add a BucketServerSideEncryptionConfiguration and {fix}"
        )
        return
    for enc in view.encryption:
        if enc.algorithm is UNKNOWN:
            yield unknown(f"{res.label}: the sseAlgorithm{where} is not known until apply; {fix}")
            continue
        if enc.algorithm not in ("aws:kms", "aws:kms:dsse"):
            yield f"{res.label} uses sseAlgorithm {enc.algorithm!r}{where} (S3-managed keys); {fix}"
            continue
        yield from _s3_key_problems(res, source or res, enc.kms_key, where, fix, stack)
        if enc.algorithm == "aws:kms":
            # DSSE-KMS does not support S3 Bucket Keys, so the flag is only required for SSE-KMS.
            if enc.bucket_key is UNKNOWN:
                yield unknown(
                    f"{res.label}: bucketKeyEnabled{where} is not known until apply; set it to true"
                )
            elif enc.bucket_key is not True:
                yield (
                    f"{res.label} does not enable the S3 Bucket Key{where}, so every object costs a KMS "
                    f"request; set bucketKeyEnabled true"
                )


def _s3_key_problems(
    res: Resource, source: Resource, ref: Any, where: str, fix: str, stack: Stack
) -> Iterator[Problem]:
    if ref is None:
        yield f"{res.label} encrypts with the AWS managed key aws/s3{where}; {fix}"
        return
    if kms.is_aws_managed(ref):
        yield f"{res.label} encrypts with the AWS managed key {ref!r}{where}; {fix}"
        return
    key = _s3_key(source, ref, stack)
    if key.text is UNKNOWN and key.resource is None:
        yield unknown(
            f"{res.label}: the kmsMasterKeyId{where} is not known until apply and does not come from exactly "
            f"one KMS key of this stack; {AT_APPLY}; {fix}"
        )
    elif kms.in_other_region(key, res):
        yield (
            f"{res.label} is in {res.region} but its default encryption key {key.describe()}{where} is in "
            f"{key.region}; use a customer-managed key in {res.region}"
        )


# -- ENC-002: data stores ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Declared:
    """What a store declares: whether it is encrypted and with which key."""

    encrypted: Any  # True, False or UNKNOWN
    key: Any  # key reference, None or UNKNOWN
    #: The resource and input the key reference comes from, when not the store's own `key_input`.
    holder: tuple[Resource, str] | None = None


@dataclass(frozen=True, slots=True)
class AtRest:
    """How one store type declares its encryption at rest."""

    read: Callable[[Resource, Stack], Declared]
    #: The top-level input holding the key (property dependencies are keyed by it).
    key_input: str
    #: What the store uses when it is not encrypted with a key it names.
    when_off: str
    #: The key used when encryption is on but no key is named.
    default_key: str
    #: The inputs to set, for the message.
    fix: str


def _flag_and_key(
    flag: tuple[str, ...] | None, key: tuple[str, ...]
) -> Callable[[Resource, Stack], Declared]:
    """A reader for the common shape: a boolean flag (None: always encrypted) and a key input."""

    def read(res: Resource, stack: Stack) -> Declared:
        enabled = True if flag is None else as_flag(_get(res, *flag))
        return Declared(enabled, _get(res, *key) or None)

    return read


def _key_names_encryption(res: Resource, stack: Stack) -> Declared:
    """SQS and SNS: naming a key is what turns KMS encryption on (SSE-SQS is a key owned by SQS)."""
    key = res.props.get("kmsMasterKeyId")
    return Declared(True, key) if key is UNKNOWN or key else Declared(False, None)


def _kinesis(res: Resource, stack: Stack) -> Declared:
    kind = res.props.get("encryptionType")
    if kind is UNKNOWN:
        return Declared(UNKNOWN, None)
    return Declared(kind == "KMS", res.props.get("kmsKeyId") or None)


def _firehose(res: Resource, stack: Stack) -> Declared:
    enabled = as_flag(_get(res, "serverSideEncryption", "enabled"))
    key_type = _get(res, "serverSideEncryption", "keyType")
    if enabled is not True:
        return Declared(enabled, None)
    if key_type is UNKNOWN:
        return Declared(UNKNOWN, None)
    if key_type != "CUSTOMER_MANAGED_CMK":
        # keyType defaults to AWS_OWNED_CMK.
        return Declared(True, None)
    return Declared(True, _get(res, "serverSideEncryption", "keyArn") or None)


def _ebs_snapshot(res: Resource, stack: Stack) -> Declared:
    """A snapshot inherits the encryption of its volume; before apply, read it from the volume."""
    encrypted = res.props.get("encrypted")
    if encrypted in (None, UNKNOWN):
        volume = referenced(stack, res, "volumeId", (EBS_VOLUME,))
        if volume is not None:
            return Declared(
                as_flag(volume.props.get("encrypted")),
                volume.props.get("kmsKeyId") or None,
                holder=(volume, "kmsKeyId"),
            )
    return Declared(as_flag(encrypted), res.props.get("kmsKeyId") or None)


_NOT_ENCRYPTED = "is not encrypted at rest"
_AWS_OWNED = "is encrypted only with an AWS owned key"

AT_REST: dict[str, AtRest] = {
    DYNAMODB_TABLE: AtRest(
        _flag_and_key(("serverSideEncryption", "enabled"), ("serverSideEncryption", "kmsKeyArn")),
        "serverSideEncryption",
        _AWS_OWNED,
        "the AWS managed key aws/dynamodb",
        "serverSideEncryption {enabled: true, kmsKeyArn}",
    ),
    DYNAMODB_TABLE_REPLICA: AtRest(
        _flag_and_key(None, ("kmsKeyArn",)),
        "kmsKeyArn",
        _AWS_OWNED,
        "the AWS managed key aws/dynamodb",
        "kmsKeyArn",
    ),
    RDS_INSTANCE: AtRest(
        _flag_and_key(("storageEncrypted",), ("kmsKeyId",)),
        "kmsKeyId",
        _NOT_ENCRYPTED,
        "the AWS managed key aws/rds",
        "storageEncrypted: true and kmsKeyId",
    ),
    RDS_CLUSTER: AtRest(
        _flag_and_key(("storageEncrypted",), ("kmsKeyId",)),
        "kmsKeyId",
        _NOT_ENCRYPTED,
        "the AWS managed key aws/rds",
        "storageEncrypted: true and kmsKeyId",
    ),
    "aws:docdb/cluster:Cluster": AtRest(
        _flag_and_key(("storageEncrypted",), ("kmsKeyId",)),
        "kmsKeyId",
        _NOT_ENCRYPTED,
        "the AWS managed key aws/rds",
        "storageEncrypted: true and kmsKeyId",
    ),
    "aws:neptune/cluster:Cluster": AtRest(
        _flag_and_key(("storageEncrypted",), ("kmsKeyArn",)),
        "kmsKeyArn",
        _NOT_ENCRYPTED,
        "the AWS managed key aws/rds",
        "storageEncrypted: true and kmsKeyArn",
    ),
    EBS_VOLUME: AtRest(
        _flag_and_key(("encrypted",), ("kmsKeyId",)),
        "kmsKeyId",
        _NOT_ENCRYPTED,
        "the AWS managed key aws/ebs",
        "encrypted: true and kmsKeyId",
    ),
    EBS_SNAPSHOT: AtRest(
        _ebs_snapshot,
        "kmsKeyId",
        _NOT_ENCRYPTED,
        "the AWS managed key aws/ebs",
        "encrypted: true and kmsKeyId on the source volume",
    ),
    EBS_SNAPSHOT_COPY: AtRest(
        _flag_and_key(("encrypted",), ("kmsKeyId",)),
        "kmsKeyId",
        _NOT_ENCRYPTED,
        "the AWS managed key aws/ebs",
        "encrypted: true and kmsKeyId",
    ),
    EFS_FILE_SYSTEM: AtRest(
        _flag_and_key(("encrypted",), ("kmsKeyId",)),
        "kmsKeyId",
        _NOT_ENCRYPTED,
        "the AWS managed key aws/elasticfilesystem",
        "encrypted: true and kmsKeyId",
    ),
    SQS_QUEUE: AtRest(
        _key_names_encryption,
        "kmsMasterKeyId",
        "uses SSE-SQS (a key owned by SQS) or no encryption",
        "the AWS managed key aws/sqs",
        "kmsMasterKeyId (instead of sqsManagedSseEnabled)",
    ),
    SNS_TOPIC: AtRest(
        _key_names_encryption,
        "kmsMasterKeyId",
        _NOT_ENCRYPTED,
        "the AWS managed key aws/sns",
        "kmsMasterKeyId",
    ),
    LOG_GROUP: AtRest(
        _flag_and_key(None, ("kmsKeyId",)),
        "kmsKeyId",
        _AWS_OWNED,
        "the CloudWatch Logs service key",
        "kmsKeyId (its key policy must allow the CloudWatch Logs service)",
    ),
    SECRET: AtRest(
        _flag_and_key(None, ("kmsKeyId",)),
        "kmsKeyId",
        _AWS_OWNED,
        "the AWS managed key aws/secretsmanager",
        "kmsKeyId",
    ),
    ELASTICACHE_REPLICATION_GROUP: AtRest(
        _flag_and_key(("atRestEncryptionEnabled",), ("kmsKeyId",)),
        "kmsKeyId",
        _NOT_ENCRYPTED,
        "the AWS managed key aws/elasticache",
        "atRestEncryptionEnabled: true and kmsKeyId",
    ),
    ELASTICACHE_SERVERLESS: AtRest(
        _flag_and_key(None, ("kmsKeyId",)),
        "kmsKeyId",
        _AWS_OWNED,
        "an AWS owned key",
        "kmsKeyId",
    ),
    OPENSEARCH_DOMAIN: AtRest(
        _flag_and_key(("encryptAtRest", "enabled"), ("encryptAtRest", "kmsKeyId")),
        "encryptAtRest",
        _NOT_ENCRYPTED,
        "the AWS managed key aws/es",
        "encryptAtRest {enabled: true, kmsKeyId}",
    ),
    ELASTICSEARCH_DOMAIN: AtRest(
        _flag_and_key(("encryptAtRest", "enabled"), ("encryptAtRest", "kmsKeyId")),
        "encryptAtRest",
        _NOT_ENCRYPTED,
        "the AWS managed key aws/es",
        "encryptAtRest {enabled: true, kmsKeyId}",
    ),
    REDSHIFT_CLUSTER: AtRest(
        _flag_and_key(("encrypted",), ("kmsKeyId",)),
        "kmsKeyId",
        _NOT_ENCRYPTED,
        "the AWS managed key aws/redshift",
        "encrypted: true and kmsKeyId",
    ),
    REDSHIFT_SERVERLESS_NAMESPACE: AtRest(
        _flag_and_key(None, ("kmsKeyId",)),
        "kmsKeyId",
        _AWS_OWNED,
        "an AWS owned key",
        "kmsKeyId",
    ),
    KINESIS_STREAM: AtRest(
        _kinesis,
        "kmsKeyId",
        _NOT_ENCRYPTED,
        "the AWS managed key aws/kinesis",
        "encryptionType: 'KMS' and kmsKeyId",
    ),
    FIREHOSE_STREAM: AtRest(
        _firehose,
        "serverSideEncryption",
        _NOT_ENCRYPTED,
        "an AWS owned key",
        "serverSideEncryption {enabled: true, keyType: 'CUSTOMER_MANAGED_CMK', keyArn}",
    ),
    BACKUP_VAULT: AtRest(
        _flag_and_key(None, ("kmsKeyArn",)),
        "kmsKeyArn",
        _AWS_OWNED,
        "the AWS managed key aws/backup",
        "kmsKeyArn",
    ),
    **{
        fsx: AtRest(
            _flag_and_key(None, ("kmsKeyId",)),
            "kmsKeyId",
            _AWS_OWNED,
            "the AWS managed key aws/fsx",
            "kmsKeyId",
        )
        for fsx in (
            "aws:fsx/openZfsFileSystem:OpenZfsFileSystem",
            "aws:fsx/lustreFileSystem:LustreFileSystem",
            "aws:fsx/windowsFileSystem:WindowsFileSystem",
            "aws:fsx/ontapFileSystem:OntapFileSystem",
        )
    },
    "aws:memorydb/cluster:Cluster": AtRest(
        _flag_and_key(None, ("kmsKeyArn",)),
        "kmsKeyArn",
        _AWS_OWNED,
        "an AWS owned key",
        "kmsKeyArn",
    ),
}


@rule(
    id="ENC-002",
    title="Data stores are encrypted with a customer-managed key in the same region",
    severity=Severity.HIGH,
    types=AT_REST,
    remediation=(
        "Create an aws.kms.Key (with rotation on) in the store's region and name it in the store's "
        "encryption input (kmsKeyId, kmsKeyArn or kmsMasterKeyId)."
    ),
)
def store_encryption(res: Resource, stack: Stack) -> Iterator[Problem]:
    """Every personal-data store names a customer-managed KMS key of its own region."""
    if not stack.holds_personal_data(res):
        return
    spec = AT_REST[res.type]
    declared = spec.read(res, stack)
    encrypted, ref = declared.encrypted, declared.key
    fix = f"set {spec.fix}, naming a customer-managed KMS key in {_region_text(res)}"
    if encrypted is UNKNOWN:
        yield unknown(f"{res.label}: whether it is encrypted is not known until apply; {fix}")
        return
    if encrypted is not True:
        yield f"{res.label} {spec.when_off}; {fix}"
        return
    if ref is None:
        yield f"{res.label} is encrypted with {spec.default_key}, not a customer-managed key; {fix}"
        return
    if kms.is_aws_managed(ref):
        yield f"{res.label} is encrypted with the AWS managed key {ref!r}, not a customer-managed key; {fix}"
        return
    holder, key_input = declared.holder or (res, spec.key_input)
    key = kms.resolve(holder, key_input, ref, stack)
    if key.text is UNKNOWN and key.resource is None:
        yield unknown(
            f"{res.label}: its KMS key is not known until apply and does not come from exactly one KMS key of "
            f"this stack; {AT_APPLY}; {fix}"
        )
    elif kms.in_other_region(key, res):
        yield (
            f"{res.label} is in {res.region} but its KMS key {key.describe()} is in {key.region}; "
            f"use a customer-managed key in {res.region}"
        )


def _region_text(res: Resource) -> str:
    return res.region if isinstance(res.region, str) else "the store's region"


# -- ENC-003: key rotation ---------------------------------------------------------------------------


@rule(
    id="ENC-003",
    title="KMS keys rotate",
    severity=Severity.MEDIUM,
    types=[KMS_KEY],
    remediation="Set enableKeyRotation: true on the aws.kms.Key (optionally rotationPeriodInDays).",
)
def key_rotation(res: Resource, stack: Stack) -> Iterator[Problem]:
    """Symmetric customer-managed keys rotate their key material automatically."""
    rotation = as_flag(res.props.get("enableKeyRotation"))
    if rotation is True:
        return
    spec = res.props.get("customerMasterKeySpec")
    if spec is None:
        spec = res.props.get("keySpec")
    custom_store = res.props.get("customKeyStoreId")
    if spec is UNKNOWN or custom_store is UNKNOWN:
        yield unknown(f"{res.label}: its key spec is not known until apply; set enableKeyRotation: true")
        return
    if spec not in (None, "", "SYMMETRIC_DEFAULT") or custom_store:
        # Asymmetric and HMAC keys, and keys in a custom key store, cannot rotate automatically.
        return
    if rotation is UNKNOWN:
        yield unknown(f"{res.label}: enableKeyRotation is not known until apply; set it to true")
        return
    yield (
        f"{res.label} does not rotate its key material; set enableKeyRotation: true "
        f"(new key material every year, or every rotationPeriodInDays)"
    )
