"""What the rules are evaluated against: territory, data categories and their retention bounds.

Settings come from the controls catalogue (`catalog.yaml`), so an organisation that tunes the
catalogue tunes every rule. They are plain frozen dataclasses: rules read them in hot loops.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEFAULT_ALLOWED_REGIONS = ("cn-north-1", "cn-northwest-1")


@dataclass(frozen=True, slots=True)
class Category:
    id: str
    title: str
    personal: bool = True
    in_territory: bool = True
    max_retention_days: int | None = None
    min_retention_days: int | None = None


#: Used when a catalogue is not loaded (unit tests of a single rule); mirrors catalog.yaml.
_FAILSAFE = Category(
    id="unclassified",
    title="Unclassified data (treated as personal data collected in mainland China)",
    personal=True,
    in_territory=True,
    max_retention_days=30,
)


@dataclass(frozen=True, slots=True)
class Settings:
    allowed_regions: tuple[str, ...] = DEFAULT_ALLOWED_REGIONS
    classification_tag: str = "data-category"
    categories: dict[str, Category] = field(default_factory=dict)
    #: The category an untagged or wrongly tagged data store is treated as (fail safe).
    untagged: Category = _FAILSAFE
    #: rule id -> control ids, from the catalogue.
    rule_controls: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: Other tag keys teams use for the same classification (matched case-insensitively).
    classification_tag_aliases: tuple[str, ...] = ()
    #: Other names for a category (lower case) -> category id.
    category_aliases: dict[str, str] = field(default_factory=dict)
    #: Allowed regions of provider packages other than `aws` (whose regions are `allowed_regions`):
    #: `aws-native`, or another cloud an organisation adds. A package with no entry is not evaluated.
    territory: dict[str, tuple[str, ...]] = field(
        default_factory=lambda: {"aws-native": DEFAULT_ALLOWED_REGIONS}
    )
    #: `--strict`: not-evaluated resources (COV-001) and unattested relaxing classifications
    #: (CLS-002) are findings.
    strict: bool = False
    #: Active classification attestations from the waivers file (see policies/waivers.py).
    attestations: tuple[Any, ...] = ()

    def regions_for(self, package: str) -> tuple[str, ...] | None:
        """The allowed regions of a provider package (`aws`, `aws-native`, ...), or None if it has none."""
        if package == "aws":
            return self.allowed_regions
        return self.territory.get(package)

    @property
    def china(self) -> bool:
        return all(r.startswith("cn-") for r in self.allowed_regions)

    @property
    def partition(self) -> str:
        return "aws-cn" if self.china else "aws"

    def regions_text(self) -> str:
        return " or ".join(self.allowed_regions)

    def classification(self, tags: Any) -> tuple[str | None, Any]:
        """(the tag key found, its value): the catalogue's tag first, then its aliases, any case."""
        if not isinstance(tags, dict):
            return None, None
        if self.classification_tag in tags:
            return self.classification_tag, tags[self.classification_tag]
        wanted = [self.classification_tag.lower(), *(a.lower() for a in self.classification_tag_aliases)]
        lowered = {k.lower(): k for k in tags if isinstance(k, str)}
        for key in wanted:
            if key in lowered:
                return lowered[key], tags[lowered[key]]
        return None, None

    def resolve_category(self, value: Any) -> Category | None:
        """The category a tag value names (its id or an alias, any case), or None."""
        if not isinstance(value, str):
            return None
        text = value.strip()
        category = self.categories.get(text)
        if category is None:
            alias = self.category_aliases.get(text.lower())
            category = self.categories.get(alias or text.lower())
        return category

    def category_of(self, tags: Any) -> Category:
        """The data category a store's classification tag names; unknown or missing: fail safe."""
        return self.resolve_category(self.classification(tags)[1]) or self.untagged
