"""ErasureRequest: delete one data subject's data from every listed store and every copy of it.

Scope is the safety argument: the subject id was validated against a charset that cannot widen a
prefix (see `models.SUBJECT_ID`), the key prefix template puts '/' right after `{subjectId}`, and
DynamoDB items are found by an exact partition-key Query, never a Scan.

* **Where.** Each S3 bucket's real region (GetBucketLocation) must be the declared one before
  anything in it is deleted. Every replication destination of a named bucket (its replication
  configuration, followed transitively: a replica's own replication too) is erased under the same
  prefix, as a store of its own, because deleting a version is never replicated. A destination
  outside the territory (another partition, or a region the catalogue does not allow) is not
  touched, and the request is not compliant while it holds a copy.
* **What.** Every version and delete marker under the subject's prefix; every DynamoDB item with the
  subject's partition key. Held versions (legal hold, unexpired retention, or a lock state that
  cannot be read) are reported and kept, with the markers that hide them; the request then stays
  not compliant until the hold is lifted. A held version that is the current one after the erasure
  (the newer versions above it went) is named: readers are served it.
* **Verified.** Deletes go through `controllers.actions`, which counts an item as deleted only when
  a fresh read no longer finds it. Afterwards every store is read once more: anything still there
  that is not held is named (`remaining`) with the reason, and the request is not compliant.
* **Evidence.** One manifest line per deleted item (`controllers.manifest`), its sha256 in
  `evidence.deletedSha256`; the manifest is stored in `spec.evidence` (bucket and prefix) when
  given, and `residency enforce --evidence DIR` writes it to DIR. Per-store counts, digests and
  whether the store ran at all are in `evidence.stores`. A dry run, or a run in which no store could
  even be listed, has no evidence. A repeated run deletes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from controllers.actions import DeleteItems, DeleteVersions, Progress, PutManifest, apply_actions, item_label
from controllers.aws import ClientFactory, RetryPolicy, call, error_code
from controllers.manifest import Entry, digest, object_key, render
from controllers.models import SUBJECT_PLACEHOLDER, ErasureDynamoDBStore, ErasureRequestSpec, ErasureS3Store
from controllers.results import ReconcileResult, StoreResult
from controllers.s3_sweep import LockInspector, Version, bucket_region, key_chunks, list_pages
from policies.settings import Settings

_BUCKET_ARN = re.compile(r"arn:(?P<partition>aws[a-z-]*):s3:::(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])")


def subject_prefix(store: ErasureS3Store, subject_id: str) -> str:
    return store.key_prefix.replace(SUBJECT_PLACEHOLDER, subject_id)


@dataclass
class _S3Target:
    bucket: str
    #: The declared region; None for a replication destination (its region is read).
    region: str | None
    prefix: str
    replica_of: str | None = None

    @property
    def label(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


@dataclass
class _Plan:
    versions: list[Version]
    markers: list[Version]
    held: dict[tuple[str, str], str]
    kept_markers: set[tuple[str, str]]
    latest_before: set[tuple[str, str]]


def _territory(settings: Settings | None) -> Settings:
    if settings is not None:
        return settings
    from policies.catalog import default_catalog

    return default_catalog().settings()


def reconcile_erasure(
    spec: ErasureRequestSpec,
    *,
    name: str,
    clients: ClientFactory,
    now: datetime,
    dry_run: bool = False,
    source: str = "",
    progress: Progress | None = None,
    settings: Settings | None = None,
) -> ReconcileResult:
    settings = _territory(settings)
    started = datetime.now(UTC)
    result = ReconcileResult("ErasureRequest", name, source, started=started, dry_run=dry_run)
    result.held_blocks_compliance = True
    entries: list[Entry] = []
    records: list[dict[str, Any]] = []

    queue: list[_S3Target | ErasureDynamoDBStore] = []
    seen: set[tuple[str, str]] = set()
    for store in spec.data_stores:
        if store.s3 is not None:
            target = _S3Target(store.s3.bucket, store.s3.region, subject_prefix(store.s3, spec.subject_id))
            seen.add((target.bucket, target.prefix))
            queue.append(target)
        else:
            assert store.dynamodb is not None
            queue.append(store.dynamodb)
    labels: set[str] = set()
    index = 0
    while index < len(queue):
        target = queue[index]
        index += 1
        if isinstance(target, _S3Target):
            label = target.label
        else:
            label = f"dynamodb:{target.table}"
            if label in labels:
                label = f"{label}@{target.region}"
        labels.add(label)
        out = StoreResult(label)
        result.stores.append(out)
        record: dict[str, Any] = {"store": label, "ran": False}
        records.append(record)
        try:
            if isinstance(target, _S3Target):
                record.update(type="s3", bucket=target.bucket, prefix=target.prefix)
                if target.replica_of:
                    record["replicaOf"] = target.replica_of
                destinations: list[str] = []
                try:
                    _erase_s3(
                        target, clients, now, dry_run, out, progress, settings, record, entries, destinations
                    )
                finally:  # destinations found before a failure are still erased
                    for destination in destinations:
                        if (destination, target.prefix) not in seen:
                            seen.add((destination, target.prefix))
                            queue.append(_S3Target(destination, None, target.prefix, replica_of=label))
            else:
                record.update(type="dynamodb", table=target.table, region=target.region)
                _erase_dynamodb(target, spec.subject_id, clients, dry_run, out, record, entries, settings)
        except Exception as exc:  # noqa: BLE001 - reported per store; the others still run
            out.error(f"{error_code(exc) or type(exc).__name__}: {exc}")
        if out.held:
            out.findings.append(f"{out.held} item(s) under legal hold or retention were kept, not erased")
    result.finished = datetime.now(UTC)
    if spec.deadline is not None and not result.compliant and now > spec.deadline:
        result.findings.append(f"past the deadline {spec.deadline.isoformat()} and not complete")
    if not dry_run and any(r["ran"] for r in records):
        _evidence(spec, name, clients, result, records, entries)
    return result


def _erase_s3(
    target: _S3Target,
    clients: ClientFactory,
    now: datetime,
    dry_run: bool,
    out: StoreResult,
    progress: Progress | None,
    settings: Settings,
    record: dict[str, Any],
    entries: list[Entry],
    destinations: list[str],
) -> None:
    """Erase under the prefix in one bucket; its replication destinations go into `destinations`
    as soon as they are known."""
    retry = clients.retry
    ask_region = target.region or settings.allowed_regions[0]
    actual = bucket_region(clients.client("s3", ask_region), retry, target.bucket)
    record["region"] = actual
    if target.region is not None and actual != target.region:
        out.error(
            f"s3://{target.bucket} is in {actual}, not in {target.region} as declared; nothing deleted "
            "(fix spec.dataStores[].s3.region)"
        )
        return
    if actual not in settings.allowed_regions:
        what = f"replication destination s3://{target.bucket} (of {target.replica_of})"
        out.findings.append(
            f"{what if target.replica_of else f's3://{target.bucket}'} is in {actual}, outside the territory "
            f"({', '.join(settings.allowed_regions)}); its copy of the subject's data was not erased: remove "
            "the copy (and the replication rule that made it)"
        )
        return
    client = clients.client("s3", actual)
    destinations += _replication_destinations(client, retry, target.bucket, settings, out)
    plan = _plan_s3(client, retry, target, now, out, progress)
    record["ran"] = True
    if plan.versions or plan.markers:
        action = DeleteVersions(
            actual,
            target.bucket,
            tuple(v.ref for v in plan.versions),
            tuple(v.ref for v in plan.markers),
            f"under {target.prefix}",
            scope=target.prefix,
            sources=tuple(plan.versions),
            region_checked=True,
        )
        entries += apply_actions([action], clients, out, apply=not dry_run, progress=progress)
    if not dry_run:
        _check_s3_after(client, retry, target, plan, out)


def _replication_destinations(
    client: Any, retry: RetryPolicy, bucket: str, settings: Settings, out: StoreResult
) -> list[str]:
    """The destination buckets of every replication rule (enabled or not: a disabled rule may have
    copied data before); destinations in another partition are findings, never touched."""
    try:
        config = call(retry, client.get_bucket_replication, Bucket=bucket)["ReplicationConfiguration"]
    except Exception as exc:
        if error_code(exc) == "ReplicationConfigurationNotFoundError":
            return []
        out.error(
            f"cannot read the replication configuration of s3://{bucket} "
            f"({error_code(exc) or type(exc).__name__}); copies in its destinations may remain"
        )
        return []
    found: list[str] = []
    for rule in config.get("Rules", ()):
        arn = str((rule.get("Destination") or {}).get("Bucket", ""))
        match = _BUCKET_ARN.fullmatch(arn)
        if match is None:
            out.findings.append(
                f"replication rule {rule.get('ID', '?')!r} has destination {arn!r}, which is not an S3 bucket "
                "ARN; its copies could not be erased"
            )
        elif match["partition"] != settings.partition:
            out.findings.append(
                f"replication destination {arn} is outside the territory (partition {match['partition']}, "
                f"not {settings.partition}); its copy of the subject's data was not erased: remove the "
                "replication rule and the copy"
            )
        elif match["bucket"] != bucket and match["bucket"] not in found:
            found.append(match["bucket"])
    return found


def _plan_s3(
    client: Any,
    retry: RetryPolicy,
    target: _S3Target,
    now: datetime,
    out: StoreResult,
    progress: Progress | None,
) -> _Plan:
    lock = LockInspector(client, retry, target.bucket)
    plan = _Plan([], [], {}, set(), set())
    for groups in key_chunks(list_pages(client, retry, target.bucket, target.prefix)):
        flat = [v for g in groups for v in g]
        out.examined += len(flat)
        plan.latest_before |= {v.ref for v in flat if v.is_latest}
        held = lock.holds(flat, now)
        for group in groups:
            key_held = False
            for version in group:
                if version.delete_marker:
                    continue
                if version.ref in held:
                    key_held = True
                    plan.held[version.ref] = held[version.ref]
                    out.hold(item_label(version.key, version.version_id), held[version.ref])
                else:
                    plan.versions.append(version)
            for marker in (v for v in group if v.delete_marker):
                if key_held:
                    out.skipped += 1  # it hides the held version; removing it would expose it
                    plan.kept_markers.add(marker.ref)
                else:
                    plan.markers.append(marker)
        if progress:
            progress("examined", len(flat))
    return plan


def _check_s3_after(
    client: Any, retry: RetryPolicy, target: _S3Target, plan: _Plan, out: StoreResult
) -> None:
    """Read the prefix again: name what is still there and not held, and held versions now served."""
    targeted = {v.ref for v in plan.versions} | {v.ref for v in plan.markers}
    present = [v for page in list_pages(client, retry, target.bucket, target.prefix) for v in page]
    data_left = {v.key for v in present if not v.delete_marker and v.ref not in plan.held}
    for version in present:
        label = item_label(version.key, version.version_id)
        if version.ref in plan.held:
            if version.is_latest and not version.delete_marker and version.ref not in plan.latest_before:
                out.findings.append(
                    f"{label} ({plan.held[version.ref]}) is now the current version of its key, so "
                    "readers are served it; it is erased when the hold ends and the request runs again"
                )
            continue
        if version.ref in plan.kept_markers:
            continue
        if version.ref in targeted and version.delete_marker and version.key in data_left:
            out.remain(label, "kept: it hides a version of its key that could not be deleted")
        elif version.ref in targeted:
            out.remain(label, "deleting it failed (see the errors); not erased")
        else:
            out.remain(label, "written under the prefix while the erasure ran; not erased")


def _subject_keys(
    client: Any,
    retry: RetryPolicy,
    store: ErasureDynamoDBStore,
    subject_id: str,
    kind: str,
    key_names: list[str],
) -> list[dict[str, Any]]:
    names = {f"#k{i}": n for i, n in enumerate(key_names)}
    kwargs: dict[str, Any] = {
        "TableName": store.table,
        "KeyConditionExpression": "#k0 = :subject",
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": {":subject": {kind: subject_id}},
        "ProjectionExpression": ", ".join(names),
        "ConsistentRead": True,
    }
    keys: list[dict[str, Any]] = []
    while True:
        page = call(retry, client.query, **kwargs)
        keys += [{n: item[n] for n in key_names} for item in page.get("Items", ())]
        if "LastEvaluatedKey" not in page:
            return keys
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _erase_dynamodb(
    store: ErasureDynamoDBStore,
    subject_id: str,
    clients: ClientFactory,
    dry_run: bool,
    out: StoreResult,
    record: dict[str, Any],
    entries: list[Entry],
    settings: Settings,
) -> None:
    client = clients.client("dynamodb", store.region)
    table = call(clients.retry, client.describe_table, TableName=store.table)["Table"]
    # A global table replicates the deletes to its replicas; one outside the territory is a copy there.
    replicas = sorted(str(r.get("RegionName")) for r in table.get("Replicas", ()) if r.get("RegionName"))
    if replicas:
        record["replicaRegions"] = replicas
    for region in replicas:
        if region not in settings.allowed_regions:
            out.findings.append(
                f"global table replica of {store.table} in {region} is outside the territory "
                f"({', '.join(settings.allowed_regions)}): a copy of the subject's data is kept there; remove "
                "the replica"
            )
    try:
        kind, key_names = subject_key_schema(table, store.partition_key, subject_id)
    except ValueError as exc:
        out.error(str(exc))
        return
    keys = _subject_keys(client, clients.retry, store, subject_id, kind, key_names)
    out.examined += len(keys)
    record["ran"] = True
    if keys:
        action = DeleteItems(
            store.region, store.table, tuple(keys), f"with {store.partition_key} = {subject_id}"
        )
        entries += apply_actions([action], clients, out, apply=not dry_run)
    if not dry_run:
        for key in _subject_keys(client, clients.retry, store, subject_id, kind, key_names):
            out.remain(
                json_key(key),
                "deleting it failed (see the errors); not erased"
                if key in keys
                else "written while the erasure ran; not erased",
            )


def json_key(key: dict[str, Any]) -> str:
    import json

    return json.dumps(key, sort_keys=True)


def _evidence(
    spec: ErasureRequestSpec,
    name: str,
    clients: ClientFactory,
    result: ReconcileResult,
    records: list[dict[str, Any]],
    entries: list[Entry],
) -> None:
    """The manifest and the evidence of a run that did erase (or found nothing left to erase)."""
    data = render(entries)
    sha = digest(data)
    result.manifest = data
    by_store: dict[str, list[Entry]] = {}
    for entry in entries:
        by_store.setdefault(entry.store, []).append(entry)
    for record, out in zip(records, result.stores, strict=True):
        mine = by_store.get(record["store"], [])
        record.update(
            examined=out.examined,
            deleted=out.deleted,
            held=out.held,
            remaining=out.remaining,
            deletedSha256=digest(render(mine)),
        )
        if not record["ran"]:
            record["reason"] = (out.errors or out.findings or ["it could not be read"])[0]
    manifest: dict[str, Any] = {
        "lines": len(entries),
        "sha256": sha,
        "format": "JSON lines (controllers/manifest.py)",
    }
    target = getattr(spec, "evidence", None)
    if target is not None:
        key = object_key(target.prefix, name, sha)
        out = StoreResult(f"evidence:s3://{target.bucket}/{target.prefix}")
        result.stores.append(out)
        apply_actions([PutManifest(target.region, target.bucket, key, data)], clients, out, apply=True)
        if not out.errors:
            manifest["location"] = f"s3://{target.bucket}/{key}"
    result.evidence = {
        "subjectId": spec.subject_id,
        "started": result.started.isoformat(),
        "finished": (result.finished or result.started).isoformat(),
        "deletedCount": len(entries),
        "deletedSha256": sha,
        "manifest": manifest,
        "stores": records,
    }


def subject_key_schema(table: dict[str, Any], partition_key: str, subject_id: str) -> tuple[str, list[str]]:
    """(the partition key's attribute type, the table's key names) for a subject's items.

    ValueError, with the fix, when `partition_key` is not the table's partition key or a numeric key
    cannot hold the subject id: reading or deleting by the wrong key would miss the subject's data.
    """
    schema = {k["KeyType"]: k["AttributeName"] for k in table["KeySchema"]}
    types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    if schema.get("HASH") != partition_key:
        raise ValueError(
            f"partitionKey {partition_key!r} is not the table's partition key "
            f"({schema.get('HASH')!r}); fix spec.dataStores[].dynamodb.partitionKey"
        )
    kind = types.get(partition_key, "S")
    if kind == "N" and not subject_id.lstrip("-").replace(".", "", 1).isdigit():
        raise ValueError(f"the partition key is numeric but subjectId {subject_id!r} is not a number")
    return kind, [schema["HASH"], *([schema["RANGE"]] if "RANGE" in schema else [])]
