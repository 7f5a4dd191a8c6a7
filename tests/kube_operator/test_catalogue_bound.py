"""The operator holds RetentionPolicies to the catalogue: a rule longer than a store's data category
allows (declared, or read from the bucket's tag) is `InvalidSpec` and nothing is done; what the
policy does not cover is a finding in `status`."""

from __future__ import annotations

from typing import Any

from moto_estate import Estate

from .conftest import wait_for
from .kube import Kube, condition
from .test_operator import NS, retention, seed_crash_dumps, with_condition


def test_a_rule_longer_than_the_tagged_category_allows_is_invalid_spec(
    kube: Kube, estate: Estate, start_operator: Any
) -> None:
    seed_crash_dumps(estate, "pa-cookies", {"crash/a.dmp": 40})
    estate.s3.put_bucket_tagging(
        Bucket="pa-cookies", Tagging={"TagSet": [{"Key": "data-category", "Value": "cookies"}]}
    )
    start_operator()
    kube.create(NS, retention("cookie-retention", "pa-cookies", max_age=90))
    obj = wait_for(with_condition(kube, "RetentionPolicy", "cookie-retention", "Ready", reason="InvalidSpec"))
    message = condition(obj, "Ready")["message"]
    assert (
        message.startswith("spec.rules[0].maxAgeDays: ") and "cookies" in message and "at most 30" in message
    )
    assert condition(obj, "Compliant")["status"] == "False"
    assert len(estate.versions("pa-cookies")) == 1  # nothing deleted
    try:
        estate.s3.get_bucket_lifecycle_configuration(Bucket="pa-cookies")
        raise AssertionError("an invalid policy must not write lifecycle rules")
    except estate.s3.exceptions.ClientError as exc:
        assert exc.response["Error"]["Code"] == "NoSuchLifecycleConfiguration"


def test_objects_no_rule_matches_are_findings_in_status(
    kube: Kube, estate: Estate, start_operator: Any
) -> None:
    seed_crash_dumps(estate, "pa-crash", {"crash/old.dmp": 40, "keep/old.txt": 400})
    start_operator()
    kube.create(NS, retention("crash-retention", "pa-crash"))
    obj = wait_for(with_condition(kube, "RetentionPolicy", "crash-retention", "Compliant", reason="Findings"))
    findings = obj["status"]["findings"]
    assert len(findings) == 1 and "match no rule" in findings[0] and "keep/old.txt" in findings[0]
    assert sorted(k for k, _ in estate.versions("pa-crash")) == ["keep/old.txt"]  # reported, never deleted
