"""AUD-001..003: access logging, CloudTrail data events, and protected audit logs."""

from __future__ import annotations

import dataclasses
import json

import pytest
from builders import messages, res, stack, urn
from honesty import check, evaluate

from policies.registry import all_rules
from policies.rules.audit import audit_index

U = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

BUCKET_V6 = "aws:s3/bucketV2:BucketV2"
BUCKET = "aws:s3/bucket:Bucket"  # v7 bucket, or the legacy inline v6 bucket
LOGGING_V6 = "aws:s3/bucketLoggingV2:BucketLoggingV2"
LOGGING_V7 = "aws:s3/bucketLogging:BucketLogging"
LIFECYCLE_V6 = "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2"
LOCK_V6 = "aws:s3/bucketObjectLockConfigurationV2:BucketObjectLockConfigurationV2"
LOCK_V7 = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
POLICY_V6 = "aws:s3/bucketPolicy:BucketPolicy"
TRAIL = "aws:cloudtrail/trail:Trail"

UPLOADS = {"data-category": "user-uploads"}
AUDIT = {"data-category": "audit-logs"}


def bucket(name, tags=UPLOADS, type_=BUCKET_V6, **props):
    return res(type_, name, {"bucket": name, "tags": tags, **props})


def logs_bucket(name="audit-logs", **props):
    return bucket(name, tags=AUDIT, **props)


def logging(source, target, type_=LOGGING_V6, **deps):
    return res(type_, source, {"bucket": source, "targetBucket": target, "targetPrefix": "s3/"}, **deps)


def locked(name, days=365, mode="COMPLIANCE", type_=LOCK_V6):
    rule = {"defaultRetention": {"mode": mode, "days": days}}
    return res(type_, name, {"bucket": name, "objectLockEnabled": "Enabled", "rule": rule})


def trail(name="audit", *, selectors=None, advanced=None, **props):
    inputs = {
        "s3BucketName": "audit-logs",
        "enableLogFileValidation": True,
        "kmsKeyId": "arn:aws-cn:kms:cn-north-1:111122223333:key/abc",
        "isMultiRegionTrail": True,
        **props,
    }
    if selectors is not None:
        inputs["eventSelectors"] = selectors
    if advanced is not None:
        inputs["advancedEventSelectors"] = advanced
    return res(TRAIL, name, inputs)


def data_events(*values, read_write="All"):
    selector = {
        "readWriteType": read_write,
        "dataResources": [{"type": "AWS::S3::Object", "values": list(values)}],
    }
    return [selector]


def advanced(*field_selectors):
    return [{"name": "s3", "fieldSelectors": list(field_selectors)}]


DATA = {"field": "eventCategory", "equals": ["Data"]}
OBJECTS = {"field": "resources.type", "equals": ["AWS::S3::Object"]}


def only(result, rule_urn):
    return [f for f in result.findings if f.urn == rule_urn]


# -- the per-stack index ---------------------------------------------------------------------------------


def test_index_is_built_once_per_stack_and_finds_every_kind_of_audit_bucket():
    s = stack(
        bucket("uploads"),
        bucket("access-logs", tags={}),
        logging("uploads", "access-logs"),
        bucket("trail-logs", tags={}),
        trail(s3BucketName="trail-logs"),
        logs_bucket("tagged-logs"),
    )
    index = audit_index(s)
    assert audit_index(s) is index
    names = {b.name: why for b, why in index.audit_buckets.items()}
    assert set(names) == {"access-logs", "trail-logs", "tagged-logs"}
    assert "server access logs of BucketV2 'uploads'" in names["access-logs"]
    assert "CloudTrail" in names["trail-logs"]
    assert audit_index(stack(bucket("uploads"))) is not index


