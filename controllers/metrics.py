"""Prometheus metrics of the operator, on their own registry (two operators in one process do not clash).

Counters are per kind (low cardinality); the gauges are per custom resource, so an alert can name the
policy that holds objects or has findings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from controllers.results import ReconcileResult

RESOURCE = ("kind", "namespace", "name")


@dataclass
class Metrics:
    registry: Any = None
    _server: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = self.registry or CollectorRegistry()
        reg = self.registry
        self.reconciles = Counter(
            "residency_reconciles", "Reconciles by outcome.", ["kind", "outcome"], registry=reg
        )
        self.deletions = Counter(
            "residency_deletions", "Object versions and items deleted.", ["kind"], registry=reg
        )
        self.errors = Counter(
            "residency_errors",
            "Reconcile errors (AWS, network, invalid spec).",
            ["kind", "reason"],
            registry=reg,
        )
        self.duration = Histogram(
            "residency_reconcile_duration_seconds",
            "Wall time of one reconcile.",
            ["kind"],
            buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600),
            registry=reg,
        )
        self.held = Gauge(
            "residency_held_objects", "Objects kept under legal hold or retention.", RESOURCE, registry=reg
        )
        self.findings = Gauge(
            "residency_findings", "Open findings of the last reconcile.", RESOURCE, registry=reg
        )
        self.pending = Gauge("residency_pending_deletions", "Deletions left to do.", RESOURCE, registry=reg)
        self.compliant = Gauge(
            "residency_compliant", "1 if the last reconcile was compliant.", RESOURCE, registry=reg
        )

    def observe(self, namespace: str, result: ReconcileResult, seconds: float) -> None:
        kind = result.kind
        labels = (kind, namespace, result.name)
        outcome = "error" if result.all_errors() else ("compliant" if result.compliant else "not_compliant")
        self.reconciles.labels(kind, outcome).inc()
        self.deletions.labels(kind).inc(result.total("deleted"))
        if result.all_errors():
            self.errors.labels(kind, "aws").inc()
        self.duration.labels(kind).observe(seconds)
        self.held.labels(*labels).set(result.total("held"))
        self.findings.labels(*labels).set(len(result.all_findings()))
        self.pending.labels(*labels).set(result.total("pending"))
        self.compliant.labels(*labels).set(1 if result.compliant else 0)

    def invalid(self, kind: str, namespace: str, name: str) -> None:
        self.reconciles.labels(kind, "invalid").inc()
        self.errors.labels(kind, "invalid_spec").inc()
        self.compliant.labels(kind, namespace, name).set(0)

    def forget(self, kind: str, namespace: str, name: str) -> None:
        """Drop a deleted resource's gauges."""
        for gauge in (self.held, self.findings, self.pending, self.compliant):
            try:
                gauge.remove(kind, namespace, name)
            except KeyError:
                pass

    def serve(self, port: int, addr: str = "0.0.0.0") -> None:  # noqa: S104 - a pod's metrics port
        from prometheus_client import start_http_server

        started = start_http_server(port, addr=addr, registry=self.registry)
        self._server = started[0] if isinstance(started, tuple) else None

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def text(self) -> str:
        from prometheus_client import generate_latest

        return generate_latest(self.registry).decode()
