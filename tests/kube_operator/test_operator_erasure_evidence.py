"""The operator stores each erasure's manifest in `spec.evidence`, and its status digest recomputes."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from moto_estate import Estate
from s3_fidelity import s3_url_encoded_listings

from controllers import manifest

from .conftest import wait_for
from .kube import API, Kube, condition

NS = "privacy"


@pytest.fixture(autouse=True)
def faithful_listings() -> Any:
    with s3_url_encoded_listings():  # keys with CR are listed as S3 lists them (see s3_fidelity)
        yield


def request(name: str) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "ErasureRequest",
        "metadata": {"name": name},
        "spec": {
            "subjectId": "u1",
            "dataStores": [
                {"s3": {"bucket": "pa-uploads", "region": "cn-north-1", "keyPrefix": "users/{subjectId}/"}}
            ],
            "evidence": {"bucket": "pa-evidence", "region": "cn-north-1", "prefix": "erasure/"},
        },
    }


def test_the_manifest_is_stored_and_the_status_digest_is_its_sha256(
    kube: Kube, estate: Estate, start_operator: Any
) -> None:
    estate.bucket("pa-uploads", versioned=True)
    estate.bucket("pa-evidence")
    for key in ("users/u1/a.jpg", "users/u1/b\r.jpg", "users/u2/a.jpg"):
        estate.s3.put_object(Bucket="pa-uploads", Key=key, Body=b"x")
    start_operator()

    kube.create(NS, request("erase-u1"))

    def complete() -> Any:
        obj = kube.get("ErasureRequest", NS, "erase-u1")
        return obj if condition(obj, "Compliant").get("status") == "True" else None

    obj = wait_for(complete, what="erasure complete")
    evidence = obj["status"]["evidence"]
    sha = evidence["deletedSha256"]
    key = f"erasure/erase-u1/{sha}.jsonl"
    assert evidence["manifest"]["location"] == f"s3://pa-evidence/{key}"
    stored = estate.s3.get_object(Bucket="pa-evidence", Key=key)["Body"].read()
    assert hashlib.sha256(stored).hexdigest() == sha
    assert sorted(r["key"] for r in manifest.parse(stored)) == ["users/u1/a.jpg", "users/u1/b\r.jpg"]
    assert [s["store"] for s in evidence["stores"]] == ["s3://pa-uploads/users/u1/"]
    assert sorted(k for k, _ in estate.versions("pa-uploads")) == ["users/u2/a.jpg"]


def test_an_evidence_bucket_outside_the_territory_is_an_invalid_spec(
    kube: Kube, estate: Estate, start_operator: Any
) -> None:
    estate.bucket("pa-uploads", versioned=True)
    estate.s3.put_object(Bucket="pa-uploads", Key="users/u1/a.jpg", Body=b"x")
    start_operator()
    body = request("erase-offshore")
    body["spec"]["evidence"]["region"] = "ap-east-1"

    kube.create(NS, body)

    def invalid() -> Any:
        obj = kube.get("ErasureRequest", NS, "erase-offshore")
        return obj if condition(obj, "Ready").get("reason") == "InvalidSpec" else None

    obj = wait_for(invalid, what="InvalidSpec")
    assert "evidence" in condition(obj, "Ready")["message"]
    assert [k for k, _ in estate.versions("pa-uploads")] == ["users/u1/a.jpg"]
