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
from policies.s3 import as_list, bucket_view, first
from policies.stack import Stack
from policies.tokens import (
    ATHENA_WORKGROUP,
    BACKUP_VAULT,
    DYNAMODB_TABLE,
    DYNAMODB_TABLE_REPLICA,
    EBS_SNAPSHOT,
    EBS_SNAPSHOT_COPY,
    EBS_VOLUME,
    ECR_REPOSITORY,
    EFS_FILE_SYSTEM,
    EKS_CLUSTER,
    ELASTICACHE_REPLICATION_GROUP,
    ELASTICACHE_SERVERLESS,
    ELASTICSEARCH_DOMAIN,
    FIREHOSE_STREAM,
    KINESIS_STREAM,
    KMS_KEY,
    LAMBDA_FUNCTION,
    LOG_GROUP,
    MQ_BROKER,
    MSK_CLUSTER,
    OPENSEARCH_DOMAIN,
    RDS_CLUSTER,
    RDS_INSTANCE,
    REDSHIFT_CLUSTER,
    REDSHIFT_SERVERLESS_NAMESPACE,
    S3_BUCKET_TYPES,
    SECRET,
    SNS_TOPIC,
    SQS_QUEUE,
    SSM_PARAMETER,
)
from policies.values import flag as as_flag
from policies.values import nested

Problem = str | Violation


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
        f"{kms.key_region_text(res, stack)} ({kms.key_arn_example(res, stack)}) and bucketKeyEnabled true"
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
            f"{key.region}; use a customer-managed key in {kms.key_region_text(res, stack)}"
        )


# -- ENC-002: data stores ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Declared:
    """What a store declares: whether it is encrypted and with which key."""

    encrypted: Any  # True, False or UNKNOWN
    key: Any  # key reference, None or UNKNOWN
    #: The resource and input the key reference comes from, when not the store's own `key_input`.
    holder: tuple[Resource, str] | None = None
    #: Where the settings come from when not the store itself (" (a read replica of X: ...)").
    via: str = ""


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
    #: Whether the store has data of its own to encrypt (an SSM String parameter does not: only
    #: SecureString is encrypted; a Lambda function only when it has environment variables).
    applies: Callable[[Resource], bool] | None = None


def _flag_and_key(
    flag: tuple[str, ...] | None, key: tuple[str, ...]
) -> Callable[[Resource, Stack], Declared]:
    """A reader for the common shape: a boolean flag (None: always encrypted) and a key input."""

    def read(res: Resource, stack: Stack) -> Declared:
        enabled = True if flag is None else as_flag(nested(res.props, *flag))
        return Declared(enabled, nested(res.props, *key) or None)

    return read


def _key_names_encryption(res: Resource, stack: Stack) -> Declared:
    """SQS and SNS: naming a key is what turns KMS encryption on (SSE-SQS is a key owned by SQS)."""
    key = res.props.get("kmsMasterKeyId")
    return Declared(True, key) if key is UNKNOWN or key else Declared(False, None)


def _rds_instance(res: Resource, stack: Stack) -> Declared:
    """A same-region read replica inherits its source's encryption and key: judge the source.

    `replicateSourceDb` names the source by identifier (same region) or by ARN (another region). A
    cross-region replica names its own key (kmsKeyId); without one it is unencrypted.
    """
    source_ref = res.props.get("replicateSourceDb")
    if source_ref in (None, ""):
        return Declared(as_flag(nested(res.props, "storageEncrypted")), nested(res.props, "kmsKeyId") or None)
    source = _replica_source(res, stack, source_ref)
    source_region = source.region if source is not None else _arn_region_of(source_ref)
    cross_region = (
        isinstance(source_region, str) and isinstance(res.region, str) and source_region != res.region
    )
    if cross_region:
        key = nested(res.props, "kmsKeyId") or None
        return Declared(True if key is not None else as_flag(nested(res.props, "storageEncrypted")), key)
    if source is None:
        shown = "unknown until apply" if source_ref is UNKNOWN else repr(source_ref)
        return Declared(
            UNKNOWN,
            None,
            via=(
                f" (a read replica of {shown}, not a DB instance of this stack: it inherits that source's "
                "encryption, which this input cannot show)"
            ),
        )
    return Declared(
        as_flag(nested(source.props, "storageEncrypted")),
        nested(source.props, "kmsKeyId") or None,
        holder=(source, "kmsKeyId"),
        via=f" (a same-region read replica: it inherits the encryption of its source {source.label})",
    )


