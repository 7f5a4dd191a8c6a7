"""Findings as `wgpolicyk8s.io/v1alpha2` PolicyReports, the shape Kyverno and the Trivy operator write.

One PolicyReport per namespace, named `residency`, holds every result the operator has for that
namespace, with summary counts (pass, fail, warn, error, skip):

- each reconcile of a RetentionPolicy, AccessAuditPolicy or ErasureRequest replaces that object's
  results: one `fail` (or `error`) result per finding, or one `pass`, each naming the custom resource;
- each periodic `residency audit` (the operator's `audit_interval`) replaces the audit's results in
  the operator's own namespace: one result per finding, with the rule id (`policy`), the control
  ids, the severity, and the AWS resource it is about (its Pulumi type as the kind, its URN in the
  properties).

Results carry an `owner` property (`RetentionPolicy/name` or `audit`) so one writer's update never
drops another's. Building reports is pure (`build_report`, `merge`); `PolicyReportWriter` writes them
with plain HTTPS from kopf's login (service account or kubeconfig): get, then create, or a merge
patch carrying the resourceVersion it read, retried on a conflict.
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger("residency.policyreports")

GROUP, VERSION, PLURAL, KIND = "wgpolicyk8s.io", "v1alpha2", "policyreports", "PolicyReport"
API_VERSION = f"{GROUP}/{VERSION}"
REPORT_NAME = "residency"
SOURCE = "residency"
AUDIT_OWNER = "audit"
RESULTS = ("pass", "fail", "warn", "error", "skip")
#: Results kept per report: an etcd object is at most ~1.5 MB; the summary still counts every result.
MAX_RESULTS = 2000
#: The catalogue's runtime controls per kind (`runtime:` in policies/catalog.yaml).
RUNTIME_CATEGORY = {
    "RetentionPolicy": "retention",
    "AccessAuditPolicy": "access-audit",
    "ErasureRequest": "erasure",
}


def _timestamp(now: datetime) -> dict[str, int]:
    return {"seconds": int(now.timestamp()), "nanos": 0}


def _props(**values: Any) -> dict[str, str]:
    # PolicyReport properties are a map of strings.
    return {k: str(v) for k, v in values.items() if v not in (None, "")}


def results_from_audit(result: Any, now: datetime | None = None) -> list[dict[str, Any]]:
    """One PolicyReport result per finding of a `residency audit` run (`policies.engine.Result`)."""
    now = now or datetime.now(UTC)
    out: list[dict[str, Any]] = []
    for f in result.findings:
        out.append(
            {
                "source": SOURCE,
                "policy": f.rule,
                "rule": f.rule,
                "category": ",".join(f.controls) or "uncatalogued",
                "severity": f.severity.value,
                "result": "skip" if f.waived else ("error" if f.error else "fail"),
                "scored": True,
                "timestamp": _timestamp(now),
                "message": f.message[:1024],
                # An AWS resource is no Kubernetes object: its Pulumi type token stands for the API.
                "resources": [
                    {
                        "apiVersion": f.type.rsplit(":", 1)[0],
                        "kind": f.type.rsplit(":", 1)[-1],
                        "name": f.name,
                    }
                ],
                "properties": _props(
                    owner=AUDIT_OWNER,
                    controls=",".join(f.controls),
                    urn=f.urn,
                    type=f.type,
                    unknown=f.unknown or None,
                ),
            }
        )
    return out


def results_from_reconcile(
    kind: str,
    obj: Mapping[str, Any],
    result: Any,
    *,
    controls: Sequence[str] = (),
    severity: str = "high",
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """The results of one reconcile (`controllers.results.ReconcileResult`) of a custom resource."""
    now = now or datetime.now(UTC)
    meta = obj.get("metadata") or {}
    resource = {
        "apiVersion": obj.get("apiVersion", ""),
        "kind": kind,
        "name": meta.get("name", ""),
        "namespace": meta.get("namespace", ""),
        "uid": meta.get("uid", ""),
    }
    base = {
        "source": SOURCE,
        "policy": kind,
        "category": ",".join(controls) or RUNTIME_CATEGORY.get(kind, kind),
        "scored": True,
        "timestamp": _timestamp(now),
        "resources": [{k: v for k, v in resource.items() if v}],
    }
    owner = f"{kind}/{meta.get('name', '')}"
    props = _props(owner=owner, controls=",".join(controls))
    out = [
        {
            **base,
            "rule": "finding",
            "severity": severity,
            "result": "fail",
            "message": text[:1024],
            "properties": props,
        }
        for text in result.all_findings()
    ]
    out += [
        {
            **base,
            "rule": "error",
            "severity": severity,
            "result": "error",
            "message": text[:1024],
            "properties": props,
        }
        for text in result.all_errors()
    ]
    if not out:
        message = "compliant" if result.compliant else result.condition().get("message", "not compliant yet")
        out.append(
            {
                **base,
                "rule": "compliant",
                "severity": "info",
                "result": "pass" if result.compliant else "warn",
                "message": str(message)[:1024],
                "properties": props,
            }
        )
    return out


def summary(results: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    counts = Counter(r.get("result") for r in results)
    return {k: counts.get(k, 0) for k in RESULTS}


def merge(
    existing: Sequence[Mapping[str, Any]], owner: str, results: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The report's results with `owner`'s replaced by `results` (other owners' kept, in order)."""
    kept = [dict(r) for r in existing if (r.get("properties") or {}).get("owner") != owner]
    return kept + list(results)


