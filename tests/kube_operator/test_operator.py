"""The operator over HTTP: custom resources in a Kubernetes API emulator, data stores in moto."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from moto_estate import Estate, days_ago

from .conftest import wait_for
from .kube import API, Kube, condition

NS = "privacy"


def retention(name: str, bucket: str, max_age: int = 30, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "RetentionPolicy",
        "metadata": {"name": name},
        "spec": {
            "dataStores": [{"s3": {"bucket": bucket, "region": "cn-north-1"}}],
            "rules": [{"name": "crash", "match": {"prefix": "crash/"}, "maxAgeDays": max_age}],
            **spec,
        },
    }


def seed_crash_dumps(estate: Estate, bucket: str, ages: dict[str, float]) -> None:
    estate.bucket(bucket, versioned=True)
    for key, age in ages.items():
        version = estate.s3.put_object(Bucket=bucket, Key=key, Body=b"x")["VersionId"]
        estate.backdate(bucket, key, version, days_ago(age))


def lifecycle_ids(estate: Estate, bucket: str) -> list[str]:
    return sorted(r["ID"] for r in estate.s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"])


def with_condition(kube: Kube, kind: str, name: str, type_: str, **expected: str) -> Any:
    """A `wait_for` check: the object, once its condition `type_` has the `expected` fields."""

    def check() -> Any:
        obj = kube.get(kind, NS, name)
        found = condition(obj, type_)
        return obj if all(found.get(k) == v for k, v in expected.items()) else None

    return check


def reconciled(kube: Kube, kind: str, name: str, generation: int) -> Any:
    def check() -> Any:
        obj = kube.get(kind, NS, name)
        ready = condition(obj, "Ready")
        done = ready.get("status") == "True" and obj["status"].get("observedGeneration") == generation
        return obj if done else None

    return check


def test_policy_created_configures_lifecycle_sweeps_and_reports_ready(
    kube: Kube, estate: Estate, start_operator: Any
) -> None:
    seed_crash_dumps(estate, "pa-crash", {"crash/old.dmp": 40, "crash/new.dmp": 1})
    start_operator()

    kube.create(NS, retention("crash-retention", "pa-crash"))

    obj = wait_for(reconciled(kube, "RetentionPolicy", "crash-retention", 1), what="Ready=True")
    status = obj["status"]
    assert lifecycle_ids(estate, "pa-crash") == [
        "residency.crash-retention/crash",
        "residency.crash-retention/crash/markers",
    ]
    assert sorted(k for k, _ in estate.versions("pa-crash")) == ["crash/new.dmp"]
    assert status["deleted"] == 1 and status["held"] == 0 and status["findings"] == []
    assert status["lastRun"].endswith("Z")
    assert obj["metadata"]["finalizers"] == ["residency.pushauction.com/timer"]  # kopf's, for the timer
    ready, compliant = condition(obj, "Ready"), condition(obj, "Compliant")
    assert ready["reason"] == "Reconciled" and ready["observedGeneration"] == 1
    assert compliant["status"] == "True" and compliant["reason"] == "Reconciled"
    assert set(ready) == {"type", "status", "reason", "message", "observedGeneration", "lastTransitionTime"}
    reasons = wait_for(
        lambda: (
            {e["reason"] for e in kube.events(NS, "crash-retention")}
            >= {"DeletionBatch", "Deleted", "Configured"}
            and {e["reason"] for e in kube.events(NS, "crash-retention")}
        ),
        what="deletion and configuration Events",
    )
    assert "Finding" not in reasons


def test_spec_update_is_reconciled_with_the_new_generation_and_stable_transition_times(
    kube: Kube, estate: Estate, start_operator: Any
) -> None:
    seed_crash_dumps(estate, "pa-crash", {"crash/a.dmp": 20, "crash/b.dmp": 2})
    start_operator()
    kube.create(NS, retention("crash-retention", "pa-crash", max_age=30))
    first = wait_for(reconciled(kube, "RetentionPolicy", "crash-retention", 1), what="generation 1")
    assert len(estate.versions("pa-crash")) == 2

    kube.patch(
        "RetentionPolicy",
        NS,
        "crash-retention",
        {"spec": {"rules": [{"name": "crash", "match": {"prefix": "crash/"}, "maxAgeDays": 10}]}},
    )

    second = wait_for(reconciled(kube, "RetentionPolicy", "crash-retention", 2), what="generation 2")
    assert sorted(k for k, _ in estate.versions("pa-crash")) == ["crash/b.dmp"]
    rules = estate.s3.get_bucket_lifecycle_configuration(Bucket="pa-crash")["Rules"]
    assert {r["ID"]: r.get("Expiration", {}).get("Days") for r in rules}[
        "residency.crash-retention/crash"
    ] == 10
    for type_ in ("Ready", "Compliant"):
        before, after = condition(first, type_), condition(second, type_)
        assert after["observedGeneration"] == 2 and before["observedGeneration"] == 1
        assert after["lastTransitionTime"] == before["lastTransitionTime"]  # status did not change
    assert second["status"]["deleted"] == 1


def test_policy_is_reconciled_again_on_its_interval(kube: Kube, estate: Estate, start_operator: Any) -> None:
    seed_crash_dumps(estate, "pa-crash", {"crash/a.dmp": 40})
    start_operator()
    kube.create(NS, retention("crash-retention", "pa-crash", interval="1s"))
    first = wait_for(reconciled(kube, "RetentionPolicy", "crash-retention", 1), what="first run")
    assert first["status"]["deleted"] == 1
    # A new expired object appears; the timer's next run deletes it without any change to the resource.
    version = estate.s3.put_object(Bucket="pa-crash", Key="crash/late.dmp", Body=b"x")["VersionId"]
    estate.backdate("pa-crash", "crash/late.dmp", version, days_ago(45))

    wait_for(lambda: not estate.versions("pa-crash", "crash/late"), what="the periodic sweep")
    later = wait_for(
        lambda: (
            (o := kube.get("RetentionPolicy", NS, "crash-retention"))["status"]["lastRun"]
            > first["status"]["lastRun"]
            and o
        ),
        what="a later lastRun",
    )
    assert condition(later, "Ready")["lastTransitionTime"] == condition(first, "Ready")["lastTransitionTime"]


def erasure(name: str, subject: str, bucket: str, table: str | None = None) -> dict[str, Any]:
    stores: list[dict[str, Any]] = [
        {"s3": {"bucket": bucket, "region": "cn-north-1", "keyPrefix": "users/{subjectId}/"}}
    ]
    if table:
        stores.append({"dynamodb": {"table": table, "region": "cn-north-1", "partitionKey": "pk"}})
    return {
        "apiVersion": API,
        "kind": "ErasureRequest",
        "metadata": {"name": name},
        "spec": {"subjectId": subject, "dataStores": stores, "deadline": "2099-01-01T00:00:00Z"},
    }


def test_erasure_request_completes_with_evidence_and_no_finalizer(
    kube: Kube, estate: Estate, start_operator: Any
) -> None:
    estate.bucket("pa-uploads", versioned=True)
    for key in ("users/u1/a.jpg", "users/u1/b.jpg", "users/u10/a.jpg", "users/u2/a.jpg"):
        estate.s3.put_object(Bucket="pa-uploads", Key=key, Body=b"x")
    estate.s3.put_object(Bucket="pa-uploads", Key="users/u1/a.jpg", Body=b"v2")
    estate.table("pa-profiles")
    for pk in ("u1", "u2"):
        estate.ddb.put_item(TableName="pa-profiles", Item={"pk": {"S": pk}})
    start_operator()

    kube.create(NS, erasure("erase-u1", "u1", "pa-uploads", "pa-profiles"))

    obj = wait_for(
        with_condition(kube, "ErasureRequest", "erase-u1", "Compliant", status="True"), what="complete"
    )
    assert sorted(k for k, _ in estate.versions("pa-uploads")) == ["users/u10/a.jpg", "users/u2/a.jpg"]
    assert [i["pk"]["S"] for i in estate.items("pa-profiles")] == ["u2"]
    evidence = obj["status"]["evidence"]
    assert evidence["subjectId"] == "u1" and len(evidence["deletedSha256"]) == 64
    assert obj["status"]["deleted"] == 4 and condition(obj, "Ready")["status"] == "True"
    assert not obj["metadata"].get("finalizers")  # nothing to clean up, so no finalizer
    reasons = wait_for(
        lambda: {e["reason"] for e in kube.events(NS, "erase-u1")} >= {"ErasureComplete", "Deleted"},
        what="events",
    )
    assert reasons


def test_invalid_resource_gets_a_clear_condition_and_nothing_is_deleted(
    kube: Kube, estate: Estate, start_operator: Any
) -> None:
    seed_crash_dumps(estate, "pa-crash", {"crash/a.dmp": 400, "users/u1/x": 1})
    before = estate.versions("pa-crash")
    start_operator()
    outside = retention("outside", "pa-crash")
    outside["spec"]["dataStores"] = [{"s3": {"bucket": "pa-crash", "region": "us-east-1"}}]
    widening = erasure("erase-everyone", "u1/..", "pa-crash")

    kube.create(NS, outside)
    kube.create(NS, widening)

    for kind, name, field in (
        ("RetentionPolicy", "outside", "spec.dataStores[0].s3.region"),
        ("ErasureRequest", "erase-everyone", "spec.subjectId"),
    ):
        obj = wait_for(
            with_condition(kube, kind, name, "Ready", reason="InvalidSpec"), what=f"{name} InvalidSpec"
        )
        ready = condition(obj, "Ready")
        assert ready["status"] == "False" and ready["message"].startswith(field), ready["message"]
        assert "nothing was changed" in ready["message"]
        assert condition(obj, "Compliant")["status"] == "False"
        assert obj["status"]["observedGeneration"] == 1
    assert (
        "outside the territory" in condition(kube.get("RetentionPolicy", NS, "outside"), "Ready")["message"]
    )
    assert estate.versions("pa-crash") == before
    assert estate.s3.list_objects_v2(Bucket="pa-crash")["KeyCount"] == 2
    assert any(e["reason"] == "InvalidSpec" and e["type"] == "Warning" for e in kube.events(NS, "outside"))


def test_aws_errors_are_retried_with_backoff_until_they_clear(
    kube: Kube, estate: Estate, start_operator: Any
) -> None:
    start_operator()
    kube.create(NS, retention("early", "pa-not-yet"))  # the bucket does not exist yet

    obj = wait_for(with_condition(kube, "RetentionPolicy", "early", "Ready", reason="ReconcileError"))
    assert "NoSuchBucket" in condition(obj, "Ready")["message"]
    seed_crash_dumps(estate, "pa-not-yet", {"crash/a.dmp": 40})

    wait_for(reconciled(kube, "RetentionPolicy", "early", 1), what="Ready after the retry")
    assert not estate.versions("pa-not-yet")


def test_a_fixed_spec_is_reconciled_after_an_invalid_one(
    kube: Kube, estate: Estate, start_operator: Any
) -> None:
    seed_crash_dumps(estate, "pa-crash", {"crash/a.dmp": 40})
    start_operator()
    broken = retention("crash-retention", "pa-crash")
    broken["spec"]["rules"][0]["maxAgeDays"] = 0
    kube.create(NS, broken)
    obj = wait_for(with_condition(kube, "RetentionPolicy", "crash-retention", "Ready", reason="InvalidSpec"))
    assert condition(obj, "Ready")["message"].startswith("spec.rules[0].maxAgeDays: ")
    assert len(estate.versions("pa-crash")) == 1

    kube.patch(
        "RetentionPolicy",
        NS,
        "crash-retention",
        {"spec": {"rules": [retention("x", "y")["spec"]["rules"][0]]}},
    )

    fixed = wait_for(reconciled(kube, "RetentionPolicy", "crash-retention", 2), what="Ready after the fix")
    assert condition(fixed, "Ready")["lastTransitionTime"] >= condition(obj, "Ready")["lastTransitionTime"]
    assert not estate.versions("pa-crash") and fixed["status"]["findings"] == []


def test_an_erasure_blocked_by_a_legal_hold_is_retried_until_the_hold_is_lifted(
    kube: Kube, estate: Estate, start_operator: Any
) -> None:
    estate.bucket("pa-locked", lock=True)
    held = estate.s3.put_object(
        Bucket="pa-locked", Key="users/u1/held.jpg", Body=b"x", ObjectLockLegalHoldStatus="ON"
    )
    estate.s3.put_object(Bucket="pa-locked", Key="users/u1/free.jpg", Body=b"x")
    operator = start_operator()
    kube.create(NS, erasure("erase-u1", "u1", "pa-locked"))

    obj = wait_for(
        lambda: (
            ((o := kube.get("ErasureRequest", NS, "erase-u1")).get("status") or {}).get("held") == 1 and o
        ),
        what="held",
    )
    compliant = condition(obj, "Compliant")
    assert compliant["status"] == "False" and "legal hold" in compliant["message"]
    assert obj["status"]["held"] == 1 and condition(obj, "Ready")["status"] == "True"
    assert [k for k, _ in estate.versions("pa-locked")] == ["users/u1/held.jpg"]
    wait_for(lambda: any(e["reason"] == "Held" for e in kube.events(NS, "erase-u1")), what="a Held Event")
    assert 'residency_held_objects{kind="ErasureRequest",name="erase-u1",namespace="privacy"} 1.0' in (
        operator.controller.metrics.text()
    )

    estate.s3.put_object_legal_hold(
        Bucket="pa-locked", Key="users/u1/held.jpg", VersionId=held["VersionId"], LegalHold={"Status": "OFF"}
    )

    done = wait_for(with_condition(kube, "ErasureRequest", "erase-u1", "Compliant", status="True"))
    assert not estate.versions("pa-locked") and done["status"]["evidence"]["subjectId"] == "u1"


def test_access_audit_policy_enables_logging_keeps_logs_and_reports_a_stranger(
    kube: Kube, estate: Estate, start_operator: Any
) -> None:
    from controllers.access_log import AccessRecord, format_record

    estate.bucket("pa-uploads")
    estate.bucket("pa-audit-logs")
    estate.s3.put_bucket_acl(
        Bucket="pa-audit-logs",
        GrantWrite="uri=http://acs.amazonaws.com/groups/s3/LogDelivery",
        GrantReadACP="uri=http://acs.amazonaws.com/groups/s3/LogDelivery",
    )
    rule = {"ID": "short", "Filter": {"Prefix": "s3/"}, "Status": "Enabled", "Expiration": {"Days": 30}}
    estate.s3.put_bucket_lifecycle_configuration(
        Bucket="pa-audit-logs", LifecycleConfiguration={"Rules": [rule]}
    )
    when = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    stranger = "arn:aws-cn:iam::123456789012:user/eve"
    record = AccessRecord(
        "owner", "pa-uploads", when, "10.1.2.3", stranger, "R", "REST.GET.OBJECT", "users/u1/a.jpg",
        "GET /users/u1/a.jpg HTTP/1.1", "200",
    )  # fmt: skip
    estate.s3.put_object(Bucket="pa-audit-logs", Key="s3/2026-01-01-log", Body=format_record(record).encode())
    start_operator()

    kube.create(
        NS,
        {
            "apiVersion": API,
            "kind": "AccessAuditPolicy",
            "metadata": {"name": "uploads-access"},
            "spec": {
                "dataStores": [{"s3": {"bucket": "pa-uploads", "region": "cn-north-1"}}],
                "auditLog": {"bucket": "pa-audit-logs", "prefix": "s3/", "minRetentionDays": 180},
                "allowedPrincipals": ["arn:aws-cn:iam::123456789012:role/uploads-service"],
            },
        },
    )

    obj = wait_for(reconciled(kube, "AccessAuditPolicy", "uploads-access", 1), what="Ready")
    logging_target = estate.s3.get_bucket_logging(Bucket="pa-uploads")["LoggingEnabled"]
    assert logging_target == {"TargetBucket": "pa-audit-logs", "TargetPrefix": "s3/"}
    rules = estate.s3.get_bucket_lifecycle_configuration(Bucket="pa-audit-logs")["Rules"]
    assert [r["Expiration"]["Days"] for r in rules if r["ID"] == "short"] == [180]
    compliant = condition(obj, "Compliant")
    assert compliant["status"] == "False" and compliant["reason"] == "Findings"
    assert any(stranger in f for f in obj["status"]["findings"])
    wait_for(
        lambda: any(
            e["reason"] == "Finding" and e["type"] == "Warning" for e in kube.events(NS, "uploads-access")
        ),
        what="Finding Events",
    )
