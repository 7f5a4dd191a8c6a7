"""ErasureRequest over moto: every version and marker of one subject, nothing of anyone else's."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from faults import HttpFaults
from hypothesis import given, settings
from hypothesis import strategies as st
from moto_estate import Estate, no_sleep, reset_moto
from oracle import ObjectSet, events_for, now_utc, seed
from pydantic import ValidationError

from controllers import manifest
from controllers.aws import ClientFactory, RetryPolicy
from controllers.documents import parse_document
from controllers.erasure import reconcile_erasure
from controllers.models import ErasureRequestSpec
from policies.settings import Settings

BUCKET, TABLE = "user-uploads", "profiles"


def request(subject: str, **extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": "residency.pushauction.com/v1alpha1",
        "kind": "ErasureRequest",
        "metadata": {"name": "erase"},
        "spec": {
            "subjectId": subject,
            "dataStores": [
                {"s3": {"bucket": BUCKET, "region": "cn-north-1", "keyPrefix": "users/{subjectId}/"}},
                {"dynamodb": {"table": TABLE, "region": "cn-north-1", "partitionKey": "userId"}},
            ],
            **extra,
        },
    }


def erase(
    estate: Estate, subject: str, *, dry_run: bool = False, clients: ClientFactory | None = None, **extra: Any
):  # noqa: ANN201
    spec = parse_document(request(subject, **extra), source="t", index=1, settings=Settings()).spec
    clients = clients or ClientFactory(endpoint_url=estate.url, retry=RetryPolicy(sleep=no_sleep))
    return reconcile_erasure(spec, name="erase", clients=clients, now=datetime.now(UTC), dry_run=dry_run)


def populate(estate: Estate) -> dict[str, set[tuple[str, str]]]:
    """Subjects u1 and u10 (a prefix trap), each with versions, a delete marker and DynamoDB items."""
    estate.bucket(BUCKET, lock=True)
    estate.table(TABLE, "userId", "sk")
    for subject in ("u1", "u10", "u1.x"):
        for name in ("a.jpg", "b.jpg"):
            estate.s3.put_object(Bucket=BUCKET, Key=f"users/{subject}/{name}", Body=b"v1")
            estate.s3.put_object(Bucket=BUCKET, Key=f"users/{subject}/{name}", Body=b"v2")
        estate.s3.delete_object(Bucket=BUCKET, Key=f"users/{subject}/b.jpg")
        for i in range(30):  # more than one BatchWriteItem
            estate.ddb.put_item(TableName=TABLE, Item={"userId": {"S": subject}, "sk": {"S": f"i{i:02d}"}})
    return {s: estate.versions(BUCKET, f"users/{s}/") for s in ("u1", "u10", "u1.x")}


def test_erases_every_version_and_marker_and_item_of_the_subject_only(estate: Estate) -> None:
    before = populate(estate)

    result = erase(estate, "u1")

    assert estate.versions(BUCKET, "users/u1/") == set()
    assert estate.versions(BUCKET, "users/u10/") == before["u10"]
    assert estate.versions(BUCKET, "users/u1.x/") == before["u1.x"]
    users = [i["userId"]["S"] for i in estate.items(TABLE)]
    assert "u1" not in users and users.count("u10") == 30
    assert result.compliant
    s3_store = f"s3://{BUCKET}/users/u1/"
    per_store = {s["store"]: s["deleted"] for s in result.evidence["stores"]}
    assert per_store == {s3_store: 5, f"dynamodb:{TABLE}": 30}
    # The digest is the manifest's: one JSON line per deleted item, recomputable by anyone.
    assert result.manifest is not None
    assert result.evidence["deletedSha256"] == hashlib.sha256(result.manifest).hexdigest()
    records = manifest.parse(result.manifest)
    assert {(r["store"], r["key"], r["versionId"]) for r in records if r["type"] != "item"} == {
        (s3_store, k, v) for k, v in before["u1"]
    }
    assert sorted(r["key"]["sk"]["S"] for r in records if r["type"] == "item") == [
        f"i{i:02d}" for i in range(30)
    ]
    assert result.evidence["started"] <= result.evidence["finished"]

    again = erase(estate, "u1")
    assert again.compliant and again.total("deleted") == 0 and again.total("examined") == 0


def test_dry_run_erases_nothing_and_reports_what_it_would(estate: Estate) -> None:
    before = populate(estate)
    result = erase(estate, "u1", dry_run=True)
    assert estate.versions(BUCKET, "users/u1/") == before["u1"]
    assert result.total("pending") == 35 and result.total("deleted") == 0 and not result.compliant


def test_held_versions_are_reported_not_erased_and_their_markers_stay(estate: Estate) -> None:
    populate(estate)
    held = estate.s3.put_object(
        Bucket=BUCKET, Key="users/u1/b.jpg", Body=b"evidence", ObjectLockLegalHoldStatus="ON"
    )["VersionId"]
    estate.s3.delete_object(Bucket=BUCKET, Key="users/u1/b.jpg")  # a marker over the held version
    retained = estate.s3.put_object(
        Bucket=BUCKET,
        Key="users/u1/c.jpg",
        Body=b"x",
        ObjectLockMode="COMPLIANCE",
        ObjectLockRetainUntilDate=datetime.now(UTC) + timedelta(days=30),
    )["VersionId"]

    result = erase(estate, "u1")

    left = estate.versions(BUCKET, "users/u1/")
    assert ("users/u1/b.jpg", held) in left and ("users/u1/c.jpg", retained) in left
    assert {k for k, _ in left} == {"users/u1/b.jpg", "users/u1/c.jpg"}
    markers = estate.s3.list_object_versions(Bucket=BUCKET, Prefix="users/u1/b.jpg").get("DeleteMarkers", [])
    assert markers, "the marker hiding a held version must stay"
    assert result.total("held") == 2 and not result.compliant
    assert any("legal hold" in h for s in result.stores for h in s.held_items)


def test_past_deadline_and_incomplete_is_a_finding(estate: Estate) -> None:
    populate(estate)
    estate.s3.put_object(Bucket=BUCKET, Key="users/u1/h", Body=b"x", ObjectLockLegalHoldStatus="ON")
    result = erase(estate, "u1", deadline="2020-01-01T00:00:00Z")
    assert any("deadline" in f for f in result.all_findings())


def test_unprocessed_batch_items_are_retried(estate: Estate) -> None:
    populate(estate)
    calls = {"n": 0}

    def wrap(service: str, client: Any) -> Any:
        if service != "dynamodb":
            return client

        class Flaky:
            def __getattr__(self, name: str) -> Any:
                return getattr(client, name)

            def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:  # noqa: N803
                calls["n"] += 1
                requests = RequestItems[TABLE]
                if calls["n"] % 2:  # every other call, half the batch comes back unprocessed
                    client.batch_write_item(RequestItems={TABLE: requests[: len(requests) // 2]})
                    return {"UnprocessedItems": {TABLE: requests[len(requests) // 2 :]}}
                return client.batch_write_item(RequestItems=RequestItems)

        return Flaky()

    clients = ClientFactory(endpoint_url=estate.url, retry=RetryPolicy(sleep=no_sleep), wrap=wrap)
    result = erase(estate, "u1", clients=clients)
    assert calls["n"] > 2 and result.compliant
    assert "u1" not in {i["userId"]["S"] for i in estate.items(TABLE)}


@pytest.mark.parametrize(
    "subject",
    [
        "",
        "*",
        "u*",
        "u?",
        "u/1",
        "../u1",
        "..",
        "u..1",
        ".u1",
        "u1.",
        "u 1",
        "u1/",
        "%2F",
        "u\n1",
        "a" * 129,
        "ü",
    ],
)
def test_subject_ids_that_could_widen_the_prefix_are_refused(subject: str) -> None:
    with pytest.raises(ValidationError):
        ErasureRequestSpec.model_validate(request(subject)["spec"])


@pytest.mark.parametrize("subject", ["u1", "user-42", "a.b", "x@example.com", "A_b+c=d", "9"])
def test_conservative_subject_ids_are_accepted(subject: str) -> None:
    assert ErasureRequestSpec.model_validate(request(subject)["spec"]).subject_id == subject


@pytest.mark.parametrize(
    "prefix",
    ["users/", "users/{subjectId}", "u/{subjectId}-x/", "u/{subjectId}/{subjectId}/", "*/{subjectId}/"],
)
def test_key_prefixes_not_scoped_to_one_subject_are_refused(prefix: str) -> None:
    spec = request("u1")["spec"]
    spec["dataStores"][0]["s3"]["keyPrefix"] = prefix
    with pytest.raises(ValidationError):
        ErasureRequestSpec.model_validate(spec)


SUBJECTS = ["u1", "u10", "u1.x", "u2"]


@st.composite
def subject_estates(draw: st.DrawFn) -> ObjectSet:
    """Keys of several subjects (prefix traps included), with versions, markers, holds and retention."""
    names = draw(
        st.lists(
            st.tuples(st.sampled_from(SUBJECTS), st.text("ab", min_size=1, max_size=2)).map(
                lambda t: f"users/{t[0]}/{t[1]}"
            ),
            min_size=1,
            max_size=8,
            unique=True,
        )
    )
    return ObjectSet(kind="locked", keys={name: draw(events_for("locked")) for name in names})


def erasure_oracle(objects: ObjectSet, subject: str) -> set[tuple[str, str]]:
    keep: set[tuple[str, str]] = set()
    for key, events in objects.keys.items():
        if not key.startswith(f"users/{subject}/"):
            keep |= {(key, e.version_id) for e in events}
            continue
        held = {
            e.version_id for e in events if not e.marker and (e.legal_hold or (e.retention_days or 0) > 0)
        }
        keep |= {(key, v) for v in held}
        if held:
            keep |= {(key, e.version_id) for e in events if e.marker}
    return keep


@settings(max_examples=20, deadline=None)
@given(objects=subject_estates(), subject=st.sampled_from(SUBJECTS[:3]))
def test_property_erasure_leaves_exactly_other_subjects_and_held_data(
    moto_url: str, objects: ObjectSet, subject: str
) -> None:
    reset_moto(moto_url)
    estate = Estate(moto_url)
    seed(estate, BUCKET, objects, now_utc())
    estate.table(TABLE, "userId", "sk")
    faults = HttpFaults(
        "throttle", {"ListObjectVersions", "DeleteObjects", "HeadObject", "Query", "BatchWriteItem"}
    )
    clients = ClientFactory(endpoint_url=estate.url, retry=RetryPolicy(sleep=no_sleep), hooks=faults.hooks)

    result = erase(estate, subject, clients=clients)

    assert estate.versions(BUCKET) == erasure_oracle(objects, subject)
    assert not result.all_errors()
    held = sum(1 for k, v in erasure_oracle(objects, subject) if k.startswith(f"users/{subject}/"))
    assert result.compliant == (held == 0)
    again = erase(estate, subject)
    assert again.total("deleted") == 0
