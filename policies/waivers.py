"""Waivers: accepted findings, each with a reason, an owner and an expiry date.

    waivers:
      - rule: AUD-002
        urn: "urn:pulumi:prod::shop::aws:s3/bucketV2:BucketV2::*"
        reason: The trail lives in the central audit account's stack
        owner: platform-team@pushauction.com
        expires: 2027-03-31

`urn` is a glob (`*`, `?`, `[...]`) matched against the whole URN. An expired waiver no longer
applies, and is itself reported; a waiver for a rule that does not exist is an error, so a typo
can never silently hide a finding.

The same list holds classification attestations: someone answering for a tag that relaxes the
rules (`data-category: non-personal`). `residency check --strict` requires one for every such
declaration (CLS-002); expired and unused attestations are reported like waivers.

      - kind: classification
        urn: "urn:pulumi:prod::shop::aws:s3/bucket:Bucket::public-assets"
        category: non-personal
        reason: Product images published on the storefront; no user data
        owner: web-team@pushauction.com
        expires: 2027-03-31
"""

from __future__ import annotations

from datetime import date
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from policies.engine import Result
from policies.errors import InputError


class _Entry(BaseModel):
    """What a waiver and an attestation share: whose resources, why, who answers, until when."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    urn: str = Field(min_length=1, description="glob over the resource URN")
    reason: str = Field(min_length=10, description="why it is accepted")
    owner: str = Field(min_length=2, description="who answers for it")
    expires: date

    @field_validator("urn")
    @classmethod
    def _urn_shape(cls, value: str) -> str:
        if not (value.startswith("urn:pulumi:") or value == "*"):
            raise ValueError("must be a Pulumi URN or a glob starting with 'urn:pulumi:' (or '*')")
        return value


class Waiver(_Entry):
    kind: Literal["waiver"] = "waiver"
    rule: str = Field(pattern=r"^[A-Z]{2,5}-\d{3}$", description="the rule id, like AUD-002")


class Attestation(_Entry):
    """Someone answers for a classification that relaxes the rules (e.g. `non-personal`)."""

    kind: Literal["classification"]
    category: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="the category id it attests")


class Waivers(list):
    """The waivers of a file (a list, as before), with its classification attestations beside them."""

    attestations: list[Attestation]

    def __init__(self, waivers: list[Waiver], attestations: list[Attestation]) -> None:
        super().__init__(waivers)
        self.attestations = attestations


_FIELDS = {
    "waiver": "kind, rule, urn, reason, owner, expires",
    "classification": "kind, urn, category, reason, owner, expires",
}


def _entry(index: int, item: Any, file: str) -> Waiver | Attestation:
    where = f"waiver {index + 1}"
    if not isinstance(item, dict):
        raise InputError(
            f"{where} must be a mapping (rule, urn, reason, owner, expires), not {type(item).__name__}",
            source=file,
        )
    kind = item.get("kind", "waiver")
    if kind not in _FIELDS:
        raise InputError(
            f"{where}, field 'kind': {kind!r} is not a kind; use waiver (the default) or classification",
            source=file,
        )
    model = Waiver if kind == "waiver" else Attestation
    try:
        return model.model_validate(item)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = err["loc"]
        field = f", field '{loc[0]}'" if loc else ""
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "missing":
            msg = f"is required (each {kind} entry has {_FIELDS[kind]})"
        elif err["type"] == "extra_forbidden":
            msg = f"is not a {kind} field (use {_FIELDS[kind]})"
        elif err["type"].startswith("date"):
            msg = "must be a date like 2027-03-31"
        raise InputError(f"{where}{field} {msg}", source=file) from None


def load_waivers(path: str | Path) -> Waivers:
    import yaml

    from policies.registry import all_rules

    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            f"cannot read the waivers file: {getattr(exc, 'strerror', None) or exc}", source=file
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise InputError(f"not valid YAML{where}; fix the syntax", source=file) from None
    if not isinstance(data, dict) or "waivers" not in data:
        raise InputError(
            "expected a mapping with a 'waivers' list (rule, urn, reason, owner, expires)", source=file
        )
    if not isinstance(data["waivers"], list):
        raise InputError(
            "'waivers' must be a list of entries (rule, urn, reason, owner, expires)", source=file
        )
    entries = [_entry(i, item, file) for i, item in enumerate(data["waivers"])]
    extra = sorted(set(data) - {"waivers"})
    if extra:
        raise InputError(
            f"{extra[0]!r} is not a top-level key; the file holds one 'waivers' list", source=file
        )
    known = set(all_rules())
    for i, entry in enumerate(entries, 1):
        if isinstance(entry, Waiver) and entry.rule not in known:
            raise InputError(
                f"waiver {i}, field 'rule': no rule {entry.rule}; see `residency controls`", source=file
            )
    return Waivers(
        [e for e in entries if isinstance(e, Waiver)], [e for e in entries if isinstance(e, Attestation)]
    )


def active_attestations(
    attestations: list[Attestation], categories: set[str], today: date
) -> list[Attestation]:
    """The attestations in force today; one naming a category the catalogue lacks is an error."""
    for attestation in attestations:
        if attestation.category not in categories:
            raise InputError(
                f"attestation for {attestation.urn}: no data category {attestation.category!r}; use one of "
                f"{', '.join(sorted(categories))}",
                source="--waivers",
            )
    return [a for a in attestations if a.expires >= today]


def apply_attestations(result: Result, attestations: list[Attestation], today: date) -> None:
    """Mark declarations that an attestation backs; report expired and unused attestations."""
    from policies.coverage import matching_attestation

    active = [a for a in attestations if a.expires >= today]
    for attestation in attestations:
        if attestation.expires < today:
            result.notices.append(
                f"classification attestation ({attestation.category}) for {attestation.urn} (owner "
                f"{attestation.owner}) expired on {attestation.expires.isoformat()} and no longer applies; "
                "renew it or remove the classification"
            )
    used: set[int] = set()
    for declaration in result.declarations:
        match = matching_attestation(declaration.urn, declaration.category, active)
        if match is not None:
            used.add(id(match))
            declaration.attested_by = f"{match.reason} (owner {match.owner}, until {match.expires})"
    for attestation in active:
        if id(attestation) not in used:
            result.notices.append(
                f"classification attestation ({attestation.category}) for {attestation.urn} matched no "
                "declaration; remove it if it is no longer needed"
            )


def apply_waivers(result: Result, waivers: list[Waiver], today: date) -> None:
    """Mark waived findings; report expired waivers and waivers that matched nothing."""
    active = [w for w in waivers if w.expires >= today]
    for waiver in waivers:
        if waiver.expires < today:
            result.notices.append(
                f"waiver for {waiver.rule} on {waiver.urn} (owner {waiver.owner}) expired on "
                f"{waiver.expires.isoformat()} and no longer applies; renew it or fix the findings"
            )
    used: set[int] = set()
    for finding in result.findings:
        for index, waiver in enumerate(active):
            if waiver.rule == finding.rule and fnmatchcase(finding.urn, waiver.urn):
                finding.waived = True
                finding.waiver_reason = f"{waiver.reason} (owner {waiver.owner}, until {waiver.expires})"
                used.add(index)
                break
    for index, waiver in enumerate(active):
        if index not in used:
            result.notices.append(
                f"waiver for {waiver.rule} on {waiver.urn} matched no finding; remove it if it is no longer needed"
            )
