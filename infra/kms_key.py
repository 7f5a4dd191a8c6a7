"""A customer-managed KMS key in the stack's region, rotating, with a key policy that names its users."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi_aws import kms

from infra.place import Place, document, statement

#: Days a scheduled key deletion waits: the longest AWS allows, to undo a mistaken destroy.
DELETION_WINDOW_DAYS = 30


@dataclass(frozen=True)
class KmsKeyArgs:
    description: str
    place: Place
    alias: str
    #: Trails (by name) that may encrypt their log files with the key.
    cloudtrail_trails: tuple[str, ...] = ()
    #: S3 server access logging may encrypt log objects with the key (the access-log bucket's key).
    s3_access_logging: bool = False
    tags: dict[str, str] = field(default_factory=dict)


class KmsKey(pulumi.ComponentResource):
    """SEC-ENC-1: a customer-managed key, rotation on, deletion window 30 days, in the stack's region."""

    key: kms.Key
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: KmsKeyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("residency:infra:KmsKey", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        place = args.place
        self.key = kms.Key(
            name,
            description=args.description,
            enable_key_rotation=True,
            deletion_window_in_days=DELETION_WINDOW_DAYS,
            policy=key_policy(args),
            tags=args.tags or None,
            opts=child,
        )
        kms.Alias(f"{name}-alias", name=f"alias/{args.alias}", target_key_id=self.key.key_id, opts=child)
        self.arn = self.key.arn
        self.register_outputs({"arn": self.key.arn, "keyId": self.key.key_id, "region": place.region})


def key_policy(args: KmsKeyArgs) -> pulumi.Output[str]:
    place = args.place
    statements: list[dict[str, Any]] = [
        # The account administers the key; IAM policies (exact key ARN) grant its use to roles.
        statement("AccountAdministration", "Allow", "kms:*", "*", principal={"AWS": place.root_arn()}),
    ]
    for trail in args.cloudtrail_trails:
        trail_arn = place.trail_arn(trail)
        statements.append(
            statement(
                "CloudTrailEncryptLogs",
                "Allow",
                "kms:GenerateDataKey*",
                "*",
                principal={"Service": "cloudtrail.amazonaws.com"},
                condition={"StringEquals": {"aws:SourceArn": trail_arn}},
            )
        )
        statements.append(
            statement(
                "CloudTrailDescribeKey",
                "Allow",
                "kms:DescribeKey",
                "*",
                principal={"Service": "cloudtrail.amazonaws.com"},
                condition={"StringEquals": {"aws:SourceArn": trail_arn}},
            )
        )
    if args.s3_access_logging:
        statements.append(
            statement(
                "S3AccessLogDelivery",
                "Allow",
                "kms:GenerateDataKey",
                "*",
                principal={"Service": "logging.s3.amazonaws.com"},
                condition={"StringEquals": {"aws:SourceAccount": place.account_id}},
            )
        )
    return document(*statements)
