"""Retention: personal data expires within its category's maximum, logs are kept their minimum.

The bounds come from the data category in the catalogue (`max_retention_days`,
`min_retention_days`), never from numbers in the code. Buckets are read through `bucket_view`, so
lifecycle rules count the same whether they sit inline on a legacy bucket or in a
`BucketLifecycleConfiguration[V2]` side resource. A rule only counts for the whole bucket when its
filter has an empty prefix and selects by neither tag nor object size.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from policies.model import UNKNOWN, Resource, Severity
from policies.references import referenced
from policies.registry import Violation, rule, unknown
from policies.rules.audit import audit_index, retention_category, tri_all, tri_any
from policies.s3 import LifecycleRule, as_list, first
from policies.settings import Category
from policies.stack import Stack
from policies.tokens import (
    BACKUP_PLAN,
    DYNAMODB_TABLE,
    KINESIS_STREAM,
    LOG_GROUP,
    RDS_CLUSTER,
    RDS_INSTANCE,
    S3_BUCKET_TYPES,
)
from policies.values import BadNumber, whole_number

#: The values CloudWatch Logs accepts for retentionInDays (0 or absent: never expire).
LOG_RETENTION_VALUES = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)


# -- lifecycle helpers ---------------------------------------------------------------------------------


def _days(value: Any) -> Any:
    """A positive day count, UNKNOWN, a `BadNumber`, or None (unset; providers report an unset block as 0).

    `bucket_view` has already read the value with `whole_number`, so `365.0` and `"365"` are 365 here.
    """
    if value is UNKNOWN or isinstance(value, BadNumber):
        return value
    value = whole_number(value)
    if isinstance(value, int) and value > 0:
        return value
    return value if isinstance(value, BadNumber) else None


def _expiration_prop(lc: LifecycleRule, bucket: Resource) -> str:
    return "lifecycleRules[].expiration.days" if lc.source is bucket else "rules[].expiration.days"


def _noncurrent_prop(lc: LifecycleRule, bucket: Resource) -> str:
    if lc.source is bucket:
        return "lifecycleRules[].noncurrentVersionExpiration.days"
    return "rules[].noncurrentVersionExpiration.noncurrentDays"


def _bad_days(res: Resource, lc: LifecycleRule, prop: str, bad: BadNumber, fix: str) -> str:
    return f"{res.label}: in lifecycle rule '{lc.id}'{_where(lc, res)}, {bad.describe(prop, 'days')}; {fix}"


def _enabled(lc: LifecycleRule) -> Any:
    if lc.enabled is UNKNOWN:
        return UNKNOWN
    return lc.enabled is True


def _where(lc: LifecycleRule, bucket: Resource) -> str:
    return "" if lc.source is bucket else f" in {lc.source.label}"


def _raw_rule(lc: LifecycleRule, bucket: Resource) -> Any:
    """The rule as declared, to read the filter parts `LifecycleRule` does not carry (tags, sizes)."""
    raws = as_list(lc.source.props.get("lifecycleRules" if lc.source is bucket else "rules"))
    if lc.id.startswith("#") and lc.id[1:].isdigit():
        position = int(lc.id[1:])
        return raws[position] if position < len(raws) else None
    for raw in raws:
        if isinstance(raw, dict) and raw.get("id") == lc.id:
            return raw
    return None


def _narrowed(lc: LifecycleRule, bucket: Resource) -> Any:
    """True when the rule selects objects by tag or size, so other objects escape it."""
    raw = _raw_rule(lc, bucket)
    if raw is UNKNOWN:
        return UNKNOWN
    if not isinstance(raw, dict):
        return False
    if lc.source is bucket:
        return _present(raw.get("tags"))
    flt = first(raw.get("filter"))
    if flt is UNKNOWN:
        return UNKNOWN
    if not isinstance(flt, dict):
        return False
    parts = [flt.get("tag"), flt.get("objectSizeGreaterThan"), flt.get("objectSizeLessThan")]
    both = first(flt.get("and"))
    if both is UNKNOWN:
        return UNKNOWN
    if isinstance(both, dict):
        parts += [both.get("tags"), both.get("objectSizeGreaterThan"), both.get("objectSizeLessThan")]
    return tri_any(_present(p) for p in parts)


def _present(value: Any) -> Any:
    if value is UNKNOWN:
        return UNKNOWN
    return value not in (None, "", 0, "0", {}, [])


def _whole_bucket(lc: LifecycleRule, bucket: Resource) -> Any:
    prefix = UNKNOWN if lc.prefix is UNKNOWN else lc.prefix == ""
    narrowed = _narrowed(lc, bucket)
    return tri_all([prefix, UNKNOWN if narrowed is UNKNOWN else not narrowed])


def _kind(category: Category) -> str:
    return f"category '{category.id}'"


# -- RET-001 -------------------------------------------------------------------------------------------


@rule(
    id="RET-001",
    title="Personal data expires within its category's maximum",
    severity=Severity.MEDIUM,
    types=S3_BUCKET_TYPES,
    remediation=(
        "Add an enabled lifecycle rule with an empty filter whose expiration days are at most the data "
        "category's maximum retention (and at least its minimum, for logs)."
    ),
)
def personal_data_expires(res: Resource, stack: Stack) -> Iterator[str | Violation]:
    """Every object of a personal-data bucket is deleted by a lifecycle rule within the category's maximum."""
    category = retention_category(res, stack)
    if not category.personal:
        return
    maximum, minimum = category.max_retention_days, category.min_retention_days
    if maximum is None and minimum is None:
        return
    lifecycle = audit_index(stack).view(res).lifecycle
    if lifecycle is UNKNOWN:
        yield unknown(
            f"{res.label}: its lifecycle rules are not known until apply, so retention cannot be checked"
        )
        return
    if not lifecycle:
        if maximum is not None:
            yield (
                f"{res.label} has no lifecycle rule, so the personal data it holds ({_kind(category)}) is kept "
                f"forever: add a lifecycle rule that expires current versions after at most {maximum} days"
            )
        return
    satisfied: Any = False
    whole_bucket_reported = False
    for lc in lifecycle:
        enabled = _enabled(lc)
        if enabled is False:
            continue
        where = _where(lc, res)
        whole = _whole_bucket(lc, res)
        days = _days(lc.expiration_days)
        if days is UNKNOWN:
            within: Any = UNKNOWN
        elif isinstance(days, BadNumber):
            # Never a pass: the rule does not count, and the value is named.
            within = False
            whole_bucket_reported |= whole is not False
            bound = f"at most {maximum}" if maximum is not None else f"at least {minimum}"
            yield _bad_days(
                res, lc, _expiration_prop(lc, res), days, f"set it to a whole number of days, {bound}"
            )
        elif isinstance(days, int):
            within = maximum is None or days <= maximum
            if enabled is True and maximum is not None and days > maximum:
                whole_bucket_reported |= whole is True
                yield (
                    f"{res.label}: lifecycle rule '{lc.id}'{where} expires objects after {days} days, longer than "
                    f"the {maximum}-day maximum for {_kind(category)}: lower it to {maximum} days or less"
                )
            if enabled is True and minimum is not None and days < minimum:
                yield (
                    f"{res.label}: lifecycle rule '{lc.id}'{where} deletes objects after {days} days, before the "
                    f"{minimum}-day minimum for {_kind(category)}: keep them at least {minimum} days"
                )
        else:
            within = False
            date = lc.expiration_date
            if enabled is True and date not in (None, "", UNKNOWN):
                whole_bucket_reported |= whole is True
                yield (
                    f"{res.label}: lifecycle rule '{lc.id}'{where} expires objects on a fixed date ({date}), so "
                    f"objects written later are kept forever: expire them by age, after at most {maximum} days"
                    if maximum is not None
                    else f"{res.label}: lifecycle rule '{lc.id}'{where} expires objects on a fixed date ({date}): "
                    "expire them by age instead"
                )
        satisfied = tri_any([satisfied, tri_all([enabled, whole, within])])
    if maximum is None or satisfied is True:
        return
    if satisfied is UNKNOWN:
        yield unknown(
            f"{res.label}: whether a lifecycle rule expires every object within {maximum} days is not known "
            "until apply (its status, filter or days are computed)"
        )
    elif not whole_bucket_reported:
        yield (
            f"{res.label}: no enabled lifecycle rule with an empty filter expires current versions within "
            f"{maximum} days ({_kind(category)}), so some objects are kept forever: add a rule with an empty "
            f"filter and expiration days of at most {maximum}"
        )


