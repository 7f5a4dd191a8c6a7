"""Every change a reconciler makes to AWS, as data, and the one function that carries them out.

Reconcilers only read while they plan; they return a list of actions. `apply_actions` executes them,
or, in a dry run or `mode: Audit`, records what would be done (deletions as *pending*, configuration
changes as findings). So a dry run is exactly the real run minus this module's writes, and every
write to S3 or DynamoDB in the controller is in this file.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from controllers.aws import ClientFactory, RetryPolicy, call, error_code
from controllers.manifest import Entry, digest
from controllers.results import StoreResult
from controllers.s3_sweep import Version, bucket_region, delete_versions, present_versions

Progress = Callable[[str, int], None]
#: DynamoDB's BatchWriteItem limit.
DDB_BATCH = 25
#: DynamoDB's BatchGetItem limit.
DDB_GET_BATCH = 100


def item_label(key: str, version_id: str | None = None) -> str:
    """An S3 key (and version) as it is safe to print: control characters and the like escaped."""
    shown = key if key.isprintable() else json.dumps(key)[1:-1]
    return shown if version_id is None else f"{shown}@{version_id}"


@dataclass(frozen=True)
class PutLifecycle:
    region: str
    bucket: str
    rules: tuple[dict[str, Any], ...]
    why: str
    deletions = 0

    def describe(self) -> str:
        return f"set {len(self.rules)} lifecycle rule(s) on s3://{self.bucket} ({self.why})"


@dataclass(frozen=True)
class PutLogging:
    region: str
    bucket: str
    target_bucket: str
    target_prefix: str
    deletions = 0

    def describe(self) -> str:
        return (
            f"send server access logs of s3://{self.bucket} to s3://{self.target_bucket}/{self.target_prefix}"
        )


@dataclass(frozen=True)
class EnableTTL:
    region: str
    table: str
    attribute: str
    deletions = 0

    def describe(self) -> str:
        return f"enable TTL on {self.table}.{self.attribute}"


@dataclass(frozen=True)
class DeleteVersions:
    """Exact S3 versions, then delete markers (only of keys none of whose targeted versions is left)."""

    region: str
    bucket: str
    versions: tuple[tuple[str, str], ...]
    markers: tuple[tuple[str, str], ...]
    why: str
    #: A prefix every targeted key is under; verification re-lists it whole (else: the keys).
    scope: str | None = None
    #: The listing entries of the targets (size and ETag for the manifest).
    sources: tuple[Version, ...] = ()
    #: The caller has already checked the bucket's real region against `region`.
    region_checked: bool = False

    @property
    def deletions(self) -> int:
        return len(self.versions) + len(self.markers)

    def describe(self) -> str:
        return f"delete {len(self.versions)} version(s) and {len(self.markers)} delete marker(s) {self.why}"


@dataclass(frozen=True)
class DeleteExpiredItems:
    """DynamoDB items whose TTL has passed; each delete is conditional on it still having passed."""

    region: str
    table: str
    keys: tuple[dict[str, Any], ...]
    ttl_attribute: str
    now_epoch: int

    @property
    def deletions(self) -> int:
        return len(self.keys)

    def describe(self) -> str:
        return f"delete {len(self.keys)} expired item(s) from {self.table}"


@dataclass(frozen=True)
class DeleteItems:
    """DynamoDB items by exact key (erasure), with BatchWriteItem."""

    region: str
    table: str
    keys: tuple[dict[str, Any], ...]
    why: str

    @property
    def deletions(self) -> int:
        return len(self.keys)

    def describe(self) -> str:
        return f"delete {len(self.keys)} item(s) from {self.table} {self.why}"


@dataclass(frozen=True)
class PutManifest:
    """An erasure manifest, stored in the evidence bucket and read back to check its digest."""

    region: str
    bucket: str
    key: str
    body: bytes
    deletions = 0

    def describe(self) -> str:
        return f"store the erasure manifest at s3://{self.bucket}/{self.key}"


Action = (
    PutLifecycle | PutLogging | EnableTTL | DeleteVersions | DeleteExpiredItems | DeleteItems | PutManifest
)


def apply_actions(
    actions: list[Action],
    clients: ClientFactory,
    out: StoreResult,
    *,
    apply: bool,
    progress: Progress | None = None,
) -> list[Entry]:
    """Carry out (or, with `apply` false, record) the actions; returns the manifest entries of what
    was deleted and verified gone."""
    deleted: list[Entry] = []
    confirmed: set[tuple[str, str]] = set()  # (bucket, region) already checked in this call
    for action in actions:
        if not apply:
            out.pending += action.deletions
            if action.deletions:
                out.actions.append(f"would {action.describe()}")
            else:
                out.findings.append(f"would {action.describe()} (not changed: dry run or Audit mode)")
            continue
        deleted += _execute(action, clients, out, progress, confirmed)
    return deleted


def _execute(
    action: Action,
    clients: ClientFactory,
    out: StoreResult,
    progress: Progress | None,
    confirmed: set[tuple[str, str]],
) -> list[Entry]:
    retry = clients.retry
    if isinstance(action, PutLifecycle):
        client = clients.client("s3", action.region)
        if not region_matches(
            client, retry, action.bucket, action.region, out, "no lifecycle rule set", confirmed
        ):
            return []
        call(
            retry,
            client.put_bucket_lifecycle_configuration,
            Bucket=action.bucket,
            LifecycleConfiguration={"Rules": list(action.rules)},
        )
    elif isinstance(action, PutLogging):
        client = clients.client("s3", action.region)
        status = {
            "LoggingEnabled": {"TargetBucket": action.target_bucket, "TargetPrefix": action.target_prefix}
        }
        try:
            call(retry, client.put_bucket_logging, Bucket=action.bucket, BucketLoggingStatus=status)
        except Exception as exc:
            out.error(
                f"cannot enable access logging ({error_code(exc) or type(exc).__name__}): grant "
                f"logging.s3.amazonaws.com s3:PutObject on s3://{action.target_bucket}/{action.target_prefix}* "
                "in the audit bucket's policy"
            )
            return []
    elif isinstance(action, EnableTTL):
        client = clients.client("dynamodb", action.region)
        spec = {"Enabled": True, "AttributeName": action.attribute}
        call(retry, client.update_time_to_live, TableName=action.table, TimeToLiveSpecification=spec)
    elif isinstance(action, DeleteVersions):
        return _delete_versions(action, clients, out, progress, confirmed)
    elif isinstance(action, DeleteExpiredItems):
        return _delete_expired(action, clients, out)
    elif isinstance(action, DeleteItems):
        return _delete_items(action, clients, out)
    elif isinstance(action, PutManifest):
        _put_manifest(action, clients, out)
        return []
    out.actions.append(action.describe())
    return []


def region_matches(
    client: Any,
    retry: RetryPolicy,
    bucket: str,
    declared: str,
    out: StoreResult,
    what: str,
    confirmed: set[tuple[str, str]] | None = None,
) -> bool:
    """The bucket really is in the declared region (an error naming both, otherwise)."""
    if confirmed is not None and (bucket, declared) in confirmed:
        return True
    try:
        actual = bucket_region(client, retry, bucket)
    except Exception as exc:
        out.error(
            f"cannot read the region of s3://{bucket} ({error_code(exc) or type(exc).__name__}); {what}"
        )
        return False
    if actual != declared:
        out.error(
            f"s3://{bucket} is in {actual}, not in {declared} as declared; {what} "
            "(fix the data store's region, or move the bucket into the territory)"
        )
        return False
    if confirmed is not None:
        confirmed.add((bucket, declared))
    return True


def _delete_versions(
    action: DeleteVersions,
    clients: ClientFactory,
    out: StoreResult,
    progress: Progress | None,
    confirmed: set[tuple[str, str]],
) -> list[Entry]:
    client = clients.client("s3", action.region)
    retry = clients.retry
    if not action.region_checked and not region_matches(
        client, retry, action.bucket, action.region, out, "nothing deleted", confirmed
    ):
        return []

    def tick(n: int) -> None:
        if progress:
            progress("deleted", n)

    report = delete_versions(client, retry, action.bucket, action.versions, tick)
    gone_versions, left_versions = _verify(client, retry, action, action.versions, report, out)
    left_keys = {k for k, _ in left_versions}
    # A marker over a version that is still there keeps it hidden: it stays.
    markers = [ref for ref in action.markers if ref[0] not in left_keys]
    out.skipped += len(action.markers) - len(markers)
    marker_report = delete_versions(client, retry, action.bucket, markers, tick)
    gone_markers, _ = _verify(client, retry, action, markers, marker_report, out)

    sources = {v.ref: v for v in action.sources}
    entries: list[Entry] = []
    for refs, rep, kind in (
        (gone_versions, report, "version"),
        (gone_markers, marker_report, "deleteMarker"),
    ):
        for ref in refs:
            source = sources.get(ref)
            entries.append(
                Entry(
                    store=out.store,
                    key=ref[0],
                    version_id=ref[1],
                    type=kind,
                    deleted_at=rep.answered_at.get(ref) or datetime.now(UTC),
                    size=source.size if source and kind == "version" else None,
                    etag=source.etag if source and kind == "version" else None,
                )
            )
    out.deleted += len(entries)
    if entries:
        out.actions.append(
            f"deleted {len(gone_versions)} version(s) and {len(gone_markers)} delete marker(s) {action.why} "
            "(each confirmed gone by a fresh listing)"
        )
    return entries


def _verify(
    client: Any,
    retry: RetryPolicy,
    action: DeleteVersions,
    refs: Iterable[tuple[str, str]],
    report: Any,
    out: StoreResult,
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Split `refs` into (gone, still there) by a fresh read; name every one still there, and why."""
    refs = list(refs)
    if not refs:
        return [], []
    try:
        present = present_versions(client, retry, action.bucket, refs, action.scope)
    except Exception as exc:
        out.error(
            f"could not re-read s3://{action.bucket} to verify {len(refs)} deletion(s) "
            f"({error_code(exc) or type(exc).__name__}); none of them is counted as deleted"
        )
        return [], refs
    failed = {(k, v): f"{code}: {message}" for k, v, code, message in report.failed}
    gone: list[tuple[str, str]] = []
    left: list[tuple[str, str]] = []
    for ref in refs:
        if ref not in present:
            gone.append(ref)
            continue
        left.append(ref)
        why = failed.get(ref, "S3 answered that it was deleted, but a fresh listing still finds it")
        out.error(f"{item_label(*ref)}: {why}")
    return gone, left


