"""Where a stack deploys (region, partition, account) and the exact ARNs derived from it.

ARNs are built from names the program chooses and the partition of the region, so they are known in a
preview (a policy built from another resource's `arn` output would be unknown until apply, which the
rules must report as unverifiable). The partition is never written by hand: `aws-cn` follows from a
`cn-*` region.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from infra.config import partition_for

TLS_MINIMUM = "1.2"


@dataclass(frozen=True)
class Place:
    region: str
    #: The account the stack deploys into (an invoke result: known in a preview, after credentials).
    account_id: pulumi.Input[str]
    #: The regions this stack's data may be requested in (its own, plus the disaster-recovery region).
    data_regions: tuple[str, ...] = ()

    @property
    def partition(self) -> str:
        return partition_for(self.region)

    @property
    def request_regions(self) -> list[str]:
        return list(self.data_regions or (self.region,))

    def bucket_arn(self, bucket: str) -> str:
        return f"arn:{self.partition}:s3:::{bucket}"

    def _account_arn(self, template: str) -> pulumi.Output[str]:
        return pulumi.Output.from_input(self.account_id).apply(
            lambda account: template.format(account=account)
        )

    def role_arn(self, role_name: str) -> pulumi.Output[str]:
        return self._account_arn(f"arn:{self.partition}:iam::{{account}}:role/{role_name}")

    def root_arn(self) -> pulumi.Output[str]:
        return self._account_arn(f"arn:{self.partition}:iam::{{account}}:root")

    def table_arn(self, table_name: str) -> pulumi.Output[str]:
        return self._account_arn(
            f"arn:{self.partition}:dynamodb:{self.region}:{{account}}:table/{table_name}"
        )

    def trail_arn(self, trail_name: str) -> pulumi.Output[str]:
        return self._account_arn(
            f"arn:{self.partition}:cloudtrail:{self.region}:{{account}}:trail/{trail_name}"
        )


def statement(
    sid: str,
    effect: str,
    actions: Sequence[str] | str,
    resources: Sequence[pulumi.Input[str]] | str | None,
    *,
    principal: Any = None,
    condition: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    st: dict[str, Any] = {"Sid": sid, "Effect": effect}
    if principal is not None:
        st["Principal"] = principal
    st["Action"] = actions if isinstance(actions, str) else list(actions)
    if resources is not None:  # trust policies have no Resource element
        st["Resource"] = resources if isinstance(resources, str) else list(resources)
    if condition:
        st["Condition"] = condition
    return st


def document(*statements: dict[str, Any]) -> pulumi.Output[str]:
    """A policy document as JSON text, resolving any Output inside the statements."""
    return pulumi.Output.from_input({"Version": "2012-10-17", "Statement": list(statements)}).apply(
        lambda doc: json.dumps(doc, indent=2)
    )


def tls_only_statements(bucket_arn: str) -> list[dict[str, Any]]:
    """Deny plain HTTP and TLS below 1.2 to every principal, on the bucket and its objects."""
    both = [bucket_arn, f"{bucket_arn}/*"]
    return [
        statement(
            "DenyInsecureTransport",
            "Deny",
            "s3:*",
            both,
            principal="*",
            condition={"Bool": {"aws:SecureTransport": "false"}},
        ),
        statement(
            "DenyOutdatedTls",
            "Deny",
            "s3:*",
            both,
            principal="*",
            condition={"NumericLessThan": {"s3:TlsVersion": TLS_MINIMUM}},
        ),
    ]


def region_pin(place: Place) -> dict[str, dict[str, Any]]:
    """The IAM condition that refuses requests outside the regions this stack's data lives in."""
    return {"StringEquals": {"aws:RequestedRegion": place.request_regions}}
