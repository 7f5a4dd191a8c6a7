"""An AccessRequest's package: its layout, its manifest, and the one writer that puts it and checks it.

A package lives under its root, `PREFIX<request name>/<package id>/` in `spec.deliverTo.bucket`
(the id is `sha256(request uid or name, subject id)[:16]`, so the same request always writes to the
same place and a re-run never makes a second package):

    objects/<sha256(store, key, versionId)>   each current object of the subject, its bytes as S3 served them
    items/<table>@<region>.json               the subject's DynamoDB items of one store (DynamoDB JSON)
    manifest.json                             what the package holds (below)
    _COMPLETE.json                            written last, once the package listed back equal to the manifest

Every put names the customer-managed key: `ServerSideEncryption=aws:kms`, `SSEKMSKeyId=<the key's
ARN>`, and S3's answer must name the same key, or the package is not complete. Each put also sends
the body's `ChecksumSHA256`, which S3 checks on arrival.

**The manifest** is one JSON object, keys sorted, ASCII only, no spaces, ending in LF:

* `entries`: one per object or item of the subject, ordered by (store, key, versionId):
  `{store, type: object|item, key, versionId, size, ETag, lastModified, sha256, packageKey}`;
  for an object `key` is its S3 key, `size`/`ETag`/`lastModified`/`versionId` as the store listed
  them, `sha256` of the bytes delivered; for an item `key` is its key attributes (DynamoDB JSON),
  `size` and `sha256` are those of the item's canonical JSON (as it appears in its items file),
  `versionId`/`ETag`/`lastModified` null.
* `files`: one per package object other than the manifest: `{key, size, sha256, ETag}` (key
  relative to the root, ETag as S3 answered the put).
* `subjectId`, `request`, `packageId`, `verifiedBy`, `totals` (`objects`, `items`, `bytes`).

**The package digest** (`status.evidence.packageSha256`) is `sha256(manifest.json bytes)`: anyone
holding the package recomputes it with `sha256sum manifest.json`, then each file's sha256 from the
manifest's `files`, and so each object and item.
"""

from __future__ import annotations

import base64
import hashlib
import json
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from controllers.aws import ClientFactory, call, error_code
from controllers.results import StoreResult

FORMAT = "residency.pushauction.com/access-package/v1"
MANIFEST = "manifest.json"
MARKER = "_COMPLETE.json"
#: Bodies larger than this are spooled to disk while they are hashed (the pod has an emptyDir /tmp).
SPOOL_BYTES = 16 << 20
#: The largest object one PutObject can deliver.
MAX_OBJECT_BYTES = 5 * 1024**3
WORKERS = 8


