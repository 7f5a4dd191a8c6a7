"""Every change a reconciler makes to AWS, as data, and the one function that carries them out.

Reconcilers only read while they plan; they return a list of actions. `apply_actions` executes them,
or, in a dry run or `mode: Audit`, records what would be done (deletions as *pending*, configuration
changes as findings). So a dry run is exactly the real run minus this module's writes, and every
write to S3 or DynamoDB in the controller is in this file.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from controllers.aws import ClientFactory, RetryPolicy, call, error_code
from controllers.results import StoreResult
from controllers.s3_sweep import delete_versions

Progress = Callable[[str, int], None]
#: DynamoDB's BatchWriteItem limit.
DDB_BATCH = 25


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
    """Exact S3 versions, then delete markers (only of keys whose versions all went)."""

    region: str
    bucket: str
    versions: tuple[tuple[str, str], ...]
    markers: tuple[tuple[str, str], ...]
    why: str

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


Action = PutLifecycle | PutLogging | EnableTTL | DeleteVersions | DeleteExpiredItems | DeleteItems


def apply_actions(
    actions: list[Action],
    clients: ClientFactory,
    out: StoreResult,
    *,
    apply: bool,
    progress: Progress | None = None,
) -> list[str]:
    """Carry out (or, with `apply` false, record) the actions; returns `store\\tkey\\tversion` lines deleted."""
    deleted: list[str] = []
    for action in actions:
        if not apply:
            out.pending += action.deletions
            if action.deletions:
                out.actions.append(f"would {action.describe()}")
            else:
                out.findings.append(f"would {action.describe()} (not changed: dry run or Audit mode)")
            continue
        deleted += _execute(action, clients, out, progress)
    return deleted


def _execute(
    action: Action, clients: ClientFactory, out: StoreResult, progress: Progress | None
) -> list[str]:
    retry = clients.retry
    if isinstance(action, PutLifecycle):
        client = clients.client("s3", action.region)
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
        return _delete_versions(action, clients, out, progress)
    elif isinstance(action, DeleteExpiredItems):
        return _delete_expired(action, clients, out)
    elif isinstance(action, DeleteItems):
        client = clients.client("dynamodb", action.region)
        keys = batch_delete_items(client, retry, action.table, list(action.keys), out)
        if keys:
            out.actions.append(f"deleted {len(keys)} item(s) from {action.table} {action.why}")
        return [f"{out.store}\t{json.dumps(k, sort_keys=True)}\t-" for k in keys]
    out.actions.append(action.describe())
    return []


def _delete_versions(
    action: DeleteVersions, clients: ClientFactory, out: StoreResult, progress: Progress | None
) -> list[str]:
    client = clients.client("s3", action.region)

    def tick(n: int) -> None:
        if progress:
            progress("deleted", n)

    report = delete_versions(client, clients.retry, action.bucket, action.versions, tick)
    failed_keys = {k for k, _, _, _ in report.failed}
    markers = [ref for ref in action.markers if ref[0] not in failed_keys]
    marker_report = delete_versions(client, clients.retry, action.bucket, markers, tick)
    out.skipped += len(action.markers) - len(markers)  # kept: a version of their key could not go
    lines: list[str] = []
    for rep in (report, marker_report):
        out.deleted += len(rep.deleted)
        lines += [f"{out.store}\t{k}\t{v}" for k, v in rep.deleted]
        for key, version_id, code, message in rep.failed:
            out.error(f"{key}@{version_id}: {code}: {message}")
    if lines:
        out.actions.append(
            f"deleted {len(report.deleted)} version(s) and {len(marker_report.deleted)} delete marker(s) {action.why}"
        )
    return lines


def _delete_expired(action: DeleteExpiredItems, clients: ClientFactory, out: StoreResult) -> list[str]:
    client = clients.client("dynamodb", action.region)
    deleted: list[str] = []
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
            deleted.append(f"{out.store}\t{json.dumps(key, sort_keys=True)}\t-")
        except Exception as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                out.skipped += 1  # its TTL moved, or it is gone already
            else:
                out.error(f"{json.dumps(key, sort_keys=True)}: {error_code(exc) or type(exc).__name__}")
    out.deleted += len(deleted)
    if deleted:
        out.actions.append(f"deleted {len(deleted)} expired item(s) from {action.table}")
    return deleted


def batch_delete_items(
    client: Any, retry: RetryPolicy, table: str, keys: list[dict[str, Any]], out: StoreResult
) -> list[dict[str, Any]]:
    """BatchWriteItem deletes in 25s, re-sending UnprocessedItems with backoff (bounded)."""
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
    out.deleted += len(deleted)
    return deleted
