"""S3 building blocks shared by retention and erasure: version listing, lock checks, batch deletes.

Listing is version-aware (`ListObjectVersions`, 1,000 per page) and yields whole key groups, so a
caller sees every version and delete marker of a key together even when they span two pages.
Object Lock state is read with `HeadObject` (moto does not implement `GetObjectRetention`) and only
when the bucket has Object Lock enabled, which costs one `GetObjectLockConfiguration` per bucket,
asked once the first deletion candidate appears.
An unreadable lock state counts as held: fail closed. Deletes never send
`BypassGovernanceRetention`, so S3 itself refuses a locked version even if a hold appears mid-sweep.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from controllers.aws import RetryPolicy, call, error_code, is_retryable

PAGE_SIZE = 1000
#: S3's DeleteObjects limit.
MAX_BATCH = 1000
#: Parallel HeadObject / GetObjectTagging calls (boto3 clients are thread-safe).
WORKERS = 16


@dataclass(frozen=True, slots=True)
class Version:
    key: str
    version_id: str
    last_modified: datetime
    is_latest: bool
    delete_marker: bool

    @property
    def ref(self) -> tuple[str, str]:
        return (self.key, self.version_id)

    def label(self) -> str:
        return f"{self.key}@{self.version_id}"


def _version(entry: dict[str, Any], marker: bool) -> Version:
    modified = entry["LastModified"]
    if modified.tzinfo is None:
        modified = modified.replace(tzinfo=UTC)
    return Version(
        key=entry["Key"],
        version_id=entry.get("VersionId") or "null",
        last_modified=modified,
        is_latest=bool(entry.get("IsLatest")),
        delete_marker=marker,
    )


def list_pages(client: Any, retry: RetryPolicy, bucket: str, prefix: str = "") -> Iterator[list[Version]]:
    """Each page of versions and delete markers, merged and ordered by key (newest first per key)."""
    kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": PAGE_SIZE}
    while True:
        page = call(retry, client.list_object_versions, **kwargs)
        entries = [_version(v, False) for v in page.get("Versions", ())]
        entries += [_version(m, True) for m in page.get("DeleteMarkers", ())]
        entries.sort(key=lambda v: (v.key, -v.last_modified.timestamp(), not v.is_latest))
        yield entries
        if not page.get("IsTruncated"):
            return
        kwargs["KeyMarker"] = page["NextKeyMarker"]
        if page.get("NextVersionIdMarker"):
            kwargs["VersionIdMarker"] = page["NextVersionIdMarker"]
        else:
            kwargs.pop("VersionIdMarker", None)


def key_chunks(pages: Iterable[list[Version]]) -> Iterator[list[list[Version]]]:
    """Per page, the complete key groups in it; a key's versions split across pages are joined."""
    carry: list[Version] = []
    for page in pages:
        entries = carry + page
        if not entries:
            continue
        last_key = entries[-1].key
        cut = len(entries)
        while cut and entries[cut - 1].key == last_key:
            cut -= 1
        ready, carry = entries[:cut], entries[cut:]
        if ready:
            yield _groups(ready)
    if carry:
        yield _groups(carry)


def _groups(entries: list[Version]) -> list[list[Version]]:
    groups: list[list[Version]] = []
    for entry in entries:
        if groups and groups[-1][0].key == entry.key:
            groups[-1].append(entry)
        else:
            groups.append([entry])
    return groups


@dataclass
class LockInspector:
    """Object Lock state of versions in one bucket, asked only when the bucket can hold locks."""

    client: Any
    retry: RetryPolicy
    bucket: str
    _enabled: bool | None = None

    def enabled(self) -> bool:
        if self._enabled is None:
            try:
                config = call(self.retry, self.client.get_object_lock_configuration, Bucket=self.bucket)
                lock = config.get("ObjectLockConfiguration", {})
                self._enabled = lock.get("ObjectLockEnabled") == "Enabled"
            except Exception as exc:
                if error_code(exc) != "ObjectLockConfigurationNotFoundError":
                    raise
                self._enabled = False
        return self._enabled

    def holds(self, versions: list[Version], now: datetime) -> dict[tuple[str, str], str]:
        """Reason each held version is held; versions not in the answer may be deleted."""
        candidates = [v for v in versions if not v.delete_marker]
        if not candidates:
            return {}
        if not self.enabled():
            return {}
        with ThreadPoolExecutor(max_workers=min(WORKERS, len(candidates))) as pool:
            reasons = list(pool.map(lambda v: self._hold(v, now), candidates))
        return {v.ref: r for v, r in zip(candidates, reasons, strict=True) if r}

    def _hold(self, version: Version, now: datetime) -> str | None:
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": version.key}
        # moto rejects VersionId=null; for the latest null version the answer is the same without it.
        if not (version.version_id == "null" and version.is_latest):
            kwargs["VersionId"] = version.version_id
        try:
            head = call(self.retry, self.client.head_object, **kwargs)
        except Exception as exc:
            if error_code(exc) in ("404", "NoSuchKey", "NoSuchVersion"):
                return None  # already gone: nothing to protect, and deleting it again is a no-op
            return f"lock state unreadable ({error_code(exc) or type(exc).__name__}); kept"
        if head.get("ObjectLockLegalHoldStatus") == "ON":
            return "legal hold"
        until = head.get("ObjectLockRetainUntilDate")
        if until is not None:
            if until.tzinfo is None:
                until = until.replace(tzinfo=UTC)
            if until > now:
                return f"{head.get('ObjectLockMode', 'retention')} retention until {until.isoformat()}"
        return None