def canonical(value: Any) -> bytes:
    """JSON with sorted keys, ASCII only, no spaces: the same value always gives the same bytes."""
    return json.dumps(value, sort_keys=True, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def package_id(request: str, subject_id: str) -> str:
    """Deterministic per request (its uid when known, else namespace/name) and subject."""
    return sha256(f"{request}\n{subject_id}".encode())[:16]


def dynamodb_json(value: Any) -> Any:
    """A low-level DynamoDB item or key as JSON (binary values base64, as the AWS CLI writes them)."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return {k: dynamodb_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [dynamodb_json(v) for v in value]
    return value


def _iso(when: datetime | None) -> str | None:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z") if when else None


@dataclass
class ObjectEntry:
    """One current S3 object of the subject, to be copied into the package."""

    store: str
    region: str
    bucket: str
    key: str
    version_id: str
    size: int
    etag: str | None
    last_modified: datetime
    sha256: str | None = None

    @property
    def package_key(self) -> str:
        return "objects/" + sha256(f"{self.store}\0{self.key}\0{self.version_id}".encode())

    def record(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "type": "object",
            "key": self.key,
            "versionId": self.version_id,
            "size": self.size,
            "ETag": self.etag,
            "lastModified": _iso(self.last_modified),
            "sha256": self.sha256,
            "packageKey": self.package_key,
        }


@dataclass
class ItemsFile:
    """The subject's items of one DynamoDB store, written as one JSON file."""

    store: str
    table: str
    region: str
    partition_key: str
    key_names: list[str]
    items: list[dict[str, Any]] = field(default_factory=list)

    @property
    def package_key(self) -> str:
        return f"items/{self.table}@{self.region}.json"

    def _ordered(self) -> list[tuple[bytes, dict[str, Any]]]:
        rows = []
        for item in self.items:
            key = {n: dynamodb_json(item[n]) for n in self.key_names if n in item}
            rows.append((canonical(key), dynamodb_json(item)))
        return sorted(rows, key=lambda row: row[0])

    def body(self) -> bytes:
        items = [item for _, item in self._ordered()]
        head = {"store": self.store, "table": self.table, "region": self.region}
        return canonical({**head, "partitionKey": self.partition_key, "items": items}) + b"\n"

    def records(self) -> list[dict[str, Any]]:
        out = []
        for key_bytes, item in self._ordered():
            data = canonical(item)
            out.append(
                {
                    "store": self.store,
                    "type": "item",
                    "key": json.loads(key_bytes),
                    "versionId": None,
                    "size": len(data),
                    "ETag": None,
                    "lastModified": None,
                    "sha256": sha256(data),
                    "packageKey": self.package_key,
                }
            )
        return out

    @property
    def size(self) -> int:
        return sum(len(canonical(dynamodb_json(item))) for item in self.items)


@dataclass
class Package:
    """Everything one AccessRequest delivers, planned by reading only."""

    request: str
    package_id: str
    subject_id: str
    verified_by: dict[str, str]
    region: str
    bucket: str
    root: str
    key_arn: str
    objects: list[ObjectEntry] = field(default_factory=list)
    tables: list[ItemsFile] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.objects) + sum(len(t.items) for t in self.tables)

    @property
    def size(self) -> int:
        return sum(o.size for o in self.objects) + sum(t.size for t in self.tables)

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.root}"

    def manifest(self, files: list[dict[str, Any]]) -> bytes:
        """The manifest's bytes (after the objects are written: it records their sha256 and ETags)."""
        entries = [o.record() for o in self.objects] + [r for t in self.tables for r in t.records()]
        entries.sort(key=lambda e: (e["store"], canonical(e["key"]), e["versionId"] or ""))
        body = {
            "format": FORMAT,
            "request": self.request,
            "packageId": self.package_id,
            "subjectId": self.subject_id,
            "verifiedBy": self.verified_by,
            "entries": entries,
            "files": sorted(files, key=lambda f: f["key"]),
            "totals": {
                "objects": len(self.objects),
                "items": sum(len(t.items) for t in self.tables),
                "bytes": self.size,
            },
        }
        return canonical(body) + b"\n"


@dataclass
class Delivery:
    """What the writer did: the package digest, and whether it was already there (a re-run)."""

    sha256: str | None = None
    manifest_key: str = ""
    files: int = 0
    already_complete: bool = False
    completed_at: str | None = None
    #: The manifest's totals: objects, items, bytes.
    totals: dict[str, int] = field(default_factory=dict)


# --- the writer: every put of an AccessRequest is in this section ----------------------------------


