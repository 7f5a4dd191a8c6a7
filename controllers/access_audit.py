"""AccessAuditPolicy: server access logging on, audit logs kept long enough, accesses reviewed.

Per S3 data store: logging goes to `auditLog.bucket`/`prefix`, but only if the audit bucket is in
the data store's region (logs are personal data too; they never leave it). The audit bucket's
lifecycle must not expire the log prefix before `minRetentionDays` (raised in Enforce mode).

CloudTrail coverage (trails are owned by the platform stack, so this reconciler reports and does not
edit them): every data store needs a trail that logs in the store's region (home region or
multi-region), is logging (GetTrailStatus) without a delivery error, and whose event selectors record
every read and every write of the whole bucket (`arn:P:s3:::bucket/`, or all buckets) or of the exact
table ARN (from DescribeTable, or all tables). Basic selectors are read as CloudTrail applies them
(ReadWriteType, DataResources values as ARN prefixes); advanced selectors are evaluated field by field
(Equals/StartsWith/EndsWith values ORed, NotEquals/NotStartsWith/NotEndsWith values ANDed). A prefix,
a single object, an exclusion, another table, `readOnly`, `eventName` or any other narrowing field is
not coverage. Reads and writes may come from different selectors or trails. Each uncovered store is
a finding naming every trail and why it does not count.

Access-log records of the data stores within `lookbackDays` are checked against
`allowedPrincipals`; every other requester is a finding with requester, operation, key and time. A
bucket with no access-log record in that period is a finding ("no access logs delivered"): an empty
log is no evidence that only allowed principals read the data. DynamoDB stores get the CloudTrail
check only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from controllers.access_log import parse_log, principal_allowed
from controllers.actions import Progress, PutLifecycle, PutLogging, apply_actions
from controllers.aws import ClientFactory, RetryPolicy, call, error_code
from controllers.models import AccessAuditPolicySpec, AuditLog, Mode
from controllers.results import MAX_LISTED, ReconcileResult, StoreResult
from policies.settings import DEFAULT_ALLOWED_REGIONS

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
    territory = [r for r in DEFAULT_ALLOWED_REGIONS if _partition(r) in {_partition(x) for x in regions}]
    trails, unlisted = discover_trails(clients, regions, territory)
    buckets: dict[str, StoreResult] = {}
    #: Buckets whose access logs go to the audit bucket: already (True) or from this run on (False).
    logged: dict[str, bool] = {}
    for store in spec.data_stores:
        out = StoreResult(store.label)
        result.stores.append(out)
        region = store.s3.region if store.s3 else store.dynamodb.region  # type: ignore[union-attr]
        partition = _partition(region)
        try:
            if store.s3 is not None:
                buckets[store.s3.bucket] = out
                resource = Resource(
                    "AWS::S3::Object", partition, region, f"arn:{partition}:s3:::{store.s3.bucket}/", "bucket"
                )
            else:
                assert store.dynamodb is not None
                table = call(
                    clients.retry,
                    clients.client("dynamodb", region).describe_table,
                    TableName=store.dynamodb.table,
                )["Table"]
                resource = Resource("AWS::DynamoDB::Table", partition, region, table["TableArn"], "table")
            if region in unlisted:
                out.error(f"CloudTrail trails in {region} could not be listed: {unlisted[region]}")
            else:
                report_coverage(trails, resource, out)
            if store.s3 is None or audit_region is None:
                continue
            if audit_region != region:
                out.findings.append(
                    f"audit bucket {log.bucket} is in {audit_region}, this store in {region}: refusing to "
                    "send access logs out of the region; use an audit bucket in the same region"
                )
                continue
            logging = plan_logging(clients.client("s3", region), clients.retry, region, store.s3.bucket, log)
            logged[store.s3.bucket] = logging is None
            apply_actions([logging] if logging else [], clients, out, apply=apply)
        except Exception as exc:  # noqa: BLE001
            out.error(f"{error_code(exc) or type(exc).__name__}: {exc}")
    if audit_region is not None and buckets:
        try:
            review_access_logs(
                clients.client("s3", audit_region), clients.retry, spec, buckets, now, result, progress
            )
        except Exception as exc:  # noqa: BLE001
            result.errors.append(f"reading access logs: {error_code(exc) or type(exc).__name__}: {exc}")
        else:
            report_missing_logs(log, logged, buckets, now, apply=apply)
    result.finished = datetime.now(now.tzinfo)
    return result


def report_missing_logs(
    log: AuditLog, logged: dict[str, bool], buckets: dict[str, StoreResult], now: datetime, *, apply: bool
) -> None:
    """A bucket with no access-log record in the lookback period: nothing was reviewed, so not compliant."""
    since = (
        (now - timedelta(days=log.lookback_days)).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    )
    for bucket, was_on in logged.items():
        out = buckets[bucket]
        if out.examined:
            continue
        if was_on:
            off = ""
        else:
            off = "; access logging was off until this run" if apply else "; access logging is off"
        out.findings.append(
            f"no access logs delivered: no record for this bucket in s3://{log.bucket}/{log.prefix} "
            f"since {since} (lookbackDays {log.lookback_days}){off}; its accesses cannot be reviewed, "
            "and an empty log is no evidence that only allowed principals accessed it"
        )


def _partition(region: str) -> str:
    return "aws-cn" if region.startswith("cn-") else "aws"


def report_coverage(trails: list[Trail], resource: Resource, out: StoreResult) -> None:
    """A finding naming every trail and why it does not record all reads and writes of the resource."""
    covered, reasons, errors = coverage_gaps(trails, resource)
    if covered == BOTH:
        return
    for error in errors:
        out.error(f"CloudTrail coverage not fully evaluated: {error}")
    what = {
        frozenset(): "data events (reads and writes)",
        frozenset({READ}): "writes",
        frozenset({WRITE}): "reads",
    }[covered]
    noun = "S3" if resource.noun == "bucket" else "DynamoDB"
    out.findings.append(
        f"no CloudTrail trail records {noun} {what} of this {resource.noun}: {'; '.join(reasons) or 'its trails could not be read'}"
    )


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


# --- CloudTrail coverage ---------------------------------------------------------------------------

READ, WRITE = "read", "write"
BOTH = frozenset({READ, WRITE})
_POSITIVE = ("Equals", "StartsWith", "EndsWith")
_NEGATIVE = {"NotEquals": "Equals", "NotStartsWith": "StartsWith", "NotEndsWith": "EndsWith"}
#: Advanced-selector fields whose condition is evaluated; any other field narrows what is logged.
_EVALUATED = {"eventCategory", "resources.type", "resources.ARN", "readOnly", "eventSource"}
_SYMBOL = {"Equals": "=", "NotEquals": "!="}


@dataclass(frozen=True)
class Resource:
    """What a selector must cover: every object of a bucket, or one table."""

    type: str  # AWS::S3::Object or AWS::DynamoDB::Table
    partition: str
    region: str
    #: `arn:P:s3:::bucket/` (every object ARN starts with it) or the table's exact ARN.
    arn: str
    noun: str  # "bucket" or "table"

    @property
    def source(self) -> str:
        return "s3.amazonaws.com" if self.type == "AWS::S3::Object" else "dynamodb.amazonaws.com"


@dataclass
class Trail:
    name: str
    arn: str
    home_region: str
    multi_region: bool
    logging: bool = False
    delivery_error: str = ""
    basic: list[dict[str, Any]] = field(default_factory=list)
    advanced: list[dict[str, Any]] = field(default_factory=list)
    #: Why its status or selectors could not be read (then it covers nothing).
    error: str = ""

    def logs_in(self, region: str) -> bool:
        return self.multi_region or self.home_region == region


def discover_trails(
    clients: ClientFactory, regions: set[str], extra_regions: Iterable[str] = ()
) -> tuple[list[Trail], dict[str, str]]:
    """Every trail visible from the stores' regions (and, to name them, the rest of the territory).

    A trail's status and selectors are read in its home region, and only for trails that log in a
    store's region. Returns the trails and, per store region, why its trails could not be listed.
    """
    trails: dict[str, Trail] = {}
    failed: dict[str, str] = {}
    for region in sorted(regions) + sorted(set(extra_regions) - regions):
        try:
            listed = call(
                clients.retry,
                clients.client("cloudtrail", region).describe_trails,
                includeShadowTrails=True,
            ).get("trailList", [])
        except Exception as exc:  # noqa: BLE001
            if region in regions:
                failed[region] = f"{error_code(exc) or type(exc).__name__}: {exc}"
            continue  # the rest of the territory is listed only to explain; it decides nothing
        for entry in listed:
            arn = entry.get("TrailARN") or entry["Name"]
            if arn not in trails:
                home = entry.get("HomeRegion") or region
                trails[arn] = Trail(entry["Name"], arn, home, bool(entry.get("IsMultiRegionTrail")))
    for trail in trails.values():
        if not any(trail.logs_in(r) for r in regions):
            continue
        client = clients.client("cloudtrail", trail.home_region)
        try:
            status = call(clients.retry, client.get_trail_status, Name=trail.arn)
            trail.logging = status.get("IsLogging") is True
            trail.delivery_error = status.get("LatestDeliveryError") or ""
            selectors = call(clients.retry, client.get_event_selectors, TrailName=trail.arn)
            trail.basic = list(selectors.get("EventSelectors") or ())
            trail.advanced = list(selectors.get("AdvancedEventSelectors") or ())
        except Exception as exc:  # noqa: BLE001
            trail.error = f"{error_code(exc) or type(exc).__name__}: {exc}"
    return list(trails.values()), failed


def coverage_gaps(trails: list[Trail], resource: Resource) -> tuple[frozenset[str], list[str], list[str]]:
    """Which of reads and writes of `resource` some logging trail records, why the rest is not, and errors."""
    covered: set[str] = set()
    reasons: list[str] = []
    errors: list[str] = []
    for trail in trails:
        if not trail.logs_in(resource.region):
            reasons.append(
                f"trail {trail.name} is a single-region trail of {trail.home_region}, not {resource.region}"
            )
            continue
        if trail.error:
            errors.append(f"trail {trail.name} could not be read: {trail.error}")
            continue
        modes, why = selector_coverage(trail, resource)
        broken = []
        if not trail.logging:
            broken.append("is not logging (GetTrailStatus IsLogging false)")
        if trail.delivery_error:
            broken.append(f"fails to deliver its logs ({trail.delivery_error})")
        if broken:
            reasons.append(f"trail {trail.name} " + " and ".join(broken))
        else:
            covered |= modes
        if modes != BOTH:
            reasons += [f"trail {trail.name}: {w}" for w in why]
    if not trails:
        reasons.append(f"no CloudTrail trail logs in {resource.region}")
    return frozenset(covered), reasons, errors


def selector_coverage(trail: Trail, resource: Resource) -> tuple[frozenset[str], list[str]]:
    """Reads and/or writes of the whole resource that this trail's selectors log, and why not the rest."""
    modes: set[str] = set()
    why: list[str] = []
    others: list[str] = []
    for n, selector in enumerate(trail.basic, 1):
        rw = selector.get("ReadWriteType") or "All"
        sel_modes = {"All": BOTH, "ReadOnly": {READ}, "WriteOnly": {WRITE}}.get(rw, set())
        full = False
        for data in selector.get("DataResources") or ():
            if data.get("Type") != resource.type:
                continue
            for value in data.get("Values") or ():
                kind, note = _basic_value(value, resource)
                if kind is _ALL:
                    full = True
                elif kind is _SOME:
                    why.append(f"event selector {n} {note}")
                else:
                    others.append(value)
        if full:
            modes |= sel_modes
            if sel_modes != BOTH:
                why.append(f"event selector {n} logs {_only(sel_modes)} (ReadWriteType {rw})")
    for n, selector in enumerate(trail.advanced, 1):
        label = f"advanced selector {selector.get('Name') or n}"
        fields: dict[str, list[dict[str, Any]]] = {}
        for condition in selector.get("FieldSelectors") or ():
            fields.setdefault(condition.get("Field", ""), []).append(condition)
        if not _holds(fields.get("eventCategory"), "Data"):
            continue
        if not _holds(fields.get("resources.type"), resource.type):
            continue
        kind, notes, outside = _arn_coverage(fields.get("resources.ARN"), resource)
        if kind is _NONE:
            if notes:
                why += [f"{label} {note}" for note in notes]
            others += outside
            continue
        narrowed = [
            _describe(c) for name, conditions in fields.items() if name not in _EVALUATED for c in conditions
        ]
        if not _holds(fields.get("eventSource"), resource.source):
            narrowed += [_describe(c) for c in fields["eventSource"]]
        if narrowed:
            why.append(f"{label} is narrowed to {' and '.join(narrowed)}")
            continue
        if kind is _SOME:
            why += [f"{label} {note}" for note in notes]
            continue
        sel_modes = {
            m for m, flag in ((READ, "true"), (WRITE, "false")) if _holds(fields.get("readOnly"), flag)
        }
        modes |= sel_modes
        if sel_modes != BOTH:
            restriction = " and ".join(_describe(c) for c in fields["readOnly"])
            why.append(f"{label} logs {_only(sel_modes)} ({restriction})")
    if modes != BOTH and not why:
        named = f" (its {resource.noun} selectors name only {', '.join(others[:3])})" if others else ""
        why.append(f"no data-event selector for this {resource.noun}{named}")
    return frozenset(modes), why


