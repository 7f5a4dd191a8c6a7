"""`residency enforce` and `residency controller`: registered into the `residency` CLI via the
`residency.commands` entry point.

Import-light on purpose: `residency --help` and `residency check` load this module, so boto3, kopf,
pydantic, yaml and rich are imported inside the commands only.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

DEFAULT_INTERVAL = 300


def register(app: typer.Typer) -> None:
    """Add the controller's commands to the `residency` app."""
    app.command("enforce")(enforce)
    app.command("controller")(controller)


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"residency: error: {message}", err=True)
    raise typer.Exit(code)


def enforce(
    files: Annotated[
        list[Path],
        typer.Option("--file", "-f", help="Custom-resource YAML (multi-document); repeat for more files."),
    ],
    once: Annotated[bool, typer.Option("--once", help="Reconcile once and exit (default: loop).")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Change nothing; print what would be done.")
    ] = False,
    now: Annotated[
        str | None,
        typer.Option(
            "--now",
            help="Evaluate retention as of this ISO 8601 instant (default: now); a time later than the "
            "clock only with --dry-run.",
        ),
    ] = None,
    endpoint_url: Annotated[
        str | None,
        typer.Option("--endpoint-url", help="AWS endpoint override (a local emulator such as moto)."),
    ] = None,
    region: Annotated[
        list[str] | None, typer.Option("--region", help="Only reconcile data stores in REGION (repeatable).")
    ] = None,
    interval: Annotated[
        int, typer.Option("--interval", min=1, help="Seconds between reconciles when looping.")
    ] = DEFAULT_INTERVAL,
    format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    evidence: Annotated[
        Path | None,
        typer.Option(
            "--evidence",
            help="Write each erasure's manifest (JSON lines, one per deleted item; its sha256 is the "
            "evidence digest) and this run's record (hash-chained, printed sha256) into this directory.",
        ),
    ] = None,
) -> None:
    """Keep live data stores within RetentionPolicy, AccessAuditPolicy, ErasureRequest and AccessRequest documents.

    Exit codes: 0 every policy in compliance (or brought into it); 1 some could not be (or, with
    --dry-run or mode Audit, something is left to do); 2 bad input: nothing was changed.
    """
    from policies.errors import InputError

    try:
        code = _enforce(
            files, once, dry_run, now, endpoint_url, region or [], interval, format.lower(), evidence
        )
    except InputError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        typer.echo("residency: interrupted", err=True)
        raise typer.Exit(130) from None
    except Exception as exc:  # noqa: BLE001 - never a traceback for users
        if os.environ.get("RESIDENCY_DEBUG"):
            raise
        _fail(f"internal error ({type(exc).__name__}: {exc}); rerun with RESIDENCY_DEBUG=1 and report it", 1)
    raise typer.Exit(code)


def _enforce(
    files: list[Path],
    once: bool,
    dry_run: bool,
    now_text: str | None,
    endpoint_url: str | None,
    regions: list[str],
    interval: int,
    fmt: str,
    evidence_dir: Path | None = None,
) -> int:
    import time

    from controllers.aws import ClientFactory
    from controllers.documents import load_files
    from controllers.enforce import exit_code, select_regions
    from policies.catalog import default_catalog
    from policies.errors import InputError

    if fmt not in ("table", "json"):
        raise InputError(f"--format {fmt!r} is not one of table, json")
    if endpoint_url is not None and not endpoint_url.startswith(("http://", "https://")):
        raise InputError(f"--endpoint-url {endpoint_url!r} is not a URL; write it like http://127.0.0.1:5000")
    settings = default_catalog().settings()
    fixed_now = checked_now(now_text, dry_run=dry_run) if now_text else None
    docs = select_regions(load_files(files, settings), regions, settings.allowed_regions)
    clients = ClientFactory(endpoint_url=endpoint_url)
    if not clients.has_credentials():
        raise InputError(NO_AWS_CREDENTIALS)
    from controllers.retention import check_catalogue

    check_catalogue(docs, clients, settings)
    from controllers.access_request import check_access_requests

    check_access_requests(docs, clients, settings)
    while True:
        from datetime import UTC, datetime

        results = _run_with_progress(docs, clients, fixed_now or datetime.now(UTC), dry_run)
        code = exit_code(results)
        if evidence_dir is not None:
            _write_manifests(results, evidence_dir)
            _write_run_record(evidence_dir, files, results, dry_run)
        if fmt == "json":
            import json

            sys.stdout.write(json.dumps([r.to_dict() for r in results], indent=2, default=str) + "\n")
        else:
            from controllers.render import render_summary

            render_summary(results, dry_run=dry_run)
        sys.stdout.flush()
        if once:
            return code
        time.sleep(interval)


