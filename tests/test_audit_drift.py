"""Drift of the real program: infra/ run under Pulumi's mocks, its state deployed on moto, then changed.

The stack export is what Pulumi holds after `pulumi up` of infra/ (the mocks' registrations, with
the ids AWS assigned written back); the account is deployed from it. Untouched, the audit against the
export reports no drift at all; after three changes outside Pulumi it reports exactly them.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from audit_estate import Deployer, export
from test_audit import _reset, moto_url  # noqa: F401 - the module's moto server fixture

from policies.audit import run_audit


@pytest.fixture(scope="module")
def infra_export(moto_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:  # noqa: F811
    from infra.testing import MockCloud, stack_config

    cloud = MockCloud.install(stack_config("prod-cn-north-1"))
    from infra import program

    cloud.deploy(program.run)
    _reset(moto_url)
    states = Deployer(moto_url).deploy(cloud.states())
    path = tmp_path_factory.mktemp("infra") / "prod-cn-north-1.json"
    path.write_text(json.dumps(export(states)))
    return str(path)


def _client(url: str, service: str) -> Any:
    return boto3.client(service, endpoint_url=url, region_name="cn-north-1")


def test_infra_state_against_the_account_it_deployed(moto_url: str, infra_export: str) -> None:  # noqa: F811
    run = run_audit(endpoint_url=moto_url, against=infra_export, progress=False)
    assert run.result.findings == [], "\n".join(
        f"{f.rule} {f.name}: {f.message}" for f in run.result.findings
    )
    drift = run.result.drift
    assert (drift["unmanaged"], drift["missing"], drift["differs"]) == (0, 0, 0)
    assert drift["matched"] >= 30


def test_infra_drift_is_exactly_what_was_changed(moto_url: str, infra_export: str) -> None:  # noqa: F811
    state = json.loads(open(infra_export).read())["deployment"]["resources"]
    table = next(s for s in state if s["type"] == "aws:dynamodb/table:Table")
    lifecycle = next(s for s in state if s["urn"].endswith("::user-uploads-lifecycle"))
    rules = lifecycle["inputs"]["rules"]
    _client(moto_url, "dynamodb").delete_table(TableName=table["inputs"]["name"])
    _client(moto_url, "logs").create_log_group(logGroupName="/manual/debug")
    longer = json.loads(json.dumps(rules))
    longer[0]["expiration"]["days"] = 3650
    from audit_estate import aws_shape

    _client(moto_url, "s3").put_bucket_lifecycle_configuration(
        Bucket=lifecycle["inputs"]["bucket"], LifecycleConfiguration={"Rules": aws_shape(longer)}
    )
    run = run_audit(endpoint_url=moto_url, against=infra_export, progress=False)
    drift = {(f.rule, f.name) for f in run.result.findings if f.rule.startswith("DRIFT-")}
    assert drift == {
        ("DRIFT-001", "/manual/debug"),
        ("DRIFT-002", table["urn"].rsplit("::", 1)[-1]),
        ("DRIFT-003", "user-uploads"),
    }
    item = next(i for i in run.result.drift["items"] if i["rule"] == "DRIFT-003")
    assert set(item["differences"]) == {"lifecycle"}
    assert "3650" in json.dumps(item["differences"]["lifecycle"]["account"])
    # The rules see the same change: 3650 days is past the category's maximum retention.
    assert any(f.rule == "RET-001" and f.name == lifecycle["inputs"]["bucket"] for f in run.result.findings)
