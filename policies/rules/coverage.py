"""Coverage: with `--strict`, a resource no rule understands is a finding, not a silent pass.

Without `--strict` the same resources are named under "not evaluated" in every report; with it,
each one fails the check (COV-001) until the type catalogue classifies its type or the catalogue's
territory lists its provider package.
"""

from __future__ import annotations

from collections.abc import Iterator

from policies.coverage import NOT_EVALUATED, static_status, strict_mode
from policies.model import Resource, Severity
from policies.registry import rule
from policies.stack import Stack


@rule(
    id="COV-001",
    title="Every resource is understood by some rule (--strict)",
    severity=Severity.HIGH,
    types=None,
    applies=strict_mode,
    counts_as_coverage=False,
    remediation=(
        "Classify the type in policies/type_catalog.yaml (a newer provider release), or list the provider "
        "package's allowed regions under territory.providers in the catalogue, so the rules can judge it."
    ),
)
def resource_understood(res: Resource, stack: Stack) -> Iterator[str]:
    """A strict check passes only when every resource was looked at by a rule that knows its type."""
    status, reason = static_status(res, stack.settings)
    if status == NOT_EVALUATED:
        yield f"{res.label} was not evaluated: {reason}"
