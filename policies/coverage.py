"""Coverage and declarations: what a check looked at, and what the input said about itself.

A PASS is only as good as what it covers. Every resource of a check ends as exactly one of:

- **evaluated**: its type is one the type catalogue classifies (or a package whose territory the
  catalogue lists), and at least one rule that understands it ran on it; the rule families that
  ran are recorded;
- **not applicable**: it holds no data and can place none anywhere (components, random values,
  route-table associations...);
- **not evaluated**, with the reason: a type the type catalogue does not classify, or a provider
  package with no territory entry. Reports name every one; `--strict` makes each a finding (COV-001).

A *declaration* is a classification that relaxes a rule (`non-personal`, or a category kept longer
than unclassified data): it is listed with where it came from (the resource's tag or its provider's
`defaultTags`), so no tag switches rules off without a record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from policies.stack import PROVIDER_PREFIX, package_of

if TYPE_CHECKING:
    from policies.model import Resource
    from policies.settings import Category, Settings

#: Provider packages whose every resource type the type catalogue classifies: an unclassified type of
#: these is a newer release's type no rule knows. Other packages with a territory entry (aws-native,
#: another cloud) are judged by region alone where the catalogue does not classify the type.
CATALOGUED_PACKAGES = frozenset({"aws", "aws-native"})
#: Packages whose resources hold no data and place nothing anywhere (the type catalogue names their
#: types too; this also covers their providers and types of releases it has not seen).
METADATA_PACKAGES = frozenset({"random", "time", "tls", "pulumi"})

EVALUATED, NOT_APPLICABLE, NOT_EVALUATED = "evaluated", "not_applicable", "not_evaluated"
#: Why a resource read from another stack (or an existing cloud resource) is not this stack's finding.
EXTERNAL_REASON = "read from another stack/external: context only"


@cache
def classify(type_token: str) -> Any:
    """The type catalogue's entry for a token (`.kind`, `.regional`), or None when it has none."""
    from policies.type_catalog import classify as catalogue_classify

    return catalogue_classify(type_token)


def strict_mode(_res: Resource, stack: Any) -> bool:
    """`applies` of the rules that only run with `--strict` (COV-001, CLS-002)."""
    return stack.settings.strict


def static_status(res: Resource, settings: Settings) -> tuple[str, str | None]:
    """(status, reason) from the type and provider package alone; `evaluated` here means "a rule can
    understand it": the engine confirms that one did."""
    if not res.custom:
        return NOT_APPLICABLE, "component resource: it groups others and holds nothing itself"
    if res.external:
        return NOT_APPLICABLE, EXTERNAL_REASON
    package = package_of(res.type)
    if res.type.startswith(PROVIDER_PREFIX):
        if settings.regions_for(package) is not None:
            return EVALUATED, None
        if package in METADATA_PACKAGES:
            return NOT_APPLICABLE, f"provider of {package} values, which hold no data"
        return NOT_EVALUATED, _no_territory(package)
    info = classify(res.type)
    if info is not None and info.kind == "metadata":
        return NOT_APPLICABLE, "metadata only: holds no data and places none anywhere"
    if package in METADATA_PACKAGES:
        return NOT_APPLICABLE, f"a {package} value: holds no data and places none anywhere"
    if settings.regions_for(package) is None:
        return NOT_EVALUATED, _no_territory(package)
    if info is None and package in CATALOGUED_PACKAGES:
        return NOT_EVALUATED, (
            f"type {res.type} is not in the type catalogue (a newer pulumi-{package} release?), so no rule "
            "knows what it holds or where it sends data; classify it in policies/type_catalog.yaml"
        )
    return EVALUATED, None


def _no_territory(package: str) -> str:
    return (
        f"provider package '{package}' has no territory entry in the catalogue, so nothing says which of "
        f"its regions are in mainland China; add its allowed regions under territory.providers.{package}"
    )


@dataclass(slots=True)
class Declaration:
    urn: str
    type: str
    category: str
    #: Where the classification came from, in words: a resource tag, a provider's defaultTags, or the
    #: stack config's `aws:defaultTags` (Pulumi's default provider).
    source: str
    #: The category says the data is not personal or need not stay in territory.
    non_personal: bool
    #: The attestation (owner, reason, expiry) that backs it, when the waivers file has one.
    attested_by: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "category": self.category,
            "source": self.source,
            "attested": self.attested_by is not None,
            **({"attestation": self.attested_by} if self.attested_by else {}),
        }


def relaxes(category: Category, settings: Settings) -> bool:
    """Whether a category is looser than the fail-safe treatment of unclassified data."""
    if not category.personal or not category.in_territory:
        return True
    strictest = settings.untagged.max_retention_days
    return strictest is not None and (
        category.max_retention_days is None or category.max_retention_days > strictest
    )


def declaration_of(res: Resource, settings: Settings) -> Declaration | None:
    """The relaxing classification a resource declares, with its source; None when it declares none."""
    if not res.tags:
        return None
    key, value = settings.classification(res.tags)
    if key is None:
        return None
    category = settings.resolve_category(value)
    if category is None or not relaxes(category, settings):
        return None
    origin = res.inherited_tags.get(key)
    if origin is not None:
        source = f"{origin} ({key}: {value})"
    else:
        source = f"resource tag ({key}: {value})"
    return Declaration(
        urn=res.urn,
        type=res.type,
        category=category.id,
        source=source,
        non_personal=not category.personal or not category.in_territory,
    )


def matching_attestation(urn: str, category: str, attestations: Any) -> Any:
    """The first active attestation (`.urn` glob, `.category`) that backs a declaration, or None."""
    from fnmatch import fnmatchcase

    for attestation in attestations:
        if attestation.category == category and fnmatchcase(urn, attestation.urn):
            return attestation
    return None


@dataclass
class Coverage:
    """Per-resource outcome of a check: the contract's `coverage` object."""

    #: (urn, type, rule families that ran)
    evaluated: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list)
    #: (urn, type, reason)
    not_applicable: list[tuple[str, str, str]] = field(default_factory=list)
    #: (urn, type, reason)
    not_evaluated: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.evaluated) + len(self.not_applicable) + len(self.not_evaluated)

    def extend(self, other: Coverage) -> None:
        self.evaluated.extend(other.evaluated)
        self.not_applicable.extend(other.not_applicable)
        self.not_evaluated.extend(other.not_evaluated)

    def families(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for _urn, _type, families in self.evaluated:
            for family in families:
                counts[family] = counts.get(family, 0) + 1
        return dict(sorted(counts.items()))

    def summary_text(self) -> str:
        """`9 of 10 resources evaluated, 1 not applicable, 0 not evaluated`."""
        noun = "resource" if self.total == 1 else "resources"
        return (
            f"{len(self.evaluated)} of {self.total} {noun} evaluated, {len(self.not_applicable)} not "
            f"applicable, {len(self.not_evaluated)} not evaluated"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "evaluated": len(self.evaluated),
            "not_applicable": len(self.not_applicable),
            "not_evaluated": [{"urn": u, "type": t, "reason": r} for u, t, r in self.not_evaluated],
            "families": self.families(),
            "evaluated_resources": [{"urn": u, "type": t, "families": list(f)} for u, t, f in self.evaluated],
        }
