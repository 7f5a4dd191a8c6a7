"""boto3 clients on the test moto server, seeding helpers, and the server reset.

moto has no API to set an object's LastModified or an already-expired retention, so `backdate` and
`set_retention` reach into the in-process server's backend (ThreadedMotoServer runs in this
process). Everything else goes through boto3 over HTTP, as the reconcilers do.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

REGION = "cn-north-1"
ACCOUNT = "123456789012"
LOCATION = {"LocationConstraint": REGION}


def reset_moto(url: str) -> None:
    request = urllib.request.Request(f"{url}/moto-api/reset", method="POST", data=b"")
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 200


class Estate:
    """boto3 clients on the moto server plus seeding helpers."""

    def __init__(self, url: str) -> None:
        self.url = url
        kw: dict[str, Any] = {
            "endpoint_url": url,
            "region_name": REGION,
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
        }
        self.s3 = boto3.client("s3", **kw)
        self.ddb = boto3.client("dynamodb", **kw)
        self.cloudtrail = boto3.client("cloudtrail", **kw)
        self.kw = kw

    def bucket(self, name: str, *, versioned: bool = False, lock: bool = False, region: str = REGION) -> str:
        client = self.s3 if region == REGION else boto3.client("s3", **{**self.kw, "region_name": region})
        client.create_bucket(
            Bucket=name,
            CreateBucketConfiguration={"LocationConstraint": region},
            ObjectLockEnabledForBucket=lock,
        )
        if versioned and not lock:
            client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        return name

    def backdate(self, bucket: str, key: str, version_id: str, when: datetime) -> None:
        from moto.s3.models import s3_backends

        backend = s3_backends[ACCOUNT]["aws-cn"]
        for version in backend.buckets[bucket].keys.getlist(key):
            if version.version_id == version_id:
                version.last_modified = when.astimezone(UTC).replace(tzinfo=None)
                return
        raise KeyError((bucket, key, version_id))

    def set_retention(self, bucket: str, key: str, version_id: str, mode: str, until: datetime) -> None:
        """Give a version an Object Lock retention, including one already expired (S3 would refuse)."""
        from moto.s3.models import s3_backends

        for version in s3_backends[ACCOUNT]["aws-cn"].buckets[bucket].keys.getlist(key):
            if version.version_id == version_id:
                version.lock_mode = mode
                version.lock_until = until.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                return
        raise KeyError((bucket, key, version_id))

    def versions(self, bucket: str, prefix: str = "") -> set[tuple[str, str]]:
        found: set[tuple[str, str]] = set()
        for page in self.s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
            for entry in page.get("Versions", []) + page.get("DeleteMarkers", []):
                found.add((entry["Key"], entry["VersionId"]))
        return found

    def table(self, name: str, hash_key: str = "pk", range_key: str | None = None) -> str:
        schema = [{"AttributeName": hash_key, "KeyType": "HASH"}]
        attrs = [{"AttributeName": hash_key, "AttributeType": "S"}]
        if range_key:
            schema.append({"AttributeName": range_key, "KeyType": "RANGE"})
            attrs.append({"AttributeName": range_key, "AttributeType": "S"})
        self.ddb.create_table(
            TableName=name, KeySchema=schema, AttributeDefinitions=attrs, BillingMode="PAY_PER_REQUEST"
        )
        return name

    def items(self, table: str) -> list[dict[str, Any]]:
        return self.ddb.scan(TableName=table)["Items"]


def days_ago(days: float, now: datetime | None = None) -> datetime:
    return (now or datetime.now(UTC)) - timedelta(days=days)


def no_sleep(_seconds: float) -> None:
    """Retry backoff for tests: the retry count is what matters, not the wait."""


# -- pytest fixtures, shared by the reconciler and operator suites (imported by their conftests) --------


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """A moto server on 127.0.0.1 per test session (per xdist worker), spoken to over HTTP.

    The product has no dummy-credential fallback, so the tests set their own for moto: in the
    environment, which the reconcilers' clients and every `residency` subprocess inherit."""
    import os

    from moto.server import ThreadedMotoServer

    for var, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        os.environ.setdefault(var, value)

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def estate(moto_url: str) -> Estate:
    """A fresh, empty moto account."""
    reset_moto(moto_url)
    return Estate(moto_url)