def _only(modes: set[str] | frozenset[str]) -> str:
    return {frozenset({READ}): "reads only", frozenset({WRITE}): "writes only"}.get(
        frozenset(modes), "nothing"
    )


def _describe(condition: dict[str, Any]) -> str:
    parts = []
    for op in (*_POSITIVE, *_NEGATIVE):
        values = condition.get(op)
        if values:
            parts.append(f"{condition.get('Field')}{_SYMBOL.get(op, f' {op} ')}{','.join(values)}")
    return " and ".join(parts) or f"{condition.get('Field')} (no condition)"


def _match(op: str, pattern: str, value: str) -> bool:
    if op == "Equals":
        return value == pattern
    if op == "StartsWith":
        return value.startswith(pattern)
    return value.endswith(pattern)


def _holds(conditions: list[dict[str, Any]] | None, value: str) -> bool:
    """Does `value` satisfy every condition on a field (its values ORed, its Not... values ANDed)?"""
    for condition in conditions or ():
        positive = [(op, p) for op in _POSITIVE for p in condition.get(op) or ()]
        negative = [(_NEGATIVE[op], p) for op in _NEGATIVE for p in condition.get(op) or ()]
        if positive and not any(_match(op, p, value) for op, p in positive):
            return False
        if any(_match(op, p, value) for op, p in negative):
            return False
    return True


