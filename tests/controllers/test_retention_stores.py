"""RetentionPolicy beyond the sweep: native lifecycle rules, blast radius, and DynamoDB TTL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from moto_estate import Estate, no_sleep

from controllers.aws import ClientFactory, RetryPolicy
from controllers.documents import parse_document
from controllers.models import Rule
from controllers.retention import lifecycle_rules, merge_lifecycle, reconcile_retention
from policies.settings import Settings


def rule(name: str, prefix: str, max_age: int, min_age: int | None = None, tags: dict | None = None) -> Rule:
    return Rule.model_validate(
        {
            "name": name,
            "match": {"prefix": prefix, "tags": tags or {}},
            "maxAgeDays": max_age,
            "minAgeDays": min_age,
        }
    )


def test_lifecycle_rules_never_expire_earlier_than_any_overlapping_rule() -> None:
    rules = [
        rule("all", "", 30),
        rule("uploads", "uploads/", 365, 7),
        rule("crash", "crash/", 10),
        rule("t", "crash/", 5, tags={"a": "b"}),
    ]
    by_id = {r["ID"]: r for r in lifecycle_rules("p", rules)}
    assert by_id["residency.p.all"]["Expiration"] == {"Days": 365}  # overlaps everything
    assert by_id["residency.p.uploads"]["Expiration"] == {"Days": 365}
    assert by_id["residency.p.crash"]["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30}
    assert by_id["residency.p.t"]["Filter"] == {
        "And": {"Prefix": "crash/", "Tags": [{"Key": "a", "Value": "b"}]}
    }
    assert by_id["residency.p.crash.markers"]["Expiration"] == {"ExpiredObjectDeleteMarker": True}
    assert "residency.p.t.markers" not in by_id  # S3 refuses ExpiredObjectDeleteMarker with tag filters


def test_merge_keeps_rules_the_policy_does_not_own() -> None:
    current = [
        {"ID": "team-rule", "Status": "Enabled"},
        {"ID": "residency.p.old", "Status": "Enabled"},
        {"ID": "residency.q.x"},
    ]
    merged = merge_lifecycle("p", current, [{"ID": "residency.p.new"}])
    assert [r["ID"] for r in merged] == ["team-rule", "residency.q.x", "residency.p.new"]


def doc(stores: list[dict[str, Any]], rules: list[dict[str, Any]], **spec: Any) -> Any:
    raw = {
        "apiVersion": "residency.pushauction.com/v1alpha1",
        "kind": "RetentionPolicy",
        "metadata": {"name": "p"},
        "spec": {"dataStores": stores, "rules": rules, **spec},
    }
    return parse_document(raw, source="t", index=1, settings=Settings()).spec


def run(estate: Estate, spec: Any, now: datetime | None = None, dry_run: bool = False):  # noqa: ANN201
    clients = ClientFactory(endpoint_url=estate.url, retry=RetryPolicy(sleep=no_sleep))
    return reconcile_retention(
        spec, name="p", clients=clients, now=now or datetime.now(UTC), dry_run=dry_run
    ), clients


S3 = [{"s3": {"bucket": "data-bucket", "region": "cn-north-1"}}]
RULES = [{"name": "crash", "match": {"prefix": "crash/"}, "maxAgeDays": 30}]


def test_lifecycle_is_set_once_and_foreign_rules_survive(estate: Estate) -> None:
    estate.bucket("data-bucket")
    estate.s3.put_bucket_lifecycle_configuration(
        Bucket="data-bucket",
        LifecycleConfiguration={
            "Rules": [
                {"ID": "team", "Filter": {"Prefix": "tmp/"}, "Status": "Enabled", "Expiration": {"Days": 3}}
            ]
        },
    )
    first, clients = run(estate, doc(S3, RULES))
    ids = [r["ID"] for r in estate.s3.get_bucket_lifecycle_configuration(Bucket="data-bucket")["Rules"]]
    assert sorted(ids) == ["residency.p.crash", "residency.p.crash.markers", "team"]
    assert any("lifecycle" in a for s in first.stores for a in s.actions)
    second, clients = run(estate, doc(S3, RULES))
    assert second.compliant and not [a for s in second.stores for a in s.actions]
    assert clients.calls["s3.PutBucketLifecycleConfiguration"] == 0


def test_now_moves_the_age_of_everything(estate: Estate) -> None:
    estate.bucket("data-bucket")
    for i in range(5):
        estate.s3.put_object(Bucket="data-bucket", Key=f"crash/{i}", Body=b"x")
    estate.s3.put_object(Bucket="data-bucket", Key="keep/me", Body=b"x")
    today, _ = run(estate, doc(S3, RULES))
    assert today.total("deleted") == 0
    later, _ = run(estate, doc(S3, RULES), now=datetime.now(UTC) + timedelta(days=31))
    assert later.total("deleted") == 5 and later.total("examined") == 5  # only the rules' prefix is listed
    assert [k for k, _ in estate.versions("data-bucket")] == ["keep/me"]


def test_blast_radius_stops_the_sweep_before_any_delete(estate: Estate) -> None:
    estate.bucket("data-bucket")
    for i in range(12):
        estate.s3.put_object(Bucket="data-bucket", Key=f"crash/{i}", Body=b"x")
    later = datetime.now(UTC) + timedelta(days=31)
    result, clients = run(estate, doc(S3, RULES, blastRadius={"maxDeletes": 10}), now=later)
    assert len(estate.versions("data-bucket")) == 12
    assert result.total("pending") == 12 and not result.compliant
    assert any("blast-radius" in f for f in result.all_findings())
    assert clients.calls["s3.DeleteObjects"] == 0
    result, _ = run(estate, doc(S3, RULES, blastRadius={"maxPercent": 50}), now=later)
    assert len(estate.versions("data-bucket")) == 12 and not result.compliant
    result, _ = run(estate, doc(S3, RULES, blastRadius={"maxDeletes": 12}), now=later)
    assert result.compliant and estate.versions("data-bucket") == set()


def test_dynamodb_ttl_is_enabled_and_expired_items_are_swept(estate: Estate) -> None:
    estate.table("sessions", "id")
    now = datetime.now(UTC)
    for i, offset in enumerate([-86400, -60, 3600, 86400 * 400]):
        estate.ddb.put_item(
            TableName="sessions",
            Item={"id": {"S": f"s{i}"}, "expiresAt": {"N": str(int(now.timestamp()) + offset)}},
        )
    estate.ddb.put_item(TableName="sessions", Item={"id": {"S": "forever"}})
    stores = [{"dynamodb": {"table": "sessions", "region": "cn-north-1"}}]
    dry, _ = run(estate, doc(stores, RULES), dry_run=True)
    assert dry.total("pending") == 2 and len(estate.items("sessions")) == 5
    result, _ = run(estate, doc(stores, RULES))
    ttl = estate.ddb.describe_time_to_live(TableName="sessions")["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expiresAt"}
    assert sorted(i["id"]["S"] for i in estate.items("sessions")) == ["forever", "s2", "s3"]
    assert result.total("deleted") == 2
    findings = " ".join(result.all_findings())
    assert "1 item(s) have no expiresAt" in findings and "1 item(s) expire later" in findings
