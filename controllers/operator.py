"""The Kubernetes operator: thin kopf handlers over the reconcilers that `residency enforce` runs.

Each handler validates the custom resource's spec with the same pydantic models, calls the same
reconciler (`controllers.enforce.RECONCILERS`), and turns the `ReconcileResult` into `status`
(`controllers.status`), Kubernetes Events and Prometheus metrics (`controllers.metrics`). Watching,
retries, persistence and peering stay inside kopf; the reconcilers know nothing of it.

* create / update (of `spec`) / resume: reconcile now. An invalid spec is a `kopf.PermanentError`
  plus `Ready=False/InvalidSpec` with the field and the fix; nothing is done until the spec changes.
  AWS trouble (the reconcilers report it per store) is a `kopf.TemporaryError`: retried with backoff.
* RetentionPolicy and AccessAuditPolicy also get a kopf timer that ticks every `tick` seconds and
  reconciles when `spec.interval` (plus a per-object jitter) has passed since `status.lastRun`.
  kopf puts its finalizer on objects that have a timer, to stop it before the object goes; no
  handler cleans anything up in AWS on deletion (deleting a policy leaves its lifecycle rules).
* ErasureRequest has no timer and no finalizer: a request that is not complete yet (held versions,
  errors) raises `kopf.TemporaryError` and is retried until it is; a complete one is not re-run.

One reconcile per object at a time (a lock per uid), so a timer never sweeps beside an update.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import kopf
from pydantic import ValidationError

from controllers import status as st
from controllers.aws import ClientFactory
from controllers.documents import describe_validation_error
from controllers.enforce import RECONCILERS
from controllers.metrics import Metrics
from controllers.models import GROUP, KINDS, VERSION, interval_seconds
from controllers.results import ReconcileResult
from controllers.retention import catalogue_problems
from policies.settings import Settings

log = logging.getLogger("residency.operator")

PLURALS = {
    "RetentionPolicy": "retentionpolicies",
    "AccessAuditPolicy": "accessauditpolicies",
    "ErasureRequest": "erasurerequests",
    "AccessRequest": "accessrequests",
}
#: Kinds that are kept enforced periodically (an ErasureRequest is done once it is complete).
PERIODIC = ("RetentionPolicy", "AccessAuditPolicy")
#: Requests, done once complete: an erasure, and an access request whose package was delivered.
ONE_SHOT = ("ErasureRequest", "AccessRequest")
#: Findings posted as Events per reconcile; the rest is counted in one more Event (and in status).
MAX_FINDING_EVENTS = 10
FINALIZER = f"{GROUP}/timer"


@dataclass(frozen=True)
class OperatorConfig:
    """What `residency controller` was asked to do."""

    namespaces: tuple[str, ...] = ()
    clusterwide: bool = False
    #: kopf peering object's name; None: standalone (no peering).
    peering: str | None = None
    #: Peering priority: the live operator with the highest one acts, the others pause. None: random.
    priority: int | None = None
    endpoint_url: str | None = None
    metrics_port: int | None = 9090
    health_port: int | None = 8080
    #: Seconds between periodic reconciles of a policy without `spec.interval`.
    default_interval: float = 3600.0
    #: How often the policy timers wake up to see whether a reconcile is due.
    tick: float = 30.0
    #: How long an incomplete ErasureRequest (held versions) waits before it is tried again.
    erasure_retry: float = 900.0
    #: Upper bound of the backoff after AWS errors.
    max_backoff: float = 600.0
    json_logs: bool = True
    verbose: bool = False
    #: Where each reconcile's run record goes: a folder (a mounted volume) or s3://bucket/prefix; None: none.
    evidence: str | None = None
    #: The region of an s3:// evidence bucket (default: the catalogue's first allowed region).
    evidence_region: str | None = None
    #: Write findings as wgpolicyk8s.io PolicyReports, one per namespace (controllers/policy_reports.py).
    policy_reports: bool = True
    #: Seconds between `residency audit` runs of the live account, reported the same way (None: off).
    audit_interval: float | None = None
    audit_regions: tuple[str, ...] = ()
    #: Where the audit's PolicyReport goes (the operator's own namespace).
    audit_namespace: str = "residency-system"


def plain(value: Any) -> Any:
    """kopf's body views as plain dicts and lists."""
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


