"""`residency demo`: the CI gate on bundled and real Pulumi files, told in words; the auditor's HTML
report and the run records written to a folder; then the demos other packages register (the
controller's, on an embedded moto estate), whose run records go to the same folder.

The bundled reference stack must pass and the global-template copy must fail; the real public files
are expected to fail (they were written for global AWS regions) and only unreadable input counts
against the demo. It exits 1 if anything unexpected happens (or another demo reports a failure), so
the README's first command is also a smoke test of the whole pipeline. Output fits the terminal
width, `COLUMNS`, or 80 columns when neither says.
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

from policies.check import run_check, settings_for
from policies.reports import plural

EXAMPLES = Path(__file__).parent / "examples"
#: (file, expected verdict, why) for the bundled examples.
BUNDLED = [
    (
        "reference-compliant-preview.json",
        "PASS",
        "PUSHAUCTION's reference stack (infra/), in cn-north-1 with customer-managed keys, TLS only, "
        "named principals and audit logs: it is built to keep every promise of the privacy policy.",
    ),
    (
        "global-template-preview.json",
        "FAIL",
        "the same shop copied from a global template: us-west-2, S3-managed keys, a public bucket, "
        "plain HTTP, wildcard IAM. The check must catch each broken promise.",
    ),
]
FIXTURES_WHY = (
    "real Pulumi files from public repositories. They were written for global AWS regions, not "
    "for mainland China, so they are expected to fail; they show the rules on real-world input. "
    "Their verdicts do not decide the demo's: only input the check cannot read would."
)
#: Rules listed per failing bundled stack (all of them) and per real file (the most frequent).
_TOP_PER_FIXTURE = 2


def _default_fixtures() -> Path | None:
    for base in (Path.cwd(), Path(__file__).resolve().parents[1]):
        candidate = (base / ".." / "shared" / "fixtures" / "pulumi-public").resolve()
        if candidate.is_dir():
            return candidate
    return None


def terminal_width() -> int:
    """`COLUMNS` when set, else the terminal's width, else 80 (never below 40)."""
    return max(40, shutil.get_terminal_size((80, 24)).columns)


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class WrappedOutput:
    """A text stream that re-wraps any line wider than `width` (ANSI colours are dropped from such a
    line), so everything the demos print, tables and long messages alike, fits the terminal."""

    encoding = "utf-8"

    def __init__(self, target: Any, width: int) -> None:
        self.target = target
        self.width = width
        self.pending = ""

    def isatty(self) -> bool:
        return bool(getattr(self.target, "isatty", lambda: False)())

    def write(self, text: str) -> int:
        self.pending += text
        *lines, self.pending = self.pending.split("\n")
        for line in lines:
            self.target.write(self._fit(line) + "\n")
        return len(text)

    def flush(self) -> None:
        # A partial line stays pending (rich flushes after `print(..., end="")`): it is wrapped whole.
        self.target.flush()

    def finish(self) -> None:
        if self.pending:
            self.target.write(self._fit(self.pending) + "\n")
            self.pending = ""
        self.target.flush()

    def _fit(self, line: str) -> str:
        plain = _ANSI.sub("", line).rstrip()
        if len(plain) <= self.width:
            return line.rstrip()
        indent = " " * (len(plain) - len(plain.lstrip()))
        return "\n".join(
            textwrap.wrap(
                plain.strip(),
                width=self.width,
                initial_indent=indent,
                subsequent_indent=indent + "  ",
                break_long_words=True,
                break_on_hyphens=False,
            )
        )

    def say(self, text: str = "", indent: int = 0) -> None:
        """A paragraph, wrapped to the width with a hanging indent."""
        if not text:
            self.write("\n")
            return
        pad = " " * indent
        self.write(
            "\n".join(
                textwrap.wrap(
                    text,
                    width=self.width,
                    initial_indent=pad,
                    subsequent_indent=pad + "  ",
                    break_on_hyphens=False,
                )
            )
            + "\n"
        )

    def clip(self, text: str, indent: int) -> None:
        """One line, cut to the width with '...' when longer."""
        room = self.width - indent
        line = " ".join(text.split())
        if len(line) > room:
            line = line[: room - 3].rstrip() + "..."
        self.write(" " * indent + line + "\n")


