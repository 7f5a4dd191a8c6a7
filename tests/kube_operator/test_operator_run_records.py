"""`residency controller --evidence LOCATION`: each reconcile appends a hash-chained run record (and an
erasure's manifest) to the evidence location, and the status keeps the record's name and sha256."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from moto_estate import Estate

from policies.evidence import verify

from .conftest import wait_for
from .kube import API, Kube, condition

NS = "privacy"


def test_each_reconcile_appends_a_run_record_the_status_names(
    kube: Kube, estate: Estate, start_operator: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(var, "testing")  # moto's; the product has no dummy-credential fallback
    estate.bucket("pa-uploads", versioned=True)
    for key in ("users/u1/a.jpg", "users/u2/a.jpg"):
        estate.s3.put_object(Bucket="pa-uploads", Key=key, Body=b"x")
    folder = tmp_path / "evidence"
    start_operator(evidence=str(folder))

    kube.create(
        NS,
        {
            "apiVersion": API,
            "kind": "ErasureRequest",
            "metadata": {"name": "erase-u1"},
            "spec": {
                "subjectId": "u1",
                "dataStores": [
                    {
                        "s3": {
                            "bucket": "pa-uploads",
                            "region": "cn-north-1",
                            "keyPrefix": "users/{subjectId}/",
                        }
                    }
                ],
            },
        },
    )

    def recorded() -> Any:
        obj = kube.get("ErasureRequest", NS, "erase-u1")
        done = condition(obj, "Compliant").get("status") == "True"
        return obj if done and (obj["status"].get("evidence") or {}).get("runRecord") else None

    obj = wait_for(recorded, what="erasure complete with its run record")
    record = obj["status"]["evidence"]["runRecord"]
    path = folder / record["name"]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == record["sha256"]
    outcome = verify(folder, head=record["sha256"])
    assert outcome.intact and outcome.manifests == 1, outcome.problem
    assert obj["status"]["evidence"]["deletedSha256"]  # the erasure's own evidence is kept beside it
