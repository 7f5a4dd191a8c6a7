"""Residency: personal data collected in mainland China, and every copy of it, stays in territory.

RES-001 checks where each data store lives, RES-002 where each AWS provider points, RES-003 where
each declared copy (replica, replication, backup copy, log subscription, delivery stream) goes, and
RES-004 that nothing names an ARN in the global `aws` partition, which does not exist in AWS China.

A region that cannot be determined is a finding, and one that is unknown until apply is an
`unknown(...)` finding: neither ever reads as "in territory".
"""

from __future__ import annotations

import json
import re
import weakref
from collections.abc import Iterator
from typing import Any

from policies.coverage import CATALOGUED_PACKAGES, classify
from policies.model import UNKNOWN, Resource, Severity
from policies.references import referenced
from policies.registry import Violation, rule, unknown
from policies.s3 import as_list, bucket_view, first
from policies.stack import PROVIDER_PREFIX, Stack, is_default_provider, package_of
from policies.tokens import (
    ARN_IS_DESTINATION,
    BACKUP_PLAN,
    DATA_STORES,
    DMS_ENDPOINT,
    DMS_S3_ENDPOINT,
    DYNAMODB_GLOBAL_TABLE,
    DYNAMODB_TABLE,
    DYNAMODB_TABLE_EXPORT,
    EFS_REPLICATION,
    EVENT_API_DESTINATION,
    EVENT_RULE,
    EVENT_TARGET,
    FIREHOSE_STREAM,
    KMS_REPLICA_EXTERNAL_KEY,
    KMS_REPLICA_KEY,
    LOG_DESTINATION,
    LOG_SUBSCRIPTION_FILTER,
    RDS_CLUSTER_SNAPSHOT_COPY,
    RDS_INSTANCE_AUTOMATED_BACKUPS_REPLICATION,
    RDS_SNAPSHOT_COPY,
    S3_BUCKET_TYPES,
    SECRET,
    SNS_TOPIC,
    SNS_TOPIC_SUBSCRIPTION,
    side_types,
)

DYNAMODB_KINESIS_DESTINATION = "aws:dynamodb/kinesisStreamingDestination:KinesisStreamingDestination"

#: Every region of the aws-cn partition: an ARN that names the partition but no region (S3) is in
#: territory only when all of them are allowed.
CHINA_REGIONS = frozenset({"cn-north-1", "cn-northwest-1"})

_ARN = re.compile(r"^arn:(aws[a-z-]*):([a-z0-9-]+):([a-z0-9-]*):")
_REGION_SHAPE = re.compile(r"^[a-z]{2}(?:-gov|-iso[a-z]*)?-[a-z]+-\d$")
#: A region embedded in an AWS service host name: `x.cn-north-1.redshift.amazonaws.com.cn`.
_HOST_REGION = re.compile(r"\.([a-z]{2}(?:-gov|-iso[a-z]*)?-[a-z]+-\d)\.[a-z0-9.-]*amazonaws\.com(?:\.cn)?$")
_URL_HOST = re.compile(r"://(?:[^@/]*@)?([^/:?#]+)")


# -- shared helpers ----------------------------------------------------------------------------------


def _region_origin(res: Resource) -> str:
    """Where the stack builder found the region, in words a user can act on."""
    source = res.region_source
    if source in ("resource region input", "resource region (unknown until apply)"):
        return "its own `region` input"
    if source == "provider region (unknown until apply)":
        return "its provider's `region`"
    if source.startswith("explicit provider without region "):
        name = source.rsplit(" ", 1)[-1]
        return (
            f"explicit provider '{name}', which has no `region` input, so it deploys wherever the deploying "
            "machine's environment (AWS_REGION) points: pulumi-aws never takes an explicit provider's region "
            "from the stack config"
        )
    if source.startswith("explicit provider not in input "):
        name = source.rsplit(" ", 1)[-1]
        return f"explicit provider '{name}', which this input does not hold, so its region cannot be read"
    if source.startswith("provider "):
        return f"provider '{source[len('provider ') :]}'"
    if source.startswith("stack config "):
        return f"the stack config `{source[len('stack config ') :]}`"
    if source == "ARN":
        return "its ARN"
    if source == "deployed region":
        return "its deployed outputs"
    return source


def _region_fix(res: Resource, stack: Stack, regions: str | None = None) -> str:
    regions = regions or stack.settings.regions_text()
    source = res.region_source
    if source == "resource region input":
        return f"set its `region` to {regions}"
    if source.startswith(("provider ", "explicit provider ")):
        return f"set that provider's `region` to {regions}"
    if source.startswith("stack config "):
        key = source[len("stack config ") :]
        return f"set `{key}` to {regions} in the stack config, or give it a provider pinned to {regions}"
    return f"recreate it with a provider pinned to {regions}"


def _region_not_known(res: Resource) -> str:
    """Why an UNKNOWN region is unknown: not until apply, or not at all from this input."""
    if res.region_source.startswith("explicit provider "):
        return f"takes its region from {_region_origin(res)}"
    return f"takes its region from {_region_origin(res)}, which is not known until apply"


def _allowed(res: Resource, stack: Stack) -> tuple[str, ...]:
    return stack.settings.regions_for(package_of(res.type)) or stack.settings.allowed_regions


def judge_territory(res: Resource, stack: Stack, why: str) -> Iterator[str | Violation]:
    """The one territory judgement RES-001, RES-002 and RES-005 share: a resolved region in its provider
    package's allowed list; a missing region is a finding; an unknown one an `unknown` finding."""
    allowed = _allowed(res, stack)
    regions = " or ".join(allowed)
    region = res.region
    if region is None:
        # It would deploy wherever the deploying machine's AWS_REGION points: not determinable here.
        package = package_of(res.type)
        yield unknown(
            f"{res.label} has no region: it has no `region` input, its provider sets none and the stack "
            f"config has no `{package}:region`, so nothing proves {why}; set `{package}:region: {allowed[0]}` "
            f"in Pulumi.<stack>.yaml or give it a provider pinned to {regions}"
        )
    elif region is UNKNOWN:
        yield unknown(
            f"{res.label} {_region_not_known(res)}; pin it to a literal {regions} so the check can prove {why}"
        )
    elif region not in allowed:
        yield (
            f"{res.label} is in {region} (from {_region_origin(res)}), but {why} requires {regions}: "
            f"{_region_fix(res, stack, regions)}"
        )