def _delete_items(action: DeleteItems, clients: ClientFactory, out: StoreResult) -> list[Entry]:
    client = clients.client("dynamodb", action.region)
    keys = list(action.keys)
    answered = {_key_text(k) for k in batch_delete_items(client, clients.retry, action.table, keys, out)}
    when = datetime.now(UTC)
    try:
        present = _present_items(client, clients.retry, action.table, keys)
    except Exception as exc:
        out.error(
            f"could not re-read {action.table} to verify {len(keys)} deletion(s) "
            f"({error_code(exc) or type(exc).__name__}); none of them is counted as deleted"
        )
        return []
    entries: list[Entry] = []
    for key in keys:
        text = _key_text(key)
        if text in present:
            if text in answered:
                out.error(
                    f"{text}: DynamoDB answered that it was deleted, but a consistent read still finds it"
                )
            continue
        entries.append(Entry(store=out.store, key=key, version_id=None, type="item", deleted_at=when))
    out.deleted += len(entries)
    if entries:
        out.actions.append(
            f"deleted {len(entries)} item(s) from {action.table} {action.why} (each confirmed gone by a consistent read)"
        )
    return entries


def _put_manifest(action: PutManifest, clients: ClientFactory, out: StoreResult) -> None:
    client = clients.client("s3", action.region)
    if not region_matches(client, clients.retry, action.bucket, action.region, out, "manifest not stored"):
        return
    call(
        clients.retry,
        client.put_object,
        Bucket=action.bucket,
        Key=action.key,
        Body=action.body,
        ContentType="application/x-ndjson",
    )
    stored = call(clients.retry, client.get_object, Bucket=action.bucket, Key=action.key)["Body"].read()
    if digest(stored) != digest(action.body):
        out.error(
            f"the manifest read back from s3://{action.bucket}/{action.key} differs from the one written"
        )
        return
    out.actions.append(
        f"stored the erasure manifest at s3://{action.bucket}/{action.key} (read back, digest checked)"
    )


