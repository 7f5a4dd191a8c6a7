"""Numbers as JSON allows them (issue 9, item 5): `whole_number` and every rule reading days or versions.

`365.0` (an integral JSON number) and `"365"` (pulumi-aws takes some counts as strings, such as
`newerNoncurrentVersions`) read as 365. `"abc"`, `365.5`, `true` and negatives are a finding that
names the property and the value: never a crash, never a pass.
"""

from __future__ import annotations

import math

import pytest
from builders import check, messages, res

from policies.model import UNKNOWN
from policies.values import BadNumber, whole_number

U = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

BUCKET_V6 = "aws:s3/bucketV2:BucketV2"
LEGACY_BUCKET = "aws:s3/bucket:Bucket"
LIFECYCLE_V6 = "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2"
LIFECYCLE_V7 = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
VERSIONING_V6 = "aws:s3/bucketVersioningV2:BucketVersioningV2"
LOCK_V6 = "aws:s3/bucketObjectLockConfigurationV2:BucketObjectLockConfigurationV2"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"

UPLOADS = {"data-category": "user-uploads"}  # at most 365 days
SERVER_LOGS = {"data-category": "server-logs"}  # 180 to 365 days
AUDIT = {"data-category": "audit-logs"}  # at least 180 days

#: Values that are not a whole number, how `json.dumps` shows them in the message, and why.
BAD = [
    pytest.param("abc", '"abc"', "not a number", id="text"),
    pytest.param(365.5, "365.5", "not a whole number", id="fraction"),
    pytest.param("365.5", '"365.5"', "not a number", id="fraction-text"),
    pytest.param(True, "true", "a boolean", id="boolean"),
    pytest.param(-30, "-30", "negative", id="negative"),
    pytest.param("-30", '"-30"', "negative", id="negative-text"),
]
GOOD = [
    pytest.param(365, id="int"),
    pytest.param(365.0, id="integral-float"),
    pytest.param("365", id="numeric-string"),
    pytest.param(" 365 ", id="padded-string"),
]


# -- the helper ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (365, 365),
        (365.0, 365),
        ("5", 5),
        (" 30 ", 30),
        ("365.0", 365),
        (0, 0),
        ("0", 0),
        (None, None),
        ("", None),
    ],
)
def test_whole_number_reads_what_json_and_pulumi_aws_allow(value, expected):
    assert whole_number(value) == expected


def test_whole_number_keeps_unknown_and_allows_negatives_only_when_asked():
    assert whole_number(UNKNOWN) is UNKNOWN
    assert whole_number(-5, negative=True) == -5
    assert isinstance(whole_number(-5), BadNumber)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("abc", "not a number"),
        ("1e3", "not a number"),
        ("0x10", "not a number"),
        (365.5, "not a whole number"),
        (math.nan, "not a whole number"),
        (math.inf, "not a whole number"),
        (True, "a boolean"),
        (False, "a boolean"),
        (-1, "negative"),
        ({"days": 5}, "a dict, not a number"),
        ([5], "a list, not a number"),
    ],
)
def test_whole_number_refuses_everything_else_with_a_reason(value, reason):
    bad = whole_number(value)
    assert isinstance(bad, BadNumber)
    assert bad.reason == reason
    assert bad.value is value


def test_bad_number_message_names_the_property_and_the_value():
    assert whole_number("abc").describe("retentionInDays", "days") == (
        'retentionInDays is "abc", which is not a whole number of days (not a number)'
    )


# -- RET-001: expiration days ----------------------------------------------------------------------------------


def bucket(name="uploads", tags=UPLOADS, type_=BUCKET_V6, **props):
    return res(type_, name, {"bucket": name, "tags": tags, **props})


def lifecycle(expiration=None, noncurrent=None, newer=None, name="uploads", type_=LIFECYCLE_V6):
    rule = {"id": "expire", "status": "Enabled", "filter": {"prefix": ""}}
    if expiration is not None:
        rule["expiration"] = {"days": expiration}
    if noncurrent is not None or newer is not None:
        block = {} if noncurrent is None else {"noncurrentDays": noncurrent}
        if newer is not None:
            block["newerNoncurrentVersions"] = newer
        rule["noncurrentVersionExpiration"] = block
    return res(type_, name, {"bucket": name, "rules": [rule]})


def versioned(name="uploads"):
    return res(VERSIONING_V6, name, {"bucket": name, "versioningConfiguration": {"status": "Enabled"}})


@pytest.mark.parametrize("days", GOOD)
@pytest.mark.parametrize("type_", [LIFECYCLE_V6, LIFECYCLE_V7])
def test_ret001_day_counts_as_json_allows_them_pass(days, type_):
    assert messages(check("RET-001", bucket(), lifecycle(days, type_=type_))) == []


@pytest.mark.parametrize("days", ["400", 400.0])
def test_ret001_a_numeric_string_too_long_is_read_and_fails(days):
    [msg] = messages(check("RET-001", bucket(), lifecycle(days)))
    assert msg.startswith(
        "BucketV2 'uploads': lifecycle rule 'expire' in BucketLifecycleConfigurationV2 'uploads' expires objects "
        "after 400 days, longer than the 365-day maximum"
    )


