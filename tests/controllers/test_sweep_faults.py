"""Throttling, connection resets, per-key errors and a kill mid-sweep: the sweep still converges."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from faults import HttpFaults, Killed, S3Wrapper
from hypothesis import given, settings
from moto_estate import Estate, no_sleep, reset_moto
from oracle import (
    Event,
    ObjectSet,
    RuleSpec,
    now_utc,
    object_sets,
    oracle_survivors,
    policy_doc,
    rule_sets,
    seed,
    settled,
)

import controllers.s3_sweep as s3_sweep
from controllers.aws import ClientFactory, RetryPolicy
from controllers.documents import parse_document
from controllers.retention import reconcile_retention
from policies.settings import Settings

BUCKET = "fault-bucket"
RULES = [RuleSpec("old", "", {}, 10, None), RuleSpec("logs", "a/", {}, 20, 5)]


def fixed_estate(seed_value: int = 7, keys: int = 40) -> ObjectSet:
    """A deterministic locked bucket: versions, markers, holds and retention, old and young."""
    rng = random.Random(seed_value)
    objects: dict[str, list[Event]] = {}
    for i in range(keys):
        ages = sorted((rng.randint(0, 40) for _ in range(rng.randint(1, 3))), reverse=True)
        events = []
        for j, age in enumerate(ages):
            if j and rng.random() < 0.3 and not events[-1].marker:
                events.append(Event(age_days=age, marker=True))
            else:
                events.append(
                    Event(
                        age_days=age,
                        legal_hold=rng.random() < 0.1,
                        retention_days=rng.choice([None, None, None, 5, -3]),
                    )
                )
        objects[f"{rng.choice(['', 'a/', 'b/'])}k{i:03d}"] = events
    return ObjectSet(kind="locked", keys=objects)


def run(estate: Estate, rules: list[RuleSpec], clients: ClientFactory):  # noqa: ANN201
    spec = parse_document(policy_doc(BUCKET, rules), source="t", index=1, settings=Settings()).spec
    return reconcile_retention(spec, name="faults", clients=clients, now=now_utc())


def factory(estate: Estate, **kw: object) -> ClientFactory:
    return ClientFactory(endpoint_url=estate.url, retry=RetryPolicy(sleep=no_sleep), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["throttle", "reset"])
def test_throttling_and_connection_resets_are_retried_to_the_oracle_state(estate: Estate, kind: str) -> None:
    objects = fixed_estate()
    seed(estate, BUCKET, objects, now_utc())
    faults = HttpFaults(
        kind, {"ListObjectVersions", "DeleteObjects", "HeadObject", "PutBucketLifecycleConfiguration"}
    )
    clients = factory(estate, hooks=faults.hooks)

    result = run(estate, RULES, clients)

    assert faults.injected > 5
    assert estate.versions(BUCKET) == oracle_survivors(objects, RULES)
    assert result.compliant, result.all_errors()


def test_persistent_throttling_stops_deleting_and_reports_without_wrongful_deletes(estate: Estate) -> None:
    objects = fixed_estate()
    seed(estate, BUCKET, objects, now_utc())
    expected = oracle_survivors(objects, RULES)
    faults = HttpFaults("throttle", {"DeleteObjects"}, every=1)

    result = run(estate, RULES, factory(estate, hooks=faults.hooks))

    assert not result.compliant
    assert any("NotAttempted" in e for e in result.all_errors())
    assert expected <= estate.versions(BUCKET)  # nothing wrongly deleted, nothing deleted at all
    assert faults.injected == RetryPolicy().attempts
    assert run(estate, RULES, factory(estate)).compliant
    assert estate.versions(BUCKET) == expected


def test_per_key_delete_errors_are_retried_or_reported_and_markers_of_failed_keys_stay(
    estate: Estate,
) -> None:
    objects = fixed_estate()
    seed(estate, BUCKET, objects, now_utc())
    expected = oracle_survivors(objects, RULES)
    doomed_keys = sorted(
        {k for k, events in objects.keys.items() for e in events if (k, e.version_id) not in expected}
    )
    transient, permanent = doomed_keys[0], doomed_keys[1]
    wrappers: list[S3Wrapper] = []

    def wrap(service: str, client: object) -> object:
        if service != "s3":
            return client
        wrappers.append(
            S3Wrapper(
                client, fail_keys={transient: ["SlowDown", "InternalError"], permanent: ["AccessDenied"] * 99}
            )
        )
        return wrappers[-1]

    result = run(estate, RULES, factory(estate, wrap=wrap))

    survivors = estate.versions(BUCKET)
    assert expected <= survivors
    left = survivors - expected
    assert left and {k for k, _ in left} == {permanent}
    assert any(permanent in e and "AccessDenied" in e for e in result.all_errors())
    assert not result.compliant
    # A clean re-run converges.
    assert run(estate, RULES, factory(estate)).compliant
    assert estate.versions(BUCKET) == expected


@settings(max_examples=12, deadline=None)
@given(objects=object_sets(), rules=rule_sets())
def test_killed_mid_sweep_then_rerun_converges_and_deletes_nothing_twice(
    moto_url: str, objects: ObjectSet, rules: list[RuleSpec]
) -> None:
    reset_moto(moto_url)
    estate = Estate(moto_url)
    seed(estate, BUCKET, objects, now_utc())
    expected = oracle_survivors(objects, rules)
    sent: list[tuple[str, str]] = []
    original = s3_sweep.MAX_BATCH
    s3_sweep.MAX_BATCH = 2  # several batches even for a small estate
    try:
        killer: list[S3Wrapper] = []

        def wrap_kill(service: str, client: object) -> object:
            killer.append(S3Wrapper(client, kill_after_batches=1))
            return killer[-1] if service == "s3" else client

        try:
            run(estate, rules, factory(estate, wrap=wrap_kill))
        except Killed:
            pass
        assert expected <= estate.versions(BUCKET)
        sent += [r for w in killer for r in w.deleted]

        recorder: list[S3Wrapper] = []

        def wrap_record(service: str, client: object) -> object:
            recorder.append(S3Wrapper(client))
            return recorder[-1] if service == "s3" else client

        result = run(estate, rules, factory(estate, wrap=wrap_record))
        sent += [r for w in recorder for r in w.deleted]
    finally:
        s3_sweep.MAX_BATCH = original
    assert estate.versions(BUCKET) == expected
    assert settled(result, objects, rules), result.all_findings()
    assert not [ref for ref, n in Counter(sent).items() if n > 1], "a version was deleted twice"


def test_a_deterministic_kill_after_two_batches_resumes_without_double_deletes(estate: Estate) -> None:
    objects = fixed_estate(seed_value=11, keys=60)
    seed(estate, BUCKET, objects, now_utc())
    expected = oracle_survivors(objects, RULES)
    original = s3_sweep.MAX_BATCH
    s3_sweep.MAX_BATCH = 5
    wrappers: list[S3Wrapper] = []

    def wrap(kill: int | None):  # noqa: ANN202
        def make(service: str, client: object) -> object:
            wrappers.append(S3Wrapper(client, kill_after_batches=kill))
            return wrappers[-1] if service == "s3" else client

        return make

    try:
        with pytest.raises(Killed):
            run(estate, RULES, factory(estate, wrap=wrap(2)))
        first = sum(len(w.deleted) for w in wrappers)
        assert first == 10
        result = run(estate, RULES, factory(estate, wrap=wrap(None)))
    finally:
        s3_sweep.MAX_BATCH = original
    sent = [r for w in wrappers for r in w.deleted]
    assert estate.versions(BUCKET) == expected and result.compliant
    assert len(sent) == len(set(sent))
    assert result.total("deleted") == len(sent) - first
