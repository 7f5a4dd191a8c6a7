"""Property: what an erasure reports erased is exactly what is no longer listable, for hostile keys.

Keys are drawn from alphabets that break naive deleters: `\\r` (an XML body turns it into `\\n`),
C0 controls and U+FFFE (not XML at all), NEL and U+2028 (line ends to some parsers), URL-special
characters, dot segments, and non-ASCII text; held versions (legal hold) are mixed in, and a second
subject's data sits beside the first's. After the erasure:

* the manifest's (key, versionId) pairs are exactly `before - after` (reported erased == gone);
* nothing appeared and nothing outside the subject's prefix changed;
* what is left under the prefix is exactly the held versions and the markers that hide them;
* the request is compliant exactly when nothing was held, and the digest is the manifest's sha256.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto_estate import Estate, no_sleep, reset_moto
from s3_fidelity import s3_url_encoded_listings

from controllers import manifest
from controllers.aws import ClientFactory, RetryPolicy
from controllers.documents import parse_document
from controllers.erasure import reconcile_erasure
from controllers.s3_sweep import batch_safe
from policies.settings import Settings

BUCKET = "hostile-keys"
SUBJECT, OTHER = "u1", "u2"
#: Everything here has broken a deleter somewhere; LF is left out only because moto cannot store it.
HOSTILE = (
    "\r\t\x00\x01\x08\x0b\x0c\x1f\x7f\x85\u2028\u2029\ufffe\uffff"
    " %+?#&<>;=@$,!'\"()[]{}|^`~\\./"
    "aZ09-_üßé中文😀\u0301\u200b"
)

key_names = st.text(alphabet=st.sampled_from(HOSTILE), min_size=1, max_size=6)


@st.composite
def estates(draw: st.DrawFn) -> tuple[bool, dict[str, list[str]]]:
    """(Object Lock bucket?, key -> events in order): "v" a version, "h" a version under legal hold,
    "m" a delete marker. An unversioned bucket has one version (id "null") per key."""
    locked = draw(st.booleans())
    out: dict[str, list[str]] = {}
    for subject in (SUBJECT, OTHER):
        for name in draw(st.lists(key_names, min_size=1, max_size=5, unique=True)):
            if not locked:
                out[f"users/{subject}/{name}"] = ["v"]
                continue
            events = draw(st.lists(st.sampled_from("vvhm"), min_size=1, max_size=3))
            if events[0] == "m":
                events[0] = "v"
            out[f"users/{subject}/{name}"] = events
    return locked, out


@pytest.fixture(scope="module", autouse=True)
def faithful_listings() -> Iterator[None]:
    with s3_url_encoded_listings():
        yield


def seed(estate: Estate, locked: bool, keys: dict[str, list[str]]) -> dict[tuple[str, str], str]:
    """Create every event; returns (key, version id) -> event kind."""
    estate.bucket(BUCKET, lock=locked)
    made: dict[tuple[str, str], str] = {}
    for key, events in keys.items():
        for event in events:
            if event == "m":
                version = estate.s3.delete_object(Bucket=BUCKET, Key=key)["VersionId"]
            else:
                extra = {"ObjectLockLegalHoldStatus": "ON"} if event == "h" else {}
                answer = estate.s3.put_object(Bucket=BUCKET, Key=key, Body=key.encode(), **extra)
                version = answer.get("VersionId") or "null"
            made[(key, version)] = event
    return made


def kept_by_a_correct_erasure(made: dict[tuple[str, str], str]) -> set[tuple[str, str]]:
    prefix = f"users/{SUBJECT}/"
    held_keys = {k for (k, _), e in made.items() if e == "h"}
    keep = set()
    for (key, version), event in made.items():
        if not key.startswith(prefix) or event == "h" or (event == "m" and key in held_keys):
            keep.add((key, version))
    return keep


def erase(url: str):  # noqa: ANN201
    doc = {
        "apiVersion": "residency.pushauction.com/v1alpha1",
        "kind": "ErasureRequest",
        "metadata": {"name": "erase-hostile"},
        "spec": {
            "subjectId": SUBJECT,
            "dataStores": [
                {"s3": {"bucket": BUCKET, "region": "cn-north-1", "keyPrefix": "users/{subjectId}/"}}
            ],
        },
    }
    spec = parse_document(doc, source="t", index=1, settings=Settings()).spec
    clients = ClientFactory(endpoint_url=url, retry=RetryPolicy(sleep=no_sleep))
    return reconcile_erasure(spec, name="erase-hostile", clients=clients, now=datetime.now(UTC))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(drawn=estates())
def test_reported_erased_equals_no_longer_listable_and_nothing_else_changes(
    moto_url: str, drawn: tuple[bool, dict[str, list[str]]]
) -> None:
    reset_moto(moto_url)
    estate = Estate(moto_url)
    made = seed(estate, *drawn)
    before = estate.versions(BUCKET)
    assert before == set(made), "the listing itself must be faithful for the property to mean anything"

    result = erase(moto_url)

    after = estate.versions(BUCKET)
    assert result.manifest is not None
    records = manifest.parse(result.manifest)
    reported = {(r["key"], r["versionId"]) for r in records}
    assert len(reported) == len(records), "an item is in the manifest twice"
    assert reported == before - after
    assert after <= before
    assert after == kept_by_a_correct_erasure(made)
    assert not result.all_errors()
    held = any(e == "h" for (k, _), e in made.items() if k.startswith(f"users/{SUBJECT}/"))
    assert result.compliant == (not held)
    assert result.evidence["deletedSha256"] == hashlib.sha256(result.manifest).hexdigest()
    assert result.evidence["deletedCount"] == len(records) == result.total("deleted")
    # Every line stays one line, whatever the key holds.
    assert result.manifest.count(b"\n") == len(records)

    again = erase(moto_url)
    assert again.total("deleted") == 0 and estate.versions(BUCKET) == after


def test_keys_xml_cannot_carry_are_never_put_in_a_batch_body() -> None:
    for key in ("a\rb", "a\nb", "a\x00", "a\x1f", "\ufffe", "\uffff", "x\u2028", "x\x85", "x\x7f", "t\tb"):
        assert not batch_safe(key), repr(key)
    for key in ("users/u1/a.jpg", "ü/中文/😀", "a&b<c>'\"", "%2F+?#", " lead and trail ", "../x"):
        assert batch_safe(key), repr(key)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(drawn=estates())
def test_the_retention_sweep_counts_exactly_what_is_gone_for_hostile_keys(
    moto_url: str, drawn: tuple[bool, dict[str, list[str]]]
) -> None:
    """The same hostile estate, every version past a 30-day rule: all goes but the held data."""
    from moto_estate import days_ago

    from controllers.retention import reconcile_retention

    reset_moto(moto_url)
    estate = Estate(moto_url)
    made = seed(estate, *drawn)
    for key, version in made:
        estate.backdate(BUCKET, key, version, days_ago(40))
    before = estate.versions(BUCKET)
    held_keys = {k for (k, _), e in made.items() if e == "h"}
    expected = {(k, v) for (k, v), e in made.items() if e == "h" or (e == "m" and k in held_keys)}
    doc = {
        "apiVersion": "residency.pushauction.com/v1alpha1",
        "kind": "RetentionPolicy",
        "metadata": {"name": "hostile"},
        "spec": {
            "dataStores": [{"s3": {"bucket": BUCKET, "region": "cn-north-1"}}],
            "rules": [{"name": "all", "match": {"prefix": ""}, "maxAgeDays": 30}],
        },
    }
    spec = parse_document(doc, source="t", index=1, settings=Settings()).spec
    clients = ClientFactory(endpoint_url=moto_url, retry=RetryPolicy(sleep=no_sleep))

    result = reconcile_retention(spec, name="hostile", clients=clients, now=datetime.now(UTC))

    after = estate.versions(BUCKET)
    assert after == expected
    assert result.total("deleted") == len(before - after)
    assert not result.all_errors()
