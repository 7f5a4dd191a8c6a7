"""Application roles: least privilege on exact ARNs, pinned to the regions the data lives in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
from pulumi_aws import iam

from infra.place import Place, document, region_pin, statement

BUCKET_OBJECT_ACTIONS = ("s3:GetObject", "s3:PutObject", "s3:DeleteObject")
BUCKET_LIST_ACTIONS = ("s3:ListBucket",)
TABLE_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
)
KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")


@dataclass(frozen=True)
class ApplicationRoleArgs:
    role_name: str
    place: Place
    #: The AWS service that runs the application and assumes the role.
    trust_service: str
    bucket_arns: Sequence[str] = ()
    table_arns: Sequence[pulumi.Input[str]] = ()
    kms_key_arns: Sequence[pulumi.Input[str]] = ()


class ApplicationRole(pulumi.ComponentResource):
    """SEC-ACC-1: a role whose policy names exact bucket, table and key ARNs, no wildcard actions."""

    role: iam.Role
    arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: ApplicationRoleArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("residency:infra:ApplicationRole", name, None, opts)
        place = args.place
        child = pulumi.ResourceOptions(parent=self)
        self.role = iam.Role(
            name,
            name=args.role_name,
            assume_role_policy=document(
                statement(
                    "TrustApplicationService",
                    "Allow",
                    "sts:AssumeRole",
                    None,
                    principal={"Service": args.trust_service},
                    condition={"StringEquals": {"aws:SourceAccount": place.account_id}},
                )
            ),
            opts=child,
        )
        pin = region_pin(place)
        statements = []
        if args.bucket_arns:
            statements.append(
                statement(
                    "Objects",
                    "Allow",
                    BUCKET_OBJECT_ACTIONS,
                    [f"{a}/*" for a in args.bucket_arns],
                    condition=pin,
                )
            )
            statements.append(
                statement("Listing", "Allow", BUCKET_LIST_ACTIONS, list(args.bucket_arns), condition=pin)
            )
        if args.table_arns:
            resources: list[pulumi.Input[str]] = []
            for arn in args.table_arns:
                resources += [arn, pulumi.Output.concat(arn, "/index/*")]
            statements.append(statement("Items", "Allow", TABLE_ACTIONS, resources, condition=pin))
        if statements:
            iam.RolePolicy(f"{name}-access", role=self.role.name, policy=document(*statements), opts=child)
        if args.kms_key_arns:
            # A policy of its own: a key created by the same stack has no ARN until apply, and the store
            # grants above stay verifiable in the first preview.
            iam.RolePolicy(
                f"{name}-key-access",
                role=self.role.name,
                policy=document(
                    statement("DataKey", "Allow", KEY_ACTIONS, list(args.kms_key_arns), condition=pin)
                ),
                opts=child,
            )
        self.arn = self.role.arn
        self.register_outputs({"arn": self.role.arn})