def _arn_parts(arn: str) -> tuple[str, str, str] | None:
    """(partition, service, region) of an ARN, or None when the text is not an ARN."""
    match = _ARN.match(arn)
    if match is None:
        return None
    return match.group(1), match.group(2), match.group(3)


def _host_region(url: str) -> str | None:
    """The region in an AWS service URL or host name, or None when it names none."""
    match = _URL_HOST.search(url)
    host = (match.group(1) if match else url).lower()
    found = _HOST_REGION.search(host)
    return found.group(1) if found else None


_BUCKET_INDEX: dict[int, tuple[weakref.ref[Stack], dict[str, Resource]]] = {}


def _buckets_by_name(stack: Stack) -> dict[str, Resource]:
    """S3 buckets of the stack by `bucket` / `id`, built once per stack (RES-003 asks per bucket)."""
    key = id(stack)
    hit = _BUCKET_INDEX.get(key)
    if hit is not None and hit[0]() is stack:
        return hit[1]
    index: dict[str, Resource] = {}
    for bucket in stack.of_type(*S3_BUCKET_TYPES):
        for prop in ("bucket", "id"):
            value = bucket.props.get(prop)
            if isinstance(value, str) and value:
                index.setdefault(value, bucket)
    _BUCKET_INDEX[key] = (weakref.ref(stack, lambda _ref, key=key: _BUCKET_INDEX.pop(key, None)), index)
    return index


# -- RES-001 -----------------------------------------------------------------------------------------


def _declared_out_of_scope(res: Resource, stack: Stack) -> bool:
    """Declared (by its classification) to hold nothing bound to the territory, e.g. non-personal.

    Such a declaration is on the record: `--format json` lists it under `declarations`, and with
    `--strict` it needs an attestation (CLS-002)."""
    return not stack.settings.category_of(res.tags).in_territory


def _is_data_store(res: Resource, stack: Stack) -> bool:
    if res.type in DATA_STORES:
        return True
    info = classify(res.type)
    return info is not None and info.kind == "data-store" and _package_in_territory(res, stack)


def _package_in_territory(res: Resource, stack: Stack) -> bool:
    return stack.settings.regions_for(package_of(res.type)) is not None


@rule(
    id="RES-001",
    title="Data stores stay in mainland China",
    severity=Severity.CRITICAL,
    types=None,
    applies=_is_data_store,
    remediation=(
        "Create data stores with a provider pinned to cn-north-1 or cn-northwest-1: set `aws:region` in "
        "Pulumi.<stack>.yaml or pass an explicit aws.Provider(region=...) to the resource."
    ),
)
def data_store_in_territory(res: Resource, stack: Stack) -> Iterator[str | Violation]:
    """A data store holding personal data collected in mainland China lives in an allowed region.

    Every type the type catalogue classifies as a data store counts (aws and aws-native). Stores whose
    data category is not bound to the territory (e.g. "non-personal") are exempt, and that
    declaration is on the record; an untagged store is treated as personal data collected in
    mainland China.
    """
    if _declared_out_of_scope(res, stack):
        return
    yield from judge_territory(res, stack, "personal data collected in mainland China stays there")


# -- RES-002 -----------------------------------------------------------------------------------------


_PACKAGE_NAMES = {"aws": "AWS", "aws-native": "AWS Cloud Control (aws-native)"}


def _is_territory_provider(res: Resource, stack: Stack) -> bool:
    return res.type.startswith(PROVIDER_PREFIX) and _package_in_territory(res, stack)


@rule(
    id="RES-002",
    title="Cloud providers target an allowed China region",
    severity=Severity.CRITICAL,
    types=None,
    applies=_is_territory_provider,
    remediation="Set every aws.Provider's `region` (or the stack's `aws:region`) to cn-north-1 or cn-northwest-1.",
)
def provider_in_territory(res: Resource, stack: Stack) -> Iterator[str | Violation]:
    """Every provider of a package the territory lists (aws, aws-native, ...) points at an allowed
    region, so nothing it creates can land elsewhere."""
    allowed = _allowed(res, stack)
    regions = " or ".join(allowed)
    package = package_of(res.type)
    label = f"{_PACKAGE_NAMES.get(package, package)} provider '{res.name}'"
    region = res.region
    default = is_default_provider(res.name)
    # Default providers (default_6_x_y) take `<pkg>:region` from the stack config; explicit ones their input.
    fix = (
        f"set `{package}:region` in the stack config to {regions}"
        if default
        else f"set its `region` to {regions}"
    )
    if region is None:
        yield unknown(
            f"{label} has no region and the stack config sets no `{package}:region`, so it deploys wherever the "
            f"environment (AWS_REGION) points; {fix}"
        )
    elif region is UNKNOWN:
        if res.region_source.startswith("explicit provider without region"):
            yield unknown(
                f"{label} has no `region` input: pulumi-aws takes an explicit provider's region from the "
                f"deploying machine's environment (AWS_REGION), never from the stack config, so nothing in the "
                f"program proves where it deploys; {fix}"
            )
        else:
            yield unknown(f"{label} {_region_not_known(res)}; set its `region` to a literal {regions}")
    elif region not in allowed:
        yield (
            f"{label} targets {region} (from {_region_origin(res)}), so everything it creates lands outside "
            f"mainland China; {fix}"
        )