def _replica_source(res: Resource, stack: Stack, ref: Any) -> Resource | None:
    if ref is UNKNOWN:
        return referenced(stack, res, "replicateSourceDb", (RDS_INSTANCE,))
    if not isinstance(ref, str):
        return None
    index = stack.memo("enc.rds_instances_by_name", _rds_instances_by_name)
    found = index.get(ref)
    if found is None and ref.startswith("arn:"):
        found = index.get(ref.rsplit(":", 1)[-1])
    return found or referenced(stack, res, "replicateSourceDb", (RDS_INSTANCE,))


def _rds_instances_by_name(stack: Stack) -> dict[str, Resource]:
    index: dict[str, Resource] = {}
    for db in stack.of_type(RDS_INSTANCE):
        for key in ("identifier", "id", "arn"):
            value = db.props.get(key)
            if isinstance(value, str) and value:
                index.setdefault(value, db)
    return index


def _arn_region_of(ref: Any) -> Any:
    if ref is UNKNOWN:
        return UNKNOWN
    if isinstance(ref, str) and ref.startswith("arn:"):
        parts = ref.split(":")
        return parts[3] if len(parts) > 3 and parts[3] else None
    return None


def _msk(res: Resource, stack: Stack) -> Declared:
    """MSK always encrypts at rest; without encryptionAtRestKmsKeyArn it uses the AWS managed aws/kafka."""
    return Declared(True, nested(res.props, "encryptionInfo", "encryptionAtRestKmsKeyArn") or None)


def _mq_broker(res: Resource, stack: Stack) -> Declared:
    """Amazon MQ: useAwsOwnedKey defaults to true; false without kmsKeyId means the AWS managed aws/mq."""
    owned = nested(res.props, "encryptionOptions", "useAwsOwnedKey")
    if owned is UNKNOWN:
        return Declared(UNKNOWN, None)
    if owned is None or as_flag(owned) is True:
        return Declared(False, None)
    return Declared(True, nested(res.props, "encryptionOptions", "kmsKeyId") or None)


def _mq_can_use_cmk(res: Resource) -> bool:
    """Amazon MQ for RabbitMQ encrypts with an AWS owned key only: no key to choose, nothing to judge."""
    engine = res.props.get("engineType")
    return not (isinstance(engine, str) and engine.lower() == "rabbitmq")


def _ssm_parameter(res: Resource, stack: Stack) -> Declared:
    kind = res.props.get("type")
    if kind is UNKNOWN:
        return Declared(UNKNOWN, None)
    return Declared(True, res.props.get("keyId") or None)


def _is_secure_string(res: Resource) -> bool:
    return res.props.get("type") in ("SecureString", UNKNOWN)


def _ecr(res: Resource, stack: Stack) -> Declared:
    kind = nested(res.props, "encryptionConfigurations", "encryptionType")
    if kind is UNKNOWN:
        return Declared(UNKNOWN, None)
    if kind not in ("KMS", "KMS_DSSE"):
        return Declared(False, None)
    return Declared(True, nested(res.props, "encryptionConfigurations", "kmsKey") or None)


def _lambda(res: Resource, stack: Stack) -> Declared:
    """The key of a function's environment variables; unknown while both the variables and the key are."""
    key = res.props.get("kmsKeyArn") or None
    if key is None and nested(res.props, "environment", "variables") is UNKNOWN:
        return Declared(UNKNOWN, None, via=" (its environment variables are not known until apply)")
    return Declared(True, key)


def _has_environment(res: Resource) -> bool:
    variables = nested(res.props, "environment", "variables")
    return variables is UNKNOWN or bool(variables)


def _eks(res: Resource, stack: Stack) -> Declared:
    config = first(res.props.get("encryptionConfig"))
    if config is UNKNOWN:
        return Declared(UNKNOWN, None)
    if not isinstance(config, dict):
        return Declared(False, None)
    resources = config.get("resources")
    if resources is UNKNOWN:
        return Declared(UNKNOWN, None)
    if "secrets" not in as_list(resources):
        return Declared(False, None)
    return Declared(True, nested(res.props, "encryptionConfig", "provider", "keyArn") or None)


def _athena(res: Resource, stack: Stack) -> Declared:
    option = nested(
        res.props, "configuration", "resultConfiguration", "encryptionConfiguration", "encryptionOption"
    )
    if option is UNKNOWN:
        return Declared(UNKNOWN, None)
    if option is None:
        return Declared(False, None)
    if option not in ("SSE_KMS", "CSE_KMS"):
        return Declared(True, None)
    key = nested(res.props, "configuration", "resultConfiguration", "encryptionConfiguration", "kmsKeyArn")
    return Declared(True, key or None)


def _kinesis(res: Resource, stack: Stack) -> Declared:
    kind = res.props.get("encryptionType")
    if kind is UNKNOWN:
        return Declared(UNKNOWN, None)
    return Declared(kind == "KMS", res.props.get("kmsKeyId") or None)


