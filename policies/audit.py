"""The `residency audit` pipeline: live account -> engine -> drift -> Result, and the command's body.

The CLI registers a stub that calls `audit_command`; everything the command does lives here so the
`check` path never imports it (it loads boto3 through `policies.sources.live_aws`).

Findings beyond the rules' are made here from data, never by a rule over one resource:
LIVE-001 for every read the account refused (fail closed), and DRIFT-001/002/003 from
`policies.drift.compare(state, live)` when `--against` names a stack export.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from policies.catalog import Catalog
from policies.engine import Result, evaluate
from policies.errors import InputError
from policies.model import Finding
from policies.registry import all_rules
from policies.settings import DEFAULT_ALLOWED_REGIONS, Settings


@dataclass
class AuditRun:
    result: Result
    inventory: Any  # policies.sources.live_aws.Inventory
    drift: Any = None  # policies.drift.DriftReport, with --against


def read_problem_findings(inventory: Any, settings: Settings) -> list[Finding]:
    """LIVE-001: each read the account refused, on the resource it was for (fails closed)."""
    meta = all_rules()["LIVE-001"]
    return [
        Finding(
            rule="LIVE-001",
            controls=list(settings.rule_controls.get("LIVE-001", ())),
            severity=meta.severity,
            urn=p.urn,
            type=p.type,
            name=p.name,
            message=f"{p.type.rsplit(':', 1)[-1]} '{p.name}' {p.message}; it counts as non-compliant until it can be read",
            remediation=meta.remediation,
            error=True,
        )
        for p in inventory.problems
    ]


def run_audit(
    regions: Sequence[str] = (),
    *,
    endpoint_url: str | None = None,
    catalog: Catalog | None = None,
    against: str | Sequence[str] | None = None,
    max_workers: int = 16,
    progress: bool | None = None,
    session: Any = None,
    waivers_path: str | Path | None = None,
) -> AuditRun:
    from policies.check import settings_for
    from policies.drift import compare, empty_summary
    from policies.sources import load_stack
    from policies.sources.live_aws import INVENTORIED_TYPES, load_live_stack

    if catalog is None:
        catalog, settings = settings_for(None)
    else:
        settings = catalog.settings()
    regions = tuple(dict.fromkeys(regions)) or DEFAULT_ALLOWED_REGIONS
    # The state is read first: a bad --against file fails before any call to the account. Several
    # exports (every stack that deploys into the account) are one state: what none manages is drift.
    exports = [against] if isinstance(against, str) else list(against or ())
    state = None
    if exports:
        stacks = [load_stack(path, settings) for path in exports]
        state = stacks[0]
        if len(stacks) > 1:
            from policies.stack import Stack

            state = Stack.build(
                [r for s in stacks for r in s.resources], settings=settings, source=", ".join(exports)
            )
    live, inventory = load_live_stack(
        regions,
        endpoint_url=endpoint_url,
        settings=settings,
        max_workers=max_workers,
        progress=progress,
        session=session,
    )
    result = evaluate(live)
    result.findings.extend(read_problem_findings(inventory, settings))
    drift = None
    if state is not None:
        drift = compare(state, live, against=", ".join(exports), types=INVENTORIED_TYPES, regions=regions)
        result.findings.extend(drift.findings(settings, all_rules()))
        result.drift = drift.summary()
        if drift.not_compared:
            result.notices.append(
                f"drift: {drift.not_compared} resource(s) of {', '.join(exports)} are of types the audit does not read or "
                "in regions it did not audit, and were not compared"
            )
    else:
        result.drift = empty_summary()
    if waivers_path is not None:
        # The same waivers file as `check`: a waiver names a rule (DRIFT-001 too) and a URN glob.
        from datetime import date

        from policies.waivers import apply_waivers, load_waivers

        apply_waivers(result, load_waivers(waivers_path), date.today())
    result.findings.sort(key=lambda f: (-f.severity.rank, f.rule, f.urn))
    return AuditRun(result=result, inventory=inventory, drift=drift)


def _evidence(
    directory: Path,
    run: AuditRun,
    catalog: Catalog,
    catalog_path: Path | None,
    against: str | Sequence[str] | None,
    regions: Sequence[str],
    endpoint_url: str | None,
) -> str:
    from policies.evidence import canonical_digest, digest_input, run_metadata, write_record
    from policies.sources import read_bytes

    inv = run.inventory
    account = {
        "account": inv.account,
        "partition": inv.partition,
        "regions": list(regions),
        "endpoint_url": endpoint_url,
        "resources": [{"urn": r.urn, "type": r.type} for r in inv.resources],
    }
    inputs = [digest_input(f"aws:{inv.account}", canonical_digest(account).encode(), "aws-account")]
    for path in [against] if isinstance(against, str) else against or ():
        data, name = read_bytes(path)
        inputs.append(digest_input(name, data))
    metadata = run_metadata(catalog, catalog_path, inputs)
    verdicts = run.result.to_json()
    written = write_record(
        directory,
        "audit",
        metadata,
        verdicts=verdicts,
        summary={
            **run.result.summary(),
            "drift": {k: v for k, v in (run.result.drift or {}).items() if k != "items"},
        },
        extra={"audit": {"calls": inv.calls, "seconds": round(inv.seconds, 3)}},
    )
    return f"evidence: {written.path} sha256 {written.sha256}"


def audit_command(
    *,
    regions: Sequence[str],
    endpoint_url: str | None,
    fmt: str,
    output: Path | None,
    fail_on: str,
    against: str | Sequence[str] | None,
    evidence: Path | None,
    catalog_path: Path | None,
    max_workers: int,
    waivers_path: Path | None = None,
    write: Any,
    echo: Any,
    verdict_line: Any,
    coverage_line: Any,
) -> int:
    """The body of `residency audit`: returns the exit code (0, 1); InputError means 2."""
    from policies.check import settings_for
    from policies.model import Severity
    from policies.reports import get_reporter

    if max_workers < 1 or max_workers > 64:
        raise InputError("--max-workers must be between 1 and 64", source="--max-workers")
    cat, _ = settings_for(catalog_path)
    run = run_audit(
        regions,
        endpoint_url=endpoint_url,
        catalog=cat,
        against=against,
        max_workers=max_workers,
        waivers_path=waivers_path,
    )
    result = run.result
    text = get_reporter(fmt).render(result, all_rules(), cat, color=output is None and sys.stdout.isatty())
    inv = run.inventory
    read = (
        f"Audited account {inv.account} ({', '.join(inv.regions)}): {len(inv.resources)} resources read in "
        f"{inv.seconds:.1f}s with {inv.calls} calls"
        + (f", {len(inv.problems)} could not be read" if inv.problems else "")
    )
    lines = [read, verdict_line(result, fail_on), coverage_line(result)]
    if evidence is not None:
        lines.append(_evidence(evidence, run, cat, catalog_path, against, inv.regions, endpoint_url))
    if fmt == "table" and output is None:
        write(text.rstrip("\n") + "\n" + "\n".join(lines), None)
    else:
        write(text, output)
        echo("\n".join(lines) + (f" -> {output}" if output else ""), err=output is None)
    for notice in result.notices if fmt != "table" or output is not None else ():
        echo(f"residency: notice: {notice}", err=True)
    if fail_on != "none" and result.failing(Severity(fail_on)):
        return 1
    return 0


__all__ = ["AuditRun", "audit_command", "read_problem_findings", "run_audit"]