# -- RET-002 -------------------------------------------------------------------------------------------


@rule(
    id="RET-002",
    title="Old versions of personal data expire too",
    severity=Severity.MEDIUM,
    types=S3_BUCKET_TYPES,
    remediation=(
        "In a lifecycle rule with an empty filter, set noncurrentVersionExpiration (noncurrentDays on "
        "BucketLifecycleConfiguration[V2], days on the legacy inline rule) to at most the category's maximum."
    ),
)
def old_versions_expire(res: Resource, stack: Stack) -> Iterator[str | Violation]:
    """In a versioned bucket, deleting an object keeps its old versions: they need their own expiration."""
    category = retention_category(res, stack)
    if not category.personal or category.max_retention_days is None:
        return
    maximum = category.max_retention_days
    view = audit_index(stack).view(res)
    if view.versioning is True or view.object_lock_enabled is True:
        versioned: Any = True
    elif view.versioning is UNKNOWN or view.object_lock_enabled is UNKNOWN:
        versioned = UNKNOWN
    else:
        return
    lifecycle = view.lifecycle
    if lifecycle is UNKNOWN:
        yield unknown(
            f"{res.label}: its lifecycle rules are not known until apply, so old versions cannot be checked"
        )
        return
    satisfied: Any = False
    too_long: list[str] = []
    bad: list[str] = []
    for lc in lifecycle or ():
        enabled = _enabled(lc)
        if enabled is False:
            continue
        days = _days(lc.noncurrent_days)
        within = UNKNOWN if days is UNKNOWN else isinstance(days, int) and days <= maximum
        whole = _whole_bucket(lc, res)
        if isinstance(days, BadNumber):
            bad.append(
                _bad_days(
                    res,
                    lc,
                    _noncurrent_prop(lc, res),
                    days,
                    f"set it to a whole number of days, at most {maximum}",
                )
            )
        if enabled is True and whole is True and isinstance(days, int) and days > maximum:
            too_long.append(f"rule '{lc.id}'{_where(lc, res)} keeps them {days} days")
        newer = lc.newer_noncurrent_versions
        if within is not False and newer is not None:
            # S3 keeps the newest N old versions past noncurrentDays: a deleted object's last N versions stay.
            if newer is UNKNOWN:
                within = UNKNOWN if within is True else within
            elif isinstance(newer, BadNumber):
                within = False
                bad.append(
                    f"{res.label}: in lifecycle rule '{lc.id}'{_where(lc, res)}, "
                    f"{newer.describe('noncurrentVersionExpiration.newerNoncurrentVersions', 'versions')}; remove "
                    "it so every old version expires"
                )
            elif newer > 0:
                within = False
                too_long.append(
                    f"rule '{lc.id}'{_where(lc, res)} keeps the newest {newer} old version{'s' if newer != 1 else ''} "
                    "of every object past noncurrentDays (newerNoncurrentVersions), with no age limit"
                )
        satisfied = tri_any([satisfied, tri_all([enabled, whole, within])])
    yield from bad
    if satisfied is True:
        return
    if bad and not too_long and satisfied is False:
        # The malformed values are the reason; saying "no rule expires them" as well adds nothing.
        return
    fix = (
        f"add noncurrentVersionExpiration of at most {maximum} days to a lifecycle rule with an empty filter"
    )
    if satisfied is UNKNOWN or versioned is UNKNOWN:
        yield unknown(
            f"{res.label}: whether it keeps old versions, or whether they expire within {maximum} days, is not "
            f"known until apply; {fix}"
        )
        return
    why = "Object Lock keeps versions" if view.versioning is not True else "versioning is on"
    detail = f" ({'; '.join(too_long)})" if too_long else ""
    yield (
        f"{res.label} keeps old versions ({why}) but no enabled lifecycle rule expires them within {maximum} "
        f"days{detail}; old versions keep personal data forever and a deletion request would leave copies: {fix}"
    )