class _Extent:
    """How much of a resource a condition selects: all of it, some of it, or none."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


_ALL, _SOME, _NONE = _Extent("all"), _Extent("some"), _Extent("none")


def _any(kinds: list[_Extent]) -> _Extent:
    if _ALL in kinds:
        return _ALL
    return _SOME if _SOME in kinds else _NONE


def _every(kinds: list[_Extent]) -> _Extent:
    if _NONE in kinds:
        return _NONE
    return _SOME if _SOME in kinds else _ALL


def _basic_value(value: str, resource: Resource) -> tuple[_Extent, str]:
    """A basic selector's DataResources value: the whole resource, part of it, or something else."""
    p = resource.partition
    if resource.type == "AWS::S3::Object":
        if value in (f"arn:{p}:s3", f"arn:{p}:s3:::", resource.arn, resource.arn[:-1]):
            return _ALL, ""
        if value.startswith(resource.arn):
            return (
                _SOME,
                f"logs only objects under prefix {value[len(resource.arn) :]!r}, not the whole bucket",
            )
        return _NONE, ""
    return (_ALL, "") if value in (f"arn:{p}:dynamodb", resource.arn) else (_NONE, "")


def _arn_atom(op: str, pattern: str, resource: Resource) -> tuple[_Extent, str]:
    """How much of the resource one positive condition on resources.ARN selects."""
    if resource.type != "AWS::S3::Object":
        return (_ALL if _match(op, pattern, resource.arn) else _NONE), pattern
    base = resource.arn  # every object ARN of the bucket starts with it; nothing else does
    if op == "StartsWith":
        if base.startswith(pattern):
            return _ALL, pattern
        if pattern.startswith(base):
            return _SOME, f"prefix {pattern[len(base) :]!r}"
        return _NONE, pattern
    if op == "Equals":
        return (_SOME, f"object {pattern[len(base) :]!r}") if pattern.startswith(base) else (_NONE, pattern)
    # EndsWith: some keys of any bucket end with any suffix; only the empty suffix selects them all.
    return (_ALL, pattern) if pattern == "" else (_SOME, f"keys ending in {pattern!r}")


