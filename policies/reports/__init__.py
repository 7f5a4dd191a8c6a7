"""Reporters: one module per output format, looked up by name.

Every reporter module has the same one function:

    render(result, rules, catalog=None, *, color=False) -> str

`rules` maps rule id to `Rule` (the rules that ran, so formats that list passing rules can);
`catalog` adds control titles and clauses where a format has room for them. The text returned
ends with a newline; the CLI writes it as is to stdout or `--output`. Adding a format is a new
module plus one line in `_MODULES`, never an `if` in the CLI.

Reporter modules are imported on first use, so `residency check --format json` does not pay for rich.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from policies.errors import InputError
from policies.model import Finding, Severity

if TYPE_CHECKING:
    from policies.catalog import Catalog
    from policies.engine import Result
    from policies.registry import Rule

_MODULES: dict[str, str] = {
    "table": "policies.reports.table",
    "json": "policies.reports.json_report",
    "sarif": "policies.reports.sarif",
    "junit": "policies.reports.junit",
    "markdown": "policies.reports.markdown",
    # The auditor's evidence report (`residency report` writes it, with markdown, from a template).
    "html": "policies.reports.html",
}

#: The names `--format` accepts, the default first.
FORMATS: tuple[str, ...] = tuple(_MODULES)


class Reporter(Protocol):
    def render(
        self,
        result: Result,
        rules: dict[str, Rule],
        catalog: Catalog | None = None,
        *,
        color: bool = False,
    ) -> str: ...


def get_reporter(name: str) -> Reporter:
    """The reporter module for a format name; an unknown name is an `InputError` listing the formats."""
    module = _MODULES.get(name.strip().lower())
    if module is None:
        raise InputError(f"unknown format {name!r}; use one of {', '.join(FORMATS)}", source="--format")
    return importlib.import_module(module)  # type: ignore[return-value]


# --- helpers the reporters share -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """What a report says about a rule, whether or not its `Rule` object was passed in."""

    id: str
    title: str
    severity: Severity
    remediation: str
    description: str
    controls: tuple[str, ...]

    @property
    def heading(self) -> str:
        """`RES-001 Data stays in mainland China`, or just the id when the title is not known."""
        return self.id if self.title == self.id else f"{self.id} {self.title}"


def rule_infos(result: Result, rules: dict[str, Rule], catalog: Catalog | None = None) -> list[RuleInfo]:
    """Every rule passed in plus every rule a finding names, sorted by id.

    A finding whose rule is not in `rules` still gets an entry (built from the finding), so no
    finding ever points at a rule a report does not describe.
    """
    mapping = catalog.rule_controls() if catalog is not None else {}
    from_findings: dict[str, Finding] = {}
    controls_seen: dict[str, list[str]] = {}
    for f in result.findings:
        from_findings.setdefault(f.rule, f)
        seen = controls_seen.setdefault(f.rule, [])
        seen.extend(c for c in f.controls if c not in seen)
    infos: list[RuleInfo] = []
    for rule_id in sorted(set(rules) | set(from_findings)):
        controls = tuple(mapping.get(rule_id, ())) or tuple(controls_seen.get(rule_id, ()))
        r = rules.get(rule_id)
        if r is not None:
            infos.append(RuleInfo(r.id, r.title, r.severity, r.remediation, r.description, controls))
        else:
            f = from_findings[rule_id]
            infos.append(RuleInfo(rule_id, rule_id, f.severity, f.remediation, "", controls))
    return infos


def short_type(type_token: str) -> str:
    """`aws:s3/bucketV2:BucketV2` -> `BucketV2`, as `Resource.label` names types."""
    return type_token.rsplit(":", 1)[-1]


def with_fix(message: str, remediation: str) -> str:
    """The message followed by `Fix: remediation`, unless the message already ends with it."""
    text = message.strip()
    fix = remediation.strip()
    if not fix or text.endswith(fix):
        return text
    if text and text[-1] not in ".!?":
        text += "."
    return f"{text} Fix: {fix}"


def severity_counts_text(counts: dict[str, int], *, skip_zero: bool = False) -> str:
    """`1 critical, 2 high, 0 medium, 0 low` in severity order."""
    parts = [f"{counts.get(s.value, 0)} {s.value}" for s in Severity]
    if skip_zero:
        parts = [p for p, s in zip(parts, Severity, strict=True) if counts.get(s.value, 0)]
    return ", ".join(parts)


def summary_text(result: Result) -> str:
    """`12 resources checked: 3 findings (1 critical, 2 high, 0 medium, 0 low), 1 waived.`"""
    summary = result.summary()
    findings = summary["findings"]
    noun = "finding" if findings == 1 else "findings"
    resources = summary["resources"]
    res_noun = "resource" if resources == 1 else "resources"
    text = f"{resources} {res_noun} checked: {findings} {noun}"
    if findings:
        text += f" ({severity_counts_text(summary['by_severity'])})"
    return text + f", {summary['waived']} waived."


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def by_severity(findings: Iterable[Finding]) -> dict[Severity, list[Finding]]:
    """Findings grouped by severity, most severe first, keeping their order inside a group."""
    groups: dict[Severity, list[Finding]] = {s: [] for s in Severity}
    for f in findings:
        groups[f.severity].append(f)
    return {s: items for s, items in groups.items() if items}
