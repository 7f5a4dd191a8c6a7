"""`residency audit` on a moto account seeded with the reference stack, then drifted by hand.

The account is deployed from the reference stack's own states (tests/audit_estate.py), so before the
drift the audit has nothing to say; after it, the audit must name exactly the five changes: a bucket
created outside China, a bucket whose logging was turned off, a role granted `s3:*` on `*`, a
trail that was stopped and a key whose rotation was turned off.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from audit_estate import ACCOUNT, Deployer, export
from honesty import no_crash
from typer.testing import CliRunner

from policies.audit import run_audit
from policies.cli import app
from policies.examples.reference import compliant_unit
from policies.sources.live_aws import inventory

REGION = "cn-north-1"
UPLOADS = "pushauction-prod-user-uploads"
OUTSIDE = "pushauction-shadow-export"
TABLE = "pushauction-prod-accounts"


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(var, "testing")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def _reset(url: str) -> None:
    request = urllib.request.Request(f"{url}/moto-api/reset", method="POST", data=b"")
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 200


def _client(url: str, service: str) -> Any:
    return boto3.client(service, endpoint_url=url, region_name=REGION)


@pytest.fixture(scope="module")
def reference(moto_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The reference stack deployed on a fresh account; its stack export as Pulumi would hold it."""
    _reset(moto_url)
    states = Deployer(moto_url).deploy([step["newState"] for step in compliant_unit()])
    path = tmp_path_factory.mktemp("reference") / "reference-export.json"
    path.write_text(json.dumps(export(states)))
    key = next(s for s in states if s["type"] == "aws:kms/key:Key")
    return {"export": str(path), "key_id": key["outputs"]["keyId"]}


def _shown(findings: list[Any]) -> str:
    return "\n".join(f"{f.rule} {f.type} {f.name}: {f.message}" for f in findings)


def test_the_deployed_reference_stack_audits_clean_and_without_drift(moto_url: str, reference: dict) -> None:
    run = run_audit(endpoint_url=moto_url, against=reference["export"], progress=False)
    assert run.inventory.problems == []
    assert run.result.findings == [], _shown(run.result.findings)
    drift = run.result.drift
    assert (drift["unmanaged"], drift["missing"], drift["differs"]) == (0, 0, 0)
    assert drift["matched"] == 10
    types = {r.type for r in run.inventory.resources}
    for token in (
        "aws:s3/bucket:Bucket",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketLogging:BucketLogging",
        "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
        "aws:kms/key:Key",
        "aws:iam/role:Role",
        "aws:iam/rolePolicy:RolePolicy",
        "aws:dynamodb/table:Table",
        "aws:cloudtrail/trail:Trail",
        "aws:rds/instance:Instance",
        "aws:rds/parameterGroup:ParameterGroup",
        "aws:cloudwatch/logGroup:LogGroup",
    ):
        assert token in types, token


