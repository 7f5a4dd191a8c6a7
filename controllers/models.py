"""The custom resources' specs as pydantic models: the one definition the CRDs are generated from.

Field names are the Kubernetes camelCase ones (`dataStores`, `maxAgeDays`); Python code reads the
snake_case attributes. Validators that need the territory (allowed regions, partition) read them from
the validation context (`{"settings": policies.settings.Settings}`), so a tuned catalogue tunes them.
Every validator message ends with the fix, because `residency enforce` prints it verbatim.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from policies.settings import DEFAULT_ALLOWED_REGIONS, Category, Settings

GROUP = "residency.pushauction.com"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

# Every pattern below is matched against the *whole* value: pydantic's (Rust) regex and the API
# server's (Go RE2) read `$` as the end of the text, and the Python checks use `fullmatch`, so a
# trailing newline ("user-1\n") never passes. They are RE2-compatible, so the CRDs carry the same ones
# (tests/controllers/test_crd_patterns.py compares them).

#: Subject ids that cannot widen a key prefix: no '/', no wildcard, no '..', no leading/trailing dot.
#: Dot-separated runs of a conservative charset; RE2-compatible, so the CRD uses the same pattern.
SUBJECT_ID_PATTERN = r"^[A-Za-z0-9_@+=-]+(\.[A-Za-z0-9_@+=-]+)*$"
SUBJECT_ID = re.compile(SUBJECT_ID_PATTERN)
SUBJECT_PLACEHOLDER = "{subjectId}"
_BUCKET = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
_TABLE = r"^[A-Za-z0-9_.-]{3,255}$"
_ATTRIBUTE = r"^[A-Za-z0-9_.-]{1,255}$"
_NAME = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
RULE_NAME_PATTERN = r"^[A-Za-z0-9._-]+$"
#: A catalogue category id or alias (which ones exist is checked against the catalogue).
CATEGORY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"
#: A duration like `90s`, `15m`, `6h` or `1d` (one number, one unit).
INTERVAL_PATTERN = r"^[1-9][0-9]{0,6}(s|m|h|d)$"
_INTERVAL_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def interval_seconds(text: str) -> int:
    """`15m` -> 900. The text has already matched `INTERVAL_PATTERN`."""
    return int(text[:-1]) * _INTERVAL_UNITS[text[-1]]


def _interval_field() -> Any:
    return Field(
        default=None,
        pattern=INTERVAL_PATTERN,
        description="How often the operator reconciles this policy, like 15m or 6h (a little jitter is "
        "added); default: the controller's --default-interval. `residency enforce` ignores it.",
    )


class Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        populate_by_name=True,
        str_strip_whitespace=False,
    )


def _settings(info: ValidationInfo) -> Settings:
    """The catalogue's settings from the validation context; without one, the default catalogue's
    (its categories bound the retention rules: fail closed, never unbounded)."""
    settings = (info.context or {}).get("settings")
    if isinstance(settings, Settings):
        return settings
    from policies.catalog import default_catalog

    return default_catalog().settings()


def _category_settings(info: ValidationInfo) -> Settings:
    """Settings that know the data categories: the context's, or (a bare `Settings()` knows none)
    the default catalogue's, so a declared category is always checked against a catalogue."""
    settings = _settings(info)
    if settings.categories:
        return settings
    from policies.catalog import default_catalog

    return default_catalog().settings()


