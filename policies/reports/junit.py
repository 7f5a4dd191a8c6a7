"""`--format junit`: JUnit XML for CI test-report views (GitLab, Jenkins, Azure, test-reporter actions).

One `<testsuite>` per rule that ran; each finding is a failing `<testcase>` named after the resource,
a waived finding is `<skipped>`, and a rule without findings has one passing "no findings" case, so
the report shows what passed as well as what failed. Waiver notices go to `<system-out>`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from policies.model import Finding
from policies.reports import rule_infos

if TYPE_CHECKING:
    from policies.catalog import Catalog
    from policies.engine import Result
    from policies.registry import Rule

# Characters XML 1.0 cannot carry, even escaped; a message with one would make the file unreadable.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def render(
    result: Result,
    rules: dict[str, Rule],
    catalog: Catalog | None = None,
    *,
    color: bool = False,
) -> str:
    infos = rule_infos(result, rules, catalog)
    by_rule: dict[str, list[Finding]] = {}
    for f in result.findings:
        by_rule.setdefault(f.rule, []).append(f)

    root = ET.Element("testsuites", name="residency")
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for info in infos:
        findings = by_rule.get(info.id, [])
        suite = ET.SubElement(root, "testsuite", name=_clean(info.heading))
        counts = {"tests": max(len(findings), 1), "failures": 0, "skipped": 0}
        if info.controls:
            props = ET.SubElement(suite, "properties")
            ET.SubElement(props, "property", name="controls", value=" ".join(info.controls))
            ET.SubElement(props, "property", name="severity", value=info.severity.value)
        if not findings:
            ET.SubElement(suite, "testcase", classname=info.id, name="no findings", time="0")
        for f in findings:
            case = ET.SubElement(
                suite, "testcase", classname=f.rule, name=_clean(f"{f.name} ({f.type})"), time="0"
            )
            if f.waived:
                counts["skipped"] += 1
                reason = f.waiver_reason or "no reason given"
                skipped = ET.SubElement(case, "skipped", message=_clean(f"waived: {reason}"))
                skipped.text = _clean(_body(f))
            else:
                counts["failures"] += 1
                failure = ET.SubElement(case, "failure", message=_clean(f.message), type=f.severity.value)
                failure.text = _clean(_body(f))
        _set_counts(suite, counts)
        for key in totals:
            totals[key] += counts[key]
    coverage_counts = _coverage_suite(root, result)
    for key in totals:
        totals[key] += coverage_counts[key]
    if result.drift is not None:
        from policies.drift import drift_line

        # The drift findings are failures of their DRIFT rules above; this is the summary line.
        suite = ET.SubElement(root, "testsuite", name="residency drift")
        _set_counts(suite, {"tests": 0, "failures": 0, "skipped": 0})
        ET.SubElement(suite, "system-out").text = _clean(drift_line(result.drift) or "")
    if result.notices:
        suite = ET.SubElement(root, "testsuite", name="residency notices")
        _set_counts(suite, {"tests": 0, "failures": 0, "skipped": 0})
        out = ET.SubElement(suite, "system-out")
        out.text = _clean("\n".join(f"Notice: {n}" for n in result.notices))
    _set_counts(root, totals)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _coverage_suite(root: ET.Element, result: Result) -> dict[str, int]:
    """Coverage as a suite: each not-evaluated resource a skipped case (nothing looked at it), and the
    declarations in `<system-out>`."""
    coverage = result.coverage
    suite = ET.SubElement(root, "testsuite", name="residency coverage")
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="evaluated", value=str(len(coverage.evaluated)))
    ET.SubElement(props, "property", name="not_applicable", value=str(len(coverage.not_applicable)))
    ET.SubElement(props, "property", name="not_evaluated", value=str(len(coverage.not_evaluated)))
    counts = {"tests": 0, "failures": 0, "skipped": 0}
    for urn, type_token, reason in coverage.not_evaluated:
        case = ET.SubElement(
            suite, "testcase", classname="coverage", name=_clean(f"{urn} ({type_token})"), time="0"
        )
        ET.SubElement(case, "skipped", message=_clean(f"not evaluated: {reason}"))
        counts["tests"] += 1
        counts["skipped"] += 1
    lines = [f"Coverage: {coverage.summary_text()}."]
    lines += [
        f"Declared {d.category}: {d.urn} (from its {d.source}; "
        + (f"attested: {d.attested_by})" if d.attested_by else "no attestation)")
        for d in result.declarations
    ]
    out = ET.SubElement(suite, "system-out")
    out.text = _clean("\n".join(lines))
    _set_counts(suite, counts)
    return counts


def _body(f: Finding) -> str:
    lines = [f.message]
    if f.remediation:
        lines.append(f"Fix: {f.remediation}")
    lines.append(f"Resource: {f.urn}")
    if f.controls:
        lines.append(f"Controls: {', '.join(f.controls)}")
    if f.unknown:
        lines.append("A value is unknown until apply; the check fails closed.")
    if f.error:
        lines.append("The rule failed on this resource, so it could not be checked; the check fails closed.")
    if f.waived:
        lines.append(f"Waived: {f.waiver_reason or 'no reason given'}")
    return "\n".join(lines)


def _set_counts(element: ET.Element, counts: dict[str, int]) -> None:
    element.set("tests", str(counts["tests"]))
    element.set("failures", str(counts["failures"]))
    element.set("errors", "0")
    element.set("skipped", str(counts["skipped"]))
    element.set("time", "0")


def _clean(text: str) -> str:
    return _XML_INVALID.sub("\ufffd", text)
