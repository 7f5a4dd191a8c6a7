"""Each component on its own under Pulumi's mocks: compliant as built, and every knob a user can turn
the wrong way is caught by a rule of the catalogue.

A component is deployed with the least it needs to be judged (a key, an audit-log bucket and a trail for a
personal-data table or bucket), through an explicit provider as the program does it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# The infra extra is declared in pyproject.toml: without it the run fails here, never skips.
import pulumi_aws  # noqa: F401
import pytest
from honesty import no_crash

from infra.testing import ACCOUNT_ID, MockCloud, stack_config  # noqa: E402

# Pulumi's mock runtime is set before any component (or pulumi_aws resource module) is imported.
MockCloud.install(stack_config("prod-cn-north-1"))

import pulumi  # noqa: E402
from pulumi_aws import Provider  # noqa: E402

from infra.buckets import (  # noqa: E402
    AuditLogBucket,
    AuditLogBucketArgs,
    PersonalDataBucket,
    PersonalDataBucketArgs,
    ReplicaTarget,
)
from infra.kms_key import KmsKey, KmsKeyArgs  # noqa: E402
from infra.place import Place  # noqa: E402
from infra.roles import ApplicationRole, ApplicationRoleArgs  # noqa: E402
from infra.table import PersonalDataTable, PersonalDataTableArgs  # noqa: E402
from infra.trail import AuditTrail, AuditTrailArgs  # noqa: E402

DR_KEY = "arn:aws-cn:kms:cn-northwest-1:123456789012:key/6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
APP_ROLE = f"arn:aws-cn:iam::{ACCOUNT_ID}:role/uploads-app"


@dataclass(frozen=True)
class Knobs:
    """What a user passes to the components; the defaults are compliant."""

    region: str = "cn-north-1"
    category: str = "user-uploads"
    retention_days: int = 365
    audit_retention_days: int = 365
    replica_region: str | None = None
    reader_role_arns: tuple[str, ...] = ()
    table_key: str | None = None
    role_bucket_arns: tuple[str, ...] | None = None
    trail_covers_buckets: bool = True
    trail_covers_tables: bool = True


def _place(knobs: Knobs) -> Place:
    regions = (knobs.region, knobs.replica_region) if knobs.replica_region else (knobs.region,)
    return Place(region=knobs.region, account_id=ACCOUNT_ID, data_regions=regions)


def _within(knobs: Knobs) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(providers=[Provider(f"aws-{knobs.region}", region=knobs.region)])


def key_alone(knobs: Knobs) -> None:
    KmsKey("key", KmsKeyArgs(description="data", place=_place(knobs), alias="data"), _within(knobs))


def table_with_key(knobs: Knobs) -> None:
    within, place = _within(knobs), _place(knobs)
    key = KmsKey("key", KmsKeyArgs(description="data", place=place, alias="data"), within)
    # CloudTrail records the table's data events (AUD-002), as the program's trail does.
    _audit(knobs, within, place, data_buckets=(), tables=("accounts",))
    PersonalDataTable(
        "accounts",
        PersonalDataTableArgs(
            table_name="accounts",
            category=knobs.category,
            retention_days=knobs.retention_days,
            kms_key_arn=knobs.table_key or key.arn,
        ),
        within,
    )


def role_alone(knobs: Knobs) -> None:
    place = _place(knobs)
    buckets = knobs.role_bucket_arns if knobs.role_bucket_arns is not None else (place.bucket_arn("uploads"),)
    ApplicationRole(
        "uploads-app",
        ApplicationRoleArgs(
            role_name="uploads-app",
            place=place,
            trust_service="ecs-tasks.amazonaws.com",
            bucket_arns=buckets,
            table_arns=(place.table_arn("accounts"),),
            kms_key_arns=(
                f"arn:aws-cn:kms:{knobs.region}:{ACCOUNT_ID}:key/0b9d2f3e-aaaa-4bbb-8ccc-000000000001",
            ),
        ),
        _within(knobs),
    )


def audit_store(knobs: Knobs) -> None:
    """The audit side alone: key, both audit-log buckets, and a trail writing to the locked one."""
    _audit(knobs, _within(knobs), _place(knobs), data_buckets=())


def _audit(
    knobs: Knobs,
    within: pulumi.ResourceOptions,
    place: Place,
    data_buckets: tuple[str, ...],
    tables: tuple[str, ...] = (),
) -> AuditLogBucket:
    key = KmsKey(
        "audit-key",
        KmsKeyArgs(
            description="audit",
            place=place,
            alias="audit",
            cloudtrail_trails=("audit",),
            s3_access_logging=True,
        ),
        within,
    )
    locked = AuditLogBucket(
        "trail-logs",
        AuditLogBucketArgs(
            bucket_name=f"trail-logs-{knobs.region}",
            retention_days=knobs.audit_retention_days,
            kms_key_arn=key.arn,
            place=place,
            protection="object-lock",
            cloudtrail_trails=("audit",),
        ),
        within,
    )
    access = AuditLogBucket(
        "access-logs",
        AuditLogBucketArgs(
            bucket_name=f"access-logs-{knobs.region}",
            retention_days=knobs.audit_retention_days,
            kms_key_arn=key.arn,
            place=place,
            protection="deny-delete",
            s3_access_logs=True,
        ),
        within,
    )
    AuditTrail(
        "trail",
        AuditTrailArgs(
            trail_name="audit",
            place=place,
            bucket_name=locked.bucket_name,
            kms_key_arn=key.arn,
            data_bucket_names=data_buckets if knobs.trail_covers_buckets else (),
            table_arns=[place.table_arn(t) for t in tables] if knobs.trail_covers_tables else (),
        ),
        within,
        depends_on=[locked.policy],
    )
    return access


def personal_bucket(knobs: Knobs) -> None:
    within, place = _within(knobs), _place(knobs)
    key = KmsKey("key", KmsKeyArgs(description="data", place=place, alias="data"), within)
    name = f"uploads-{knobs.region}"
    access = _audit(knobs, within, place, data_buckets=(name,))
    replica = (
        ReplicaTarget(
            knobs.replica_region,
            f"uploads-{knobs.replica_region}",
            DR_KEY.replace("cn-northwest-1", knobs.replica_region),
        )
        if knobs.replica_region
        else None
    )
    PersonalDataBucket(
        "uploads",
        PersonalDataBucketArgs(
            bucket_name=name,
            category=knobs.category,
            retention_days=knobs.retention_days,
            kms_key_arn=key.arn,
            place=place,
            access_log_bucket=access.bucket_name,
            allowed_role_arns=[APP_ROLE, *knobs.reader_role_arns],
            reader_role_arns=knobs.reader_role_arns,
            replica=replica,
        ),
        within,
    )


def _findings(declare: Callable[[Knobs], None], knobs: Knobs) -> list[Any]:
    cloud = MockCloud.install({"aws:region": knobs.region}, stack="component")
    cloud.deploy(lambda: declare(knobs))
    return no_crash(cloud.evaluate()).findings


COMPONENTS = {
    "kms key": key_alone,
    "personal-data table": table_with_key,
    "application role": role_alone,
    "audit-log buckets and trail": audit_store,
    "personal-data bucket": personal_bucket,
    "personal-data bucket with DR replica": lambda k: personal_bucket(Knobs(replica_region="cn-northwest-1")),
    "personal-data bucket with a named reader": lambda k: personal_bucket(
        Knobs(reader_role_arns=("arn:aws-cn:iam::210987654321:role/moderation",))
    ),
    "in cn-northwest-1": lambda k: personal_bucket(
        Knobs(region="cn-northwest-1", replica_region="cn-north-1")
    ),
}


@pytest.mark.parametrize("declare", list(COMPONENTS.values()), ids=list(COMPONENTS))
def test_component_is_compliant_as_built(declare: Callable[[Knobs], None]) -> None:
    findings = _findings(declare, Knobs())
    assert findings == [], "\n".join(f"{f.rule} {f.name}: {f.message}" for f in findings)


WRONG_KNOBS = [
    # (case, component, knobs, rule that catches it, words of its message)
    # Resource names carry their region: the words are what the rule says about it, not the name.
    ("bucket outside China", personal_bucket, Knobs(region="us-west-2"), "RES-001", "is in us-west-2"),
    ("provider outside China", key_alone, Knobs(region="eu-central-1"), "RES-002", "targets eu-central-1"),
    ("table outside China", table_with_key, Knobs(region="ap-east-1"), "RES-001", "is in ap-east-1"),
    (
        "replica outside China",
        personal_bucket,
        Knobs(replica_region="us-west-2"),
        "RES-003",
        "in the `aws` partition, outside mainland China",
    ),
    (
        "bucket retention above the maximum",
        personal_bucket,
        Knobs(retention_days=400),
        "RET-001",
        "365-day maximum",
    ),
    (
        "bucket retention below the minimum",
        personal_bucket,
        Knobs(category="server-logs", retention_days=30),
        "RET-001",
        "180-day minimum",
    ),
    ("audit retention below the minimum", audit_store, Knobs(audit_retention_days=90), "AUD-003", "180"),
    (
        "audit retention above the maximum",
        audit_store,
        Knobs(audit_retention_days=2000),
        "RET-001",
        "1095-day maximum",
    ),
    (
        "unknown category on a bucket",
        personal_bucket,
        Knobs(category="selfies"),
        "CLS-001",
        "`data-category: selfies`, which is not a known data category",
    ),
    (
        "unknown category on a table",
        table_with_key,
        Knobs(category="selfies"),
        "CLS-001",
        "`data-category: selfies`, which is not a known data category",
    ),
    (
        "reader outside aws-cn",
        personal_bucket,
        Knobs(reader_role_arns=("arn:aws:iam::123456789012:role/x",)),
        "RES-004",
        "arn:aws:iam",
    ),
    (
        "table with the AWS managed key",
        table_with_key,
        Knobs(table_key="alias/aws/dynamodb"),
        "ENC-002",
        "AWS managed key",
    ),
    ("table key in another region", table_with_key, Knobs(table_key=DR_KEY), "ENC-002", "cn-northwest-1"),
    (
        "role on every bucket",
        role_alone,
        Knobs(role_bucket_arns=("arn:aws-cn:s3:::*",)),
        "ACC-004",
        "every resource",
    ),
    (
        "trail without the bucket's data events",
        personal_bucket,
        Knobs(trail_covers_buckets=False),
        "AUD-002",
        "data-event selector",
    ),
    (
        "trail without the table's data events",
        table_with_key,
        Knobs(trail_covers_tables=False),
        "AUD-002",
        "AWS::DynamoDB::Table",
    ),
]


@pytest.mark.parametrize(
    ("case", "declare", "knobs", "rule", "words"), WRONG_KNOBS, ids=[c[0] for c in WRONG_KNOBS]
)
def test_wrong_knob_is_caught_by_a_rule(
    case: str, declare: Callable[[Knobs], None], knobs: Knobs, rule: str, words: str
) -> None:
    findings = _findings(declare, knobs)
    caught = [f for f in findings if f.rule == rule]
    assert caught, f"{case}: expected {rule}, got {[(f.rule, f.message) for f in findings]}"
    assert any(words in f.message for f in caught), [f.message for f in caught]