@pytest.mark.parametrize(("days", "shown", "reason"), BAD)
def test_ret001_bad_day_counts_are_a_finding_naming_the_value(days, shown, reason):
    result = check("RET-001", bucket(), lifecycle(days))
    [finding] = result.findings
    assert not finding.unknown
    assert finding.message == (
        "BucketV2 'uploads': in lifecycle rule 'expire' in BucketLifecycleConfigurationV2 'uploads', "
        f"rules[].expiration.days is {shown}, which is not a whole number of days ({reason}); set it to a whole "
        "number of days, at most 365"
    )


def test_ret001_legacy_inline_rule_reads_numbers_too():
    def legacy(days):
        rule = {"id": "expire", "enabled": True, "prefix": "", "expiration": {"days": days}}
        return res(LEGACY_BUCKET, "uploads", {"bucket": "uploads", "tags": UPLOADS, "lifecycleRules": [rule]})

    assert messages(check("RET-001", legacy("365"))) == []
    [msg] = messages(check("RET-001", legacy("soon")))
    assert msg == (
        "Bucket 'uploads': in lifecycle rule 'expire', lifecycleRules[].expiration.days is \"soon\", which is not "
        "a whole number of days (not a number); set it to a whole number of days, at most 365"
    )


# -- RET-002: old versions ----------------------------------------------------------------------------------


@pytest.mark.parametrize("days", GOOD)
def test_ret002_noncurrent_days_as_json_allows_them_pass(days):
    assert messages(check("RET-002", bucket(), versioned(), lifecycle(30, noncurrent=days))) == []


@pytest.mark.parametrize("newer", [0, "0", 0.0])
def test_ret002_newer_noncurrent_versions_zero_passes(newer):
    assert messages(check("RET-002", bucket(), versioned(), lifecycle(30, noncurrent=30, newer=newer))) == []


@pytest.mark.parametrize("newer", [5, "5", 5.0])
def test_ret002_newer_noncurrent_versions_keep_old_versions_forever(newer):
    [msg] = messages(check("RET-002", bucket(), versioned(), lifecycle(30, noncurrent=30, newer=newer)))
    assert (
        "rule 'expire' in BucketLifecycleConfigurationV2 'uploads' keeps the newest 5 old versions of every object "
        "past noncurrentDays (newerNoncurrentVersions), with no age limit"
    ) in msg
    assert msg.startswith(
        "BucketV2 'uploads' keeps old versions (versioning is on) but no enabled lifecycle rule"
    )


@pytest.mark.parametrize(("days", "shown", "reason"), BAD)
def test_ret002_bad_noncurrent_days_are_a_finding_naming_the_value(days, shown, reason):
    [finding] = check("RET-002", bucket(), versioned(), lifecycle(30, noncurrent=days)).findings
    assert not finding.unknown
    assert finding.message == (
        "BucketV2 'uploads': in lifecycle rule 'expire' in BucketLifecycleConfigurationV2 'uploads', "
        f"rules[].noncurrentVersionExpiration.noncurrentDays is {shown}, which is not a whole number of days "
        f"({reason}); set it to a whole number of days, at most 365"
    )


def test_ret002_bad_newer_noncurrent_versions_is_a_finding():
    [msg] = messages(check("RET-002", bucket(), versioned(), lifecycle(30, noncurrent=30, newer="five")))
    assert msg == (
        "BucketV2 'uploads': in lifecycle rule 'expire' in BucketLifecycleConfigurationV2 'uploads', "
        'noncurrentVersionExpiration.newerNoncurrentVersions is "five", which is not a whole number of versions '
        "(not a number); remove it so every old version expires"
    )


def test_ret002_unknown_newer_noncurrent_versions_stays_unknown():
    [finding] = check("RET-002", bucket(), versioned(), lifecycle(30, noncurrent=30, newer=U)).findings
    assert finding.unknown


# -- RET-003: log group retentionInDays ------------------------------------------------------------------


def log_group(days):
    return res(LOG_GROUP, "app", {"tags": SERVER_LOGS, "retentionInDays": days})


@pytest.mark.parametrize("days", GOOD)
def test_ret003_retention_in_days_as_json_allows_it_passes(days):
    assert messages(check("RET-003", log_group(days))) == []


@pytest.mark.parametrize("days", ["731", 731.0])
def test_ret003_numeric_string_too_long_is_read_and_fails(days):
    [msg] = messages(check("RET-003", log_group(days)))
    assert msg.startswith("LogGroup 'app' keeps its log events 731 days, longer than the 365-day maximum")


@pytest.mark.parametrize(("days", "shown", "reason"), BAD)
def test_ret003_bad_retention_in_days_is_a_finding_naming_the_value(days, shown, reason):
    [finding] = check("RET-003", log_group(days)).findings
    assert not finding.unknown
    assert finding.message == (
        f"LogGroup 'app': retentionInDays is {shown}, which is not a whole number of days ({reason}); set "
        "retentionInDays to 365"
    )


