"""Access audit: personal-data buckets log every access to a tamper-resistant store in territory.

Three questions, one rule each: does S3 server access logging go to a bucket in the same region
(AUD-001), does a CloudTrail trail record the S3 data events of every personal-data bucket, with
validated and encrypted log files (AUD-002), and are the audit logs themselves kept at least the
minimum and protected against deletion (AUD-003)?

An "audit-log bucket" is a bucket tagged with the `audit-logs` category, the server-access-logging
target of another bucket in the stack, or the bucket a CloudTrail trail of the stack writes to. The
reverse lookups this needs (who logs where, which trail writes where) are built once per stack by
`audit_index` and shared with the retention rules. In a first preview a logging target or a trail's
bucket is often unknown (`log_bucket.id`): it resolves through `policies.references` when its property
dependency names exactly one bucket of the stack, and is otherwise reported as unknown.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from policies.documents import MalformedDocument
from policies.kms import KEY_OR_ALIAS_TYPES
from policies.model import UNKNOWN, Resource, Severity
from policies.references import AT_APPLY, referenced
from policies.registry import Violation, rule, unknown
from policies.s3 import BucketView, as_list, bucket_view
from policies.settings import Category
from policies.stack import Stack
from policies.tokens import CLOUDTRAIL_TRAIL, DYNAMODB_TABLE, S3_BUCKET_TYPES, side_types
from policies.values import BadNumber

#: The catalogue category whose retention bounds apply to audit logs.
AUDIT_LOGS = "audit-logs"

_LOGGING_SIDE_TYPES = side_types("logging")
_PARTITIONS = ("aws-cn", "aws")
#: Data-resource values that select the objects of every bucket in the account.
_ALL_BUCKETS = frozenset(f"arn:{p}:s3{tail}" for p in _PARTITIONS for tail in ("", ":::"))
_LOCK_MODES = ("GOVERNANCE", "COMPLIANCE")
_DELETE_ACTIONS = ("s3:DeleteObject", "s3:DeleteObjectVersion")


# -- the per-stack index ------------------------------------------------------------------------------


@dataclass(slots=True)
class AuditIndex:
    """Reverse lookups over one stack's buckets and trails, built in one pass."""

    buckets_by_name: dict[str, Resource] = field(default_factory=dict)
    views: dict[Resource, BucketView] = field(default_factory=dict)
    #: Audit-log buckets, with why each one is one ("receives the access logs of ...").
    audit_buckets: dict[Resource, str] = field(default_factory=dict)
    #: Bucket -> the bucket in this stack its server access logs go to.
    logging_targets: dict[Resource, Resource] = field(default_factory=dict)
    trails: list[Resource] = field(default_factory=list)

    def view(self, bucket: Resource) -> BucketView:
        found = self.views.get(bucket)
        if found is None:
            found = self.views[bucket] = bucket_view(bucket)
        return found

    def is_audit_bucket(self, bucket: Resource) -> bool:
        return bucket in self.audit_buckets


_INDEXES: dict[int, tuple[weakref.ref[Stack], AuditIndex]] = {}


def audit_index(stack: Stack) -> AuditIndex:
    """The stack's audit index, built on first use and dropped with the stack."""
    key = id(stack)
    entry = _INDEXES.get(key)
    if entry is not None and entry[0]() is stack:
        return entry[1]

    def forget(ref: weakref.ref[Stack], key: int = key) -> None:
        current = _INDEXES.get(key)
        if current is not None and current[0] is ref:
            del _INDEXES[key]

    index = _build_index(stack)
    _INDEXES[key] = (weakref.ref(stack, forget), index)
    return index


def _build_index(stack: Stack) -> AuditIndex:
    index = AuditIndex()
    buckets = stack.of_type(*sorted(S3_BUCKET_TYPES))
    for bucket in buckets:
        for key in ("bucket", "id"):
            value = bucket.props.get(key)
            if isinstance(value, str) and value:
                index.buckets_by_name.setdefault(value, bucket)
    tag = stack.settings.classification_tag
    for bucket in buckets:
        index.views[bucket] = view = bucket_view(bucket)
        if stack.settings.category_of(bucket.tags).id == AUDIT_LOGS:
            index.audit_buckets[bucket] = f"is tagged {tag}={AUDIT_LOGS}"
        source = view.logging_source
        if source is None:
            continue
        dep_keys = ("targetBucket",) if source is not bucket else ("loggings", "logging")
        target = _resolve_bucket(stack, index, view.logging_target, source, dep_keys)
        if target is not None:
            index.logging_targets[bucket] = target
            if target is not bucket:
                index.audit_buckets.setdefault(target, f"receives the server access logs of {bucket.label}")
    # A logging resource whose source bucket lives in another stack still makes its target an audit store.
    for side in stack.of_type(*sorted(_LOGGING_SIDE_TYPES)):
        if side.owner is None:
            target = _resolve_bucket(stack, index, side.props.get("targetBucket"), side, ("targetBucket",))
            if target is not None:
                index.audit_buckets.setdefault(target, f"receives the server access logs of {side.label}")
    index.trails = stack.of_type(CLOUDTRAIL_TRAIL)
    for trail in index.trails:
        target = _resolve_bucket(stack, index, trail.props.get("s3BucketName"), trail, ("s3BucketName",))
        if target is not None:
            index.audit_buckets.setdefault(target, f"receives the CloudTrail logs of {trail.label}")
    return index


