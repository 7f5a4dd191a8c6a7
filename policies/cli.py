"""The `residency` command line: parse arguments, call source -> engine -> reporter, map errors.

No business logic lives here. Heavy imports (pydantic, orjson, the rules) happen inside the
commands, so `residency --help` stays fast. Every bad input exits 2 with one line on stderr.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    name="residency",
    help=(
        "Data-residency and privacy compliance for Pulumi stacks in the AWS China partition.\n\n"
        "Exit codes: 0 compliant, 1 findings at or above --fail-on, 2 bad input or invocation."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain click help: rich's help renderer costs ~100 ms of imports on every --help.
    rich_markup_mode=None,
)

EXIT_OK, EXIT_FINDINGS, EXIT_BAD_INPUT = 0, 1, 2
SEVERITIES = ("critical", "high", "medium", "low", "none")


def _fail(message: str) -> None:
    typer.echo(f"residency: error: {message}", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def _guard(func):  # noqa: ANN001, ANN202 - decorator keeps the command's signature for typer
    """Turn InputError into exit 2 and any unexpected error into exit 2 without a traceback."""
    import functools

    @functools.wraps(func)
    def wrapper(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        from policies.errors import InputError

        try:
            return func(*args, **kwargs)
        except typer.Exit:
            raise
        except InputError as exc:
            _fail(str(exc))
        except KeyboardInterrupt:
            typer.echo("residency: interrupted", err=True)
            raise typer.Exit(130) from None
        except Exception as exc:  # noqa: BLE001 - never a traceback for users; never a pass either
            if os.environ.get("RESIDENCY_DEBUG"):
                raise
            _fail(f"internal error ({type(exc).__name__}: {exc}); rerun with RESIDENCY_DEBUG=1 and report it")

    return wrapper


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    except OSError as exc:
        _fail(f"{output}: cannot write the report: {exc.strerror or exc}")


def _verdict_line(result, fail_on: str) -> str:  # noqa: ANN001
    from policies.model import Severity

    summary = result.summary()
    counts = ", ".join(f"{n} {s}" for s, n in summary["by_severity"].items() if n)
    waived = f"; {summary['waived']} waived" if summary["waived"] else ""
    if fail_on == "none":
        return f"REPORT: {summary['findings']} finding(s) ({counts or 'none'}){waived} in {summary['resources']} resources"
    failing = result.failing(Severity(fail_on))
    if failing:
        return (
            f"FAIL: {len(failing)} finding(s) at or above {fail_on} ({counts}){waived} "
            f"in {summary['resources']} resources"
        )
    below = f"; {summary['findings']} below {fail_on}" if summary["findings"] else ""
    return f"PASS: no findings at or above {fail_on} in {summary['resources']} resources{below}{waived}"


def _coverage_line(result) -> str:  # noqa: ANN001
    """The line under the verdict: how much of the input the rules looked at."""
    coverage = result.coverage
    text = f"Coverage: {coverage.summary_text()}"
    if coverage.not_evaluated:
        text += " (listed in the report; --strict makes each a finding)"
    if result.declarations:
        non_personal = sum(1 for d in result.declarations if d.non_personal)
        text += (
            f"; {len(result.declarations)} relaxing classification(s) declared, {non_personal} non-personal"
        )
    return text


@app.command()
@_guard
def check(
    paths: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="PATH",
            help="`pulumi preview --json` or `pulumi stack export` file(s); '-' reads stdin.",
            show_default=False,
        ),
    ] = None,
    format: Annotated[
        str, typer.Option("--format", "-f", help="table, json, sarif, junit, markdown or html.")
    ] = "table",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report to FILE.")] = None,
    fail_on: Annotated[
        str,
        typer.Option("--fail-on", help="Lowest severity that fails: critical, high, medium, low or none."),
    ] = "low",
    waivers: Annotated[
        Path | None, typer.Option("--waivers", help="YAML waivers (rule, urn, reason, owner, expires).")
    ] = None,
    catalog: Annotated[
        Path | None, typer.Option("--catalog", help="Controls catalogue to use instead of the built-in one.")
    ] = None,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help=(
                "Each resource no rule understands is a finding (COV-001), and each non-personal "
                "classification without an attestation in --waivers is a finding (CLS-002)."
            ),
        ),
    ] = False,
    evidence: Annotated[
        Path | None,
        typer.Option(
            "--evidence",
            help="Append this run's record (JSON, hash-chained to the previous one) to DIR, created when "
            "missing; its sha256 is printed.",
        ),
    ] = None,
    program: Annotated[
        Path | None,
        typer.Option(
            "--program",
            metavar="DIR",
            help="Run the Python Pulumi program in DIR under Pulumi's mock runtime (no CLI, backend or "
            "credentials) and check what it declares, instead of PATH.",
            show_default=False,
        ),
    ] = None,
    stack: Annotated[
        str | None,
        typer.Option(
            "--stack",
            metavar="NAME",
            help="With --program: the stack (Pulumi.<stack>.yaml); optional when there is one.",
        ),
    ] = None,
    config: Annotated[
        list[str] | None,
        typer.Option(
            "--config",
            "-c",
            metavar="KEY=VALUE",
            help="With --program: KEY=VALUE overriding one config key (repeatable).",
        ),
    ] = None,
) -> None:
    """Check Pulumi previews or stack exports (or a Python program, --program) against the privacy policy's controls."""
    from policies.reports import FORMATS, get_reporter

    fmt = format.lower()
    if fmt not in FORMATS:
        _fail(f"--format {format!r} is not one of {', '.join(FORMATS)}")
    level = fail_on.lower()
    if level not in SEVERITIES:
        _fail(f"--fail-on {fail_on!r} is not one of {', '.join(SEVERITIES)}")
    paths = list(paths or [])
    if program is not None and paths:
        _fail("PATH and --program are mutually exclusive: check files, or run one program")
    if program is None and not paths:
        _fail("nothing to check: pass PATH... (a preview or stack export) or --program DIR")
    if program is None and (stack is not None or config):
        _fail("--stack and --config go with --program DIR")
    if paths.count("-") > 1:
        _fail("'-' (stdin) can be given once")

    import gc

    from policies.check import run_check, settings_for
    from policies.registry import all_rules

    # A short-lived process building ~10 objects per resource: the cyclic GC only costs time here.
    gc.disable()
    with contextlib.ExitStack() as scope:
        run = pending = None
        if program is not None:
            from policies.sources.program import start_program

            # The program runs in its subprocess while this one loads the rules and the catalogue.
            pending = start_program(program, stack, config or [])
            scope.callback(pending.cancel)
        cat, _ = settings_for(catalog)
        if pending is not None:
            run, export = scope.enter_context(_program_export(pending))
            paths = [str(export)]
        # With --program the inputs are the program's folder and the stack export it produced.
        inputs, replay = _evidence_inputs(evidence, [str(program), *paths] if program is not None else paths)
        with replay:
            result = run_check(paths, catalog=cat, waivers_path=waivers, strict=strict)
    if run is not None:
        result.sources = [str(run.project.file)]
        result.notices[:0] = run.notices
    text = get_reporter(fmt).render(result, all_rules(), cat, color=output is None and sys.stdout.isatty())
    verdict = _verdict_line(result, level)
    covered = _coverage_line(result)
    if fmt == "table" and output is None:
        _write(text.rstrip("\n") + "\n" + verdict + "\n" + covered, None)
    else:
        _write(text, output)
        typer.echo(verdict + (f" -> {output}" if output else "") + "\n" + covered, err=output is None)
    for notice in result.notices if fmt != "table" or output is not None else ():
        typer.echo(f"residency: notice: {notice}", err=True)
    if evidence is not None:
        _record_check(evidence, "check", result, cat, catalog, inputs, verdict.split(":", 1)[0], output)
    if level != "none" and result.failing(_severity(level)):
        raise typer.Exit(EXIT_FINDINGS)


