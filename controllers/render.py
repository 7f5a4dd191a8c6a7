"""The summary `residency enforce` prints: one table row per data store, then what happened."""

from __future__ import annotations

from controllers.results import ReconcileResult

_SHOWN = 20


def render_summary(results: list[ReconcileResult], *, dry_run: bool) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(soft_wrap=True)
    if not console.is_terminal:
        # Logs and CI: rich would assume 80 columns and squeeze the table; keep it readable.
        console = Console(soft_wrap=True, width=max(console.width, 140))
    table = Table(title="residency enforce" + (" (dry run)" if dry_run else ""), title_justify="left")
    for column in ("resource", "store", "examined", "deleted", "pending", "held", "skipped", "status"):
        if column in ("resource", "store", "status"):
            table.add_column(column, overflow="fold")
        else:
            table.add_column(column, justify="right")
    for result in results:
        status = "ok" if result.compliant else "FAIL"
        for i, store in enumerate(result.stores or [None]):
            if store is None:
                table.add_row(result.ref, "-", "", "", "", "", "", status)
                continue
            table.add_row(
                result.ref if i == 0 else "",
                store.store,
                str(store.examined),
                str(store.deleted),
                str(store.pending),
                str(store.held),
                str(store.skipped),
                status if i == 0 else "",
                end_section=i == len(result.stores) - 1,
            )
    console.print(table)
    for result in results:
        lines = [f"action: {s.store}: {a}" for s in result.stores for a in s.actions]
        lines += [f"held: {s.store}: {h}" for s in result.stores for h in s.held_items[:_SHOWN]]
        lines += [f"finding: {f}" for f in result.all_findings()[:_SHOWN]]
        lines += [f"error: {e}" for e in result.all_errors()[:_SHOWN]]
        if result.evidence:
            ev = result.evidence
            if "deletedSha256" in ev:
                lines.append(
                    f"evidence: {ev['deletedCount']} deleted, sha256 {ev['deletedSha256']}, "
                    f"{ev['started']} .. {ev['finished']}"
                )
                manifest = ev.get("manifest") or {}
                for where in ("file", "location"):
                    if manifest.get(where):
                        lines.append(f"evidence: manifest {manifest[where]}")
                for store in ev.get("stores", ()):
                    if not store.get("ran"):
                        lines.append(
                            f"not erased: {store['store']}: it did not run ({store.get('reason', '?')})"
                        )
                        continue
                    copy = f" (replica of {store['replicaOf']})" if store.get("replicaOf") else ""
                    lines.append(
                        f"evidence: {store['store']}{copy}: {store.get('deleted', 0)} deleted, "
                        f"{store.get('held', 0)} held, {store.get('remaining', 0)} still present"
                    )
        if lines:
            heading = Text(result.ref, style="bold")
            heading.append(f" ({result.source})")  # a path may hold '[': never read as markup
            console.print(heading, highlight=False)
            for line in lines:
                console.print("  " + line, markup=False, highlight=False)
    failing = [r for r in results if not r.compliant]
    if failing:
        console.print(
            f"NOT COMPLIANT: {len(failing)} of {len(results)} resource(s): {', '.join(r.ref for r in failing)}",
            markup=False,
            highlight=False,
        )
    else:
        verb = "would be compliant" if dry_run else "compliant"
        console.print(f"COMPLIANT: {len(results)} resource(s) {verb}", markup=False, highlight=False)
