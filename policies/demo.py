"""`residency demo`: check the bundled examples and the real public fixtures, print each verdict,
then run the demos other packages register (the controller's, on an embedded moto estate).

The bundled reference stack must pass and the global-template copy must fail; the demo exits 1 if
either does not (or another demo reports a failure), so the README's first command is also a smoke
test of the whole pipeline.
"""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

from policies.check import run_check, settings_for

EXAMPLES = Path(__file__).parent / "examples"
#: (file, expected verdict) for the bundled examples.
BUNDLED = [("reference-compliant-preview.json", "PASS"), ("global-template-preview.json", "FAIL")]


def _default_fixtures() -> Path | None:
    for base in (Path.cwd(), Path(__file__).resolve().parents[1]):
        candidate = (base / ".." / "shared" / "fixtures" / "pulumi-public").resolve()
        if candidate.is_dir():
            return candidate
    return None


def run_demo(fixtures: Path | None = None) -> int:
    from rich.console import Console
    from rich.table import Table

    from policies.errors import InputError

    catalog, _ = settings_for(None)
    console = Console(file=io.StringIO(), width=150)
    table = Table(title="residency check: verdicts", show_lines=False)
    for column in ("input", "format", "resources", "verdict", "findings by severity", "rules that failed"):
        table.add_column(column)
    files: list[tuple[Path, str | None]] = [(EXAMPLES / name, expected) for name, expected in BUNDLED]
    folder = fixtures or _default_fixtures()
    if folder is not None:
        files += [(p, None) for p in sorted(folder.glob("*.json"))]
    unexpected = 0
    for path, expected in files:
        try:
            result = run_check([str(path)], catalog=catalog)
        except InputError as exc:
            table.add_row(path.name, "-", "-", "[red]BAD INPUT[/red]", str(exc), "")
            unexpected += 1
            continue
        verdict = "FAIL" if result.failing(_low()) else "PASS"
        if expected and verdict != expected:
            unexpected += 1
        sev = ", ".join(f"{n} {s}" for s, n in result.by_severity().items() if n) or "-"
        rules = Counter(f.rule for f in result.findings)
        rules_text = " ".join(f"{r}x{n}" if n > 1 else r for r, n in sorted(rules.items())) or "-"
        style = "green" if verdict == "PASS" else "red"
        mark = "" if not expected else (" (expected)" if verdict == expected else f" (expected {expected}!)")
        table.add_row(
            path.name,
            _format_of(path),
            str(result.resources),
            f"[{style}]{verdict}[/{style}]{mark}",
            sev,
            rules_text,
        )
    console.print(table)
    if folder is None:
        console.print(
            "(no ../shared/fixtures/pulumi-public folder found: only the bundled examples were checked)"
        )
    console.print("Details of one: residency check policies/examples/global-template-preview.json")
    print(console.file.getvalue(), end="")
    return max([1 if unexpected else 0, *_run_other_demos()])


def _run_other_demos() -> list[int]:
    """Demos of other parts (the run-time controller) register under `residency.demos`, so this
    package never imports them."""
    from importlib.metadata import entry_points

    codes = []
    for ep in sorted(entry_points(group="residency.demos"), key=lambda e: e.name):
        print()
        try:
            codes.append(int(ep.load()() or 0))
        except Exception as exc:  # noqa: BLE001 - report, never a traceback
            print(f"residency demo: the {ep.name} demo failed: {type(exc).__name__}: {exc}")
            codes.append(1)
    return codes


def _low():  # noqa: ANN202
    from policies.model import Severity

    return Severity.LOW


def _format_of(path: Path) -> str:
    from policies.sources import decode_json, detect

    name, _ = detect(decode_json(path.read_bytes(), str(path)), str(path))
    return name
