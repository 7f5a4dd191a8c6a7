"""`--format markdown`: a pull-request comment or a GitHub job summary.

A heading with the counts, a table by severity, the findings grouped by severity (rule, resource,
message, fix), and the waived findings folded in a `<details>`. Every cell is escaped: a `|` would
split a cell, a newline would end the table, and `<unknown until apply>` would vanish as an HTML tag.
The text stays under GitHub's 65,536-character comment limit by leaving out rows past a budget,
and says how many it left out.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from policies.model import Finding, Severity
from policies.reports import by_severity, plural, short_type, summary_text

if TYPE_CHECKING:
    from policies.catalog import Catalog
    from policies.engine import Result
    from policies.registry import Rule

#: Stay well under GitHub's comment limit (65,536 characters).
MAX_CHARS = 60_000

_ICON = {Severity.CRITICAL: "🟥", Severity.HIGH: "🟧", Severity.MEDIUM: "🟨", Severity.LOW: "🟦"}


#: Escaped with a backslash: the backslash itself first, then what splits a cell or adds emphasis
#: (`__logs__` would render bold). Backticks stay: rule text may mark code with them.
_MARKDOWN_SPECIAL = ("\\", "|", "*", "_", "~")


def cell(text: str) -> str:
    """Text safe inside a GFM table cell: HTML and emphasis escaped, `|` escaped, line breaks as `<br>`."""
    escaped = html.escape(text.strip(), quote=False)
    for char in _MARKDOWN_SPECIAL:
        escaped = escaped.replace(char, "\\" + char)
    return "<br>".join(line.strip() for line in escaped.splitlines()) or " "


def render(
    result: Result,
    rules: dict[str, Rule],
    catalog: Catalog | None = None,
    *,
    color: bool = False,
) -> str:
    summary = result.summary()
    active = [f for f in result.findings if not f.waived]
    waived = [f for f in result.findings if f.waived]
    titles = {rule_id: r.title for rule_id, r in rules.items()}

    head: list[str] = []
    if active:
        head.append(
            f"## Residency check: {plural(len(active), 'finding')} in "
            f"{plural(summary['resources'], 'resource')}"
        )
    else:
        head.append(f"## Residency check: no findings in {plural(summary['resources'], 'resource')}")
    head += ["", summary_text(result), "", f"**Coverage:** {result.coverage.summary_text()}.", ""]
    head += ["| Severity | Findings | Waived |", "| --- | ---: | ---: |"]
    waived_counts = result.by_severity(include_waived=True)
    for s in Severity:
        count = summary["by_severity"].get(s.value, 0)
        head.append(f"| {_ICON[s]} {s.value} | {count} | {waived_counts.get(s.value, 0) - count} |")
    if result.drift is not None:
        from policies.drift import drift_line

        head += [f"**{cell(drift_line(result.drift) or '')}**", ""]
    if result.notices:
        head.append("")
        head += [f"> **Notice:** {cell(notice)}  " for notice in result.notices]

    budget = MAX_CHARS - sum(len(line) + 1 for line in head)
    body: list[str] = []
    omitted = 0
    for severity, findings in by_severity(active).items():
        section = [
            "",
            f"### {_ICON[severity]} {severity.value.capitalize()} ({len(findings)})",
            "",
            "| Rule | Resource | Message | Fix |",
            "| --- | --- | --- | --- |",
        ]
        rows = [_row(f, titles) for f in findings]
        shown, budget = _fit(section, rows, budget)
        if shown:
            body += section + rows[:shown]
        omitted += len(rows) - shown
        if shown < len(rows):
            budget = 0  # show the most severe first; never a low row in place of a critical one

    if waived:
        section = [
            "",
            f"<details><summary>{plural(len(waived), 'waived finding')}</summary>",
            "",
            "| Rule | Resource | Message | Waiver |",
            "| --- | --- | --- | --- |",
        ]
        rows = [_waived_row(f, titles) for f in waived]
        shown, budget = _fit(section, rows, budget - len("\n</details>\n"))
        if shown:
            body += [*section, *rows[:shown], "", "</details>"]
        omitted += len(rows) - shown

    if omitted:
        body += ["", f"_{plural(omitted, 'more finding')} not shown here; see the SARIF or JSON report._"]
    body += _accounting(result, max(budget, 4_000))
    return "\n".join(head + body).rstrip() + "\n"


def _accounting(result: Result, budget: int) -> list[str]:
    """The coverage and declarations sections: what was not evaluated, and what declared itself."""
    out: list[str] = []
    coverage = result.coverage
    section = [
        "",
        "### Coverage",
        "",
        f"{coverage.summary_text()}. Rule families that ran: "
        + (", ".join(f"{name} ({n})" for name, n in coverage.families().items()) or "none")
        + ".",
    ]
    rows: list[str] = []
    if coverage.not_evaluated:
        section += ["", "| Not evaluated | Type | Reason |", "| --- | --- | --- |"]
        rows = [f"| {cell(u)} | {cell(short_type(t))} | {cell(r)} |" for u, t, r in coverage.not_evaluated]
    shown, budget = _fit(section, rows, budget)
    out += section + rows[:shown]
    if shown < len(rows):
        out += ["", f"_{plural(len(rows) - shown, 'more resource')} not evaluated; see the JSON report._"]
    section = ["", "### Declarations", ""]
    if not result.declarations:
        return [*out, *section, "No resource declares a classification that relaxes a rule."]
    section += [
        "Classifications that relax a rule (non-personal, or kept longer than unclassified data):",
        "",
        "| Resource | Category | Source | Attested |",
        "| --- | --- | --- | --- |",
    ]
    rows = [
        f"| {cell(d.urn)} | {cell(d.category)} | {cell(d.source)} | {cell(d.attested_by or 'no')} |"
        for d in result.declarations
    ]
    shown, budget = _fit(section, rows, budget)
    out += section + rows[:shown]
    if shown < len(rows):
        out += ["", f"_{plural(len(rows) - shown, 'more declaration')} not shown; see the JSON report._"]
    return out


def _fit(section: list[str], rows: list[str], budget: int) -> tuple[int, int]:
    """How many rows fit in the budget after the section heading, and the budget left."""
    cost = sum(len(line) + 1 for line in section)
    shown = 0
    for row in rows:
        if cost + len(row) + 1 > budget:
            break
        cost += len(row) + 1
        shown += 1
    if shown == 0:
        return 0, budget
    return shown, budget - cost


def _rule_cell(f: Finding, titles: dict[str, str]) -> str:
    title = titles.get(f.rule)
    return f"**{cell(f.rule)}**" + (f"<br>{cell(title)}" if title else "")


def _resource_cell(f: Finding) -> str:
    return f"{cell(f.name)}<br><sub>{cell(short_type(f.type))}</sub>"


def _message_cell(f: Finding) -> str:
    text = cell(f.message)
    if f.unknown:
        text += "<br><sub>unknown until apply: fails closed</sub>"
    if f.error:
        text += "<br><sub>could not be checked (the rule failed): fails closed</sub>"
    return text


def _row(f: Finding, titles: dict[str, str]) -> str:
    return f"| {_rule_cell(f, titles)} | {_resource_cell(f)} | {_message_cell(f)} | {cell(f.remediation)} |"


def _waived_row(f: Finding, titles: dict[str, str]) -> str:
    reason = f.waiver_reason or "no reason given"
    return f"| {_rule_cell(f, titles)} | {_resource_cell(f)} | {_message_cell(f)} | {cell(reason)} |"
