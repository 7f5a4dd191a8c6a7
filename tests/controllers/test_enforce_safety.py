"""`residency enforce` refuses what could delete early or mislead, as a subprocess against moto:
a future `--now` without `--dry-run`, out-of-range times, missing credentials, loose inputs, rules
longer than the catalogue allows; and a path with markup characters never breaks the summary."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from moto_estate import Estate, days_ago

API = "apiVersion: residency.pushauction.com/v1alpha1"


def stamp(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).strftime("%Y-%m-%dT%H:%M:%SZ")


RULES = "[{name: crash, match: {prefix: crash/}, maxAgeDays: 30}, {name: users, match: {prefix: users/}, maxAgeDays: 30}]"


def retention(bucket: str = "data-bucket", rules: str = RULES, store_extra: str = "") -> str:
    return f"""{API}
kind: RetentionPolicy
metadata: {{name: crash-retention}}
spec:
  dataStores: [{{s3: {{bucket: {bucket}, region: cn-north-1{store_extra}}}}}]
  rules: {rules}
"""


ERASURE = f"""{API}
kind: ErasureRequest
metadata: {{name: erase-u1}}
spec:
  subjectId: u1
  dataStores:
    - s3: {{bucket: data-bucket, region: cn-north-1, keyPrefix: "users/{{subjectId}}/"}}
"""


def enforce(
    url: str, path: Path, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    args = [sys.executable, "-m", "policies.cli", "enforce", "--once", "--endpoint-url", url, "-f", str(path)]
    return subprocess.run([*args, *extra], capture_output=True, text=True, timeout=120, env=env)


def populate(estate: Estate) -> None:
    """crash/ objects 10 days old (inside the 30-day rule) and one subject's files."""
    estate.bucket("data-bucket", versioned=True)
    for i in range(3):
        answer = estate.s3.put_object(Bucket="data-bucket", Key=f"crash/{i}", Body=b"x")
        estate.backdate("data-bucket", f"crash/{i}", answer["VersionId"], days_ago(10))
        estate.s3.put_object(Bucket="data-bucket", Key=f"users/u1/{i}", Body=b"x")


def one_line(proc: subprocess.CompletedProcess) -> str:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in proc.stderr and "internal error" not in proc.stderr, (
        proc.stderr
    )
    return lines[0]


def write(tmp_path: Path, *docs: str, name: str = "crs.yaml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("---\n".join(docs))
    return path


def test_a_future_now_deletes_nothing_without_dry_run(estate: Estate, tmp_path: Path) -> None:
    populate(estate)
    before = estate.versions("data-bucket")
    path = write(tmp_path, retention())
    proc = enforce(estate.url, path, "--now", stamp(timedelta(days=40)))
    assert proc.returncode == 2
    line = one_line(proc)
    assert "later than the clock" in line and "--dry-run" in line
    assert estate.versions("data-bucket") == before and proc.stdout == ""
    # With --dry-run the same instant previews what would go, and still changes nothing.
    dry = enforce(estate.url, path, "--now", stamp(timedelta(days=40)), "--dry-run")
    assert dry.returncode == 1, dry.stderr
    assert "would delete 6 version(s)" in dry.stdout and estate.versions("data-bucket") == before
    # A --now in the past only makes things younger: accepted for real, deletes nothing here.
    past = enforce(estate.url, path, "--now", stamp(timedelta(days=-1)))
    assert past.returncode == 0, past.stdout + past.stderr
    assert estate.versions("data-bucket") == before


@pytest.mark.parametrize(
    "value",
    [
        "9999-12-31T23:59:59Z",
        "9999-12-31T23:59:59-14:00",  # overflows when converted to UTC
        "0001-01-01T00:00:00+14:00",
        "1900-01-01T00:00:00Z",
        "99999-01-01T00:00:00Z",
    ],
)
def test_out_of_range_now_exits_2_with_one_line(estate: Estate, tmp_path: Path, value: str) -> None:
    proc = enforce(estate.url, write(tmp_path, retention()), "--now", value, "--dry-run")
    assert proc.returncode == 2
    line = one_line(proc)
    assert "--now" in line and "OverflowError" not in line


def test_no_aws_credentials_exit_2_with_one_line_and_no_evidence(estate: Estate, tmp_path: Path) -> None:
    populate(estate)
    before = estate.versions("data-bucket")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_EC2_METADATA_DISABLED="true"
    )
    proc = enforce(estate.url, write(tmp_path, retention(), ERASURE), env=env)
    assert proc.returncode == 2
    assert "no AWS credentials" in one_line(proc)
    assert "evidence" not in proc.stdout and proc.stdout == ""
    assert estate.versions("data-bucket") == before