# -- RES-005 -----------------------------------------------------------------------------------------


def _is_other_regional(res: Resource, stack: Stack) -> bool:
    """Every custom resource of a regional type that RES-001/RES-002 do not already judge."""
    if not res.custom or res.type.startswith(PROVIDER_PREFIX) or not _package_in_territory(res, stack):
        return False
    if res.type in DATA_STORES:
        return False
    info = classify(res.type)
    if info is None:
        # A type of a package with a territory entry but no type catalogue (another cloud): its region
        # is all the check can know. Unclassified aws types are reported "not evaluated" instead.
        return package_of(res.type) not in CATALOGUED_PACKAGES
    return info.kind not in ("data-store", "metadata")


@rule(
    id="RES-005",
    title="Every regional resource deploys in mainland China; global ones in the China partition",
    severity=Severity.HIGH,
    types=None,
    applies=_is_other_regional,
    remediation=(
        "Deploy every resource through a provider pinned to cn-north-1 or cn-northwest-1 (`aws:region` in "
        "Pulumi.<stack>.yaml, or an explicit aws.Provider(region=...)); compute, queues, networks and "
        "grants outside the territory process or expose the data the stores hold."
    ),
)
def regional_resource_in_territory(res: Resource, stack: Stack) -> Iterator[str | Violation]:
    """Functions, clusters, instances, networks, grants and channels run where their provider points:
    outside the territory they process personal data collected in mainland China abroad. A global
    service (IAM, CloudFront, Route 53...) has no region, but lives in its provider's partition.
    """
    if _declared_out_of_scope(res, stack):
        return
    info = classify(res.type)
    if info is not None and not info.regional:
        yield from _global_partition(res, stack)
        return
    yield from judge_territory(res, stack, "whatever it processes stays in mainland China")


def _global_partition(res: Resource, stack: Stack) -> Iterator[str | Violation]:
    settings = stack.settings
    if package_of(res.type) != "aws" or not settings.china:
        return
    partition = res.partition
    region = res.region
    regions = settings.regions_text()
    if partition is UNKNOWN or (partition is None and region is UNKNOWN):
        yield unknown(
            f"{res.label} is a global resource whose partition follows its provider, which "
            f"{_region_not_known(res).removeprefix('takes its region from ')}; pin the provider to {regions} "
            f"so it is created in `{settings.partition}`"
        )
    elif partition is None:
        yield (
            f"{res.label} is a global resource, but nothing says which partition its provider deploys to (no "
            f"region on the provider or in the stack config); pin the provider to {regions} so it is created "
            f"in `{settings.partition}`"
        )
    elif partition != settings.partition:
        yield (
            f"{res.label} is a global resource created through a provider in {region or partition} (from "
            f"{_region_origin(res)}), so it lives in the `{partition}` partition, outside AWS China; "
            f"{_region_fix(res, stack, regions)}"
        )


# -- RES-003 -----------------------------------------------------------------------------------------

_S3_REPLICATION_TYPES = side_types("replication")
_FIREHOSE_ENDPOINTS = {
    "httpEndpointConfiguration": "url",
    "splunkConfiguration": "hecEndpoint",
    "snowflakeConfiguration": "accountUrl",
}
_FIREHOSE_BLOCKS = (
    "extendedS3Configuration",
    "s3Configuration",
    "redshiftConfiguration",
    "elasticsearchConfiguration",
    "opensearchConfiguration",
    "opensearchserverlessConfiguration",
    "icebergConfiguration",
    *_FIREHOSE_ENDPOINTS,
)
#: Resources whose whole purpose is to send data to the ARN in one property.
_ARN_DESTINATIONS = {
    LOG_SUBSCRIPTION_FILTER: ("destinationArn", "log subscription destination"),
    LOG_DESTINATION: ("targetArn", "log destination target"),
    DYNAMODB_KINESIS_DESTINATION: ("streamArn", "Kinesis stream the table streams changes to"),
    # An EventBridge target's `arn` is where matching events go (a function, queue, stream or another
    # region's event bus), not the target's own identity.
    EVENT_TARGET: ("arn", "event target destination `arn`"),
    "aws:pipes/pipe:Pipe": ("target", "pipe target"),
}
#: Snapshot copies: where the copy is placed when not in the resource's own region.
_SNAPSHOT_COPIES = frozenset({RDS_SNAPSHOT_COPY, RDS_CLUSTER_SNAPSHOT_COPY})
#: SNS protocols whose endpoint is an ARN of an AWS resource.
_SNS_ARN_PROTOCOLS = frozenset({"sqs", "lambda", "firehose", "application"})
#: DMS target settings blocks: (block, key, kind) with kind "bucket", "arn" or "host".
_DMS_TARGETS = (
    ("s3Settings", "bucketName", "bucket"),
    ("redshiftSettings", "bucketName", "bucket"),
    ("kinesisSettings", "streamArn", "arn"),
    ("kafkaSettings", "broker", "host"),
    ("elasticsearchSettings", "endpointUri", "host"),
    ("redisSettings", "serverName", "host"),
)

COPY_TYPES = frozenset(
    S3_BUCKET_TYPES
    | _S3_REPLICATION_TYPES
    | set(_ARN_DESTINATIONS)
    | {
        DYNAMODB_TABLE,
        DYNAMODB_GLOBAL_TABLE,
        BACKUP_PLAN,
        SECRET,
        RDS_INSTANCE_AUTOMATED_BACKUPS_REPLICATION,
        KMS_REPLICA_KEY,
        KMS_REPLICA_EXTERNAL_KEY,
        EFS_REPLICATION,
        FIREHOSE_STREAM,
        SNS_TOPIC_SUBSCRIPTION,
        EVENT_API_DESTINATION,
        EVENT_RULE,
        DYNAMODB_TABLE_EXPORT,
        DMS_ENDPOINT,
        DMS_S3_ENDPOINT,
    }
    | _SNAPSHOT_COPIES
)


