"""RET-001..003: personal data expires within its category's bounds, old versions included."""

from __future__ import annotations

import pytest
from builders import messages, res, urn
from honesty import check, evaluate
from paths import PUBLIC_FIXTURES

from policies.catalog import default_catalog
from policies.registry import all_rules
from policies.rules.retention import suggested_log_retention
from policies.sources import load_stack

U = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

BUCKET_V6 = "aws:s3/bucketV2:BucketV2"
BUCKET = "aws:s3/bucket:Bucket"  # v7 bucket, or the legacy inline v6 bucket
LIFECYCLE_V6 = "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2"
LIFECYCLE_V7 = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
VERSIONING_V6 = "aws:s3/bucketVersioningV2:BucketVersioningV2"
VERSIONING_V7 = "aws:s3/bucketVersioning:BucketVersioning"
LOCK_V6 = "aws:s3/bucketObjectLockConfigurationV2:BucketObjectLockConfigurationV2"
LOGGING_V6 = "aws:s3/bucketLoggingV2:BucketLoggingV2"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
TABLE = "aws:dynamodb/table:Table"

UPLOADS = {"data-category": "user-uploads"}  # max 365 days
SERVER_LOGS = {"data-category": "server-logs"}  # min 180, max 365 days
NON_PERSONAL = {"data-category": "non-personal"}


def bucket(name="uploads", tags=UPLOADS, type_=BUCKET_V6, **props):
    return res(type_, name, {"bucket": name, "tags": tags, **props})


def side_rule(days=None, *, noncurrent=None, rule_id="expire", status="Enabled", prefix="", **extra):
    rule = {"id": rule_id, "status": status, "filter": {"prefix": prefix}, **extra}
    if days is not None:
        rule["expiration"] = {"days": days}
    if noncurrent is not None:
        rule["noncurrentVersionExpiration"] = {"noncurrentDays": noncurrent}
    return rule


def lifecycle(*rules, name="uploads", type_=LIFECYCLE_V6):
    return res(type_, name, {"bucket": name, "rules": list(rules)})


def versioning(name="uploads", status="Enabled", type_=VERSIONING_V6):
    return res(type_, name, {"bucket": name, "versioningConfiguration": {"status": status}})


def one(result):
    msgs = messages(result)
    assert len(msgs) == 1, msgs
    return msgs[0]


