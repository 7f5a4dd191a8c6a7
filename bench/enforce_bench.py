"""Benchmark the retention sweep and an erasure against an embedded moto server over HTTP.

Seeding writes straight into moto's in-process backend (fast, not timed); the reconcilers then talk
to the server over HTTP exactly as they talk to S3. API calls are counted with botocore's
`before-call` event (one per API call; retries would show as extra HTTP requests).

Cases:
  unversioned  N objects, all past their rule's age: the floor is one list page plus one
               DeleteObjects per 1,000 objects. Run at N and N/2, so the calls that grow with the
               objects (target: at most 2.1 per 1,000 more objects) are told apart from the calls
               every sweep makes once whatever its size (target: at most 8: bucket region, tags,
               Object Lock configuration, lifecycle read and write, the verifying re-list); the
               all-in figure per 1,000 objects at N is printed too
  versioned    N versions over N/2 keys (current + noncurrent), 10% of keys with a delete marker
  locked       as versioned, in an Object Lock bucket: one HeadObject per deletion candidate
  erasure      one subject's 10 objects among N, unversioned and Object Lock buckets

    python bench/enforce_bench.py [--objects 10000]

Prints the figures, then each target with its figure and "met" or "MISSED"; exits 0 either way.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ACCOUNT, REGION = "123456789012", "cn-north-1"
#: S3 calls per 1,000 more objects examined by the unversioned sweep (list page + DeleteObjects).
TARGET_CALLS_PER_1K = 2.1
#: S3 calls an unversioned sweep makes once, whatever its size (region, tags, lock, lifecycle, verify).
TARGET_FIXED_CALLS = 8


def server() -> tuple[object, str]:
    import os

    from moto.server import ThreadedMotoServer

    # The product has no dummy-credential fallback: the bench sets its own for its moto server.
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(var, "testing")

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    srv = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    srv.start()
    host, port = srv.get_host_and_port()
    return srv, f"http://{host}:{port}"


def make_bucket(url: str, name: str, *, versioned: bool, lock: bool) -> None:
    import boto3

    s3 = boto3.client(
        "s3", endpoint_url=url, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
    )
    s3.create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION}, ObjectLockEnabledForBucket=lock
    )
    if versioned and not lock:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})


def seed(bucket: str, keys: list[str], versions_per_key: int, marker_every: int, age_days: int) -> int:
    """Write versions (and delete markers) into moto's backend directly; returns entries written."""
    from moto.s3.models import FakeDeleteMarker, s3_backends

    backend = s3_backends[ACCOUNT]["aws-cn"]
    old = (datetime.now(UTC) - timedelta(days=age_days)).replace(tzinfo=None)
    written = 0
    for i, key in enumerate(keys):
        for v in range(versions_per_key):
            fake = backend.put_object(bucket, key, b"x", disable_notification=True)
            fake.last_modified = old + timedelta(seconds=v)
            written += 1
        if marker_every and i % marker_every == 0:
            marker = FakeDeleteMarker(key=backend.buckets[bucket].keys[key])
            marker.last_modified = old + timedelta(seconds=versions_per_key)
            backend.buckets[bucket].keys.setlist(key, backend.buckets[bucket].keys.getlist(key) + [marker])
            written += 1
    return written


def retention_spec(bucket: str):  # noqa: ANN201
    from controllers.documents import parse_document
    from policies.settings import Settings

    raw = {
        "apiVersion": "residency.pushauction.com/v1alpha1",
        "kind": "RetentionPolicy",
        "metadata": {"name": "bench"},
        "spec": {
            "dataStores": [{"s3": {"bucket": bucket, "region": REGION}}],
            "rules": [{"name": "all", "match": {"prefix": "data/"}, "maxAgeDays": 30}],
        },
    }
    return parse_document(raw, source="bench", index=1, settings=Settings()).spec


def erasure_spec(bucket: str, subject: str):  # noqa: ANN201
    from controllers.documents import parse_document
    from policies.settings import Settings

    raw = {
        "apiVersion": "residency.pushauction.com/v1alpha1",
        "kind": "ErasureRequest",
        "metadata": {"name": "bench"},
        "spec": {
            "subjectId": subject,
            "dataStores": [{"s3": {"bucket": bucket, "region": REGION, "keyPrefix": "data/{subjectId}/"}}],
        },
    }
    return parse_document(raw, source="bench", index=1, settings=Settings()).spec


