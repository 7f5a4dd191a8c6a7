"""The controls catalogue: a readable YAML file, validated by pydantic at load.

The catalogue is the single source of three things: which privacy-policy clause each control
implements, which rules implement each control, and the data categories (residency, retention)
every rule is evaluated against.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)

from policies.errors import InputError
from policies.settings import Category, Settings

DEFAULT_CATALOG = Path(__file__).with_name("catalog.yaml")
_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_ANY_REGION = re.compile(r"^[a-z]{2}[a-z0-9-]*[a-z0-9]$")
_PACKAGE = re.compile(r"^[a-z][a-z0-9-]*$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PolicyDocument(_Model):
    title: str
    document: str


class Territory(_Model):
    allowed_regions: list[str] = Field(min_length=1)
    partition: Literal["aws-cn", "aws", "aws-us-gov"] = "aws-cn"
    #: Allowed regions per Pulumi provider package (`aws`, `aws-native`, `alicloud`...). `aws` must
    #: equal `allowed_regions`; a package with no entry is reported "not evaluated".
    providers: dict[str, list[str]] = {}

    @field_validator("allowed_regions")
    @classmethod
    def _regions(cls, value: list[str]) -> list[str]:
        for region in value:
            if not _REGION.match(region):
                raise ValueError(f"{region!r} is not an AWS region name (like cn-north-1)")
        return value

    @field_validator("providers")
    @classmethod
    def _provider_regions(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for package, regions in value.items():
            if not _PACKAGE.match(package):
                raise ValueError(f"{package!r} is not a Pulumi provider package name (like aws or alicloud)")
            if not regions:
                raise ValueError(f"{package}: list at least one region, or remove the entry")
            for region in regions:
                if not _ANY_REGION.match(region):
                    raise ValueError(
                        f"{package}: {region!r} is not a region name (like cn-north-1 or cn-beijing)"
                    )
            if package in ("aws", "aws-native"):
                bad = [r for r in regions if not _REGION.match(r)]
                if bad:
                    raise ValueError(f"{package}: {bad[0]!r} is not an AWS region name (like cn-north-1)")
        return value

    @model_validator(mode="after")
    def _aws_consistent(self) -> Territory:
        aws = self.providers.get("aws")
        if aws is not None and sorted(aws) != sorted(self.allowed_regions):
            raise ValueError(
                "providers.aws must list the same regions as allowed_regions; change both together"
            )
        return self


class Classification(_Model):
    tag: str = Field(min_length=1, max_length=128)
    #: Other tag keys that carry the same classification (matched case-insensitively).
    aliases: list[str] = []
    untagged: str


#: The `source` of a retention number that no clause or law sets: it then names an owner and a date.
INTERNAL_DECISION = "internal decision"


class RetentionLimit(_Model):
    """A retention number and where it comes from: the privacy-policy clause or the law that sets it
    (a citation anyone can check), or `internal decision` with the owner's role and the date."""

    days: int = Field(gt=0)
    source: str = Field(min_length=3)
    #: The role that answers for an internal decision (required then).
    owner: str | None = None
    #: When the internal decision was taken or recorded (required then).
    date: dt.date | None = None
    #: What an auditor should know about the number and its source.
    note: str | None = None

    @property
    def internal(self) -> bool:
        return self.source.strip().lower() == INTERNAL_DECISION

    @field_serializer("date")
    def _iso_date(self, value: dt.date | None) -> str | None:
        return value.isoformat() if value is not None else None

    @model_validator(mode="after")
    def _decision_has_owner(self) -> RetentionLimit:
        if self.internal and (not self.owner or self.date is None):
            raise ValueError(
                "source: an internal decision names its owner (a role, like Data Protection Officer) and its "
                "date (owner: ..., date: YYYY-MM-DD)"
            )
        return self


def _limit_with_source(value: object) -> object:
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError(
            f"{value} days has no source; write {{days: {value}, source: ...}} naming the privacy-policy clause "
            "or the law that sets it, or source: internal decision with owner and date"
        )
    return value


