"""A CloudTrail trail recording object-level access to personal data, in validated, encrypted logs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
from pulumi_aws import cloudtrail

from infra.place import Place


@dataclass(frozen=True)
class AuditTrailArgs:
    trail_name: str
    place: Place
    #: The audit-log bucket (Object Lock) the trail writes to, under `cloudtrail/`.
    bucket_name: str
    kms_key_arn: pulumi.Input[str]
    #: Personal-data buckets whose S3 data events (every read and write of an object) are recorded.
    data_bucket_names: Sequence[str] = ()
    #: Personal-data tables whose DynamoDB data events are recorded.
    table_arns: Sequence[pulumi.Input[str]] = ()


class AuditTrail(pulumi.ComponentResource):
    """SEC-AUD-1: log-file validation, KMS, S3 (and DynamoDB) data events, writing in territory."""

    trail: cloudtrail.Trail

    def __init__(
        self,
        name: str,
        args: AuditTrailArgs,
        opts: pulumi.ResourceOptions | None = None,
        *,
        depends_on: Sequence[pulumi.Resource] = (),
    ) -> None:
        super().__init__("residency:infra:AuditTrail", name, None, opts)
        partition = args.place.partition
        data_resources: list[dict[str, object]] = []
        if args.data_bucket_names:
            data_resources.append(
                {
                    "type": "AWS::S3::Object",
                    # A trailing slash with no object prefix: every object of the bucket.
                    "values": [f"arn:{partition}:s3:::{b}/" for b in args.data_bucket_names],
                }
            )
        if args.table_arns:
            data_resources.append({"type": "AWS::DynamoDB::Table", "values": list(args.table_arns)})
        self.trail = cloudtrail.Trail(
            name,
            name=args.trail_name,
            s3_bucket_name=args.bucket_name,
            s3_key_prefix="cloudtrail",
            kms_key_id=args.kms_key_arn,
            enable_log_file_validation=True,
            enable_logging=True,
            # aws-cn has two regions; a multi-region trail records both.
            is_multi_region_trail=True,
            include_global_service_events=True,
            event_selectors=[
                {
                    "read_write_type": "All",
                    "include_management_events": True,
                    "data_resources": data_resources,
                }
            ],
            # CloudTrail checks the bucket policy when the trail is created.
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(depends_on)),
        )
        self.register_outputs({"arn": self.trail.arn, "bucket": args.bucket_name})