# -- AUD-001 ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "resources",
    [
        pytest.param(
            [bucket("uploads"), logs_bucket(), logging("uploads", "audit-logs")], id="v6-side-resource"
        ),
        pytest.param(
            [
                bucket("uploads", type_=BUCKET),
                logs_bucket(type_=BUCKET),
                logging("uploads", "audit-logs", LOGGING_V7),
            ],
            id="v7-side-resource",
        ),
        pytest.param(
            [
                bucket("uploads", type_=BUCKET, loggings=[{"targetBucket": "audit-logs"}]),
                logs_bucket(type_=BUCKET),
            ],
            id="legacy-inline-loggings",
        ),
        pytest.param(
            [
                bucket("uploads", type_=BUCKET, logging={"targetBucket": "audit-logs"}),
                logs_bucket(type_=BUCKET),
            ],
            id="v7-inline-logging",
        ),
        pytest.param(
            [bucket("uploads"), logging("uploads", "central-logs-elsewhere")], id="target-in-other-stack"
        ),
        pytest.param([bucket("assets", tags={"data-category": "non-personal"})], id="non-personal"),
        pytest.param([logs_bucket()], id="audit-bucket-itself"),
    ],
)
def test_aud001_passes(resources):
    assert messages(check("AUD-001", *resources)) == []


def test_aud001_fails_without_access_logging():
    result = check("AUD-001", bucket("uploads"))
    assert messages(result) == [
        "BucketV2 'uploads' holds personal data but does not log access to it: "
        "enable server access logging to the audit-log bucket"
    ]
    assert result.findings[0].severity.value == "medium"


def test_aud001_untagged_bucket_is_personal_data():
    [msg] = messages(check("AUD-001", bucket("scratch", tags={})))
    assert msg.startswith("BucketV2 'scratch' holds personal data but does not log access to it")


def test_aud001_fails_when_logs_go_to_another_region():
    result = check(
        "AUD-001",
        bucket("uploads"),
        logs_bucket(region="cn-northwest-1"),
        logging("uploads", "audit-logs"),
    )
    [msg] = messages(result)
    assert "is in cn-north-1 but logs access to BucketV2 'audit-logs' in cn-northwest-1" in msg


def test_aud001_fails_when_a_bucket_logs_into_itself():
    [msg] = messages(check("AUD-001", bucket("uploads"), logging("uploads", "uploads")))
    assert "writes its access logs into itself" in msg


def test_aud001_unknown_target_fails_closed():
    result = check("AUD-001", bucket("uploads"), logging("uploads", U))
    [finding] = result.findings
    assert finding.unknown
    assert "not known until apply" in finding.message


def test_aud001_unknown_region_of_target_fails_closed():
    result = check("AUD-001", bucket("uploads"), logs_bucket(region=U), logging("uploads", "audit-logs"))
    [finding] = result.findings
    assert finding.unknown


# -- AUD-002 ----------------------------------------------------------------------------------------------


def test_aud002_trail_passes_with_validation_and_kms():
    t = trail(selectors=data_events("arn:aws-cn:s3"))
    assert messages(check("AUD-002", t, logs_bucket())) == []


def test_aud002_trail_fails_without_validation_and_kms():
    t = trail(enableLogFileValidation=False, kmsKeyId="")
    result = check("AUD-002", t, logs_bucket())
    assert sorted(messages(result)) == [
        "Trail 'audit' does not encrypt its logs with a customer-managed KMS key: set kmsKeyId to a key in the "
        "same region",
        "Trail 'audit' does not validate its log files, so altered or deleted audit logs go unnoticed: "
        "set enableLogFileValidation to true",
    ]
    assert {f.severity.value for f in result.findings} == {"high"}


def test_aud002_trail_unknown_key_fails_closed():
    result = check("AUD-002", trail(kmsKeyId=U, selectors=data_events("arn:aws-cn:s3")), logs_bucket())
    [finding] = result.findings
    assert finding.unknown and "kmsKeyId" in finding.message


