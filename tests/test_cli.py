"""`residency check` as a CI pipeline runs it: exit codes, formats, stdin, and bad input."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from honesty import no_crash
from paths import PUBLIC_FIXTURES

from policies.demo import EXAMPLES

COMPLIANT = str(EXAMPLES / "reference-compliant-preview.json")
NONCOMPLIANT = str(EXAMPLES / "global-template-preview.json")


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "policies.cli", *args], input=stdin, capture_output=True, timeout=120
    )


def assert_bad_input(proc: subprocess.CompletedProcess, *fragments: str) -> None:
    err = proc.stderr.decode()
    assert proc.returncode == 2, (proc.returncode, err, proc.stdout.decode()[:500])
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_compliant_reference_stack_passes_with_exit_0():
    proc = run("check", COMPLIANT)
    assert proc.returncode == 0, proc.stdout.decode()
    assert "PASS" in proc.stdout.decode()


def test_noncompliant_stack_fails_with_exit_1_and_json_contract():
    proc = run("check", NONCOMPLIANT, "--format", "json")
    assert proc.returncode == 1
    data = no_crash(json.loads(proc.stdout))
    assert set(data) == {"summary", "findings", "coverage", "declarations", "notices"}
    assert set(data["summary"]) >= {"resources", "findings", "by_severity"}
    assert set(data["summary"]["by_severity"]) == {"critical", "high", "medium", "low"}
    assert data["summary"]["findings"] == len([f for f in data["findings"] if not f["waived"]])
    for finding in data["findings"]:
        assert set(finding) >= {
            "rule",
            "controls",
            "severity",
            "urn",
            "type",
            "message",
            "waived",
            "unknown",
            "error",
        }
        assert finding["severity"] in ("critical", "high", "medium", "low")
        assert finding["controls"], finding["rule"]
    res001 = [f["message"] for f in data["findings"] if f["rule"] == "RES-001"]
    assert any(" is in us-west-2 " in m for m in res001), res001


def test_stdin_dash_reads_the_preview():
    proc = run("check", "-", "--format", "json", stdin=Path(NONCOMPLIANT).read_bytes())
    assert proc.returncode == 1
    data = no_crash(json.loads(proc.stdout))
    assert data["summary"]["resources"] > 0
    # The same verdicts as reading the file.
    from_file = no_crash(json.loads(run("check", NONCOMPLIANT, "--format", "json").stdout))
    assert {(f["rule"], f["urn"]) for f in data["findings"]} == {
        (f["rule"], f["urn"]) for f in from_file["findings"]
    }


def test_fail_on_threshold_and_none(tmp_path):
    data = no_crash(json.loads(run("check", NONCOMPLIANT, "--format", "json").stdout))
    severities = {f["severity"] for f in data["findings"]}
    assert "critical" in severities
    assert run("check", NONCOMPLIANT, "--fail-on", "critical").returncode == 1
    assert run("check", NONCOMPLIANT, "--fail-on", "none").returncode == 0


def test_output_file_is_written_and_verdict_printed(tmp_path):
    out = tmp_path / "reports" / "r.sarif"
    proc = run("check", NONCOMPLIANT, "--format", "sarif", "--output", str(out))
    assert proc.returncode == 1
    log = json.loads(out.read_text())
    assert log["version"] == "2.1.0"
    assert not [r for r in log["runs"][0]["results"] if r["properties"].get("error")]
    assert "FAIL" in proc.stdout.decode()


def test_waivers_hide_findings_and_expired_ones_are_reported(tmp_path):
    data = no_crash(json.loads(run("check", NONCOMPLIANT, "--format", "json").stdout))
    critical = [f for f in data["findings"] if f["severity"] == "critical"]
    lines = ["waivers:"]
    for f in {(f["rule"], f["urn"]) for f in critical}:
        lines += [
            f"  - rule: {f[0]}",
            f"    urn: '{f[1]}'",
            "    reason: accepted for the migration window",
            "    owner: platform@pushauction.com",
            "    expires: 2999-01-01",
        ]
    lines += [
        "  - rule: RES-001",
        "    urn: 'urn:pulumi:*'",
        "    reason: an old waiver nobody renewed",
        "    owner: someone@pushauction.com",
        "    expires: 2001-01-01",
    ]
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text("\n".join(lines) + "\n")
    proc = run("check", NONCOMPLIANT, "--format", "json", "--waivers", str(waivers), "--fail-on", "critical")
    assert proc.returncode == 0, proc.stderr.decode()
    out = no_crash(json.loads(proc.stdout))
    assert all(f["waived"] for f in out["findings"] if f["severity"] == "critical")
    assert any("expired on 2001-01-01" in n for n in out["notices"])
    assert "expired" in proc.stderr.decode()


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        (b'{"steps": [{"op": "create", "urn": "urn:pulumi:a::b::c::d"', ("not valid JSON", "truncated")),
        (b"", ("is empty",)),
        (bytes(range(256)) * 8, ("binary",)),
        (b"[1, 2, 3]", ("JSON array",)),
        (b'{"config": {}, "steps": []}', ("no steps",)),
        (b'{"version": 9, "deployment": {"resources": []}}', ("version 9 is not supported",)),
    ],
    ids=["truncated", "empty", "binary", "array", "no-steps", "unknown-export-version"],
)
def test_bad_input_files_exit_2_with_one_line(tmp_path, content, fragments):
    path = tmp_path / "input.json"
    path.write_bytes(content)
    assert_bad_input(run("check", str(path)), str(path), *fragments)


def test_unreadable_paths_exit_2(tmp_path):
    assert_bad_input(run("check", str(tmp_path / "missing.json")), "no such file")
    assert_bad_input(run("check", str(tmp_path)), "is a directory")


@pytest.mark.parametrize(
    ("waivers", "fragments"),
    [
        ("waivers: [", ("not valid YAML",)),
        ("- just a list", ("'waivers' list",)),
        ("waivers:\n  - rule: RES-001\n    urn: 'urn:pulumi:*'\n", ("waiver 1", "reason", "required")),
        (
            "waivers:\n  - rule: RES-001\n    urn: 'urn:pulumi:*'\n    reason: because we must\n"
            "    owner: me@x\n    expires: next week\n",
            ("waiver 1", "expires", "date"),
        ),
        (
            "waivers:\n  - rule: XYZ-999\n    urn: 'urn:pulumi:*'\n    reason: because we must\n"
            "    owner: me@x\n    expires: 2030-01-01\n",
            ("no rule XYZ-999",),
        ),
    ],
    ids=["yaml-syntax", "not-a-mapping", "missing-field", "bad-date", "unknown-rule"],
)
def test_malformed_waivers_exit_2(tmp_path, waivers, fragments):
    path = tmp_path / "waivers.yaml"
    path.write_text(waivers)
    assert_bad_input(run("check", NONCOMPLIANT, "--waivers", str(path)), *fragments)


def test_bad_options_exit_2():
    assert_bad_input(run("check", COMPLIANT, "--format", "xml"), "--format")
    assert_bad_input(run("check", COMPLIANT, "--fail-on", "severe"), "--fail-on")
    assert run("check").returncode == 2


def test_bad_catalog_exits_2(tmp_path):
    bad = tmp_path / "catalog.yaml"
    bad.write_text("version: 1\nterritory: {allowed_regions: [mars-1]}\n")
    assert_bad_input(run("check", COMPLIANT, "--catalog", str(bad)), "catalog.yaml")


def test_help_is_fast_path_without_heavy_imports():
    code = (
        "import sys, runpy; sys.argv=['residency','--help']\n"
        "try:\n    runpy.run_module('policies.cli', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "heavy = [m for m in ('pulumi_aws', 'boto3', 'kopf', 'parliament', 'pydantic') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert "HEAVY []" in proc.stdout.decode()


def test_check_command_never_imports_cloud_sdks():
    code = (
        "import sys, runpy, atexit\n"
        "atexit.register(lambda: print('LOADED', [m for m in ('pulumi_aws', 'boto3', 'kopf', 'pulumi', "
        "'parliament', 'grpc', 'trestle', 'jinja2') if m in sys.modules]))\n"
        f"sys.argv = ['residency', 'check', {NONCOMPLIANT!r}, {COMPLIANT!r}, '--format', 'sarif']\n"
        "runpy.run_module('policies.cli', run_name='__main__')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert "LOADED []" in proc.stdout.decode(), proc.stderr.decode()


def test_controls_lists_every_clause_and_rule():
    proc = run("controls", "--format", "json")
    assert proc.returncode == 0, proc.stderr.decode()
    data = json.loads(proc.stdout)
    kinds = {c["kind"] for c in data["controls"]}
    assert kinds == {"technical", "runtime", "organisational"}
    assert all(c.get("reason") for c in data["controls"] if c["kind"] == "organisational")


def test_controls_table_shows_clause_and_rules_readably():
    proc = run("controls")
    out = proc.stdout.decode()
    assert proc.returncode == 0
    assert "CN-RES-1" in out and "RES-001 Data stores stay in mainland China" in out
    assert "\u2026" not in out.split("CN-RES-1")[1][:2000], "columns must not be squeezed to ellipses"


def test_demo_tells_the_story_in_80_columns_and_writes_the_evidence(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "policies.cli", "demo", "--out", str(tmp_path / "demo")],
        capture_output=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "80"},
    )
    out = proc.stdout.decode()
    assert proc.returncode == 0, out + proc.stderr.decode()
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80, max(lines, key=len)
    # Rule titles and one-line messages, not just ids; "expected to fail" in words; verdicts.
    assert "RES-001 Data stores stay in mainland China" in out
    assert "Bucket 'crash-dumps'" in out
    assert "Expected to PASS:" in out and "Expected to FAIL:" in out
    if PUBLIC_FIXTURES.is_dir():
        assert "written for global AWS regions" in out
    assert "PASS, as expected" in out and "FAIL, as expected" in out
    assert "VERDICT (check): PASS" in out and lines[-1].startswith("VERDICT: PASS")
    # The reports and the run records are written, their paths printed, the chain intact.
    unwrapped = re.sub(r"\n\s*", "", out)  # a path longer than a line is wrapped
    for name in ("report-reference-compliant.html", "report-global-template.html"):
        report = tmp_path / "demo" / name
        assert str(report) in unwrapped and report.read_text().lstrip().startswith("<!DOCTYPE html>")
    records = sorted((tmp_path / "demo" / "evidence").glob("0*.json"))
    assert len(records) >= 4 and str(tmp_path / "demo" / "evidence") in unwrapped
    assert any(json.loads(r.read_text())["command"] == "enforce" for r in records)
    assert "hash chain: intact" in out
    assert run("verify-evidence", str(tmp_path / "demo" / "evidence")).returncode == 0


def test_demo_follows_columns(tmp_path):
    import io

    from policies.demo import WrappedOutput, terminal_width

    target = io.StringIO()
    wrapped = WrappedOutput(target, 40)
    wrapped.write("  " + "word " * 30 + "\n")
    wrapped.say("a paragraph " * 10, indent=3)
    wrapped.clip("x" * 100, indent=2)
    wrapped.write("  ok   pending ")
    wrapped.flush()  # rich flushes mid-line: nothing is cut there
    wrapped.write("line\n")
    text = target.getvalue()
    assert all(len(line) <= 40 for line in text.splitlines()), text
    assert "  ok   pending line" in text and text.count("...") == 1
    os.environ["COLUMNS"] = "123"
    try:
        assert terminal_width() == 123
    finally:
        del os.environ["COLUMNS"]