# -- RET-003 -------------------------------------------------------------------------------------------


@rule(
    id="RET-003",
    title="Logs and tables expire personal data",
    severity=Severity.MEDIUM,
    types=(LOG_GROUP, DYNAMODB_TABLE),
    remediation=(
        "Set retentionInDays on CloudWatch log groups within the category's bounds; enable ttl (with an "
        "attributeName) on DynamoDB tables holding personal data and write each item's expiry time."
    ),
)
def logs_and_tables_expire(res: Resource, stack: Stack) -> Iterator[str | Violation]:
    """Log groups and tables delete personal data on their own, within the category's bounds."""
    category = stack.settings.category_of(res.tags)
    if not category.personal:
        return
    if res.type == LOG_GROUP:
        yield from _log_group_retention(res, category)
    else:
        yield from _table_ttl(res, category)


def _log_group_retention(res: Resource, category: Category) -> Iterator[str | Violation]:
    maximum, minimum = category.max_retention_days, category.min_retention_days
    days = whole_number(res.props.get("retentionInDays"))
    if days is UNKNOWN:
        yield unknown(f"{res.label}: retentionInDays is not known until apply")
        return
    suggestion = suggested_log_retention(minimum, maximum)
    if isinstance(days, BadNumber):
        yield f"{res.label}: {days.describe('retentionInDays', 'days')}; set retentionInDays to {suggestion}"
        return
    if not isinstance(days, int) or days <= 0:
        if maximum is not None:
            yield (
                f"{res.label} keeps its log events forever (retentionInDays is "
                f"{'0, never expire' if days == 0 else 'not set'}), but {_kind(category)} "
                f"may be kept at most {maximum} days: set retentionInDays to {suggestion}"
            )
        return
    if maximum is not None and days > maximum:
        yield (
            f"{res.label} keeps its log events {days} days, longer than the {maximum}-day maximum for "
            f"{_kind(category)}: set retentionInDays to {suggestion}"
        )
    if minimum is not None and days < minimum:
        yield (
            f"{res.label} keeps its log events {days} days, less than the {minimum}-day minimum for "
            f"{_kind(category)}: set retentionInDays to {suggestion}"
        )


