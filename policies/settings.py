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

    @property
    def china(self) -> bool:
        return all(r.startswith("cn-") for r in self.allowed_regions)

    @property
    def partition(self) -> str:
        return "aws-cn" if self.china else "aws"

    def regions_text(self) -> str:
        return " or ".join(self.allowed_regions)

    def category_of(self, tags: dict[str, Any]) -> Category:
        """The data category a store's classification tag names; unknown or missing: fail safe."""
        value = tags.get(self.classification_tag) if isinstance(tags, dict) else None
        if isinstance(value, str):
            category = self.categories.get(value.strip())
            if category is not None:
                return category
        return self.untagged
