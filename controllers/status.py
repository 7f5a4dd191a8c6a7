"""A custom resource's `status` from a reconcile result: conditions, counts, schedule. Plain Python, no kopf.

The operator writes what these functions return; keeping them here keeps the kopf handlers thin and
lets the rules (a condition's `lastTransitionTime` only moves when its `status` does; an invalid spec
never reads as compliant) be tested without a cluster.

Conditions (metav1.Condition shape):

* `Ready`: the controller could act on the current generation. `True/Reconciled`; `False/InvalidSpec`
  (permanent: fix the spec); `False/ReconcileError` (AWS or network trouble; retried with backoff).
* `Compliant`: the estate is within the resource's policy (see `ReconcileResult.condition`); an
  invalid spec makes it `False/InvalidSpec`, because an unchecked policy is never compliant.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from controllers.results import ReconcileResult

READY, COMPLIANT = "Ready", "Compliant"
INVALID_SPEC, RECONCILE_ERROR, RECONCILED = "InvalidSpec", "ReconcileError", "Reconciled"
#: The spread added to a policy's interval: up to this fraction of it, fixed per object.
JITTER = 0.1


def iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_time(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def condition(
    type_: str, status: bool | None, reason: str, message: str, generation: int | None, now: datetime
) -> dict[str, Any]:
    """One condition; `status` None is `Unknown`."""
    out: dict[str, Any] = {
        "type": type_,
        "status": "Unknown" if status is None else ("True" if status else "False"),
        "reason": reason,
        "message": message[:1024],
        "lastTransitionTime": iso(now),
    }
    if generation is not None:
        out["observedGeneration"] = generation
    return out


def merge_conditions(
    old: Iterable[Mapping[str, Any]] | None, new: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """`new` replaces conditions of the same type; a condition whose status did not change keeps its
    `lastTransitionTime` (so `kubectl wait` and alerts see transitions, not every reconcile)."""
    previous = {c.get("type"): c for c in old or () if isinstance(c, Mapping)}
    merged: dict[str, dict[str, Any]] = {t: dict(c) for t, c in previous.items() if t}
    for cond in new:
        cond = dict(cond)
        before = previous.get(cond["type"])
        if before is not None and before.get("status") == cond["status"] and before.get("lastTransitionTime"):
            cond["lastTransitionTime"] = before["lastTransitionTime"]
        merged[cond["type"]] = cond
    return [merged[t] for t in sorted(merged)]


def reconciled_status(
    result: ReconcileResult,
    generation: int | None,
    old_status: Mapping[str, Any] | None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The whole `status` after a reconcile (the CRD's status schema, nothing else)."""
    now = now or result.finished or result.started
    status = result.status(generation)
    errors = result.all_errors()
    ready = condition(
        READY,
        not errors,
        RECONCILE_ERROR if errors else RECONCILED,
        f"{len(errors)} error(s), retrying with backoff: {errors[0]}" if errors else "reconciled",
        generation,
        now,
    )
    compliant = dict(status["conditions"][0], lastTransitionTime=iso(now))
    status["conditions"] = merge_conditions((old_status or {}).get("conditions"), [ready, compliant])
    return status


def invalid_status(
    message: str, generation: int | None, old_status: Mapping[str, Any] | None, now: datetime
) -> dict[str, Any]:
    """The `status` of a resource whose spec failed validation: nothing was done, nothing deleted."""
    fix = f"{message}; nothing was changed"
    conditions = [
        condition(READY, False, INVALID_SPEC, fix, generation, now),
        condition(
            COMPLIANT, False, INVALID_SPEC, "the spec is invalid, so compliance is not known", generation, now
        ),
    ]
    status: dict[str, Any] = {
        "conditions": merge_conditions((old_status or {}).get("conditions"), conditions),
        "findings": [fix],
    }
    if generation is not None:
        status["observedGeneration"] = generation
    return status


def jitter_fraction(uid: str) -> float:
    """A fixed fraction in [0, JITTER) per object, so policies created together do not run together."""
    digest = hashlib.sha256(uid.encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 * JITTER


def next_run(status: Mapping[str, Any] | None, interval: float, uid: str) -> datetime | None:
    """When the policy is due again (None: it never ran, so it is due now)."""
    last = parse_time((status or {}).get("lastRun"))
    if last is None:
        return None
    return last + timedelta(seconds=interval * (1 + jitter_fraction(uid)))


def is_due(
    status: Mapping[str, Any] | None, generation: int | None, interval: float, uid: str, now: datetime
) -> bool:
    """A periodic reconcile is due: the interval (plus jitter) passed since the last run of this generation."""
    if (status or {}).get("observedGeneration") != generation:
        return True
    when = next_run(status, interval, uid)
    return when is None or now >= when


def ready_is(status: Mapping[str, Any] | None, type_: str, reason: str) -> bool:
    for cond in (status or {}).get("conditions") or ():
        if isinstance(cond, Mapping) and cond.get("type") == type_:
            return cond.get("reason") == reason
    return False


def is_complete(status: Mapping[str, Any] | None, generation: int | None) -> bool:
    """An erasure already done for this generation (a restart need not list the stores again)."""
    if (status or {}).get("observedGeneration") != generation:
        return False
    for cond in (status or {}).get("conditions") or ():
        if isinstance(cond, Mapping) and cond.get("type") == COMPLIANT:
            return cond.get("status") == "True"
    return False
