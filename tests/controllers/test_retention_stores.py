"""RetentionPolicy beyond the sweep: native lifecycle rules, blast radius, DynamoDB TTL, and the
catalogue's bounds (data categories), against the moto server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from moto_estate import Estate, no_sleep

from controllers.aws import ClientFactory, RetryPolicy
from controllers.documents import parse_document
from controllers.models import Rule
from controllers.retention import (
    lifecycle_rule_id,
    lifecycle_rules,
    merge_lifecycle,
    reconcile_retention,
)
from policies.catalog import default_catalog


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
    assert by_id["residency.p/all"]["Expiration"] == {"Days": 365}  # overlaps everything
    assert by_id["residency.p/uploads"]["Expiration"] == {"Days": 365}
    assert by_id["residency.p/crash"]["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30}
    assert by_id["residency.p/t"]["Filter"] == {
        "And": {"Prefix": "crash/", "Tags": [{"Key": "a", "Value": "b"}]}
    }
    assert by_id["residency.p/crash/markers"]["Expiration"] == {"ExpiredObjectDeleteMarker": True}
    assert "residency.p/t/markers" not in by_id  # S3 refuses ExpiredObjectDeleteMarker with tag filters


def test_merge_keeps_rules_the_policy_does_not_own() -> None:
    current = [
        {"ID": "team-rule", "Status": "Enabled"},
        {"ID": "residency.p/old", "Status": "Enabled"},
        {"ID": "residency.q/x"},
        {"ID": "residency.p.v2/x"},  # policy p.v2 is not policy p
        {"ID": "residency.p.new"},  # what an earlier version named rule `new` of policy p: replaced
    ]
    merged = merge_lifecycle("p", current, [{"ID": "residency.p/new"}], [rule("new", "", 5)])
    assert [r["ID"] for r in merged] == ["team-rule", "residency.q/x", "residency.p.v2/x", "residency.p/new"]


def test_rule_ids_are_unique_stable_and_short_for_any_policy_name() -> None:
    long_a, long_b = "a" * 200 + ".x", "a" * 200 + ".y"  # equal for their first 200 characters
    names = ["uploads", "uploads.v2", "uploads-v2", long_a, long_b, "b" * 253]
    rule_names = ["r", "v2.r", "x" * 64]
    ids = [lifecycle_rule_id(p, r) for p in names for r in rule_names]
    assert len(set(ids)) == len(ids)
    assert all(len(i) + len("/markers") <= 255 for i in ids)
    assert lifecycle_rule_id(long_a, "r") == lifecycle_rule_id(long_a, "r")  # no randomness
    # The two names that collided before: policy `uploads` rule `v2.r`, policy `uploads.v2` rule `r`.
    assert lifecycle_rule_id("uploads", "v2.r") != lifecycle_rule_id("uploads.v2", "r")


SETTINGS = default_catalog().settings()


def doc(stores: list[dict[str, Any]], rules: list[dict[str, Any]], **spec: Any) -> Any:
    raw = {
        "apiVersion": "residency.pushauction.com/v1alpha1",
        "kind": "RetentionPolicy",
        "metadata": {"name": "p"},
        "spec": {"dataStores": stores, "rules": rules, **spec},
    }
    return parse_document(raw, source="t", index=1, settings=SETTINGS).spec


def run(  # noqa: ANN201
    estate: Estate, spec: Any, now: datetime | None = None, dry_run: bool = False, name: str = "p"
):
    clients = ClientFactory(endpoint_url=estate.url, retry=RetryPolicy(sleep=no_sleep))
    return reconcile_retention(
        spec, name=name, clients=clients, now=now or datetime.now(UTC), dry_run=dry_run
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
    assert sorted(ids) == ["residency.p/crash", "residency.p/crash/markers", "team"]
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
    assert later.total("deleted") == 5 and later.total("examined") == 6  # the whole bucket is listed
    assert [k for k, _ in estate.versions("data-bucket")] == ["keep/me"]
    # keep/me matches no rule: kept, and a finding (it would be kept forever).
    assert not later.compliant
    assert [f for f in later.all_findings() if "match no rule" in f and "keep/me" in f]


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
    assert "1 item(s) have no expiresAt" in findings
    # An untagged table is `unclassified` data (catalogue maximum 30 days): a TTL 400 days ahead is beyond it.
    assert "1 item(s) have a expiresAt more than 30 days ahead" in findings and "unclassified" in findings


# --- the catalogue's bounds, findings for what the policy does not cover --------------------------


def test_a_rule_longer_than_the_tagged_category_allows_changes_nothing(estate: Estate) -> None:
    estate.bucket("data-bucket")
    estate.s3.put_bucket_tagging(
        Bucket="data-bucket", Tagging={"TagSet": [{"Key": "DataCategory", "Value": "cookie"}]}
    )
    answer = estate.s3.put_object(Bucket="data-bucket", Key="c/1", Body=b"x")
    estate.backdate(
        "data-bucket", "c/1", answer.get("VersionId", "null"), datetime.now(UTC) - timedelta(days=100)
    )
    result, clients = run(estate, doc(S3, [{"name": "c", "match": {"prefix": "c/"}, "maxAgeDays": 90}]))
    assert not result.compliant
    (finding,) = result.all_findings()
    # The tag key is an alias the catalogue accepts, the value an alias of `cookies` (30 days at most).
    assert "rules[0].maxAgeDays" in finding and "cookies" in finding and "at most 30" in finding
    assert "DataCategory=cookie" in finding
    assert len(estate.versions("data-bucket")) == 1
    assert (
        clients.calls["s3.PutBucketLifecycleConfiguration"] == 0
        and clients.calls["s3.ListObjectVersions"] == 0
    )


def test_an_untagged_store_is_held_to_the_fail_safe_category(estate: Estate) -> None:
    estate.bucket("data-bucket")
    result, _ = run(estate, doc(S3, [{"name": "c", "maxAgeDays": 31}]))
    assert "unclassified" in result.all_findings()[0] and "at most 30" in result.all_findings()[0]
    declared = [{"s3": {"bucket": "data-bucket", "region": "cn-north-1", "category": "user-uploads"}}]
    result, _ = run(estate, doc(declared, [{"name": "c", "maxAgeDays": 365}]))
    assert result.compliant, result.all_findings()


def test_objects_only_a_tag_rule_could_match_are_findings_when_untagged(estate: Estate) -> None:
    estate.bucket("data-bucket")
    estate.s3.put_object(Bucket="data-bucket", Key="a/tagged", Body=b"x", Tagging="data-category=cookies")
    estate.s3.put_object(Bucket="data-bucket", Key="a/plain", Body=b"x")
    rules = [{"name": "cookies", "match": {"tags": {"data-category": "cookies"}}, "maxAgeDays": 30}]
    result, _ = run(estate, doc(S3, rules))
    (finding,) = result.all_findings()
    assert finding.startswith("s3://data-bucket: 1 object version(s) match no rule") and "a/plain" in finding
    assert "a/tagged" not in finding


def _lifecycle(estate: Estate, *rules: dict[str, Any]) -> None:
    estate.s3.put_bucket_lifecycle_configuration(
        Bucket="data-bucket", LifecycleConfiguration={"Rules": list(rules)}
    )


def test_lifecycle_rules_the_policy_does_not_own_are_checked_against_its_bounds(estate: Estate) -> None:
    estate.bucket("data-bucket")
    rules = [{"name": "uploads", "match": {"prefix": "uploads/"}, "maxAgeDays": 20, "minAgeDays": 7}]
    early = {
        "ID": "team-early",
        "Filter": {"Prefix": "uploads/tmp/"},
        "Status": "Enabled",
        "Expiration": {"Days": 3},
    }
    late = {
        "ID": "residency.p.old-name",
        "Filter": {"Prefix": ""},
        "Status": "Enabled",
        "Expiration": {"Days": 400},
    }
    fine = {
        "ID": "team-fine",
        "Filter": {"Prefix": "uploads/"},
        "Status": "Enabled",
        "Expiration": {"Days": 10},
    }
    elsewhere = {"ID": "logs", "Filter": {"Prefix": "logs/"}, "Status": "Enabled", "Expiration": {"Days": 1}}
    off = {"ID": "off", "Filter": {"Prefix": ""}, "Status": "Disabled", "Expiration": {"Days": 1}}
    _lifecycle(estate, early, late, fine, elsewhere, off)
    result, _ = run(estate, doc(S3, rules))
    findings = result.all_findings()
    assert len(findings) == 2, findings
    assert (
        "'team-early'" in findings[0]
        and "after 3 days, earlier than rule uploads's minAgeDays 7" in findings[0]
    )
    # A rule left behind under an old name is not this policy's any more: checked like any other.
    assert (
        "'residency.p.old-name'" in findings[1] and "later than rule uploads's maxAgeDays 20" in findings[1]
    )
    kept = {r["ID"] for r in estate.s3.get_bucket_lifecycle_configuration(Bucket="data-bucket")["Rules"]}
    assert {"team-early", "residency.p.old-name", "team-fine", "logs", "off"} <= kept  # reported, not removed


def test_policies_whose_names_share_a_prefix_keep_to_their_own_lifecycle_rules(estate: Estate) -> None:
    estate.bucket("data-bucket")
    rules = [{"name": "r", "match": {"prefix": "a/"}, "maxAgeDays": 30}]
    for _ in range(2):
        for name in ("uploads", "uploads.v2", "x" * 253):
            result, _ = run(estate, doc(S3, rules), name=name)
            assert not result.all_errors()
    ids = sorted(r["ID"] for r in estate.s3.get_bucket_lifecycle_configuration(Bucket="data-bucket")["Rules"])
    assert len(ids) == 6 and len(set(ids)) == 6, ids  # two per policy, nothing doubled, nothing lost
    assert "residency.uploads/r" in ids and "residency.uploads.v2/r/markers" in ids
    again, clients = run(estate, doc(S3, rules), name="x" * 253)
    assert clients.calls["s3.PutBucketLifecycleConfiguration"] == 0  # stable: nothing to change


def test_legacy_rule_ids_of_the_policy_are_replaced_not_doubled(estate: Estate) -> None:
    estate.bucket("data-bucket")
    legacy = {
        "ID": "residency.p.crash",
        "Filter": {"Prefix": "crash/"},
        "Status": "Enabled",
        "Expiration": {"Days": 30},
    }
    _lifecycle(estate, legacy, {**legacy, "ID": "residency.p.crash.markers"})
    result, _ = run(estate, doc(S3, RULES))
    ids = sorted(r["ID"] for r in estate.s3.get_bucket_lifecycle_configuration(Bucket="data-bucket")["Rules"])
    assert ids == ["residency.p/crash", "residency.p/crash/markers"] and result.compliant


def test_dynamodb_ttl_beyond_the_category_maximum_is_a_finding(estate: Estate) -> None:
    estate.table("sessions", "id")
    now = int(datetime.now(UTC).timestamp())
    for i, days in enumerate([5, 29, 45]):
        estate.ddb.put_item(
            TableName="sessions", Item={"id": {"S": f"s{i}"}, "expiresAt": {"N": str(now + days * 86400)}}
        )
    stores = [{"dynamodb": {"table": "sessions", "region": "cn-north-1", "category": "cookies"}}]
    result, _ = run(estate, doc(stores, [{"name": "s", "maxAgeDays": 30}]))
    assert result.all_findings() == [
        "dynamodb:sessions: 1 item(s) have a expiresAt more than 30 days ahead, beyond the catalogue's "
        "maximum retention for cookies data; shorten their TTL"
    ]


_LABEL = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", fullmatch=True)
_POLICY = st.lists(_LABEL, min_size=1, max_size=6).map(".".join).filter(lambda n: len(n) <= 253)
_RULE = st.from_regex(r"[A-Za-z0-9._-]{1,64}", fullmatch=True)


@settings(max_examples=300, deadline=None)
@given(a=_POLICY, b=_POLICY, ra=_RULE, rb=_RULE)
def test_lifecycle_ids_never_collide_and_no_policy_owns_anothers(a: str, b: str, ra: str, rb: str) -> None:
    from controllers.retention import lifecycle_owner_prefix, owns

    id_a, id_b = lifecycle_rule_id(a, ra), lifecycle_rule_id(b, rb)
    assert len(id_a) + len("/markers") <= 255
    assert (id_a == id_b) == (a == b and ra == rb)
    assert lifecycle_rule_id(a, ra) == id_a  # stable
    if a != b:
        assert not id_b.startswith(lifecycle_owner_prefix(a)) and not f"{id_b}/markers".startswith(
            lifecycle_owner_prefix(a)
        )
        assert not owns(a, [rule(ra, "", 5)], id_b) and not owns(a, [rule(ra, "", 5)], f"{id_b}/markers")