def _resolve_bucket(
    stack: Stack,
    index: AuditIndex,
    value: Any,
    declared_by: Resource,
    dep_keys: Iterable[str],
) -> Resource | None:
    """The bucket a name (or bucket ARN) points at; in a preview, the property dependency says.

    An unknown name resolves only when its dependency names exactly one bucket of the stack
    (`policies.references.referenced`). A known name that is not a bucket of this stack resolves to
    nothing: the literal wins over the graph.
    """
    if isinstance(value, str) and value:
        return index.buckets_by_name.get(_strip_bucket_arn(value))
    if value is UNKNOWN:
        return referenced(stack, declared_by, dep_keys, S3_BUCKET_TYPES)
    return None


def _strip_bucket_arn(value: str) -> str:
    if value.startswith("arn:") and ":::" in value:
        return value.split(":::", 1)[1].split("/", 1)[0]
    return value


# -- shared helpers (also used by the retention rules) --------------------------------------------------


def bucket_name(bucket: Resource) -> Any:
    """The bucket's name: a string, UNKNOWN until apply, or None when nothing names it yet."""
    name = bucket.props.get("bucket")
    if name is UNKNOWN:
        return UNKNOWN
    if isinstance(name, str) and name:
        return name
    ident = bucket.props.get("id")
    if isinstance(ident, str) and ident:
        return ident
    return None


def is_personal_bucket(bucket: Resource, stack: Stack) -> bool:
    return stack.holds_personal_data(bucket)


def retention_category(res: Resource, stack: Stack) -> Category:
    """The category whose retention bounds apply to a store.

    An untagged bucket that receives access logs or CloudTrail logs holds audit logs: it takes the
    `audit-logs` bounds (minimum and maximum) rather than the fail-safe 30 days, which would
    contradict the audit-log minimum. A tagged bucket keeps the category it is tagged with.
    """
    settings = stack.settings
    category = settings.category_of(res.tags)
    if (
        category.id == settings.untagged.id
        and res.type in S3_BUCKET_TYPES
        and audit_index(stack).is_audit_bucket(res)
    ):
        return settings.categories.get(AUDIT_LOGS, category)
    return category


def tri_any(values: Iterable[Any]) -> Any:
    """True if any is True, else UNKNOWN if any is UNKNOWN, else False."""
    result: Any = False
    for value in values:
        if value is True:
            return True
        if value is UNKNOWN:
            result = UNKNOWN
    return result


def tri_all(values: Iterable[Any]) -> Any:
    """False if any is False, else UNKNOWN if any is UNKNOWN, else True."""
    result: Any = True
    for value in values:
        if value is False:
            return False
        if value is UNKNOWN:
            result = UNKNOWN
    return result


# -- AUD-001 ------------------------------------------------------------------------------------------


@rule(
    id="AUD-001",
    title="Personal-data buckets log access to a bucket in the same region",
    severity=Severity.MEDIUM,
    types=S3_BUCKET_TYPES,
    remediation=(
        "Enable S3 server access logging (aws.s3.BucketLogging, BucketLoggingV2 on pulumi-aws v6) "
        "to a separate audit-log bucket in the same region as the bucket."
    ),
)
def access_logging_enabled(res: Resource, stack: Stack) -> Iterator[str | Violation]:
    """Every read and write of a personal-data bucket is recorded by S3 server access logging."""
    if not is_personal_bucket(res, stack):
        return
    index = audit_index(stack)
    if index.is_audit_bucket(res):
        return
    view = index.view(res)
    target_name = view.logging_target
    target = index.logging_targets.get(res)
    if target_name is UNKNOWN and target is None:
        # Resolved targets were found by the index through the property dependency (exactly one bucket).
        yield unknown(
            f"{res.label}: the server access logging target is not known until apply and does not come from "
            f"exactly one bucket of this stack, so it cannot be checked here; {AT_APPLY}, or name the "
            "audit-log bucket explicitly"
        )
        return
    if not target_name:
        yield (
            f"{res.label} holds personal data but does not log access to it: enable server access logging "
            "to the audit-log bucket"
        )
        return
    if target is None:
        # Not in this stack: S3 itself only accepts a target in the same region and account.
        return
    if target is res:
        yield (
            f"{res.label} writes its access logs into itself, where they can be deleted with the data they "
            "record: send them to a separate audit-log bucket"
        )
        return
    if res.region is UNKNOWN or target.region is UNKNOWN:
        yield unknown(
            f"{res.label}: the region of the bucket or of its access-log bucket {target.label} is not known "
            "until apply; pin both providers' region"
        )
    elif isinstance(res.region, str) and isinstance(target.region, str) and res.region != target.region:
        allowed = stack.settings.allowed_regions
        fix = (
            f"use an audit-log bucket in {res.region}"
            if res.region in allowed
            else f"move the bucket and its audit-log bucket to {' or '.join(allowed)}"
        )
        yield (
            f"{res.label} is in {res.region} but logs access to {target.label} in {target.region}; "
            f"S3 only delivers access logs to a bucket in the same region: {fix}"
        )


