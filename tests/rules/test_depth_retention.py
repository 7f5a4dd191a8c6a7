"""RET-004: Object Lock default retention, backup plan deleteAfter, Kinesis retentionPeriod and DynamoDB
point-in-time recovery stay within the data category's maximum (issue 11)."""

from __future__ import annotations

import pytest
from builders import messages, res, urn
from honesty import check

from policies.model import UNKNOWN_SENTINEL as U

BUCKET = "aws:s3/bucket:Bucket"
LOCK_V7 = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
PLAN = "aws:backup/plan:Plan"
SELECTION = "aws:backup/selection:Selection"
STREAM = "aws:kinesis/stream:Stream"
TABLE = "aws:dynamodb/table:Table"
UPLOADS = {"data-category": "user-uploads"}  # at most 365 days
COOKIES = {"data-category": "cookies"}  # at most 30 days

PASS = ("pass", None)


def fail(text: str) -> tuple[str, str]:
    return ("fail", text)


def unknown(text: str) -> tuple[str, str]:
    return ("unknown", text)


def locked_bucket(retention, tags=UPLOADS):
    bucket = res(BUCKET, "uploads", {"bucket": "uploads", "objectLockEnabled": True, "tags": tags})
    lock = res(
        LOCK_V7,
        "uploads-lock",
        {"bucket": "uploads", "rule": {"defaultRetention": retention}},
        property_dependencies={"bucket": [bucket.urn]},
    )
    return bucket, lock


def plan(rules, tags=None, name="copy"):
    return res(PLAN, name, {"name": name, "rules": rules, "tags": tags or {}})


def plan_rule(delete_after=None, copy_after=None):
    rule = {"ruleName": "daily", "targetVaultName": "v", "schedule": "cron(0 5 * * ? *)"}
    if delete_after is not None:
        rule["lifecycle"] = {"deleteAfter": delete_after}
    if copy_after is not None:
        rule["copyActions"] = [{"destinationVaultArn": "x", "lifecycle": {"deleteAfter": copy_after}}]
    return rule


CASES = [
    # Object Lock
    (
        "object-lock-too-long",
        locked_bucket({"mode": "COMPLIANCE", "days": 400}),
        fail("locks every new object for 400 days (Object Lock defaultRetention, COMPLIANCE mode)"),
    ),
    ("object-lock-years", locked_bucket({"mode": "GOVERNANCE", "years": 2}), fail("730 days")),
    ("object-lock-within", locked_bucket({"mode": "COMPLIANCE", "days": 30}), PASS),
    ("object-lock-unknown", locked_bucket({"mode": "COMPLIANCE", "days": U}), unknown("defaultRetention")),
    (
        "object-lock-not-a-number",
        locked_bucket({"mode": "COMPLIANCE", "days": "a year"}),
        fail("not a whole"),
    ),
    # Backup plans (untagged, with no selection: the fail-safe 30 days of unclassified data)
    ("backup-never-deleted", (plan([plan_rule()]),), fail("never deletes its recovery points")),
    (
        "backup-too-long",
        (plan([plan_rule(90)]),),
        fail("keeps recovery points 90 days (lifecycle.deleteAfter)"),
    ),
    ("backup-within", (plan([plan_rule(30)]),), PASS),
    (
        "backup-copy-too-long",
        (plan([plan_rule(30, copy_after=365)]),),
        fail("copyActions[0].lifecycle.deleteAfter"),
    ),
    ("backup-unknown", (plan([plan_rule(U)]),), unknown("deleteAfter")),
    ("backup-rules-unknown", (plan(U),), unknown("its rules")),
    ("backup-tagged-category", (plan([plan_rule(300)], tags=UPLOADS),), PASS),
    (
        "backup-category-from-selected-store",
        (
            plan([plan_rule(300)]),
            res(TABLE, "sessions", {"name": "sessions", "tags": COOKIES}),
            res(
                SELECTION,
                "select",
                {"planId": U, "resources": [U]},
                property_dependencies={"planId": [urn(PLAN, "copy")], "resources": [urn(TABLE, "sessions")]},
            ),
        ),
        fail("maximum for Table 'sessions' (category 'cookies')"),
    ),
    # Kinesis
    (
        "kinesis-too-long",
        (res(STREAM, "copy", {"retentionPeriod": 8760}),),
        fail("8760 hours (retentionPeriod)"),
    ),
    ("kinesis-default", (res(STREAM, "copy", {"name": "s"}),), PASS),
    ("kinesis-within-category", (res(STREAM, "copy", {"retentionPeriod": 168, "tags": UPLOADS}),), PASS),
    ("kinesis-unknown", (res(STREAM, "copy", {"retentionPeriod": U}),), unknown("retentionPeriod")),
    # RDS automated backups
    (
        "rds-backups-too-long",
        (res("aws:rds/instance:Instance", "copy", {"backupRetentionPeriod": 35}),),
        fail("35 days (backupRetentionPeriod)"),
    ),
    ("rds-backups-within", (res("aws:rds/instance:Instance", "copy", {"backupRetentionPeriod": 7}),), PASS),
    ("rds-backups-default", (res("aws:rds/cluster:Cluster", "copy", {"engine": "aurora-mysql"}),), PASS),
    (
        "rds-backups-unknown",
        (res("aws:rds/cluster:Cluster", "copy", {"backupRetentionPeriod": U}),),
        unknown("backupRetentionPeriod"),
    ),
    # DynamoDB point-in-time recovery
    (
        "pitr-default-35-days",
        (res(TABLE, "copy", {"pointInTimeRecovery": {"enabled": True}}),),
        fail("35 days (recoveryPeriodInDays unset)"),
    ),
    (
        "pitr-within",
        (res(TABLE, "copy", {"pointInTimeRecovery": {"enabled": True, "recoveryPeriodInDays": 7}}),),
        PASS,
    ),
    ("pitr-off", (res(TABLE, "copy", {"pointInTimeRecovery": {"enabled": False}}),), PASS),
    (
        "pitr-longer-category-ok",
        (res(TABLE, "copy", {"pointInTimeRecovery": {"enabled": True}, "tags": UPLOADS}),),
        PASS,
    ),
    (
        "pitr-unknown",
        (res(TABLE, "copy", {"pointInTimeRecovery": {"enabled": True, "recoveryPeriodInDays": U}}),),
        unknown("recoveryPeriodInDays"),
    ),
]


@pytest.mark.parametrize(("resources", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_ret004(resources, expected):
    kind, text = expected
    result = check("RET-004", *resources)
    found = messages(result)
    if kind == "pass":
        assert not result.findings, found
        return
    assert any(text in m for m in found), found
    assert all(f.unknown == (kind == "unknown") for f in result.findings), found
