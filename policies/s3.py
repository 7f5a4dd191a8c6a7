"""One normalized view of an S3 bucket's settings, wherever they are declared.

A bucket's encryption, policy, logging, lifecycle, versioning, replication, object lock and ACL may
be inline on the bucket (legacy v6 `aws:s3/bucket:Bucket`, singular objects; v6 `BucketV2` and v7
`Bucket`, deprecated plural lists) or in side resources (`BucketServerSideEncryptionConfiguration[V2]`
and friends). Side resources win over inline settings: on a BucketV2 the inline outputs only echo
what S3 reports. Rules read `bucket_view(res)` and never care which shape the program used.

Values may be `UNKNOWN` (preview): rules must treat that as "cannot verify", never as compliant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from policies.documents import parse_document
from policies.model import UNKNOWN, Resource
from policies.values import BadNumber, as_list, first, whole_number

__all__ = ["BucketView", "as_list", "bucket_view", "first"]


@dataclass(slots=True)
class EncryptionRule:
    algorithm: Any  # "aws:kms", "aws:kms:dsse", "AES256", UNKNOWN or None
    kms_key: Any  # key ARN/id/alias, UNKNOWN or None
    bucket_key: Any  # bool, UNKNOWN or None


@dataclass(slots=True)
class LifecycleRule:
    """One lifecycle rule. Day counts are read by `whole_number`: an int, None (unset), UNKNOWN, or a
    `BadNumber` (`"abc"`, `365.5`, `true`, a negative) that rules report naming the property."""

    id: str
    enabled: Any
    prefix: Any
    expiration_days: Any
    expiration_date: Any
    noncurrent_days: Any
    expired_delete_marker: Any
    source: Resource
    #: noncurrentVersionExpiration.newerNoncurrentVersions: the newest N old versions S3 keeps past
    #: noncurrentDays. An int, None, UNKNOWN or a `BadNumber`.
    newer_noncurrent_versions: Any = None


@dataclass(slots=True)
class ReplicationDestination:
    bucket_arn: Any
    rule_id: str
    source: Resource


@dataclass(slots=True)
class BucketView:
    bucket: Resource
    #: Resource that declares each setting (the side resource, or the bucket itself).
    encryption: list[EncryptionRule] | Any = None
    encryption_source: Resource | None = None
    policies: list[tuple[Resource, Any]] = field(default_factory=list)  # (declaring resource, parsed doc)
    public_access_block: dict[str, Any] | None = None
    logging_target: Any = None
    logging_prefix: Any = None
    logging_source: Resource | None = None
    lifecycle: list[LifecycleRule] | Any = None
    versioning: Any = None  # True, False, UNKNOWN or None (never configured)
    replication: list[ReplicationDestination] = field(default_factory=list)
    object_lock_enabled: Any = None
    object_lock_mode: Any = None
    #: Days of the default retention (years count 365): an int, None, UNKNOWN or a `BadNumber`.
    object_lock_days: Any = None
    #: The property a `BadNumber` in object_lock_days came from ("defaultRetention.days" or ".years").
    object_lock_days_prop: str = "defaultRetention.days"
    acl: Any = None  # canned ACL string
    grants: list[dict[str, Any]] = field(default_factory=list)


def bucket_view(bucket: Resource) -> BucketView:
    """The bucket's settings; computed once per bucket, after the stack has joined side resources."""
    cached = bucket.cache.get("bucket_view")
    if cached is not None:
        return cached
    view = bucket.cache["bucket_view"] = _build_view(bucket)
    return view


def _build_view(bucket: Resource) -> BucketView:
    view = BucketView(bucket=bucket)
    props = bucket.props
    side = bucket.side
    _encryption(view, props, side)
    _policies(view, props, side)
    _public_access_block(view, side)
    _logging(view, props, side)
    _lifecycle(view, props, side)
    _versioning(view, props, side)
    _replication(view, props, side)
    _object_lock(view, props, side)
    _acl(view, props, side)
    return view


def _encryption(view: BucketView, props: dict[str, Any], side: dict[str, list[Resource]]) -> None:
    if side.get("encryption"):
        res = side["encryption"][-1]
        view.encryption_source = res
        rules = res.props.get("rules")
        if rules is UNKNOWN:
            view.encryption = UNKNOWN
            return
        view.encryption = [_encryption_rule(r) for r in as_list(rules)]
        return
    inline = props.get("serverSideEncryptionConfiguration")
    if inline is None:
        inline = first(props.get("serverSideEncryptionConfigurations"))
    if inline is UNKNOWN:
        view.encryption, view.encryption_source = UNKNOWN, view.bucket
        return
    if isinstance(inline, dict):
        view.encryption_source = view.bucket
        rules = inline.get("rule", inline.get("rules"))
        view.encryption = [_encryption_rule(r) for r in as_list(rules)] if rules is not UNKNOWN else UNKNOWN