# -- AUD-002 ------------------------------------------------------------------------------------------


@rule(
    id="AUD-002",
    title="CloudTrail records data events for personal-data buckets and tables",
    severity=Severity.HIGH,
    types=S3_BUCKET_TYPES | {CLOUDTRAIL_TRAIL, DYNAMODB_TABLE},
    remediation=(
        "Turn on enableLogFileValidation and set kmsKeyId on a trail of the aws-cn partition in cn-north-1 or "
        "cn-northwest-1, and select data events (readWriteType All, or ReadOnly plus WriteOnly) for every "
        "personal-data bucket (AWS::S3::Object) and table (AWS::DynamoDB::Table)."
    ),
)
def cloudtrail_data_events(res: Resource, stack: Stack) -> Iterator[str | Violation]:
    """A trail records every read and write of personal data, in tamper-evident, encrypted logs."""
    if res.type == CLOUDTRAIL_TRAIL:
        yield from _trail_settings(res, stack)
        return
    if not stack.holds_personal_data(res):
        return
    index = audit_index(stack)
    if res.type in S3_BUCKET_TYPES:
        if index.is_audit_bucket(res):
            return
        target = DataTarget(S3_OBJECT, bucket_name(res), res.region, res.partition)
        what, name_prop, data = "its S3 data events", "bucket name", "objects"
    else:
        target = DataTarget(DYNAMODB_TABLE_DATA, table_name(res), res.region, res.partition)
        what, name_prop, data = "its DynamoDB data events", "table name", "items"
    selector = target.selector(stack)
    if not index.trails:
        yield (
            f"{res.label} holds personal data but no CloudTrail trail in this stack records {what}: add a trail "
            f"with a data-event selector {selector}; if a trail in another stack covers it, waive this finding "
            "and give that trail as the reason"
        )
        return
    candidates = _candidate_trails(stack, target)
    verdict = tri_any(_trail_covers(trail, target) for trail in candidates)
    if verdict is True:
        return
    trails = _some_labels(candidates or index.trails)
    if verdict is UNKNOWN:
        if not isinstance(target.name, str):
            yield unknown(
                f"{res.label}: its {name_prop} is not known until apply, so the data-event selectors of "
                f"{trails} cannot be matched to it here ({AT_APPLY}); set the {name_prop} explicitly"
            )
        else:
            yield unknown(
                f"{res.label}: whether {trails} records {what} is not known until apply "
                f"(event selectors, logging or region are computed); {AT_APPLY}"
            )
        return
    yield (
        f"{res.label} holds personal data but no trail in this stack ({trails}) records all reads and writes of its {data}: "
        f"add a data-event selector {selector} to a logging trail of the {stack.settings.partition} partition in "
        "its region, or to a multi-region trail there"
    )


S3_OBJECT = "AWS::S3::Object"
DYNAMODB_TABLE_DATA = "AWS::DynamoDB::Table"
#: Basic data-resource values that select every table of the account.
_ALL_TABLES = frozenset(f"arn:{p}:dynamodb{tail}" for p in _PARTITIONS for tail in ("", ":"))
_TABLE_ARN = re.compile(r"^arn:([^:]+):dynamodb:([^:]*):([^:]*):table/(.+)$")


def table_name(table: Resource) -> Any:
    name = table.props.get("name")
    if name is UNKNOWN:
        return UNKNOWN
    if isinstance(name, str) and name:
        return name
    arn = table.props.get("arn")
    match = _TABLE_ARN.match(arn) if isinstance(arn, str) else None
    return match.group(4) if match else None