def _firehose(res: Resource, stack: Stack) -> Declared:
    enabled = as_flag(nested(res.props, "serverSideEncryption", "enabled"))
    key_type = nested(res.props, "serverSideEncryption", "keyType")
    if enabled is not True:
        return Declared(enabled, None)
    if key_type is UNKNOWN:
        return Declared(UNKNOWN, None)
    if key_type != "CUSTOMER_MANAGED_CMK":
        # keyType defaults to AWS_OWNED_CMK.
        return Declared(True, None)
    return Declared(True, nested(res.props, "serverSideEncryption", "keyArn") or None)


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
        _rds_instance,
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
    MSK_CLUSTER: AtRest(
        _msk,
        "encryptionInfo",
        _NOT_ENCRYPTED,
        "the AWS managed key aws/kafka",
        "encryptionInfo.encryptionAtRestKmsKeyArn",
    ),
    MQ_BROKER: AtRest(
        _mq_broker,
        "encryptionOptions",
        "is encrypted only with an AWS owned key (encryptionOptions.useAwsOwnedKey defaults to true)",
        "the AWS managed key aws/mq",
        "encryptionOptions {useAwsOwnedKey: false, kmsKeyId}",
        applies=_mq_can_use_cmk,
    ),
    SSM_PARAMETER: AtRest(
        _ssm_parameter,
        "keyId",
        _NOT_ENCRYPTED,
        "the AWS managed key alias/aws/ssm",
        "keyId on the SecureString parameter",
        applies=_is_secure_string,
    ),
    ECR_REPOSITORY: AtRest(
        _ecr,
        "encryptionConfigurations",
        "is encrypted with AES256 (keys owned by ECR), the default",
        "the AWS managed key aws/ecr",
        "encryptionConfigurations [{encryptionType: 'KMS', kmsKey}]",
    ),
    LAMBDA_FUNCTION: AtRest(
        _lambda,
        "kmsKeyArn",
        _AWS_OWNED,
        "the AWS managed key aws/lambda (for its environment variables)",
        "kmsKeyArn (it encrypts the function's environment variables)",
        applies=_has_environment,
    ),
    EKS_CLUSTER: AtRest(
        _eks,
        "encryptionConfig",
        "does not envelope-encrypt Kubernetes secrets with a customer-managed key (no encryptionConfig for "
        "'secrets')",
        "an AWS owned key",
        "encryptionConfig {resources: ['secrets'], provider: {keyArn}}",
    ),
    ATHENA_WORKGROUP: AtRest(
        _athena,
        "configuration",
        "does not encrypt its query results (no configuration.resultConfiguration.encryptionConfiguration)",
        "S3-managed keys (encryptionOption SSE_S3)",
        "configuration.resultConfiguration.encryptionConfiguration {encryptionOption: 'SSE_KMS', kmsKeyArn}",
    ),
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
    if spec.applies is not None and not spec.applies(res):
        return
    declared = spec.read(res, stack)
    encrypted, ref = declared.encrypted, declared.key
    via = declared.via
    fix = (
        f"set {spec.fix}, naming a customer-managed KMS key in {kms.key_region_text(res, stack)} "
        f"({kms.key_arn_example(res, stack)})"
    )
    if declared.holder is not None and declared.holder[0].type == res.type:
        # A same-region read replica: the source is what to fix.
        source = declared.holder[0]
        fix = (
            f"set {spec.fix} on its source {source.label}, naming a customer-managed KMS key in "
            f"{kms.key_region_text(source, stack)} ({kms.key_arn_example(source, stack)}; a replica cannot be "
            "encrypted apart from its source)"
        )
    if encrypted is UNKNOWN:
        yield unknown(f"{res.label}: whether it is encrypted is not known until apply{via}; {fix}")
        return
    if encrypted is not True:
        yield f"{res.label} {spec.when_off}{via}; {fix}"
        return
    if ref is None:
        yield f"{res.label} is encrypted with {spec.default_key}, not a customer-managed key{via}; {fix}"
        return
    if kms.is_aws_managed(ref):
        yield (
            f"{res.label} is encrypted with the AWS managed key {ref!r}, not a customer-managed key{via}; {fix}"
        )
        return
    holder, key_input = declared.holder or (res, spec.key_input)
    key = kms.resolve(holder, key_input, ref, stack)
    if key.text is UNKNOWN and key.resource is None:
        yield unknown(
            f"{res.label}: its KMS key{via} is not known until apply and does not come from exactly one KMS key "
            f"of this stack; {AT_APPLY}; {fix}"
        )
    elif kms.in_other_region(key, res):
        yield (
            f"{res.label} is in {res.region} but its KMS key {key.describe()} is in {key.region}; "
            f"use a customer-managed key in {kms.key_region_text(res, stack)}"
        )


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
