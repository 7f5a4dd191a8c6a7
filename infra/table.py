"""A DynamoDB table for one category of personal data, compliant by construction."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_aws import dynamodb

from infra.buckets import CLASSIFICATION_TAG


@dataclass(frozen=True)
class PersonalDataTableArgs:
    table_name: str
    category: str
    retention_days: int
    kms_key_arn: pulumi.Input[str]
    hash_key: str = "id"
    #: The attribute holding each item's expiry time (epoch seconds); the application writes
    #: `now + retention_days` into it, and DynamoDB deletes the item after that time.
    ttl_attribute: str = "expiresAt"


class PersonalDataTable(pulumi.ComponentResource):
    """Customer-managed key, point-in-time recovery, deletion protection, TTL; no replicas (CN-RES-1)."""

    table: dynamodb.Table
    table_name: str

    def __init__(
        self, name: str, args: PersonalDataTableArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("residency:infra:PersonalDataTable", name, None, opts)
        self.table_name = args.table_name
        self.table = dynamodb.Table(
            name,
            name=args.table_name,
            billing_mode="PAY_PER_REQUEST",
            hash_key=args.hash_key,
            attributes=[{"name": args.hash_key, "type": "S"}],
            server_side_encryption={"enabled": True, "kms_key_arn": args.kms_key_arn},
            point_in_time_recovery={"enabled": True},
            deletion_protection_enabled=True,
            ttl={"enabled": True, "attribute_name": args.ttl_attribute},
            tags={CLASSIFICATION_TAG: args.category, "retention-days": str(args.retention_days)},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs(
            {"name": self.table.name, "arn": self.table.arn, "ttlAttribute": args.ttl_attribute}
        )
