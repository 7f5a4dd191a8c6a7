"""The stack configuration, validated against the controls catalogue before any resource is declared.

`Pulumi.<stack>.yaml` holds `aws:region` and the project's own keys (`residency:...`). A value that
would deploy something non-compliant (a region outside mainland China, a retention outside the
category's bounds, an unknown category, an ARN that is not an aws-cn role ARN) stops the program with
one line that names the key and the fix. The bounds come from `policies/catalog.yaml`, so the program
and the rules can never disagree about them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

import pulumi
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from policies.catalog import Catalog, default_catalog

PROJECT = "residency"
AUDIT_CATEGORY = "audit-logs"
#: Categories a personal-data store cannot be declared with: the audit-log buckets have their own
#: key, the fail-safe category is what an untagged store becomes, not a choice.
_NOT_A_STORE_CATEGORY = {
    AUDIT_CATEGORY: f"audit logs are configured under `{PROJECT}:auditLogs`, not as a data category",
    "unclassified": "`unclassified` is the fail-safe for untagged stores; name the category the data belongs to",
}

_NAME_PREFIX = re.compile(r"^[a-z0-9][a-z0-9-]{1,30}[a-z0-9]$")
_ROLE_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):iam::(?P<account>\d{12}):role/(?P<name>[\w+=,.@/-]{1,512})$"
)
_KMS_KEY_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):kms:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):key/[0-9a-f-]{36}$"
)
_SERVICE_PRINCIPAL = re.compile(r"^[a-z0-9.-]+\.amazonaws\.com(\.cn)?$")


class ConfigError(pulumi.RunError):
    """A stack config value that would deploy something non-compliant; `pulumi up` prints one line."""


def partition_for(region: str) -> str:
    """The AWS partition of a region: ARNs are derived from it, never hard-coded."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class StoreConfig(_Model):
    """One data category's store: `residency:categories.<id>`."""

    store: Literal["bucket", "table"]
    retention_days: int = Field(alias="retentionDays", gt=0)
    #: Roles besides the category's application role that may read the data.
    reader_role_arns: tuple[str, ...] = Field(default=(), alias="readerRoleArns")
    #: DynamoDB only: the attribute holding each item's expiry (epoch seconds).
    ttl_attribute: str = Field(default="expiresAt", alias="ttlAttribute", min_length=1, max_length=255)
    #: DynamoDB only: the partition key.
    hash_key: str = Field(default="id", alias="hashKey", min_length=1, max_length=255)


class AuditConfig(_Model):
    """`residency:auditLogs`: how long access logs and CloudTrail logs are kept, and who may read them."""

    retention_days: int = Field(alias="retentionDays", gt=0)
    auditor_role_arns: tuple[str, ...] = Field(default=(), alias="auditorRoleArns")


class ReplicationConfig(_Model):
    """`residency:replication`: disaster-recovery copies of the buckets, in the other China region.

    The destination buckets and key belong to the stack deployed in that region (they are named by
    the same convention, `<namePrefix>-<category>-<region>`).
    """

    region: str
    kms_key_arn: str = Field(alias="kmsKeyArn")


class StackConfig(_Model):
    region: str
    partition: str
    name_prefix: str
    categories: dict[str, StoreConfig]
    audit: AuditConfig
    replication: ReplicationConfig | None = None
    app_trust_service: str = "ecs-tasks.amazonaws.com"
    allowed_regions: tuple[str, ...]


def _fail(key: str, message: str) -> ConfigError:
    return ConfigError(f"stack config `{key}`: {message}")


def _model(cls: type[_Model], value: Any, key: str) -> Any:
    if not isinstance(value, Mapping):
        raise _fail(key, f"expected a mapping, got {type(value).__name__}; see Pulumi.prod-cn-north-1.yaml")
    try:
        return cls.model_validate(dict(value))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            allowed = ", ".join(f.alias or name for name, f in cls.model_fields.items())
            message = f"unknown key; the keys are {allowed}"
        elif first["type"] == "missing":
            message = "is required"
        raise _fail(f"{key}.{where}" if where else key, message) from None