def _arn_coverage(
    conditions: list[dict[str, Any]] | None, resource: Resource
) -> tuple[_Extent, list[str], list[str]]:
    """How much of the resource the resources.ARN conditions select, why not all, and the other ARNs named."""
    kinds: list[_Extent] = []
    notes: list[str] = []
    outside: list[str] = []
    for condition in conditions or ():
        positive: list[_Extent] = []
        for op in _POSITIVE:
            for pattern in condition.get(op) or ():
                kind, what = _arn_atom(op, pattern, resource)
                positive.append(kind)
                if kind is _SOME:
                    notes.append(f"logs only {what} of the {resource.noun} (resources.ARN {op} {pattern})")
                elif kind is _NONE:
                    outside.append(pattern)
        negative: list[_Extent] = []
        for op, base_op in _NEGATIVE.items():
            for pattern in condition.get(op) or ():
                kind, what = _arn_atom(base_op, pattern, resource)
                # Excluding all of the resource selects none of it, excluding part of it selects part.
                kind = {_ALL: _NONE, _SOME: _SOME, _NONE: _ALL}[kind]
                negative.append(kind)
                if kind is _NONE:
                    notes.append(f"excludes this {resource.noun} (resources.ARN {op} {pattern})")
                elif kind is _SOME:
                    notes.append(f"excludes {what} of the {resource.noun} (resources.ARN {op} {pattern})")
        kinds.append(_every([_any(positive) if positive else _ALL, *negative]))
    kind = _every(kinds)
    if kind is _ALL:
        return kind, [], []
    if kind is _NONE:
        # Name why only when an exclusion (not merely another resource) removed this one.
        return kind, [n for n in notes if n.startswith("excludes this")], outside
    return kind, notes, outside


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