def deliver(package: Package, clients: ClientFactory, out: StoreResult) -> Delivery:
    """Write the package (unless its completion marker is there), list it back, then mark it complete.

    Errors go to `out`; the marker is written only when every put named the key and the listing equals
    the manifest, so an interrupted or failed delivery is never reported complete, and a re-run
    overwrites the same keys."""
    client = clients.client("s3", package.region)
    existing = _completed(client, clients, package, out)
    if existing is not None or out.errors:
        return existing or Delivery()
    files: list[dict[str, Any]] = []
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        results = list(pool.map(lambda o: _copy_object(client, clients, package, o, out), package.objects))
    files += [r for r in results if r is not None]
    for table in package.tables:
        body = table.body()
        etag = _put(client, clients, package, table.package_key, body, out, "application/json")
        if etag is not None:
            files.append({"key": table.package_key, "size": len(body), "sha256": sha256(body), "ETag": etag})
    if out.errors:
        return Delivery()
    manifest = package.manifest(files)
    digest = sha256(manifest)
    manifest_etag = _put(client, clients, package, MANIFEST, manifest, out, "application/json")
    if manifest_etag is None:
        return Delivery()
    expected = {f["key"]: (f["size"], f["ETag"]) for f in files}
    expected[MANIFEST] = (len(manifest), manifest_etag)
    if not _listing_matches(client, clients, package, expected, out):
        return Delivery()
    completed = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    marker = {"packageSha256": digest, "manifest": MANIFEST, "files": len(expected), "completedAt": completed}
    if _put(client, clients, package, MARKER, canonical(marker) + b"\n", out, "application/json") is None:
        return Delivery()
    out.actions.append(
        f"delivered {len(package.objects)} object(s) and {package.count - len(package.objects)} item(s) "
        f"({package.size} bytes) to {package.location}, encrypted with {package.key_arn}; listed back "
        f"and compared with the manifest (sha256 {digest})"
    )
    totals = {
        "objects": len(package.objects),
        "items": package.count - len(package.objects),
        "bytes": package.size,
    }
    return Delivery(digest, package.root + MANIFEST, len(expected), False, completed, totals)


def _put(
    client: Any,
    clients: ClientFactory,
    package: Package,
    key: str,
    body: Any,
    out: StoreResult,
    content_type: str,
    checksum: str | None = None,
) -> str | None:
    """One SSE-KMS put with the named key; the ETag, or None (an error in `out`)."""
    if checksum is None:
        checksum = base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")

    def put_object(**kwargs: Any) -> Any:
        if hasattr(body, "seek"):
            body.seek(0)  # a retried put sends the whole body again
        return client.put_object(**kwargs)

    try:
        answer = call(
            clients.retry,
            put_object,
            Bucket=package.bucket,
            Key=package.root + key,
            Body=body,
            ContentType=content_type,
            ServerSideEncryption="aws:kms",
            SSEKMSKeyId=package.key_arn,
            ChecksumSHA256=checksum,
        )
    except Exception as exc:
        out.error(f"cannot write {package.location}{key} ({error_code(exc) or type(exc).__name__}: {exc})")
        return None
    if answer.get("ServerSideEncryption") != "aws:kms" or answer.get("SSEKMSKeyId") != package.key_arn:
        out.error(
            f"{package.location}{key} was stored with {answer.get('ServerSideEncryption')!r} key "
            f"{answer.get('SSEKMSKeyId')!r}, not {package.key_arn}; the package is not complete"
        )
        return None
    return str(answer.get("ETag"))


def _copy_object(
    client: Any, clients: ClientFactory, package: Package, entry: ObjectEntry, out: StoreResult
) -> dict[str, Any] | None:
    """Read one current version (by its version id) and put its bytes into the package."""
    source = clients.client("s3", entry.region)
    kwargs: dict[str, Any] = {"Bucket": entry.bucket, "Key": entry.key}
    if entry.version_id != "null":
        kwargs["VersionId"] = entry.version_id
    digest = hashlib.sha256()
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        try:
            stream = call(clients.retry, source.get_object, **kwargs)["Body"]
            for chunk in iter(lambda: stream.read(1 << 20), b""):
                digest.update(chunk)
                spool.write(chunk)
        except Exception as exc:
            out.error(
                f"cannot read s3://{entry.bucket}/{entry.key}@{entry.version_id} "
                f"({error_code(exc) or type(exc).__name__}); nothing of the package is marked complete"
            )
            return None
        size = spool.tell()
        if size != entry.size:
            out.error(
                f"s3://{entry.bucket}/{entry.key}@{entry.version_id} read {size} bytes, listed as {entry.size}; "
                "run the request again"
            )
            return None
        spool.seek(0)
        entry.sha256 = digest.hexdigest()
        checksum = base64.b64encode(digest.digest()).decode("ascii")
        etag = _put(
            client, clients, package, entry.package_key, spool, out, "application/octet-stream", checksum
        )
    if etag is None:
        return None
    return {"key": entry.package_key, "size": size, "sha256": entry.sha256, "ETag": etag}