def suggested_log_retention(minimum: int | None, maximum: int | None) -> int | None:
    """The longest retentionInDays CloudWatch accepts within the bounds (the maximum if none fits)."""
    fitting = [
        v
        for v in LOG_RETENTION_VALUES
        if (maximum is None or v <= maximum) and (minimum is None or v >= minimum)
    ]
    return fitting[-1] if fitting else maximum


def _table_ttl(res: Resource, category: Category) -> Iterator[str | Violation]:
    maximum = category.max_retention_days
    if maximum is None:
        return
    ttl = first(res.props.get("ttl"))
    if ttl is UNKNOWN:
        yield unknown(f"{res.label}: its ttl setting is not known until apply")
        return
    enabled = ttl.get("enabled") if isinstance(ttl, dict) else None
    attribute = ttl.get("attributeName") if isinstance(ttl, dict) else None
    if enabled is UNKNOWN or (enabled is True and attribute is UNKNOWN):
        yield unknown(f"{res.label}: its ttl setting is not known until apply")
        return
    if enabled is True and isinstance(attribute, str) and attribute:
        return
    yield (
        f"{res.label} holds personal data ({_kind(category)}) but its items never expire: enable ttl with an "
        f"attributeName and set that attribute so items expire within {maximum} days"
    )


# -- RET-004 -------------------------------------------------------------------------------------------

BACKUP_SELECTION = "aws:backup/selection:Selection"
#: DynamoDB keeps point-in-time recovery data this many days unless recoveryPeriodInDays says otherwise.
PITR_DEFAULT_DAYS = 35
#: Kinesis keeps records this many hours unless retentionPeriod says otherwise.
KINESIS_DEFAULT_HOURS = 24


@rule(
    id="RET-004",
    title="Backups, locks, streams and recovery windows keep personal data no longer than its maximum",
    severity=Severity.MEDIUM,
    types=S3_BUCKET_TYPES | {BACKUP_PLAN, KINESIS_STREAM, DYNAMODB_TABLE, RDS_INSTANCE, RDS_CLUSTER},
    remediation=(
        "Keep every copy within the data category's maximum retention: an Object Lock defaultRetention, a "
        "backup plan rule's lifecycle.deleteAfter (and its copy actions'), a Kinesis stream's retentionPeriod "
        "(hours), a DynamoDB table's pointInTimeRecovery.recoveryPeriodInDays (35 when unset) and an RDS "
        "instance's or cluster's backupRetentionPeriod."
    ),
)
def copies_expire(res: Resource, stack: Stack) -> Iterator[str | Violation]:
    """The copies a store keeps besides its live data (locked versions, backups, stream records, recovery
    points) are deleted within the category's maximum, so a deletion request is honoured everywhere."""
    if res.type == BACKUP_PLAN:
        yield from _backup_plan(res, stack)
        return
    category = (
        retention_category(res, stack)
        if res.type in S3_BUCKET_TYPES
        else stack.settings.category_of(res.tags)
    )
    maximum = category.max_retention_days
    if not category.personal or maximum is None:
        return
    if res.type in S3_BUCKET_TYPES:
        yield from _object_lock_retention(res, stack, category, maximum)
    elif res.type == KINESIS_STREAM:
        yield from _kinesis_retention(res, category, maximum)
    elif res.type in (RDS_INSTANCE, RDS_CLUSTER):
        yield from _rds_backup_retention(res, category, maximum)
    else:
        yield from _pitr_retention(res, category, maximum)


