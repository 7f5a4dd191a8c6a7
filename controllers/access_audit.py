"""AccessAuditPolicy: server access logging on, audit logs kept long enough, accesses reviewed.

Per S3 data store: logging goes to `auditLog.bucket`/`prefix`, but only if the audit bucket is in
the data store's region (logs are personal data too; they never leave it). The audit bucket's
lifecycle must not expire the log prefix before `minRetentionDays` (raised in Enforce mode). A
missing CloudTrail data-event selector is a finding (trails are owned by the platform stack, so
this reconciler reports and does not edit them). Access-log records of the data stores within
`lookbackDays` are checked against `allowedPrincipals`; every other requester is a finding with
requester, operation, key and time. DynamoDB stores get the CloudTrail check only.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from controllers.access_log import parse_log, principal_allowed
from controllers.actions import Progress, PutLifecycle, PutLogging, apply_actions
from controllers.aws import ClientFactory, RetryPolicy, call, error_code
from controllers.models import AccessAuditPolicySpec, AuditLog, Mode
from controllers.results import MAX_LISTED, ReconcileResult, StoreResult

#: Access records kept in `details`; the count in the finding is always complete.
MAX_DETAILS = 1000


def reconcile_access_audit(
    spec: AccessAuditPolicySpec,
    *,
    name: str,
    clients: ClientFactory,
    now: datetime,
    dry_run: bool = False,
    source: str = "",
    progress: Progress | None = None,
) -> ReconcileResult:
    audit = spec.mode is Mode.AUDIT
    result = ReconcileResult(
        "AccessAuditPolicy", name, source, started=datetime.now(now.tzinfo), dry_run=dry_run, audit=audit
    )
    apply = not (dry_run or audit)
    log = spec.audit_log
    trails: dict[str, list[dict[str, Any]]] = {}
    regions = {s.s3.region if s.s3 else s.dynamodb.region for s in spec.data_stores}  # type: ignore[union-attr]
    try:
        audit_region = bucket_region(clients.client("s3", sorted(regions)[0]), clients.retry, log.bucket)
        out = StoreResult(f"s3://{log.bucket} (audit)")
        result.stores.append(out)
        retention = plan_log_retention(
            clients.client("s3", audit_region), clients.retry, audit_region, log, out
        )
        apply_actions([retention] if retention else [], clients, out, apply=apply)
    except Exception as exc:  # noqa: BLE001
        result.errors.append(f"audit bucket {log.bucket}: {error_code(exc) or type(exc).__name__}: {exc}")
        audit_region = None
    buckets: dict[str, StoreResult] = {}
    for store in spec.data_stores:
        out = StoreResult(store.label)
        result.stores.append(out)
        region = store.s3.region if store.s3 else store.dynamodb.region  # type: ignore[union-attr]
        try:
            if region not in trails:
                trails[region] = trail_selectors(clients.client("cloudtrail", region), clients.retry)
            partition = "aws-cn" if region.startswith("cn-") else "aws"
            if store.s3 is not None:
                buckets[store.s3.bucket] = out
                if not covers(trails[region], "AWS::S3::Object", f"arn:{partition}:s3:::{store.s3.bucket}/"):
                    out.findings.append("no CloudTrail trail records S3 data events for this bucket")
                if audit_region is None:
                    continue
                if audit_region != region:
                    out.findings.append(
                        f"audit bucket {log.bucket} is in {audit_region}, this store in {region}: refusing to "
                        "send access logs out of the region; use an audit bucket in the same region"
                    )
                    continue
                logging = plan_logging(
                    clients.client("s3", region), clients.retry, region, store.s3.bucket, log
                )
                apply_actions([logging] if logging else [], clients, out, apply=apply)
            else:
                assert store.dynamodb is not None
                table = f":table/{store.dynamodb.table}"
                if not covers(trails[region], "AWS::DynamoDB::Table", table):
                    out.findings.append("no CloudTrail trail records DynamoDB data events for this table")
        except Exception as exc:  # noqa: BLE001
            out.error(f"{error_code(exc) or type(exc).__name__}: {exc}")
    if audit_region is not None and buckets:
        try:
            review_access_logs(
                clients.client("s3", audit_region), clients.retry, spec, buckets, now, result, progress
            )
        except Exception as exc:  # noqa: BLE001
            result.errors.append(f"reading access logs: {error_code(exc) or type(exc).__name__}: {exc}")
    result.finished = datetime.now(now.tzinfo)
    return result


def bucket_region(client: Any, retry: RetryPolicy, bucket: str) -> str:
    location = call(retry, client.get_bucket_location, Bucket=bucket).get("LocationConstraint")
    return {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(location, location)


def plan_logging(
    client: Any, retry: RetryPolicy, region: str, bucket: str, log: AuditLog
) -> PutLogging | None:
    current = call(retry, client.get_bucket_logging, Bucket=bucket).get("LoggingEnabled") or {}
    if current.get("TargetBucket") == log.bucket and current.get("TargetPrefix", "") == log.prefix:
        return None
    return PutLogging(region, bucket, log.bucket, log.prefix)


def _rule_prefix(rule: dict[str, Any]) -> str:
    filt = rule.get("Filter")
    if filt is None:
        return rule.get("Prefix", "")
    if "And" in filt:
        return filt["And"].get("Prefix", "")
    return filt.get("Prefix", "")


def plan_log_retention(
    client: Any, retry: RetryPolicy, region: str, log: AuditLog, out: StoreResult
) -> PutLifecycle | None:
    """No enabled lifecycle rule may expire log objects before `minRetentionDays`: raise the short ones."""
    try:
        rules = call(retry, client.get_bucket_lifecycle_configuration, Bucket=log.bucket).get("Rules", [])
    except Exception as exc:
        if error_code(exc) != "NoSuchLifecycleConfiguration":
            raise
        rules = []
    short: list[str] = []
    fixed: list[dict[str, Any]] = []
    for rule in rules:
        prefix = _rule_prefix(rule)
        applies = rule.get("Status") == "Enabled" and (
            prefix.startswith(log.prefix) or log.prefix.startswith(prefix)
        )
        rule = dict(rule)
        if applies:
            expiration = dict(rule.get("Expiration") or {})
            if "Date" in expiration:
                out.findings.append(
                    f"lifecycle rule {rule.get('ID', '?')} expires audit logs on a fixed date; "
                    f"use Days >= {log.min_retention_days}"
                )
            elif expiration.get("Days") is not None and expiration["Days"] < log.min_retention_days:
                short.append(f"{rule.get('ID', '?')} after {expiration['Days']} days")
                expiration["Days"] = log.min_retention_days
                rule["Expiration"] = expiration
            noncurrent = dict(rule.get("NoncurrentVersionExpiration") or {})
            if (
                noncurrent.get("NoncurrentDays") is not None
                and noncurrent["NoncurrentDays"] < log.min_retention_days
            ):
                short.append(
                    f"{rule.get('ID', '?')} (old versions) after {noncurrent['NoncurrentDays']} days"
                )
                noncurrent["NoncurrentDays"] = log.min_retention_days
                rule["NoncurrentVersionExpiration"] = noncurrent
        fixed.append(rule)
    if not short:
        return None
    why = f"audit logs kept less than {log.min_retention_days} days: {'; '.join(short)}"
    return PutLifecycle(region, log.bucket, tuple(fixed), why)


def trail_selectors(client: Any, retry: RetryPolicy) -> list[dict[str, Any]]:
    """Every event selector (basic and advanced) of every trail visible in the region."""
    selectors: list[dict[str, Any]] = []
    for trail in call(retry, client.describe_trails, includeShadowTrails=True).get("trailList", []):
        answer = call(retry, client.get_event_selectors, TrailName=trail.get("TrailARN") or trail["Name"])
        selectors += [{"basic": s} for s in answer.get("EventSelectors") or ()]
        selectors += [{"advanced": s} for s in answer.get("AdvancedEventSelectors") or ()]
    return selectors


def covers(selectors: list[dict[str, Any]], resource_type: str, arn_part: str) -> bool:
    """Does any selector log read and write data events for this resource?"""
    service_all = {"AWS::S3::Object": ("arn:aws-cn:s3", "arn:aws-cn:s3:::", "arn:aws:s3", "arn:aws:s3:::")}
    for entry in selectors:
        if "basic" in entry:
            sel = entry["basic"]
            if sel.get("ReadWriteType", "All") != "All":
                continue
            for res in sel.get("DataResources") or ():
                if res.get("Type") != resource_type:
                    continue
                for value in res.get("Values") or ():
                    if (
                        value in service_all.get(resource_type, ())
                        or arn_part in value
                        or value.endswith(arn_part)
                    ):
                        return True
                    if resource_type == "AWS::DynamoDB::Table" and value in (
                        "arn:aws-cn:dynamodb",
                        "arn:aws:dynamodb",
                    ):
                        return True
        else:
            fields = {f["Field"]: f for f in entry["advanced"].get("FieldSelectors", ())}
            if resource_type not in (fields.get("resources.type", {}).get("Equals") or ()):
                continue
            if "readOnly" in fields:
                continue
            arn = fields.get("resources.ARN")
            if arn is None or any(arn_part in v for k in ("Equals", "StartsWith") for v in arn.get(k, ())):
                return True
    return False


def review_access_logs(
    client: Any,
    retry: RetryPolicy,
    spec: AccessAuditPolicySpec,
    buckets: dict[str, StoreResult],
    now: datetime,
    result: ReconcileResult,
    progress: Progress | None,
) -> None:
    log = spec.audit_log
    since = now - timedelta(days=log.lookback_days)
    kwargs: dict[str, Any] = {"Bucket": log.bucket, "Prefix": log.prefix, "MaxKeys": 1000}
    violations = malformed = 0
    while True:
        page = call(retry, client.list_objects_v2, **kwargs)
        for obj in page.get("Contents", ()):
            if obj["LastModified"] < since:
                continue
            body = call(retry, client.get_object, Bucket=log.bucket, Key=obj["Key"])["Body"].read()
            records, bad = parse_log(body.decode("utf-8", errors="replace"))
            malformed += bad
            for record in records:
                store = buckets.get(record.bucket)
                if store is None or record.time < since:
                    continue
                store.examined += 1
                if principal_allowed(record.requester, spec.allowed_principals):
                    continue
                violations += 1
                if len(store.findings) < MAX_LISTED:
                    store.findings.append(
                        f"{record.requester} {record.operation} {record.key} at {record.time.isoformat()} "
                        "is not an allowed principal"
                    )
                if len(result.details) < MAX_DETAILS:
                    result.details.append(
                        {
                            "bucket": record.bucket,
                            "requester": record.requester,
                            "operation": record.operation,
                            "key": record.key,
                            "time": record.time.isoformat(),
                            "remoteIp": record.remote_ip,
                        }
                    )
            if progress:
                progress("examined", len(records))
        if not page.get("IsTruncated"):
            break
        kwargs["ContinuationToken"] = page["NextContinuationToken"]
    if malformed:
        result.findings.append(f"{malformed} access-log line(s) could not be parsed and were not reviewed")
    if violations:
        result.evidence["unauthorizedAccesses"] = violations