def _encryption_rule(rule: Any) -> EncryptionRule:
    if rule is UNKNOWN or not isinstance(rule, dict):
        return EncryptionRule(UNKNOWN, UNKNOWN, UNKNOWN)
    default = rule.get("applyServerSideEncryptionByDefault")
    if default is None:
        default = first(rule.get("applyServerSideEncryptionByDefaults"))
    if default is UNKNOWN:
        return EncryptionRule(UNKNOWN, UNKNOWN, rule.get("bucketKeyEnabled"))
    default = default if isinstance(default, dict) else {}
    return EncryptionRule(
        algorithm=default.get("sseAlgorithm"),
        kms_key=default.get("kmsMasterKeyId") or None,
        bucket_key=rule.get("bucketKeyEnabled"),
    )


def _policies(view: BucketView, props: dict[str, Any], side: dict[str, list[Resource]]) -> None:
    for res in side.get("policy", ()):
        view.policies.append((res, parse_document(res.props.get("policy"))))
    inline = props.get("policy")
    if inline not in (None, ""):
        view.policies.append((view.bucket, parse_document(inline)))


_PAB_KEYS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def _public_access_block(view: BucketView, side: dict[str, list[Resource]]) -> None:
    blocks = side.get("public_access_block")
    if blocks:
        res = blocks[-1]
        view.public_access_block = {k: res.props.get(k) for k in _PAB_KEYS}


def _logging(view: BucketView, props: dict[str, Any], side: dict[str, list[Resource]]) -> None:
    if side.get("logging"):
        res = side["logging"][-1]
        view.logging_source = res
        view.logging_target = res.props.get("targetBucket")
        view.logging_prefix = res.props.get("targetPrefix")
        return
    inline = props.get("loggings", props.get("logging"))
    if inline is UNKNOWN:
        view.logging_source, view.logging_target = view.bucket, UNKNOWN
        return
    entry = first(inline)
    if isinstance(entry, dict) and entry.get("targetBucket"):
        view.logging_source = view.bucket
        view.logging_target = entry.get("targetBucket")
        view.logging_prefix = entry.get("targetPrefix")


def _lifecycle(view: BucketView, props: dict[str, Any], side: dict[str, list[Resource]]) -> None:
    if side.get("lifecycle"):
        rules: list[LifecycleRule] = []
        for res in side["lifecycle"]:
            raw = res.props.get("rules")
            if raw is UNKNOWN:
                view.lifecycle = UNKNOWN
                return
            for i, rule in enumerate(as_list(raw)):
                rules.append(_side_lifecycle_rule(rule, i, res))
        view.lifecycle = rules
        return
    inline = props.get("lifecycleRules")
    if inline is UNKNOWN:
        view.lifecycle = UNKNOWN
        return
    if inline:
        view.lifecycle = [_inline_lifecycle_rule(r, i, view.bucket) for i, r in enumerate(as_list(inline))]


def _days(block: Any, key: str) -> Any:
    block = first(block)
    if block is UNKNOWN:
        return UNKNOWN
    if isinstance(block, dict):
        return block.get(key)
    return None


def _count(block: Any, key: str) -> Any:
    """A day or version count inside a lifecycle block (`365`, `365.0` and `"365"` all read as 365)."""
    value = _days(block, key)
    return value if value is UNKNOWN else whole_number(value)


def _side_lifecycle_rule(rule: Any, index: int, source: Resource) -> LifecycleRule:
    if not isinstance(rule, dict):
        return LifecycleRule(f"#{index}", UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN, source)
    status = rule.get("status")
    enabled = UNKNOWN if status is UNKNOWN else (status == "Enabled")
    flt = first(rule.get("filter"))
    prefix = rule.get("prefix")
    if isinstance(flt, dict):
        prefix = flt.get("prefix", prefix)
        if prefix is None and isinstance(first(flt.get("and")), dict):
            prefix = first(flt.get("and")).get("prefix")
    expiration = rule.get("expiration", rule.get("expirations"))
    noncurrent = rule.get("noncurrentVersionExpiration", rule.get("noncurrentVersionExpirations"))
    return LifecycleRule(
        id=str(rule.get("id") or f"#{index}"),
        enabled=enabled,
        prefix=prefix or "",
        expiration_days=_count(expiration, "days"),
        expiration_date=_days(expiration, "date"),
        noncurrent_days=_count(noncurrent, "noncurrentDays"),
        expired_delete_marker=_days(expiration, "expiredObjectDeleteMarker"),
        source=source,
        newer_noncurrent_versions=_count(noncurrent, "newerNoncurrentVersions"),
    )


def _inline_lifecycle_rule(rule: Any, index: int, source: Resource) -> LifecycleRule:
    if not isinstance(rule, dict):
        return LifecycleRule(f"#{index}", UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN, source)
    expiration = rule.get("expiration", rule.get("expirations"))
    noncurrent = rule.get("noncurrentVersionExpiration", rule.get("noncurrentVersionExpirations"))
    return LifecycleRule(
        id=str(rule.get("id") or f"#{index}"),
        enabled=rule.get("enabled"),
        prefix=rule.get("prefix") or "",
        expiration_days=_count(expiration, "days"),
        expiration_date=_days(expiration, "date"),
        noncurrent_days=_count(noncurrent, "days"),
        expired_delete_marker=_days(expiration, "expiredObjectDeleteMarker"),
        source=source,
    )