def run_demo(fixtures: Path | None = None, out: Path | None = None) -> int:
    from policies.errors import InputError
    from policies.evidence import check_record, digest_paths, run_metadata
    from policies.model import Severity
    from policies.registry import all_rules

    width = terminal_width()
    say = WrappedOutput(sys.stdout, width)
    folder = (out or Path(tempfile.mkdtemp(prefix="residency-demo-"))).resolve()
    evidence = folder / "evidence"
    catalog, _ = settings_for(None)
    rules = all_rules()

    say.say("residency demo, part 1: the CI gate (residency check) on Pulumi files")
    say.say()
    unexpected: list[str] = []
    results: dict[str, tuple[Any, Any]] = {}
    for number, (name, expected, why) in enumerate(BUNDLED, start=1):
        path = EXAMPLES / name
        result = run_check([str(path)], catalog=catalog)
        inputs, _ = digest_paths([str(path)])
        metadata = run_metadata(catalog, None, inputs)
        verdict = "FAIL" if result.failing(Severity.LOW) else "PASS"
        check_record(evidence, "check", result, rules, catalog, metadata, verdict)
        results[name] = (result, metadata)
        say.say(f"{number}. policies/examples/{name} ({_format_of(path)}, {result.resources} resources)")
        say.say(f"Expected to {expected}: {why}", indent=3)
        if verdict == expected:
            outcome = f"{verdict}, as expected"
        else:
            outcome = f"{verdict}, but {expected} was expected"
            unexpected.append(f"{name} gave {verdict}")
        say.say(f"{outcome}: {_counts(result)}.", indent=3)
        _rule_lines(say, result, rules, limit=None)
        say.say()

    folder_in = fixtures or _default_fixtures()
    read = failed = 0
    if folder_in is not None:
        files = sorted(folder_in.glob("*.json"))
        say.say(f"3. {len(files)} files in {folder_in}")
        say.say(f"Expected to FAIL: {FIXTURES_WHY}", indent=3)
        for path in files:
            try:
                result = run_check([str(path)], catalog=catalog)
            except InputError as exc:
                say.say(f"BAD INPUT {path.name}: {exc}", indent=3)
                unexpected.append(f"{path.name} could not be read")
                continue
            read += 1
            verdict = "FAIL" if result.failing(Severity.LOW) else "PASS"
            failed += verdict == "FAIL"
            say.say(f"{verdict} {path.name}: {_counts(result, short=True)}", indent=3)
            _rule_lines(say, result, rules, limit=_TOP_PER_FIXTURE, indent=8, messages=False)
        say.say()
    else:
        say.say("(no ../shared/fixtures/pulumi-public folder found: only the bundled examples were checked)")
        say.say()

    if unexpected:
        say.say(f"VERDICT (check): FAIL: {'; '.join(unexpected)}.")
    else:
        real = f"; {read} real files read and judged, {failed} of them failing as expected" if read else ""
        say.say(
            "VERDICT (check): PASS: the reference stack passed and the global-template copy failed, "
            f"as expected{real}."
        )
    say.say()

    reports = _write_reports(say, folder, evidence, results, rules, catalog)
    say.finish()
    codes = _run_other_demos(say, evidence)
    say.say()
    _print_evidence(say, folder, evidence, reports)
    code = max([1 if unexpected else 0, *codes])
    if code:
        say.say("VERDICT: FAIL: something above did not go as expected (see the FAIL lines).")
    else:
        say.say("VERDICT: PASS: every check of the demo went as expected.")
    say.finish()
    return code


def _counts(result: Any, *, short: bool = False) -> str:
    summary = result.summary()
    findings = summary["findings"]
    if not findings:
        coverage = result.coverage
        return (
            f"no findings; {len(coverage.evaluated)} of {result.resources} resources evaluated, "
            f"{len(coverage.not_applicable)} not applicable, {len(coverage.not_evaluated)} not evaluated"
        )
    severities = ", ".join(f"{n} {s}" for s, n in summary["by_severity"].items() if n)
    rules = len({f.rule for f in result.findings if not f.waived})
    found = f"{plural(findings, 'finding')} ({severities})"
    if short:
        return f"{found} in {plural(result.resources, 'resource')}"
    return f"{found} from {plural(rules, 'rule')}"