@pytest.mark.parametrize(
    "trail_props",
    [
        pytest.param({"selectors": data_events("arn:aws-cn:s3:::uploads/")}, id="bucket-arn-aws-cn"),
        pytest.param({"selectors": data_events("arn:aws:s3:::uploads/")}, id="bucket-arn-aws"),
        pytest.param({"selectors": data_events("arn:aws-cn:s3")}, id="all-buckets"),
        pytest.param({"selectors": data_events("arn:aws:s3:::")}, id="all-buckets-legacy"),
        pytest.param(
            {
                "selectors": [
                    {"dataResources": [{"type": "AWS::S3::Object", "values": ["arn:aws-cn:s3:::uploads/"]}]}
                ]
            },
            id="readWriteType-defaults-to-All",
        ),
        pytest.param({"advanced": advanced(DATA, OBJECTS)}, id="advanced-all-objects"),
        pytest.param(
            {
                "advanced": advanced(
                    DATA, OBJECTS, {"field": "resources.ARN", "startsWith": ["arn:aws-cn:s3:::uploads/"]}
                )
            },
            id="advanced-startsWith-bucket",
        ),
        pytest.param(
            {
                "advanced": advanced(
                    DATA,
                    OBJECTS,
                    {"field": "resources.ARN", "notStartsWith": ["arn:aws-cn:s3:::audit-logs/"]},
                )
            },
            id="advanced-excludes-only-the-audit-bucket",
        ),
        pytest.param(
            {"selectors": data_events("arn:aws-cn:s3:::uploads/"), "isMultiRegionTrail": False},
            id="single-region-trail-in-same-region",
        ),
    ],
)
def test_aud002_bucket_passes_when_a_trail_records_its_data_events(trail_props):
    result = check("AUD-002", bucket("uploads"), logs_bucket(), trail(**trail_props))
    assert messages(result) == []


@pytest.mark.parametrize(
    ("trail_props", "why"),
    [
        pytest.param({"selectors": data_events("arn:aws-cn:s3:::other/")}, "other bucket", id="other-bucket"),
        pytest.param(
            {"selectors": data_events("arn:aws-cn:s3:::uploads/photos/")}, "prefix", id="prefix-only"
        ),
        pytest.param(
            {"selectors": data_events("arn:aws-cn:s3", read_write="WriteOnly")}, "writes", id="write-only"
        ),
        pytest.param({"selectors": [{"includeManagementEvents": True}]}, "management", id="management-only"),
        pytest.param(
            {"advanced": advanced(DATA, OBJECTS, {"field": "readOnly", "equals": ["true"]})},
            "reads",
            id="adv-read-only",
        ),
        pytest.param(
            {
                "advanced": advanced(
                    DATA, OBJECTS, {"field": "resources.ARN", "startsWith": ["arn:aws-cn:s3:::other/"]}
                )
            },
            "other",
            id="adv-other-bucket",
        ),
        pytest.param(
            {
                "advanced": advanced(
                    DATA, OBJECTS, {"field": "resources.ARN", "equals": ["arn:aws-cn:s3:::uploads/a"]}
                )
            },
            "one object",
            id="adv-equals-one-object",
        ),
        pytest.param(
            {
                "advanced": advanced(
                    DATA, OBJECTS, {"field": "resources.ARN", "notStartsWith": ["arn:aws-cn:s3:::uploads/"]}
                )
            },
            "excluded",
            id="adv-excludes-the-bucket",
        ),
        pytest.param(
            {"advanced": advanced({"field": "eventCategory", "equals": ["Management"]})},
            "mgmt",
            id="adv-management",
        ),
        pytest.param(
            {"selectors": data_events("arn:aws-cn:s3"), "enableLogging": False},
            "stopped",
            id="logging-stopped",
        ),
        pytest.param(
            {
                "selectors": data_events("arn:aws-cn:s3"),
                "isMultiRegionTrail": False,
                "region": "cn-northwest-1",
            },
            "region",
            id="single-region-trail-elsewhere",
        ),
    ],
)
def test_aud002_bucket_fails_when_no_trail_records_all_its_data_events(trail_props, why):
    result = check("AUD-002", bucket("uploads"), logs_bucket(), trail(**trail_props))
    msgs = messages(result, urn(BUCKET_V6, "uploads"))
    assert len(msgs) == 1, why
    assert "no trail in this stack (Trail 'audit') records all reads and writes" in msgs[0]
    assert "arn:aws-cn:s3:::uploads/" in msgs[0]


