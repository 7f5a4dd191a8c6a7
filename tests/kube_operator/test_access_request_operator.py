"""The operator and an AccessRequest: status conditions, Events, the package digest in status; refusals."""

from __future__ import annotations

import hashlib
from typing import Any

import boto3
from moto_estate import Estate

from .conftest import wait_for
from .kube import API, Kube, condition
from .test_deploy import allowed_by, controller, granted

NS = "privacy"
PAB = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


def access(name: str, key_arn: str) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "AccessRequest",
        "metadata": {"name": name},
        "spec": {
            "subjectId": "u1",
            "dataStores": [
                {"s3": {"bucket": "pa-uploads", "region": "cn-north-1", "keyPrefix": "users/{subjectId}/"}},
                {"dynamodb": {"table": "pa-profiles", "region": "cn-north-1", "partitionKey": "userId"}},
            ],
            "deliverTo": {
                "bucket": "pa-packages",
                "region": "cn-north-1",
                "prefix": "access/",
                "kmsKeyArn": key_arn,
            },
            "verifiedBy": {"by": "privacy-desk", "at": "2026-11-20T09:00:00Z"},
        },
    }


def seed(estate: Estate) -> str:
    estate.bucket("pa-uploads", versioned=True)
    estate.bucket("pa-packages")
    estate.s3.put_public_access_block(
        Bucket="pa-packages", PublicAccessBlockConfiguration=dict.fromkeys(PAB, True)
    )
    for key in ("users/u1/a.jpg", "users/u1/b.jpg", "users/u10/a.jpg"):
        estate.s3.put_object(Bucket="pa-uploads", Key=key, Body=key.encode())
    estate.table("pa-profiles", "userId", "sk")
    for subject, sk in (("u1", "profile"), ("u1", "prefs"), ("u10", "profile")):
        estate.ddb.put_item(TableName="pa-profiles", Item={"userId": {"S": subject}, "sk": {"S": sk}})
    return boto3.client("kms", **estate.kw).create_key()["KeyMetadata"]["Arn"]


def packages(estate: Estate) -> list[str]:
    return [o["Key"] for o in estate.s3.list_objects_v2(Bucket="pa-packages").get("Contents", [])]


def test_an_access_request_is_delivered_once_with_its_digest_in_status_and_events(
    kube: Kube, estate: Estate, start_operator: Any
) -> None:
    key = seed(estate)
    operator = start_operator()
    kube.create(NS, access("access-u1", key))

    def delivered() -> Any:
        obj = kube.get("AccessRequest", NS, "access-u1")
        return obj if condition(obj, "Compliant").get("status") == "True" else None

    obj = wait_for(delivered, what="package delivered")
    status = obj["status"]
    sha = status["evidence"]["packageSha256"]
    compliant, ready = condition(obj, "Compliant"), condition(obj, "Ready")
    assert (ready["status"], ready["reason"], ready["observedGeneration"]) == ("True", "Reconciled", 1)
    assert compliant["reason"] == "Reconciled" and sha in compliant["message"]
    assert set(compliant) == {
        "type",
        "status",
        "reason",
        "message",
        "observedGeneration",
        "lastTransitionTime",
    }
    assert status["examined"] == 4 and status["deleted"] == 0
    manifest_key = status["evidence"]["package"]["manifest"].removeprefix("s3://pa-packages/")
    manifest = estate.s3.get_object(Bucket="pa-packages", Key=manifest_key)["Body"].read()
    assert hashlib.sha256(manifest).hexdigest() == sha
    assert b"users/u10" not in manifest and b'"u10"' not in manifest
    wait_for(
        lambda: any(
            e["reason"] == "AccessPackageDelivered" and sha in e["message"]
            for e in kube.events(NS, "access-u1")
        ),
        what="an AccessPackageDelivered Event with the digest",
    )
    written = packages(estate)
    assert len(written) == 5  # two objects, one items file, the manifest, the completion marker

    # A spec change runs it again: the package is already there, so nothing is written twice.
    kube.patch("AccessRequest", NS, "access-u1", {"spec": {"deadline": "2026-12-31T00:00:00Z"}})
    wait_for(
        lambda: (
            condition(kube.get("AccessRequest", NS, "access-u1"), "Compliant").get("observedGeneration") == 2
        ),
        what="generation 2 reconciled",
    )
    again = kube.get("AccessRequest", NS, "access-u1")["status"]["evidence"]
    assert again["packageSha256"] == sha and again["alreadyDelivered"] is True
    assert packages(estate) == written
    operator.stop()
    grants = granted(controller())
    assert {c for c in kube.api.calls if not allowed_by(grants, c)} == set()
    assert ("patch", "residency.pushauction.com/accessrequests/status", "access-u1") in kube.api.calls


def test_an_unsafe_delivery_is_an_invalid_spec_and_nothing_is_written(
    kube: Kube, estate: Estate, start_operator: Any
) -> None:
    key = seed(estate)
    estate.s3.put_public_access_block(
        Bucket="pa-packages",
        PublicAccessBlockConfiguration=dict.fromkeys(PAB, True) | {"BlockPublicPolicy": False},
    )
    start_operator()
    kube.create(NS, access("access-open", key))

    def invalid() -> Any:
        obj = kube.get("AccessRequest", NS, "access-open")
        return obj if condition(obj, "Ready").get("reason") == "InvalidSpec" else None

    obj = wait_for(invalid, what="InvalidSpec")
    assert "BlockPublicPolicy off" in condition(obj, "Ready")["message"]
    assert condition(obj, "Compliant")["status"] == "False"
    wait_for(
        lambda: any(
            e["reason"] == "InvalidSpec" and e["type"] == "Warning" for e in kube.events(NS, "access-open")
        ),
        what="an InvalidSpec Warning",
    )
    assert packages(estate) == []