# -- RET-001 ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "resources",
    [
        pytest.param([bucket(), lifecycle(side_rule(30))], id="v6-side-V2"),
        pytest.param(
            [bucket(type_=BUCKET), lifecycle(side_rule(365), type_=LIFECYCLE_V7)], id="v7-side-at-maximum"
        ),
        pytest.param(
            [
                bucket(type_=BUCKET),
                lifecycle(
                    {"id": "all", "status": "Enabled", "expiration": [{"days": 30}]}, type_=LIFECYCLE_V7
                ),
            ],
            id="expiration-as-one-element-list-no-filter",
        ),
        pytest.param(
            [
                bucket(
                    type_=BUCKET, lifecycleRules=[{"enabled": True, "prefix": "", "expiration": {"days": 30}}]
                )
            ],
            id="legacy-inline",
        ),
        pytest.param(
            [bucket(lifecycleRules=[{"id": "all", "enabled": True, "expirations": [{"days": 30}]}])],
            id="v6-BucketV2-inline-plural",
        ),
        pytest.param(
            [bucket(), lifecycle(side_rule(30, rule_id="all"), side_rule(7, rule_id="tmp", prefix="tmp/"))],
            id="extra-prefix-rule-shorter",
        ),
        pytest.param([bucket(tags=SERVER_LOGS), lifecycle(side_rule(365))], id="server-logs-within-bounds"),
        pytest.param([bucket(tags=NON_PERSONAL)], id="non-personal"),
        pytest.param(
            [bucket(), lifecycle(side_rule(30), side_rule(9999, rule_id="off", status="Disabled"))],
            id="disabled-rule-ignored",
        ),
    ],
)
def test_ret001_passes(resources):
    assert messages(check("RET-001", *resources)) == []


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        pytest.param(
            [bucket()],
            "BucketV2 'uploads' has no lifecycle rule, so the personal data it holds (category 'user-uploads') is "
            "kept forever: add a lifecycle rule that expires current versions after at most 365 days",
            id="no-lifecycle",
        ),
        pytest.param(
            [bucket(), lifecycle(side_rule(400, rule_id="year"))],
            "BucketV2 'uploads': lifecycle rule 'year' in BucketLifecycleConfigurationV2 'uploads' expires objects "
            "after 400 days, longer than the 365-day maximum for category 'user-uploads': lower it to 365 days or less",
            id="too-long-v6",
        ),
        pytest.param(
            [bucket(type_=BUCKET), lifecycle(side_rule(400, rule_id="year"), type_=LIFECYCLE_V7)],
            "expires objects after 400 days, longer than the 365-day maximum",
            id="too-long-v7",
        ),
        pytest.param(
            [
                bucket(
                    type_=BUCKET, lifecycleRules=[{"id": "old", "enabled": True, "expiration": {"days": 500}}]
                )
            ],
            "lifecycle rule 'old' expires objects after 500 days",
            id="too-long-legacy-inline",
        ),
        pytest.param(
            [bucket(), lifecycle(side_rule(30, prefix="tmp/"))],
            "no enabled lifecycle rule with an empty filter expires current versions within 365 days",
            id="prefix-only",
        ),
        pytest.param(
            [bucket(), lifecycle(side_rule(30, status="Disabled"))],
            "no enabled lifecycle rule with an empty filter expires current versions within 365 days",
            id="disabled",
        ),
        pytest.param(
            [bucket(), lifecycle({**side_rule(30), "filter": {"tag": {"key": "tmp", "value": "1"}}})],
            "no enabled lifecycle rule with an empty filter expires current versions",
            id="tag-filter",
        ),
        pytest.param(
            [
                bucket(),
                lifecycle(
                    {**side_rule(30), "filter": {"and": {"prefix": "", "objectSizeGreaterThan": 1024}}}
                ),
            ],
            "no enabled lifecycle rule with an empty filter expires current versions",
            id="size-filter",
        ),
        pytest.param(
            [
                bucket(
                    type_=BUCKET,
                    lifecycleRules=[{"enabled": True, "tags": {"tmp": "1"}, "expiration": {"days": 30}}],
                )
            ],
            "no enabled lifecycle rule with an empty filter expires current versions",
            id="legacy-inline-tag-filter",
        ),
        pytest.param(
            [bucket(), lifecycle({"id": "once", "status": "Enabled", "expiration": {"date": "2030-01-01"}})],
            "lifecycle rule 'once' in BucketLifecycleConfigurationV2 'uploads' expires objects on a fixed date "
            "(2030-01-01), so objects written later are kept forever: expire them by age, after at most 365 days",
            id="date-only",
        ),
        pytest.param(
            [bucket(tags=SERVER_LOGS), lifecycle(side_rule(30))],
            "deletes objects after 30 days, before the 180-day minimum for category 'server-logs': keep them at "
            "least 180 days",
            id="server-logs-below-minimum",
        ),
        pytest.param(
            [bucket(tags={}), lifecycle(side_rule(60))],
            "expires objects after 60 days, longer than the 30-day maximum for category 'unclassified'",
            id="untagged-is-fail-safe-30-days",
        ),
    ],
)
def test_ret001_fails(resources, expected):
    result = check("RET-001", *resources)
    assert expected in one(result)
    assert result.findings[0].severity.value == "medium"


def test_ret001_untagged_access_log_bucket_takes_the_audit_log_bounds():
    logs = bucket("access-logs", tags={})
    resources = [
        bucket(),
        lifecycle(side_rule(30)),
        logs,
        lifecycle(side_rule(365), name="access-logs"),
        res(LOGGING_V6, "uploads", {"bucket": "uploads", "targetBucket": "access-logs"}),
    ]
    assert messages(check("RET-001", *resources)) == []
    short = [*resources[:3], lifecycle(side_rule(30), name="access-logs"), resources[4]]
    [msg] = messages(check("RET-001", *short), urn(BUCKET_V6, "access-logs"))
    assert "before the 180-day minimum for category 'audit-logs'" in msg