def _strict_integer(value: Any) -> Any:
    """Whole numbers only: YAML's `yes`/`no` are booleans, not 1/0; `7.5` is not 7; `"7"` is text."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(
            f"{str(value).lower()} is a boolean (YAML reads yes/no/on/off as one), not a number; "
            "write a whole number"
        )
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise ValueError(f"{value} is not a whole number; write a whole number")
    if not isinstance(value, int):
        raise ValueError(f"{value!r} is not a number; write a whole number without quotes")
    return value


def _strict_number(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{value!r} is not a number; write a number without quotes")
    return value


#: An integer that refuses booleans, fractions and strings (pydantic's lax mode would take them).
StrictInteger = Annotated[int, BeforeValidator(_strict_integer)]
StrictNumber = Annotated[float, BeforeValidator(_strict_number)]


class Mode(StrEnum):
    ENFORCE = "Enforce"
    AUDIT = "Audit"


class _Store(Model):
    region: str = Field(
        description="AWS region of the store; must be inside the territory.",
        json_schema_extra={"enum": list(DEFAULT_ALLOWED_REGIONS)},
    )

    @field_validator("region")
    @classmethod
    def _in_territory(cls, value: str, info: ValidationInfo) -> str:
        allowed = _settings(info).allowed_regions
        if value not in allowed:
            raise ValueError(
                f"region {value!r} is outside the territory; personal data must stay in {' or '.join(allowed)}"
            )
        return value


def _category_field() -> Any:
    return Field(
        default=None,
        pattern=CATEGORY_PATTERN,
        description="The data category of the store (an id or alias from policies/catalog.yaml, like "
        "user-uploads or cookies); it bounds the retention rules. Default: the store's data-category tag "
        "(or an alias the catalogue accepts); an unclassified store gets the catalogue's fail-safe category.",
    )


def _known_category(value: str | None, info: ValidationInfo) -> str | None:
    if value is None:
        return None
    settings = _category_settings(info)
    if settings.resolve_category(value) is None:
        known = ", ".join(sorted(settings.categories)) or "(none)"
        raise ValueError(f"category {value!r} is not in the catalogue; use one of {known}")
    return value


class _S3Bucket(_Store):
    bucket: str = Field(pattern=_BUCKET, description="S3 bucket name.")


class S3Store(_S3Bucket):
    category: str | None = _category_field()

    _category = field_validator("category")(_known_category)


class DynamoDBStore(_Store):
    table: str = Field(pattern=_TABLE, description="DynamoDB table name.")
    category: str | None = _category_field()

    _category = field_validator("category")(_known_category)
    ttl_attribute: str = Field(
        default="expiresAt",
        pattern=_ATTRIBUTE,
        description="Numeric attribute holding the item's expiry (epoch seconds); TTL is enabled on it.",
    )


_EXACTLY_ONE = {"oneOf": [{"required": ["s3"]}, {"required": ["dynamodb"]}]}


class DataStore(Model):
    """Exactly one of `s3` or `dynamodb`."""

    model_config = ConfigDict(json_schema_extra=_EXACTLY_ONE)

    s3: S3Store | None = None
    dynamodb: DynamoDBStore | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> DataStore:
        if (self.s3 is None) == (self.dynamodb is None):
            raise ValueError("give exactly one of `s3: {bucket, region}` or `dynamodb: {table, region}`")
        return self

    @property
    def label(self) -> str:
        return f"s3://{self.s3.bucket}" if self.s3 else f"dynamodb:{self.dynamodb.table}"  # type: ignore[union-attr]


class Match(Model):
    prefix: str = Field(default="", max_length=1024, description="Key prefix; empty matches every key.")
    tags: dict[str, str] = Field(default_factory=dict, description="Object tags that must all be present.")


class Rule(Model):
    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "!has(self.minAgeDays) || self.minAgeDays <= self.maxAgeDays",
                    "message": "minAgeDays must not be above maxAgeDays",
                }
            ]
        }
    )

    name: str = Field(min_length=1, max_length=64, pattern=RULE_NAME_PATTERN)
    match: Match = Field(default_factory=Match)
    max_age_days: StrictInteger = Field(
        ge=1,
        le=36500,
        description="Delete object versions at least this many days old; at most the data category's "
        "maximum retention in policies/catalog.yaml.",
    )
    min_age_days: int | None = Field(
        default=None, ge=0, le=36500, description="Never delete anything younger (a retention floor)."
    )

    _strict = field_validator("max_age_days", "min_age_days", mode="before")(_strict_integer)

    @model_validator(mode="after")
    def _bounds(self) -> Rule:
        if self.min_age_days is not None and self.min_age_days > self.max_age_days:
            raise ValueError(
                f"minAgeDays ({self.min_age_days}) is above maxAgeDays ({self.max_age_days}); "
                "lower minAgeDays or raise maxAgeDays"
            )
        return self

    @property
    def delete_age_days(self) -> int:
        """The age at which this rule allows deletion (the floor can only make it later)."""
        return max(self.max_age_days, self.min_age_days or 0)


class BlastRadius(Model):
    max_deletes: int | None = Field(default=None, ge=0, description="Stop if a sweep would delete more.")
    max_percent: float | None = Field(
        default=None, gt=0, le=100, description="Stop if a sweep would delete more than this % of versions."
    )

    _strict_deletes = field_validator("max_deletes", mode="before")(_strict_integer)
    _strict_percent = field_validator("max_percent", mode="before")(_strict_number)


class RetentionPolicySpec(Model):
    data_stores: list[DataStore] = Field(min_length=1)
    rules: list[Rule] = Field(min_length=1)
    mode: Mode = Mode.ENFORCE
    blast_radius: BlastRadius | None = None
    interval: str | None = _interval_field()

    @field_validator("rules")
    @classmethod
    def _unique_names(cls, rules: list[Rule]) -> list[Rule]:
        seen: set[str] = set()
        for rule in rules:
            if rule.name in seen:
                raise ValueError(f"rule name {rule.name!r} appears twice; give every rule a unique name")
            seen.add(rule.name)
        return rules

    @model_validator(mode="after")
    def _within_catalogue(self, info: ValidationInfo) -> RetentionPolicySpec:
        """Rules within the catalogue's bounds: of the category a store declares, and of the category
        a rule's classification tag names. (A store's tag is read by the reconciler, which applies
        the same check before it changes anything: `controllers.retention.check_catalogue`.)"""
        settings = _category_settings(info)
        for problem in rule_bound_problems(self.rules, settings):
            raise ValueError(problem)
        for index, store in enumerate(self.data_stores):
            inner = store.s3 or store.dynamodb
            if inner is None or inner.category is None:
                continue
            category = settings.resolve_category(inner.category)
            if category is None:
                continue
            for problem in rule_bound_problems(
                self.rules,
                settings,
                category,
                f"dataStores[{index}] ({store.label}) category {inner.category}",
            ):
                raise ValueError(problem)
        return self


def rule_bound_problems(
    rules: list[Rule], settings: Settings, category: Category | None = None, source: str = ""
) -> list[str]:
    """Each rule that keeps data longer than its data category allows (or deletes logs before the
    category's minimum), as `rules[i].maxAgeDays: ...; fix`. With `category` None: the bound of the
    category each rule's classification tag (`match.tags`, e.g. data-category: cookies) names."""
    problems: list[str] = []
    for index, rule in enumerate(rules):
        bound, why = category, source
        if bound is None:
            key, value = settings.classification(dict(rule.match.tags))
            bound = settings.resolve_category(value) if key else None
            why = f"its match.tags {key}: {value}"
        if bound is None:
            continue
        days = rule.delete_age_days
        where = f"rules[{index}].maxAgeDays: rule {rule.name}"
        if bound.max_retention_days is not None and days > bound.max_retention_days:
            problems.append(
                f"{where} keeps data {days} days, longer than the catalogue allows for {bound.id} data "
                f"({bound.max_retention_days} days, from {why}); lower maxAgeDays to at most "
                f"{bound.max_retention_days}"
            )
        elif bound.min_retention_days is not None and rule.max_age_days < bound.min_retention_days:
            problems.append(
                f"{where} deletes {bound.id} data after {rule.max_age_days} days, before the "
                f"{bound.min_retention_days} days the catalogue requires (from {why}); raise maxAgeDays"
            )
    return problems


class AuditLog(Model):
    bucket: str = Field(pattern=_BUCKET, description="Audit bucket receiving S3 server access logs.")
    prefix: str = Field(default="", max_length=512, description="Key prefix of the log objects.")
    min_retention_days: StrictInteger = Field(
        ge=1, le=36500, description="Logs must be kept at least this long."
    )
    lookback_days: StrictInteger = Field(
        default=7, ge=1, le=366, description="How far back access logs are reviewed."
    )


#: An IAM principal ARN in a partition; the same character classes as the CRD's pattern (ASCII only).
_ARN_PRINCIPAL_TEMPLATE = r"^arn:{partition}:(iam|sts)::[0-9]{{12}}:(root|(user|role|assumed-role|federated-user)/[A-Za-z0-9_+=,.@/-]+)$"
#: What the CRD accepts (the territory's partition is aws-cn); the validator below checks the partition
#: the catalogue configures, and names the problem.
ARN_PRINCIPAL_CRD_PATTERN = _ARN_PRINCIPAL_TEMPLATE.format(partition="aws-cn")
_ARN_PRINCIPAL = re.compile(_ARN_PRINCIPAL_TEMPLATE.format(partition="(?P<partition>aws[a-z-]*)"))


class AccessAuditPolicySpec(Model):
    data_stores: list[DataStore] = Field(min_length=1)
    audit_log: AuditLog
    allowed_principals: list[str] = Field(
        default_factory=list,
        description="IAM principal ARNs allowed to access the data stores.",
        json_schema_extra={"items": {"type": "string", "pattern": ARN_PRINCIPAL_CRD_PATTERN}},
    )
    mode: Mode = Mode.ENFORCE
    interval: str | None = _interval_field()

    @field_validator("allowed_principals")
    @classmethod
    def _arns(cls, values: list[str], info: ValidationInfo) -> list[str]:
        partition = _settings(info).partition
        for index, arn in enumerate(values):
            found = _ARN_PRINCIPAL.fullmatch(arn)
            if not found:
                raise ValueError(
                    f"[{index}] {arn!r} is not an IAM principal ARN; write it like "
                    f"arn:{partition}:iam::123456789012:role/reader"
                )
            if found["partition"] != partition:
                raise ValueError(
                    f"[{index}] {arn!r} is in partition {found['partition']}; use arn:{partition}:"
                )
        return values


#: keyPrefix: a literal prefix with `{subjectId}/` in it (exactly once: the validator, and a CEL rule).
KEY_PREFIX_PATTERN = r"^[^*?\[\]\r\n]*\{subjectId\}/[^*?\[\]\r\n]*$"


class ErasureS3Store(_S3Bucket):
    key_prefix: str = Field(
        min_length=1,
        max_length=1024,
        description="Key prefix of one subject's objects; contains {subjectId} followed by '/'.",
        json_schema_extra={
            "pattern": KEY_PREFIX_PATTERN,
            "x-kubernetes-validations": [
                {
                    "rule": "self.indexOf('{subjectId}') == self.lastIndexOf('{subjectId}')",
                    "message": "keyPrefix must contain {subjectId} exactly once",
                }
            ],
        },
    )

    @field_validator("key_prefix")
    @classmethod
    def _one_subject(cls, value: str) -> str:
        if "\n" in value or "\r" in value:
            raise ValueError("keyPrefix has a line break; remove it")
        if value.count(SUBJECT_PLACEHOLDER) != 1:
            raise ValueError(
                "keyPrefix must contain {subjectId} exactly once (like users/{subjectId}/), "
                "or the erasure would not be scoped to one subject"
            )
        if f"{SUBJECT_PLACEHOLDER}/" not in value:
            raise ValueError(
                "keyPrefix must have '/' right after {subjectId} (like users/{subjectId}/); "
                "otherwise subject 'ab' would also erase subject 'abc'"
            )
        if any(ch in value for ch in "*?[]"):
            raise ValueError("keyPrefix is a literal prefix; remove wildcard characters")
        return value


class ErasureDynamoDBStore(_Store):
    table: str = Field(pattern=_TABLE)
    partition_key: str = Field(pattern=_ATTRIBUTE, description="The table's partition (hash) key attribute.")


class ErasureDataStore(Model):
    model_config = ConfigDict(json_schema_extra=_EXACTLY_ONE)

    s3: ErasureS3Store | None = None
    dynamodb: ErasureDynamoDBStore | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ErasureDataStore:
        if (self.s3 is None) == (self.dynamodb is None):
            raise ValueError(
                "give exactly one of `s3: {bucket, region, keyPrefix}` or `dynamodb: {table, region, partitionKey}`"
            )
        return self

    @property
    def label(self) -> str:
        return f"s3://{self.s3.bucket}" if self.s3 else f"dynamodb:{self.dynamodb.table}"  # type: ignore[union-attr]


#: An evidence prefix: printable, no wildcard; empty or ending in '/'.
EVIDENCE_PREFIX_PATTERN = r"^([^*?\[\]\x00-\x1f\x7f]*/)?$"


class ErasureEvidence(_S3Bucket):
    """Where the operator stores each run's erasure manifest (the bucket must be in the territory)."""

    prefix: str = Field(
        default="",
        max_length=512,
        pattern=EVIDENCE_PREFIX_PATTERN,
        description="Key prefix of the manifests (empty, or ending in '/'); each is "
        "PREFIX<request name>/<sha256>.jsonl.",
    )


def _subject_id_field() -> Any:
    return Field(
        description="The data subject's id: [A-Za-z0-9._@+=-], no leading/trailing dot, no '..'.",
        json_schema_extra={"pattern": SUBJECT_ID_PATTERN, "minLength": 1, "maxLength": 128},
    )


def check_subject_id(value: str) -> str:
    """A subject id that cannot widen a key prefix (ErasureRequest and AccessRequest share it)."""
    if not value:
        raise ValueError("subjectId is empty; an empty id would match every subject's data")
    if len(value) > 128 or not SUBJECT_ID.fullmatch(value):
        raise ValueError(
            f"subjectId {value!r} could widen the key prefix; use only letters, digits and ._@+=- "
            "(no '/', '*', '..', spaces, or leading/trailing '.')"
        )
    return value


class ErasureRequestSpec(Model):
    subject_id: str = _subject_id_field()
    data_stores: list[ErasureDataStore] = Field(min_length=1)
    deadline: datetime | None = Field(
        default=None, description="When the erasure must be complete (RFC 3339)."
    )
    evidence: ErasureEvidence | None = Field(
        default=None,
        description="S3 bucket and prefix for the erasure manifests (one JSON line per deleted item; "
        "status.evidence.deletedSha256 is the manifest's sha256).",
    )

    @field_validator("subject_id")
    @classmethod
    def _safe_subject(cls, value: str) -> str:
        return check_subject_id(value)

    @field_validator("deadline")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("deadline has no time zone; write it like 2026-12-31T00:00:00Z")
        return value


#: A KMS key or alias ARN; the CRD accepts the territory's partition (aws-cn), the validator checks the
#: partition and region the catalogue configures, and refuses AWS-managed aliases (alias/aws/...).
KMS_KEY_ARN_TEMPLATE = (
    r"^arn:{partition}:kms:[a-z0-9-]+:[0-9]{{12}}:(key/[A-Za-z0-9-]{{1,128}}|alias/[A-Za-z0-9/_-]{{1,250}})$"
)
KMS_KEY_ARN_CRD_PATTERN = KMS_KEY_ARN_TEMPLATE.format(partition="aws-cn")
KMS_KEY_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):kms:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12}):"
    r"(?P<resource>key/[A-Za-z0-9-]{1,128}|alias/[A-Za-z0-9/_-]{1,250})$"
)