def build_report(
    namespace: str, results: Sequence[dict[str, Any]], base: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A PolicyReport object for `namespace` holding `results` (the first MAX_RESULTS; counts of all)."""
    meta = dict((base or {}).get("metadata") or {})
    meta.update(
        {
            "name": REPORT_NAME,
            "namespace": namespace,
            "labels": {**(meta.get("labels") or {}), "app.kubernetes.io/managed-by": "residency-controller"},
        }
    )
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {
            k: v
            for k, v in meta.items()
            if k in ("name", "namespace", "labels", "annotations", "resourceVersion")
        },
        "summary": summary(results),
        "results": list(results[:MAX_RESULTS]),
    }


# --- writing ------------------------------------------------------------------------------------------


class KubeError(RuntimeError):
    pass


class PolicyReportWriter:
    """Writes PolicyReports over HTTPS with the operator's Kubernetes credentials (kopf's ConnectionInfo)."""

    user_agent = "residency/policyreports"

    def __init__(self, connection: Any, *, timeout: float = 30.0) -> None:
        self.server = str(connection.server).rstrip("/")
        self.timeout = timeout
        self.headers = {"Accept": "application/json", "User-Agent": self.user_agent}
        if getattr(connection, "token", None):
            self.headers["Authorization"] = f"Bearer {connection.token}"
        self.context: ssl.SSLContext | None = None
        if self.server.startswith("https://"):
            # TLS_CLIENT: hostname checked, certificate required; the cluster's CA, else the system's.
            self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            if connection.ca_path:
                self.context.load_verify_locations(cafile=connection.ca_path)
            elif not connection.ca_data:
                self.context.load_default_certs()
            if connection.ca_data:
                data = connection.ca_data
                self.context.load_verify_locations(cadata=data.decode() if isinstance(data, bytes) else data)
            if connection.insecure:
                self.context.check_hostname = False
                self.context.verify_mode = ssl.CERT_NONE
            if connection.certificate_path and connection.private_key_path:
                self.context.load_cert_chain(connection.certificate_path, connection.private_key_path)
        self._lock = threading.Lock()

    @classmethod
    def from_login(cls) -> PolicyReportWriter:
        import kopf

        settings = kopf.OperatorSettings()
        info = kopf.login_with_service_account(settings=settings, logger=log) or kopf.login_with_kubeconfig(
            settings=settings, logger=log
        )
        if info is None:
            raise KubeError("no Kubernetes credentials for writing PolicyReports")
        return cls(info)

    def _request(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        headers = dict(self.headers)
        if data is not None:
            headers["Content-Type"] = (
                "application/merge-patch+json" if method == "PATCH" else "application/json"
            )
        request = urllib.request.Request(self.server + path, data=data, method=method, headers=headers)
        with urllib.request.urlopen(request, timeout=self.timeout, context=self.context) as answer:
            return json.loads(answer.read() or b"null")

    @staticmethod
    def path(namespace: str, name: str | None = None) -> str:
        base = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}"
        return f"{base}/{name}" if name else base

    def write(
        self, namespace: str, owner: str, results: Sequence[dict[str, Any]], attempts: int = 5
    ) -> dict[str, Any]:
        """Replace `owner`'s results in the namespace's report (created when missing)."""
        with self._lock:
            for attempt in range(attempts):
                try:
                    try:
                        current = self._request("GET", self.path(namespace, REPORT_NAME))
                    except urllib.error.HTTPError as exc:
                        if exc.code != 404:
                            raise
                        current = None
                    merged = merge((current or {}).get("results") or [], owner, results)
                    report = build_report(namespace, merged, current)
                    if current is None:
                        return self._request("POST", self.path(namespace), report)
                    # A merge patch replaces `results` whole; the resourceVersion read makes the API
                    # server refuse it (409) if another writer got in between: read and merge again.
                    return self._request("PATCH", self.path(namespace, REPORT_NAME), report)
                except urllib.error.HTTPError as exc:
                    if exc.code == 409 and attempt + 1 < attempts:
                        time.sleep(0.05 * (attempt + 1))
                        continue
                    raise KubeError(
                        f"PolicyReport {namespace}/{REPORT_NAME}: HTTP {exc.code} {exc.reason}"
                    ) from None
                except (urllib.error.URLError, OSError) as exc:
                    raise KubeError(f"PolicyReport {namespace}/{REPORT_NAME}: {exc}") from None
        raise KubeError(f"PolicyReport {namespace}/{REPORT_NAME}: conflicts on every attempt")


class PeriodicAudit:
    """`residency audit` every `interval` seconds in a thread; its findings go to one PolicyReport."""

    def __init__(
        self,
        interval: float,
        *,
        namespace: str,
        writer: Any,
        regions: Sequence[str] = (),
        endpoint_url: str | None = None,
        run: Any = None,
        session: Any = None,
    ) -> None:
        self.interval = interval
        self.namespace = namespace
        self.writer = writer
        self.regions = tuple(regions)
        self.endpoint_url = endpoint_url
        self._run = run
        self.session = session
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs = 0
        self.last_error: str | None = None

    def once(self) -> Any:
        if self._run is not None:
            result = self._run()
        else:
            from policies.audit import run_audit

            result = run_audit(
                self.regions, endpoint_url=self.endpoint_url, progress=False, session=self.session
            ).result
        self.writer.write(self.namespace, AUDIT_OWNER, results_from_audit(result))
        self.runs += 1
        return result

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.once()
                self.last_error = None
            except Exception as exc:  # noqa: BLE001 - a failed audit is logged and retried next interval
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("periodic audit failed: %s", self.last_error)
            self._stop.wait(self.interval)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="residency-audit", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)


class ReportSink:
    """What the operator calls: each reconcile's results, and the periodic audit, as PolicyReports.

    Writing a report never fails a reconcile: a problem is logged (and retried with the next write).
    The writer logs in on first use, with the operator's own Kubernetes credentials."""

    def __init__(
        self,
        *,
        enabled: bool = True,
        audit_interval: float | None = None,
        audit_regions: Sequence[str] = (),
        audit_namespace: str = "residency-system",
        endpoint_url: str | None = None,
        writer: Any = None,
        session: Any = None,
    ) -> None:
        self.enabled = enabled
        self.audit_interval = audit_interval
        self.audit_regions = tuple(audit_regions)
        self.audit_namespace = audit_namespace
        self.endpoint_url = endpoint_url
        self.session = session
        self._writer = writer
        self._controls: dict[str, tuple[str, ...]] | None = None
        self.audit: PeriodicAudit | None = None
        self.written = 0
        self.failures = 0

    @classmethod
    def for_config(cls, config: Any) -> ReportSink:
        return cls(
            enabled=getattr(config, "policy_reports", True),
            audit_interval=getattr(config, "audit_interval", None),
            audit_regions=getattr(config, "audit_regions", ()),
            audit_namespace=getattr(config, "audit_namespace", "residency-system"),
            endpoint_url=getattr(config, "endpoint_url", None),
        )

    @property
    def writer(self) -> Any:
        if self._writer is None:
            self._writer = PolicyReportWriter.from_login()
        return self._writer

    def controls_for(self, kind: str) -> tuple[str, ...]:
        """The catalogue's controls that name the kind as their runtime enforcement."""
        if self._controls is None:
            from policies.catalog import default_catalog

            found: dict[str, list[str]] = {}
            for control in default_catalog().controls:
                for runtime in getattr(control, "runtime", None) or ():
                    found.setdefault(runtime, []).append(control.id)
            self._controls = {k: tuple(v) for k, v in found.items()}
        return self._controls.get(kind, ())

    def reconciled(self, kind: str, obj: Mapping[str, Any], result: Any) -> None:
        if not self.enabled:
            return
        meta = obj.get("metadata") or {}
        try:
            results = results_from_reconcile(kind, obj, result, controls=self.controls_for(kind))
            self.writer.write(meta.get("namespace") or "default", f"{kind}/{meta.get('name', '')}", results)
            self.written += 1
        except Exception as exc:  # noqa: BLE001 - a report is a view; the reconcile's status is the record
            self.failures += 1
            log.warning("could not write the PolicyReport for %s/%s: %s", kind, meta.get("name"), exc)

    def start_audit(self) -> None:
        if not (self.enabled and self.audit_interval):
            return
        if self.session is None:
            from controllers.aws import _shared_session

            self.session = _shared_session()
        self.audit = PeriodicAudit(
            self.audit_interval,
            namespace=self.audit_namespace,
            writer=self.writer,
            regions=self.audit_regions,
            endpoint_url=self.endpoint_url,
            session=self.session,
        )
        self.audit.start()

    def stop_audit(self) -> None:
        if self.audit is not None:
            self.audit.stop()