class Controller:
    """The state the handlers share: AWS clients, catalogue settings, metrics, per-object locks."""

    def __init__(
        self,
        config: OperatorConfig,
        *,
        clients: ClientFactory | None = None,
        settings: Settings | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        if settings is None:
            from policies.catalog import default_catalog

            settings = default_catalog().settings()
        self.config = config
        self.settings = settings
        self.clients = clients or ClientFactory(endpoint_url=config.endpoint_url)
        self.metrics = metrics or Metrics()
        from controllers.policy_reports import ReportSink

        self.reports = ReportSink.for_config(config)
        from controllers.run_records import EvidenceSink

        self.evidence = EvidenceSink.for_config(config, self.clients, settings.allowed_regions[0])
        self.reconciles = 0
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, uid: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(uid, threading.Lock())

    # --- handlers' bodies ------------------------------------------------------------------------

    def on_change(
        self, kind: str, body: Any, patch: Any, retry: int, logger: Any, *, resumed: bool = False
    ) -> None:
        """create / update / resume: reconcile now. On resume (an operator restart), an erasure already
        complete and a policy not yet due are left alone, so a restart does not sweep everything at once."""
        raw = plain(body)
        meta, status = raw.get("metadata", {}), raw.get("status") or {}
        generation = meta.get("generation")
        if kind in ONE_SHOT and st.is_complete(status, generation):
            logger.info(f"{kind} already complete for this generation; nothing to do")
            return
        if resumed and kind in PERIODIC and status.get("lastRun"):
            interval = self.interval(raw.get("spec") or {})
            if not st.is_due(status, generation, interval, meta.get("uid", ""), datetime.now(UTC)):
                return
        with self._lock(meta.get("uid", "")):
            self.reconcile(kind, body, raw, patch, retry, logger)

    def on_timer(self, kind: str, body: Any, patch: Any, logger: Any) -> None:
        """A policy's periodic reconcile, when its interval has passed."""
        raw = plain(body)
        meta, status = raw.get("metadata", {}), raw.get("status") or {}
        generation = meta.get("generation")
        if status.get("observedGeneration") != generation or not status.get("lastRun"):
            return  # the change handlers have not dealt with this generation yet
        if st.ready_is(status, st.READY, st.INVALID_SPEC):
            return  # an invalid spec waits for a change, not for the clock
        interval = self.interval(raw.get("spec") or {})
        if not st.is_due(status, generation, interval, meta.get("uid", ""), datetime.now(UTC)):
            return
        lock = self._lock(meta.get("uid", ""))
        if not lock.acquire(blocking=False):
            return  # a change handler is reconciling it right now
        try:
            self.reconcile(kind, body, raw, patch, 0, logger)
        finally:
            lock.release()

    def interval(self, spec: Mapping[str, Any]) -> float:
        text = spec.get("interval")
        try:
            return float(interval_seconds(text)) if isinstance(text, str) else self.config.default_interval
        except (KeyError, ValueError):
            return self.config.default_interval

    def reconcile(
        self, kind: str, body: Any, raw: dict[str, Any], patch: Any, retry: int, logger: Any
    ) -> None:
        meta = raw.get("metadata", {})
        namespace, name, generation = (
            meta.get("namespace") or "",
            meta.get("name", ""),
            meta.get("generation"),
        )
        old_status = raw.get("status") or {}
        message = None
        try:
            spec = KINDS[kind].model_validate(raw.get("spec") or {}, context={"settings": self.settings})
        except ValidationError as exc:
            message = describe_validation_error(exc, ("spec",))
        if message is None and kind == "RetentionPolicy":
            # The catalogue's bound on the stores' categories read from their tags (AWS reads).
            problems = catalogue_problems(spec, self.clients, self.settings)
            message = f"spec.{problems[0]}" if problems else None
        if message is None and kind == "AccessRequest":
            # deliverTo in the territory, private, with a customer-managed key (AWS reads).
            from controllers.access_request import delivery_problems

            problems = delivery_problems(spec, self.clients, self.settings)
            message = f"spec.{problems[0]}" if problems else None
        if message is not None:
            _set_status(patch, st.invalid_status(message, generation, old_status, datetime.now(UTC)))
            self.metrics.invalid(kind, namespace, name)
            kopf.warn(body, reason="InvalidSpec", message=f"{message}; nothing was changed")
            raise kopf.PermanentError(f"invalid spec: {message}") from None

        started = time.monotonic()
        extra: dict[str, Any] = {"settings": self.settings} if kind == "RetentionPolicy" else {}
        if kind == "AccessRequest":
            extra = {"settings": self.settings, "uid": meta.get("uid") or None}
        try:
            result = RECONCILERS[kind](
                spec,
                name=name,
                clients=self.clients,
                now=datetime.now(UTC),
                dry_run=False,
                source=f"{namespace}/{kind}/{name}",
                progress=_batch_events(body),
                **extra,
            )
        except Exception as exc:  # the reconcilers report AWS errors per store; this is anything else
            self.metrics.errors.labels(kind, "exception").inc()
            raise kopf.TemporaryError(
                f"reconcile failed ({type(exc).__name__}: {exc}); retrying", delay=self.backoff(retry)
            ) from exc
        seconds = time.monotonic() - started
        self.reconciles += 1
        self.metrics.observe(namespace, result, seconds)
        _set_status(patch, st.reconciled_status(result, generation, old_status))
        self.record(kind, body, raw, patch, result, logger)
        _post_events(body, result)
        self.reports.reconciled(kind, raw, result)
        logger.info(
            f"reconciled in {seconds:.2f}s: compliant={result.compliant} deleted={result.total('deleted')} "
            f"held={result.total('held')} findings={len(result.all_findings())} errors={len(result.all_errors())}"
        )
        errors = result.all_errors()
        if errors:
            raise kopf.TemporaryError(f"{len(errors)} error(s): {errors[0]}", delay=self.backoff(retry))
        if kind == "ErasureRequest" and not result.compliant:
            raise kopf.TemporaryError(
                f"erasure not complete: {result.condition()['message']}", delay=self.config.erasure_retry
            )

    def record(self, kind: str, body: Any, raw: dict[str, Any], patch: Any, result: Any, logger: Any) -> None:
        """The reconcile's run record in the evidence location; its name and sha256 into the status."""
        if self.evidence is None:
            return
        try:
            record = self.evidence.reconciled(kind, raw, result)
        except Exception as exc:  # noqa: BLE001 - the reconcile happened; say the evidence is missing
            kopf.warn(body, reason="EvidenceNotWritten", message=f"run record not written: {exc}"[:1024])
            logger.warning(f"run record not written to {self.evidence.location}: {exc}")
            return
        evidence = dict(patch.status.get("evidence") or {})
        patch.status["evidence"] = {**evidence, "runRecord": record}
        logger.info(f"run record {record['name']} sha256 {record['sha256']} in {record['location']}")

    def backoff(self, retry: int) -> float:
        """Exponential backoff with jitter: 10 s, 20 s, 40 s ... up to `max_backoff`."""
        return min(self.config.max_backoff, 10.0 * 2 ** min(retry, 16)) * random.uniform(0.5, 1.0)


def _set_status(patch: Any, status: Mapping[str, Any]) -> None:
    for key, value in status.items():
        patch.status[key] = value


def _batch_events(body: Any) -> Any:
    """A reconciler `progress` callback that posts an Event for every S3 DeleteObjects batch."""
    done = {"deleted": 0}

    def progress(event: str, n: int) -> None:
        if event == "deleted" and n:
            done["deleted"] += n
            kopf.info(
                body,
                reason="DeletionBatch",
                message=f"deleted a batch of {n} object version(s)/delete marker(s) ({done['deleted']} so far)",
            )

    return progress


def _post_events(body: Any, result: ReconcileResult) -> None:
    for store in result.stores:
        for action in store.actions:
            if action.startswith("deleted"):
                # DynamoDB deletions and per-store totals (S3 batches were posted as they happened).
                kopf.info(body, reason="Deleted", message=f"{store.store}: {action}")
            elif not action.startswith("would "):
                kopf.info(body, reason="Configured", message=f"{store.store}: {action}")
        if store.held:
            kopf.warn(
                body,
                reason="Held",
                message=f"{store.store}: {store.held} item(s) kept under legal hold or retention",
            )
    findings = result.all_findings()
    for finding in findings[:MAX_FINDING_EVENTS]:
        kopf.warn(body, reason="Finding", message=finding[:1024])
    if len(findings) > MAX_FINDING_EVENTS:
        kopf.warn(
            body,
            reason="Finding",
            message=f"... and {len(findings) - MAX_FINDING_EVENTS} more finding(s); see status",
        )
    for error in result.all_errors()[:MAX_FINDING_EVENTS]:
        kopf.warn(body, reason="ReconcileError", message=error[:1024])
    if result.evidence and result.compliant and "packageSha256" in result.evidence:
        kopf.info(
            body,
            reason="AccessPackageDelivered",
            message=f"{result.evidence['package']['location']}: sha256 {result.evidence['packageSha256']}",
        )
    elif result.evidence and result.compliant:
        kopf.info(
            body,
            reason="ErasureComplete",
            message=f"{result.total('deleted')} deleted, sha256 {result.evidence.get('deletedSha256', '')}",
        )


# --- kopf wiring ---------------------------------------------------------------------------------


def login(**kwargs: Any) -> Any:
    """In a pod: its service account; elsewhere: KUBECONFIG / ~/.kube/config."""
    return kopf.login_with_service_account(**kwargs) or kopf.login_with_kubeconfig(**kwargs)


def kube_login_problem(config: OperatorConfig) -> str | None:
    """Why the operator could not log in to Kubernetes (one line), or None if it can.

    The same login the operator makes at start (service account, then kubeconfig), run up front so
    that a missing or broken kubeconfig is one clear line and exit 2, not kopf's retry tracebacks."""
    settings = operator_settings(config)
    try:
        info = login(settings=settings)
    except (OSError, ValueError, KeyError, TypeError, kopf.LoginError) as exc:
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return f"cannot read the Kubernetes credentials ({detail}); check KUBECONFIG or ~/.kube/config"
    except Exception as exc:  # noqa: BLE001 - a malformed kubeconfig (YAML errors ...) is one line too
        return f"cannot read the Kubernetes credentials ({type(exc).__name__}); check KUBECONFIG or ~/.kube/config"
    if info is None:
        return (
            "no Kubernetes credentials: not in a pod with a service account, and no KUBECONFIG or "
            "~/.kube/config; set KUBECONFIG to a kubeconfig file"
        )
    return None


def build_registry(controller: Controller) -> kopf.OperatorRegistry:
    """The handlers, bound to one controller (a registry per operator: tests run two side by side)."""
    registry = kopf.OperatorRegistry()
    kopf.on.login(registry=registry)(login)
    kopf.on.probe(id="reconciles", registry=registry)(lambda **_: controller.reconciles)

    for kind, plural in PLURALS.items():
        resource = (GROUP, VERSION, plural)

        def changed(body: Any, patch: Any, retry: int, logger: Any, _kind: str = kind, **_: Any) -> None:
            controller.on_change(_kind, body, patch, retry, logger)

        kopf.on.create(*resource, id="reconcile", registry=registry)(changed)
        kopf.on.update(*resource, id="reconcile", field="spec", registry=registry)(changed)

        def resumed(body: Any, patch: Any, retry: int, logger: Any, _kind: str = kind, **_: Any) -> None:
            controller.on_change(_kind, body, patch, retry, logger, resumed=True)

        kopf.on.resume(*resource, id="resume", registry=registry)(resumed)

        def gone(body: Any, type: str, _kind: str = kind, **_: Any) -> None:
            if type == "DELETED":
                meta = body.get("metadata", {})
                controller.metrics.forget(_kind, meta.get("namespace") or "", meta.get("name", ""))

        kopf.on.event(*resource, id="forget", registry=registry)(gone)

        if kind in PERIODIC:

            def tick(body: Any, patch: Any, logger: Any, _kind: str = kind, **_: Any) -> None:
                controller.on_timer(_kind, body, patch, logger)

            kopf.timer(*resource, id="periodic", interval=controller.config.tick, registry=registry)(tick)
    if controller.config.audit_interval:
        kopf.on.startup(id="audit", registry=registry)(lambda **_: controller.reports.start_audit())
        kopf.on.cleanup(id="audit", registry=registry)(lambda **_: controller.reports.stop_audit())
    return registry


def operator_settings(config: OperatorConfig) -> kopf.OperatorSettings:
    settings = kopf.OperatorSettings()
    # Progress and the last-handled spec in annotations: the CRDs' status schema prunes unknown fields.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=GROUP, key="last-handled-configuration"
    )
    settings.persistence.finalizer = FINALIZER
    # Namespaces are exact names: no cluster scanning, so RBAC needs no CRD or namespace watch.
    settings.scanning.disabled = True
    settings.execution.max_workers = 8
    # Events are the ones this module posts (findings, deletion batches ...), not kopf's log lines.
    settings.posting.level = logging.INFO
    settings.posting.loggers = False
    settings.networking.request_timeout = 60
    return settings