def _check_role_arn(key: str, arn: Any, partition: str) -> None:
    match = _ROLE_ARN.match(arn) if isinstance(arn, str) else None
    if match is None:
        raise _fail(
            key,
            f"{arn!r} is not an IAM role ARN; write it as arn:{partition}:iam::<12-digit account>:role/<name>",
        )
    if match.group("partition") != partition:
        fixed = f"arn:{partition}:" + arn.split(":", 2)[2]
        raise _fail(
            key,
            f"{arn} is in the `{match.group('partition')}` partition, which does not reach AWS China; "
            f"use the role's {partition} ARN ({fixed})",
        )


def _check_retention(key: str, days: int, category: str, catalog: Catalog) -> None:
    bounds = next(c for c in catalog.categories if c.id == category)
    minimum, maximum = bounds.min_retention_days, bounds.max_retention_days
    if maximum is not None and days > maximum:
        raise _fail(
            key,
            f"{days} days is above the catalogue's maximum of {maximum} days for {category}; set it to "
            f"{maximum} or less (policies/catalog.yaml sets the bound)",
        )
    if minimum is not None and days < minimum:
        raise _fail(
            key,
            f"{days} days is below the catalogue's minimum of {minimum} days for {category}; set it to "
            f"{minimum} or more (policies/catalog.yaml sets the bound)",
        )


