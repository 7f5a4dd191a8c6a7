"""`controllers.status`: conditions, transition times and the schedule, without a cluster."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from controllers import status as st
from controllers.models import interval_seconds
from controllers.results import ReconcileResult, StoreResult

T0 = datetime(2026, 1, 1, tzinfo=UTC)
T1 = T0 + timedelta(hours=1)


def result(
    *, errors: list[str] | None = None, deleted: int = 0, findings: list[str] | None = None
) -> ReconcileResult:
    out = ReconcileResult("RetentionPolicy", "p", "ns/p", started=T1, finished=T1)
    store = StoreResult("s3://b", deleted=deleted)
    store.errors = errors or []
    store.findings = findings or []
    out.stores.append(store)
    return out


@pytest.mark.parametrize(
    ("old_status", "new_status", "kept"),
    [("True", "True", True), ("False", "False", True), ("True", "False", False), ("Unknown", "True", False)],
)
def test_last_transition_time_moves_only_when_the_status_does(
    old_status: str, new_status: str, kept: bool
) -> None:
    old = [st.condition("Ready", None, "x", "m", 1, T0) | {"status": old_status}]
    new = [st.condition("Ready", None, "y", "n", 2, T1) | {"status": new_status}]
    (merged,) = st.merge_conditions(old, new)
    assert merged["lastTransitionTime"] == (st.iso(T0) if kept else st.iso(T1))
    assert merged["reason"] == "y" and merged["observedGeneration"] == 2


def test_reconciled_status_has_both_conditions_counts_and_generation() -> None:
    status = st.reconciled_status(result(deleted=3), 4, None)
    conditions = {c["type"]: c for c in status["conditions"]}
    assert conditions["Ready"]["status"] == "True" and conditions["Compliant"]["status"] == "True"
    assert (
        status["observedGeneration"] == 4
        and status["deleted"] == 3
        and status["lastRun"] == "2026-01-01T01:00:00Z"
    )
    for cond in conditions.values():
        assert set(cond) == {
            "type",
            "status",
            "reason",
            "message",
            "observedGeneration",
            "lastTransitionTime",
        }


def test_errors_make_ready_false_with_the_first_error_and_findings_make_compliant_false() -> None:
    status = st.reconciled_status(result(errors=["NoSuchBucket: gone"], findings=["f"]), 1, None)
    conditions = {c["type"]: c for c in status["conditions"]}
    assert (
        conditions["Ready"]["reason"] == "ReconcileError" and "NoSuchBucket" in conditions["Ready"]["message"]
    )
    assert conditions["Compliant"]["status"] == "False"


def test_an_invalid_spec_never_reads_as_compliant() -> None:
    status = st.invalid_status("spec.rules: add at least one entry", 2, None, T0)
    conditions = {c["type"]: c for c in status["conditions"]}
    assert conditions["Ready"]["reason"] == conditions["Compliant"]["reason"] == "InvalidSpec"
    assert conditions["Compliant"]["status"] == "False" and status["observedGeneration"] == 2
    assert "nothing was changed" in conditions["Ready"]["message"]


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("15m", 900), ("6h", 21600), ("1d", 86400)])
def test_interval_text(text: str, seconds: int) -> None:
    assert interval_seconds(text) == seconds


def test_due_after_the_interval_plus_a_per_object_jitter() -> None:
    status = {"observedGeneration": 1, "lastRun": st.iso(T0)}
    jitter = st.jitter_fraction("uid-1")
    assert 0 <= jitter < st.JITTER and jitter != st.jitter_fraction("uid-2")
    due_at = T0 + timedelta(seconds=100 * (1 + jitter))
    assert not st.is_due(status, 1, 100, "uid-1", due_at - timedelta(seconds=1))
    assert st.is_due(status, 1, 100, "uid-1", due_at)
    assert st.is_due(status, 2, 100, "uid-1", T0)  # a new generation is due at once
    assert st.is_due({}, 1, 100, "uid-1", T0)  # never ran