# -- AUD-003: object lock retention and audit-log lifecycle ------------------------------------------------


def lock(days=None, years=None, name="audit-logs"):
    retention = {"mode": "COMPLIANCE"}
    if days is not None:
        retention["days"] = days
    if years is not None:
        retention["years"] = years
    return res(
        LOCK_V6,
        name,
        {"bucket": name, "objectLockEnabled": "Enabled", "rule": {"defaultRetention": retention}},
    )


@pytest.mark.parametrize(
    "locked",
    [
        pytest.param(lambda: lock(days=365), id="days"),
        pytest.param(lambda: lock(days=365.0), id="days-float"),
        pytest.param(lambda: lock(days="365"), id="days-string"),
        pytest.param(lambda: lock(years="1"), id="years-string"),
        pytest.param(lambda: lock(years=1.0), id="years-float"),
    ],
)
def test_aud003_object_lock_retention_as_json_allows_it_passes(locked):
    assert messages(check("AUD-003", bucket("audit-logs", tags=AUDIT), locked())) == []


def test_aud003_object_lock_numeric_string_too_short_is_read_and_fails():
    [msg] = messages(check("AUD-003", bucket("audit-logs", tags=AUDIT), lock(days="30")))
    assert "its Object Lock default retention is 30 days, shorter than the 180-day minimum" in msg


@pytest.mark.parametrize(
    ("locked", "expected"),
    [
        pytest.param(
            lambda: lock(days="a year"),
            'defaultRetention.days is "a year", which is not a whole number of days (not a number)',
            id="days-text",
        ),
        pytest.param(
            lambda: lock(days=180.5),
            "defaultRetention.days is 180.5, which is not a whole number of days (not a whole number)",
            id="days-fraction",
        ),
        pytest.param(
            lambda: lock(years=True),
            "defaultRetention.years is true, which is not a whole number of years (a boolean)",
            id="years-boolean",
        ),
    ],
)
def test_aud003_bad_object_lock_retention_is_a_finding_naming_the_value(locked, expected):
    [finding] = check("AUD-003", bucket("audit-logs", tags=AUDIT), locked()).findings
    assert not finding.unknown
    assert finding.message == (
        f"BucketV2 'audit-logs' holds audit logs (it is tagged data-category=audit-logs) but its Object Lock "
        f"{expected}: set defaultRetention days to a whole number, at least 180 days"
    )


@pytest.mark.parametrize("days", ["200", 200.0])
def test_aud003_audit_log_lifecycle_as_json_allows_it_passes(days):
    result = check(
        "AUD-003", bucket("audit-logs", tags=AUDIT), lock(days=365), lifecycle(days, name="audit-logs")
    )
    assert messages(result) == []


@pytest.mark.parametrize(("days", "shown", "reason"), BAD)
def test_aud003_bad_audit_log_lifecycle_days_are_a_finding(days, shown, reason):
    result = check(
        "AUD-003", bucket("audit-logs", tags=AUDIT), lock(days=365), lifecycle(days, name="audit-logs")
    )
    [finding] = result.findings
    assert not finding.unknown
    assert finding.message == (
        "BucketV2 'audit-logs' holds audit logs (it is tagged data-category=audit-logs) but in lifecycle rule 'expire' "
        f"in BucketLifecycleConfigurationV2 'audit-logs', expiration.days is {shown}, which is not a whole "
        f"number of days ({reason}): set it to a whole number of days, at least 180 days"
    )


# -- a real file, its numbers rewritten as JSON allows them ----------------------------------------------------


@pytest.mark.parametrize("written", [365, 365.0, "365"])
def test_real_aws7_lifecycle_reads_the_same_whichever_way_the_number_is_written(written):
    """pulumi/pulumi-terraform-bridge's tf_stack_test state: noncurrentDays 365 in a v7 lifecycle configuration."""
    import json

    from paths import public_fixture

    from policies.catalog import default_catalog
    from policies.engine import evaluate
    from policies.registry import all_rules
    from policies.s3 import bucket_view
    from policies.sources import stack_from_document

    doc = json.loads(public_fixture("pulumi-tf_stack_test-aws7-state.json").read_text())
    for state in (
        doc["checkpoint"]["latest"]["resources"] if "checkpoint" in doc else doc["deployment"]["resources"]
    ):
        if state["type"] == LIFECYCLE_V7:
            for part in ("inputs", "outputs"):
                for rule in state.get(part, {}).get("rules") or []:
                    rule["noncurrentVersionExpiration"]["noncurrentDays"] = written
    st = stack_from_document(doc, "tf_stack_test", default_catalog().settings())
    [lifecycle_rule] = bucket_view(
        next(b for b in st.by_type["aws:s3/bucket:Bucket"] if b.name == "this")
    ).lifecycle
    assert lifecycle_rule.noncurrent_days == 365
    assert lifecycle_rule.newer_noncurrent_versions is None
    result = evaluate(st, [all_rules()["RET-002"]])
    assert not any("not a whole number" in f.message for f in result.findings)