def test_aud002_bucket_fails_without_any_trail_and_says_how_to_waive():
    [msg] = messages(check("AUD-002", bucket("uploads")))
    assert "no CloudTrail trail in this stack records its S3 data events" in msg
    assert "waive this finding" in msg


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        pytest.param(
            [bucket("uploads"), trail(selectors=U)],
            "event selectors, logging or region are computed",
            id="selectors-unknown",
        ),
        pytest.param(
            [bucket("uploads"), trail(selectors=data_events(U))],
            "event selectors, logging or region are computed",
            id="value-unknown",
        ),
        pytest.param(
            [
                res(BUCKET_V6, "uploads", {"bucket": U, "tags": UPLOADS}),
                trail(selectors=data_events("arn:aws-cn:s3:::x/")),
            ],
            "bucket name is not known until apply",
            id="bucket-name-unknown",
        ),
    ],
)
def test_aud002_unknowns_fail_closed(resources, expected):
    result = check("AUD-002", *resources)
    findings = only(result, urn(BUCKET_V6, "uploads"))
    assert len(findings) == 1 and findings[0].unknown
    assert expected in findings[0].message


def test_aud002_unknown_bucket_name_is_fine_when_the_trail_covers_every_bucket():
    b = res(BUCKET_V6, "uploads", {"bucket": U, "tags": UPLOADS})
    assert messages(check("AUD-002", b, trail(selectors=data_events("arn:aws-cn:s3")))) == []


def test_aud002_audit_buckets_are_not_asked_to_log_themselves():
    result = check(
        "AUD-002", logs_bucket(), bucket("trail-target", tags={}), trail(s3BucketName="trail-target")
    )
    assert messages(result) == []


# -- AUD-003 ----------------------------------------------------------------------------------------------


def deny_delete(*actions, principal="*"):
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Deny",
                    "Principal": principal,
                    "Action": list(actions),
                    "Resource": "arn:aws-cn:s3:::audit-logs/*",
                }
            ],
        }
    )


def lifecycle(name, **rule):
    return res(LIFECYCLE_V6, name, {"bucket": name, "rules": [{"id": "logs", "status": "Enabled", **rule}]})


@pytest.mark.parametrize(
    "resources",
    [
        pytest.param([logs_bucket(), locked("audit-logs")], id="v6-object-lock-side"),
        pytest.param(
            [logs_bucket(type_=BUCKET), locked("audit-logs", mode="GOVERNANCE", type_=LOCK_V7)],
            id="v7-object-lock",
        ),
        pytest.param(
            [
                logs_bucket(
                    type_=BUCKET,
                    objectLockConfiguration={
                        "objectLockEnabled": "Enabled",
                        "rule": {"defaultRetention": {"mode": "COMPLIANCE", "years": 1}},
                    },
                )
            ],
            id="legacy-inline-lock-in-years",
        ),
        pytest.param(
            [
                logs_bucket(),
                res(POLICY_V6, "audit-logs", {"bucket": "audit-logs", "policy": deny_delete("s3:Delete*")}),
            ],
            id="deny-policy-wildcard",
        ),
        pytest.param(
            [
                logs_bucket(),
                res(
                    POLICY_V6,
                    "audit-logs",
                    {
                        "bucket": "audit-logs",
                        "policy": deny_delete(
                            "s3:DeleteObject", "s3:DeleteObjectVersion", principal={"AWS": "*"}
                        ),
                    },
                ),
            ],
            id="deny-policy-explicit-actions",
        ),
        pytest.param(
            [logs_bucket(), locked("audit-logs"), lifecycle("audit-logs", expiration={"days": 400})],
            id="lifecycle-after-minimum",
        ),
        pytest.param([bucket("uploads")], id="not-an-audit-bucket"),
    ],
)
def test_aud003_passes(resources):
    assert messages(check("AUD-003", *resources)) == []


