"""S3 building blocks shared by retention and erasure: version listing, lock checks, batch deletes.

Listing is version-aware (`ListObjectVersions`, 1,000 per page) and yields whole key groups, so a
caller sees every version and delete marker of a key together even when they span two pages.
Object Lock state is read with `HeadObject` (moto does not implement `GetObjectRetention`) and only
when the bucket has Object Lock enabled, which costs one `GetObjectLockConfiguration` per bucket,
asked once the first deletion candidate appears.
An unreadable lock state counts as held (fail closed) and is also a permission finding
(`results.PermissionHold`), never a quiet "compliant". Deletes never send
`BypassGovernanceRetention`, so S3 itself refuses a locked version even if a hold appears mid-sweep.

Keys that an XML 1.0 request body cannot carry faithfully (a raw `\\r` is read back as `\\n`, C0
controls and non-characters are not XML at all, and line-end characters are normalised by some
parsers) are deleted one at a time with `DeleteObject`, whose key travels percent-encoded in the URL
path; every other key goes in `DeleteObjects` batches. A (key, version) pair that a batch answer
lists neither as deleted nor as an error is an error. Nothing here is believed without a fresh read:
`present_versions` re-lists what was targeted, and the caller counts only what is gone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from controllers.aws import RetryPolicy, call, error_code, is_retryable
from controllers.results import PermissionHold

PAGE_SIZE = 1000
#: S3's DeleteObjects limit.
MAX_BATCH = 1000
#: Parallel HeadObject / GetObjectTagging calls (boto3 clients are thread-safe).
WORKERS = 16
#: Up to this many distinct keys are re-listed one key at a time after a delete; more, as one range.
VERIFY_PER_KEY = 64
#: Error codes that mean "this version is not there" (HeadObject answers 404 without a code body).
GONE_CODES = frozenset({"404", "NoSuchKey", "NoSuchVersion"})


def _xml_char(ch: str) -> bool:
    """XML 1.0's `Char` production."""
    o = ord(ch)
    return o in (0x9, 0xA, 0xD) or 0x20 <= o <= 0xD7FF or 0xE000 <= o <= 0xFFFD or 0x10000 <= o <= 0x10FFFF


#: Characters a parser may rewrite even though XML 1.0 allows them: CR (end-of-line handling turns a
#: raw CR into LF), LF and TAB (whitespace), DEL and C1 controls, NEL and the Unicode line/paragraph
#: separators (XML 1.1 end-of-line characters).
_NORMALISED = frozenset("\r\n\t\x7f\u0085\u2028\u2029") | frozenset(chr(c) for c in range(0x80, 0xA0))


def batch_safe(key: str) -> bool:
    """True when the key survives a trip through a DeleteObjects XML body unchanged."""
    return all(_xml_char(ch) and ch not in _NORMALISED for ch in key)


def bucket_region(client: Any, retry: RetryPolicy, bucket: str) -> str:
    """Where the bucket really is (GetBucketLocation; S3 answers null for us-east-1, EU for eu-west-1)."""
    answer = call(retry, client.get_bucket_location, Bucket=bucket)
    location = answer.get("LocationConstraint") or "us-east-1"
    return "eu-west-1" if location == "EU" else location


@dataclass(frozen=True, slots=True)
class Version:
    key: str
    version_id: str
    last_modified: datetime
    is_latest: bool
    delete_marker: bool
    #: From the listing (versions only): what the manifest records of a deleted version.
    size: int | None = None
    etag: str | None = None

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
        size=None if marker else entry.get("Size"),
        etag=None if marker else entry.get("ETag"),
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
            if error_code(exc) in GONE_CODES:
                return None  # already gone: nothing to protect, and deleting it again is a no-op
            return PermissionHold(f"lock state unreadable ({error_code(exc) or type(exc).__name__}); kept")
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
    #: What S3 answered as deleted (to be verified by a fresh read before anyone believes it).
    deleted: list[tuple[str, str]] = field(default_factory=list)
    #: (key, version id, error code, message) of what S3 refused, left unaccounted, or was not sent.
    failed: list[tuple[str, str, str, str]] = field(default_factory=list)
    #: When each answer came back (UTC), for the manifest's `deletedAt`.
    answered_at: dict[tuple[str, str], datetime] = field(default_factory=dict)