def fetch_tags(
    client: Any, retry: RetryPolicy, bucket: str, versions: list[Version]
) -> dict[tuple[str, str], Any]:
    """Tags of each version; an unreadable tag set maps to None (the caller keeps the version)."""

    def one(version: Version) -> dict[str, str] | None:
        try:
            answer = call(
                retry, client.get_object_tagging, Bucket=bucket, Key=version.key, VersionId=version.version_id
            )
        except Exception:
            return None
        return {t["Key"]: t["Value"] for t in answer.get("TagSet", ())}

    if not versions:
        return {}
    with ThreadPoolExecutor(max_workers=min(WORKERS, len(versions))) as pool:
        return dict(zip((v.ref for v in versions), pool.map(one, versions), strict=True))


@dataclass
class DeleteReport:
    deleted: list[tuple[str, str]] = field(default_factory=list)
    #: (key, version id, error code, message) of what S3 refused or what could not be sent.
    failed: list[tuple[str, str, str, str]] = field(default_factory=list)


def delete_versions(
    client: Any,
    retry: RetryPolicy,
    bucket: str,
    refs: Iterable[tuple[str, str]],
    on_batch: Callable[[int], None] | None = None,
) -> DeleteReport:
    """Delete exact versions in batches of <= 1,000, retrying transient per-key errors.

    A whole-batch failure that outlasts the retries stops the deleting: the rest is reported as
    failed (not attempted), and a re-run picks it up.
    """
    report = DeleteReport()
    batch: list[tuple[str, str]] = []
    stopped: str | None = None

    def flush() -> None:
        nonlocal stopped
        pending = list(dict.fromkeys(batch))  # never the same version twice in one request
        batch.clear()
        if stopped:
            report.failed.extend((k, v, "NotAttempted", stopped) for k, v in pending)
            return
        for attempt in range(retry.attempts):
            try:
                answer = call(
                    retry,
                    client.delete_objects,
                    Bucket=bucket,
                    Delete={"Objects": [{"Key": k, "VersionId": v} for k, v in pending], "Quiet": False},
                )
            except Exception as exc:
                stopped = f"DeleteObjects failed after retries: {error_code(exc) or type(exc).__name__}"
                report.failed.extend((k, v, "NotAttempted", stopped) for k, v in pending)
                return
            done = {(d["Key"], d.get("VersionId") or "null") for d in answer.get("Deleted", ())}
            report.deleted.extend(ref for ref in pending if ref in done)
            if on_batch:
                on_batch(len(done))
            retry_refs: list[tuple[str, str]] = []
            for err in answer.get("Errors", ()):
                ref = (err.get("Key", ""), err.get("VersionId") or "null")
                code = err.get("Code", "")
                if code in _RETRYABLE_KEY_CODES and attempt + 1 < retry.attempts:
                    retry_refs.append(ref)
                else:
                    report.failed.append((*ref, code, err.get("Message", "")))
            if not retry_refs:
                return
            pending = retry_refs
            retry.backoff(attempt)

    for ref in refs:
        batch.append(ref)
        if len(batch) >= MAX_BATCH:
            flush()
    if batch:
        flush()
    return report


_RETRYABLE_KEY_CODES = frozenset(
    {"SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout", "OperationAborted"}
)

__all__ = [
    "DeleteReport",
    "LockInspector",
    "Version",
    "delete_versions",
    "fetch_tags",
    "is_retryable",
    "key_chunks",
    "list_pages",
]
