"""PolicyReports (wgpolicyk8s.io/v1alpha2): built from an audit and a reconcile, valid against the CRD
shipped in controllers/deploy/crds, written through the API emulator, and within the RBAC granted."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import kopf
import pytest
import yaml

from controllers.policy_reports import (
    AUDIT_OWNER,
    PeriodicAudit,
    PolicyReportWriter,
    build_report,
    results_from_audit,
    results_from_reconcile,
)
from controllers.results import ReconcileResult

from .test_deploy import DEPLOY, allowed_by, controller, granted

NS, AUDIT_NS = "team-a", "residency-system"


def crd_schema() -> dict[str, Any]:
    (crd,) = [
        d
        for d in yaml.safe_load_all((DEPLOY / "crds" / "policyreports.yaml").read_text())
        if d and d["kind"] == "CustomResourceDefinition"
    ]
    assert crd["spec"]["group"] == "wgpolicyk8s.io" and crd["spec"]["names"]["kind"] == "PolicyReport"
    (version,) = crd["spec"]["versions"]
    assert version["name"] == "v1alpha2"
    return _strict(copy.deepcopy(version["schema"]["openAPIV3Schema"]))


def _strict(schema: Any) -> Any:
    """The structural schema with unknown fields refused (the API server would prune them silently)."""
    if isinstance(schema, dict):
        if "properties" in schema and "additionalProperties" not in schema and schema is not None:
            schema["additionalProperties"] = False
        for value in schema.values():
            _strict(value)
    elif isinstance(schema, list):
        for value in schema:
            _strict(value)
    return schema


def validate(report: dict[str, Any]) -> None:
    import jsonschema

    schema = crd_schema()
    schema["properties"]["metadata"] = {"type": "object"}
    jsonschema.validate(report, schema)


@pytest.fixture
def audit_result(estate: Any) -> Any:
    from policies.audit import run_audit

    estate.bucket("pa-photos-plain")
    estate.table("pa-accounts")
    return run_audit(
        endpoint_url=estate.url, regions=["cn-north-1"], progress=False, session=moto_session()
    ).result


def moto_session() -> Any:
    # The operator tests' environment holds no AWS credentials (conftest); moto takes any.
    import boto3

    return boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing")


def reconcile_result() -> ReconcileResult:
    result = ReconcileResult(
        kind="RetentionPolicy", name="crash-retention", source="x", started=datetime.now(UTC)
    )
    result.findings.append("s3://pa-crash: 3 object(s) older than 90 days")
    result.errors.append("s3://pa-other: AccessDenied on ListObjectVersions")
    return result


CR = {
    "apiVersion": "residency.pushauction.com/v1alpha1",
    "kind": "RetentionPolicy",
    "metadata": {"name": "crash-retention", "namespace": NS, "uid": "u-1"},
}


def test_reports_validate_against_the_shipped_crd(audit_result: Any) -> None:
    audit = results_from_audit(audit_result)
    assert audit and len(audit) == len(audit_result.findings)
    first = audit_result.findings[0]
    assert audit[0]["policy"] == first.rule and audit[0]["severity"] == first.severity.value
    assert audit[0]["properties"]["controls"] == ",".join(first.controls)
    assert audit[0]["properties"]["urn"] == first.urn
    validate(build_report(AUDIT_NS, audit))
    reconciled = results_from_reconcile(
        "RetentionPolicy", CR, reconcile_result(), controls=["RET-1", "RET-2"]
    )
    assert [r["result"] for r in reconciled] == ["fail", "error"]
    assert reconciled[0]["resources"] == [
        {
            "apiVersion": "residency.pushauction.com/v1alpha1",
            "kind": "RetentionPolicy",
            "name": "crash-retention",
            "namespace": NS,
            "uid": "u-1",
        }
    ]
    report = build_report(NS, reconciled)
    validate(report)
    assert report["summary"] == {"pass": 0, "fail": 1, "warn": 0, "error": 1, "skip": 0}
    with pytest.raises(Exception, match="not one of"):
        validate(build_report(NS, [{**reconciled[0], "severity": "urgent"}]))


def test_reports_are_written_through_the_api_within_the_rbac(kube: Any, audit_result: Any) -> None:
    writer = PolicyReportWriter(kopf.ConnectionInfo(server=kube.url, token="test"))
    calls: list[tuple[str, str, str | None]] = []
    request = writer._request

    def recording(method: str, path: str, body: Any = None) -> Any:
        parts = path.strip("/").split("/")
        name = parts[6] if len(parts) > 6 else None
        verb = {"GET": "get", "POST": "create", "PATCH": "patch"}[method]
        calls.append((verb, "wgpolicyk8s.io/policyreports", name))
        return request(method, path, body)

    writer._request = recording  # type: ignore[method-assign]
    audit = PeriodicAudit(3600, namespace=AUDIT_NS, writer=writer, run=lambda: audit_result)
    audit.once()
    writer.write(
        NS,
        "RetentionPolicy/crash-retention",
        results_from_reconcile("RetentionPolicy", CR, reconcile_result()),
    )
    writer.write(NS, "ErasureRequest/erase-u1", [])  # an owner with nothing to say leaves the others
    audit.once()  # replaces the audit's results, never duplicates them

    audit_report = kube.request("GET", writer.path(AUDIT_NS, "residency"))
    team_report = kube.request("GET", writer.path(NS, "residency"))
    for report in (audit_report, team_report):
        validate({k: v for k, v in report.items() if k != "metadata"} | {"metadata": {}})
    assert len(audit_report["results"]) == len(audit_result.findings)
    assert {r["properties"]["owner"] for r in audit_report["results"]} == {AUDIT_OWNER}
    assert audit_report["summary"]["fail"] + audit_report["summary"]["error"] == len(audit_result.findings)
    assert team_report["summary"] == {"pass": 0, "fail": 1, "warn": 0, "error": 1, "skip": 0}
    assert {r["properties"]["owner"] for r in team_report["results"]} == {"RetentionPolicy/crash-retention"}

    grants = granted(controller())
    assert calls and {c for c in calls if not allowed_by(grants, c)} == set()
    assert {verb for verb, _, _ in calls} == {"get", "create", "patch"}


def test_the_operator_reports_reconciles_and_audits_on_its_interval(
    kube: Any, estate: Any, start_operator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from .conftest import wait_for
    from .test_operator import NS as CR_NS
    from .test_operator import reconciled, retention, seed_crash_dumps

    # moto takes any credentials; the operator's clients and its audit read them from the environment.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    seed_crash_dumps(estate, "pa-crash", {"crash/a.dmp": 40})
    operator = start_operator(audit_interval=3600.0, audit_namespace=AUDIT_NS, audit_regions=("cn-north-1",))
    kube.create(CR_NS, retention("crash-retention", "pa-crash"))
    wait_for(reconciled(kube, "RetentionPolicy", "crash-retention", 1), what="Ready")

    def report(namespace: str) -> Any:
        try:
            return kube.request("GET", PolicyReportWriter.path(namespace, "residency"))
        except Exception:  # noqa: BLE001 - not written yet
            return None

    team = wait_for(lambda: report(CR_NS), what="the namespace's PolicyReport")
    audit = wait_for(lambda: report(AUDIT_NS), what="the audit's PolicyReport")
    operator.stop()
    for found in (team, audit):
        validate({k: v for k, v in found.items() if k != "metadata"} | {"metadata": {}})
    (result,) = team["results"]
    assert result["policy"] == "RetentionPolicy" and result["resources"][0]["name"] == "crash-retention"
    assert result["properties"]["controls"]  # the catalogue's runtime controls for RetentionPolicy
    # The bucket the audit read has no encryption, logging or policy: the audit's findings say so.
    rules = {r["policy"] for r in audit["results"]}
    assert {"ENC-001", "AUD-001", "TLS-001"} <= rules
    assert sum(audit["summary"].values()) == len(audit["results"])
    assert operator.controller.reports.audit.runs == 1
    calls = {c for c in kube.api.calls if c[1].startswith("wgpolicyk8s.io/")}
    assert calls and {c for c in calls if not allowed_by(granted(controller()), c)} == set()