def test_aud003_fails_when_nothing_stops_deletion():
    result = check("AUD-003", logs_bucket())
    [finding] = result.findings
    assert finding.severity.value == "high"
    assert finding.message == (
        "BucketV2 'audit-logs' holds audit logs (it is tagged data-category=audit-logs) but nothing stops their "
        "deletion: set an Object Lock default retention of at least 180 days (GOVERNANCE or COMPLIANCE), or deny "
        "s3:DeleteObject and s3:DeleteObjectVersion to every principal in its bucket policy"
    )


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        pytest.param(
            [logs_bucket(), locked("audit-logs", days=30)],
            "Object Lock default retention is 30 days, shorter than the 180-day minimum",
            id="short-object-lock",
        ),
        pytest.param(
            [
                logs_bucket(),
                res(LOCK_V6, "audit-logs", {"bucket": "audit-logs", "objectLockEnabled": "Enabled"}),
            ],
            "Object Lock is enabled without a default retention",
            id="object-lock-without-retention",
        ),
        pytest.param(
            [
                logs_bucket(),
                res(
                    POLICY_V6,
                    "audit-logs",
                    {"bucket": "audit-logs", "policy": deny_delete("s3:DeleteObject")},
                ),
            ],
            "nothing stops their deletion",
            id="deny-misses-DeleteObjectVersion",
        ),
        pytest.param(
            [
                logs_bucket(),
                res(
                    POLICY_V6,
                    "audit-logs",
                    {
                        "bucket": "audit-logs",
                        "policy": deny_delete("s3:*", principal={"AWS": "arn:aws-cn:iam::1:root"}),
                    },
                ),
            ],
            "nothing stops their deletion",
            id="deny-for-one-principal-only",
        ),
        pytest.param(
            [logs_bucket(), locked("audit-logs"), lifecycle("audit-logs", expiration={"days": 90})],
            "lifecycle rule 'logs' in BucketLifecycleConfigurationV2 'audit-logs' deletes logs after 90 days, "
            "before the 180-day minimum",
            id="lifecycle-expires-early",
        ),
        pytest.param(
            [
                logs_bucket(),
                locked("audit-logs"),
                lifecycle("audit-logs", noncurrentVersionExpiration={"noncurrentDays": 7}),
            ],
            "deletes old versions of logs after 7 days",
            id="lifecycle-noncurrent-early",
        ),
        pytest.param(
            [
                logs_bucket(
                    type_=BUCKET,
                    objectLockConfiguration={
                        "objectLockEnabled": "Enabled",
                        "rule": {"defaultRetention": {"mode": "COMPLIANCE", "days": 400}},
                    },
                    lifecycleRules=[{"enabled": True, "expiration": {"days": 30}}],
                )
            ],
            "lifecycle rule '#0' deletes logs after 30 days",
            id="legacy-inline-lifecycle-expires-early",
        ),
    ],
)
def test_aud003_fails(resources, expected):
    msgs = messages(check("AUD-003", *resources))
    assert len(msgs) == 1, msgs
    assert expected in msgs[0]


def test_aud003_finds_audit_buckets_through_logging_and_trails():
    result = check(
        "AUD-003",
        bucket("uploads"),
        bucket("access-logs", tags={}),
        logging("uploads", "access-logs"),
        bucket("trail-logs", tags={}),
        trail(s3BucketName="trail-logs"),
    )
    by_urn = {f.urn: f.message for f in result.findings}
    assert set(by_urn) == {urn(BUCKET_V6, "access-logs"), urn(BUCKET_V6, "trail-logs")}
    assert "it receives the server access logs of BucketV2 'uploads'" in by_urn[urn(BUCKET_V6, "access-logs")]
    assert "it receives the CloudTrail logs of Trail 'audit'" in by_urn[urn(BUCKET_V6, "trail-logs")]


def test_aud003_finds_an_audit_bucket_by_property_dependency_when_its_name_is_unknown():
    logs = res(BUCKET_V6, "access-logs", {"bucket": U})
    side = logging("uploads", U, property_dependencies={"targetBucket": [logs.urn]})
    result = check("AUD-003", bucket("uploads"), logs, side)
    assert [f.urn for f in result.findings] == [logs.urn]
    assert "(it receives the server access logs of BucketV2 'uploads') but nothing stops their deletion" in (
        result.findings[0].message
    )