class _Copy:
    """How to word findings about one declared copy, and which resource they point at.

    Each check returns a Violation, or None when the copy is provably in territory. `what` names
    the copy without an article ("replica #2", "primary key arn:..."), to read after a colon.
    """

    __slots__ = ("res", "stack", "subject", "target")

    def __init__(
        self, res: Resource, stack: Stack, subject: str | None = None, target: Resource | None = None
    ):
        self.res = res
        self.stack = stack
        self.subject = subject or res.label
        self.target = target

    def found(self, message: str) -> Violation:
        return Violation(message, resource=self.target)

    def unknown(self, message: str) -> Violation:
        return unknown(message, resource=self.target)

    def region(self, region: Any, what: str, fix: str, direction: str = "to") -> Violation | None:
        """`direction` is "from" when the value names where the data comes from (a primary, a source)."""
        settings = self.stack.settings
        if region is UNKNOWN:
            return self.unknown(
                f"{self.subject}: the region of {what} is not known until apply; use a literal "
                f"{settings.regions_text()} so the preview can prove the copy stays in mainland China"
            )
        if not isinstance(region, str) or not region:
            return self.found(
                f"{self.subject}: {what} has no region, so nothing proves the copy stays in mainland China; {fix}"
            )
        if region not in settings.allowed_regions:
            return self.found(
                f"{self.subject} copies data {direction} {region} ({what}); personal data collected in mainland "
                f"China and every copy of it must stay in {settings.regions_text()}: {fix}"
            )
        return None

    def arn(self, value: Any, what: str, fix: str, dep_key: str, direction: str = "to") -> Violation | None:
        """An ARN the data is copied to (or from): its region, or for region-less ARNs its partition."""
        if value is UNKNOWN:
            return self.from_dependencies(what, fix, dep_key)
        if not isinstance(value, str) or not value:
            return self.found(f"{self.subject}: {what} is empty or not text, so it cannot be verified; {fix}")
        parts = _arn_parts(value)
        if parts is None:
            return self.found(
                f"{self.subject}: {what} {_short(value)} is not an ARN, so its region cannot be verified; {fix}"
            )
        partition, _service, region = parts
        if region:
            return self.region(region, f"{what} {_short(value)}", fix, direction)
        return self.partition(partition, value, what, fix)

    def partition(self, partition: str, arn: str, what: str, fix: str) -> Violation | None:
        settings = self.stack.settings
        if partition == "aws-cn" and CHINA_REGIONS <= set(settings.allowed_regions):
            return None
        if settings.china and partition != "aws-cn":
            return self.found(
                f"{self.subject} copies data to {_short(arn)} ({what}) in the `{partition}` partition, outside "
                f"mainland China; copies must stay in {settings.regions_text()}: {fix}"
            )
        return self.found(
            f"{self.subject}: {what} {_short(arn)} names no region, so nothing proves the copy stays in "
            f"{settings.regions_text()}; {fix}"
        )

    def bucket(self, value: Any, what: str, fix: str, dep_key: str | tuple[str, ...]) -> Violation | None:
        """An S3 bucket ARN (no region in it): resolve the bucket in the stack, else judge the partition."""
        if value is UNKNOWN:
            return self.from_dependencies(what, fix, dep_key)
        if not isinstance(value, str) or not value:
            return self.found(f"{self.subject}: {what} is empty or not text, so it cannot be verified; {fix}")
        name = value.split(":::", 1)[1] if value.startswith("arn:") and ":::" in value else value
        dest = _buckets_by_name(self.stack).get(name.split("/", 1)[0])
        if dest is not None:
            return self.resolved(dest, f"{what}, {dest.label}", fix)
        parts = _arn_parts(value)
        if parts is None:
            return self.found(
                f"{self.subject}: {what} {_short(value)} is neither a bucket of this stack nor an ARN, so its "
                f"region cannot be verified; {fix}"
            )
        partition, _service, region = parts
        if region:
            return self.region(region, f"{what} {_short(value)}", fix)
        return self.partition(partition, value, what, fix)

    def resolved(self, dest: Resource, what: str, fix: str) -> Violation | None:
        """A destination found in the stack: its resolved region decides."""
        if dest.region is None:
            return self.found(
                f"{self.subject}: {what} has no region (no region input, provider region or stack "
                f"`aws:region`), so nothing proves the copy stays in mainland China; {fix}"
            )
        return self.region(dest.region, what, fix)

    def from_dependencies(self, what: str, fix: str, dep_key: str | tuple[str, ...]) -> Violation | None:
        """A destination unknown until apply: judge it by the resources its value is computed from.

        In a first preview `destination = replica.arn` is unknown; the property dependencies still say
        which resources it comes from. If all of them are AWS resources of this stack in allowed
        regions, so is the destination; anything else stays unknown (fail closed).
        """
        keys = (dep_key,) if isinstance(dep_key, str) else dep_key
        urns = [u for k in keys for u in self.res.property_dependencies.get(k, ())]
        deps = [self.stack.by_urn.get(u) for u in urns]
        settings = self.stack.settings
        pending = self.unknown(
            f"{self.subject}: {what} is not known until apply and does not come only from resources of this "
            f"stack with a known region; make sure it stays in {settings.regions_text()}"
        )
        known = [d for d in deps if d is not None and d.type.startswith("aws:")]
        if not known or len(known) != len(deps):
            return pending
        for dep in known:
            if isinstance(dep.region, str) and dep.region not in settings.allowed_regions:
                return self.found(
                    f"{self.subject}: {what} is computed from {dep.label}, which is in {dep.region}; copies of "
                    f"personal data collected in mainland China must stay in {settings.regions_text()}: {fix}"
                )
        if any(not isinstance(d.region, str) for d in known):
            return pending
        return None


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@rule(
    id="RES-003",
    title="Copies and replicas stay in territory",
    severity=Severity.CRITICAL,
    types=COPY_TYPES,
    remediation=(
        "Point every replica, replication rule, backup or snapshot copy, log subscription, delivery stream, SNS "
        "subscription, EventBridge target, pipe or API destination, table export and DMS target at a "
        "destination in cn-north-1 or cn-northwest-1 (partition aws-cn, an AWS endpoint *.amazonaws.com.cn), "
        "or remove it."
    ),
)
def copies_in_territory(res: Resource, stack: Stack) -> Iterator[Violation]:
    """Every declared copy of the data (replica, replication, backup or snapshot copy, stream, subscription,
    event target, export, migration target) stays in territory, and no channel sends it in cleartext.

    The resource's own region is RES-001's concern (and is not repeated here for data stores); this
    rule looks at where the copies it declares end up.
    """
    classified_store = res.type in DATA_STORES or res.type in _SNAPSHOT_COPIES
    if classified_store and not stack.settings.category_of(res.tags).in_territory:
        return
    check = _COPY_CHECKS.get(res.type)
    if check is None:
        check = _s3_bucket_copies if res.type in S3_BUCKET_TYPES else _s3_orphan_replication
    for problem in check(res, stack):
        if problem is not None:
            yield problem


