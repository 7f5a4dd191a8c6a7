"""Run records: one JSON file per run, hash-chained; `verify-evidence` names the first record that was
edited, removed or reordered, and every erasure manifest whose bytes changed."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from policies.catalog import default_catalog
from policies.demo import EXAMPLES
from policies.errors import InputError
from policies.evidence import (
    RECORD_NAME,
    canonical_digest,
    digest_input,
    run_metadata,
    verify,
    write_record,
)

COMPLIANT = EXAMPLES / "reference-compliant-preview.json"
NONCOMPLIANT = EXAMPLES / "global-template-preview.json"


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "policies.cli", *args], input=stdin, capture_output=True, timeout=120
    )


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _chain(folder: Path, runs: int = 4, manifest: Path | None = None) -> list[Path]:
    """`runs` records written through the API (fast); the second one records `manifest`."""
    metadata = run_metadata(default_catalog(), None, [digest_input("in.json", b"{}")])
    paths = []
    for index in range(runs):
        written = write_record(
            folder,
            "check",
            metadata,
            verdicts={"run": index},
            summary={"verdict": "PASS"},
            manifests=[manifest] if manifest is not None and index == 1 else [],
        )
        paths.append(written.path)
        assert written.sha256 == sha256(written.path)
    return paths


def _problem(folder: Path, head: str | None = None) -> str:
    outcome = verify(folder, head)
    assert not outcome.intact
    return outcome.problem or ""


def test_records_sort_in_run_order_and_chain_by_sha256(tmp_path):
    folder = tmp_path / "evidence" / "nested"  # created when missing
    paths = _chain(folder)
    assert [p.name for p in sorted(folder.iterdir()) if RECORD_NAME.match(p.name)] == [p.name for p in paths]
    records = [json.loads(p.read_text()) for p in paths]
    assert records[0]["previous"] is None
    for before, record, path in zip(paths, records[1:], paths[1:], strict=False):
        assert record["previous"] == sha256(before), path
    assert [r["sequence"] for r in records] == [1, 2, 3, 4]
    assert records[0]["verdicts"]["sha256"] == canonical_digest({"run": 0})
    outcome = verify(folder)
    assert outcome.intact and outcome.head == sha256(paths[-1]) and len(outcome.records) == 4
    assert verify(folder, head=sha256(paths[1])).intact  # a head kept from an earlier run still proves it


def test_an_edited_record_is_named(tmp_path):
    paths = _chain(tmp_path)
    record = json.loads(paths[1].read_text())
    record["verdicts"]["summary"]["verdict"] = "PASS (edited)"
    paths[1].write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    problem = _problem(tmp_path)
    assert paths[1].name in problem and "edited" in problem


def test_the_last_record_edited_is_caught_with_head(tmp_path):
    paths = _chain(tmp_path)
    head = sha256(paths[-1])
    paths[-1].write_bytes(paths[-1].read_bytes().replace(b'"PASS"', b'"FAIL"'))
    assert verify(tmp_path).intact  # nothing after it to hold its digest...
    assert "head" in _problem(tmp_path, head)  # ...but the printed sha256 does


def test_a_removed_record_is_named(tmp_path):
    paths = _chain(tmp_path)
    paths[1].unlink()
    problem = _problem(tmp_path)
    assert "000002" in problem and "removed" in problem


def test_the_first_record_removed_is_named(tmp_path):
    paths = _chain(tmp_path)
    paths[0].unlink()
    assert "000001" in _problem(tmp_path)


def test_records_cut_off_at_the_end_are_caught_with_head(tmp_path):
    paths = _chain(tmp_path)
    head = sha256(paths[-1])
    paths[-1].unlink()
    assert verify(tmp_path).intact
    assert "removed" in _problem(tmp_path, head)


def test_a_reordered_pair_is_named(tmp_path):
    paths = _chain(tmp_path)
    second, third = paths[1].read_bytes(), paths[2].read_bytes()
    paths[1].write_bytes(third)
    paths[2].write_bytes(second)
    problem = _problem(tmp_path)
    assert paths[1].name in problem and "reordered" in problem


def test_a_reordered_pair_with_fixed_sequence_numbers_is_still_named(tmp_path):
    paths = _chain(tmp_path)
    second, third = json.loads(paths[1].read_text()), json.loads(paths[2].read_text())
    second["sequence"], third["sequence"] = 3, 2
    paths[1].write_text(json.dumps(third, indent=2, sort_keys=True) + "\n")
    paths[2].write_text(json.dumps(second, indent=2, sort_keys=True) + "\n")
    problem = _problem(tmp_path)
    assert paths[0].name in problem or paths[1].name in problem, problem


def test_an_edited_erasure_manifest_is_named(tmp_path):
    manifest = tmp_path / "erasure-forget-u1-20261126T000000Z-abc.jsonl"
    manifest.write_bytes(b'{"key":"users/u1/a.jpg","store":"s3://b/users/u1/","type":"version"}\n')
    _chain(tmp_path, manifest=manifest)
    assert verify(tmp_path).intact and verify(tmp_path).manifests == 1
    manifest.write_bytes(manifest.read_bytes().replace(b"u1/a.jpg", b"u2/a.jpg"))
    problem = _problem(tmp_path)
    assert manifest.name in problem and "edited" in problem
    manifest.unlink()
    assert "removed" in _problem(tmp_path)


def test_a_folder_without_records_is_not_intact(tmp_path):
    assert "no run record" in _problem(tmp_path)


def test_bad_head_is_an_input_error(tmp_path):
    _chain(tmp_path, runs=1)
    with pytest.raises(InputError, match="--head"):
        verify(tmp_path, head="abc")


def test_check_writes_a_record_with_exact_input_digests_and_verify_evidence_exits(tmp_path):
    folder = tmp_path / "ev"
    data = NONCOMPLIANT.read_bytes()
    first = run("check", str(COMPLIANT), "--evidence", str(folder))
    assert first.returncode == 0, first.stderr.decode()
    second = run("check", "-", "--format", "json", "--evidence", str(folder), stdin=data)
    assert second.returncode == 1
    json.loads(second.stdout)  # stdout stays the JSON report; the record line goes to stderr
    records = sorted(folder.glob("0*.json"))
    assert len(records) == 2
    for path, proc in zip(records, (first, second), strict=True):
        assert f"sha256 {sha256(path)}" in proc.stderr.decode()
    record = json.loads(records[1].read_text())
    assert record["inputs"] == [
        {"name": "<stdin>", "kind": "stdin", "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    ]
    assert record["verdicts"]["sha256"] == canonical_digest(json.loads(second.stdout))
    assert record["verdicts"]["summary"]["verdict"] == "FAIL"
    assert record["controls"]["CN-RES-1"] == "failed"
    assert record["catalog"]["sha256"] == sha256(Path(record["catalog"]["path"]))
    assert record["tool"]["version"] and record["time"].endswith("Z")
    policy = record["privacy_policy"]
    assert policy["sha256"] is None or policy["sha256"] == sha256(Path(policy["path"]))

    ok = run("verify-evidence", str(folder), "--head", sha256(records[-1]))
    assert ok.returncode == 0 and "intact" in ok.stdout.decode(), ok.stderr.decode()
    records[0].write_bytes(records[0].read_bytes().replace(b'"PASS"', b'"FAIL"'))
    bad = run("verify-evidence", str(folder))
    assert bad.returncode == 1 and records[0].name in bad.stderr.decode()
    assert run("verify-evidence", str(tmp_path / "missing")).returncode == 2
    assert run("verify-evidence", str(folder), "--head", "nothex").returncode == 2


def test_a_missing_policy_text_is_said_not_invented(tmp_path, monkeypatch):
    monkeypatch.setenv("RESIDENCY_POLICY_DOCUMENT", str(tmp_path / "absent.txt"))
    metadata = run_metadata(default_catalog(), None)
    assert metadata.policy_sha256 is None
    assert "not found" in metadata.to_json()["privacy_policy"]["missing"]


def test_check_with_evidence_imports_no_report_or_cloud_sdk(tmp_path):
    code = (
        "import sys, runpy, atexit\n"
        "atexit.register(lambda: print('LOADED', [m for m in ('boto3', 'kopf', 'pulumi', 'trestle', 'jinja2') "
        "if m in sys.modules]))\n"
        f"sys.argv = ['residency', 'check', {str(COMPLIANT)!r}, '--evidence', {str(tmp_path)!r}]\n"
        "runpy.run_module('policies.cli', run_name='__main__')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert "LOADED []" in proc.stdout.decode(), proc.stderr.decode()
    assert len(list(tmp_path.glob("0*.json"))) == 1


def test_a_report_kept_in_the_evidence_folder_is_rehashed(tmp_path):
    folder = tmp_path / "ev"
    report = folder / "reports" / "evidence.md"
    proc = run("report", str(COMPLIANT), "--output", str(report), "--evidence", str(folder))
    assert proc.returncode == 0, proc.stderr.decode()
    (record,) = folder.glob("0*-report.json")
    assert json.loads(record.read_text())["outputs"] == [
        {"file": "reports/evidence.md", "sha256": sha256(report)}
    ]
    assert verify(folder).intact
    report.write_text(report.read_text().replace("PASS", "PASS!"))
    problem = _problem(folder)
    assert "reports/evidence.md" in problem and "edited" in problem
