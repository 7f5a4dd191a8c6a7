"""Every copy erased: an ErasureRequest follows the replication configuration of the buckets it names."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
from moto_estate import Estate, no_sleep

from controllers import manifest
from controllers.aws import ClientFactory, RetryPolicy
from controllers.documents import parse_document
from controllers.erasure import reconcile_erasure
from policies.settings import Settings

SOURCE, DR, ARCHIVE = "pa-user-uploads", "pa-user-uploads-dr", "pa-user-uploads-archive"
ROLE = "arn:aws-cn:iam::123456789012:role/replication"


def client(estate: Estate, region: str) -> Any:
    return boto3.client("s3", **{**estate.kw, "region_name": region})


def replicate(estate: Estate, source: str, region: str, *destinations: str) -> None:
    rules = [
        {
            "ID": f"to-{i}",
            "Priority": i,
            "Status": "Enabled" if i == 0 else "Disabled",
            "Filter": {"Prefix": ""},
            "DeleteMarkerReplication": {"Status": "Disabled"},
            "Destination": {"Bucket": arn},
        }
        for i, arn in enumerate(destinations)
    ]
    client(estate, region).put_bucket_replication(
        Bucket=source, ReplicationConfiguration={"Role": ROLE, "Rules": rules}
    )


def copies(estate: Estate, bucket: str, region: str, subject: str = "u1") -> set[str]:
    s3 = client(estate, region)
    for key in ("a.jpg", "b.jpg"):
        s3.put_object(Bucket=bucket, Key=f"users/{subject}/{key}", Body=b"x")
        s3.put_object(Bucket=bucket, Key=f"users/{subject}/{key}", Body=b"y")
    s3.put_object(Bucket=bucket, Key="users/u2/keep.jpg", Body=b"x")
    return {f"users/{subject}/a.jpg", f"users/{subject}/b.jpg"}


def versions(estate: Estate, bucket: str, region: str, prefix: str = "") -> set[tuple[str, str]]:
    s3 = client(estate, region)
    out: set[tuple[str, str]] = set()
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        for entry in page.get("Versions", []) + page.get("DeleteMarkers", []):
            out.add((entry["Key"], entry["VersionId"]))
    return out


def estate_with_dr(estate: Estate) -> None:
    estate.bucket(SOURCE, versioned=True)
    estate.bucket(DR, versioned=True, region="cn-northwest-1")
    estate.bucket(ARCHIVE, versioned=True, region="cn-northwest-1")
    replicate(estate, SOURCE, "cn-north-1", f"arn:aws-cn:s3:::{DR}")
    replicate(estate, DR, "cn-northwest-1", f"arn:aws-cn:s3:::{ARCHIVE}")  # a chain: DR -> archive
    for bucket, region in ((SOURCE, "cn-north-1"), (DR, "cn-northwest-1"), (ARCHIVE, "cn-northwest-1")):
        copies(estate, bucket, region)


def erase(estate: Estate, *, dry_run: bool = False, settings: Settings | None = None):  # noqa: ANN201
    doc = {
        "apiVersion": "residency.pushauction.com/v1alpha1",
        "kind": "ErasureRequest",
        "metadata": {"name": "erase-u1"},
        "spec": {
            "subjectId": "u1",
            "dataStores": [
                {"s3": {"bucket": SOURCE, "region": "cn-north-1", "keyPrefix": "users/{subjectId}/"}}
            ],
        },
    }
    spec = parse_document(doc, source="t", index=1, settings=Settings()).spec
    clients = ClientFactory(endpoint_url=estate.url, retry=RetryPolicy(sleep=no_sleep))
    return reconcile_erasure(
        spec, name="erase-u1", clients=clients, now=datetime.now(UTC), dry_run=dry_run, settings=settings
    )


def test_the_subject_is_erased_in_every_replication_destination_with_results_per_store(
    estate: Estate,
) -> None:
    estate_with_dr(estate)

    result = erase(estate)

    assert result.compliant, result.all_errors() + result.all_findings()
    for bucket, region in ((SOURCE, "cn-north-1"), (DR, "cn-northwest-1"), (ARCHIVE, "cn-northwest-1")):
        assert versions(estate, bucket, region, "users/u1/") == set(), bucket
        assert {k for k, _ in versions(estate, bucket, region)} == {"users/u2/keep.jpg"}, bucket
    stores = result.evidence["stores"]
    assert [(s["store"], s.get("replicaOf"), s["region"], s["deleted"]) for s in stores] == [
        (f"s3://{SOURCE}/users/u1/", None, "cn-north-1", 4),
        (f"s3://{DR}/users/u1/", f"s3://{SOURCE}/users/u1/", "cn-northwest-1", 4),
        (f"s3://{ARCHIVE}/users/u1/", f"s3://{DR}/users/u1/", "cn-northwest-1", 4),
    ]
    records = manifest.parse(result.manifest or b"")
    assert len(records) == 12 and {r["store"] for r in records} == {s["store"] for s in stores}

    again = erase(estate)
    assert again.compliant and again.total("deleted") == 0


def test_a_dry_run_reports_the_copies_it_would_erase(estate: Estate) -> None:
    estate_with_dr(estate)
    before = versions(estate, DR, "cn-northwest-1")

    result = erase(estate, dry_run=True)

    assert versions(estate, DR, "cn-northwest-1") == before
    assert result.total("pending") == 12 and not result.compliant
    assert [s.store for s in result.stores][1:] == [f"s3://{DR}/users/u1/", f"s3://{ARCHIVE}/users/u1/"]


def test_a_destination_outside_the_territory_is_named_and_not_compliant(estate: Estate) -> None:
    estate.bucket(SOURCE, versioned=True)
    estate.bucket(DR, versioned=True, region="cn-northwest-1")
    copies(estate, SOURCE, "cn-north-1")
    copies(estate, DR, "cn-northwest-1")
    replicate(estate, SOURCE, "cn-north-1", f"arn:aws-cn:s3:::{DR}", "arn:aws:s3:::offshore-copy")
    before = versions(estate, DR, "cn-northwest-1")

    # A catalogue whose territory is cn-north-1 only: the DR bucket is outside it.
    result = erase(estate, settings=Settings(allowed_regions=("cn-north-1",)))

    assert versions(estate, SOURCE, "cn-north-1", "users/u1/") == set()
    assert versions(estate, DR, "cn-northwest-1") == before, "nothing is done outside the territory"
    assert not result.compliant
    findings = "\n".join(result.all_findings())
    assert f"replication destination s3://{DR}" in findings and "outside the territory" in findings
    assert "arn:aws:s3:::offshore-copy is outside the territory (partition aws" in findings
    per_store = {s["store"]: s for s in result.evidence["stores"]}
    assert per_store[f"s3://{SOURCE}/users/u1/"]["deleted"] == 4
    assert per_store[f"s3://{DR}/users/u1/"]["ran"] is False


def test_an_unreadable_replication_configuration_is_an_error(estate: Estate) -> None:
    estate.bucket(SOURCE, versioned=True)
    copies(estate, SOURCE, "cn-north-1")
    from botocore.exceptions import ClientError

    def wrap(service: str, s3: Any) -> Any:
        if service != "s3":
            return s3

        class Denied:
            def __getattr__(self, name: str) -> Any:
                return getattr(s3, name)

            def get_bucket_replication(self, **_: Any) -> Any:
                raise ClientError(
                    {"Error": {"Code": "AccessDenied", "Message": "denied"}}, "GetBucketReplication"
                )

        return Denied()

    doc = {
        "apiVersion": "residency.pushauction.com/v1alpha1",
        "kind": "ErasureRequest",
        "metadata": {"name": "erase-u1"},
        "spec": {
            "subjectId": "u1",
            "dataStores": [
                {"s3": {"bucket": SOURCE, "region": "cn-north-1", "keyPrefix": "users/{subjectId}/"}}
            ],
        },
    }
    spec = parse_document(doc, source="t", index=1, settings=Settings()).spec
    clients = ClientFactory(endpoint_url=estate.url, retry=RetryPolicy(sleep=no_sleep), wrap=wrap)
    result = reconcile_erasure(spec, name="erase-u1", clients=clients, now=datetime.now(UTC))

    assert versions(estate, SOURCE, "cn-north-1", "users/u1/") == set()
    assert not result.compliant
    assert any("replication configuration" in e and "AccessDenied" in e for e in result.all_errors())


def test_the_copies_are_erased_even_when_the_source_cannot_be_listed(estate: Estate) -> None:
    estate_with_dr(estate)
    from botocore.exceptions import ClientError

    def wrap(service: str, s3: Any) -> Any:
        if service != "s3":
            return s3

        class SourceDenied:
            def __getattr__(self, name: str) -> Any:
                return getattr(s3, name)

            def list_object_versions(self, **kw: Any) -> Any:
                if kw.get("Bucket") == SOURCE:
                    raise ClientError(
                        {"Error": {"Code": "AccessDenied", "Message": "denied"}}, "ListObjectVersions"
                    )
                return s3.list_object_versions(**kw)

        return SourceDenied()

    doc = {
        "apiVersion": "residency.pushauction.com/v1alpha1",
        "kind": "ErasureRequest",
        "metadata": {"name": "erase-u1"},
        "spec": {
            "subjectId": "u1",
            "dataStores": [
                {"s3": {"bucket": SOURCE, "region": "cn-north-1", "keyPrefix": "users/{subjectId}/"}}
            ],
        },
    }
    spec = parse_document(doc, source="t", index=1, settings=Settings()).spec
    clients = ClientFactory(endpoint_url=estate.url, retry=RetryPolicy(sleep=no_sleep), wrap=wrap)
    result = reconcile_erasure(spec, name="erase-u1", clients=clients, now=datetime.now(UTC))

    assert len(versions(estate, SOURCE, "cn-north-1", "users/u1/")) == 4, "the source could not be read"
    assert versions(estate, DR, "cn-northwest-1", "users/u1/") == set()
    assert versions(estate, ARCHIVE, "cn-northwest-1", "users/u1/") == set()
    assert not result.compliant and any("AccessDenied" in e for e in result.all_errors())
    ran = {s["store"]: s["ran"] for s in result.evidence["stores"]}
    assert ran == {
        f"s3://{SOURCE}/users/u1/": False,
        f"s3://{DR}/users/u1/": True,
        f"s3://{ARCHIVE}/users/u1/": True,
    }


def test_a_global_table_replica_outside_the_territory_is_named(estate: Estate) -> None:
    """moto keeps no global-table replicas, so DescribeTable is given one, as DynamoDB would report it."""
    estate.table("pa-profiles", "userId")
    estate.ddb.put_item(TableName="pa-profiles", Item={"userId": {"S": "u1"}})

    def wrap(service: str, ddb: Any) -> Any:
        if service != "dynamodb":
            return ddb

        class Global:
            def __getattr__(self, name: str) -> Any:
                return getattr(ddb, name)

            def describe_table(self, **kw: Any) -> Any:
                answer = ddb.describe_table(**kw)
                answer["Table"]["Replicas"] = [{"RegionName": "cn-northwest-1"}, {"RegionName": "ap-east-1"}]
                return answer

        return Global()

    doc = {
        "apiVersion": "residency.pushauction.com/v1alpha1",
        "kind": "ErasureRequest",
        "metadata": {"name": "erase-u1"},
        "spec": {
            "subjectId": "u1",
            "dataStores": [
                {"dynamodb": {"table": "pa-profiles", "region": "cn-north-1", "partitionKey": "userId"}}
            ],
        },
    }
    spec = parse_document(doc, source="t", index=1, settings=Settings()).spec
    clients = ClientFactory(endpoint_url=estate.url, retry=RetryPolicy(sleep=no_sleep), wrap=wrap)
    result = reconcile_erasure(spec, name="erase-u1", clients=clients, now=datetime.now(UTC))

    assert estate.items("pa-profiles") == [] and result.total("deleted") == 1
    assert not result.compliant
    assert any(
        "replica of pa-profiles in ap-east-1 is outside the territory" in f for f in result.all_findings()
    )
    assert result.evidence["stores"][0]["replicaRegions"] == ["ap-east-1", "cn-northwest-1"]
