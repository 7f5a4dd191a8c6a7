"""`residency report`: the auditor's HTML/markdown report, organised by privacy-policy clause.

The report quotes every clause of the policy that the catalogue maps (the data categories' too) and
every obligation sentence of the policy, names every control of the catalogue in its status matrix,
lists every rule's verdict per resource, and carries the run metadata with exact-byte digests.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markupsafe import escape
from paths import ROOT

from policies.catalog import DEFAULT_CATALOG, default_catalog
from policies.demo import EXAMPLES
from policies.registry import all_rules

COMPLIANT = EXAMPLES / "reference-compliant-preview.json"
NONCOMPLIANT = EXAMPLES / "global-template-preview.json"
POLICY = ROOT.parent / "shared" / "seed" / "privacy-policy.txt"
OBLIGATION = re.compile(
    r"\b(we will|we try|we provide|we endeavor|we take|we have established|you can|"
    r"you may access|we may change|we may disclose|we may update)\b",
    re.I,
)


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "policies.cli", *args], input=stdin, capture_output=True, timeout=180
    )


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u2022", " ")).strip()


class _Text(HTMLParser):
    """The visible text of an HTML document, and a check that every element is closed in order."""

    VOID = {"meta", "br", "img", "input", "link", "hr", "rect", "path", "circle", "line"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.in_style = False

    def handle_starttag(self, tag, attrs):  # noqa: ANN001
        if tag not in self.VOID:
            self.stack.append(tag)
        self.in_style = tag == "style"

    def handle_startendtag(self, tag, attrs):  # noqa: ANN001
        pass

    def handle_endtag(self, tag):  # noqa: ANN001
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else 'nothing'}>")
            return
        self.stack.pop()
        self.in_style = False

    def handle_data(self, data):  # noqa: ANN001
        if not self.in_style:
            self.parts.append(data)

    @property
    def text(self) -> str:
        return _norm(" ".join(self.parts))


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("report")
    out = folder / "report.html"
    proc = run(
        "report", str(NONCOMPLIANT), str(COMPLIANT), "--output", str(out), "--evidence", str(folder / "ev")
    )
    assert proc.returncode == 0, proc.stderr.decode()
    page = out.read_text(encoding="utf-8")
    parser = _Text()
    parser.feed(page)
    parser.close()
    return {"folder": folder, "path": out, "html": page, "parser": parser, "stderr": proc.stderr.decode()}


def test_html_is_well_formed_and_self_contained(report):
    parser = report["parser"]
    assert not parser.errors, parser.errors[:5]
    assert not parser.stack, parser.stack
    page = report["html"]
    assert page.lstrip().startswith("<!DOCTYPE html>")
    # Nothing fetched to view it: no scripts, no external styles, fonts or images.
    assert "<script" not in page
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "@import" not in page and "url(" not in page
    assert "<svg" in page and "@media print" in page


def test_every_clause_and_every_control_is_in_the_report(report):
    text = report["parser"].text
    catalog = default_catalog()
    for item in [*catalog.controls, *catalog.categories]:
        assert _norm(item.clause) in text, f"{item.id}: clause not quoted verbatim"
    for control in catalog.controls:
        assert control.id in text
        if control.kind == "organisational":
            assert _norm(control.reason or "") in text
    for rule_id in all_rules():
        assert rule_id in text


def test_every_line_of_the_policy_is_in_the_report_and_each_obligation_links_to_a_control(report):
    if not POLICY.exists():
        pytest.skip("privacy policy not beside the checkout")
    text = report["parser"].text
    page = report["html"]
    page = page[page.index('<section id="policy">') :]
    policy = POLICY.read_text(encoding="utf-8")
    for line in filter(None, map(_norm, policy.splitlines())):
        assert line in text, line
        if OBLIGATION.search(line):
            row = page[page.index(str(escape(line))) :]
            row = row[: row.index("</tr>")]
            assert 'href="#control-' in row or 'href="#category-' in row, f"no control for: {line}"


def test_control_matrix_and_resource_verdicts(report):
    text = report["parser"].text
    assert "Control status matrix" in text and "Executive summary" in text
    for status in ("passed", "failed", "organisational"):
        assert f"controls {status}" in text
    # Every rule lists the resources it judged, failed and passed alike.
    page = report["html"]
    assert 'class="status s-failed">failed' in page and 'class="status s-passed">passed' in page
    assert "Coverage" in text and "Classification declarations" in text


def test_retention_numbers_show_their_sources_and_flag_internal_decisions(report):
    text = report["parser"].text
    assert "Cybersecurity Law of the People's Republic of China (2016), Article 21(3)" in text
    assert "internal decision" in text and "Data Protection Officer" in text
    assert re.search(r"\d+ retention numbers rest on an internal decision", text)


def test_run_metadata_digests_are_of_exact_bytes(report):
    text = report["parser"].text
    for path in (NONCOMPLIANT, COMPLIANT):
        assert hashlib.sha256(path.read_bytes()).hexdigest() in text
    catalog_file = DEFAULT_CATALOG
    assert hashlib.sha256(catalog_file.read_bytes()).hexdigest() in text
    if POLICY.exists():
        assert hashlib.sha256(POLICY.read_bytes()).hexdigest() in text
    assert re.search(r"time \(UTC\) \d{4}-\d\d-\d\dT", text)
    record = sorted((report["folder"] / "ev").glob("0*.json"))[-1]
    assert f"sha256 {hashlib.sha256(record.read_bytes()).hexdigest()}" in report["stderr"]


def test_saved_json_result_gives_the_same_matrix_as_the_stack(tmp_path):
    saved = tmp_path / "result.json"
    proc = run("check", str(NONCOMPLIANT), "--format", "json", "--output", str(saved))
    assert proc.returncode == 1
    from_saved, from_stack = tmp_path / "saved.md", tmp_path / "stack.md"
    assert run("report", str(saved), "--output", str(from_saved)).returncode == 0
    assert run("report", "-", "--output", str(from_stack), stdin=NONCOMPLIANT.read_bytes()).returncode == 0

    def matrix(path: Path) -> str:
        text = path.read_text()
        return text[text.index("## Control status matrix") : text.index("## By clause")]

    assert matrix(from_saved) == matrix(from_stack)
    assert "saved-result" in from_saved.read_text() and "stdin" in from_stack.read_text()


def test_bad_invocations_exit_2(tmp_path):
    assert run("report", str(COMPLIANT), "--output", str(tmp_path / "r.pdf")).returncode == 2
    damaged = tmp_path / "damaged.json"
    damaged.write_text(json.dumps({"summary": {}, "findings": [{"rule": "RES-001"}], "coverage": {}}))
    proc = run("report", str(damaged), "--output", str(tmp_path / "r.html"))
    assert proc.returncode == 2 and "findings[0]" in proc.stderr.decode()


def _chromium() -> str | None:
    return next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)


def test_report_renders_in_headless_chromium(report, tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("no Chromium installed (Debian package `chromium`; .ci/run installs it)")
    shot = report["folder"] / "report.png"
    common = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    url = report["path"].resolve().as_uri()
    proc = subprocess.run(
        [*common, f"--screenshot={shot}", "--window-size=1200,2000", url], capture_output=True, timeout=120
    )
    assert shot.exists(), proc.stderr.decode()[-2000:]
    png = shot.read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 20_000  # a blank page is a few kB
    dom = subprocess.run([*common, "--dump-dom", url], capture_output=True, timeout=120).stdout.decode()
    assert "Executive summary" in dom and "Control status matrix" in dom
    keep = (
        Path(__import__("os").environ.get("RESIDENCY_SCREENSHOT", ""))
        if "RESIDENCY_SCREENSHOT" in __import__("os").environ
        else None
    )
    if keep:
        keep.write_bytes(png)
    assert html.unescape("&ldquo;") in dom  # clauses quoted