def _key_text(key: dict[str, Any]) -> str:
    return json.dumps(key, sort_keys=True)


def _present_items(
    client: Any, retry: RetryPolicy, table: str, keys: list[dict[str, Any]], extra: tuple[str, ...] = ()
) -> dict[str, dict[str, Any]]:
    """The items among `keys` that a consistent read still finds (key text -> item)."""
    found: dict[str, dict[str, Any]] = {}
    if not keys:
        return found
    names = sorted({n for k in keys for n in k} | set(extra))
    aliases = {f"#p{i}": n for i, n in enumerate(names)}
    for start in range(0, len(keys), DDB_GET_BATCH):
        request: dict[str, Any] = {
            table: {
                "Keys": keys[start : start + DDB_GET_BATCH],
                "ConsistentRead": True,
                "ProjectionExpression": ", ".join(aliases),
                "ExpressionAttributeNames": aliases,
            }
        }
        for attempt in range(retry.attempts):
            answer = call(retry, client.batch_get_item, RequestItems=request)
            key_names = list(keys[0])
            for item in answer.get("Responses", {}).get(table, ()):
                found[_key_text({n: item[n] for n in key_names if n in item})] = item
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                break
            if attempt + 1 < retry.attempts:
                retry.backoff(attempt)
        if request:
            raise RuntimeError(f"BatchGetItem left keys unprocessed after {retry.attempts} attempts")
    return found


