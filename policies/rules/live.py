"""Findings of `residency audit` that no per-resource rule produces: unreadable resources and drift.

They are registered here with their metadata (id, title, severity, remediation) so reports, waivers,
the catalogue and `residency controls` know them like any rule. Their functions never run: the
engine dispatches them to no type. LIVE-001 comes from the live inventory's read problems, and the
DRIFT rules from `policies.drift.compare`, a pure function of two stacks (Pulumi's state and the
account), which no rule over one resource could be.
"""

from __future__ import annotations

from collections.abc import Iterator

from policies.model import Resource, Severity
from policies.registry import rule
from policies.stack import Stack

#: Dispatched to no type: these rules are metadata for findings made elsewhere.
_NO_TYPES: frozenset[str] = frozenset()


def _made_elsewhere(res: Resource, stack: Stack) -> Iterator[str]:
    return iter(())


@rule(
    id="LIVE-001",
    title="Every resource of the live account can be read",
    severity=Severity.HIGH,
    types=_NO_TYPES,
    remediation=(
        "Grant the audit role the read call named in the finding (see controllers/deploy/iam-audit-policy.json for "
        "the read-only set), then rerun `residency audit`; until then the resource counts as non-compliant."
    ),
    counts_as_coverage=False,
)
def live_resource_readable(res: Resource, stack: Stack) -> Iterator[str]:
    """A setting the audit could not read (AccessDenied, throttled past its retries) is not a pass."""
    return _made_elsewhere(res, stack)


@rule(
    id="DRIFT-001",
    title="Every resource in the account is managed by the stack",
    severity=Severity.MEDIUM,
    types=_NO_TYPES,
    remediation=(
        "Import the resource into the Pulumi program (`pulumi import`) so its settings are reviewed and "
        "checked before deploy, or delete it if nobody owns it."
    ),
    counts_as_coverage=False,
)
def drift_unmanaged(res: Resource, stack: Stack) -> Iterator[str]:
    """A resource made outside Pulumi (console, script, another tool) escapes every deploy-time check."""
    return _made_elsewhere(res, stack)


@rule(
    id="DRIFT-002",
    title="Every resource in the stack's state exists in the account",
    severity=Severity.MEDIUM,
    types=_NO_TYPES,
    remediation=(
        "Find out who deleted it; run `pulumi refresh` to record the deletion, or `pulumi up` to recreate "
        "it (a missing trail, key or log bucket means the audit trail has a gap)."
    ),
    counts_as_coverage=False,
)
def drift_missing(res: Resource, stack: Stack) -> Iterator[str]:
    """A resource the state holds but the account does not: the stack no longer describes reality."""
    return _made_elsewhere(res, stack)


@rule(
    id="DRIFT-003",
    title="Settings the rules read are the same in the account as in the stack's state",
    severity=Severity.MEDIUM,
    types=_NO_TYPES,
    remediation=(
        "Run `pulumi up` to restore the declared settings (or change the program and review the change); "
        "then find who changed the account outside Pulumi."
    ),
    counts_as_coverage=False,
)
def drift_differs(res: Resource, stack: Stack) -> Iterator[str]:
    """A setting changed outside Pulumi: what passed review at deploy time is not what runs."""
    return _made_elsewhere(res, stack)