@pytest.mark.parametrize(
    "resources",
    [
        pytest.param([bucket(), res(LIFECYCLE_V6, "uploads", {"bucket": "uploads", "rules": U})], id="rules"),
        pytest.param([bucket(), lifecycle(side_rule(U))], id="days"),
        pytest.param([bucket(), lifecycle(side_rule(30, status=U))], id="status"),
        pytest.param([bucket(), lifecycle({**side_rule(30), "filter": U})], id="filter"),
        pytest.param([bucket(type_=BUCKET, lifecycleRules=U)], id="legacy-inline"),
    ],
)
def test_ret001_unknowns_fail_closed(resources):
    result = check("RET-001", *resources)
    [finding] = result.findings
    assert finding.unknown
    assert "not known until apply" in finding.message


# -- RET-002 ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "resources",
    [
        pytest.param([bucket(), versioning(), lifecycle(side_rule(30, noncurrent=30))], id="v6-side"),
        pytest.param(
            [
                bucket(type_=BUCKET),
                versioning(type_=VERSIONING_V7),
                lifecycle(side_rule(noncurrent=365), type_=LIFECYCLE_V7),
            ],
            id="v7-side-at-maximum",
        ),
        pytest.param(
            [
                bucket(
                    type_=BUCKET,
                    versioning={"enabled": True},
                    lifecycleRules=[
                        {
                            "enabled": True,
                            "expiration": {"days": 30},
                            "noncurrentVersionExpiration": {"days": 30},
                        }
                    ],
                )
            ],
            id="legacy-inline",
        ),
        pytest.param([bucket()], id="unversioned"),
        pytest.param([bucket(tags=NON_PERSONAL), versioning()], id="non-personal"),
    ],
)
def test_ret002_passes(resources):
    assert messages(check("RET-002", *resources)) == []


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        pytest.param(
            [bucket(), versioning(), lifecycle(side_rule(30))],
            "BucketV2 'uploads' keeps old versions (versioning is on) but no enabled lifecycle rule expires them "
            "within 365 days; old versions keep personal data forever and a deletion request would leave copies: "
            "add noncurrentVersionExpiration of at most 365 days to a lifecycle rule with an empty filter",
            id="versioned-without-noncurrent",
        ),
        pytest.param(
            [bucket(), versioning(), lifecycle(side_rule(30, noncurrent=400, rule_id="long"))],
            "(rule 'long' in BucketLifecycleConfigurationV2 'uploads' keeps them 400 days)",
            id="noncurrent-too-long",
        ),
        pytest.param(
            [bucket(), versioning(), lifecycle(side_rule(30, noncurrent=30, prefix="tmp/"))],
            "no enabled lifecycle rule expires them within 365 days",
            id="noncurrent-prefix-only",
        ),
        pytest.param(
            [bucket(type_=BUCKET, versioning={"enabled": True})],
            "keeps old versions (versioning is on)",
            id="legacy-inline-no-lifecycle",
        ),
        pytest.param(
            [
                bucket(),
                res(
                    LOCK_V6,
                    "uploads",
                    {
                        "bucket": "uploads",
                        "objectLockEnabled": "Enabled",
                        "rule": {"defaultRetention": {"mode": "GOVERNANCE", "days": 1}},
                    },
                ),
                lifecycle(side_rule(30)),
            ],
            "keeps old versions (Object Lock keeps versions)",
            id="object-lock-implies-versioning",
        ),
    ],
)
def test_ret002_fails(resources, expected):
    assert expected in one(check("RET-002", *resources))


@pytest.mark.parametrize(
    "resources",
    [
        pytest.param([bucket(), versioning(status=U), lifecycle(side_rule(30))], id="versioning-status"),
        pytest.param(
            [bucket(), res(VERSIONING_V6, "uploads", {"bucket": "uploads", "versioningConfiguration": U})],
            id="versioning",
        ),
        pytest.param([bucket(), versioning(), lifecycle(side_rule(30, noncurrent=U))], id="noncurrent-days"),
        pytest.param(
            [bucket(), versioning(), res(LIFECYCLE_V6, "uploads", {"bucket": "uploads", "rules": U})],
            id="rules",
        ),
    ],
)
def test_ret002_unknowns_fail_closed(resources):
    result = check("RET-002", *resources)
    [finding] = result.findings
    assert finding.unknown
    assert "not known until apply" in finding.message