class DataCategory(_Model):
    # Dumped (`residency controls --format json`) under the catalogue's own keys.
    model_config = ConfigDict(extra="forbid", frozen=True, serialize_by_alias=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    examples: list[str] = []
    #: Other names teams use for the category in the tag value (matched case-insensitively).
    aliases: list[str] = []
    clause: str
    personal: bool = True
    in_territory: bool = True
    #: Retention bounds, each with its `source` (YAML keys `max_retention_days`, `min_retention_days`).
    max_retention: RetentionLimit | None = Field(default=None, alias="max_retention_days")
    min_retention: RetentionLimit | None = Field(default=None, alias="min_retention_days")

    @field_validator("max_retention", "min_retention", mode="before")
    @classmethod
    def _limits_have_sources(cls, value: object) -> object:
        return _limit_with_source(value)

    @property
    def max_retention_days(self) -> int | None:
        return self.max_retention.days if self.max_retention is not None else None

    @property
    def min_retention_days(self) -> int | None:
        return self.min_retention.days if self.min_retention is not None else None

    @model_validator(mode="after")
    def _bounds(self) -> DataCategory:
        if (
            self.min_retention_days is not None
            and self.max_retention_days is not None
            and self.min_retention_days > self.max_retention_days
        ):
            raise ValueError(
                f"category {self.id}: min_retention_days ({self.min_retention_days}) is above "
                f"max_retention_days ({self.max_retention_days}); lower the minimum or raise the maximum"
            )
        if self.personal and self.max_retention_days is None:
            raise ValueError(
                f"category {self.id}: personal data needs max_retention_days (the policy promises the "
                "shortest possible retention)"
            )
        return self


class Control(_Model):
    id: str = Field(pattern=r"^[A-Z][A-Z0-9-]*$")
    title: str
    section: str
    clause: str = Field(min_length=10)
    kind: Literal["technical", "runtime", "organisational"]
    categories: list[str] = []
    rules: list[str] = []
    runtime: list[Literal["RetentionPolicy", "AccessAuditPolicy", "ErasureRequest", "AccessRequest"]] = []
    reason: str | None = None

    @model_validator(mode="after")
    def _kind_consistency(self) -> Control:
        if self.kind == "technical" and not self.rules:
            raise ValueError(f"control {self.id}: a technical control lists the rules that implement it")
        if self.kind == "runtime" and not self.runtime:
            raise ValueError(f"control {self.id}: a runtime control names the controller resource (runtime:)")
        if self.kind == "organisational" and not self.reason:
            raise ValueError(
                f"control {self.id}: an organisational control gives the reason it has no technical check"
            )
        return self


class Catalog(_Model):
    version: Literal[1]
    policy: PolicyDocument
    territory: Territory
    classification: Classification
    categories: list[DataCategory] = Field(min_length=1)
    controls: list[Control] = Field(min_length=1)

    @model_validator(mode="after")
    def _references(self) -> Catalog:
        category_ids = [c.id for c in self.categories]
        if len(set(category_ids)) != len(category_ids):
            raise ValueError("categories: ids must be unique")
        names = [n.lower() for c in self.categories for n in (c.id, *c.aliases)]
        clashes = sorted({n for n in names if names.count(n) > 1})
        if clashes:
            raise ValueError(
                f"categories: {', '.join(clashes)} names more than one category; make aliases unique"
            )
        if self.classification.untagged not in category_ids:
            raise ValueError(
                f"classification.untagged: {self.classification.untagged!r} is not a category id "
                f"(one of {', '.join(category_ids)})"
            )
        control_ids = [c.id for c in self.controls]
        if len(set(control_ids)) != len(control_ids):
            dupes = sorted({c for c in control_ids if control_ids.count(c) > 1})
            raise ValueError(f"controls: duplicate ids {', '.join(dupes)}")
        for control in self.controls:
            for cat in control.categories:
                if cat not in category_ids:
                    raise ValueError(f"control {control.id}: unknown category {cat!r}")
        return self

    def check_rules(self, rule_ids: set[str]) -> None:
        """Every rule a control names exists, and every registered rule serves some control."""
        named = {r for c in self.controls for r in c.rules}
        missing = sorted(named - rule_ids)
        if missing:
            raise InputError(f"the catalogue names rules that do not exist: {', '.join(missing)}")
        orphans = sorted(rule_ids - named)
        if orphans:
            raise InputError(
                f"rules {', '.join(orphans)} implement no control; add them to a control's rules"
            )

    def rule_controls(self) -> dict[str, tuple[str, ...]]:
        mapping: dict[str, list[str]] = {}
        for control in self.controls:
            for rule_id in control.rules:
                mapping.setdefault(rule_id, []).append(control.id)
        return {k: tuple(v) for k, v in mapping.items()}

    def settings(self) -> Settings:
        categories = {
            c.id: Category(
                id=c.id,
                title=c.title,
                personal=c.personal,
                in_territory=c.in_territory,
                max_retention_days=c.max_retention_days,
                min_retention_days=c.min_retention_days,
            )
            for c in self.categories
        }
        return Settings(
            allowed_regions=tuple(self.territory.allowed_regions),
            classification_tag=self.classification.tag,
            categories=categories,
            untagged=categories[self.classification.untagged],
            rule_controls=self.rule_controls(),
            classification_tag_aliases=tuple(self.classification.aliases),
            category_aliases={a.lower(): c.id for c in self.categories for a in c.aliases},
            territory=self._territory(),
        )

    def _territory(self) -> dict[str, tuple[str, ...]]:
        """Allowed regions of the non-`aws` packages; `aws-native` follows `aws` unless set."""
        providers = {k: tuple(v) for k, v in self.territory.providers.items() if k != "aws"}
        providers.setdefault("aws-native", tuple(self.territory.allowed_regions))
        return providers


def _format_validation_error(err: ValidationError) -> str:
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "(top level)"
    msg = first["msg"].removeprefix("Value error, ")
    more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
    return f"{where}: {msg}{more}"


def load_catalog(path: Path | str | None = None) -> Catalog:
    """Load and validate a catalogue; errors are `InputError` naming the file and the field."""
    import yaml

    file = Path(path) if path is not None else DEFAULT_CATALOG
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the catalogue: {exc.strerror or exc}", source=str(file)) from None
    try:
        # libyaml's loader when the wheel has it: the catalogue loads on every check.
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise InputError(f"not valid YAML{where}; fix the syntax", source=str(file)) from None
    if not isinstance(data, dict):
        raise InputError(
            "a catalogue is a YAML mapping with version, territory, categories, controls", source=str(file)
        )
    try:
        return Catalog.model_validate(data)
    except ValidationError as exc:
        raise InputError(_format_validation_error(exc), source=str(file)) from None


@lru_cache(maxsize=4)
def default_catalog() -> Catalog:
    return load_catalog(DEFAULT_CATALOG)
