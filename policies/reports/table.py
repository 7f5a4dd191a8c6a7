"""`--format table` (the default): findings as a table for a terminal or a CI log, then a summary.

Plain text unless `color` is set, so a CI log shows no escape codes; the width is fixed (120 columns)
so the output is the same on every machine. The CLI prints the pass/fail verdict after this text.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from policies.model import Severity
from policies.reports import short_type, summary_text

if TYPE_CHECKING:
    from policies.catalog import Catalog
    from policies.engine import Result
    from policies.registry import Rule

WIDTH = 120
#: Not-evaluated resources and declarations listed under the table; the rest are counted.
_LISTED = 20

_STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
}


def render(
    result: Result,
    rules: dict[str, Rule],
    catalog: Catalog | None = None,
    *,
    color: bool = False,
    width: int = WIDTH,
) -> str:
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    out = io.StringIO()
    console = Console(
        file=out,
        width=width,
        color_system="standard" if color else None,
        force_terminal=color,
        no_color=not color,
        highlight=False,
        emoji=False,
        markup=False,
        soft_wrap=False,
    )
    if result.findings:
        table = Table(box=box.SQUARE, show_lines=True, expand=False, header_style="bold" if color else None)
        table.add_column("Severity", no_wrap=True)
        table.add_column("Rule", no_wrap=True)
        table.add_column("Resource", max_width=36, overflow="fold")
        table.add_column("Finding", ratio=1, overflow="fold")
        for f in result.findings:
            severity = Text(f.severity.value.upper(), style=_STYLE[f.severity] if color else "")
            finding = Text(f.message)
            if f.unknown:
                finding.append("\n(unknown until apply: fails closed)", style="dim" if color else "")
            if f.error:
                finding.append(
                    "\n(could not be checked: the rule failed; fails closed)", style="dim" if color else ""
                )
            if f.waived:
                severity = Text(f"{f.severity.value.upper()}\n(waived)", style="dim" if color else "")
                finding.append(
                    f"\nWaived: {f.waiver_reason or 'no reason given'}", style="dim" if color else ""
                )
            resource = Text(f"{f.name}\n({short_type(f.type)})")
            table.add_row(severity, Text(f.rule), resource, finding)
        console.print(table)
    else:
        console.print(Text("No findings."))
    console.print(Text(summary_text(result)))
    if result.drift is not None:
        from policies.drift import drift_line

        console.print(Text(drift_line(result.drift) or ""))
    for urn, type_token, reason in result.coverage.not_evaluated[:_LISTED]:
        console.print(
            Text(
                f"Not evaluated: {urn} ({short_type(type_token)}): {reason}", style="yellow" if color else ""
            )
        )
    if len(result.coverage.not_evaluated) > _LISTED:
        console.print(
            Text(
                f"... and {len(result.coverage.not_evaluated) - _LISTED} more not evaluated (see --format json)"
            )
        )
    for d in result.declarations[:_LISTED]:
        attested = f"attested: {d.attested_by}" if d.attested_by else "no attestation"
        console.print(Text(f"Declared {d.category}: {d.urn} (from its {d.source}; {attested})"))
    if len(result.declarations) > _LISTED:
        console.print(
            Text(f"... and {len(result.declarations) - _LISTED} more declarations (see --format json)")
        )
    for notice in result.notices:
        console.print(Text(f"Notice: {notice}", style="yellow" if color else ""))
    return out.getvalue()
