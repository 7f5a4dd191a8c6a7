"""ErasureRequest: delete one data subject's data from every listed store, every version included.

Scope is the safety argument: the subject id was validated against a charset that cannot widen a
prefix (see `models.SUBJECT_ID`), the key prefix template puts '/' right after `{subjectId}`, and
DynamoDB items are found by an exact partition-key Query, never a Scan. Held versions (legal hold
or unexpired retention) are reported and kept, and so are the delete markers of their keys, which
keep the held data hidden. Evidence is a sha256 over the sorted `store\\tkey\\tversion` lines of what
was deleted, so an auditor can recompute it from the result; a repeated run deletes nothing.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from controllers.actions import DeleteItems, DeleteVersions, Progress, apply_actions
from controllers.aws import ClientFactory, call, error_code
from controllers.models import SUBJECT_PLACEHOLDER, ErasureDynamoDBStore, ErasureRequestSpec, ErasureS3Store
from controllers.results import ReconcileResult, StoreResult
from controllers.s3_sweep import LockInspector, key_chunks, list_pages


def subject_prefix(store: ErasureS3Store, subject_id: str) -> str:
    return store.key_prefix.replace(SUBJECT_PLACEHOLDER, subject_id)


def reconcile_erasure(
    spec: ErasureRequestSpec,
    *,
    name: str,
    clients: ClientFactory,
    now: datetime,
    dry_run: bool = False,
    source: str = "",
    progress: Progress | None = None,
) -> ReconcileResult:
    started = datetime.now(now.tzinfo)
    result = ReconcileResult("ErasureRequest", name, source, started=started, dry_run=dry_run)
    result.held_blocks_compliance = True
    deleted_lines: list[str] = []
    for store in spec.data_stores:
        out = StoreResult(store.label)
        result.stores.append(out)
        try:
            if store.s3 is not None:
                deleted_lines += _erase_s3(store.s3, spec.subject_id, clients, now, dry_run, out, progress)
            else:
                assert store.dynamodb is not None
                deleted_lines += _erase_dynamodb(store.dynamodb, spec.subject_id, clients, dry_run, out)
        except Exception as exc:  # noqa: BLE001 - reported per store; the others still run
            out.error(f"{error_code(exc) or type(exc).__name__}: {exc}")
        if out.held:
            out.findings.append(f"{out.held} item(s) under legal hold or retention were kept, not erased")
    result.finished = datetime.now(now.tzinfo)
    if spec.deadline is not None and not result.compliant and now > spec.deadline:
        result.findings.append(f"past the deadline {spec.deadline.isoformat()} and not complete")
    digest = hashlib.sha256("\n".join(sorted(deleted_lines)).encode()).hexdigest()
    result.evidence = {
        "subjectId": spec.subject_id,
        "started": result.started.isoformat(),
        "finished": result.finished.isoformat(),
        "deletedPerStore": {s.store: s.deleted for s in result.stores},
        "heldPerStore": {s.store: s.held for s in result.stores},
        "deletedSha256": digest,
        "deletedCount": len(deleted_lines),
    }
    return result


def _erase_s3(
    store: ErasureS3Store,
    subject_id: str,
    clients: ClientFactory,
    now: datetime,
    dry_run: bool,
    out: StoreResult,
    progress: Progress | None,
) -> list[str]:
    client = clients.client("s3", store.region)
    prefix = subject_prefix(store, subject_id)
    lock = LockInspector(client, clients.retry, store.bucket)
    versions: list[tuple[str, str]] = []
    markers: list[tuple[str, str]] = []
    for groups in key_chunks(list_pages(client, clients.retry, store.bucket, prefix)):
        flat = [v for g in groups for v in g]
        out.examined += len(flat)
        held = lock.holds(flat, now)
        for group in groups:
            key_held = False
            for version in group:
                if version.delete_marker:
                    continue
                if version.ref in held:
                    key_held = True
                    out.hold(version.label(), held[version.ref])
                else:
                    versions.append(version.ref)
            for marker in (v for v in group if v.delete_marker):
                if key_held:
                    out.skipped += 1  # it hides the held version; removing it would expose it
                else:
                    markers.append(marker.ref)
        if progress:
            progress("examined", len(flat))
    if not versions and not markers:
        return []
    action = DeleteVersions(store.region, store.bucket, tuple(versions), tuple(markers), f"under {prefix}")
    return apply_actions([action], clients, out, apply=not dry_run, progress=progress)


def _erase_dynamodb(
    store: ErasureDynamoDBStore, subject_id: str, clients: ClientFactory, dry_run: bool, out: StoreResult
) -> list[str]:
    client = clients.client("dynamodb", store.region)
    table = call(clients.retry, client.describe_table, TableName=store.table)["Table"]
    schema = {k["KeyType"]: k["AttributeName"] for k in table["KeySchema"]}
    types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    if schema.get("HASH") != store.partition_key:
        out.error(
            f"partitionKey {store.partition_key!r} is not the table's partition key "
            f"({schema.get('HASH')!r}); fix spec.dataStores[].dynamodb.partitionKey"
        )
        return []
    kind = types.get(store.partition_key, "S")
    if kind == "N" and not subject_id.lstrip("-").replace(".", "", 1).isdigit():
        out.error(f"the partition key is numeric but subjectId {subject_id!r} is not a number")
        return []
    key_names = [schema["HASH"], *([schema["RANGE"]] if "RANGE" in schema else [])]
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
        page = call(clients.retry, client.query, **kwargs)
        keys += [{n: item[n] for n in key_names} for item in page.get("Items", ())]
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    out.examined += len(keys)
    if not keys:
        return []
    action = DeleteItems(store.region, store.table, tuple(keys), f"with {store.partition_key} = {subject_id}")
    return apply_actions([action], clients, out, apply=not dry_run)