NO_AWS_CREDENTIALS = (
    "no AWS credentials found (set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run "
    "with an instance or pod role; an --endpoint-url emulator needs them too); nothing was changed"
)
#: The earliest `--now` accepted: before it, epoch arithmetic (DynamoDB TTLs) has no meaning.
_EARLIEST = "1970-01-01T00:00:00Z"
#: How far past the clock a dry-run `--now` may look (the longest rule a policy can have).
_LATEST_YEARS = 100


def checked_now(text: str, *, dry_run: bool):  # noqa: ANN201 - datetime, imported lazily
    """`--now` parsed and checked: within range, and later than the clock only for a dry run.

    A `--now` in the future makes everything look older than it is; for real, that deletes data
    early, so it is refused unless nothing is changed."""
    from datetime import UTC, datetime, timedelta

    from controllers.enforce import parse_now
    from policies.errors import InputError

    try:
        value = parse_now(text)
        clock = datetime.now(UTC)
        earliest = datetime.fromisoformat(_EARLIEST)
        latest = clock + timedelta(days=366 * _LATEST_YEARS)
        in_range = earliest <= value <= latest
    except (OverflowError, ValueError):
        in_range = False
    if not in_range:
        raise InputError(
            f"--now {text!r} is out of range; give a time between {_EARLIEST} and "
            f"{_LATEST_YEARS} years from now, like 2026-12-31T00:00:00Z"
        )
    if value > clock and not dry_run:
        raise InputError(
            f"--now {text!r} is later than the clock ({clock.isoformat(timespec='seconds')}): that would "
            "delete data before its retention ends; add --dry-run to preview, or give a time not in the "
            "future; nothing was changed"
        )
    return value


def _write_manifests(results, directory: Path) -> None:  # noqa: ANN001
    """Each erasure's manifest into `directory`; its path goes into the result's evidence."""
    from controllers.manifest import write_dir

    for result in results:
        if result.manifest is None or not result.evidence:
            continue  # a dry run, or an erasure that never ran: no evidence
        try:
            path = write_dir(directory, result.name, result.finished or result.started, result.manifest)
        except OSError as exc:  # the erasure ran: not a bad input, but not complete evidence either
            result.errors.append(f"--evidence {directory}: cannot write the manifest ({exc.strerror or exc})")
            continue
        result.evidence.setdefault("manifest", {})["file"] = str(path)


def _write_run_record(directory: Path, files: list[Path], results, dry_run: bool) -> None:  # noqa: ANN001
    """This run's record (hash-chained, with the manifests' digests) in `directory`; its sha256 goes to
    stderr so a CI log keeps a copy (stdout may be JSON)."""
    from policies.evidence import enforce_record

    written = enforce_record(directory, files=files, results=results, dry_run=dry_run)
    typer.echo(f"Run record: {written.path} sha256 {written.sha256}", err=True)


