"""Property: for random object sets and random policies, a sweep leaves exactly the oracle's survivors."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from moto_estate import Estate, no_sleep, reset_moto
from oracle import (
    ObjectSet,
    RuleSpec,
    now_utc,
    object_sets,
    oracle_survivors,
    policy_doc,
    rule_sets,
    seed,
    settled,
)

from controllers.aws import ClientFactory, RetryPolicy
from controllers.documents import parse_document
from controllers.retention import reconcile_retention
from policies.settings import Settings

BUCKET = "sweep-bucket"
PROPERTY = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def spec_of(doc: dict):  # noqa: ANN201
    return parse_document(doc, source="test", index=1, settings=Settings()).spec


def sweep(estate: Estate, rules: list[RuleSpec], *, dry_run: bool = False, **spec: object):  # noqa: ANN201
    clients = ClientFactory(endpoint_url=estate.url, retry=RetryPolicy(sleep=no_sleep))
    return reconcile_retention(
        spec_of(policy_doc(BUCKET, rules, **spec)),
        name="sweep",
        clients=clients,
        now=now_utc(),
        dry_run=dry_run,
    )


@PROPERTY
@given(objects=object_sets(), rules=rule_sets())
def test_survivors_equal_the_oracle_and_a_second_run_is_a_no_op(
    moto_url: str, objects: ObjectSet, rules: list[RuleSpec]
) -> None:
    reset_moto(moto_url)
    estate = Estate(moto_url)
    seed(estate, BUCKET, objects, now_utc())
    before = estate.versions(BUCKET)
    expected = oracle_survivors(objects, rules)

    result = sweep(estate, rules)

    survivors = estate.versions(BUCKET)
    assert survivors == expected, (survivors - expected, expected - survivors)
    assert result.total("deleted") == len(before) - len(expected)
    assert not result.all_errors()
    again = sweep(estate, rules)
    assert again.total("deleted") == 0 and settled(again, objects, rules), again.all_findings()
    assert estate.versions(BUCKET) == expected


@settings(max_examples=15, deadline=None)
@given(objects=object_sets(), rules=rule_sets())
def test_dry_run_and_audit_mode_delete_nothing_and_report_the_plan(
    moto_url: str, objects: ObjectSet, rules: list[RuleSpec]
) -> None:
    reset_moto(moto_url)
    estate = Estate(moto_url)
    seed(estate, BUCKET, objects, now_utc())
    before = estate.versions(BUCKET)
    planned = len(before) - len(oracle_survivors(objects, rules))

    dry = sweep(estate, rules, dry_run=True)
    audit = sweep(estate, rules, mode="Audit")

    assert estate.versions(BUCKET) == before
    assert dry.total("pending") == audit.total("pending") == planned
    assert dry.total("deleted") == audit.total("deleted") == 0
    try:
        estate.s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)
        raise AssertionError("a dry run must not write lifecycle rules")
    except estate.s3.exceptions.ClientError as exc:
        assert exc.response["Error"]["Code"] == "NoSuchLifecycleConfiguration"