@dataclass(frozen=True, slots=True)
class DataTarget:
    """What a data-event selector must select: every object of a bucket, or a table."""

    kind: str
    #: The bucket or table name: a string, UNKNOWN, or None.
    name: Any
    region: Any
    partition: Any

    def selector(self, stack: Stack) -> str:
        partition = stack.settings.partition
        shown = self.name if isinstance(self.name, str) else "NAME"
        if self.kind == S3_OBJECT:
            return f"{{type: '{S3_OBJECT}', values: ['arn:{partition}:s3:::{shown}/']}} (readWriteType All)"
        allowed = stack.settings.allowed_regions
        region = self.region if isinstance(self.region, str) and self.region in allowed else allowed[0]
        return (
            f"{{type: '{DYNAMODB_TABLE_DATA}', values: ['arn:{partition}:dynamodb:{region}:<account>:table/{shown}']}} "
            "(readWriteType All)"
        )

    def _table(self, value: str) -> Any:
        """Whether a table ARN names this table (True/False), UNKNOWN when the name is not known."""
        match = _TABLE_ARN.match(value)
        if match is None:
            return False
        region, name = match.group(2), match.group(4)
        if isinstance(self.region, str) and region not in ("", "*", self.region):
            return False
        if not isinstance(self.name, str):
            return UNKNOWN
        return fnmatchcase(self.name, name)

    def value_covers(self, value: Any) -> Any:
        """A basic selector value: every bucket or table, this whole bucket, or this table."""
        if value is UNKNOWN:
            return UNKNOWN
        if not isinstance(value, str):
            return False
        if self.kind == S3_OBJECT:
            if value in _ALL_BUCKETS:
                return True
            if not isinstance(self.name, str):
                return UNKNOWN
            return value in _bucket_prefixes(self.name)
        if value in _ALL_TABLES:
            return True
        return self._table(value)

    def prefix_covers(self, value: Any) -> Any:
        """An advanced `startsWith` value that leaves every object (every item) of the target selected."""
        if value is UNKNOWN:
            return UNKNOWN
        if not isinstance(value, str):
            return False
        if self.kind == S3_OBJECT:
            if any(f"arn:{p}:s3:::".startswith(value) for p in _PARTITIONS):
                return True
            if not isinstance(self.name, str):
                return UNKNOWN
            return any(prefix.startswith(value) for prefix in _bucket_prefixes(self.name))
        if any(f"arn:{p}:dynamodb:".startswith(value) for p in _PARTITIONS):
            return True
        if ":table/" not in value:
            parts = value.split(":")
            # "arn:aws-cn:dynamodb:cn-north-1:" (every table of a region) or ...:<account>:table...
            if len(parts) >= 5 and parts[2] == "dynamodb" and isinstance(self.region, str):
                return parts[3] == self.region
            return False
        head, _, name_prefix = value.partition(":table/")
        if not isinstance(self.name, str):
            return UNKNOWN
        region = head.split(":")[3] if head.count(":") >= 3 else ""
        if isinstance(self.region, str) and region not in ("", self.region):
            return False
        return self.name.startswith(name_prefix)

    def equals_covers(self, value: Any) -> Any:
        """An advanced `equals` value: for S3 one object (never a whole bucket); for DynamoDB the table."""
        if value is UNKNOWN:
            return UNKNOWN
        if self.kind == S3_OBJECT or not isinstance(value, str):
            return False
        return self._table(value)


def _some_labels(resources: list[Resource], limit: int = 3) -> str:
    shown = ", ".join(r.label for r in resources[:limit])
    return f"{shown} and {len(resources) - limit} more" if len(resources) > limit else shown


def _candidate_trails(stack: Stack, target: DataTarget) -> list[Resource]:
    """The trails that could cover a bucket or table: those naming it, plus every trail whose selectors of
    that kind are not a plain list of other names (all-bucket values, advanced selectors, unknowns).

    Built once per stack and kind, so checking n stores against m trails is O(n + m), not O(n * m).
    """
    generic, by_name = stack.memo(
        f"audit.trails_by_name.{target.kind}", lambda s: _index_trail_selectors(s, target.kind)
    )
    if not isinstance(target.name, str):
        return audit_index(stack).trails
    return [*generic, *by_name.get(target.name, ())]


def _index_trail_selectors(stack: Stack, kind: str) -> tuple[list[Resource], dict[str, list[Resource]]]:
    generic: list[Resource] = []
    by_name: dict[str, list[Resource]] = {}
    for trail in audit_index(stack).trails:
        names = _explicit_names(trail, kind)
        if names is None:
            generic.append(trail)
        else:
            for name in names:
                by_name.setdefault(name, []).append(trail)
    return generic, by_name


def _explicit_names(trail: Resource, kind: str) -> set[str] | None:
    """The buckets or tables a trail's basic selectors name, or None when it may cover others too."""
    if trail.props.get("advancedEventSelectors") not in (None, []):
        return None
    names: set[str] = set()
    selectors = trail.props.get("eventSelectors")
    if selectors is UNKNOWN:
        return None
    for selector in as_list(selectors):
        if not isinstance(selector, dict):
            return None
        resources = selector.get("dataResources")
        if resources is UNKNOWN:
            return None
        for data in as_list(resources):
            if not isinstance(data, dict) or not isinstance(data.get("values"), list | type(None)):
                return None
            data_kind = data.get("type")
            if data_kind is UNKNOWN:
                return None
            if data_kind != kind:
                continue
            for value in as_list(data.get("values")):
                if not isinstance(value, str):
                    return None
                if kind == S3_OBJECT:
                    if value in _ALL_BUCKETS or ":s3:::" not in value:
                        return None
                    names.add(value.split(":s3:::", 1)[1].split("/", 1)[0])
                else:
                    match = _TABLE_ARN.match(value)
                    if match is None or any(c in match.group(4) for c in "*?"):
                        return None
                    names.add(match.group(4))
    return names


