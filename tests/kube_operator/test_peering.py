"""Two operator replicas with kopf peering: only the one with the highest priority acts."""

from __future__ import annotations

import time
from typing import Any

from moto_estate import Estate

from .conftest import wait_for
from .kube import Kube, condition
from .test_operator import NS, reconciled, retention, seed_crash_dumps


def test_two_replicas_only_the_leader_acts_and_the_other_takes_over_when_it_stops(
    kube: Kube, estate: Estate, start_operator: Any
) -> None:
    kube.peering("residency")
    seed_crash_dumps(estate, "pa-crash", {"crash/a.dmp": 40})
    seed_crash_dumps(estate, "pa-crash-2", {"crash/b.dmp": 40})
    leader = start_operator(peering="residency", priority=200)
    kube.create(NS, retention("crash-retention", "pa-crash"))
    wait_for(reconciled(kube, "RetentionPolicy", "crash-retention", 1), what="the leader's reconcile")

    # The follower starts beside existing objects: it must not resume them behind the leader's back.
    follower = start_operator(peering="residency", priority=100)
    peers = wait_for(
        lambda: (
            len(kube.request("GET", "/apis/kopf.dev/v1/clusterkopfpeerings/residency").get("status") or {})
            == 2
        ),
        what="both replicas in the peering object",
    )
    assert peers
    kube.patch("RetentionPolicy", NS, "crash-retention", {"spec": {"interval": "90s"}})
    wait_for(reconciled(kube, "RetentionPolicy", "crash-retention", 2), what="the leader's second reconcile")
    time.sleep(1.0)  # give a (wrongly) active follower the time to act too

    assert leader.controller_reconciles() == 2
    assert follower.controller_reconciles() == 0

    leader.stop()  # a clean exit removes it from the peering object at once
    kube.create(NS, retention("second", "pa-crash-2"))
    obj = wait_for(
        reconciled(kube, "RetentionPolicy", "second", 1), timeout=30, what="the follower taking over"
    )
    assert follower.controller_reconciles() >= 1
    assert condition(obj, "Compliant")["status"] == "True" and not estate.versions("pa-crash-2")