def test_aud003_minimum_comes_from_the_catalogue():
    base = stack(logs_bucket(), locked("audit-logs", days=365))
    settings = base.settings
    audit = dataclasses.replace(settings.categories["audit-logs"], min_retention_days=400)
    settings = dataclasses.replace(settings, categories={**settings.categories, "audit-logs": audit})
    stricter = type(base).build(base.resources, settings=settings)
    result = evaluate(stricter, [all_rules()["AUD-003"]])
    [msg] = messages(result)
    assert "365 days, shorter than the 400-day minimum" in msg


@pytest.mark.parametrize(
    "resources",
    [
        pytest.param(
            [logs_bucket(), res(LOCK_V6, "audit-logs", {"bucket": "audit-logs", "rule": U})], id="lock-rule"
        ),
        pytest.param([logs_bucket(objectLockConfiguration=U)], id="inline-lock"),
        pytest.param(
            [logs_bucket(), res(POLICY_V6, "audit-logs", {"bucket": "audit-logs", "policy": U})], id="policy"
        ),
        pytest.param(
            [
                logs_bucket(),
                locked("audit-logs"),
                res(LIFECYCLE_V6, "audit-logs", {"bucket": "audit-logs", "rules": U}),
            ],
            id="lifecycle",
        ),
    ],
)
def test_aud003_unknowns_fail_closed(resources):
    result = check("AUD-003", *resources)
    assert result.findings
    assert all(f.unknown for f in result.findings)
    assert all("not known until apply" in f.message for f in result.findings)


def _deny(resource="arn:aws-cn:s3:::audit-logs/*", condition=None):
    statement = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion"],
        "Resource": resource,
    }
    if condition:
        statement["Condition"] = condition
    return [
        logs_bucket(),
        res(
            POLICY_V6,
            "audit-logs",
            {
                "bucket": "audit-logs",
                "policy": json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
            },
        ),
    ]


@pytest.mark.parametrize(
    ("resources", "protected"),
    [
        pytest.param(_deny(), True, id="every-object"),
        pytest.param(
            _deny(condition={"StringNotLike": {"aws:PrincipalArn": "arn:aws-cn:iam::1:role/break-glass"}}),
            True,
            id="break-glass-exemption",
        ),
        pytest.param(_deny(resource="arn:aws-cn:s3:::audit-logs/2026/*"), False, id="one-prefix-only"),
        pytest.param(
            _deny(condition={"StringEquals": {"aws:PrincipalTag/team": "interns"}}),
            False,
            id="only-some-callers",
        ),
        pytest.param(
            _deny(condition={"Bool": {"aws:SecureTransport": "false"}}), False, id="only-without-tls"
        ),
    ],
)
def test_aud003_counts_only_deletes_denied_to_everyone_on_every_object(resources, protected):
    found = [m for m in messages(check("AUD-003", *resources)) if "nothing stops their deletion" in m]
    assert (not found) is protected


def test_aud002_trail_key_unknown_until_apply_is_resolved_through_its_dependency():
    key = res("aws:kms/key:Key", "trail-key", {"enableKeyRotation": True})
    trail_inputs = {
        "name": "t",
        "s3BucketName": "audit-logs",
        "enableLogFileValidation": True,
        "isMultiRegionTrail": True,
        "kmsKeyId": "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
    }
    with_dep = res(
        "aws:cloudtrail/trail:Trail", "t", trail_inputs, property_dependencies={"kmsKeyId": [key.urn]}
    )
    assert not [m for m in messages(check("AUD-002", key, with_dep)) if "kmsKeyId" in m]
    without = res("aws:cloudtrail/trail:Trail", "t", trail_inputs)
    (finding,) = [f for f in check("AUD-002", key, without).findings if "kmsKeyId" in f.message]
    assert finding.unknown
