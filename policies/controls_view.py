"""`residency controls`: the catalogue as an auditor reads it (clause -> control -> rules)."""

from __future__ import annotations

import io
import json
from typing import Any

from policies.catalog import Catalog
from policies.registry import Rule, rule_metadata


def controls_json(catalog: Catalog, rules: dict[str, Rule]) -> dict[str, Any]:
    return {
        "policy": catalog.policy.model_dump(),
        "territory": catalog.territory.model_dump(),
        "categories": [c.model_dump() for c in catalog.categories],
        "controls": [
            {
                **c.model_dump(exclude_none=True),
                "rule_details": [rule_metadata(rules[r]) for r in c.rules if r in rules],
            }
            for c in catalog.controls
        ],
    }


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def controls_markdown(catalog: Catalog, rules: dict[str, Rule]) -> str:
    out = [f"# Controls catalogue: {catalog.policy.title}", ""]
    out.append(
        f"Territory: {', '.join(catalog.territory.allowed_regions)} (partition {catalog.territory.partition})"
    )
    out += [
        "",
        "## Data categories",
        "",
        "| category | personal | in territory | max retention | min retention |",
        "| --- | --- | --- | --- | --- |",
    ]
    for c in catalog.categories:
        out.append(
            f"| {c.id} ({_cell(c.title)}) | {'yes' if c.personal else 'no'} | {'yes' if c.in_territory else 'no'} "
            f"| {c.max_retention_days or '-'} | {c.min_retention_days or '-'} |"
        )
    out += [
        "",
        "## Controls",
        "",
        "| control | kind | clause | rules / reason |",
        "| --- | --- | --- | --- |",
    ]
    for c in catalog.controls:
        if c.kind == "organisational":
            impl = f"organisational: {_cell(c.reason or '')}"
        else:
            parts = [f"{r} {_cell(rules[r].title)}" for r in c.rules if r in rules]
            parts += [f"runtime: {k}" for k in c.runtime]
            impl = "<br>".join(parts)
        out.append(f'| **{c.id}** {_cell(c.title)} | {c.kind} | "{_cell(c.clause)}" | {impl} |')
    return "\n".join(out) + "\n"


def controls_table(catalog: Catalog, rules: dict[str, Rule], color: bool) -> str:
    from rich.console import Console
    from rich.table import Table

    buffer = io.StringIO()
    console = Console(file=buffer, width=140, color_system="auto" if color else None, force_terminal=color)
    table = Table(title=f"Controls: {catalog.policy.title}", show_lines=True)
    table.add_column("control", style="bold", width=30)
    table.add_column("kind", width=14)
    table.add_column("clause", ratio=3, min_width=30)
    table.add_column("rules / reason", ratio=2, min_width=24)
    for c in catalog.controls:
        if c.kind == "organisational":
            impl = c.reason or ""
        else:
            impl = "\n".join(
                [f"{r} {rules[r].title} [{rules[r].severity.value}]" for r in c.rules if r in rules]
                + [f"runtime: {k}" for k in c.runtime]
            )
        table.add_row(f"{c.id}\n{c.title}", c.kind, f"\u201c{c.clause}\u201d", impl)
    console.print(table)
    return buffer.getvalue()


def render_controls(catalog: Catalog, rules: dict[str, Rule], fmt: str, color: bool = False) -> str:
    if fmt == "json":
        return json.dumps(controls_json(catalog, rules), indent=2, ensure_ascii=False)
    if fmt == "markdown":
        return controls_markdown(catalog, rules)
    return controls_table(catalog, rules, color)