def load_config(raw: Mapping[str, Any], catalog: Catalog | None = None) -> StackConfig:
    """Validate raw stack config (`{"aws:region": ..., "residency:categories": {...}}`).

    Raises `ConfigError` with one line naming the key and the fix.
    """
    catalog = catalog or default_catalog()
    allowed = tuple(catalog.territory.allowed_regions)
    regions = " or ".join(allowed)

    disabled = raw.get("pulumi:disable-default-providers")
    if not isinstance(disabled, list | tuple) or not ({"aws", "*"} & set(disabled)):
        raise _fail(
            "pulumi:disable-default-providers",
            "must list `aws` so nothing can be created by an implicit provider in another region; "
            "set it in Pulumi.yaml or run `pulumi config set --path 'pulumi:disable-default-providers[0]' aws`",
        )

    region = raw.get("aws:region")
    if not isinstance(region, str) or not region:
        raise _fail("aws:region", f"is not set; run `pulumi config set aws:region {allowed[0]}`")
    if region not in allowed:
        raise _fail(
            "aws:region",
            f"{region} is outside mainland China; personal data must stay in {regions}: run "
            f"`pulumi config set aws:region {allowed[0]}`",
        )
    partition = partition_for(region)

    prefix = raw.get(f"{PROJECT}:namePrefix")
    if not isinstance(prefix, str) or not _NAME_PREFIX.match(prefix):
        raise _fail(
            f"{PROJECT}:namePrefix",
            f"{prefix!r} is not a bucket-name prefix (3-32 lowercase letters, digits, hyphens); e.g. pushauction-prod",
        )

    longest = max((len(c.id) for c in catalog.categories), default=0)
    widest_region = max(len(r) for r in allowed)
    if len(prefix) + max(longest, len("audit-access")) + widest_region + 2 > 63:
        raise _fail(
            f"{PROJECT}:namePrefix",
            f"{prefix!r} is too long: bucket names (<prefix>-<category>-<region>) must fit in 63 characters; shorten it",
        )

    categories_raw = raw.get(f"{PROJECT}:categories")
    if not isinstance(categories_raw, Mapping) or not categories_raw:
        raise _fail(
            f"{PROJECT}:categories",
            "must map at least one data category to its store, e.g. user-uploads: {store: bucket, retentionDays: 365}",
        )
    known = {c.id: c for c in catalog.categories}
    categories: dict[str, StoreConfig] = {}
    for category, value in categories_raw.items():
        key = f"{PROJECT}:categories.{category}"
        if category not in known:
            personal = sorted(
                c.id for c in catalog.categories if c.personal and c.id not in _NOT_A_STORE_CATEGORY
            )
            raise _fail(
                key, f"{category!r} is not a data category of the catalogue; use one of {', '.join(personal)}"
            )
        if category in _NOT_A_STORE_CATEGORY:
            raise _fail(key, _NOT_A_STORE_CATEGORY[category])
        if not known[category].personal:
            raise _fail(
                key, f"{category} holds no personal data; this program provisions personal-data stores only"
            )
        store = _model(StoreConfig, value, key)
        _check_retention(f"{key}.retentionDays", store.retention_days, category, catalog)
        for i, arn in enumerate(store.reader_role_arns):
            _check_role_arn(f"{key}.readerRoleArns[{i}]", arn, partition)
        categories[category] = store

    audit_key = f"{PROJECT}:auditLogs"
    if audit_key not in raw:
        raise _fail(audit_key, "is required, e.g. auditLogs: {retentionDays: 365}")
    audit = _model(AuditConfig, raw.get(audit_key), audit_key)
    _check_retention(f"{audit_key}.retentionDays", audit.retention_days, AUDIT_CATEGORY, catalog)
    for i, arn in enumerate(audit.auditor_role_arns):
        _check_role_arn(f"{audit_key}.auditorRoleArns[{i}]", arn, partition)

    replication = None
    replication_key = f"{PROJECT}:replication"
    if raw.get(replication_key) is not None:
        replication = _model(ReplicationConfig, raw[replication_key], replication_key)
        others = [r for r in allowed if r != region]
        if replication.region not in allowed or replication.region == region:
            where = (
                "is this stack's own region" if replication.region == region else "is outside mainland China"
            )
            raise _fail(
                f"{replication_key}.region",
                f"{replication.region} {where}; disaster-recovery copies go only to the other China region "
                f"({' or '.join(others) or 'none is allowed'})",
            )
        match = _KMS_KEY_ARN.match(replication.kms_key_arn)
        if (
            match is None
            or match.group("partition") != partition
            or match.group("region") != replication.region
        ):
            raise _fail(
                f"{replication_key}.kmsKeyArn",
                f"{replication.kms_key_arn!r} is not a KMS key ARN in {replication.region}; use the key of the "
                f"{replication.region} stack (arn:{partition}:kms:{replication.region}:<account>:key/<key id>)",
            )
        buckets = [c for c, s in categories.items() if s.store == "bucket"]
        if not buckets:
            raise _fail(replication_key, "is set but no category is stored in a bucket; remove it")

    trust = raw.get(f"{PROJECT}:appTrustService", "ecs-tasks.amazonaws.com")
    if not isinstance(trust, str) or not _SERVICE_PRINCIPAL.match(trust):
        raise _fail(
            f"{PROJECT}:appTrustService",
            f"{trust!r} is not a service principal; name the service that runs the application, e.g. "
            "ecs-tasks.amazonaws.com",
        )

    return StackConfig(
        region=region,
        partition=partition,
        name_prefix=prefix,
        categories=categories,
        audit=audit,
        replication=replication,
        app_trust_service=trust,
        allowed_regions=allowed,
    )


def raw_from_pulumi() -> dict[str, Any]:
    """The stack's config as the program sees it (project-level config included)."""
    project = pulumi.Config(PROJECT)
    raw: dict[str, Any] = {
        "aws:region": pulumi.Config("aws").get("region"),
        "pulumi:disable-default-providers": pulumi.Config("pulumi").get_object("disable-default-providers"),
    }
    for key in ("namePrefix", "appTrustService"):
        value = project.get(key)
        if value is not None:
            raw[f"{PROJECT}:{key}"] = value
    for key in ("categories", "auditLogs", "replication"):
        value = project.get_object(key)
        if value is not None:
            raw[f"{PROJECT}:{key}"] = value
    return raw
