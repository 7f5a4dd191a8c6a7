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
* DynamoDB: TTL is enabled on `ttlAttribute`; items whose TTL is already in the past are deleted
  with a conditional DeleteItem (a TTL extended meanwhile is left alone); items without a TTL, or
  with one beyond the policy's longest retention, are findings.

Planning only reads; every change is a `controllers.actions` object, applied (or, in a dry run or
Audit mode, reported) by `apply_actions`.
"""

from __future__ import annotations

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
from controllers.models import DynamoDBStore, Mode, RetentionPolicySpec, Rule, S3Store
from controllers.results import ReconcileResult, StoreResult
from controllers.s3_sweep import LockInspector, Version, fetch_tags, key_chunks, list_pages

LIFECYCLE_ID_PREFIX = "residency."


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
        rule_id = f"{LIFECYCLE_ID_PREFIX}{policy}.{rule.name}"[:255]
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
                    "ID": f"{rule_id[:247]}.markers",
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
    policy: str, current: list[dict[str, Any]], desired: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Keep every rule this policy does not own; replace the ones it owns."""
    own = f"{LIFECYCLE_ID_PREFIX}{policy}."
    return [r for r in current if not str(r.get("ID", "")).startswith(own)] + desired


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
) -> ReconcileResult:
    audit = spec.mode is Mode.AUDIT
    result = ReconcileResult(
        "RetentionPolicy", name, source, started=datetime.now(now.tzinfo), dry_run=dry_run, audit=audit
    )
    for store in spec.data_stores:
        out = StoreResult(store.label)
        result.stores.append(out)
        try:
            if store.s3 is not None:
                actions = plan_s3_store(store.s3, spec, name, clients, now, out, progress)
            else:
                assert store.dynamodb is not None
                actions = plan_dynamodb_store(store.dynamodb, spec, clients, now, out)
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
    lifecycle = plan_lifecycle(client, clients, store, policy, spec.rules)
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
    client: Any, clients: ClientFactory, store: S3Store, policy: str, rules: list[Rule]
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
    desired = merge_lifecycle(policy, current, lifecycle_rules(policy, rules))
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
    """List every version under the rules' common prefix and decide each one (reads only)."""
    plan = SweepPlan()
    lock = LockInspector(client, clients.retry, bucket)
    for groups in key_chunks(list_pages(client, clients.retry, bucket, common_prefix(rules))):
        examined = sum(len(g) for g in groups)
        out.examined += examined
        # Versions old enough for at least one prefix rule; only those need tags (if any rule has tags).
        need_tags: list[Version] = []
        for group in groups:
            for version in group:
                candidates = prefix_rules(version.key, rules)
                if not version.delete_marker and candidates and any(r.match.tags for r in candidates):
                    if old_enough(version, min(r.delete_age_days for r in candidates), now):
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
    store: DynamoDBStore, spec: RetentionPolicySpec, clients: ClientFactory, now: datetime, out: StoreResult
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
    expired: list[dict[str, Any]] = []
    missing = too_late = 0
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
                too_late += Decimal(value) > horizon
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    out.skipped += missing
    if missing:
        out.findings.append(f"{missing} item(s) have no {store.ttl_attribute} and would be kept forever")
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