def sweep_case(url: str, name: str, n: int, *, versioned: bool, lock: bool) -> tuple[int, int]:
    """Run one sweep; returns (S3 calls, objects examined)."""
    from controllers.aws import ClientFactory
    from controllers.retention import reconcile_retention

    bucket = f"bench-{name}"
    make_bucket(url, bucket, versioned=versioned, lock=lock)
    per_key = 2 if versioned else 1
    keys = [f"data/u{i % 1000:04d}/obj{i:06d}" for i in range(n // per_key)]
    written = seed(bucket, keys, per_key, 10 if versioned else 0, age_days=40)
    clients = ClientFactory(endpoint_url=url)
    spec = retention_spec(bucket)
    start = time.perf_counter()
    result = reconcile_retention(spec, name="bench", clients=clients, now=datetime.now(UTC))
    elapsed = time.perf_counter() - start
    examined = result.total("examined")
    total = clients.total_calls("s3")
    lifecycle = (
        clients.calls["s3.GetBucketLifecycleConfiguration"]
        + clients.calls["s3.PutBucketLifecycleConfiguration"]
    )
    sweep = total - lifecycle
    breakdown = ", ".join(f"{k.split('.', 1)[1]} {v}" for k, v in sorted(clients.calls.items()))
    print(
        f"{name:<12} {written:>7} entries  examined {examined:>7}  deleted {result.total('deleted'):>7}  "
        f"{elapsed:6.2f} s  {examined / elapsed:8.0f} obj/s  "
        f"S3 calls/1k {1000 * total / examined:6.2f} ({1000 * sweep / examined:.2f} without lifecycle)"
    )
    print(f"{'':<12} calls: {breakdown}; compliant={result.compliant}")
    return total, examined


def erasure_case(url: str, name: str, n: int, *, lock: bool) -> None:
    from controllers.aws import ClientFactory
    from controllers.erasure import reconcile_erasure

    bucket = f"bench-erase-{name}"
    make_bucket(url, bucket, versioned=lock, lock=lock)
    keys = [f"data/u{i % 1000:04d}/obj{i:06d}" for i in range(n)]
    seed(bucket, keys, 1, 0, age_days=1)
    clients = ClientFactory(endpoint_url=url)
    start = time.perf_counter()
    result = reconcile_erasure(
        erasure_spec(bucket, "u0042"), name="bench", clients=clients, now=datetime.now(UTC)
    )
    elapsed = time.perf_counter() - start
    breakdown = ", ".join(f"{k.split('.', 1)[1]} {v}" for k, v in sorted(clients.calls.items()))
    print(
        f"erasure/{name:<4} 1 subject among {n} objects: examined {result.total('examined')}, "
        f"deleted {result.total('deleted')}, {clients.total_calls('s3')} S3 calls ({breakdown}), {elapsed:.2f} s"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=10_000)
    args = parser.parse_args()
    srv, url = server()
    try:
        print(
            f"moto server {url}; {args.objects} object versions per case; all sweep candidates are 40 days old"
        )
        calls_full, seen_full = sweep_case(url, "unversioned", args.objects, versioned=False, lock=False)
        calls_half, seen_half = sweep_case(
            url, "unversioned-half", args.objects // 2, versioned=False, lock=False
        )
        sweep_case(url, "versioned", args.objects, versioned=True, lock=False)
        sweep_case(url, "locked", args.objects, versioned=True, lock=True)
        erasure_case(url, "plain", args.objects, lock=False)
        erasure_case(url, "lock", args.objects, lock=True)
    finally:
        srv.stop()  # type: ignore[attr-defined]
    marginal = 1000 * (calls_full - calls_half) / max(seen_full - seen_half, 1)
    fixed = calls_full - marginal * seen_full / 1000
    verdict = "met" if marginal <= TARGET_CALLS_PER_1K else "MISSED"
    print(
        f"target: unversioned sweep <= {TARGET_CALLS_PER_1K} S3 calls per 1,000 more objects examined: "
        f"{marginal:.2f} (from {seen_half} to {seen_full} objects): {verdict}"
    )
    verdict = "met" if fixed <= TARGET_FIXED_CALLS else "MISSED"
    print(
        f"target: unversioned sweep <= {TARGET_FIXED_CALLS} S3 calls made once per sweep: {fixed:.1f}: {verdict}"
    )
    print(
        f"all in: {1000 * calls_full / seen_full:.2f} S3 calls per 1,000 objects at {seen_full} objects "
        f"({calls_full} calls)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
