"""An erasure's manifest: one JSON line per deleted item, whose sha256 is the evidence digest.

A line is a JSON object with sorted keys, ASCII only (so a key holding `\\r`, `\\n`, U+2028 or any
other character stays on its line and survives any transport), and no spaces:

    {"ETag":"\\"9dd4...\\"","deletedAt":"2026-11-26T13:20:01.123456Z","key":"users/u1/a.jpg",
     "size":1,"store":"s3://pa-user-uploads/users/u1/","type":"version","versionId":"3HL4..."}

* `store`: the data store as the erasure names it (`s3://BUCKET/PREFIX` or `dynamodb:TABLE`); a
  replication destination is its own store.
* `key`: the S3 object key, or the DynamoDB item's key attributes (a JSON object, typed as
  DynamoDB writes them).
* `versionId`: the S3 version id (`null` for an unversioned object's only version); null for items.
* `size`, `ETag`: as the listing reported them before the delete (null for delete markers and items).
* `type`: `version`, `deleteMarker` or `item`.
* `deletedAt`: when S3/DynamoDB answered the delete (UTC); every line was then confirmed gone by a
  fresh read, or it would not be in the manifest.

Lines are ordered by (store, key, versionId), so the same deletions give the same bytes in any
order. `deletedSha256` in the status and the summary is `sha256(manifest bytes)`: anyone holding the
manifest recomputes it with `sha256sum`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MEDIA_TYPE = "application/x-ndjson"


@dataclass(frozen=True)
class Entry:
    """One deleted item."""

    store: str
    key: str | dict[str, Any]
    version_id: str | None
    type: str
    deleted_at: datetime
    size: int | None = None
    etag: str | None = None

    def sort_key(self) -> tuple[str, str, str]:
        key = self.key if isinstance(self.key, str) else json.dumps(self.key, sort_keys=True)
        return (self.store, key, self.version_id or "")

    def line(self) -> str:
        record = {
            "store": self.store,
            "key": self.key,
            "versionId": self.version_id,
            "size": self.size,
            "ETag": self.etag,
            "type": self.type,
            "deletedAt": self.deleted_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        }
        return json.dumps(record, sort_keys=True, ensure_ascii=True, separators=(",", ":"))


def render(entries: Iterable[Entry]) -> bytes:
    """The manifest's bytes: one line per entry, in (store, key, versionId) order, each ending in LF."""
    ordered = sorted(entries, key=Entry.sort_key)
    return "".join(e.line() + "\n" for e in ordered).encode("ascii")


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parse(data: bytes) -> list[dict[str, Any]]:
    """The manifest's records (for auditors and tests)."""
    return [json.loads(line) for line in data.decode("ascii").splitlines() if line]


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def file_name(request: str, finished: datetime, sha256: str) -> str:
    stamp = finished.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"erasure-{_UNSAFE.sub('_', request)}-{stamp}-{sha256[:16]}.jsonl"


def object_key(prefix: str, request: str, sha256: str) -> str:
    """Where the operator stores a manifest: content-addressed, so writing it twice changes nothing."""
    return f"{prefix}{_UNSAFE.sub('_', request)}/{sha256}.jsonl"


def write_dir(directory: Path, request: str, finished: datetime, data: bytes) -> Path:
    """Write the manifest into `directory` (created if needed); the name carries its digest."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / file_name(request, finished, digest(data))
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return path
