"""RetentionPolicy: S3 lifecycle does the bulk of the deleting; a sweep is the backstop.

Semantics (the oracle in the tests restates them independently):

* A rule matches an object version when the key starts with `match.prefix` and the version carries
  every tag in `match.tags`. Delete markers carry no tags, so only tag-free rules match them.
* A version is deleted when at least one rule matches it, it is at least as old as *every* matching
  rule allows (the longest retention wins, so overlapping rules never shorten one another; a rule's
  `minAgeDays` can only make it later), and it is not under an Object Lock legal hold or unexpired
  retention (held). Age is `now - LastModified`, `now` being `--now` or the clock.
* A delete marker is deleted under the same age rule, and only when no version of its key survives
  (removing the marker over a surviving version would make old data visible again). Markers are
  deleted after the versions, and only for keys whose version deletes all succeeded.
* Lifecycle rules get, per policy rule, the longest retention of every rule whose prefix overlaps
  it, because S3 applies the *shortest* of overlapping lifecycle rules. Noncurrent versions expire
  that many days after becoming noncurrent, never earlier than the sweep would take them.
* The blast-radius limit is checked per data store after planning and before any delete: a store
  whose plan exceeds it deletes nothing and reports the plan as pending.
* Object versions that no rule matches are findings (they would be kept forever): the sweep lists
  the whole bucket, and reads the tags of versions that only tag rules could match.
* DynamoDB: TTL is enabled on `ttlAttribute`; items whose TTL is already in the past are deleted
  with a conditional DeleteItem (a TTL extended meanwhile is left alone); items without a TTL, or
  with one beyond the policy's longest retention or the category's maximum, are findings.
* The catalogue bounds the rules: a store's data category (its `category` field, else its
  `data-category` tag or an alias the catalogue accepts, else the catalogue's fail-safe category)
  has a maximum retention, and a rule longer than it is refused before anything changes
  (`check_catalogue`: exit 2 in `residency enforce`, `InvalidSpec` in the operator; here, a store
  finding and nothing done on that store).
* Lifecycle rule IDs are `residency.<policy>/<rule>` (a long policy name is cut and given a hash
  suffix): `/` appears in neither name, so policy `uploads` never touches `uploads.v2`'s rules.
  Enabled lifecycle rules the policy does not own that overlap its rules and expire earlier than
  their `minAgeDays` or later than their `maxAgeDays` are findings.

Planning only reads; every change is a `controllers.actions` object, applied (or, in a dry run or
Audit mode, reported) by `apply_actions`.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from controllers.actions import (
    Action,
    DeleteExpiredItems,
    DeleteVersions,
    EnableTTL,
    Progress,
    PutLifecycle,
    apply_actions,
)
from controllers.aws import ClientFactory, call, error_code
from controllers.models import (
    Document,
    DynamoDBStore,
    Mode,
    RetentionPolicySpec,
    Rule,
    S3Store,
    rule_bound_problems,
)
from controllers.results import ReconcileResult, StoreResult
from controllers.s3_sweep import LockInspector, Version, fetch_tags, key_chunks, list_pages
from policies.errors import InputError
from policies.settings import Category, Settings

LIFECYCLE_ID_PREFIX = "residency."
#: Policy names longer than this are cut and given a hash suffix in lifecycle rule IDs (S3 allows 255).
_ID_POLICY_LIMIT = 100
#: Keys named in the finding about object versions that match no rule.
_UNMATCHED_SHOWN = 5


# --- matching (pure) ---------------------------------------------------------------------------


def prefix_rules(key: str, rules: list[Rule]) -> list[Rule]:
    return [r for r in rules if key.startswith(r.match.prefix)]


def matching_rules(key: str, tags: dict[str, str] | None, rules: list[Rule]) -> list[Rule]:
    """Rules matching a version with these tags (None: a delete marker, which has no tags)."""
    have = tags or {}
    return [r for r in prefix_rules(key, rules) if all(have.get(k) == v for k, v in r.match.tags.items())]


def old_enough(version: Version, days: int, now: datetime) -> bool:
    return now - version.last_modified >= timedelta(days=days)


def common_prefix(rules: list[Rule]) -> str:
    import os

    return os.path.commonprefix([r.match.prefix for r in rules])


# --- lifecycle (pure) --------------------------------------------------------------------------


def _overlaps(a: Rule, b: Rule) -> bool:
    return a.match.prefix.startswith(b.match.prefix) or b.match.prefix.startswith(a.match.prefix)


def _id_policy(policy: str) -> str:
    if len(policy) <= _ID_POLICY_LIMIT:
        return policy
    digest = hashlib.sha256(policy.encode()).hexdigest()[:16]
    return f"{policy[: _ID_POLICY_LIMIT - 17]}~{digest}"


def lifecycle_owner_prefix(policy: str) -> str:
    """The prefix of every lifecycle rule ID a policy owns. Policy names have no `/` (nor `~`), so
    one policy's prefix is never a prefix of another's (`uploads` vs `uploads.v2`)."""
    return f"{LIFECYCLE_ID_PREFIX}{_id_policy(policy)}/"


def lifecycle_rule_id(policy: str, rule: str) -> str:
    """`residency.<policy>/<rule>`: unique per (policy, rule), stable, at most 180 characters."""
    return f"{lifecycle_owner_prefix(policy)}{rule}"


def _legacy_ids(policy: str, rules: list[Rule]) -> set[str]:
    """IDs an earlier version wrote (`residency.<policy>.<rule>`) for this policy's current rules:
    replaced by the new ones. Legacy IDs of rules since removed are no longer owned (findings if
    they expire outside the rules' bounds)."""
    out: set[str] = set()
    for rule in rules:
        old = f"{LIFECYCLE_ID_PREFIX}{policy}.{rule.name}"[:255]
        out |= {old, f"{old[:247]}.markers"}
    return out


def owns(policy: str, rules: list[Rule], rule_id: str) -> bool:
    return rule_id.startswith(lifecycle_owner_prefix(policy)) or rule_id in _legacy_ids(policy, rules)


def lifecycle_rules(policy: str, rules: list[Rule]) -> list[dict[str, Any]]:
    """The native lifecycle rules that implement `rules` (never deleting earlier than the sweep)."""
    out: list[dict[str, Any]] = []
    for rule in rules:
        days = max(other.delete_age_days for other in rules if _overlaps(rule, other))
        tags = [{"Key": k, "Value": v} for k, v in sorted(rule.match.tags.items())]
        if not tags:
            filt: dict[str, Any] = {"Prefix": rule.match.prefix}
        elif len(tags) == 1 and not rule.match.prefix:
            filt = {"Tag": tags[0]}
        else:
            filt = {"And": {"Prefix": rule.match.prefix, "Tags": tags}}
        rule_id = lifecycle_rule_id(policy, rule.name)
        out.append(
            {
                "ID": rule_id,
                "Filter": filt,
                "Status": "Enabled",
                "Expiration": {"Days": days},
                "NoncurrentVersionExpiration": {"NoncurrentDays": days},
            }
        )
        if not tags:
            # Expired delete markers (no version left behind them) carry no data; S3 removes them.
            out.append(
                {
                    "ID": f"{rule_id}/markers",
                    "Filter": {"Prefix": rule.match.prefix},
                    "Status": "Enabled",
                    "Expiration": {"ExpiredObjectDeleteMarker": True},
                }
            )
    return out


def _canonical(rules: list[dict[str, Any]]) -> str:
    keys = ("ID", "Filter", "Status", "Expiration", "NoncurrentVersionExpiration")
    slim = [{k: r[k] for k in keys if k in r} for r in rules]
    for r in slim:
        r.get("NoncurrentVersionExpiration", {}).pop("NewerNoncurrentVersions", None)
    return json.dumps(sorted(slim, key=lambda r: r.get("ID", "")), sort_keys=True)


def merge_lifecycle(
    policy: str,
    current: list[dict[str, Any]],
    desired: list[dict[str, Any]],
    rules: list[Rule] | None = None,
) -> list[dict[str, Any]]:
    """Keep every rule this policy does not own; replace the ones it owns."""
    return [r for r in current if not owns(policy, rules or [], str(r.get("ID", "")))] + desired


def _lifecycle_filter(rule: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """(prefix, tags) a lifecycle rule applies to (size filters are ignored: assume they overlap)."""
    filt = rule.get("Filter")
    if filt is None:
        return str(rule.get("Prefix", "")), {}
    if "And" in filt:
        inner = filt["And"]
        return str(inner.get("Prefix", "")), {t["Key"]: t["Value"] for t in inner.get("Tags", [])}
    if "Tag" in filt:
        return "", {filt["Tag"]["Key"]: filt["Tag"]["Value"]}
    return str(filt.get("Prefix", "")), {}


def foreign_lifecycle_findings(policy: str, rules: list[Rule], current: list[dict[str, Any]]) -> list[str]:
    """Enabled lifecycle rules the policy does not own that would delete data the policy keeps (earlier
    than a rule's minAgeDays) or keep it longer than a rule's maxAgeDays, where they overlap."""
    findings: list[str] = []
    for lifecycle in current:
        rule_id = str(lifecycle.get("ID", ""))
        if lifecycle.get("Status") != "Enabled" or owns(policy, rules, rule_id):
            continue
        prefix, tags = _lifecycle_filter(lifecycle)
        expiration = lifecycle.get("Expiration") or {}
        ages = [("expires objects", expiration.get("Days"))]
        ages.append(
            (
                "expires noncurrent versions",
                (lifecycle.get("NoncurrentVersionExpiration") or {}).get("NoncurrentDays"),
            )
        )
        for rule in rules:
            overlaps = prefix.startswith(rule.match.prefix) or rule.match.prefix.startswith(prefix)
            if not overlaps or any(tags.get(k, v) != v for k, v in rule.match.tags.items()):
                continue
            name = f"lifecycle rule {rule_id!r} (not this policy's)"
            if "Date" in expiration:
                findings.append(
                    f"{name} expires objects on a fixed date ({expiration['Date']}), whatever their age, where "
                    f"rule {rule.name} applies (maxAgeDays {rule.max_age_days}); remove it or make it age-based"
                )
                break
            found = None
            for what, days in ages:
                if not isinstance(days, int):
                    continue
                if rule.min_age_days is not None and days < rule.min_age_days:
                    found = (
                        f"{name} {what} after {days} days, earlier than rule {rule.name}'s minAgeDays "
                        f"{rule.min_age_days}: it would delete data the policy must keep; remove it or lengthen it"
                    )
                elif days > rule.max_age_days:
                    found = (
                        f"{name} {what} after {days} days, later than rule {rule.name}'s maxAgeDays "
                        f"{rule.max_age_days}; remove it or shorten it"
                    )
                if found:
                    break
            if found:
                findings.append(found)
                break
    return findings


# --- the catalogue's bounds --------------------------------------------------------------------


def _s3_tags(client: Any, clients: ClientFactory, bucket: str) -> dict[str, str]:
    try:
        tag_set = call(clients.retry, client.get_bucket_tagging, Bucket=bucket).get("TagSet", [])
    except Exception as exc:
        if error_code(exc) != "NoSuchTagSet":
            raise
        return {}
    return {t["Key"]: t["Value"] for t in tag_set}


def _dynamodb_tags(client: Any, clients: ClientFactory, table: str) -> dict[str, str]:
    arn = call(clients.retry, client.describe_table, TableName=table)["Table"]["TableArn"]
    tags: dict[str, str] = {}
    kwargs: dict[str, Any] = {"ResourceArn": arn}
    while True:
        page = call(clients.retry, client.list_tags_of_resource, **kwargs)
        tags.update({t["Key"]: t["Value"] for t in page.get("Tags", [])})
        if not page.get("NextToken"):
            return tags
        kwargs["NextToken"] = page["NextToken"]


def store_category(
    store: S3Store | DynamoDBStore, clients: ClientFactory, settings: Settings
) -> tuple[Category, str]:
    """The store's data category and where it came from: the `category` field, else the store's
    classification tag (the catalogue's key or an alias, any case), else the fail-safe category."""
    label = f"s3://{store.bucket}" if isinstance(store, S3Store) else f"dynamodb:{store.table}"
    if store.category is not None:
        category = settings.resolve_category(store.category)
        if category is not None:
            return category, f"{label} category {store.category}"
    if isinstance(store, S3Store):
        tags = _s3_tags(clients.client("s3", store.region), clients, store.bucket)
    else:
        tags = _dynamodb_tags(clients.client("dynamodb", store.region), clients, store.table)
    key, value = settings.classification(tags)
    category = settings.resolve_category(value)
    if category is not None:
        return category, f"{label} tag {key}={value}"
    missing = f"tag {key}={value!r} names no category" if key else f"no {settings.classification_tag} tag"
    return settings.untagged, f"{label}: {missing}, so {settings.untagged.id}"


def catalogue_problems(spec: RetentionPolicySpec, clients: ClientFactory, settings: Settings) -> list[str]:
    """Rules longer than a store's data category allows, for stores whose category comes from their
    tags (declared categories were checked by the model). A store whose tags cannot be read is left
    to the reconcile, which reports it and changes nothing on it."""
    problems: list[str] = []
    for store in spec.data_stores:
        inner = store.s3 or store.dynamodb
        if inner is None or inner.category is not None:
            continue
        try:
            category, source = store_category(inner, clients, settings)
        except Exception as exc:  # noqa: BLE001 - reported by the reconcile itself
            if type(exc).__name__ in ("NoCredentialsError", "PartialCredentialsError"):
                raise
            continue
        problems += rule_bound_problems(spec.rules, settings, category, source)
    return problems


def check_catalogue(docs: list[Document], clients: ClientFactory, settings: Settings) -> None:
    """`residency enforce`'s check before anything runs: every RetentionPolicy's rules within the
    categories of its stores (read from their tags); InputError (exit 2) naming the first that is not."""
    for doc in docs:
        if doc.kind != "RetentionPolicy":
            continue
        problems = catalogue_problems(doc.spec, clients, settings)
        if problems:
            raise InputError(
                f"document {doc.index} ({doc.ref}): spec.{problems[0]}; nothing was changed",
                source=doc.source,
            )


# --- reconciler --------------------------------------------------------------------------------


def reconcile_retention(
    spec: RetentionPolicySpec,
    *,
    name: str,
    clients: ClientFactory,
    now: datetime,
    dry_run: bool = False,
    source: str = "",
    progress: Progress | None = None,
    settings: Settings | None = None,
) -> ReconcileResult:
    if settings is None:
        from policies.catalog import default_catalog

        settings = default_catalog().settings()
    audit = spec.mode is Mode.AUDIT
    result = ReconcileResult(
        "RetentionPolicy", name, source, started=datetime.now(now.tzinfo), dry_run=dry_run, audit=audit
    )
    for store in spec.data_stores:
        out = StoreResult(store.label)
        result.stores.append(out)
        try:
            inner = store.s3 or store.dynamodb
            assert inner is not None
            category, origin = store_category(inner, clients, settings)
            problems = rule_bound_problems(spec.rules, settings, category, origin)
            if problems:
                out.findings.append(f"invalid spec: spec.{problems[0]}; nothing was done on this store")
                continue
            if store.s3 is not None:
                actions = plan_s3_store(store.s3, spec, name, clients, now, out, progress)
            else:
                assert store.dynamodb is not None
                actions = plan_dynamodb_store(store.dynamodb, spec, clients, now, out, category)
            apply_actions(actions, clients, out, apply=not (dry_run or audit), progress=progress)
        except Exception as exc:  # noqa: BLE001 - one store's failure is reported, the others still run
            out.error(f"{error_code(exc) or type(exc).__name__}: {exc}")
    result.finished = datetime.now(now.tzinfo)
    return result


def plan_s3_store(
    store: S3Store,
    spec: RetentionPolicySpec,
    policy: str,
    clients: ClientFactory,
    now: datetime,
    out: StoreResult,
    progress: Progress | None,
) -> list[Action]:
    client = clients.client("s3", store.region)
    actions: list[Action] = []
    lifecycle = plan_lifecycle(client, clients, store, policy, spec.rules, out)
    if lifecycle is not None:
        actions.append(lifecycle)
    plan = plan_s3_sweep(client, clients, store.bucket, spec.rules, now, out, progress)
    if not plan.count:
        return actions
    if _within_blast_radius(spec, plan.count, out):
        actions.append(
            DeleteVersions(
                store.region, store.bucket, tuple(plan.versions), tuple(plan.markers), "past retention"
            )
        )
    else:
        out.pending += plan.count
    return actions


def plan_lifecycle(
    client: Any,
    clients: ClientFactory,
    store: S3Store,
    policy: str,
    rules: list[Rule],
    out: StoreResult | None = None,
) -> PutLifecycle | None:
    """The lifecycle configuration to write, or None if the bucket already implements the rules."""
    try:
        current = call(clients.retry, client.get_bucket_lifecycle_configuration, Bucket=store.bucket).get(
            "Rules", []
        )
    except Exception as exc:
        if error_code(exc) != "NoSuchLifecycleConfiguration":
            raise
        current = []
    findings = foreign_lifecycle_findings(policy, rules, current)
    if out is not None:
        out.findings.extend(findings)
    desired = merge_lifecycle(policy, current, lifecycle_rules(policy, rules), rules)
    if _canonical(current) == _canonical(desired):
        return None
    return PutLifecycle(store.region, store.bucket, tuple(desired), f"policy {policy}")


class SweepPlan:
    """Exact versions to delete: object versions first, then delete markers (by key)."""

    def __init__(self) -> None:
        self.versions: list[tuple[str, str]] = []
        self.markers: list[tuple[str, str]] = []

    @property
    def count(self) -> int:
        return len(self.versions) + len(self.markers)


def plan_s3_sweep(
    client: Any,
    clients: ClientFactory,
    bucket: str,
    rules: list[Rule],
    now: datetime,
    out: StoreResult,
    progress: Progress | None = None,
) -> SweepPlan:
    """List every version in the bucket and decide each one (reads only). Versions no rule matches
    are counted, and reported as one finding: they would be kept forever."""
    plan = SweepPlan()
    lock = LockInspector(client, clients.retry, bucket)
    unmatched: list[str] = []
    unmatched_count = 0
    for groups in key_chunks(list_pages(client, clients.retry, bucket, "")):
        examined = sum(len(g) for g in groups)
        out.examined += examined
        # Versions old enough for at least one prefix rule; only those need tags (if any rule has tags).
        need_tags: list[Version] = []
        for group in groups:
            for version in group:
                candidates = prefix_rules(version.key, rules)
                if not version.delete_marker and candidates and any(r.match.tags for r in candidates):
                    # Tags decide which rules match: needed when old enough for one of them, and
                    # when only tag rules could match (else it might match none: a finding).
                    if all(r.match.tags for r in candidates) or old_enough(
                        version, min(r.delete_age_days for r in candidates), now
                    ):
                        need_tags.append(version)
        tags = fetch_tags(client, clients.retry, bucket, need_tags)
        chosen: list[Version] = []
        for group in groups:
            for version in group:
                if version.delete_marker:
                    continue
                if version.ref in tags and tags[version.ref] is None:
                    out.error(f"{version.label()}: tags unreadable; kept")
                    out.skipped += 1
                    continue
                matched = matching_rules(version.key, tags.get(version.ref, {}), rules)
                if matched and old_enough(version, max(r.delete_age_days for r in matched), now):
                    chosen.append(version)
                else:
                    out.skipped += 1
                    if not matched:
                        unmatched_count += 1
                        if len(unmatched) < _UNMATCHED_SHOWN:
                            unmatched.append(version.label())
        held = lock.holds(chosen, now)
        doomed: set[tuple[str, str]] = set()
        for version in chosen:
            if version.ref in held:
                out.hold(version.label(), held[version.ref])
            else:
                doomed.add(version.ref)
                plan.versions.append(version.ref)
        for group in groups:
            survivors = any(not v.delete_marker and v.ref not in doomed for v in group)
            for marker in (v for v in group if v.delete_marker):
                matched = matching_rules(marker.key, None, rules)
                if (
                    not survivors
                    and matched
                    and old_enough(marker, max(r.delete_age_days for r in matched), now)
                ):
                    plan.markers.append(marker.ref)
                else:
                    out.skipped += 1
        if progress:
            progress("examined", examined)
    if unmatched_count:
        more = ", ..." if unmatched_count > len(unmatched) else ""
        out.findings.append(
            f"{unmatched_count} object version(s) match no rule and would be kept forever "
            f"({', '.join(unmatched)}{more}); add a rule that covers them, or move them out of this bucket"
        )
    return plan


def _within_blast_radius(spec: RetentionPolicySpec, planned: int, out: StoreResult) -> bool:
    limit = spec.blast_radius
    if limit is None or planned == 0:
        return True
    if limit.max_deletes is not None and planned > limit.max_deletes:
        out.findings.append(
            f"blast-radius limit: the sweep would delete {planned} > maxDeletes {limit.max_deletes}; "
            "nothing deleted (check the rules, then raise spec.blastRadius.maxDeletes)"
        )
        return False
    if limit.max_percent is not None and out.examined and planned * 100 / out.examined > limit.max_percent:
        share = planned * 100 / out.examined
        out.findings.append(
            f"blast-radius limit: the sweep would delete {share:.1f}% > maxPercent {limit.max_percent}; "
            "nothing deleted (check the rules, then raise spec.blastRadius.maxPercent)"
        )
        return False
    return True


# --- DynamoDB ----------------------------------------------------------------------------------


def plan_dynamodb_store(
    store: DynamoDBStore,
    spec: RetentionPolicySpec,
    clients: ClientFactory,
    now: datetime,
    out: StoreResult,
    category: Category | None = None,
) -> list[Action]:
    client = clients.client("dynamodb", store.region)
    actions: list[Action] = []
    ttl = call(clients.retry, client.describe_time_to_live, TableName=store.table)["TimeToLiveDescription"]
    status, attribute = ttl.get("TimeToLiveStatus"), ttl.get("AttributeName")
    if status in ("ENABLED", "ENABLING") and attribute != store.ttl_attribute:
        out.findings.append(
            f"TTL is on attribute {attribute!r}, the policy says {store.ttl_attribute!r}; "
            "disable TTL on the table or change spec ttlAttribute"
        )
    elif status not in ("ENABLED", "ENABLING"):
        actions.append(EnableTTL(store.region, store.table, store.ttl_attribute))

    table = call(clients.retry, client.describe_table, TableName=store.table)["Table"]
    keys = [k["AttributeName"] for k in table["KeySchema"]]
    names = {f"#a{i}": a for i, a in enumerate([*keys, store.ttl_attribute])}
    now_epoch = int(now.timestamp())
    horizon = now_epoch + 86400 * max(r.delete_age_days for r in spec.rules)
    limit = category.max_retention_days if category is not None else None
    beyond_category = now_epoch + 86400 * limit if limit is not None else None
    expired: list[dict[str, Any]] = []
    missing = too_late = too_long = 0
    kwargs: dict[str, Any] = {
        "TableName": store.table,
        "ProjectionExpression": ", ".join(names),
        "ExpressionAttributeNames": names,
    }
    while True:
        page = call(clients.retry, client.scan, **kwargs)
        for item in page.get("Items", ()):
            out.examined += 1
            value = item.get(store.ttl_attribute, {}).get("N")
            if value is None:
                missing += 1
            elif Decimal(value) < now_epoch:
                expired.append({k: item[k] for k in keys})
            else:
                out.skipped += 1
                if beyond_category is not None and Decimal(value) > beyond_category:
                    too_long += 1
                else:
                    too_late += Decimal(value) > horizon
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    out.skipped += missing
    if missing:
        out.findings.append(f"{missing} item(s) have no {store.ttl_attribute} and would be kept forever")
    if too_long:
        assert category is not None
        out.findings.append(
            f"{too_long} item(s) have a {store.ttl_attribute} more than {limit} days ahead, beyond the "
            f"catalogue's maximum retention for {category.id} data; shorten their TTL"
        )
    if too_late:
        out.findings.append(f"{too_late} item(s) expire later than the policy's longest retention")
    if expired:
        if _within_blast_radius(spec, len(expired), out):
            actions.append(
                DeleteExpiredItems(store.region, store.table, tuple(expired), store.ttl_attribute, now_epoch)
            )
        else:
            out.pending += len(expired)
    return actions
