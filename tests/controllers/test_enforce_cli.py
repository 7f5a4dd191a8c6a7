"""`residency enforce` as users run it: a subprocess against the moto server, exit codes 0 / 1 / 2."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from moto_estate import Estate, days_ago

API = "apiVersion: residency.pushauction.com/v1alpha1"
LATER = (datetime.now(UTC) + timedelta(days=40)).strftime("%Y-%m-%dT%H:%M:%SZ")
EARLIER = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")

RETENTION = f"""\
{API}
kind: RetentionPolicy
metadata: {{name: crash-retention}}
spec:
  dataStores: [{{s3: {{bucket: data-bucket, region: cn-north-1}}}}]
  rules:
    - {{name: crash, match: {{prefix: crash/}}, maxAgeDays: 30}}
    - {{name: users, match: {{prefix: users/}}, maxAgeDays: 30}}
"""
ERASURE = f"""\
{API}
kind: ErasureRequest
metadata: {{name: erase-u1}}
spec:
  subjectId: u1
  dataStores:
    - s3: {{bucket: data-bucket, region: cn-north-1, keyPrefix: "users/{{subjectId}}/"}}
"""


def enforce(url: str, *files: Path, extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    args = [sys.executable, "-m", "policies.cli", "enforce", "--once", "--endpoint-url", url]
    for file in files:
        args += ["-f", str(file)]
    return subprocess.run([*args, *extra], capture_output=True, text=True, timeout=120)


def populate(estate: Estate) -> None:
    """Three crash dumps 40 days old (past the 30-day rule), three files each of users u1 and u2."""
    estate.bucket("data-bucket", lock=True)
    for i in range(3):
        answer = estate.s3.put_object(Bucket="data-bucket", Key=f"crash/{i}.txt", Body=b"x")
        estate.backdate("data-bucket", f"crash/{i}.txt", answer["VersionId"], days_ago(40))
        estate.s3.put_object(Bucket="data-bucket", Key=f"users/u1/{i}.jpg", Body=b"x")
        estate.s3.put_object(Bucket="data-bucket", Key=f"users/u2/{i}.jpg", Body=b"x")


def write(tmp_path: Path, *docs: str) -> Path:
    path = tmp_path / "crs.yaml"
    path.write_text("---\n".join(docs))
    return path


def test_brings_the_estate_into_compliance_with_exit_0_then_stays_there(
    estate: Estate, tmp_path: Path
) -> None:
    populate(estate)
    path = write(tmp_path, RETENTION, ERASURE)

    first = enforce(estate.url, path)

    assert first.returncode == 0, first.stdout + first.stderr
    assert "COMPLIANT: 2 resource(s)" in first.stdout and "RetentionPolicy/crash-retention" in first.stdout
    assert "evidence: 3 deleted, sha256" in first.stdout
    assert sorted(k for k, _ in estate.versions("data-bucket")) == [f"users/u2/{i}.jpg" for i in range(3)]
    second = enforce(estate.url, path, extra=("--format", "json"))
    assert second.returncode == 0
    results = json.loads(second.stdout)
    assert [r["compliant"] for r in results] == [True, True]
    assert all(s["deleted"] == 0 for r in results for s in r["stores"])
    assert results[1]["condition"]["type"] == "Compliant" and results[1]["condition"]["status"] == "True"


def test_dry_run_changes_nothing_and_exits_1_when_work_is_pending(estate: Estate, tmp_path: Path) -> None:
    populate(estate)
    before = estate.versions("data-bucket")
    proc = enforce(estate.url, write(tmp_path, RETENTION, ERASURE), extra=("--dry-run",))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "(dry run)" in proc.stdout and "NOT COMPLIANT" in proc.stdout
    assert "would delete 3 version(s) and 0 delete marker(s) past retention" in proc.stdout
    assert "would set 4 lifecycle rule(s) on s3://data-bucket" in proc.stdout
    assert estate.versions("data-bucket") == before


def test_a_held_object_the_erasure_cannot_remove_exits_1(estate: Estate, tmp_path: Path) -> None:
    populate(estate)
    estate.s3.put_object(
        Bucket="data-bucket", Key="users/u1/held.jpg", Body=b"x", ObjectLockLegalHoldStatus="ON"
    )
    proc = enforce(estate.url, write(tmp_path, ERASURE))
    assert proc.returncode == 1
    held = [line for line in proc.stdout.splitlines() if line.strip().startswith("held: s3://data-bucket")]
    assert held and "users/u1/held.jpg@" in held[0] and "legal hold" in held[0], proc.stdout


BAD_DOCS = {
    "negative age": RETENTION.replace("maxAgeDays: 30", "maxAgeDays: -1"),
    "unknown kind": RETENTION.replace("kind: RetentionPolicy", "kind: BackupPolicy"),
    "outside territory": RETENTION.replace("cn-north-1", "ap-east-1"),
    "malformed arn": f"""{API}
