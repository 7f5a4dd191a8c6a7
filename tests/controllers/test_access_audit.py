"""AccessAuditPolicy: the log parser, principal matching, and the reconciler over moto."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moto_estate import Estate, no_sleep

from controllers.access_audit import reconcile_access_audit
from controllers.access_log import AccessRecord, format_record, parse_log, parse_record, principal_allowed
from controllers.aws import ClientFactory, RetryPolicy
from controllers.documents import parse_document
from policies.settings import Settings

#: The example record from the S3 server access log documentation (LogFormat.html), unchanged.
AWS_DOC_RECORD = (
    "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be DOC-EXAMPLE-BUCKET1 "
    "[06/Feb/2019:00:00:38 +0000] 192.0.2.3 79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be "
    '3E57427F3EXAMPLE REST.GET.VERSIONING - "GET /DOC-EXAMPLE-BUCKET1?versioning HTTP/1.1" 200 - 113 - 7 - "-" '
    '"S3Console/0.4" - s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3/eTPFvsiP/XV/VLi31234= SigV4 '
    "ECDHE-RSA-AES128-GCM-SHA256 AuthHeader DOC-EXAMPLE-BUCKET1.s3.us-west-1.amazonaws.com TLSV1.2 "
    "arn:aws:s3:us-west-1:123456789012:accesspoint/example-AP Yes"
)
ROLE = "arn:aws-cn:iam::123456789012:role/app/uploads-service"


def test_parses_the_documented_record() -> None:
    record = parse_record(AWS_DOC_RECORD)
    assert record.bucket == "DOC-EXAMPLE-BUCKET1"
    assert record.time == datetime(2019, 2, 6, 0, 0, 38, tzinfo=UTC)
    assert record.operation == "REST.GET.VERSIONING" and record.key == "-"
    assert record.request_uri == "GET /DOC-EXAMPLE-BUCKET1?versioning HTTP/1.1" and record.status == "200"


def test_round_trip_decodes_keys_and_counts_malformed_lines() -> None:
    record = AccessRecord(
        "owner", "b", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "10.0.0.1",
        "arn:aws-cn:iam::123456789012:user/eve", "REQ1", "REST.GET.OBJECT", "users/u 1/a+b.jpg",
        "GET /b/users/u%201/a%2Bb.jpg HTTP/1.1", "200",
    )  # fmt: skip
    records, bad = parse_log(format_record(record) + "\n\nnot a log line\n" + AWS_DOC_RECORD + "\n")
    assert records[0] == record and bad == 1 and len(records) == 2


@pytest.mark.parametrize(
    ("requester", "allowed"),
    [
        (ROLE, True),
        ("arn:aws-cn:sts::123456789012:assumed-role/uploads-service/i-0abc", True),
        ("arn:aws-cn:sts::999999999999:assumed-role/uploads-service/i-0abc", False),
        ("arn:aws-cn:sts::123456789012:assumed-role/other/i-0abc", False),
        ("arn:aws-cn:iam::123456789012:user/eve", False),
        ("arn:aws-cn:iam::555555555555:user/auditor", True),  # account root allows the account
        ("arn:aws:iam::555555555555:user/auditor", False),  # ...in its own partition only
        ("-", False),
        ("79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be", False),
    ],
)
def test_principal_matching(requester: str, allowed: bool) -> None:
    assert principal_allowed(requester, [ROLE, "arn:aws-cn:iam::555555555555:root"]) is allowed


def policy(**over: Any) -> dict[str, Any]:
    spec = {
        "dataStores": [
            {"s3": {"bucket": "data-bucket", "region": "cn-north-1"}},
            {"dynamodb": {"table": "profiles", "region": "cn-north-1"}},
        ],
        "auditLog": {"bucket": "audit-logs", "prefix": "s3/", "minRetentionDays": 180},
        "allowedPrincipals": [ROLE],
        **over,
    }
    return {
        "apiVersion": "residency.pushauction.com/v1alpha1",
        "kind": "AccessAuditPolicy",
        "metadata": {"name": "audit"},
        "spec": spec,
    }


def audit(estate: Estate, doc: dict[str, Any], *, dry_run: bool = False):  # noqa: ANN201
    spec = parse_document(doc, source="t", index=1, settings=Settings()).spec
    clients = ClientFactory(endpoint_url=estate.url, retry=RetryPolicy(sleep=no_sleep))
    return reconcile_access_audit(spec, name="audit", clients=clients, now=datetime.now(UTC), dry_run=dry_run)


def setup_estate(estate: Estate, *, audit_region: str = "cn-north-1", trail: bool = True) -> None:
    estate.bucket("data-bucket")
    estate.bucket("audit-logs", region=audit_region)
    estate.s3.put_bucket_acl(
        Bucket="audit-logs",
        GrantWrite="uri=http://acs.amazonaws.com/groups/s3/LogDelivery",
        GrantReadACP="uri=http://acs.amazonaws.com/groups/s3/LogDelivery",
    )
    estate.s3.put_bucket_lifecycle_configuration(
        Bucket="audit-logs",
        LifecycleConfiguration={
            "Rules": [
                {"ID": "short", "Filter": {"Prefix": "s3/"}, "Status": "Enabled", "Expiration": {"Days": 30}},
                {"ID": "other", "Filter": {"Prefix": "tmp/"}, "Status": "Enabled", "Expiration": {"Days": 1}},
            ]
        },
    )
    if trail:
        estate.bucket("trail-logs")
        estate.cloudtrail.create_trail(Name="data-events", S3BucketName="trail-logs")
        estate.cloudtrail.put_event_selectors(
            TrailName="data-events",
            EventSelectors=[
                {
                    "ReadWriteType": "All",
                    "DataResources": [
                        {"Type": "AWS::S3::Object", "Values": ["arn:aws-cn:s3:::data-bucket/"]},
                        {
                            "Type": "AWS::DynamoDB::Table",
                            "Values": ["arn:aws-cn:dynamodb:cn-north-1:123456789012:table/profiles"],
                        },
                    ],
                }
            ],
        )


def log_line(requester: str, key: str, minutes_ago: int = 5, bucket: str = "data-bucket") -> str:
    when = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=minutes_ago)
    return format_record(
        AccessRecord(
            "owner",
            bucket,
            when,
            "10.1.2.3",
            requester,
            "R",
            "REST.GET.OBJECT",
            key,
            f"GET /{key} HTTP/1.1",
            "200",
        )
    )


def test_enforces_logging_and_log_retention_and_reports_unallowed_access(estate: Estate) -> None:
    setup_estate(estate)
    lines = [
        log_line("arn:aws-cn:sts::123456789012:assumed-role/uploads-service/s1", "users/u1/a.jpg"),
        log_line("arn:aws-cn:iam::123456789012:user/eve", "users/u2/b.jpg"),
        log_line("-", "users/u3/c.jpg"),
        log_line("arn:aws-cn:iam::123456789012:user/eve", "other", bucket="not-audited"),
        log_line("arn:aws-cn:iam::123456789012:user/old", "x", minutes_ago=60 * 24 * 30),  # outside lookback
    ]
    estate.s3.put_object(
        Bucket="audit-logs", Key="s3/2026-11-25-10-00-00-ABC", Body="\n".join(lines).encode()
    )

    result = audit(estate, policy())

    logging = estate.s3.get_bucket_logging(Bucket="data-bucket")["LoggingEnabled"]
    assert logging == {"TargetBucket": "audit-logs", "TargetPrefix": "s3/"}
    rules = {r["ID"]: r for r in estate.s3.get_bucket_lifecycle_configuration(Bucket="audit-logs")["Rules"]}
    assert rules["short"]["Expiration"]["Days"] == 180 and rules["other"]["Expiration"]["Days"] == 1
    who = sorted((d["requester"], d["key"]) for d in result.details)
    assert who == [("-", "users/u3/c.jpg"), ("arn:aws-cn:iam::123456789012:user/eve", "users/u2/b.jpg")]
    assert all(d["operation"] == "REST.GET.OBJECT" and d["time"] for d in result.details)
    assert not result.compliant and not result.all_errors()
    assert not any("CloudTrail" in f for f in result.all_findings())

    # Once the log is clean, the policy is in compliance and nothing changes any more.
    estate.s3.delete_object(Bucket="audit-logs", Key="s3/2026-11-25-10-00-00-ABC")
    again = audit(estate, policy())
    assert again.compliant, again.all_findings()
    assert not [a for s in again.stores for a in s.actions]


def test_refuses_an_audit_bucket_in_another_region_and_reports_missing_trails(estate: Estate) -> None:
    setup_estate(estate, audit_region="cn-northwest-1", trail=False)
    result = audit(estate, policy())
    assert "LoggingEnabled" not in estate.s3.get_bucket_logging(Bucket="data-bucket")
    findings = " ".join(result.all_findings())
    assert "refusing to send access logs out of the region" in findings
    assert "no CloudTrail trail records S3 data events" in findings
    assert "no CloudTrail trail records DynamoDB data events" in findings


def test_audit_mode_reports_without_changing(estate: Estate) -> None:
    setup_estate(estate)
    result = audit(estate, policy(mode="Audit"))
    assert "LoggingEnabled" not in estate.s3.get_bucket_logging(Bucket="data-bucket")
    rules = {r["ID"]: r for r in estate.s3.get_bucket_lifecycle_configuration(Bucket="audit-logs")["Rules"]}
    assert rules["short"]["Expiration"]["Days"] == 30
    assert not result.compliant
    assert any("kept less than 180 days" in f for f in result.all_findings())