def _trail_outside(trail: Resource, stack: Stack) -> str | None:
    """Why a trail cannot record data in the territory: its home region or partition is elsewhere."""
    region, partition = trail.region, trail.partition
    allowed = stack.settings.allowed_regions
    if isinstance(partition, str) and partition != stack.settings.partition:
        return f"its partition is {partition}"
    if isinstance(region, str) and region not in allowed:
        return f"its home region is {region}"
    return None


def _trail_settings(trail: Resource, stack: Stack) -> Iterator[str | Violation]:
    outside = _trail_outside(trail, stack)
    if outside is not None:
        kind = "a multi-region trail" if trail.props.get("isMultiRegionTrail") is True else "a trail"
        yield (
            f"{trail.label} is {kind} but {outside}, outside the territory: it records no event of the "
            f"{stack.settings.partition} partition and keeps what it records outside China; create it with a "
            f"provider in {' or '.join(stack.settings.allowed_regions)}"
        )
    validation = trail.props.get("enableLogFileValidation")
    if validation is UNKNOWN:
        yield unknown(f"{trail.label}: enableLogFileValidation is not known until apply; set it to true")
    elif validation is not True:
        yield (
            f"{trail.label} does not validate its log files, so altered or deleted audit logs go unnoticed: "
            "set enableLogFileValidation to true"
        )
    key = trail.props.get("kmsKeyId")
    if key is UNKNOWN and referenced(stack, trail, "kmsKeyId", KEY_OR_ALIAS_TYPES) is None:
        yield unknown(
            f"{trail.label}: kmsKeyId is not known until apply and does not come from exactly one KMS key of "
            f"this stack; pass the key resource's ARN so the preview can see it ({AT_APPLY})"
        )
    elif not key:
        yield (
            f"{trail.label} does not encrypt its logs with a customer-managed KMS key: set kmsKeyId to a key "
            "in the same region"
        )


def _trail_covers(trail: Resource, target: DataTarget) -> Any:
    """True, False or UNKNOWN: does the trail record every read and every write of the target's data?"""
    props = trail.props
    logging = props.get("enableLogging")
    if logging is False:
        return False
    # A trail records events of its own partition only.
    if (
        isinstance(trail.partition, str)
        and isinstance(target.partition, str)
        and trail.partition != target.partition
    ):
        return False
    region_ok: Any = True
    multi_region = props.get("isMultiRegionTrail")
    if multi_region is not True:
        if multi_region is UNKNOWN or trail.region is UNKNOWN or target.region is UNKNOWN:
            region_ok = UNKNOWN
        elif (
            isinstance(trail.region, str) and isinstance(target.region, str) and trail.region != target.region
        ):
            return False
    basic = props.get("eventSelectors")
    advanced = props.get("advancedEventSelectors")
    if basic is UNKNOWN or advanced is UNKNOWN:
        selected: Any = UNKNOWN
    else:
        # Reads and writes may be selected by different selectors (ReadOnly plus WriteOnly cover All).
        parts = [
            *(_basic_selector_covers(s, target) for s in as_list(basic)),
            *(_advanced_selector_covers(s, target) for s in as_list(advanced)),
        ]
        selected = tri_all([tri_any(read for read, _ in parts), tri_any(write for _, write in parts)])
    return tri_all([selected, region_ok, UNKNOWN if logging is UNKNOWN else True])


_READS = {None: True, "": True, "All": True, "ReadOnly": True, "WriteOnly": False}
_WRITES = {None: True, "": True, "All": True, "ReadOnly": False, "WriteOnly": True}


def _basic_selector_covers(selector: Any, target: DataTarget) -> tuple[Any, Any]:
    """(reads covered, writes covered) by one basic event selector."""
    if selector is UNKNOWN:
        return UNKNOWN, UNKNOWN
    if not isinstance(selector, dict):
        return False, False
    read_write = selector.get("readWriteType")
    resources = selector.get("dataResources")
    if resources is UNKNOWN:
        covers: Any = UNKNOWN
    else:
        covers = tri_any(_data_resource_covers(d, target) for d in as_list(resources))
    if read_write is UNKNOWN:
        return tri_all([covers, UNKNOWN]), tri_all([covers, UNKNOWN])
    if read_write is not None and not isinstance(read_write, str):
        return False, False  # not a ReadWriteType: it records nothing CloudTrail would honour
    return (
        tri_all([covers, _READS.get(read_write, False)]),
        tri_all([covers, _WRITES.get(read_write, False)]),
    )


def _data_resource_covers(resource: Any, target: DataTarget) -> Any:
    if resource is UNKNOWN:
        return UNKNOWN
    if not isinstance(resource, dict):
        return False
    kind, values = resource.get("type"), resource.get("values")
    if kind is UNKNOWN or values is UNKNOWN:
        return UNKNOWN
    if kind != target.kind:
        return False
    return tri_any(target.value_covers(v) for v in as_list(values))


