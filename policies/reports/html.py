"""The auditor's evidence report, as one self-contained HTML file (or markdown), from jinja2 templates.

Organised as the privacy policy is: each clause quoted verbatim (the data categories' clauses too),
the controls that implement it, the rules behind each control and every resource each rule passed,
failed, waived or could not evaluate; then the classification declarations, the coverage and the
run metadata (tool version, catalogue and policy-text sha256, commit, input digests, UTC time). An
executive summary with an inline SVG chart of control status by family comes first.

The HTML needs no network (styles inline, no scripts, no fonts or images fetched) and prints on
A4/Letter. Templates live beside this module in `templates/`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from policies.reports.auditor import (
    CONTROL_STATUSES,
    FAILED,
    NOT_EVALUATED,
    ORGANISATIONAL,
    PASSED,
    AuditView,
    build,
)

if TYPE_CHECKING:
    from policies.catalog import Catalog
    from policies.engine import Result
    from policies.evidence import RunMetadata
    from policies.registry import Rule

TEMPLATES = Path(__file__).with_name("templates")
#: Passed resources listed per rule before the rest are counted (failed, waived and not evaluated
#: resources are always all listed).
MAX_PASSED_LISTED = 500
COLORS = {PASSED: "#1a7f37", FAILED: "#cf222e", NOT_EVALUATED: "#9a6700", ORGANISATIONAL: "#6e7781"}


def render(
    result: Result,
    rules: dict[str, Rule],
    catalog: Catalog | None = None,
    *,
    color: bool = False,
    run: RunMetadata | None = None,
    saved_inputs: list[str] | None = None,
) -> str:
    """The HTML report (the `html` format; `residency report --output FILE.html`)."""
    view = audit_view(result, rules, catalog, run, saved_inputs)
    return _environment().get_template("report.html.j2").render(**_context(view)) + "\n"


def render_markdown(
    result: Result,
    rules: dict[str, Rule],
    catalog: Catalog | None = None,
    *,
    run: RunMetadata | None = None,
    saved_inputs: list[str] | None = None,
) -> str:
    """The same report in markdown (`residency report --output FILE.md`)."""
    view = audit_view(result, rules, catalog, run, saved_inputs)
    return _environment(markdown=True).get_template("report.md.j2").render(**_context(view)).rstrip() + "\n"


def audit_view(
    result: Result,
    rules: dict[str, Rule],
    catalog: Catalog | None,
    run: RunMetadata | None,
    saved_inputs: list[str] | None = None,
) -> AuditView:
    from policies.catalog import default_catalog
    from policies.evidence import run_metadata

    catalog = catalog or default_catalog()
    if run is None:
        run = run_metadata(catalog, None)
        if catalog is not default_catalog():
            # Rendered from a --catalog file this function never saw: no digest rather than a wrong one.
            run.catalog_path = "a catalogue passed with --catalog (residency report records its digest)"
            run.catalog_sha256 = "not recorded"
    policy_text = None
    if run.policy_path:
        try:
            policy_text = Path(run.policy_path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            policy_text = None
    return build(result, rules, catalog, run, policy_text=policy_text, saved_inputs=saved_inputs)


def _environment(*, markdown: bool = False) -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=not markdown,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = _md_cell
    env.globals["drift_line"] = _drift_line
    env.filters["slug"] = lambda text: "".join(ch if ch.isalnum() else "-" for ch in str(text).lower())
    return env


def _drift_line(summary: Any) -> str:
    from policies.drift import drift_line

    return drift_line(summary) or ""


def _md_cell(text: Any) -> str:
    from policies.reports.markdown import cell

    return cell(str(text))


def chart(view: AuditView, width: int = 720) -> dict[str, Any]:
    """Geometry of the inline SVG: one horizontal stacked bar per control family."""
    label_width, bar_height, gap, top = 300, 20, 8, 28
    families = view.families
    scale_total = max((sum(c.values()) for _, c in families), default=1) or 1
    bar_space = width - label_width - 60
    rows = []
    for index, (name, counts) in enumerate(families):
        y = top + index * (bar_height + gap)
        x = label_width
        segments = []
        for status in CONTROL_STATUSES:
            n = counts[status]
            if not n:
                continue
            w = bar_space * n / scale_total
            segments.append({"x": x, "w": w, "n": n, "status": status, "color": COLORS[status]})
            x += w
        rows.append({"name": name, "y": y, "segments": segments, "total": sum(counts.values()), "end": x})
    height = top + len(families) * (bar_height + gap) + 10
    legend = []
    x = label_width
    for status in CONTROL_STATUSES:
        legend.append({"x": x, "status": status, "color": COLORS[status]})
        x += 95
    return {
        "width": width,
        "height": height,
        "rows": rows,
        "bar_height": bar_height,
        "legend": legend,
        "label_width": label_width,
    }


def _context(view: AuditView) -> dict[str, Any]:
    summary = view.result.summary()
    matrix = view.matrix_counts
    technical = matrix[PASSED] + matrix[FAILED] + matrix[NOT_EVALUATED]
    failed_controls = [c for c in view.controls if c.status == FAILED]
    gaps = [c for c in view.controls if c.status == NOT_EVALUATED and c.rules]
    runtime_only = [c for c in view.controls if c.status == NOT_EVALUATED and not c.rules]
    return {
        "view": view,
        "meta": view.metadata,
        "summary": summary,
        "matrix": matrix,
        "technical": technical,
        "failed_controls": failed_controls,
        "gaps": gaps,
        "runtime_only": runtime_only,
        "chart": chart(view),
        "colors": COLORS,
        "statuses": CONTROL_STATUSES,
        "max_passed": MAX_PASSED_LISTED,
        "PASSED": PASSED,
        "FAILED": FAILED,
        "NOT_EVALUATED": NOT_EVALUATED,
        "ORGANISATIONAL": ORGANISATIONAL,
    }