def _delete_expired(action: DeleteExpiredItems, clients: ClientFactory, out: StoreResult) -> list[Entry]:
    client = clients.client("dynamodb", action.region)
    answered: list[dict[str, Any]] = []
    for key in action.keys:
        try:
            call(
                clients.retry,
                client.delete_item,
                TableName=action.table,
                Key=key,
                ConditionExpression="#t < :now",
                ExpressionAttributeNames={"#t": action.ttl_attribute},
                ExpressionAttributeValues={":now": {"N": str(action.now_epoch)}},
            )
            answered.append(key)
        except Exception as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                out.skipped += 1  # its TTL moved, or it is gone already
            else:
                out.error(f"{_key_text(key)}: {error_code(exc) or type(exc).__name__}")
    when = datetime.now(UTC)
    try:
        present = _present_items(client, clients.retry, action.table, answered, (action.ttl_attribute,))
    except Exception as exc:
        out.error(
            f"could not re-read {action.table} to verify {len(answered)} deletion(s) "
            f"({error_code(exc) or type(exc).__name__}); none of them is counted as deleted"
        )
        return []
    entries: list[Entry] = []
    for key in answered:
        item = present.get(_key_text(key))
        if item is None:
            entries.append(Entry(store=out.store, key=key, version_id=None, type="item", deleted_at=when))
            continue
        ttl = item.get(action.ttl_attribute, {}).get("N")
        if ttl is not None and Decimal(ttl) >= action.now_epoch:
            out.skipped += 1  # written again since, with a later TTL: a new item, not the expired one
        else:
            out.error(
                f"{_key_text(key)}: DynamoDB answered that it was deleted, but a consistent read still finds it"
            )
    out.deleted += len(entries)
    if entries:
        out.actions.append(
            f"deleted {len(entries)} expired item(s) from {action.table} (each confirmed gone by a consistent read)"
        )
    return entries


def batch_delete_items(
    client: Any, retry: RetryPolicy, table: str, keys: list[dict[str, Any]], out: StoreResult
) -> list[dict[str, Any]]:
    """BatchWriteItem deletes in 25s, re-sending UnprocessedItems with backoff (bounded).

    Returns the keys DynamoDB answered as processed; the caller verifies them with a fresh read."""
    deleted: list[dict[str, Any]] = []
    for start in range(0, len(keys), DDB_BATCH):
        pending = keys[start : start + DDB_BATCH]
        for attempt in range(retry.attempts):
            answer = call(
                retry,
                client.batch_write_item,
                RequestItems={table: [{"DeleteRequest": {"Key": k}} for k in pending]},
            )
            unprocessed = [
                r["DeleteRequest"]["Key"] for r in answer.get("UnprocessedItems", {}).get(table, [])
            ]
            left = {json.dumps(k, sort_keys=True) for k in unprocessed}
            deleted += [k for k in pending if json.dumps(k, sort_keys=True) not in left]
            pending = unprocessed
            if not pending:
                break
            if attempt + 1 < retry.attempts:
                retry.backoff(attempt)
        for key in pending:
            out.error(f"{json.dumps(key, sort_keys=True)}: still unprocessed after {retry.attempts} attempts")
    return deleted