def _s3_bucket_copies(res: Resource, stack: Stack) -> Iterator[Violation | None]:
    yield from _s3_replication(res, stack, bucket_view(res).replication)


def _s3_orphan_replication(res: Resource, stack: Stack) -> Iterator[Violation | None]:
    """A replication side resource whose bucket is not in this stack (else the bucket's check covers it)."""
    if res.owner is not None:
        return
    stand_in = Resource(urn=res.urn, type=res.type, name=res.name, props={}, side={"replication": [res]})
    yield from _s3_replication(res, stack, bucket_view(stand_in).replication, orphan=True)


def _s3_replication(
    res: Resource, stack: Stack, destinations: list[Any], orphan: bool = False
) -> Iterator[Violation | None]:
    regions = stack.settings.regions_text()
    for dest in destinations:
        declared = dest.source
        if orphan or declared is res:
            copy = _Copy(res, stack)
            dep_keys: tuple[str, ...] = (
                ("rules",) if orphan else ("replicationConfiguration", "replicationConfigurations")
            )
        else:
            copy = _Copy(
                declared, stack, subject=f"{declared.label} (replication of {res.label})", target=declared
            )
            dep_keys = ("rules",)
        rule_text = f"replication rule '{dest.rule_id}'" if dest.rule_id else "replication configuration"
        yield copy.bucket(
            dest.bucket_arn,
            f"destination bucket of {rule_text}",
            f"replicate to a bucket in {regions} (arn:aws-cn:s3:::...) or remove the rule",
            dep_keys,
        )


def _replicas(key: str, region_key: str, what: str):  # noqa: ANN202 - returns a checker
    """A checker for a `replicas: [{<region_key>: ...}]` list (DynamoDB tables, secrets)."""

    def check(res: Resource, stack: Stack) -> Iterator[Violation | None]:
        copy = _Copy(res, stack)
        regions = stack.settings.regions_text()
        replicas = res.props.get(key)
        if replicas is UNKNOWN:
            yield copy.unknown(
                f"{res.label}: its replicas are not known until apply; list them with literal regions in {regions}"
            )
            return
        for i, replica in enumerate(as_list(replicas)):
            region = replica.get(region_key) if isinstance(replica, dict) else UNKNOWN
            yield copy.region(region, f"{what} #{i + 1}", f"remove the replica or place it in {regions}")

    return check


_dynamodb_replicas = _replicas("replicas", "regionName", "replica")
_secret_replicas = _replicas("replicas", "region", "secret replica")


def _backup_copies(res: Resource, stack: Stack) -> Iterator[Violation | None]:
    copy = _Copy(res, stack)
    regions = stack.settings.regions_text()
    fix = f"copy only to a backup vault in {regions}"
    rules = res.props.get("rules")
    if rules is UNKNOWN:
        yield copy.unknown(
            f"{res.label}: its rules are not known until apply, so their copy destinations cannot be checked"
        )
        return
    for i, plan_rule in enumerate(as_list(rules)):
        if not isinstance(plan_rule, dict):
            yield copy.unknown(f"{res.label}: rule #{i + 1} is not known until apply")
            continue
        name = plan_rule.get("ruleName") if isinstance(plan_rule.get("ruleName"), str) else f"#{i + 1}"
        actions = plan_rule.get("copyActions")
        if actions is UNKNOWN:
            yield copy.unknown(f"{res.label}: the copy actions of rule '{name}' are not known until apply")
            continue
        for action in as_list(actions):
            target = action.get("destinationVaultArn") if isinstance(action, dict) else UNKNOWN
            yield copy.arn(target, f"copy destination vault of rule '{name}'", fix, "rules")


def _automated_backups_replication(res: Resource, stack: Stack) -> Iterator[Violation | None]:
    """The replication resource lives in the destination region; its source ARN says where data came from."""
    copy = _Copy(res, stack)
    regions = stack.settings.regions_text()
    yield copy.resolved(res, "backup replica", f"create it with a provider pinned to {regions}")
    yield copy.arn(
        res.props.get("sourceDbInstanceArn"),
        "source DB instance",
        f"replicate only backups of DB instances in {regions}",
        "sourceDbInstanceArn",
        direction="from",
    )


def _kms_replica(res: Resource, stack: Stack) -> Iterator[Violation | None]:
    # The replica key's own region is checked by RES-001 (it is a data store); its primary is not.
    yield _Copy(res, stack).arn(
        res.props.get("primaryKeyArn"),
        "primary key",
        f"replicate only keys whose primary is in {stack.settings.regions_text()}",
        "primaryKeyArn",
        direction="from",
    )


