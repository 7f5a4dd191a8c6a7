"""Reporters: every format renders the same Result, and each output is what its consumer accepts."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from policies.catalog import default_catalog
from policies.engine import Result
from policies.errors import InputError
from policies.model import Finding, Severity
from policies.registry import Rule
from policies.reports import FORMATS, get_reporter
from policies.reports.sarif import parse_source_position

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SARIF_SCHEMA = json.loads((FIXTURES / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))

PROJECT = "urn:pulumi:prod::shop"
BUCKET = "aws:s3/bucketV2:BucketV2"
TABLE = "aws:dynamodb/table:Table"


def _rule(id_: str, title: str, severity: Severity, remediation: str) -> Rule:
    return Rule(
        id=id_,
        title=title,
        severity=severity,
        types=None,
        remediation=remediation,
        func=lambda res, stack: None,
        description=f"{title}: checked on every data store.",
    )


# Real ids from the catalogue, so control lookups work; built directly so the test does not depend
# on the rule modules.
RULES = {
    r.id: r
    for r in [
        _rule(
            "RES-001", "Data stays in mainland China", Severity.CRITICAL, "Pin the provider to cn-north-1."
        ),
        _rule("ENC-001", "Encrypted with a customer-managed key", Severity.HIGH, "Set a KMS key | CMK."),
        _rule("ACC-001", "No public access", Severity.MEDIUM, "Add a public access block."),
        _rule("AUD-001", "Access is logged", Severity.LOW, "Enable access logging."),
    ]
}


def _finding(rule: Rule, type_: str, name: str, message: str, **kwargs) -> Finding:
    return Finding(
        rule=rule.id,
        controls=["CN-RES-1"] if rule.id == "RES-001" else ["SEC-ENC-1"],
        severity=rule.severity,
        urn=f"{PROJECT}::{type_}::{name}",
        type=type_,
        name=name,
        message=message,
        remediation=rule.remediation,
        **kwargs,
    )


def make_result(*, sources: list[str] | None = None) -> Result:
    findings = [
        _finding(
            RULES["RES-001"],
            BUCKET,
            "uploads",
            "BucketV2 'uploads' is in us-west-2; personal data must stay in cn-north-1 or cn-northwest-1: "
            "set the provider's region",
            source_position="project:///index.ts#5,20",
        ),
        _finding(
            RULES["ENC-001"],
            TABLE,
            "users",
            "Table 'users' uses key <unknown until apply> | cannot verify; pin the key ARN",
            unknown=True,
        ),
        _finding(
            RULES["ACC-001"],
            BUCKET,
            "public-assets",
            "BucketV2 'public-assets' allows public reads [bold]not markup[/bold]",
            waived=True,
            waiver_reason="static site assets, no personal data (SEC-42)",
        ),
    ]
    return Result(
        resources=7,
        findings=findings,
        sources=["preview.json"] if sources is None else sources,
        notices=["waiver W-7 for ACC-002 expired on 2024-01-31; renew it or fix the finding"],
    )


def render(fmt: str, result: Result | None = None, **kwargs) -> str:
    return get_reporter(fmt).render(result or make_result(), RULES, default_catalog(), **kwargs)


# --- registry ---------------------------------------------------------------------------------


def test_every_format_renders_text_ending_in_newline():
    assert FORMATS == ("table", "json", "sarif", "junit", "markdown", "html")
    for fmt in FORMATS:
        text = render(fmt)
        assert text.endswith("\n") and text.strip()


def test_unknown_format_names_the_choices():
    with pytest.raises(InputError, match="unknown format 'pdf'; use one of table, json, sarif"):
        get_reporter("pdf")


# --- json -------------------------------------------------------------------------------------


def test_json_round_trips_with_contract_keys():
    data = json.loads(render("json"))
    assert data == make_result().to_json()
    assert set(data["summary"]) >= {"resources", "findings", "by_severity"}
    assert data["summary"] == {
        "resources": 7,
        "findings": 2,
        "waived": 1,
        "by_severity": {"critical": 1, "high": 1, "medium": 0, "low": 0},
    }
    for item in data["findings"]:
        assert set(item) >= {"rule", "controls", "severity", "urn", "type", "message", "waived"}
    assert [f["waived"] for f in data["findings"]] == [False, False, True]
    assert "unknown until apply" in render("json")  # ensure_ascii=False keeps text readable


# --- sarif ------------------------------------------------------------------------------------


def _sarif(result: Result | None = None) -> dict:
    return json.loads(render("sarif", result))


@pytest.mark.parametrize(
    "result",
    [make_result(), make_result(sources=[]), Result(resources=0, findings=[])],
    ids=["findings", "stdin", "empty"],
)
def test_sarif_validates_against_the_official_schema(result):
    validator = jsonschema.Draft7Validator(
        SARIF_SCHEMA, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )
    errors = sorted(validator.iter_errors(_sarif(result)), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_sarif_run_tool_and_rules():
    log = _sarif()
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert log["version"] == "2.1.0"
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "residency"
    assert re.match(r"^\d+\.\d+\.\d+", driver["semanticVersion"])
    rules = {r["id"]: r for r in driver["rules"]}
    assert set(rules) == set(RULES)  # the passing rule AUD-001 is listed too
    res001 = rules["RES-001"]
    assert res001["shortDescription"]["text"] == "Data stays in mainland China"
    assert res001["help"]["text"] == "Pin the provider to cn-north-1."
    assert "CN-RES-1" in res001["help"]["markdown"]
    assert res001["defaultConfiguration"]["level"] == "error"
    assert res001["properties"]["tags"][:1] == ["CN-RES-1"]
    assert {"security", "data-residency"} <= set(res001["properties"]["tags"])
    assert {r: rules[r]["properties"]["security-severity"] for r in rules} == {
        "RES-001": "9.5",
        "ENC-001": "8.0",
        "ACC-001": "5.5",
        "AUD-001": "3.0",
    }
    assert run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"].startswith("waiver W-7")


def test_sarif_results_levels_locations_suppressions():
    (run,) = _sarif()["runs"]
    rules = run["tool"]["driver"]["rules"]
    results = run["results"]
    assert [r["ruleId"] for r in results] == ["RES-001", "ENC-001", "ACC-001"]
    assert [r["level"] for r in results] == ["error", "error", "warning"]
    for r in results:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
        assert r["locations"][0]["logicalLocations"][0]["kind"] == "resource"
        assert re.fullmatch(r"[0-9a-f]{64}", r["partialFingerprints"]["residency/v1"])
    declared, unknown, waived = results

    assert declared["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "index.ts"},
        "region": {"startLine": 5, "startColumn": 20},
    }
    assert declared["message"]["text"].endswith(
        "set the provider's region. Fix: Pin the provider to cn-north-1."
    )
    assert declared["locations"][0]["logicalLocations"][0] == {
        "fullyQualifiedName": f"{PROJECT}::{BUCKET}::uploads",
        "name": "uploads",
        "kind": "resource",
    }
    assert "suppressions" not in declared

    # No source position: the input file, line 1 (GitHub code scanning needs a physical location).
    assert unknown["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "preview.json"},
        "region": {"startLine": 1},
    }
    assert unknown["properties"]["unknown"] is True
    assert unknown["properties"]["controls"] == ["SEC-ENC-1"]

    assert waived["suppressions"] == [
        {
            "kind": "external",
            "status": "accepted",
            "justification": "static site assets, no personal data (SEC-42)",
        }
    ]


def test_sarif_fingerprints_are_stable_and_distinct():
    first = [r["partialFingerprints"] for r in _sarif()["runs"][0]["results"]]
    reworded = make_result()
    reworded.findings[0].message = "a different wording"
    second = [r["partialFingerprints"] for r in _sarif(reworded)["runs"][0]["results"]]
    assert first == second
    twice = make_result()
    twice.findings.append(twice.findings[0])
    prints = [r["partialFingerprints"]["residency/v1"] for r in _sarif(twice)["runs"][0]["results"]]
    assert len(set(prints)) == len(prints)


def test_sarif_stdin_input_points_at_the_project_file():
    (run,) = _sarif(make_result(sources=["<stdin>"]))["runs"]
    assert run["results"][1]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "Pulumi.yaml"


def test_sarif_rule_missing_from_rules_still_described():
    result = make_result()
    result.findings.append(_finding(_rule("XYZ-009", "x", Severity.LOW, "do y"), TABLE, "t", "m"))
    (run,) = _sarif(result)["runs"]
    last = run["results"][-1]
    assert run["tool"]["driver"]["rules"][last["ruleIndex"]]["id"] == "XYZ-009"
    assert last["level"] == "note"


@pytest.mark.parametrize(
    ("position", "expected"),
    [
        ("project:///index.ts#5,20", ("index.ts", 5, 20)),
        ("project:///src/buckets.py#12", ("src/buckets.py", 12, None)),
        ("file:///home/ci/app/index.ts#3,1", ("file:///home/ci/app/index.ts", 3, 1)),
        ("project:///index.ts", None),
        ("project:///index.ts#0,0", None),
        ("index.ts:5", None),
    ],
)
def test_parse_source_position(position, expected):
    assert parse_source_position(position) == expected


# --- junit ------------------------------------------------------------------------------------


def test_junit_suites_counts_and_cases():
    root = ET.fromstring(render("junit"))
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("4", "2", "1")
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {
        "ACC-001 No public access",
        "AUD-001 Access is logged",
        "ENC-001 Encrypted with a customer-managed key",
        "RES-001 Data stays in mainland China",
        "residency coverage",
        "residency notices",
    }

    res = suites["RES-001 Data stays in mainland China"]
    assert (res.get("tests"), res.get("failures"), res.get("skipped")) == ("1", "1", "0")
    (case,) = res.findall("testcase")
    assert case.get("classname") == "RES-001"
    assert case.get("name") == f"uploads ({BUCKET})"
    failure = case.find("failure")
    assert failure.get("type") == "critical"
    assert "us-west-2" in failure.get("message")
    assert "Fix: Pin the provider to cn-north-1." in failure.text
    assert f"{PROJECT}::{BUCKET}::uploads" in failure.text

    acc = suites["ACC-001 No public access"]
    assert (acc.get("tests"), acc.get("failures"), acc.get("skipped")) == ("1", "0", "1")
    skipped = acc.find("testcase/skipped")
    assert skipped.get("message") == "waived: static site assets, no personal data (SEC-42)"
    assert acc.find("testcase/failure") is None

    passing = suites["AUD-001 Access is logged"]
    (case,) = passing.findall("testcase")
    assert case.get("name") == "no findings" and len(case) == 0

    assert "waiver W-7" in suites["residency notices"].find("system-out").text


def test_junit_survives_control_characters():
    result = make_result()
    result.findings[0].message = "bad \x00 byte \x1b[31m"
    root = ET.fromstring(render("junit", result))
    assert root.get("failures") == "2"


# --- markdown ---------------------------------------------------------------------------------


def test_markdown_heading_summary_and_escaped_rows():
    text = render("markdown")
    assert text.startswith("## Residency check: 2 findings in 7 resources\n")
    assert "| 🟥 critical | 1 | 0 |" in text
    assert "| 🟨 medium | 0 | 1 |" in text
    assert "> **Notice:** waiver W-7" in text
    (enc_row,) = [line for line in text.splitlines() if line.startswith("| **ENC-001**")]
    assert "uses key &lt;unknown until apply&gt; \\| cannot verify" in enc_row
    assert "| Set a KMS key \\| CMK. |" in enc_row
    # Unescaped, the pipes would split the row into more cells than the header has.
    assert len(re.split(r"(?<!\\)\|", enc_row)) == len(
        re.split(r"(?<!\\)\|", "| Rule | Resource | Message | Fix |")
    )


def test_markdown_groups_by_severity_and_folds_waived():
    text = render("markdown")
    assert text.index("### 🟥 Critical (1)") < text.index("### 🟧 High (1)")
    details = text[text.index("<details>") : text.index("</details>")]
    assert "1 waived finding" in details
    assert "public-assets" in details and "SEC-42" in details
    assert "public-assets" not in text[: text.index("<details>")]


def test_markdown_newlines_in_cells_become_breaks():
    result = make_result()
    result.findings[0].message = "line one\nline two | three"
    result.findings[1].name = "__logs__"
    text = render("markdown", result)
    assert "line one<br>line two \\| three" in text
    assert "\\_\\_logs\\_\\_<br>" in text


def test_markdown_no_findings():
    text = render("markdown", Result(resources=3, findings=[]))
    assert text.startswith("## Residency check: no findings in 3 resources")
    assert "<details>" not in text
    # No severity sections, only the accounting every report carries.
    assert [line for line in text.splitlines() if line.startswith("###")] == [
        "### Coverage",
        "### Declarations",
    ]


def test_markdown_stays_under_the_comment_limit():
    many = make_result()
    many.findings = [
        _finding(RULES["ENC-001"], TABLE, f"t{i}", "x" * 300) for i in range(1000)
    ] + many.findings
    text = render("markdown", many)
    assert len(text) < 65_536
    assert "more findings not shown here" in text


# --- table ------------------------------------------------------------------------------------


def test_table_lists_findings_and_summary():
    text = render("table")
    for name, type_ in (("uploads", "BucketV2"), ("users", "Table"), ("public-assets", "BucketV2")):
        assert re.search(rf"│ {name} +│.*\n.*│ \({type_}\) +│", text), name
    assert "RES-001" in text and "CRITICAL" in text
    assert "(waived)" in text and "Waived: static site assets" in text
    assert "[bold]not markup[/bold]" in text  # messages are not read as rich markup
    assert "7 resources checked: 2 findings (1 critical, 1 high, 0 medium, 0 low), 1 waived." in text
    assert "Notice: waiver W-7" in text
    assert "\x1b[" not in text
    assert max(len(line) for line in text.splitlines()) <= 120


def test_table_color_uses_ansi_codes():
    assert "\x1b[" in render("table", color=True)


def test_table_no_findings():
    text = render("table", Result(resources=2, findings=[]))
    assert "No findings." in text
    assert "2 resources checked: 0 findings, 0 waived." in text


# --- end to end: a real preview through the real rules ------------------------------------------


def test_real_preview_renders_valid_sarif_and_consistent_junit():
    from paths import PUBLIC_FIXTURES

    from policies.check import run_check
    from policies.registry import all_rules

    preview = PUBLIC_FIXTURES / "dundalek-stratify-preview-creates-aws6.json"
    if not preview.exists():
        pytest.skip(f"{preview} is not present")
    result = run_check([str(preview)])
    assert result.findings, "the public preview is expected to have findings"
    rules, catalog = all_rules(), default_catalog()

    log = json.loads(get_reporter("sarif").render(result, rules, catalog))
    validator = jsonschema.Draft7Validator(SARIF_SCHEMA)
    assert not list(validator.iter_errors(log))
    (run,) = log["runs"]
    assert len(run["results"]) == len(result.findings)
    assert {r["id"] for r in run["tool"]["driver"]["rules"]} >= set(rules)
    # The preview records where each resource was declared; those become file/line locations.
    assert any(r["locations"][0]["physicalLocation"]["region"].get("startColumn") for r in run["results"])

    root = ET.fromstring(get_reporter("junit").render(result, rules, catalog))
    assert int(root.get("failures")) == len(result.findings)
    # One suite per rule, plus the coverage suite every report carries.
    assert len(root.findall("testsuite")) == len(rules) + 1
    assert root.findall("testsuite")[-1].get("name") == "residency coverage"