def _versioning(view: BucketView, props: dict[str, Any], side: dict[str, list[Resource]]) -> None:
    if side.get("versioning"):
        config = first(side["versioning"][-1].props.get("versioningConfiguration"))
        if config is UNKNOWN:
            view.versioning = UNKNOWN
        elif isinstance(config, dict):
            status = config.get("status")
            # A suspended bucket still holds every version written while versioning was on.
            view.versioning = UNKNOWN if status is UNKNOWN else status in ("Enabled", "Suspended")
        return
    inline = props.get("versioning")
    if inline is None:
        inline = first(props.get("versionings"))
    if inline is UNKNOWN:
        view.versioning = UNKNOWN
    elif isinstance(inline, dict) and "enabled" in inline:
        view.versioning = inline["enabled"]


def _replication(view: BucketView, props: dict[str, Any], side: dict[str, list[Resource]]) -> None:
    sources: list[tuple[Resource, Any]] = [(r, r.props) for r in side.get("replication", ())]
    if not sources:
        inline = props.get("replicationConfiguration")
        if inline is None:
            inline = first(props.get("replicationConfigurations"))
        if inline is UNKNOWN or isinstance(inline, dict):
            sources = [(view.bucket, inline)]
    for res, config in sources:
        if config is UNKNOWN:
            view.replication.append(ReplicationDestination(UNKNOWN, "", res))
            continue
        rules = config.get("rules") if isinstance(config, dict) else None
        if rules is UNKNOWN:
            view.replication.append(ReplicationDestination(UNKNOWN, "", res))
            continue
        for i, rule in enumerate(as_list(rules)):
            if not isinstance(rule, dict):
                view.replication.append(ReplicationDestination(UNKNOWN, f"#{i}", res))
                continue
            rule_id = str(rule.get("id") or f"#{i}")
            if rule.get("status") == "Disabled":
                continue
            for dest in as_list(rule.get("destination", rule.get("destinations"))):
                arn = dest.get("bucket") if isinstance(dest, dict) else UNKNOWN
                view.replication.append(ReplicationDestination(arn, rule_id, res))


def _object_lock(view: BucketView, props: dict[str, Any], side: dict[str, list[Resource]]) -> None:
    enabled = props.get("objectLockEnabled")
    config: Any = None
    if side.get("object_lock"):
        config = side["object_lock"][-1].props
        enabled = config.get("objectLockEnabled", "Enabled")
    else:
        config = props.get("objectLockConfiguration")
    if config is UNKNOWN:
        view.object_lock_enabled = UNKNOWN
        return
    if isinstance(config, dict) and "objectLockEnabled" in config and enabled is None:
        enabled = config.get("objectLockEnabled")
    view.object_lock_enabled = UNKNOWN if enabled is UNKNOWN else enabled in (True, "Enabled")
    if not isinstance(config, dict):
        return
    rule = first(config.get("rule", config.get("rules")))
    if rule is UNKNOWN:
        view.object_lock_mode = view.object_lock_days = UNKNOWN
        return
    if not isinstance(rule, dict):
        return
    retention = first(rule.get("defaultRetention", rule.get("defaultRetentions")))
    if retention is UNKNOWN:
        view.object_lock_mode = view.object_lock_days = UNKNOWN
        return
    if isinstance(retention, dict):
        view.object_lock_mode = retention.get("mode")
        days, years = whole_number(retention.get("days")), whole_number(retention.get("years"))
        if days is UNKNOWN or years is UNKNOWN:
            view.object_lock_days = UNKNOWN
        elif isinstance(days, BadNumber):
            view.object_lock_days, view.object_lock_days_prop = days, "defaultRetention.days"
        elif isinstance(years, BadNumber):
            view.object_lock_days, view.object_lock_days_prop = years, "defaultRetention.years"
        elif isinstance(days, int):
            view.object_lock_days = days
        elif isinstance(years, int):
            view.object_lock_days = years * 365


def _acl(view: BucketView, props: dict[str, Any], side: dict[str, list[Resource]]) -> None:
    view.acl = props.get("acl")
    view.grants = [g for g in as_list(props.get("grants")) if isinstance(g, dict)]
    for res in side.get("acl", ()):
        acl = res.props.get("acl")
        if acl is not None:
            view.acl = acl
        policy = first(res.props.get("accessControlPolicy"))
        if isinstance(policy, dict):
            for grant in as_list(policy.get("grants", policy.get("grant"))):
                if isinstance(grant, dict):
                    grantee = first(grant.get("grantee")) or {}
                    view.grants.append(
                        {
                            "uri": grantee.get("uri") if isinstance(grantee, dict) else UNKNOWN,
                            "type": grantee.get("type") if isinstance(grantee, dict) else UNKNOWN,
                            "permissions": [grant.get("permission")],
                        }
                    )
