"""The operator's run records: a configured evidence location (a volume path or s3://bucket/prefix)
gets one hash-chained record per reconcile, with the erasure manifest beside it."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from controllers.results import ReconcileResult, StoreResult
from controllers.run_records import EvidenceSink
from policies.evidence import verify

MANIFEST = b'{"key":"users/u1/a.jpg","store":"s3://b/users/u1/","type":"version"}\n'
RAW = {
    "apiVersion": "residency.pushauction.com/v1alpha1",
    "kind": "ErasureRequest",
    "metadata": {"namespace": "shop", "name": "erase-u1", "uid": "u-1", "generation": 2},
    "spec": {"subjectId": "u1"},
}


@dataclass
class Config:
    evidence: str | None = None
    evidence_region: str | None = None


def erasure_result() -> ReconcileResult:
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    result = ReconcileResult("ErasureRequest", "erase-u1", "shop/ErasureRequest/erase-u1", now, now)
    result.stores.append(StoreResult("s3://b/users/u1/", examined=1, deleted=1))
    result.manifest = MANIFEST
    result.evidence = {"deletedCount": 1, "deletedSha256": "x"}
    return result


def test_no_location_no_sink() -> None:
    assert EvidenceSink.for_config(Config(), clients=None) is None


def test_a_volume_path_gets_records_and_manifests_that_verify(tmp_path: Path) -> None:
    sink = EvidenceSink.for_config(Config(evidence=str(tmp_path / "ev")), clients=None)
    first = sink.reconciled("ErasureRequest", RAW, erasure_result())
    second = sink.reconciled("ErasureRequest", RAW, erasure_result())
    assert first["name"].startswith("000001-") and second["name"].startswith("000002-")
    record = json.loads((tmp_path / "ev" / second["name"]).read_text())
    assert record["command"] == "controller" and record["inputs"][0]["kind"] == "custom-resource"
    assert record["controls"]["DEL-1"] == "passed"
    outcome = verify(tmp_path / "ev", head=second["sha256"])
    assert outcome.intact and outcome.manifests == 2


def test_an_s3_location_gets_records_and_manifests(tmp_path: Path) -> None:
    pytest.importorskip("moto", reason="the moto server is in the dev extra")
    sys.path.insert(0, str(Path(__file__).resolve().parent / "controllers"))
    from moto import mock_aws

    with mock_aws():
        import boto3

        from controllers.aws import ClientFactory

        s3 = boto3.client("s3", region_name="cn-north-1", aws_access_key_id="t", aws_secret_access_key="t")
        s3.create_bucket(Bucket="evidence", CreateBucketConfiguration={"LocationConstraint": "cn-north-1"})
        clients = ClientFactory(
            _session=boto3.session.Session(aws_access_key_id="t", aws_secret_access_key="t")
        )
        sink = EvidenceSink.for_config(Config(evidence="s3://evidence/runs/"), clients)
        written = sink.reconciled("ErasureRequest", RAW, erasure_result())
        copy = tmp_path / "copy"
        for item in s3.list_objects_v2(Bucket="evidence", Prefix="runs/")["Contents"]:
            target = copy / item["Key"].removeprefix("runs/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(s3.get_object(Bucket="evidence", Key=item["Key"])["Body"].read())
    outcome = verify(copy, head=written["sha256"])
    assert outcome.intact and outcome.manifests == 1, outcome.problem
