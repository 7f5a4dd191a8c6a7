"""The `residency check` pipeline as a function: sources -> engine -> waivers -> Result.

The CLI, the report command and the tests call this; it holds no presentation logic.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from policies.catalog import Catalog, default_catalog, load_catalog
from policies.engine import Result, evaluate
from policies.registry import all_rules
from policies.settings import Settings
from policies.sources import load_stack


def settings_for(catalog_path: str | Path | None) -> tuple[Catalog, Settings]:
    catalog = load_catalog(catalog_path) if catalog_path else default_catalog()
    catalog.check_rules(set(all_rules()))
    return catalog, catalog.settings()


def run_check(
    paths: Sequence[str],
    *,
    catalog: Catalog | None = None,
    catalog_path: str | Path | None = None,
    waivers_path: str | Path | None = None,
    today: date | None = None,
    strict: bool = False,
) -> Result:
    if catalog is None:
        catalog, settings = settings_for(catalog_path)
    else:
        settings = catalog.settings()
    today = today or date.today()
    waivers = None
    if waivers_path is not None:
        from policies.waivers import active_attestations, load_waivers

        waivers = load_waivers(waivers_path)
        active = active_attestations(waivers.attestations, set(settings.categories), today)
        settings = dataclasses.replace(settings, attestations=tuple(active))
    if strict:
        settings = dataclasses.replace(settings, strict=True)
    combined = Result(resources=0, findings=[])
    for path in paths:
        stack = load_stack(path, settings)
        result = evaluate(stack)
        combined.resources += result.resources
        combined.findings.extend(result.findings)
        combined.sources.extend(result.sources)
        combined.coverage.extend(result.coverage)
        combined.declarations.extend(result.declarations)
    if waivers is not None:
        from policies.waivers import apply_attestations, apply_waivers

        apply_waivers(combined, waivers, today)
        apply_attestations(combined, waivers.attestations, today)
    return combined