@contextlib.contextmanager
def _program_export(pending):  # noqa: ANN001, ANN202
    """--program: wait for the program under the mock runtime; yield (the run, its stack export's path).

    The stack export goes through the same source as `residency check EXPORT.json`."""
    import json
    import tempfile

    run = pending.result()
    with tempfile.TemporaryDirectory(prefix="residency-program-") as tmp:
        export = Path(tmp) / f"{run.project.name}.{run.stack}.mock-export.json"
        export.write_text(json.dumps(run.document), encoding="utf-8")
        yield run, export


def _evidence_inputs(evidence: Path | None, paths: list[str]):  # noqa: ANN202
    """With --evidence: the digest of every input's exact bytes (stdin read once, then replayed)."""
    import contextlib

    if evidence is None:
        return [], contextlib.nullcontext()
    from policies.evidence import digest_paths
    from policies.reports.saved_result import replayed_stdin

    inputs, stdin_data = digest_paths(paths)
    return inputs, replayed_stdin(stdin_data)


def _record_check(
    evidence: Path, command: str, result, cat, catalog_path, inputs, verdict: str, output=None
) -> None:  # noqa: ANN001
    """Append the run record and print its sha256 (stderr: stdout may be a JSON report)."""
    from policies.evidence import check_record, run_metadata
    from policies.registry import all_rules

    metadata = run_metadata(cat, catalog_path, inputs)
    outputs = [output] if output is not None else []
    written = check_record(evidence, command, result, all_rules(), cat, metadata, verdict, outputs)
    typer.echo(f"Run record: {written.path} sha256 {written.sha256}", err=True)