def _efs_replication(res: Resource, stack: Stack) -> Iterator[Violation | None]:
    copy = _Copy(res, stack)
    regions = stack.settings.regions_text()
    fix = f"set `destination.region` to {regions}"
    destination = res.props.get("destination")
    block = first(destination)
    if destination is UNKNOWN or block is UNKNOWN:
        yield copy.unknown(
            f"{res.label}: its destination is not known until apply; set a literal `destination.region` in {regions}"
        )
        return
    if not isinstance(block, dict):
        yield copy.found(
            f"{res.label} declares no destination, so the replica's region cannot be verified; {fix}"
        )
        return
    region = block.get("region")
    if region is None:
        zone = block.get("availabilityZoneName")
        if zone is UNKNOWN:
            region = UNKNOWN
        elif isinstance(zone, str) and zone:
            region = zone.rstrip("abcdefghijklmnopqrstuvwxyz") if zone[-1:].isalpha() else zone
    if region is None:
        # Without a region or zone the replica is created in the source file system's region.
        yield copy.resolved(res, "replica file system (same region as the source)", fix)
        return
    yield copy.region(region, "replica file system", fix)


def _arn_destination(res: Resource, stack: Stack) -> Iterator[Violation | None]:
    key, what = _ARN_DESTINATIONS[res.type]
    yield _Copy(res, stack).arn(
        res.props.get(key), what, f"send it only to a destination in {stack.settings.regions_text()}", key
    )
    if res.type == EVENT_TARGET:
        yield from _event_bus_arn(res, stack)


def _event_bus_arn(res: Resource, stack: Stack) -> Iterator[Violation | None]:
    """A rule or target on an event bus named by ARN: events flow through that bus's region."""
    bus = res.props.get("eventBusName")
    if isinstance(bus, str) and bus.startswith("arn:"):
        yield _Copy(res, stack).arn(
            bus,
            "event bus `eventBusName`",
            f"use an event bus in {stack.settings.regions_text()} (arn:aws-cn:events:<region>:<account-id>:event-bus/<name>)",
            "eventBusName",
        )


def _firehose(res: Resource, stack: Stack) -> Iterator[Violation | None]:
    copy = _Copy(res, stack)
    regions = stack.settings.regions_text()
    fix = f"deliver only to destinations in {regions}"
    for key in _FIREHOSE_BLOCKS:
        raw = res.props.get(key)
        block = first(raw)
        if block is None:
            continue
        if raw is UNKNOWN or block is UNKNOWN:
            yield copy.unknown(
                f"{res.label}: `{key}` is not known until apply, so its destination cannot be checked"
            )
            continue
        if not isinstance(block, dict):
            continue
        for path, arn in _find_key(block, "bucketArn", key):
            yield copy.bucket(arn, f"delivery bucket `{path}`", fix, key)
        for field in ("domainArn", "catalogArn"):
            if field in block:
                yield copy.arn(block[field], f"delivery destination `{key}.{field}`", fix, key)
        for field in ("clusterJdbcurl", "clusterEndpoint", "collectionEndpoint"):
            if field in block:
                yield _endpoint_region(copy, block[field], f"`{key}.{field}`", fix)
        endpoint_field = _FIREHOSE_ENDPOINTS.get(key)
        if endpoint_field is not None:
            yield _external_endpoint(copy, block.get(endpoint_field), f"{key}.{endpoint_field}", fix)


def _find_key(value: Any, wanted: str, path: str) -> Iterator[tuple[str, Any]]:
    """Every value of `wanted` in a nested block, with its path (backup S3 configs nest the key)."""
    if isinstance(value, dict):
        for k, v in value.items():
            sub = f"{path}.{k}"
            if k == wanted:
                yield sub, v
            else:
                yield from _find_key(v, wanted, sub)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _find_key(v, wanted, f"{path}[{i}]")


def _endpoint_region(copy: _Copy, url: Any, what: str, fix: str) -> Violation | None:
    if url is UNKNOWN:
        return copy.unknown(f"{copy.subject}: the delivery endpoint {what} is not known until apply; {fix}")
    if not isinstance(url, str) or not url:
        return None
    region = _host_region(url)
    if region is None:
        return copy.found(
            f"{copy.subject}: the delivery endpoint {what} ({_short(url)}) names no AWS region, so nothing "
            f"proves the data stays in mainland China; {fix}"
        )
    return copy.region(region, f"delivery endpoint {what}", fix)


def _external_endpoint(copy: _Copy, url: Any, what: str, fix: str) -> Violation | None:
    if url is UNKNOWN:
        return copy.unknown(f"{copy.subject}: the delivery endpoint `{what}` is not known until apply; {fix}")
    if not isinstance(url, str) or not url:
        return None
    region = _host_region(url)
    if region is not None and region in copy.stack.settings.allowed_regions:
        return None  # an AWS China service endpoint (e.g. API Gateway in cn-north-1)
    return copy.found(
        f"{copy.subject} delivers data to {_short(url)} (`{what}`), an endpoint outside AWS China's "
        f"{copy.stack.settings.regions_text()}: nothing proves the data stays in mainland China; {fix}"
    )


def _snapshot_copy(res: Resource, stack: Stack) -> Iterator[Violation | None]:
    """A snapshot copy is placed in `destinationRegion` when set, else in the resource's own region (RES-001)."""
    region = res.props.get("destinationRegion")
    if region in (None, ""):
        return
    yield _Copy(res, stack).region(
        region,
        "destinationRegion of the snapshot copy",
        f"set destinationRegion to {stack.settings.regions_text()}, or remove it to copy within the region",
    )