@pytest.fixture(scope="module")
def drifted(moto_url: str, reference: dict) -> dict[str, Any]:
    """The five changes made outside Pulumi, after the clean audit above."""
    from moto.s3.models import s3_backends

    s3, iam, kms, trails = (_client(moto_url, s) for s in ("s3", "iam", "kms", "cloudtrail"))
    # A bucket created outside China. moto serves one partition per endpoint region, so the bucket is
    # made through the China endpoint and then relocated in the in-process backend; ListBuckets (global)
    # lists it and GetBucketLocation answers us-west-2, as AWS would for a bucket made there.
    s3.create_bucket(Bucket=OUTSIDE, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3_backends[ACCOUNT]["aws-cn"].buckets[OUTSIDE].region_name = "us-west-2"
    s3.put_bucket_logging(Bucket=UPLOADS, BucketLoggingStatus={})
    iam.create_role(
        RoleName="ops-debug",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws-cn:iam::{ACCOUNT}:root"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )
    iam.put_role_policy(
        RoleName="ops-debug",
        PolicyName="everything-in-s3",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
        ),
    )
    trails.stop_logging(Name="pushauction-audit")
    kms.disable_key_rotation(KeyId=reference["key_id"])
    return reference


def test_the_audit_finds_exactly_the_drift(moto_url: str, drifted: dict) -> None:
    run = run_audit(endpoint_url=moto_url, progress=False)
    found = {(f.rule, f.name) for f in run.result.findings}
    # Each change is named by the rule that reads it...
    assert ("RES-001", OUTSIDE) in found
    assert ("AUD-001", UPLOADS) in found
    assert ("ACC-004", "ops-debug:everything-in-s3") in found
    # AUD-002 judges a trail by the personal-data stores it covers: the stopped trail leaves the
    # uploads bucket's (and the accounts table's) data events unrecorded, and the finding names it.
    stopped = [f for f in run.result.findings if f.rule == "AUD-002" and f.name == UPLOADS]
    assert stopped and "Trail 'pushauction-audit'" in stopped[0].message
    assert ("ENC-003", drifted["key_id"]) in found
    # ...and nothing else is: every finding is about one of the changed resources.
    changed = {OUTSIDE, f"{OUTSIDE}-acl", UPLOADS, TABLE, "ops-debug:everything-in-s3", drifted["key_id"]}
    assert {name for _rule, name in found} <= changed, _shown(run.result.findings)
    assert {r for r, n in found if n == UPLOADS} == {"AUD-001", "AUD-002"}
    assert {r for r, n in found if n == TABLE} <= {"AUD-002"}
    assert {r for r, n in found if n == drifted["key_id"]} == {"ENC-003"}
    assert {r for r, n in found if n == "ops-debug:everything-in-s3"} == {"ACC-004"}


def test_drift_against_the_reference_export(moto_url: str, drifted: dict) -> None:
    run = run_audit(endpoint_url=moto_url, against=drifted["export"], progress=False)
    no_crash(run.result)
    drift = {(f.rule, f.name) for f in run.result.findings if f.rule.startswith("DRIFT-")}
    assert drift == {
        ("DRIFT-001", OUTSIDE),
        ("DRIFT-001", "ops-debug"),
        ("DRIFT-001", "ops-debug:everything-in-s3"),
        ("DRIFT-003", "user-uploads"),
        ("DRIFT-003", "audit-trail"),
        ("DRIFT-003", "data-key"),
    }
    summary = run.result.drift
    assert (summary["unmanaged"], summary["missing"], summary["differs"]) == (3, 0, 3)
    differences = {i["name"]: set(i.get("differences", {})) for i in summary["items"]}
    assert differences["user-uploads"] == {"logging"}
    assert differences["audit-trail"] == {"enableLogging"}
    assert differences["data-key"] == {"enableKeyRotation"}
    for f in run.result.findings:
        if f.rule.startswith("DRIFT-"):
            assert f.severity.value == "medium" and f.controls == ["SEC-SAFE-1"]


@pytest.mark.parametrize("fmt", ["table", "json", "sarif", "junit", "markdown"])
def test_every_format_shows_the_drift_and_exits_1(moto_url: str, drifted: dict, fmt: str) -> None:
    result = CliRunner().invoke(
        app,
        [
            "audit",
            "--endpoint-url",
            moto_url,
            "--against",
            drifted["export"],
            "--format",
            fmt,
            "--fail-on",
            "medium",
        ],
    )
    assert result.exit_code == 1, result.output
    assert "DRIFT-001" in result.stdout
    assert "could not be checked: rule" not in result.stdout, "a rule raised during the audit"
    if fmt == "json":
        doc = json.loads(result.stdout)
        assert {"summary", "findings", "coverage", "declarations", "notices", "drift"} <= set(doc)
        assert doc["drift"]["unmanaged"] == 3
    else:
        assert "3 unmanaged (DRIFT-001)" in result.stdout


def test_access_denied_on_one_bucket_is_a_finding_for_that_bucket(moto_url: str, drifted: dict) -> None:
    from botocore.exceptions import ClientError

    session = boto3.session.Session()

    def deny(params: dict, **_: Any) -> None:
        if params.get("Bucket") == UPLOADS:
            raise ClientError(
                {"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "GetBucketPolicy"
            )

    session.events.register("before-parameter-build.s3.GetBucketPolicy", deny)
    run = run_audit(endpoint_url=moto_url, progress=False, session=session)
    unread = [f for f in run.result.findings if f.rule == "LIVE-001"]
    assert [(f.name, f.error) for f in unread] == [(UPLOADS, True)]
    assert "could not read: s3:get_bucket_policy was denied (AccessDenied)" in unread[0].message
    # The policy is unknown, never absent: TLS-001 cannot pass on what it could not read.
    tls = [f for f in run.result.findings if f.rule == "TLS-001" and f.name == UPLOADS]
    assert tls and all(f.unknown for f in tls)
    # Every other bucket was still read and judged.
    assert any(f.rule == "RES-001" and f.name == OUTSIDE for f in run.result.findings)


def test_throttling_is_retried_with_backoff(moto_url: str, drifted: dict) -> None:
    from botocore.exceptions import ClientError

    session = boto3.session.Session()
    refusals = {"left": 3}

    def throttle(model: Any, **_: Any) -> None:
        if refusals["left"]:
            refusals["left"] -= 1
            raise ClientError({"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, model.name)

    session.events.register("before-call.kms.GetKeyRotationStatus", throttle)
    waits: list[float] = []
    inv = inventory(endpoint_url=moto_url, progress=False, session=session, sleep=waits.append)
    assert inv.throttled == 3 and len(waits) == 3 and inv.problems == []
    key = next(r for r in inv.resources if r.name == drifted["key_id"])
    assert key.props["enableKeyRotation"] is False


def test_unreachable_endpoint_exits_2_with_one_line() -> None:
    result = CliRunner().invoke(app, ["audit", "--endpoint-url", "http://127.0.0.1:9"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot reach the AWS endpoint" in lines[0], result.stderr


def test_no_credentials_exits_2_with_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    result = CliRunner().invoke(app, ["audit", "--endpoint-url", "http://127.0.0.1:9"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no AWS credentials found" in lines[0], result.stderr


def test_evidence_records_the_audit_and_chains(moto_url: str, drifted: dict, tmp_path: Path) -> None:
    from policies.evidence import verify

    for _ in range(2):
        result = CliRunner().invoke(
            app,
            [
                "audit",
                "--endpoint-url",
                moto_url,
                "--against",
                drifted["export"],
                "--format",
                "json",
                "--evidence",
                str(tmp_path),
                "--fail-on",
                "none",
            ],
        )
        assert result.exit_code == 0, result.output
    records = sorted(tmp_path.glob("*-audit.json"))
    assert len(records) == 2
    record = json.loads(records[-1].read_text())
    assert {i["kind"] for i in record["inputs"]} == {"aws-account", "file"}
    assert record["verdicts"]["summary"]["drift"]["unmanaged"] == 3
    assert verify(tmp_path).intact


def test_the_audit_iam_policy_grants_exactly_the_calls_an_audit_makes(moto_url: str, drifted: dict) -> None:
    from policies.sources.live_aws import IAM_ACTIONS

    run = run_audit(endpoint_url=moto_url, progress=False)
    assert set(run.inventory.calls_by_operation) <= set(IAM_ACTIONS), "map the new calls in IAM_ACTIONS"
    policy = json.loads((Path(__file__).parents[1] / "controllers/deploy/iam-audit-policy.json").read_text())
    (statement,) = policy["Statement"]
    assert statement["Effect"] == "Allow" and all(
        ":Get" in a or ":List" in a or ":Describe" in a for a in statement["Action"]
    )
    assert set(statement["Action"]) == {a for a in IAM_ACTIONS.values() if a}


def test_a_waiver_names_a_drift_rule_like_any_other(moto_url: str, drifted: dict, tmp_path: Path) -> None:
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(
        "waivers:\n"
        "  - rule: DRIFT-001\n"
        f"    urn: 'urn:pulumi:live::*::{OUTSIDE}'\n"
        "    reason: export bucket owned by the analytics team's own stack\n"
        "    owner: platform@pushauction.com\n"
        "    expires: 2099-01-01\n"
    )
    run = run_audit(
        endpoint_url=moto_url, against=drifted["export"], progress=False, waivers_path=str(waivers)
    )
    outside = [f for f in run.result.findings if f.rule == "DRIFT-001" and f.name == OUTSIDE]
    assert [f.waived for f in outside] == [True]
    assert all(not f.waived for f in run.result.findings if f.rule == "DRIFT-001" and f.name != OUTSIDE)


def test_several_stack_exports_are_one_state(moto_url: str, drifted: dict, tmp_path: Path) -> None:
    """The ops team's own stack declares the debug role: with both exports it is managed, not drift."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws-cn:iam::{ACCOUNT}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    grant = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    ops = tmp_path / "ops-export.json"
    ops.write_text(
        json.dumps(
            export(
                [
                    {
                        "urn": "urn:pulumi:ops::debug::aws:iam/role:Role::debug-role",
                        "type": "aws:iam/role:Role",
                        "custom": True,
                        "inputs": {"name": "ops-debug", "assumeRolePolicy": json.dumps(trust)},
                    },
                    {
                        "urn": "urn:pulumi:ops::debug::aws:iam/rolePolicy:RolePolicy::debug-grant",
                        "type": "aws:iam/rolePolicy:RolePolicy",
                        "custom": True,
                        "inputs": {
                            "role": "ops-debug",
                            "name": "everything-in-s3",
                            "policy": json.dumps(grant),
                        },
                    },
                ]
            )
        )
    )
    result = CliRunner().invoke(
        app,
        [
            "audit",
            "--endpoint-url",
            moto_url,
            "--against",
            drifted["export"],
            "--against",
            str(ops),
            "--format",
            "json",
            "--fail-on",
            "none",
        ],
    )
    assert result.exit_code == 0, result.output
    drift = json.loads(result.stdout)["drift"]
    assert (drift["unmanaged"], drift["missing"], drift["differs"]) == (1, 0, 3)
    assert [i["name"] for i in drift["items"] if i["kind"] == "unmanaged"] == [OUTSIDE]


@pytest.mark.parametrize("suffix", ["md", "html"])
def test_the_report_shows_a_saved_audits_drift(
    moto_url: str, drifted: dict, tmp_path: Path, suffix: str
) -> None:
    saved = tmp_path / "audit.json"
    audit = CliRunner().invoke(
        app,
        [
            "audit",
            "--endpoint-url",
            moto_url,
            "--against",
            drifted["export"],
            "--format",
            "json",
            "--output",
            str(saved),
            "--fail-on",
            "none",
        ],
    )
    assert audit.exit_code == 0, audit.output
    out = tmp_path / f"report.{suffix}"
    report = CliRunner().invoke(app, ["report", str(saved), "--output", str(out)])
    assert report.exit_code in (0, 1), report.output
    text = out.read_text()
    assert "Drift from Pulumi&#39;s state" in text or "Drift from Pulumi's state" in text
    assert "3 unmanaged (DRIFT-001)" in text and OUTSIDE in text and "enableKeyRotation" in text


def test_an_answer_the_audit_cannot_understand_is_a_finding_not_a_crash(moto_url: str, drifted: dict) -> None:
    session = boto3.session.Session()

    def garble(parsed: dict, **_: Any) -> None:
        parsed["Table"] = "not a table description"

    session.events.register("after-call.dynamodb.DescribeTable", garble)
    run = run_audit(endpoint_url=moto_url, progress=False, session=session)
    (unread,) = [f for f in run.result.findings if f.rule == "LIVE-001"]
    assert unread.error and "could not read: an answer could not be understood" in unread.message
    assert any(f.rule == "RES-001" and f.name == OUTSIDE for f in run.result.findings)