def _run_with_progress(docs, clients, now, dry_run):  # noqa: ANN001, ANN202
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    from controllers.enforce import run_once

    console = Console(stderr=True)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("deleted {task.fields[deleted]}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as bar:
        task = bar.add_task("starting", total=None, deleted=0)
        counts = {"examined": 0, "deleted": 0}

        def on_start(doc) -> None:  # noqa: ANN001
            counts.update(examined=0, deleted=0)
            bar.reset(task, description=doc.ref, total=None, deleted=0)

        def progress(event: str, n: int) -> None:
            counts[event] = counts.get(event, 0) + n
            if event == "examined":
                bar.update(task, completed=counts["examined"])
            else:
                bar.update(task, deleted=counts["deleted"])

        return run_once(docs, clients, now, dry_run=dry_run, progress=progress, on_start=on_start)


def controller(
    namespace: Annotated[
        list[str] | None,
        typer.Option("--namespace", "-n", help="Watch this namespace (repeatable; exact names)."),
    ] = None,
    all_namespaces: Annotated[
        bool, typer.Option("--all-namespaces", "-A", help="Watch the whole cluster.")
    ] = False,
    peering: Annotated[
        str | None,
        typer.Option(
            "--peering",
            help="kopf peering object (ClusterKopfPeering with -A, KopfPeering with -n): only the live "
            "replica with the highest priority acts. Without it the controller runs standalone.",
        ),
    ] = None,
    priority: Annotated[
        int | None, typer.Option("--priority", help="Peering priority (default: random per start).")
    ] = None,
    endpoint_url: Annotated[
        str | None,
        typer.Option("--endpoint-url", help="AWS endpoint override (a local emulator such as moto)."),
    ] = None,
    metrics_port: Annotated[
        int, typer.Option("--metrics-port", min=0, max=65535, help="Prometheus /metrics port (0: off).")
    ] = 9090,
    health_port: Annotated[
        int, typer.Option("--health-port", min=0, max=65535, help="Liveness /healthz port (0: off).")
    ] = 8080,
    default_interval: Annotated[
        int,
        typer.Option(
            "--default-interval", min=1, help="Seconds between reconciles of a policy without spec.interval."
        ),
    ] = 3600,
    tick: Annotated[
        float, typer.Option("--tick", min=0.1, help="Seconds between checks whether a policy is due.")
    ] = 30.0,
    log_format: Annotated[str, typer.Option("--log-format", help="json or text.")] = "json",
    evidence: Annotated[
        str | None,
        typer.Option(
            "--evidence",
            help="Append a hash-chained run record per reconcile (and each erasure's manifest) to this "
            "folder (a mounted volume) or s3://BUCKET/PREFIX; the record's sha256 goes to the status.",
        ),
    ] = None,
    evidence_region: Annotated[
        str | None, typer.Option("--evidence-region", help="Region of the s3:// evidence bucket.")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
    audit_interval: Annotated[
        int,
        typer.Option(
            "--audit-interval",
            min=0,
            help="Seconds between `residency audit` runs of the live account, written as a PolicyReport (0: off).",
        ),
    ] = 0,
    audit_region: Annotated[
        list[str] | None,
        typer.Option("--audit-region", help="Region the audit reads (repeatable; default: territory)."),
    ] = None,
    audit_namespace: Annotated[
        str, typer.Option("--audit-namespace", help="Namespace of the audit's PolicyReport.")
    ] = "residency-system",
) -> None:
    """Run the Kubernetes operator: keep RetentionPolicy, AccessAuditPolicy and ErasureRequest resources
    enforced, with status conditions, Events and Prometheus metrics. Stops on SIGTERM/SIGINT."""
    if bool(namespace) == all_namespaces:
        _fail("give either --namespace NAME (repeatable) or --all-namespaces")
    if endpoint_url is not None and not endpoint_url.startswith(("http://", "https://")):
        _fail(f"--endpoint-url {endpoint_url!r} is not a URL; write it like http://127.0.0.1:5000")
    if log_format not in ("json", "text"):
        _fail(f"--log-format {log_format!r} is not one of json, text")
    if metrics_port and metrics_port == health_port:
        _fail("--metrics-port and --health-port must differ")
    try:
        from controllers.operator import OperatorConfig, kube_login_problem, run
    except ImportError as exc:
        _fail(
            f"the controller needs the operator extra ({exc.name} is missing): pip install 'residency[operator]'"
        )
    config = OperatorConfig(
        namespaces=tuple(namespace or ()),
        clusterwide=all_namespaces,
        peering=peering,
        priority=priority,
        endpoint_url=endpoint_url,
        metrics_port=metrics_port or None,
        health_port=health_port or None,
        default_interval=float(default_interval),
        tick=tick,
        json_logs=log_format == "json",
        evidence=evidence,
        evidence_region=evidence_region,
        verbose=verbose,
        audit_interval=float(audit_interval) or None,
        audit_regions=tuple(audit_region or ()),
        audit_namespace=audit_namespace,
    )
    problem = kube_login_problem(config)
    if problem:
        _fail(problem)
    from controllers.aws import ClientFactory

    if not ClientFactory(endpoint_url=endpoint_url).has_credentials():
        _fail(NO_AWS_CREDENTIALS.replace("; nothing was changed", ""))
    run(config)