def _bucket_prefixes(name: str) -> tuple[str, ...]:
    return tuple(f"arn:{p}:s3:::{name}/" for p in _PARTITIONS)


def _advanced_selector_covers(selector: Any, target: DataTarget) -> tuple[Any, Any]:
    """(reads covered, writes covered) by one advanced event selector."""
    if selector is UNKNOWN:
        return UNKNOWN, UNKNOWN
    if not isinstance(selector, dict):
        return False, False
    fields = selector.get("fieldSelectors")
    if fields is UNKNOWN:
        return UNKNOWN, UNKNOWN
    by_field: dict[str, list[dict[str, Any]]] = {}
    for item in as_list(fields):
        if item is UNKNOWN:
            return UNKNOWN, UNKNOWN
        if isinstance(item, dict):
            key = item.get("field")
            if key is UNKNOWN:
                return UNKNOWN, UNKNOWN
            if isinstance(key, str):
                by_field.setdefault(key, []).append(item)
    # eventName selectors record only some of the events: not every access.
    covers = tri_all(
        [
            not by_field.get("eventName"),
            _field_equals(by_field.get("eventCategory"), "Data"),
            _field_equals(by_field.get("resources.type"), target.kind),
            tri_all(_arn_selector_covers(f, target) for f in by_field.get("resources.ARN", ())),
        ]
    )
    reads, writes = _read_only_field(by_field.get("readOnly"))
    return tri_all([covers, reads]), tri_all([covers, writes])


def _read_only_field(selectors: list[dict[str, Any]] | None) -> tuple[Any, Any]:
    """What a `readOnly` field selector lets through: (reads, writes)."""
    reads: Any = True
    writes: Any = True
    for selector in selectors or ():
        for op, keeps_true in (("equals", True), ("notEquals", False)):
            values = selector.get(op)
            if values is UNKNOWN or (isinstance(values, list) and UNKNOWN in values):
                return UNKNOWN, UNKNOWN
            texts = {str(v).lower() for v in as_list(values)}
            if not texts:
                continue
            selects_true = ("true" in texts) is keeps_true
            selects_false = ("false" in texts) is keeps_true
            reads = reads is True and selects_true if reads is not UNKNOWN else UNKNOWN
            writes = writes is True and selects_false if writes is not UNKNOWN else UNKNOWN
    return reads, writes


def _field_equals(selectors: list[dict[str, Any]] | None, wanted: str) -> Any:
    if not selectors:
        return False
    results: list[Any] = []
    for selector in selectors:
        equals = selector.get("equals")
        if equals is UNKNOWN or (isinstance(equals, list) and UNKNOWN in equals):
            results.append(UNKNOWN)
        else:
            results.append(wanted in as_list(equals))
    return tri_all(results)


def _arn_selector_covers(selector: dict[str, Any], target: DataTarget) -> Any:
    """A resources.ARN field selector leaves all of the target's data selected.

    For S3 only `startsWith` selects a whole bucket (`arn:aws-cn:s3:::NAME/`): `equals` names single
    objects, and `endsWith`/`notEndsWith` cut objects out of every bucket. For DynamoDB `equals` names the
    table itself.
    """
    results: list[Any] = []
    for op in ("endsWith", "notEndsWith"):
        narrowing = selector.get(op)
        if narrowing is UNKNOWN:
            results.append(UNKNOWN)
        elif narrowing:
            return False
    equals = selector.get("equals")
    starts = selector.get("startsWith")
    if equals is UNKNOWN or starts is UNKNOWN:
        results.append(UNKNOWN)
    elif equals or starts:
        results.append(
            tri_any(
                [
                    *(target.equals_covers(v) for v in as_list(equals)),
                    *(target.prefix_covers(v) for v in as_list(starts)),
                ]
            )
        )
    for op in ("notStartsWith", "notEquals"):
        excluded = selector.get(op)
        if excluded is UNKNOWN:
            results.append(UNKNOWN)
        elif excluded:
            results.append(tri_all(_not_excluded(v, target, op) for v in as_list(excluded)))
    return tri_all(results)


def _not_excluded(value: Any, target: DataTarget, op: str) -> Any:
    """The target keeps all its data despite a notStartsWith / notEquals value."""
    if value is UNKNOWN:
        return UNKNOWN
    if not isinstance(value, str):
        return True
    if target.kind == DYNAMODB_TABLE_DATA:
        hit = target.prefix_covers(value) if op == "notStartsWith" else target.equals_covers(value)
        return UNKNOWN if hit is UNKNOWN else not hit
    name = target.name
    if not isinstance(name, str):
        return UNKNOWN
    for prefix in _bucket_prefixes(name):
        if value.startswith(prefix):
            return False
        if op == "notStartsWith" and prefix.startswith(value):
            return False
    return True