def _object_lock_retention(
    res: Resource, stack: Stack, category: Category, maximum: int
) -> Iterator[str | Violation]:
    view = audit_index(stack).view(res)
    if view.object_lock_enabled is False:
        return
    days = view.object_lock_days
    fix = (
        f"lower the Object Lock defaultRetention to at most {maximum} days (defaultRetention.days: {maximum})"
    )
    if days is UNKNOWN:
        yield unknown(f"{res.label}: its Object Lock default retention is not known until apply; {fix}")
    elif isinstance(days, BadNumber):
        yield f"{res.label}: in its Object Lock configuration, {days.describe(view.object_lock_days_prop, 'days')}; {fix}"
    elif isinstance(days, int) and days > maximum:
        mode = view.object_lock_mode if isinstance(view.object_lock_mode, str) else "a"
        yield (
            f"{res.label} locks every new object for {days} days (Object Lock defaultRetention, {mode} mode), longer "
            f"than the {maximum}-day maximum for {_kind(category)}: nobody can delete the personal data in time, "
            f"not even on request; {fix} (a legal hold, not a default retention, keeps what a court requires)"
        )


def _kinesis_retention(res: Resource, category: Category, maximum: int) -> Iterator[str | Violation]:
    hours = whole_number(res.props.get("retentionPeriod"))
    fix = f"set retentionPeriod to at most {maximum * 24} hours ({maximum} days)"
    if hours is UNKNOWN:
        yield unknown(f"{res.label}: retentionPeriod is not known until apply; {fix}")
    elif isinstance(hours, BadNumber):
        yield f"{res.label}: {hours.describe('retentionPeriod', 'hours')}; {fix}"
    elif isinstance(hours, int) and hours > maximum * 24:
        yield (
            f"{res.label} keeps its records {hours} hours (retentionPeriod), longer than the {maximum}-day maximum "
            f"for {_kind(category)}; {fix}"
        )


def _rds_backup_retention(res: Resource, category: Category, maximum: int) -> Iterator[str | Violation]:
    """Automated backups (and the point-in-time restore they allow) are kept backupRetentionPeriod days."""
    days = whole_number(res.props.get("backupRetentionPeriod"))
    fix = f"set backupRetentionPeriod to at most {min(maximum, 35)} days"
    if days is UNKNOWN:
        yield unknown(f"{res.label}: backupRetentionPeriod is not known until apply; {fix}")
    elif isinstance(days, BadNumber):
        yield f"{res.label}: {days.describe('backupRetentionPeriod', 'days')}; {fix}"
    elif isinstance(days, int) and days > maximum:
        yield (
            f"{res.label} keeps automated backups {days} days (backupRetentionPeriod), longer than the "
            f"{maximum}-day maximum for {_kind(category)}: a deleted record can be restored after it must be gone; "
            f"{fix}"
        )


def _pitr_retention(res: Resource, category: Category, maximum: int) -> Iterator[str | Violation]:
    pitr = first(res.props.get("pointInTimeRecovery"))
    if pitr is UNKNOWN:
        yield unknown(f"{res.label}: pointInTimeRecovery is not known until apply")
        return
    if not isinstance(pitr, dict):
        return
    enabled = pitr.get("enabled")
    if enabled is UNKNOWN:
        yield unknown(f"{res.label}: pointInTimeRecovery.enabled is not known until apply")
        return
    if enabled is not True and str(enabled).lower() != "true":
        return
    fix = f"set pointInTimeRecovery.recoveryPeriodInDays to at most {maximum}"
    days = whole_number(pitr.get("recoveryPeriodInDays"))
    if days is UNKNOWN:
        yield unknown(
            f"{res.label}: pointInTimeRecovery.recoveryPeriodInDays is not known until apply; {fix}"
        )
        return
    if isinstance(days, BadNumber):
        yield f"{res.label}: {days.describe('pointInTimeRecovery.recoveryPeriodInDays', 'days')}; {fix}"
        return
    shown = (
        f"{days} days (recoveryPeriodInDays)"
        if days
        else f"{PITR_DEFAULT_DAYS} days (recoveryPeriodInDays unset)"
    )
    days = days or PITR_DEFAULT_DAYS
    if days > maximum:
        yield (
            f"{res.label} keeps point-in-time recovery data {shown}, longer than the {maximum}-day maximum for "
            f"{_kind(category)}: a deleted item can be restored after it must be gone; {fix}"
        )


