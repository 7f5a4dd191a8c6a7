"""Classification: every data store says which category of data it holds.

The category (tag `data-category` by default, from the catalogue) decides whether a store must stay
in mainland China and how long it may keep data. A store without a valid tag is treated as
unclassified personal data collected in mainland China, the strictest category: safe, but usually
wrong, so the missing tag is itself a finding.
"""

from __future__ import annotations

from collections.abc import Iterator

from policies.coverage import declaration_of, matching_attestation, strict_mode
from policies.model import UNKNOWN, Resource, Severity
from policies.registry import Violation, rule, unknown
from policies.settings import Settings
from policies.stack import Stack
from policies.tokens import CLASSIFIED_STORES


@rule(
    id="CLS-001",
    title="Data stores carry a data-category tag",
    severity=Severity.MEDIUM,
    types=CLASSIFIED_STORES,
    remediation=(
        "Tag every data store with `data-category: <id>` naming one of the catalogue's categories "
        "(`residency controls` lists them), e.g. tags={'data-category': 'user-uploads'}."
    ),
)
def data_store_classified(res: Resource, stack: Stack) -> Iterator[str | Violation]:
    """A data store's classification tag names a category of the catalogue."""
    settings = stack.settings
    found, value = settings.classification(res.tags)
    key = found or settings.classification_tag
    if value is UNKNOWN:
        yield unknown(
            f"{res.label}'s `{key}` tag is not known until apply; use a literal category "
            f"({_valid_ids(settings)}) so the preview knows which rules apply"
        )
        return
    if value is None:
        if _tags_unknown(res):
            yield unknown(
                f"{res.label}'s tags are not known until apply, so its `{key}` tag cannot be read; use literal "
                f"tags with `{key}` set to one of {_valid_ids(settings)}"
            )
            return
        yield (
            f"{res.label} has no `{key}` tag (on the resource or in its provider's defaultTags), so it is treated as {_failsafe(settings)}; tag it with the "
            f"category of data it holds, one of {_valid_ids(settings)}"
        )
        return
    if settings.resolve_category(value) is None:
        yield (
            f"{res.label} has `{key}: {value}`, which is not a known data category, so it is treated as "
            f"{_failsafe(settings)}; use one of {_valid_ids(settings)}"
        )


def _valid_ids(settings: Settings) -> str:
    ids = sorted(settings.categories)
    return ", ".join(ids) if ids else "(none: the catalogue defines no categories)"


def _failsafe(settings: Settings) -> str:
    category = settings.untagged
    text = "unclassified personal data collected in mainland China (the strictest rules"
    if category.max_retention_days is not None:
        text += f": kept in territory, at most {category.max_retention_days} days"
    return text + ")"


def _tags_unknown(res: Resource) -> bool:
    """The tags themselves (not just one value) are unknown until apply."""
    return res.props.get("tags") is UNKNOWN


@rule(
    id="CLS-002",
    title="A non-personal classification is attested (--strict)",
    severity=Severity.HIGH,
    types=None,
    applies=strict_mode,
    counts_as_coverage=False,
    remediation=(
        "Add an attestation to the waivers file: {kind: classification, urn: <glob>, category: non-personal, "
        "owner: <who answers for it>, reason: <why it holds no personal data>, expires: <date>}; or remove "
        "the tag so the resource is checked as personal data."
    ),
)
def classification_attested(res: Resource, stack: Stack) -> Iterator[str]:
    """A tag that takes a resource out of the territory and retention rules is on the record only when
    someone answers for it: an attestation with an owner, a reason and an expiry."""
    declaration = declaration_of(res, stack.settings)
    if declaration is None or not declaration.non_personal:
        return
    if matching_attestation(res.urn, declaration.category, stack.settings.attestations) is not None:
        return
    yield (
        f"{res.label} is declared `{declaration.category}` by its {declaration.source}, which exempts it from "
        f"the territory and retention rules, but no attestation in the waivers file backs it; add "
        f"{{kind: classification, urn: '{res.urn}', category: {declaration.category}, owner, reason, expires}}"
    )