# -- AUD-003 ------------------------------------------------------------------------------------------


@rule(
    id="AUD-003",
    title="Audit logs are kept at least the minimum and protected against deletion",
    severity=Severity.HIGH,
    types=S3_BUCKET_TYPES,
    remediation=(
        "Enable S3 Object Lock with a default retention (GOVERNANCE or COMPLIANCE) of at least the audit-log "
        "minimum, or deny s3:DeleteObject and s3:DeleteObjectVersion to every principal in the bucket policy; "
        "keep lifecycle expiration at or above the minimum."
    ),
)
def audit_logs_protected(res: Resource, stack: Stack) -> Iterator[str | Violation]:
    """Audit logs outlive the minimum retention and nobody can delete them early."""
    index = audit_index(stack)
    why = index.audit_buckets.get(res)
    if why is None:
        return
    audit = stack.settings.categories.get(AUDIT_LOGS)
    minimum = audit.min_retention_days if audit is not None else None
    keep = f"{minimum} days" if minimum is not None else "the audit-log minimum"
    view = index.view(res)
    who = f"{res.label} holds audit logs (it {why})"

    lock_protects: Any = False
    lock_reported = False
    lock_gap = ""
    lock = view.object_lock_enabled
    if lock is UNKNOWN:
        lock_protects = UNKNOWN
    elif lock is True:
        days, mode = view.object_lock_days, view.object_lock_mode
        if days is UNKNOWN or mode is UNKNOWN:
            lock_protects = UNKNOWN
        elif isinstance(days, BadNumber):
            lock_reported = True
            prop = view.object_lock_days_prop
            unit = "years" if prop.endswith("years") else "days"
            yield (
                f"{who} but its Object Lock {days.describe(prop, unit)}: set defaultRetention days to a whole "
                f"number, at least {keep}"
            )
        elif isinstance(days, int) and minimum is not None and days < minimum:
            lock_reported = True
            yield (
                f"{who} but its Object Lock default retention is {days} days, shorter than the {minimum}-day "
                f"minimum: set defaultRetention days to at least {minimum}"
            )
        elif isinstance(days, int) and days > 0 and mode in _LOCK_MODES:
            lock_protects = True
        else:
            lock_gap = (
                "Object Lock is enabled without a default retention in GOVERNANCE or COMPLIANCE mode, so "
            )
    exemptions: list[str] = []
    policy_protects = _policy_denies_delete(view.policies, bucket_name(res), exemptions)

    if lock_protects is True or policy_protects is True or lock_reported:
        pass
    elif UNKNOWN in (lock_protects, policy_protects):
        yield unknown(
            f"{who}: its Object Lock configuration or bucket policy is not known until apply, so its "
            f"protection against deletion cannot be checked here; {AT_APPLY}"
        )
    elif exemptions:
        yield (
            f"{who} but the Deny of deletion in its bucket policy exempts {'; '.join(exemptions)}, so it protects "
            f"the logs from nobody: exempt one named break-glass role (StringNotEquals aws:PrincipalArn "
            f"arn:{stack.settings.partition}:iam::<account>:role/<break-glass role>), or set an Object Lock default "
            f"retention of at least {keep}"
        )
    else:
        yield (
            f"{who} but {lock_gap}nothing stops their deletion: set an Object Lock default retention of at "
            f"least {keep} (GOVERNANCE or COMPLIANCE), or deny s3:DeleteObject and s3:DeleteObjectVersion to "
            "every principal in its bucket policy"
        )

    lifecycle = view.lifecycle
    if lifecycle is UNKNOWN:
        yield unknown(f"{who}: its lifecycle rules are not known until apply")
        return
    for lc in lifecycle or ():
        if lc.enabled is False:
            continue
        where = _rule_where(lc, res)
        values = ((lc.expiration_days, "logs"), (lc.noncurrent_days, "old versions of logs"))
        props = (
            "expiration.days",
            "noncurrentVersionExpiration." + ("days" if lc.source is res else "noncurrentDays"),
        )
        for (value, _what), prop in zip(values, props, strict=True):
            if isinstance(value, BadNumber):
                yield (
                    f"{who} but in lifecycle rule '{lc.id}'{where}, {value.describe(prop, 'days')}: set it to a "
                    f"whole number of days, at least {keep}"
                )
        if any(v is UNKNOWN for v, _ in values) or (
            lc.enabled is UNKNOWN and any(_below(v, minimum) for v, _ in values)
        ):
            yield unknown(f"{who}: lifecycle rule '{lc.id}'{where} is not known until apply")
            continue
        for value, what in values:
            if _below(value, minimum):
                yield (
                    f"{who} but lifecycle rule '{lc.id}'{where} deletes {what} after {value} days, before the "
                    f"{minimum}-day minimum: raise it to at least {minimum} days"
                )
        date = lc.expiration_date
        if lc.enabled is True and date not in (None, "", UNKNOWN) and lc.expiration_days in (None, 0):
            yield (
                f"{who} but lifecycle rule '{lc.id}'{where} deletes every log on {date}, however recent: expire "
                f"logs by age, after at least {keep}"
            )