# -- RET-003 ----------------------------------------------------------------------------------------------


def log_group(name="app", tags=None, **props):
    return res(LOG_GROUP, name, {"name": f"/app/{name}", "tags": tags or {}, **props})


def table(name="users", tags=UPLOADS, **props):
    return res(TABLE, name, {"name": name, "hashKey": "id", "tags": tags, **props})


@pytest.mark.parametrize(
    "resource",
    [
        pytest.param(log_group(retentionInDays=14), id="log-group-untagged-14-days"),
        pytest.param(log_group(tags=SERVER_LOGS, retentionInDays=365), id="log-group-server-logs"),
        pytest.param(log_group(tags=NON_PERSONAL), id="log-group-non-personal"),
        pytest.param(table(ttl={"enabled": True, "attributeName": "expiresAt"}), id="table-ttl"),
        pytest.param(table(ttl=[{"enabled": True, "attributeName": "expiresAt"}]), id="table-ttl-list"),
        pytest.param(table(tags=NON_PERSONAL), id="table-non-personal"),
    ],
)
def test_ret003_passes(resource):
    assert messages(check("RET-003", resource)) == []


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        pytest.param(
            log_group(),
            "LogGroup 'app' keeps its log events forever (retentionInDays is not set), but category 'unclassified' "
            "may be kept at most 30 days: set retentionInDays to 30",
            id="log-group-never-expires",
        ),
        pytest.param(log_group(retentionInDays=0), "keeps its log events forever", id="log-group-zero"),
        pytest.param(
            log_group(retentionInDays=60),
            "LogGroup 'app' keeps its log events 60 days, longer than the 30-day maximum for category "
            "'unclassified': set retentionInDays to 30",
            id="log-group-too-long",
        ),
        pytest.param(
            log_group(tags=SERVER_LOGS, retentionInDays=30),
            "keeps its log events 30 days, less than the 180-day minimum for category 'server-logs': set "
            "retentionInDays to 365",
            id="log-group-below-minimum",
        ),
        pytest.param(
            table(),
            "Table 'users' holds personal data (category 'user-uploads') but its items never expire: enable ttl "
            "with an attributeName and set that attribute so items expire within 365 days",
            id="table-without-ttl",
        ),
        pytest.param(
            table(ttl={"enabled": False, "attributeName": ""}), "items never expire", id="table-ttl-off"
        ),
    ],
)
def test_ret003_fails(resource, expected):
    result = check("RET-003", resource)
    assert expected in one(result)
    assert result.findings[0].severity.value == "medium"


@pytest.mark.parametrize(
    "resource",
    [
        pytest.param(log_group(retentionInDays=U), id="log-group-retention"),
        pytest.param(table(ttl=U), id="table-ttl"),
        pytest.param(table(ttl={"enabled": U, "attributeName": "expiresAt"}), id="table-ttl-enabled"),
    ],
)
def test_ret003_unknowns_fail_closed(resource):
    result = check("RET-003", resource)
    [finding] = result.findings
    assert finding.unknown
    assert "not known until apply" in finding.message


@pytest.mark.parametrize(
    ("minimum", "maximum", "expected"),
    [(None, 30, 30), (180, 365, 365), (180, 1095, 731), (None, 45, 30), (None, 2, 1), (410, 500, 500)],
)
def test_suggested_log_retention_is_a_value_cloudwatch_accepts(minimum, maximum, expected):
    assert suggested_log_retention(minimum, maximum) == expected


def test_ret003_on_the_real_pulumi_aws7_stack():
    path = PUBLIC_FIXTURES / "pulumi-tf_stack_test-aws7-state.json"
    if not path.exists():
        pytest.skip(f"{path.name} missing")
    s = load_stack(str(path), settings=default_catalog().settings())
    result = evaluate(s, [all_rules()["RET-003"]])
    # The untagged log group keeps 14 days, within the fail-safe 30; the table has no TTL.
    assert [(f.type, f.name) for f in result.findings] == [(TABLE, "file_metadata")]
    assert "items never expire" in result.findings[0].message