def _rule_lines(
    say: WrappedOutput,
    result: Any,
    rules: dict[str, Any],
    *,
    limit: int | None,
    indent: int = 5,
    messages: bool = True,
) -> None:
    """Each failing rule: its id and title with a count, then one finding's message on one line."""
    active = [f for f in result.findings if not f.waived]
    counts = Counter(f.rule for f in active)
    order = sorted(counts, key=lambda r: (-max(f.severity.rank for f in active if f.rule == r), r))
    if limit is not None:
        order = sorted(counts, key=lambda r: (-counts[r], r))[:limit]
    for rule_id in order:
        title = rules[rule_id].title if rule_id in rules else rule_id
        times = f" ({counts[rule_id]}x)" if counts[rule_id] > 1 else ""
        say.clip(f"{rule_id} {title}{times}", indent=indent)
        if messages:
            first = next(f for f in active if f.rule == rule_id)
            say.clip(first.message, indent=indent + 2)


def _write_reports(
    say: WrappedOutput,
    folder: Path,
    evidence: Path,
    results: dict[str, Any],
    rules: dict[str, Any],
    catalog: Any,
) -> list[Path]:
    """The auditor's HTML report of each bundled stack, each with its run record."""
    from policies.evidence import check_record
    from policies.reports import html

    written = []
    for name, (result, metadata) in results.items():
        path = folder / f"report-{name.removesuffix('-preview.json')}.html"
        path.write_text(html.render(result, rules, catalog, run=metadata), encoding="utf-8")
        view = html.audit_view(result, rules, catalog, metadata)
        check_record(evidence, "report", result, rules, catalog, metadata, view.verdict, [path])
        matrix = view.matrix_counts
        say.say(
            f"Report {path.name}: {view.verdict}; controls {matrix['passed']} passed, {matrix['failed']} "
            f"failed, {matrix['not evaluated']} not evaluated, {matrix['organisational']} organisational."
        )
        written.append(path)
    return written


def _print_evidence(say: WrappedOutput, folder: Path, evidence: Path, reports: list[Path]) -> None:
    from policies.evidence import verify

    say.say("Evidence written to " + str(folder) + ":")
    say.say("the auditor's reports (open them in a browser; they need no network):", indent=2)
    for path in reports:
        say.say(str(path), indent=4)
    outcome = verify(evidence)
    records = [name for name, _ in outcome.records]
    say.say(f"run records: {len(records)} in {evidence}", indent=2)
    if records:
        say.say(f"{records[0]} ... {records[-1]}", indent=4)
    chain = "intact" if outcome.intact else f"BROKEN: {outcome.problem}"
    say.say(f"hash chain: {chain}; the last record's sha256 (keep it elsewhere):", indent=2)
    say.say(str(outcome.head), indent=4)
    say.say("Prove later that nothing was edited, removed or reordered:", indent=2)
    say.say(f"residency verify-evidence {evidence} --head {outcome.head}", indent=4)


def _run_other_demos(say: WrappedOutput, evidence: Path) -> list[int]:
    """Demos of other parts (the run-time controller) register under `residency.demos`, so this
    package never imports them. Each gets a console that fits the width and the evidence folder."""
    import inspect
    from importlib.metadata import entry_points

    from rich.console import Console

    codes = []
    for ep in sorted(entry_points(group="residency.demos"), key=lambda e: e.name):
        say.say()
        try:
            demo = ep.load()
            console = Console(file=say, width=say.width, soft_wrap=True, highlight=False)
            params = inspect.signature(demo).parameters
            kwargs: dict[str, Any] = {}
            if "console" in params:
                kwargs["console"] = console
            if "evidence" in params:
                kwargs["evidence"] = evidence
            codes.append(int(demo(**kwargs) or 0))
        except Exception as exc:  # noqa: BLE001 - report, never a traceback
            say.say(f"residency demo: the {ep.name} demo failed: {type(exc).__name__}: {exc}")
            codes.append(1)
        say.finish()
    return codes


def _format_of(path: Path) -> str:
    from policies.sources import decode_json, detect

    name, _ = detect(decode_json(path.read_bytes(), str(path)), str(path))
    return name
