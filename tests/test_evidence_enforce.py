"""`residency enforce --evidence DIR`: each run appends a run record that names its erasure manifests
by sha256; `verify-evidence` re-hashes them."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("moto", reason="the moto server is in the dev extra")
sys.path.insert(0, str(Path(__file__).resolve().parent / "controllers"))

import moto_estate  # noqa: E402

moto_url = moto_estate.moto_url
estate = moto_estate.estate

ERASURE = """\
apiVersion: residency.pushauction.com/v1alpha1
kind: ErasureRequest
metadata: {name: erase-u1}
spec:
  subjectId: u1
  dataStores:
    - s3: {bucket: data-bucket, region: cn-north-1, keyPrefix: "users/{subjectId}/"}
"""


def residency(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "policies.cli", *args], capture_output=True, text=True, timeout=120
    )


def test_enforce_records_its_manifests_and_verify_rehashes_them(estate, tmp_path: Path) -> None:
    estate.bucket("data-bucket", versioned=True)
    for i in range(2):
        estate.s3.put_object(Bucket="data-bucket", Key=f"users/u1/{i}.jpg", Body=b"x")
        estate.s3.put_object(Bucket="data-bucket", Key=f"users/u2/{i}.jpg", Body=b"x")
    crs = tmp_path / "erasure.yaml"
    crs.write_text(ERASURE)
    folder = tmp_path / "evidence"

    proc = residency(
        "enforce", "--once", "--endpoint-url", estate.url, "-f", str(crs), "--evidence", str(folder)
    )

    assert proc.returncode == 0, proc.stdout + proc.stderr
    (record_file,) = sorted(folder.glob("0*-enforce.json"))
    assert f"sha256 {hashlib.sha256(record_file.read_bytes()).hexdigest()}" in proc.stderr
    record = json.loads(record_file.read_text())
    assert record["inputs"][0]["sha256"] == hashlib.sha256(crs.read_bytes()).hexdigest()
    assert record["controls"]["DEL-1"] == "passed"
    (manifest_entry,) = record["manifests"]
    manifest = folder / manifest_entry["file"]
    assert manifest_entry["sha256"] == hashlib.sha256(manifest.read_bytes()).hexdigest()
    assert len(manifest.read_text().splitlines()) == 2

    assert residency("verify-evidence", str(folder)).returncode == 0
    manifest.write_text(manifest.read_text().replace("users/u1/0.jpg", "users/u1/9.jpg"))
    bad = residency("verify-evidence", str(folder))
    assert bad.returncode == 1 and manifest.name in bad.stderr


def test_records_in_an_s3_location_chain_and_verify_once_copied(estate, tmp_path: Path) -> None:
    from policies.catalog import default_catalog
    from policies.evidence import S3Evidence, parse_location, run_metadata, verify, write_record

    estate.bucket("evidence-bucket")
    bucket, prefix = parse_location("s3://evidence-bucket/residency/runs")
    location = S3Evidence(estate.s3, bucket, prefix)
    metadata = run_metadata(default_catalog(), None)
    written = [
        write_record(location, "controller", metadata, verdicts={"run": i}, summary={"verdict": "PASS"})
        for i in range(3)
    ]
    assert [w.sequence for w in written] == [1, 2, 3]
    copy = tmp_path / "copy"
    copy.mkdir()
    listed = estate.s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]
    for item in listed:
        body = estate.s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
        (copy / item["Key"][len(prefix) :]).write_bytes(body)
    outcome = verify(copy, head=written[-1].sha256)
    assert outcome.intact, outcome.problem
    assert parse_location("/var/lib/residency/evidence") == Path("/var/lib/residency/evidence")