def _below(value: Any, minimum: int | None) -> bool:
    return isinstance(value, int) and value > 0 and minimum is not None and value < minimum


def _rule_where(lc: Any, bucket: Resource) -> str:
    return "" if lc.source is bucket else f" in {lc.source.label}"


def _policy_denies_delete(
    policies: list[tuple[Resource, Any]], bucket: Any = None, exemptions: list[str] | None = None
) -> Any:
    """True when the bucket policies deny deleting objects and object versions to everyone.

    A deny whose exemption admits everyone, a wildcard of principals or a whole account is no deny: what it
    exempts is added to `exemptions` (when given) so the finding can say so.
    """
    denied: set[str] = set()
    maybe = False
    for _source, doc in policies:
        if doc is UNKNOWN:
            maybe = True
            continue
        if isinstance(doc, MalformedDocument) or not isinstance(doc, list):
            continue
        for st in doc:
            if st.has_unknown:
                maybe = True
            if not st.denies or st.not_principal is not None or "*" not in st.principals():
                continue
            if not _deny_is_unconditional(st) or not _covers_every_object(st, bucket):
                # A deny that only applies under some condition, or to some prefix, leaves logs deletable.
                continue
            broad = _broad_exemptions(st)
            if broad:
                if exemptions is not None:
                    exemptions.extend(broad)
                continue
            for action in _DELETE_ACTIONS:
                if st.not_actions:
                    if not _matches_any(action, st.not_actions):
                        denied.add(action)
                elif _matches_any(action, st.actions):
                    denied.add(action)
    if denied.issuperset(_DELETE_ACTIONS):
        return True
    return UNKNOWN if maybe else False


#: A deny may exempt named principals (a break-glass role) and still protect the logs from everyone else.
_EXEMPTING_OPERATORS = frozenset({"stringnotequals", "stringnotlike", "arnnotequals", "arnnotlike"})
_EXEMPTING_KEYS = frozenset({"aws:principalarn", "aws:userid", "aws:principalaccount"})


def _deny_is_unconditional(st: Any) -> bool:
    for operator, block in st.condition.items():
        if operator.lower() not in _EXEMPTING_OPERATORS:
            return False
        if any(key.lower() not in _EXEMPTING_KEYS for key in block):
            return False
    return True


def _broad_exemptions(st: Any) -> list[str]:
    """The exemptions of a deny that let through more than named principals: `*`, every principal of an
    account (`aws:PrincipalAccount`, `arn:aws-cn:iam::123456789012:*`, `...:role/*`), any account's role
    (`arn:aws-cn:iam::*:role/admin`), or a user-id prefix shared by every role (`AROA*`)."""
    found: list[str] = []
    for operator, block in st.condition.items():
        wildcards = "like" in operator.lower() or operator.lower().startswith("arn")
        for key, values in block.items():
            lowered = key.lower()
            for value in values:
                if not isinstance(value, str):
                    continue
                shown = f"{operator} {key} {value!r}"
                if lowered == "aws:principalaccount":
                    found.append(f"{shown} (every principal of that account)")
                elif not wildcards or not any(c in value for c in "*?"):
                    continue
                elif value.strip("*?") == "":
                    found.append(f"{shown} (everyone)")
                elif lowered == "aws:principalarn" and _arn_admits_many(value):
                    found.append(f"{shown} (a wildcard of principals)")
                elif lowered == "aws:userid" and len(re.split(r"[*?]", value, maxsplit=1)[0]) < 16:
                    found.append(f"{shown} (a wildcard of principals)")
    return found


def _arn_admits_many(value: str) -> bool:
    parts = value.split(":", 5)
    if len(parts) < 6:
        return True
    account, resource = parts[4], parts[5]
    if any(c in account for c in "*?"):
        return True
    kind, _, name = resource.partition("/")
    return resource.strip("*?") == "" or (name != "" and name.strip("*?/") == "") or kind.strip("*?") == ""


def _covers_every_object(st: Any, bucket: Any) -> bool:
    """The statement's Resource covers every object of the bucket (`.../*`, `arn:...:s3:::*` or `*`)."""
    if st.not_resources:
        return False
    for resource in st.resources:
        if not isinstance(resource, str):
            continue
        if resource == "*" or resource.endswith(":s3:::*") or resource.endswith(":s3:::*/*"):
            return True
        if isinstance(bucket, str) and resource.split(":s3:::", 1)[-1] == f"{bucket}/*":
            return True
        if not isinstance(bucket, str) and resource.endswith("/*") and resource.count("/") == 1:
            return True
    return False


def _matches_any(action: str, patterns: list[Any]) -> bool:
    wanted = action.lower()
    return any(isinstance(p, str) and fnmatchcase(wanted, p.lower()) for p in patterns)