def run(
    config: OperatorConfig,
    *,
    controller: Controller | None = None,
    stop_flag: Any = None,
    ready_flag: Any = None,
    configure_logging: bool = True,
) -> Controller:
    """Run the operator until SIGTERM/SIGINT (or `stop_flag`); returns its controller when stopped.

    kopf stops watching and cancels the timers; a reconcile already running finishes in its worker
    thread before the process exits, and one cut short by a kill is safe to repeat (the reconcilers
    are idempotent and list afresh)."""
    if configure_logging:
        kopf.configure(
            verbose=config.verbose,
            log_format=kopf.LogFormat.JSON if config.json_logs else kopf.LogFormat.FULL,
        )
    controller = controller or Controller(config)
    if config.metrics_port is not None:
        controller.metrics.serve(config.metrics_port)
    priority = config.priority if config.priority is not None else random.SystemRandom().randint(1, 2**30)
    try:
        kopf.run(
            registry=build_registry(controller),
            settings=operator_settings(config),
            clusterwide=config.clusterwide,
            namespaces=list(config.namespaces),
            standalone=config.peering is None,
            peering_name=config.peering,
            priority=priority,
            liveness_endpoint=(
                f"http://0.0.0.0:{config.health_port}/healthz" if config.health_port is not None else None
            ),
            stop_flag=stop_flag,
            ready_flag=ready_flag,
            memo=kopf.Memo(controller=controller),
        )
    finally:
        controller.metrics.stop()
    return controller