class AccessDelivery(_S3Bucket):
    """Where an AccessRequest's package is written: a bucket in the territory, a customer-managed key."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "!self.kmsKeyArn.contains(':alias/aws/')",
                    "message": "kmsKeyArn names an AWS-managed key; use a customer-managed key",
                }
            ]
        }
    )

    prefix: str = Field(
        default="",
        max_length=512,
        pattern=EVIDENCE_PREFIX_PATTERN,
        description="Key prefix of the packages (empty, or ending in '/'); each package is "
        "PREFIX<request name>/<package id>/.",
    )
    kms_key_arn: str = Field(
        description="ARN of the customer-managed KMS key (or its alias) every object of the package is "
        "encrypted with (SSE-KMS); in the same region as the bucket. AWS-managed keys are refused.",
        json_schema_extra={"pattern": KMS_KEY_ARN_CRD_PATTERN},
    )

    @model_validator(mode="after")
    def _key_in_territory(self, info: ValidationInfo) -> AccessDelivery:
        partition = _settings(info).partition
        found = KMS_KEY_ARN.fullmatch(self.kms_key_arn)
        if found is None:
            raise ValueError(
                f"kmsKeyArn {self.kms_key_arn!r} is not a KMS key ARN; write it like "
                f"arn:{partition}:kms:{self.region}:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
            )
        if found["partition"] != partition:
            raise ValueError(f"kmsKeyArn is in partition {found['partition']}; use arn:{partition}:")
        if found["region"] != self.region:
            raise ValueError(
                f"kmsKeyArn is in {found['region']}, the bucket in {self.region}; use a key in {self.region}"
            )
        if found["resource"].startswith("alias/aws/"):
            raise ValueError(
                f"kmsKeyArn {found['resource']} is an AWS-managed key, which anyone in the account with "
                "S3 access can use; name a customer-managed key"
            )
        return self


class Verification(Model):
    """Who verified the requester's identity, and when (the verification itself is organisational)."""

    by: str = Field(
        min_length=1,
        max_length=256,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="Who verified the requester's identity (a person or team, a ticket).",
    )
    at: datetime = Field(description="When the identity was verified (RFC 3339).")

    @field_validator("at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("verifiedBy.at has no time zone; write it like 2026-11-20T09:00:00Z")
        return value


class PackageLimits(Model):
    max_items: StrictInteger = Field(
        default=100_000,
        ge=1,
        le=10_000_000,
        description="Refuse (write nothing) when the subject has more objects and items than this.",
    )
    max_bytes: StrictInteger = Field(
        default=1 << 30,
        ge=1,
        le=1 << 40,
        description="Refuse (write nothing) when the subject's objects and items add up to more bytes.",
    )


class AccessRequestSpec(Model):
    subject_id: str = _subject_id_field()
    data_stores: list[ErasureDataStore] = Field(min_length=1)
    deliver_to: AccessDelivery
    verified_by: Verification = Field(
        description="Who verified the requester's identity and when; the request refuses to run without it.",
    )
    deadline: datetime | None = Field(
        default=None, description="When the package must be delivered (RFC 3339)."
    )
    limits: PackageLimits = Field(
        default_factory=PackageLimits, description="Bounds on the package; over them nothing is written."
    )

    @field_validator("subject_id")
    @classmethod
    def _safe_subject(cls, value: str) -> str:
        return check_subject_id(value)

    @field_validator("deadline")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("deadline has no time zone; write it like 2026-12-31T00:00:00Z")
        return value

    @model_validator(mode="after")
    def _package_outside_the_stores(self) -> AccessRequestSpec:
        """The package must not land under a prefix it reads, or a later read would include it."""
        target = self.deliver_to
        for index, store in enumerate(self.data_stores):
            if store.s3 is None or store.s3.bucket != target.bucket:
                continue
            scope = store.s3.key_prefix.split(SUBJECT_PLACEHOLDER, 1)[0]
            if target.prefix.startswith(scope) or scope.startswith(target.prefix):
                raise ValueError(
                    f"deliverTo.prefix {target.prefix!r} overlaps dataStores[{index}].s3.keyPrefix "
                    f"{store.s3.key_prefix!r} in the same bucket; deliver under a prefix no data store reads"
                )
        return self


class Metadata(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    name: Annotated[str, Field(min_length=1, max_length=253, pattern=_NAME)]
    namespace: str | None = None
    generation: int | None = None


KINDS: dict[str, type[Model]] = {
    "RetentionPolicy": RetentionPolicySpec,
    "AccessAuditPolicy": AccessAuditPolicySpec,
    "ErasureRequest": ErasureRequestSpec,
    "AccessRequest": AccessRequestSpec,
}
Kind = Literal["RetentionPolicy", "AccessAuditPolicy", "ErasureRequest", "AccessRequest"]


class Document(BaseModel):
    """One validated custom resource, with where it came from (for messages)."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    kind: Kind
    metadata: Metadata
    spec: Any
    source: str
    index: int

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.metadata.name}"