def _sns_subscription(res: Resource, stack: Stack) -> Iterator[Violation | None]:
    copy = _Copy(res, stack)
    regions = stack.settings.regions_text()
    protocol = res.props.get("protocol")
    endpoint = res.props.get("endpoint")
    if protocol is UNKNOWN:
        yield copy.unknown(
            f"{res.label}: its protocol is not known until apply, so its endpoint cannot be judged"
        )
        return
    if not isinstance(protocol, str):
        return
    topic = _subscribed_topic(res, stack)
    if topic is not None and not stack.settings.category_of(topic.tags).in_territory:
        return  # the topic is declared to carry nothing bound to the territory (on the record)
    protocol = protocol.lower()
    fix = (
        f"subscribe an SQS queue or Lambda function in {regions} (protocol 'sqs'/'lambda', endpoint "
        f"arn:aws-cn:...), or an https endpoint of an AWS service in {regions}"
    )
    if protocol == "http":
        shown = "an endpoint unknown until apply" if endpoint is UNKNOWN else _short(str(endpoint))
        yield copy.found(
            f"{res.label} delivers messages in cleartext to {shown} (protocol 'http'): anyone on the path reads "
            f"the personal data they carry; use protocol 'https' and {fix}"
        )
        if isinstance(endpoint, str):
            yield _external_endpoint(copy, endpoint, "endpoint", fix)
    elif protocol == "https":
        if endpoint is UNKNOWN:
            # An URL computed from a stage or function URL of this stack is in that resource's region.
            yield copy.from_dependencies("the https `endpoint`", fix, "endpoint")
        else:
            yield _external_endpoint(copy, endpoint, "endpoint", fix)
    elif isinstance(protocol, str) and protocol in _SNS_ARN_PROTOCOLS:
        yield copy.arn(endpoint, f"{protocol} endpoint", fix, "endpoint")
    elif protocol in ("email", "email-json", "sms"):
        what = "the phone number" if protocol == "sms" else "the mailbox"
        shown = "unknown until apply" if endpoint is UNKNOWN else _short(str(endpoint))
        yield copy.found(
            f"{res.label} delivers messages to {what} {shown} (protocol '{protocol}'): they leave AWS, and nothing "
            f"proves where they are read is in mainland China; {fix}, or, if the topic's messages carry no "
            "personal data, tag the topic data-category: non-personal"
        )


def _subscribed_topic(res: Resource, stack: Stack) -> Resource | None:
    topic = res.props.get("topic")
    if isinstance(topic, str):
        found = stack.memo("res003.topics_by_arn", _topics_by_arn).get(topic)
        if found is not None:
            return found
    return referenced(stack, res, "topic", (SNS_TOPIC,))


def _topics_by_arn(stack: Stack) -> dict[str, Resource]:
    index: dict[str, Resource] = {}
    for topic in stack.of_type(SNS_TOPIC):
        for key in ("arn", "id"):
            value = topic.props.get(key)
            if isinstance(value, str) and value:
                index.setdefault(value, topic)
    return index


def _api_destination(res: Resource, stack: Stack) -> Iterator[Violation | None]:
    copy = _Copy(res, stack)
    fix = (
        f"invoke only endpoints in {stack.settings.regions_text()} (an API Gateway or service endpoint "
        f"*.{stack.settings.allowed_regions[0]}.amazonaws.com.cn), or remove the API destination"
    )
    url = res.props.get("invocationEndpoint")
    if isinstance(url, str) and url.lower().startswith("http://"):
        yield copy.found(
            f"{res.label} sends events in cleartext to {_short(url)} (`invocationEndpoint`); use https and {fix}"
        )
    if url is UNKNOWN:
        yield copy.from_dependencies("`invocationEndpoint`", fix, "invocationEndpoint")
    else:
        yield _external_endpoint(copy, url, "invocationEndpoint", fix)


def _table_export(res: Resource, stack: Stack) -> Iterator[Violation | None]:
    copy = _Copy(res, stack)
    regions = stack.settings.regions_text()
    fix = f"export only to a bucket of this account in {regions}"
    owner = res.props.get("s3BucketOwner")
    if owner is UNKNOWN:
        yield copy.unknown(f"{res.label}: s3BucketOwner is not known until apply; {fix}")
    elif isinstance(owner, str) and owner:
        account = _account_of(res.props.get("tableArn"))
        if account is None:
            table = referenced(stack, res, "tableArn", (DYNAMODB_TABLE,))
            account = _account_of(table.props.get("arn")) if table is not None else None
        if account is None:
            yield copy.unknown(
                f"{res.label} exports to a bucket owned by account {owner} (s3BucketOwner), and the table's own "
                f"account is not known until apply; remove s3BucketOwner unless it is this account: {fix}"
            )
        elif account != owner:
            yield copy.found(
                f"{res.label} exports the table to a bucket owned by another account, {owner} (s3BucketOwner; "
                f"the table is in {account}): the copy leaves this account's control; {fix}"
            )
    yield copy.bucket(res.props.get("s3Bucket"), "export bucket `s3Bucket`", fix, "s3Bucket")


def _account_of(arn: Any) -> str | None:
    if isinstance(arn, str) and arn.startswith("arn:"):
        parts = arn.split(":")
        if len(parts) > 4 and parts[4].isdigit():
            return parts[4]
    return None