def _severity(level: str):  # noqa: ANN202
    from policies.model import Severity

    return Severity(level)


@app.command()
@_guard
def controls(
    format: Annotated[str, typer.Option("--format", "-f", help="table, json or markdown.")] = "table",
    catalog: Annotated[Path | None, typer.Option("--catalog", help="Controls catalogue file.")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to FILE.")] = None,
) -> None:
    """List the controls catalogue: each privacy-policy clause, its control and its rules."""
    from policies.check import settings_for
    from policies.controls_view import render_controls
    from policies.registry import all_rules

    fmt = format.lower()
    if fmt not in ("table", "json", "markdown"):
        _fail(f"--format {format!r} is not one of table, json, markdown")
    cat, _ = settings_for(catalog)
    _write(render_controls(cat, all_rules(), fmt, color=output is None and sys.stdout.isatty()), output)


@app.command()
@_guard
def report(
    inputs: Annotated[
        list[str],
        typer.Argument(
            metavar="INPUT...",
            help="What `check` accepts, or a saved `residency check --format json` result; '-' reads stdin.",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path,
        typer.Option("--output", "-o", help="FILE.html (self-contained) or FILE.md.", show_default=False),
    ],
    oscal: Annotated[
        Path | None,
        typer.Option(
            "--oscal", help="Also write OSCAL component-definition and assessment-results JSON to DIR."
        ),
    ] = None,
    evidence: Annotated[
        Path | None,
        typer.Option(
            "--evidence", help="Append this run's record (hash-chained) to DIR; its sha256 is printed."
        ),
    ] = None,
    waivers: Annotated[
        Path | None, typer.Option("--waivers", help="YAML waivers and attestations, as for `check`.")
    ] = None,
    catalog: Annotated[
        Path | None, typer.Option("--catalog", help="Controls catalogue to use instead of the built-in one.")
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="As for `check`.")] = False,
) -> None:
    """Write the auditor's evidence report: each privacy-policy clause, its controls, their rules and
    every resource's verdict, a per-control status matrix, coverage and run metadata.

    Exit codes: 0 the report was written (whatever it found), 2 bad input or invocation."""
    suffix = output.suffix.lower()
    if suffix not in (".html", ".htm", ".md", ".markdown"):
        _fail(f"--output {output}: name an .html or .md file (the report's format follows the suffix)")
    if inputs.count("-") > 1:
        _fail("'-' (stdin) can be given once")
    from policies.check import settings_for
    from policies.evidence import run_metadata
    from policies.registry import all_rules
    from policies.reports import html
    from policies.reports.saved_result import collect

    cat, _ = settings_for(catalog)
    result, digests, saved = collect(inputs, catalog=cat, waivers_path=waivers, strict=strict)
    metadata = run_metadata(cat, catalog, digests)
    render = html.render if suffix in (".html", ".htm") else html.render_markdown
    _write(render(result, all_rules(), cat, run=metadata, saved_inputs=saved), output)
    typer.echo(f"{_verdict_line(result, 'low')} -> {output}", err=True)
    written_files = [output]
    if oscal is not None:
        from policies.reports.oscal import write_oscal

        for path in write_oscal(oscal, result, all_rules(), cat, metadata):
            typer.echo(f"OSCAL: {path}", err=True)
            written_files.append(path)
    if evidence is not None:
        from policies.evidence import check_record

        written = check_record(
            evidence,
            "report",
            result,
            all_rules(),
            cat,
            metadata,
            _verdict_line(result, "low").split(":", 1)[0],
            written_files,
        )
        typer.echo(f"Run record: {written.path} sha256 {written.sha256}", err=True)


@app.command("verify-evidence")
@_guard
def verify_evidence(
    directory: Annotated[
        Path, typer.Argument(metavar="DIR", help="The evidence folder.", show_default=False)
    ],
    head: Annotated[
        str | None,
        typer.Option(
            "--head",
            help="The sha256 a run printed for its record: also prove that record is there, unedited.",
        ),
    ] = None,
) -> None:
    """Check the hash chain of the run records in DIR and every digest they record (erasure manifests
    included). Exit codes: 0 intact, 1 a record was edited, removed or reordered (named), 2 bad invocation."""
    from policies.evidence import verify

    outcome = verify(directory, head)
    if not outcome.intact:
        typer.echo(f"residency: evidence NOT intact: {outcome.problem}", err=True)
        raise typer.Exit(EXIT_FINDINGS)
    typer.echo(
        f"Evidence intact: {len(outcome.records)} run record(s), {outcome.manifests} manifest digest(s) "
        f"re-hashed; head {outcome.records[-1][0]} sha256 {outcome.head}"
    )


@app.command()
@_guard
def audit(
    region: Annotated[
        list[str] | None,
        typer.Option(
            "--region",
            metavar="REGION",
            help="Region to audit (repeatable); default: cn-north-1 and cn-northwest-1.",
        ),
    ] = None,
    endpoint_url: Annotated[
        str | None, typer.Option("--endpoint-url", help="AWS endpoint (a moto server, a VPC endpoint).")
    ] = None,
    format: Annotated[
        str, typer.Option("--format", "-f", help="table, json, sarif, junit or markdown.")
    ] = "table",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report to FILE.")] = None,
    fail_on: Annotated[
        str,
        typer.Option("--fail-on", help="Lowest severity that fails: critical, high, medium, low or none."),
    ] = "low",
    against: Annotated[
        list[str] | None,
        typer.Option(
            "--against",
            metavar="STACK_EXPORT",
            help="`pulumi stack export` to compare with: DRIFT-001/002/003 (repeatable: every stack of the account).",
        ),
    ] = None,
    evidence: Annotated[Path | None, typer.Option("--evidence", help="Append a run record to DIR.")] = None,
    catalog: Annotated[
        Path | None, typer.Option("--catalog", help="Controls catalogue to use instead of the built-in one.")
    ] = None,
    max_workers: Annotated[int, typer.Option("--max-workers", help="Concurrent AWS calls.")] = 16,
    waivers: Annotated[
        Path | None,
        typer.Option("--waivers", help="YAML waivers (rule, urn, reason, owner, expires), as for check."),
    ] = None,
) -> None:
    """Audit the live AWS account with the same rules, and its drift from Pulumi's state."""
    from policies.reports import FORMATS

    fmt, level = format.lower(), fail_on.lower()
    if fmt not in FORMATS:
        _fail(f"--format {format!r} is not one of {', '.join(FORMATS)}")
    if level not in SEVERITIES:
        _fail(f"--fail-on {fail_on!r} is not one of {', '.join(SEVERITIES)}")
    from policies.audit import audit_command

    code = audit_command(
        regions=region or (), endpoint_url=endpoint_url, fmt=fmt, output=output, fail_on=level,
        against=against, evidence=evidence, catalog_path=catalog, max_workers=max_workers, write=_write,
        echo=typer.echo, verdict_line=_verdict_line, coverage_line=_coverage_line, waivers_path=waivers,
    )  # fmt: skip
    raise typer.Exit(code)


@app.command()
@_guard
def demo(
    fixtures: Annotated[
        Path | None,
        typer.Option(
            help="Folder of real Pulumi JSON files to check as well (default: ../shared/fixtures/pulumi-public if present)."
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Folder for the HTML reports and run records (default: a new temporary folder)."
        ),
    ] = None,
) -> None:
    """Run `residency check` on the bundled examples and the real fixtures, write the auditor's reports and
    run records, then the run-time demo; each verdict in words."""
    from policies.demo import run_demo

    raise typer.Exit(run_demo(fixtures, out))


@app.command()
def version() -> None:
    """Print the version."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        typer.echo(dist_version("residency"))
    except PackageNotFoundError:
        typer.echo("unknown (not installed)")


def _register_plugins() -> None:
    """Commands from other packages (`residency enforce` lives in controllers/) register through the
    `residency.commands` entry-point group, so policies never imports controllers."""
    from importlib.metadata import entry_points

    for ep in entry_points(group="residency.commands"):
        try:
            ep.load()(app)
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not break `residency check`
            typer.echo(f"residency: warning: command plugin {ep.name} failed to load: {exc}", err=True)


_register_plugins()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
