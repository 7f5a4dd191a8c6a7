"""Benchmark `residency audit` over 1,000 buckets on an embedded moto server, over HTTP.

Seeding goes through boto3 (not timed): N buckets in cn-north-1, every one tagged, encrypted with
a customer key, versioned and with a lifecycle rule, one in ten also logging and one in ten with a
bucket policy (so the reads that answer "not configured" and the ones that answer a setting are both
exercised). The audit then reads the whole account (both territory regions: S3, KMS, IAM, DynamoDB,
CloudTrail, RDS, log groups) through the same bounded pool and retry policy as `residency audit`,
and the rules judge it.

Calls are counted by the inventory itself (one per API call, retries included). A bucket's settings
need 11 reads: its location plus tags, encryption, policy, public access block, ACL, logging,
lifecycle, versioning, replication and Object Lock; the account-wide listings (ListBuckets, the
per-region lists, the caller identity) are shared by all buckets.

    python bench/audit_bench.py [--buckets 1000] [--workers 16]

Prints the figures, then each target with its figure and "met" or "MISSED"; exits 0 either way.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

REGION = "cn-north-1"
#: Settings reads per bucket: location + 10 settings (see the module docstring).
TARGET_CALLS_PER_BUCKET = 11.0
#: Account-wide calls (identity, listings) spread over the buckets may add at most this much.
TARGET_CALLS_PER_BUCKET_ALL = 11.1
#: Wall-clock seconds for the whole audit of 1,000 buckets on moto (reading and judging).
TARGET_SECONDS_PER_1K = 60.0


def server() -> tuple[object, str]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    return moto, f"http://{host}:{port}"


def seed(url: str, buckets: int) -> None:
    import boto3
    from botocore.config import Config

    config = Config(max_pool_connections=32)
    s3 = boto3.client("s3", endpoint_url=url, region_name=REGION, config=config)
    kms = boto3.client("kms", endpoint_url=url, region_name=REGION)
    key = kms.create_key(Description="bench")["KeyMetadata"]["Arn"]
    kms.enable_key_rotation(KeyId=key)
    s3.create_bucket(Bucket="bench-audit-logs", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_acl(Bucket="bench-audit-logs", ACL="log-delivery-write")

    def one(i: int) -> None:
        name = f"bench-bucket-{i:05d}"
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_bucket_tagging(
            Bucket=name, Tagging={"TagSet": [{"Key": "data-category", "Value": "user-uploads"}]}
        )
        s3.put_bucket_encryption(
            Bucket=name,
            ServerSideEncryptionConfiguration={
                "Rules": [
                    {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}
                ]
            },
        )
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_lifecycle_configuration(
            Bucket=name,
            LifecycleConfiguration={
                "Rules": [
                    {
                        "ID": "expire",
                        "Status": "Enabled",
                        "Filter": {"Prefix": ""},
                        "Expiration": {"Days": 365},
                    }
                ]
            },
        )
        if i % 10 == 0:
            s3.put_bucket_logging(
                Bucket=name,
                BucketLoggingStatus={
                    "LoggingEnabled": {"TargetBucket": "bench-audit-logs", "TargetPrefix": f"{name}/"}
                },
            )
            s3.put_bucket_policy(
                Bucket=name,
                Policy=(
                    '{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*", '
                    f'"Resource": ["arn:aws-cn:s3:::{name}", "arn:aws-cn:s3:::{name}/*"], '
                    '"Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}'
                ),
            )

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(one, range(buckets)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buckets", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=16)
    args = parser.parse_args()
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(var, "testing")

    moto, url = server()
    try:
        started = time.perf_counter()
        seed(url, args.buckets)
        seeded = time.perf_counter() - started

        from policies.audit import run_audit

        started = time.perf_counter()
        run = run_audit(endpoint_url=url, max_workers=args.workers, progress=False)
        elapsed = time.perf_counter() - started
    finally:
        moto.stop()  # type: ignore[attr-defined]

    inv = run.inventory
    buckets = args.buckets + 1
    s3_bucket_calls = sum(
        n for op, n in inv.calls_by_operation.items() if op.startswith("s3:") and op != "s3:list_buckets"
    )
    per_bucket = s3_bucket_calls / buckets
    per_bucket_all = inv.calls / buckets
    read_buckets = sum(1 for r in inv.resources if r.type == "aws:s3/bucket:Bucket")
    print(f"seeded {buckets} buckets in {seeded:.1f}s")
    print(
        f"audit: {elapsed:.2f}s for {read_buckets} buckets ({inv.seconds:.2f}s reading, "
        f"{elapsed - inv.seconds:.2f}s judging), {len(inv.resources)} resources, {len(run.result.findings)} findings, "
        f"{args.workers} workers"
    )
    print(f"calls: {inv.calls} in all; {s3_bucket_calls} per-bucket S3 reads; throttled {inv.throttled}")
    for op, n in sorted(inv.calls_by_operation.items(), key=lambda kv: -kv[1])[:14]:
        print(f"  {op:45s} {n}")
    print(
        f"calls per bucket: {per_bucket:.2f} (S3 settings reads), {per_bucket_all:.3f} (every call of the audit)"
    )
    per_1k = elapsed * 1000 / buckets
    targets = [
        ("S3 settings reads per bucket", per_bucket, TARGET_CALLS_PER_BUCKET),
        ("every call of the audit per bucket", per_bucket_all, TARGET_CALLS_PER_BUCKET_ALL),
        ("seconds per 1,000 buckets", per_1k, TARGET_SECONDS_PER_1K),
    ]
    for name, figure, target in targets:
        verdict = "met" if figure <= target else "MISSED"
        print(f"target: {name} <= {target:g}: {figure:.3f} {verdict}")
    if read_buckets != buckets:
        print(f"MISSED: {buckets - read_buckets} buckets were not read")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