def _dms_endpoint(res: Resource, stack: Stack) -> Iterator[Violation | None]:
    """A DMS target endpoint is where migrated data lands; a source endpoint only reads."""
    copy = _Copy(res, stack)
    regions = stack.settings.regions_text()
    fix = f"migrate only into targets in {regions} (AWS endpoints *.{stack.settings.allowed_regions[0]}.amazonaws.com.cn)"
    kind = res.props.get("endpointType")
    if kind is UNKNOWN:
        yield copy.unknown(
            f"{res.label}: endpointType is not known until apply, so its destination cannot be judged"
        )
        return
    if kind != "target":
        return
    if res.type == DMS_S3_ENDPOINT:
        yield copy.bucket(res.props.get("bucketName"), "target bucket `bucketName`", fix, "bucketName")
        return
    server = res.props.get("serverName")
    if server is not None:
        yield _endpoint_region(copy, server, "`serverName`", fix)
    for block, key, kind_of in _DMS_TARGETS:
        raw = res.props.get(block)
        settings = first(raw)
        if settings is None:
            continue
        if raw is UNKNOWN or settings is UNKNOWN:
            yield copy.unknown(
                f"{res.label}: `{block}` is not known until apply, so its target cannot be checked"
            )
            continue
        if not isinstance(settings, dict) or settings.get(key) is None:
            continue
        value = settings.get(key)
        what = f"`{block}.{key}`"
        if kind_of == "bucket":
            yield copy.bucket(value, f"target bucket {what}", fix, block)
        elif kind_of == "arn":
            yield copy.arn(value, f"target {what}", fix, block)
        else:
            yield _endpoint_region(copy, value, what, fix)


_COPY_CHECKS = {
    SNS_TOPIC_SUBSCRIPTION: _sns_subscription,
    EVENT_API_DESTINATION: _api_destination,
    EVENT_RULE: _event_bus_arn,
    DYNAMODB_TABLE_EXPORT: _table_export,
    DMS_ENDPOINT: _dms_endpoint,
    DMS_S3_ENDPOINT: _dms_endpoint,
    **{t: _snapshot_copy for t in _SNAPSHOT_COPIES},
    DYNAMODB_TABLE: _dynamodb_replicas,
    DYNAMODB_GLOBAL_TABLE: _dynamodb_replicas,
    SECRET: _secret_replicas,
    BACKUP_PLAN: _backup_copies,
    RDS_INSTANCE_AUTOMATED_BACKUPS_REPLICATION: _automated_backups_replication,
    KMS_REPLICA_KEY: _kms_replica,
    KMS_REPLICA_EXTERNAL_KEY: _kms_replica,
    EFS_REPLICATION: _efs_replication,
    FIREHOSE_STREAM: _firehose,
    **{t: _arn_destination for t in _ARN_DESTINATIONS},
}


# -- RES-004 -----------------------------------------------------------------------------------------

_GLOBAL_MARK = "arn:aws:"
_GLOBAL_ARN = re.compile(r"(?<![A-Za-z0-9_-])arn:aws:[^\s\"'<>,;{}\[\]]*")
#: The resource's own identity outputs: a resource outside China already fails RES-001.
_OWN_KEYS = frozenset({"arn", "id", "urn"})


@rule(
    id="RES-004",
    title="ARNs use the aws-cn partition in a China stack",
    severity=Severity.HIGH,
    types=None,
    remediation=(
        "Do not hard-code `arn:aws:`; derive the partition (aws.get_partition().partition, or "
        "`arn:${partition}:` in the program) so ARNs read `arn:aws-cn:` in AWS China."
    ),
)
def arns_in_china_partition(res: Resource, stack: Stack) -> Iterator[str]:
    """No property names an ARN in the global `aws` partition, which does not exist in AWS China."""
    if not stack.settings.china:
        return
    props = res.props
    # Cheap first pass in C: most resources name no global ARN at all.
    if _GLOBAL_MARK not in repr(props):
        return
    regions = stack.settings.regions_text()
    hits: dict[str, list[tuple[str, str]]] = {}
    # Only what the program declared: computed outputs (a Lambda's invokeArn) follow from the region,
    # which RES-001/RES-002 judge. Sources without inputs (live inventory) are scanned whole.
    declared = res.input_keys
    # Where `arn` is a destination (an EventBridge target's), it is not the resource's own identity.
    own = _OWN_KEYS - {"arn"} if res.type in ARN_IS_DESTINATION else _OWN_KEYS
    for key, value in props.items():
        if key not in own and (not declared or key in declared):
            _collect(value, key, hits)
    for path, found in hits.items():
        arn, where = found[0]
        more = len({a for a, _ in found}) - 1
        extra = f" (and {more} more)" if more > 0 else ""
        location = f" at {where}" if where else ""
        parts = _arn_parts(arn)
        region = parts[2] if parts else ""
        if region and not region.startswith("cn-"):
            # A regional ARN outside China: swapping the partition alone would not make it valid.
            yield (
                f"{res.label} `{path}` names {_short(arn)}{location}{extra}, an ARN in the global `aws` "
                f"partition ({region}), outside AWS China; point it at a resource in {regions} (ARNs there start "
                f"with `arn:aws-cn:`) and derive the partition from the region (aws.get_partition())"
            )
            continue
        fixed = _short("arn:aws-cn:" + arn[len(_GLOBAL_MARK) :])
        yield (
            f"{res.label} `{path}` names {_short(arn)}{location}{extra}, an ARN in the global `aws` partition, "
            f"which does not exist in AWS China; use {fixed}, deriving the partition from the region "
            f"(aws.get_partition()) rather than hard-coding `arn:aws:`"
        )


def _collect(value: Any, path: str, hits: dict[str, list[tuple[str, str]]]) -> None:
    if isinstance(value, str):
        if _GLOBAL_MARK in value:
            found = _arns_in_text(value)
            if found:
                hits[path] = found
    elif isinstance(value, dict):
        for k, v in value.items():
            _collect(v, f"{path}.{k}", hits)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _collect(v, f"{path}[{i}]", hits)


def _arns_in_text(text: str) -> list[tuple[str, str]]:
    """(ARN, where inside the text) pairs; JSON documents (policies) are located by their own path."""
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        try:
            document = json.loads(text)
        except ValueError:
            document = None
        if document is not None:
            inner: dict[str, list[tuple[str, str]]] = {}
            _collect(document, "", inner)
            return [(arn, where.lstrip(".")) for where, found in inner.items() for arn, _ in found]
    return [(arn, "") for arn in _GLOBAL_ARN.findall(text)]