def delete_versions(
    client: Any,
    retry: RetryPolicy,
    bucket: str,
    refs: Iterable[tuple[str, str]],
    on_batch: Callable[[int], None] | None = None,
) -> DeleteReport:
    """Delete exact versions: XML-safe keys in batches of <= 1,000, the others one at a time.

    Transient per-key errors are retried. A whole-batch failure that outlasts the retries stops the
    deleting: the rest is reported as failed (not attempted), and a re-run picks it up.
    """
    report = DeleteReport()
    batch: list[tuple[str, str]] = []
    singles: list[tuple[str, str]] = []
    stopped: str | None = None

    def answered(refs: Iterable[tuple[str, str]]) -> None:
        when = datetime.now(UTC)
        for ref in refs:
            report.answered_at[ref] = when

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
            asked = set(pending)
            done = {(d["Key"], d.get("VersionId") or "null") for d in answer.get("Deleted", ())} & asked
            ok = [ref for ref in pending if ref in done]
            report.deleted.extend(ok)
            answered(ok)
            if on_batch:
                on_batch(len(ok))
            retry_refs: list[tuple[str, str]] = []
            refused: set[tuple[str, str]] = set()
            for err in answer.get("Errors", ()):
                ref = (err.get("Key", ""), err.get("VersionId") or "null")
                if ref not in asked or ref in done or ref in refused:
                    continue  # an answer about a pair we did not ask for is no answer
                refused.add(ref)
                code = err.get("Code", "")
                if code in _RETRYABLE_KEY_CODES and attempt + 1 < retry.attempts:
                    retry_refs.append(ref)
                else:
                    report.failed.append((*ref, code, err.get("Message", "")))
            for ref in pending:
                if ref not in done and ref not in refused:
                    report.failed.append(
                        (
                            *ref,
                            "Unaccounted",
                            "the DeleteObjects answer listed it neither as deleted nor as an error",
                        )
                    )
            if not retry_refs:
                return
            pending = retry_refs
            retry.backoff(attempt)

    def delete_one(ref: tuple[str, str]) -> None:
        nonlocal stopped
        key, version_id = ref
        if stopped:
            report.failed.append((key, version_id, "NotAttempted", stopped))
            return
        try:
            call(retry, client.delete_object, Bucket=bucket, Key=key, VersionId=version_id)
        except Exception as exc:
            code = error_code(exc) or type(exc).__name__
            if is_retryable(exc):
                stopped = f"DeleteObject failed after retries: {code}"
                report.failed.append((key, version_id, "NotAttempted", stopped))
            else:
                report.failed.append((key, version_id, code, str(exc)))
            return
        report.deleted.append(ref)
        answered([ref])
        if on_batch:
            on_batch(1)

    for ref in refs:
        if not batch_safe(ref[0]):
            singles.append(ref)
            continue
        batch.append(ref)
        if len(batch) >= MAX_BATCH:
            flush()
    if batch:
        flush()
    for ref in dict.fromkeys(singles):
        delete_one(ref)
    return report


def present_versions(
    client: Any,
    retry: RetryPolicy,
    bucket: str,
    refs: Iterable[tuple[str, str]],
    scope: str | None = None,
) -> dict[tuple[str, str], Version]:
    """Which of `refs` a fresh read still finds (with what the listing says of them).

    `scope`, a prefix every ref is under, is re-listed whole (an erasure's subject prefix). Without
    it, a few keys are re-listed one by one and many as one range of their common prefix. A key that
    an XML listing could misreport (see `batch_safe`) is also asked for by `HeadObject` with its
    version id in the URL, and counts as present unless S3 answers that it is not there.
    """
    wanted = set(refs)
    if not wanted:
        return {}
    found: dict[tuple[str, str], Version] = {}
    keys = sorted({k for k, _ in wanted})
    if scope is not None:
        for page in list_pages(client, retry, bucket, scope):
            found.update((v.ref, v) for v in page if v.ref in wanted)
    elif len(keys) <= VERIFY_PER_KEY:
        with ThreadPoolExecutor(max_workers=min(WORKERS, len(keys))) as pool:
            for versions in pool.map(lambda k: _versions_of_key(client, retry, bucket, k), keys):
                found.update((v.ref, v) for v in versions if v.ref in wanted)
    else:
        import os

        last = keys[-1]
        for page in list_pages(client, retry, bucket, os.path.commonprefix(keys)):
            found.update((v.ref, v) for v in page if v.ref in wanted)
            if page and page[-1].key > last:
                break
    unsafe = [ref for ref in wanted if ref not in found and not batch_safe(ref[0]) and ref[1] != "null"]
    if unsafe:
        with ThreadPoolExecutor(max_workers=min(WORKERS, len(unsafe))) as pool:
            for ref, there in zip(
                unsafe, pool.map(lambda r: _head_finds(client, retry, bucket, r), unsafe), strict=True
            ):
                if there:
                    found[ref] = Version(ref[0], ref[1], datetime.now(UTC), False, False)
    return found


def _versions_of_key(client: Any, retry: RetryPolicy, bucket: str, key: str) -> list[Version]:
    """Every version and marker of exactly `key` (the listing of prefix `key` starts with them)."""
    out: list[Version] = []
    for page in list_pages(client, retry, bucket, key):
        out += [v for v in page if v.key == key]
        if any(v.key != key for v in page):
            break
    return out


def _head_finds(client: Any, retry: RetryPolicy, bucket: str, ref: tuple[str, str]) -> bool:
    try:
        call(retry, client.head_object, Bucket=bucket, Key=ref[0], VersionId=ref[1])
    except Exception as exc:
        code = error_code(exc)
        if code in GONE_CODES:
            return False
        # 405: the version id names a delete marker that is still there; anything else: unknown.
        return True
    return True


_RETRYABLE_KEY_CODES = frozenset(
    {"SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout", "OperationAborted"}
)

__all__ = [
    "DeleteReport",
    "LockInspector",
    "Version",
    "batch_safe",
    "bucket_region",
    "delete_versions",
    "fetch_tags",
    "is_retryable",
    "key_chunks",
    "list_pages",
    "present_versions",
]