def _backup_plan(res: Resource, stack: Stack) -> Iterator[str | Violation]:
    category, why = _plan_category(res, stack)
    maximum = category.max_retention_days
    if not category.personal or maximum is None:
        return
    rules = res.props.get("rules")
    if rules is UNKNOWN:
        yield unknown(
            f"{res.label}: its rules are not known until apply, so how long backups are kept cannot be checked"
        )
        return
    for i, plan_rule in enumerate(as_list(rules)):
        if not isinstance(plan_rule, dict):
            yield unknown(f"{res.label}: rule #{i + 1} is not known until apply")
            continue
        name = plan_rule.get("ruleName") if isinstance(plan_rule.get("ruleName"), str) else f"#{i + 1}"
        places = [(f"rule '{name}'", "lifecycle.deleteAfter", plan_rule.get("lifecycle"))]
        actions = plan_rule.get("copyActions")
        if actions is UNKNOWN:
            yield unknown(f"{res.label}: the copy actions of rule '{name}' are not known until apply")
            actions = []
        for j, action in enumerate(as_list(actions)):
            if isinstance(action, dict):
                places.append(
                    (
                        f"rule '{name}' copy action #{j + 1}",
                        f"copyActions[{j}].lifecycle.deleteAfter",
                        action.get("lifecycle"),
                    )
                )
        for where, prop, lifecycle in places:
            fix = f"set {prop} to at most {maximum} days"
            block = first(lifecycle)
            after = (
                UNKNOWN
                if block is UNKNOWN
                else whole_number(block.get("deleteAfter"))
                if isinstance(block, dict)
                else None
            )
            if after is UNKNOWN:
                yield unknown(f"{res.label}: {where}: {prop} is not known until apply; {fix}")
            elif isinstance(after, BadNumber):
                yield f"{res.label}: in {where}, {after.describe(prop, 'days')}; {fix}"
            elif after is None or after == 0:
                yield (
                    f"{res.label}: {where} never deletes its recovery points ({prop} not set), so backups of "
                    f"{why} ({_kind(category)}, at most {maximum} days) are kept forever; {fix}"
                )
            elif after > maximum:
                yield (
                    f"{res.label}: {where} keeps recovery points {after} days ({prop}), longer than the {maximum}-day "
                    f"maximum for {why} ({_kind(category)}); {fix}"
                )


def _plan_category(plan: Resource, stack: Stack) -> tuple[Category, str]:
    """The strictest category among what the plan backs up (its selections' resources of this stack);
    the plan's own classification when it is tagged; else the fail-safe category of untagged data."""
    settings = stack.settings
    key, _value = settings.classification(plan.tags)
    if key is not None:
        return settings.category_of(plan.tags), "the data it backs up"
    stores = stack.memo("ret.backup_selected", _selected_stores).get(plan.urn, [])
    categories = [settings.category_of(s.tags) for s in stores]
    bounded = [c for c in categories if c.personal and c.max_retention_days is not None]
    if bounded:
        strictest = min(bounded, key=lambda c: c.max_retention_days)
        store = next(s for s in stores if settings.category_of(s.tags) is strictest)
        return strictest, f"{store.label}"
    if categories:
        return categories[0], "the data it backs up"
    return settings.category_of(plan.tags), "the data it backs up (untagged, treated as unclassified)"


def _selected_stores(stack: Stack) -> dict[str, list[Resource]]:
    out: dict[str, list[Resource]] = {}
    for selection in stack.of_type(BACKUP_SELECTION):
        plan = referenced(stack, selection, "planId", (BACKUP_PLAN,))
        if plan is None:
            continue
        for urn in selection.property_dependencies.get("resources", ()):
            store = stack.by_urn.get(urn)
            if store is not None:
                out.setdefault(plan.urn, []).append(store)
    return out