kind: AccessAuditPolicy
metadata: {{name: audit}}
spec:
  dataStores: [{{s3: {{bucket: data-bucket, region: cn-north-1}}}}]
  auditLog: {{bucket: audit-logs, prefix: s3/, minRetentionDays: 180}}
  allowedPrincipals: ["arn:aws-cn:iam:role/reader"]
""",
    "wildcard subject": ERASURE.replace("subjectId: u1", "subjectId: 'u*'"),
    "slash subject": ERASURE.replace("subjectId: u1", "subjectId: u1/../u2"),
    "empty subject": ERASURE.replace("subjectId: u1", "subjectId: ''"),
}


@pytest.mark.parametrize("case", sorted(BAD_DOCS))
def test_bad_documents_exit_2_with_one_line_and_delete_nothing(
    estate: Estate, tmp_path: Path, case: str
) -> None:
    populate(estate)
    before = estate.versions("data-bucket")
    # A valid, deleting document comes first: validation of every document happens before any work.
    proc = enforce(estate.url, write(tmp_path, RETENTION, ERASURE.replace("erase-u1", "ok"), BAD_DOCS[case]))
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "document 3" in lines[0] and str(tmp_path) in lines[0]
    assert estate.versions("data-bucket") == before


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (("--now", "next tuesday"), "--now"),
        (("--region", "us-west-2"), "--region us-west-2 is outside the territory"),
        (("--format", "xml"), "--format"),
    ],
)
def test_bad_invocations_exit_2(
    estate: Estate, tmp_path: Path, extra: tuple[str, ...], fragment: str
) -> None:
    proc = enforce(estate.url, write(tmp_path, RETENTION), extra=extra)
    assert proc.returncode == 2 and fragment in proc.stderr and "Traceback" not in proc.stderr


def test_missing_file_exits_2(estate: Estate, tmp_path: Path) -> None:
    proc = enforce(estate.url, tmp_path / "nope.yaml")
    assert proc.returncode == 2 and "nope.yaml: cannot read" in proc.stderr


def test_region_filter_skips_other_regions(estate: Estate, tmp_path: Path) -> None:
    populate(estate)
    proc = enforce(estate.url, write(tmp_path, RETENTION), extra=("--region", "cn-northwest-1"))
    assert proc.returncode == 0 and "COMPLIANT: 0 resource(s)" in proc.stdout
    assert len(estate.versions("data-bucket")) == 9


def test_the_check_path_and_help_never_import_boto3() -> None:
    code = (
        "import sys, policies.cli as c; from typer.testing import CliRunner; "
        "r = CliRunner().invoke(c.app, ['enforce', '--help']); assert r.exit_code == 0, r.output; "
        "assert '--dry-run' in r.output; "
        "print(sorted(m for m in ('boto3', 'botocore', 'pydantic', 'yaml', 'rich') if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "boto3" not in proc.stdout and "botocore" not in proc.stdout


def test_without_once_it_loops_at_the_interval(estate: Estate, tmp_path: Path) -> None:
    populate(estate)
    args = [sys.executable, "-m", "policies.cli", "enforce", "--endpoint-url", estate.url, "--interval", "1"]
    proc = subprocess.Popen([*args, "-f", str(write(tmp_path, RETENTION))], stdout=subprocess.PIPE, text=True)
    seen = 0
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            seen += line.startswith("COMPLIANT")
            if seen == 2:
                break
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert seen == 2
