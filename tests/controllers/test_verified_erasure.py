"""Deletions are verified by a fresh read, and every status says what is still there and why (moto)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto_estate import Estate, days_ago, no_sleep
from s3_fidelity import s3_url_encoded_listings

from controllers import manifest
from controllers.aws import ClientFactory, RetryPolicy
from controllers.documents import parse_document
from controllers.erasure import reconcile_erasure
from controllers.results import PermissionHold, StoreResult
from controllers.s3_sweep import LockInspector, Version
from policies.settings import Settings

BUCKET, TABLE = "user-uploads", "profiles"
API = "residency.pushauction.com/v1alpha1"


@pytest.fixture(autouse=True)
def faithful_listings() -> Iterator[None]:
    with s3_url_encoded_listings():
        yield


def s3_store(prefix: str = "users/{subjectId}/", bucket: str = BUCKET, region: str = "cn-north-1") -> dict:
    return {"s3": {"bucket": bucket, "region": region, "keyPrefix": prefix}}


def erase(
    estate: Estate,
    stores: list[dict],
    *,
    subject: str = "u1",
    wrap: Any = None,
    dry_run: bool = False,
    **spec: Any,
):  # noqa: ANN201
    doc = {
        "apiVersion": API,
        "kind": "ErasureRequest",
        "metadata": {"name": "erase-u1"},
        "spec": {"subjectId": subject, "dataStores": stores, **spec},
    }
    parsed = parse_document(doc, source="t", index=1, settings=Settings()).spec
    clients = ClientFactory(endpoint_url=estate.url, retry=RetryPolicy(sleep=no_sleep), wrap=wrap)
    return reconcile_erasure(parsed, name="erase-u1", clients=clients, now=datetime.now(UTC), dry_run=dry_run)


def put(estate: Estate, key: str, body: bytes = b"x", bucket: str = BUCKET, **kw: Any) -> str:
    return estate.s3.put_object(Bucket=bucket, Key=key, Body=body, **kw)["VersionId"]


class LyingS3:
    """An S3 client whose DeleteObjects answer lies: some pairs are left out, some claimed but kept."""

    def __init__(self, client: Any, *, omit: set[str] = frozenset(), pretend: set[str] = frozenset()) -> None:
        self._client, self.omit, self.pretend = client, omit, pretend

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def delete_objects(self, *, Bucket: str, Delete: dict[str, Any], **kw: Any) -> dict[str, Any]:  # noqa: N803
        send = [o for o in Delete["Objects"] if o["Key"] not in self.omit | self.pretend]
        answer = {"Deleted": [], "Errors": []}
        if send:
            answer = self._client.delete_objects(Bucket=Bucket, Delete={**Delete, "Objects": send}, **kw)
        claimed = [
            {"Key": o["Key"], "VersionId": o["VersionId"]}
            for o in Delete["Objects"]
            if o["Key"] in self.pretend
        ]
        return {**answer, "Deleted": answer.get("Deleted", []) + claimed}


def s3_wrapper(**kw: Any) -> Any:
    return lambda service, client: LyingS3(client, **kw) if service == "s3" else client


# --- verified deletion -----------------------------------------------------------------------------


def test_a_key_with_cr_is_really_erased_and_the_manifest_names_it(estate: Estate) -> None:
    estate.bucket(BUCKET, versioned=True)
    hostile = ["users/u1/a\rb", "users/u1/c\x01", "users/u1/nel\x85", "users/u1/plain.jpg"]
    for key in hostile:
        put(estate, key)
        put(estate, key, b"y")
    calls: list[str] = []

    def record(service: str, client: Any) -> Any:
        if service != "s3":
            return client

        class Recorder:
            def __getattr__(self, name: str) -> Any:
                if name in ("delete_object", "delete_objects"):
                    calls.append(name)
                return getattr(client, name)

        return Recorder()

    result = erase(estate, [s3_store()], wrap=record)

    assert estate.versions(BUCKET) == set(), result.all_errors()
    assert result.compliant and result.total("deleted") == 8
    assert calls.count("delete_object") == 6 and calls.count("delete_objects") == 1
    keys = {r["key"] for r in manifest.parse(result.manifest or b"")}
    assert set(hostile) == keys


def test_a_pair_the_answer_does_not_account_for_is_an_error_and_still_present(estate: Estate) -> None:
    estate.bucket(BUCKET, versioned=True)
    put(estate, "users/u1/kept.jpg")
    put(estate, "users/u1/gone.jpg")

    result = erase(estate, [s3_store()], wrap=s3_wrapper(omit={"users/u1/kept.jpg"}))

    assert {k for k, _ in estate.versions(BUCKET)} == {"users/u1/kept.jpg"}
    assert not result.compliant and result.total("deleted") == 1
    assert any("kept.jpg" in e and "Unaccounted" in e for e in result.all_errors())
    assert any("still present after deleting: users/u1/kept.jpg" in f for f in result.all_findings())
    assert [r["key"] for r in manifest.parse(result.manifest or b"")] == ["users/u1/gone.jpg"]
    assert result.status()["conditions"][0]["status"] == "False"


def test_a_delete_s3_claims_but_did_not_do_is_not_counted(estate: Estate) -> None:
    estate.bucket(BUCKET, versioned=True)
    put(estate, "users/u1/a.jpg")
    estate.s3.delete_object(Bucket=BUCKET, Key="users/u1/a.jpg")  # a marker over it

    result = erase(estate, [s3_store()], wrap=s3_wrapper(pretend={"users/u1/a.jpg"}))

    left = estate.versions(BUCKET)
    assert len(left) == 2, "the version is still there, so its marker must stay too"
    assert not result.compliant and result.total("deleted") == 0
    assert any("a fresh listing still finds it" in e for e in result.all_errors())
    assert result.evidence["deletedCount"] == 0 and manifest.parse(result.manifest or b"") == []
    findings = "\n".join(result.all_findings())
    assert "users/u1/a.jpg" in findings and "still present" in findings


def test_dynamodb_deletes_are_verified_too(estate: Estate) -> None:
    estate.table(TABLE, "userId", "sk")
    for i in range(3):
        estate.ddb.put_item(TableName=TABLE, Item={"userId": {"S": "u1"}, "sk": {"S": f"i{i}"}})

    def wrap(service: str, client: Any) -> Any:
        if service != "dynamodb":
            return client

        class Pretends:
            def __getattr__(self, name: str) -> Any:
                return getattr(client, name)

            def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:  # noqa: N803
                requests = RequestItems[TABLE]
                client.batch_write_item(RequestItems={TABLE: requests[1:]})  # drops one, says nothing
                return {"UnprocessedItems": {}}

        return Pretends()

    result = erase(
        estate, [{"dynamodb": {"table": TABLE, "region": "cn-north-1", "partitionKey": "userId"}}], wrap=wrap
    )

    assert len(estate.items(TABLE)) == 1
    assert result.total("deleted") == 2 and result.total("remaining") == 1 and not result.compliant
    assert any("consistent read still finds it" in e for e in result.all_errors())
    assert len(manifest.parse(result.manifest or b"")) == 2


# --- honest statuses ----------------------------------------------------------------------------------


def test_a_held_version_that_becomes_current_is_named(estate: Estate) -> None:
    estate.bucket(BUCKET, lock=True)
    held = put(estate, "users/u1/doc.pdf", ObjectLockLegalHoldStatus="ON")
    put(estate, "users/u1/doc.pdf", b"newer")

    result = erase(estate, [s3_store()])

    assert estate.versions(BUCKET) == {("users/u1/doc.pdf", held)}
    assert not result.compliant
    assert any(
        f"users/u1/doc.pdf@{held}" in f and "now the current version" in f for f in result.all_findings()
    )
    assert any("now the current version" in f for f in result.status()["findings"])


def test_an_unreadable_lock_state_is_a_permission_finding() -> None:
    class Denied:
        def get_object_lock_configuration(self, **_: Any) -> dict[str, Any]:
            return {"ObjectLockConfiguration": {"ObjectLockEnabled": "Enabled"}}

        def head_object(self, **_: Any) -> dict[str, Any]:
            raise ClientError({"Error": {"Code": "403", "Message": "Forbidden"}}, "HeadObject")

    version = Version("k", "v1", datetime.now(UTC), True, False)
    reasons = LockInspector(Denied(), RetryPolicy(sleep=no_sleep), "b").holds([version], datetime.now(UTC))
    assert isinstance(reasons[version.ref], PermissionHold)
    out = StoreResult("s3://b")
    out.hold(version.label(), reasons[version.ref])
    assert out.held == 1 and out.unreadable == 1
    assert any("403" in f and "GetObjectLegalHold" in f for f in out.findings)


def test_an_unreadable_lock_state_keeps_the_sweep_from_reading_compliant(estate: Estate) -> None:
    from controllers.retention import reconcile_retention

    estate.bucket(BUCKET, lock=True)
    version = put(estate, "logs/a.log")
    estate.backdate(BUCKET, "logs/a.log", version, days_ago(400))

    def wrap(service: str, client: Any) -> Any:
        if service != "s3":
            return client

        class Denied:
            def __getattr__(self, name: str) -> Any:
                return getattr(client, name)

            def head_object(self, **_: Any) -> dict[str, Any]:
                raise ClientError({"Error": {"Code": "403", "Message": "Forbidden"}}, "HeadObject")

        return Denied()

    doc = {
        "apiVersion": API,
        "kind": "RetentionPolicy",
        "metadata": {"name": "logs"},
        "spec": {
            "dataStores": [{"s3": {"bucket": BUCKET, "region": "cn-north-1"}}],
            "rules": [{"name": "all", "match": {"prefix": ""}, "maxAgeDays": 30}],
        },
    }
    spec = parse_document(doc, source="t", index=1, settings=Settings()).spec
    clients = ClientFactory(endpoint_url=estate.url, retry=RetryPolicy(sleep=no_sleep), wrap=wrap)
    result = reconcile_retention(spec, name="logs", clients=clients, now=datetime.now(UTC))

    assert estate.versions(BUCKET) == {("logs/a.log", version)}
    assert result.total("held") == 1 and not result.compliant
    assert any("lock state unreadable" in f and "permission" in f for f in result.all_findings())


def test_two_stores_in_one_bucket_have_their_own_evidence(estate: Estate) -> None:
    estate.bucket(BUCKET, versioned=True)
    for key in ("users/u1/a", "users/u1/b", "avatars/u1/c"):
        put(estate, key)

    result = erase(estate, [s3_store(), s3_store("avatars/{subjectId}/")])

    stores = {s["store"]: s for s in result.evidence["stores"]}
    assert stores[f"s3://{BUCKET}/users/u1/"]["deleted"] == 2
    assert stores[f"s3://{BUCKET}/avatars/u1/"]["deleted"] == 1
    records = manifest.parse(result.manifest or b"")
    assert {r["store"] for r in records} == set(stores)
    for name, store in stores.items():
        mine = manifest.render(
            manifest.Entry(
                r["store"],
                r["key"],
                r["versionId"],
                r["type"],
                datetime.fromisoformat(r["deletedAt"]),
                r["size"],
                r["ETag"],
            )
            for r in records
            if r["store"] == name
        )
        assert store["deletedSha256"] == hashlib.sha256(mine).hexdigest()


def test_a_bucket_in_another_region_than_declared_is_not_touched(estate: Estate) -> None:
    estate.bucket(BUCKET, versioned=True, region="cn-northwest-1")
    import boto3

    other = boto3.client("s3", **{**estate.kw, "region_name": "cn-northwest-1"})
    other.put_object(Bucket=BUCKET, Key="users/u1/a", Body=b"x")
    before = estate.versions(BUCKET)

    result = erase(estate, [s3_store(region="cn-north-1")])

    assert estate.versions(BUCKET) == before
    assert not result.compliant
    assert any("is in cn-northwest-1, not in cn-north-1 as declared" in e for e in result.all_errors())
    assert not any(s["ran"] for s in result.evidence.get("stores", [])), "nothing ran, so no evidence"
    assert result.evidence == {} and result.manifest is None


def test_the_sweep_checks_the_bucket_region_before_deleting(estate: Estate) -> None:
    from controllers.actions import DeleteVersions, apply_actions

    estate.bucket(BUCKET, versioned=True, region="cn-northwest-1")
    import boto3

    other = boto3.client("s3", **{**estate.kw, "region_name": "cn-northwest-1"})
    version = other.put_object(Bucket=BUCKET, Key="old", Body=b"x")["VersionId"]
    out = StoreResult(f"s3://{BUCKET}")
    clients = ClientFactory(endpoint_url=estate.url, retry=RetryPolicy(sleep=no_sleep))
    action = DeleteVersions("cn-north-1", BUCKET, (("old", version),), (), "past retention")

    assert apply_actions([action], clients, out, apply=True) == []
    assert estate.versions(BUCKET) == {("old", version)}
    assert out.deleted == 0 and any("not in cn-north-1 as declared" in e for e in out.errors)


def test_no_evidence_for_an_erasure_that_never_ran_or_a_dry_run(estate: Estate) -> None:
    nothing = erase(estate, [s3_store(bucket="missing-bucket")])
    assert nothing.evidence == {} and nothing.manifest is None and not nothing.compliant

    estate.bucket(BUCKET, versioned=True)
    put(estate, "users/u1/a")
    dry = erase(estate, [s3_store()], dry_run=True)
    assert dry.evidence == {} and dry.manifest is None and dry.total("pending") == 1


# --- the manifest, stored --------------------------------------------------------------------------


def test_the_manifest_is_stored_in_the_evidence_bucket_and_recomputes_to_the_digest(estate: Estate) -> None:
    estate.bucket(BUCKET, versioned=True)
    estate.bucket("pa-evidence")
    for key in ("users/u1/a", "users/u1/b\r"):
        put(estate, key)

    result = erase(
        estate, [s3_store()], evidence={"bucket": "pa-evidence", "region": "cn-north-1", "prefix": "erasure/"}
    )

    assert result.compliant, result.all_errors()
    sha = result.evidence["deletedSha256"]
    location = result.evidence["manifest"]["location"]
    assert location == f"s3://pa-evidence/erasure/erase-u1/{sha}.jsonl"
    stored = estate.s3.get_object(Bucket="pa-evidence", Key=location.split("/", 3)[3])["Body"].read()
    assert stored == result.manifest and hashlib.sha256(stored).hexdigest() == sha
    records = manifest.parse(stored)
    assert [r["key"] for r in records] == ["users/u1/a", "users/u1/b\r"]
    assert all(r["size"] == 1 and r["ETag"] and r["type"] == "version" for r in records)
    assert all(r["deletedAt"].endswith("Z") for r in records)


def test_the_manifest_is_deterministic_whatever_the_order() -> None:
    when = datetime(2026, 1, 1, tzinfo=UTC)
    entries = [
        manifest.Entry("s3://b/p/", "p/z", "2", "version", when, 1, '"e"'),
        manifest.Entry("dynamodb:t", {"pk": {"S": "u1"}}, None, "item", when),
        manifest.Entry("s3://b/p/", "p/a\r\n\u2028", "1", "deleteMarker", when),
    ]
    data = manifest.render(entries)
    assert data == manifest.render(reversed(entries))
    assert data.count(b"\n") == 3 and data.isascii()
    assert [r["store"] for r in manifest.parse(data)] == ["dynamodb:t", "s3://b/p/", "s3://b/p/"]


# --- residency enforce --evidence ------------------------------------------------------------------------


def test_enforce_writes_the_manifest_to_the_evidence_directory(estate: Estate, tmp_path: Path) -> None:
    estate.bucket(BUCKET, versioned=True)
    for i in range(3):
        put(estate, f"users/u1/{i}.jpg")
    doc = tmp_path / "erase [u1].yaml"
    doc.write_text(
        f"apiVersion: {API}\nkind: ErasureRequest\nmetadata: {{name: erase-u1}}\nspec:\n  subjectId: u1\n"
        f"  dataStores:\n    - s3: {{bucket: {BUCKET}, region: cn-north-1, keyPrefix: 'users/{{subjectId}}/'}}\n"
    )
    evidence = tmp_path / "evidence"
    args = [
        sys.executable,
        "-m",
        "policies.cli",
        "enforce",
        "--once",
        "--endpoint-url",
        estate.url,
        "-f",
        str(doc),
    ]
    env_kw = {"capture_output": True, "text": True, "timeout": 120}

    table = subprocess.run([*args, "--evidence", str(evidence)], **env_kw)  # type: ignore[call-overload]

    assert table.returncode == 0, table.stdout + table.stderr
    files = sorted(evidence.glob("erasure-*.jsonl"))  # beside the run records
    assert len(files) == 1 and files[0].name.startswith("erasure-erase-u1-")
    data = files[0].read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    assert f"evidence: 3 deleted, sha256 {sha}" in table.stdout
    assert f"evidence: manifest {files[0]}" in table.stdout
    assert f"evidence: s3://{BUCKET}/users/u1/: 3 deleted, 0 held, 0 still present" in table.stdout
    assert len(manifest.parse(data)) == 3

    again = subprocess.run([*args, "--evidence", str(evidence), "--format", "json"], **env_kw)  # type: ignore[call-overload]
    assert again.returncode == 0, again.stderr
    ev = json.loads(again.stdout)[0]["evidence"]
    assert ev["deletedCount"] == 0 and ev["deletedSha256"] == hashlib.sha256(b"").hexdigest()
    assert Path(ev["manifest"]["file"]).read_bytes() == b""


def test_enforce_prints_no_evidence_for_an_erasure_that_never_ran(estate: Estate, tmp_path: Path) -> None:
    doc = tmp_path / "erase.yaml"
    doc.write_text(
        f"apiVersion: {API}\nkind: ErasureRequest\nmetadata: {{name: erase-u1}}\nspec:\n  subjectId: u1\n"
        "  dataStores:\n    - s3: {bucket: no-such-bucket, region: cn-north-1, keyPrefix: 'users/{subjectId}/'}\n"
    )
    evidence = tmp_path / "evidence"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "policies.cli",
            "enforce",
            "--once",
            "--endpoint-url",
            estate.url,
            "-f",
            str(doc),
            "--evidence",
            str(evidence),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "evidence:" not in proc.stdout and "NoSuchBucket" in proc.stdout
    assert not list(evidence.glob("erasure-*")), "no manifest for an erasure that never ran"


# --- the retention sweep is verified the same way ------------------------------------------------------


def sweep(estate: Estate, wrap: Any = None):  # noqa: ANN201
    from controllers.retention import reconcile_retention

    doc = {
        "apiVersion": API,
        "kind": "RetentionPolicy",
        "metadata": {"name": "sweep"},
        "spec": {
            "dataStores": [{"s3": {"bucket": BUCKET, "region": "cn-north-1"}}],
            "rules": [{"name": "all", "match": {"prefix": ""}, "maxAgeDays": 30}],
        },
    }
    spec = parse_document(doc, source="t", index=1, settings=Settings()).spec
    clients = ClientFactory(endpoint_url=estate.url, retry=RetryPolicy(sleep=no_sleep), wrap=wrap)
    return reconcile_retention(spec, name="sweep", clients=clients, now=datetime.now(UTC))


@pytest.mark.parametrize("per_key", [64, 1], ids=["per-key", "range"])
def test_the_sweep_deletes_hostile_keys_and_counts_only_what_is_gone(
    estate: Estate, per_key: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import controllers.s3_sweep as s3_sweep

    monkeypatch.setattr(s3_sweep, "VERIFY_PER_KEY", per_key)
    estate.bucket(BUCKET, versioned=True)
    old = {"a\rb", "c\x01d", "e\u2028", "f%2F?#", "young-neighbour-not"}
    for key in old:
        version = put(estate, key)
        estate.backdate(BUCKET, key, version, days_ago(40))
    young = put(estate, "young")

    result = sweep(estate, wrap=s3_wrapper(pretend={"f%2F?#"}))

    assert ("young", young) in estate.versions(BUCKET)
    assert {k for k, _ in estate.versions(BUCKET)} == {"young", "f%2F?#"}
    assert result.total("deleted") == 4 and not result.compliant
    assert any("f%2F?#" in e and "still finds it" in e for e in result.all_errors())