def _listing(client: Any, clients: ClientFactory, package: Package) -> dict[str, tuple[int, str]]:
    """Every object under the package root: relative key -> (size, ETag)."""
    found: dict[str, tuple[int, str]] = {}
    kwargs: dict[str, Any] = {"Bucket": package.bucket, "Prefix": package.root}
    while True:
        page = call(clients.retry, client.list_objects_v2, **kwargs)
        for entry in page.get("Contents", ()):
            found[entry["Key"][len(package.root) :]] = (int(entry["Size"]), str(entry.get("ETag")))
        if not page.get("IsTruncated"):
            return found
        kwargs["ContinuationToken"] = page["NextContinuationToken"]


def _listing_matches(
    client: Any,
    clients: ClientFactory,
    package: Package,
    expected: dict[str, tuple[int, str]],
    out: StoreResult,
) -> bool:
    """The package as listed back equals the manifest: the same keys, sizes and ETags, nothing more."""
    try:
        listed = _listing(client, clients, package)
    except Exception as exc:
        out.error(
            f"cannot list {package.location} back ({error_code(exc) or type(exc).__name__}); not complete"
        )
        return False
    listed.pop(MARKER, None)
    missing = sorted(set(expected) - set(listed))
    extra = sorted(set(listed) - set(expected))
    differ = sorted(k for k in set(expected) & set(listed) if listed[k] != expected[k])
    for key in missing[:10]:
        out.error(f"{package.location}{key} is in the manifest but not in the package")
    for key in differ[:10]:
        out.error(
            f"{package.location}{key} is listed as {listed[key]} (size, ETag), the manifest says {expected[key]}"
        )
    for key in extra[:10]:
        out.error(
            f"{package.location}{key} is not in the manifest (left by an interrupted run whose data has "
            "since changed?); remove it and run the request again"
        )
    return not (missing or extra or differ)


def delivered(package: Package, clients: ClientFactory, out: StoreResult) -> Delivery | None:
    """The package, when it was already delivered (read-only: a dry run asks this instead of `deliver`)."""
    return _completed(clients.client("s3", package.region), clients, package, out)


def _completed(client: Any, clients: ClientFactory, package: Package, out: StoreResult) -> Delivery | None:
    """A package already delivered (its marker is there): checked again, never written twice."""
    try:
        raw = call(clients.retry, client.get_object, Bucket=package.bucket, Key=package.root + MARKER)
    except Exception as exc:
        if error_code(exc) in ("NoSuchKey", "404", "NotFound"):
            return None
        out.error(f"cannot read {package.location}{MARKER} ({error_code(exc) or type(exc).__name__})")
        return None
    try:
        marker = json.loads(raw["Body"].read())
        manifest = call(clients.retry, client.get_object, Bucket=package.bucket, Key=package.root + MANIFEST)
        data = manifest["Body"].read()
        body = json.loads(data)
        files, totals = body["files"], body["totals"]
    except Exception as exc:  # noqa: BLE001 - a damaged package is reported, never rewritten
        out.error(f"the delivered package {package.location} cannot be read back ({type(exc).__name__})")
        return None
    digest = sha256(data)
    if marker.get("packageSha256") != digest:
        out.error(f"{package.location}{MANIFEST} no longer has the sha256 its completion marker records")
        return None
    expected = {f["key"]: (f["size"], f["ETag"]) for f in files}
    expected[MANIFEST] = (len(data), str(manifest.get("ETag")))
    if not _listing_matches(client, clients, package, expected, out):
        return None
    out.actions.append(
        f"the package at {package.location} was already delivered (sha256 {digest}); nothing written"
    )
    return Delivery(digest, package.root + MANIFEST, len(expected), True, marker.get("completedAt"), totals)