def test_a_path_with_markup_characters_never_breaks_the_summary(estate: Estate, tmp_path: Path) -> None:
    populate(estate)
    path = write(tmp_path, ERASURE, name="[bold]erasure[/] [x/y]/crs[/bold].yaml")
    proc = enforce(estate.url, path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and "MarkupError" not in proc.stderr
    assert f"({path}#1)" in proc.stdout  # printed as it is
    assert "evidence: 3 deleted, sha256" in proc.stdout
    assert not estate.versions("data-bucket", "users/u1/")


LOOSE = {
    "subject id with a trailing newline": ERASURE.replace("subjectId: u1", 'subjectId: "u1\\n"'),
    "maxAgeDays yes": retention(rules="[{name: crash, match: {prefix: crash/}, maxAgeDays: yes}]"),
    "maxAgeDays 7.5": retention(rules="[{name: crash, match: {prefix: crash/}, maxAgeDays: 7.5}]"),
    "spec twice": retention() + "spec:\n  dataStores: [{s3: {bucket: data-bucket, region: cn-north-1}}]\n"
    "  rules: [{name: crash, match: {prefix: crash/}, maxAgeDays: 1}]\n",
    "rules twice": retention() + "  rules: [{name: crash, match: {prefix: crash/}, maxAgeDays: 1}]\n",
    "uploads beyond the catalogue": retention(
        rules="[{name: uploads, match: {prefix: uploads/}, maxAgeDays: 36500}]",
        store_extra=", category: user-uploads",
    ),
}


@pytest.mark.parametrize("case", sorted(LOOSE))
def test_loose_inputs_exit_2_and_delete_nothing(estate: Estate, tmp_path: Path, case: str) -> None:
    populate(estate)
    before = estate.versions("data-bucket")
    proc = enforce(estate.url, write(tmp_path, LOOSE[case]), "--now", stamp(timedelta(days=-0.001)))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert str(tmp_path) in one_line(proc)
    assert estate.versions("data-bucket") == before


def test_a_bucket_tag_binds_the_rules_to_its_category_before_anything_runs(
    estate: Estate, tmp_path: Path
) -> None:
    populate(estate)
    for i in range(3):  # old enough for the rule: deleted if the policy ran
        answer = estate.s3.put_object(Bucket="data-bucket", Key=f"c/{i}", Body=b"x")
        estate.backdate("data-bucket", f"c/{i}", answer["VersionId"], days_ago(100))
    estate.s3.put_bucket_tagging(
        Bucket="data-bucket", Tagging={"TagSet": [{"Key": "data-category", "Value": "cookies"}]}
    )
    before = estate.versions("data-bucket")
    # An erasure first: nothing at all runs when a later document breaks the catalogue's bound.
    rules = "[{name: c, match: {prefix: c/}, maxAgeDays: 90}]"
    proc = enforce(estate.url, write(tmp_path, ERASURE, retention(rules=rules)))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    line = one_line(proc)
    assert "document 2 (RetentionPolicy/crash-retention)" in line and "spec.rules[0].maxAgeDays" in line
    assert "cookies" in line and "at most 30" in line and "data-category=cookies" in line
    assert estate.versions("data-bucket") == before
    with pytest.raises(estate.s3.exceptions.ClientError):
        estate.s3.get_bucket_lifecycle_configuration(Bucket="data-bucket")


def test_the_shipped_example_runs_against_moto(estate: Estate) -> None:
    """controllers/examples/estate.yaml on an estate with its buckets and tables: valid, within the
    catalogue, and a dry run changes nothing."""
    estate.bucket("pa-user-uploads", versioned=True)
    estate.bucket("pa-audit-logs")
    estate.table("pa-sessions", "id")
    estate.table("pa-profiles", "userId")
    example = Path(__file__).resolve().parents[2] / "controllers" / "examples" / "estate.yaml"
    proc = enforce(estate.url, example, "--dry-run")
    assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr, proc.stderr
    assert (
        "RetentionPolicy/uploads-retention" in proc.stdout
        and "RetentionPolicy/sessions-retention" in proc.stdout
    )
