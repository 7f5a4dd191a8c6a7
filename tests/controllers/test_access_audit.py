"""AccessAuditPolicy: the log parser, principal matching, and the reconciler over moto."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto_estate import ACCOUNT, REGION, Estate, no_sleep

from controllers.access_audit import BOTH, WRITE, Resource, Trail, reconcile_access_audit, selector_coverage
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


def audit(estate: Estate, doc: dict[str, Any], *, dry_run: bool = False, hooks: tuple = ()):  # noqa: ANN201
    spec = parse_document(doc, source="t", index=1, settings=Settings()).spec
    clients = ClientFactory(endpoint_url=estate.url, retry=RetryPolicy(sleep=no_sleep), hooks=hooks)
    return reconcile_access_audit(spec, name="audit", clients=clients, now=datetime.now(UTC), dry_run=dry_run)


TABLE_ARN = f"arn:aws-cn:dynamodb:{REGION}:{ACCOUNT}:table/profiles"
FULL_SELECTORS = [
    {
        "ReadWriteType": "All",
        "DataResources": [
            {"Type": "AWS::S3::Object", "Values": ["arn:aws-cn:s3:::data-bucket/"]},
            {"Type": "AWS::DynamoDB::Table", "Values": [TABLE_ARN]},
        ],
    }
]


def cloudtrail(estate: Estate, region: str = REGION) -> Any:
    return (
        estate.cloudtrail
        if region == REGION
        else boto3.client("cloudtrail", **{**estate.kw, "region_name": region})
    )


def add_trail(
    estate: Estate,
    name: str = "data-events",
    *,
    basic: list[dict[str, Any]] | None = None,
    advanced: list[dict[str, Any]] | None = None,
    logging: bool = True,
    region: str = REGION,
    multi_region: bool = False,
) -> None:
    bucket = f"trail-logs-{region}"
    try:
        estate.bucket(bucket, region=region)
    except estate.s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    client = cloudtrail(estate, region)
    client.create_trail(Name=name, S3BucketName=bucket, IsMultiRegionTrail=multi_region)
    if advanced is not None:
        client.put_event_selectors(TrailName=name, AdvancedEventSelectors=advanced)
    else:
        client.put_event_selectors(TrailName=name, EventSelectors=FULL_SELECTORS if basic is None else basic)
    if logging:
        client.start_logging(Name=name)


def setup_estate(estate: Estate, *, audit_region: str = "cn-north-1", trail: bool = True) -> None:
    estate.bucket("data-bucket")
    estate.table("profiles")
    estate.table("profiles-archive")
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
        add_trail(estate)


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


SERVICE = "arn:aws-cn:sts::123456789012:assumed-role/uploads-service/s1"


def put_log(estate: Estate, *lines: str, key: str = "s3/2026-11-25-10-00-00-ABC") -> None:
    estate.s3.put_object(Bucket="audit-logs", Key=key, Body="\n".join(lines).encode())


def test_enforces_logging_and_log_retention_and_reports_unallowed_access(estate: Estate) -> None:
    setup_estate(estate)
    lines = [
        log_line(SERVICE, "users/u1/a.jpg"),
        log_line("arn:aws-cn:iam::123456789012:user/eve", "users/u2/b.jpg"),
        log_line("-", "users/u3/c.jpg"),
        log_line("arn:aws-cn:iam::123456789012:user/eve", "other", bucket="not-audited"),
        log_line("arn:aws-cn:iam::123456789012:user/old", "x", minutes_ago=60 * 24 * 30),  # outside lookback
    ]
    put_log(estate, *lines)

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

    # Once the log holds only allowed principals, the policy is in compliance and nothing changes any more.
    put_log(estate, log_line(SERVICE, "users/u1/a.jpg"))
    again = audit(estate, policy())
    assert again.compliant, again.all_findings()
    assert not [a for s in again.stores for a in s.actions]


def test_refuses_an_audit_bucket_in_another_region_and_reports_missing_trails(estate: Estate) -> None:
    setup_estate(estate, audit_region="cn-northwest-1", trail=False)
    result = audit(estate, policy())
    assert "LoggingEnabled" not in estate.s3.get_bucket_logging(Bucket="data-bucket")
    findings = " ".join(result.all_findings())
    assert "refusing to send access logs out of the region" in findings
    assert "no CloudTrail trail records S3 data events (reads and writes) of this bucket" in findings
    assert "no CloudTrail trail records DynamoDB data events (reads and writes) of this table" in findings
    assert "no CloudTrail trail logs in cn-north-1" in findings


def test_audit_mode_reports_without_changing(estate: Estate) -> None:
    setup_estate(estate)
    result = audit(estate, policy(mode="Audit"))
    assert "LoggingEnabled" not in estate.s3.get_bucket_logging(Bucket="data-bucket")
    rules = {r["ID"]: r for r in estate.s3.get_bucket_lifecycle_configuration(Bucket="audit-logs")["Rules"]}
    assert rules["short"]["Expiration"]["Days"] == 30
    assert not result.compliant
    assert any("kept less than 180 days" in f for f in result.all_findings())


# --- CloudTrail coverage ---------------------------------------------------------------------------


def coverage(result: Any) -> dict[str, list[str]]:
    """The CloudTrail findings and errors per data store."""
    return {
        s.store: [f for f in s.findings + s.errors if "CloudTrail" in f]
        for s in result.stores
        if not s.store.endswith("(audit)")
    }


def clean_estate(estate: Estate) -> None:
    """Everything compliant except the trail, which each test sets up."""
    setup_estate(estate, trail=False)
    put_log(estate, log_line(SERVICE, "users/u1/a.jpg"))


def test_a_trail_that_is_not_logging_gives_no_coverage(estate: Estate) -> None:
    clean_estate(estate)
    add_trail(estate, logging=False)

    stopped = audit(estate, policy())

    assert not stopped.compliant
    for findings in coverage(stopped).values():
        assert len(findings) == 1 and "trail data-events is not logging" in findings[0], findings

    estate.cloudtrail.start_logging(Name="data-events")
    logging = audit(estate, policy())
    assert logging.compliant, logging.all_findings() + logging.all_errors()

    estate.cloudtrail.stop_logging(Name="data-events")
    assert all("is not logging" in f[0] for f in coverage(audit(estate, policy())).values())


S3_ALL = {"Field": "resources.type", "Equals": ["AWS::S3::Object"]}
DDB_ALL = {"Field": "resources.type", "Equals": ["AWS::DynamoDB::Table"]}
DATA = {"Field": "eventCategory", "Equals": ["Data"]}


def arn(field: str = "resources.ARN", **ops: list[str]) -> dict[str, Any]:
    return {"Field": field, **ops}


def advanced(*selectors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"Name": f"sel{i}", "FieldSelectors": [DATA, *fields]} for i, fields in enumerate(selectors, 1)]


def basic(*resources: tuple[str, list[str]], rw: str = "All") -> dict[str, Any]:
    return {"ReadWriteType": rw, "DataResources": [{"Type": t, "Values": v} for t, v in resources]}


S3 = "AWS::S3::Object"
DDB = "AWS::DynamoDB::Table"
BUCKET_ARN = "arn:aws-cn:s3:::data-bucket/"
ARCHIVE_ARN = f"arn:aws-cn:dynamodb:{REGION}:{ACCOUNT}:table/profiles-archive"

#: name -> (basic or advanced selectors, what is missing for the bucket, for the table: "" when covered).
SELECTOR_CASES: dict[str, tuple[dict[str, Any], str, str]] = {
    # Basic event selectors.
    "basic: the bucket and the exact table": ({"basic": FULL_SELECTORS}, "", ""),
    "basic: all buckets and all tables": (
        {"basic": [basic((S3, ["arn:aws-cn:s3"]), (DDB, ["arn:aws-cn:dynamodb"]))]},
        "",
        "",
    ),
    "basic: another table whose name starts with ours": (
        {"basic": [basic((S3, [BUCKET_ARN]), (DDB, [ARCHIVE_ARN]))]},
        "",
        "no data-event selector for this table (its table selectors name only " + ARCHIVE_ARN,
    ),
    "basic: one prefix of the bucket": (
        {"basic": [basic((S3, [BUCKET_ARN + "users/"]), (DDB, [TABLE_ARN]))]},
        "event selector 1 logs only objects under prefix 'users/', not the whole bucket",
        "",
    ),
    "basic: another partition": (
        {"basic": [basic((S3, ["arn:aws:s3"]), (DDB, ["arn:aws:dynamodb"]))]},
        "no data-event selector for this bucket",
        "no data-event selector for this table",
    ),
    "basic: reads only": (
        {"basic": [basic((S3, [BUCKET_ARN]), (DDB, [TABLE_ARN]), rw="ReadOnly")]},
        "writes of this bucket: trail data-events: event selector 1 logs reads only (ReadWriteType ReadOnly)",
        "writes of this table",
    ),
    "basic: reads and writes in two selectors": (
        {
            "basic": [
                basic((S3, [BUCKET_ARN]), (DDB, [TABLE_ARN]), rw="ReadOnly"),
                basic((S3, [BUCKET_ARN]), (DDB, [TABLE_ARN]), rw="WriteOnly"),
            ]
        },
        "",
        "",
    ),
    # Advanced event selectors.
    "advanced: every object and every table": ({"advanced": advanced([S3_ALL], [DDB_ALL])}, "", ""),
    "advanced: the bucket and the exact table": (
        {"advanced": advanced([S3_ALL, arn(StartsWith=[BUCKET_ARN])], [DDB_ALL, arn(Equals=[TABLE_ARN])])},
        "",
        "",
    ),
    "advanced: narrowed to eventName=PutObject": (
        {
            "advanced": advanced(
                [S3_ALL, arn(StartsWith=[BUCKET_ARN]), arn("eventName", Equals=["PutObject"])],
                [DDB_ALL, arn("eventName", NotEquals=["GetItem"])],
            )
        },
        "advanced selector sel1 is narrowed to eventName=PutObject",
        "advanced selector sel2 is narrowed to eventName!=GetItem",
    ),
    "advanced: readOnly=true": (
        {
            "advanced": advanced(
                [S3_ALL, arn("readOnly", Equals=["true"])], [DDB_ALL, arn("readOnly", Equals=["false"])]
            )
        },
        "writes of this bucket: trail data-events: advanced selector sel1 logs reads only (readOnly=true)",
        "reads of this table: trail data-events: advanced selector sel2 logs writes only (readOnly=false)",
    ),
    "advanced: readOnly=true and readOnly=false in two selectors": (
        {
            "advanced": advanced(
                [S3_ALL, arn("readOnly", Equals=["true"])],
                [S3_ALL, arn("readOnly", Equals=["false"])],
                [DDB_ALL],
            )
        },
        "",
        "",
    ),
    "advanced: one prefix, and another table": (
        {
            "advanced": advanced(
                [S3_ALL, arn(StartsWith=[BUCKET_ARN + "users/"])], [DDB_ALL, arn(Equals=[ARCHIVE_ARN])]
            )
        },
        f"advanced selector sel1 logs only prefix 'users/' of the bucket (resources.ARN StartsWith {BUCKET_ARN}users/)",
        "no data-event selector for this table (its table selectors name only " + ARCHIVE_ARN,
    ),
    "advanced: exclusions of our table and bucket": (
        {
            "advanced": advanced(
                [S3_ALL, arn(NotStartsWith=["arn:aws-cn:s3:::data-"])],
                [DDB_ALL, arn(NotStartsWith=[TABLE_ARN])],
            )
        },
        "advanced selector sel1 excludes this bucket (resources.ARN NotStartsWith arn:aws-cn:s3:::data-)",
        f"advanced selector sel2 excludes this table (resources.ARN NotStartsWith {TABLE_ARN})",
    ),
    "advanced: exclusions of other resources": (
        {
            "advanced": advanced(
                [S3_ALL, arn(NotStartsWith=["arn:aws-cn:s3:::data-bucket-2/"], NotEquals=[BUCKET_ARN[:-1]])],
                [DDB_ALL, arn(NotStartsWith=[ARCHIVE_ARN], NotEndsWith=["-archive"])],
            )
        },
        "",
        "",
    ),
    "advanced: part of the bucket excluded, only keys with a suffix": (
        {
            "advanced": advanced(
                [S3_ALL, arn(NotEndsWith=[".tmp"])],
                [DDB_ALL, arn(EndsWith=["/profiles"])],
                [S3_ALL, arn(EndsWith=[".jpg"])],
            )
        },
        "excludes keys ending in '.tmp' of the bucket (resources.ARN NotEndsWith .tmp)",
        "",
    ),
    "advanced: management events only": (
        {
            "advanced": [
                {"Name": "mgmt", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}
            ]
        },
        "no data-event selector for this bucket",
        "no data-event selector for this table",
    ),
}


@pytest.mark.parametrize("case", list(SELECTOR_CASES))
def test_selectors_must_cover_the_whole_bucket_and_the_exact_table_for_reads_and_writes(
    estate: Estate, case: str
) -> None:
    selectors, bucket_gap, table_gap = SELECTOR_CASES[case]
    clean_estate(estate)
    add_trail(estate, **selectors)

    result = audit(estate, policy())

    found = coverage(result)
    for store, gap in (("s3://data-bucket", bucket_gap), ("dynamodb:profiles", table_gap)):
        if gap:
            assert len(found[store]) == 1 and gap in found[store][0], (store, found[store])
        else:
            assert found[store] == [], (store, found[store])
    assert result.compliant is not (bucket_gap or table_gap), result.all_findings()
    assert not result.all_errors()


def test_the_trail_must_log_in_the_stores_region(estate: Estate) -> None:
    clean_estate(estate)
    add_trail(estate, "elsewhere", region="cn-northwest-1")

    single = audit(estate, policy())

    for findings in coverage(single).values():
        assert len(findings) == 1
        assert "trail elsewhere is a single-region trail of cn-northwest-1, not cn-north-1" in findings[0]
    assert not single.compliant

    add_trail(estate, "everywhere", region="cn-northwest-1", multi_region=True)
    multi = audit(estate, policy())
    assert multi.compliant, multi.all_findings() + multi.all_errors()


def test_a_trail_whose_delivery_fails_gives_no_coverage(estate: Estate) -> None:
    clean_estate(estate)
    add_trail(estate)

    def delivery_error(parsed: dict[str, Any], **_: Any) -> None:
        parsed["LatestDeliveryError"] = "AccessDenied"

    failing = audit(estate, policy(), hooks=(("after-call.cloudtrail.GetTrailStatus", delivery_error),))

    for findings in coverage(failing).values():
        assert (
            len(findings) == 1 and "trail data-events fails to deliver its logs (AccessDenied)" in findings[0]
        )
    assert audit(estate, policy()).compliant


def test_an_unreadable_trail_is_an_error_unless_another_trail_covers(estate: Estate) -> None:
    clean_estate(estate)
    add_trail(estate, "unreadable")
    denied = (("before-send.cloudtrail.GetEventSelectors", deny_for("unreadable")),)

    alone = audit(estate, policy(), hooks=denied)

    assert not alone.compliant
    for store in ("s3://data-bucket", "dynamodb:profiles"):
        errors = [e for e in alone.all_errors() if e.startswith(store)]
        assert len(errors) == 1 and "trail unreadable could not be read: AccessDeniedException" in errors[0]

    add_trail(estate, "readable")
    covered = audit(estate, policy(), hooks=denied)
    assert covered.compliant, covered.all_findings() + covered.all_errors()


def deny_for(trail: str) -> Any:
    from botocore.awsrequest import AWSResponse

    class Raw:
        def stream(self, **_: Any) -> Any:
            yield b'{"__type": "AccessDeniedException", "message": "injected"}'

    def handler(request: Any, **_: Any) -> AWSResponse | None:
        if f"trail/{trail}" not in request.body.decode():
            return None
        return AWSResponse(request.url, 400, {"Content-Type": "application/x-amz-json-1.1"}, Raw())

    return handler


# --- access-log delivery ---------------------------------------------------------------------------


def test_an_empty_log_bucket_is_no_logs_delivered_not_no_unauthorised_access(estate: Estate) -> None:
    setup_estate(estate)

    first = audit(estate, policy())  # turns logging on; nothing was logged before

    store = next(s for s in first.stores if s.store == "s3://data-bucket")
    assert not first.compliant and store.examined == 0
    assert len(store.findings) == 1 and store.findings[0].startswith("no access logs delivered")
    assert "access logging was off until this run" in store.findings[0]

    empty = audit(estate, policy())  # logging on, still nothing delivered
    [finding] = [f for s in empty.stores for f in s.findings]
    assert "no access logs delivered: no record for this bucket in s3://audit-logs/s3/" in finding
    assert "off until" not in finding and not empty.compliant

    # Records only from before the lookback period, or only of other buckets: still nothing delivered.
    put_log(
        estate,
        log_line(SERVICE, "a", minutes_ago=60 * 24 * 8),
        log_line(SERVICE, "a", bucket="other-bucket"),
    )
    assert not audit(estate, policy()).compliant

    put_log(estate, log_line(SERVICE, "a"), key="s3/2026-11-26-10-00-00-DEF")
    delivered = audit(estate, policy())
    assert delivered.compliant, delivered.all_findings()


def test_a_dry_run_says_logging_is_off(estate: Estate) -> None:
    setup_estate(estate)
    result = audit(estate, policy(), dry_run=True)
    store = next(s for s in result.stores if s.store == "s3://data-bucket")
    assert any("no access logs delivered" in f and "access logging is off" in f for f in store.findings)
    assert "LoggingEnabled" not in estate.s3.get_bucket_logging(Bucket="data-bucket")


BUCKET = Resource("AWS::S3::Object", "aws-cn", REGION, BUCKET_ARN, "bucket")


@pytest.mark.parametrize(
    ("fields", "modes", "why"),
    [
        ([S3_ALL, arn(StartsWith=[BUCKET_ARN + "users/", BUCKET_ARN])], BOTH, ""),  # values are ORed
        ([S3_ALL, arn(StartsWith=[BUCKET_ARN]), arn(StartsWith=[BUCKET_ARN + "u/"])], set(), "prefix 'u/'"),
        (
            [S3_ALL, arn(StartsWith=[BUCKET_ARN], NotStartsWith=[BUCKET_ARN + "tmp/"])],
            set(),
            "excludes prefix 'tmp/' of the bucket (resources.ARN NotStartsWith",
        ),
        ([S3_ALL, arn(Equals=[BUCKET_ARN + "a.jpg"])], set(), "logs only object 'a.jpg' of the bucket"),
        ([S3_ALL, arn(NotEquals=[BUCKET_ARN + "a.jpg"])], set(), "excludes object 'a.jpg' of the bucket"),
        (
            [S3_ALL, arn(StartsWith=["arn:aws-cn:s3:::other/"])],
            set(),
            "selectors name only arn:aws-cn:s3:::other/",
        ),
        ([S3_ALL, arn("eventSource", Equals=["s3.amazonaws.com"])], BOTH, ""),
        ([S3_ALL, arn("eventSource", Equals=["dynamodb.amazonaws.com"])], set(), "eventSource=dynamodb"),
        (
            [
                S3_ALL,
                arn("userIdentity.arn", NotStartsWith=["arn:aws-cn:sts::123456789012:assumed-role/etl/"]),
            ],
            set(),
            "is narrowed to userIdentity.arn NotStartsWith arn:aws-cn:sts",
        ),
        ([S3_ALL, arn("readOnly", Equals=["true", "false"])], BOTH, ""),
        ([DDB_ALL], set(), "no data-event selector for this bucket"),
    ],
)
def test_advanced_selector_evaluation(fields: list[dict[str, Any]], modes: set[str], why: str) -> None:
    trail = Trail("t1", "arn", REGION, False, logging=True, advanced=advanced(fields))
    got, reasons = selector_coverage(trail, BUCKET)
    assert got == modes
    assert (why in " ".join(reasons)) if why else reasons == []


def test_basic_selector_evaluation() -> None:
    def modes(*selectors: dict[str, Any]) -> frozenset[str]:
        return selector_coverage(Trail("t1", "arn", REGION, False, basic=list(selectors)), BUCKET)[0]

    assert modes(basic((S3, ["arn:aws-cn:s3:::data-bucket"]))) == BOTH
    assert modes(basic((S3, ["arn:aws-cn:s3:::"]))) == BOTH
    assert modes(basic((S3, [BUCKET_ARN]), rw="WriteOnly")) == {WRITE}
    assert modes(basic((S3, ["arn:aws-cn:s3:::data-bucket-2/"]))) == set()
    assert modes(basic((DDB, ["arn:aws-cn:dynamodb"]))) == set()
    assert modes({"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": []}) == set()
