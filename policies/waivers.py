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
"""

from __future__ import annotations

from datetime import date
from fnmatch import fnmatchcase
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from policies.engine import Result
from policies.errors import InputError


class Waiver(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: str = Field(pattern=r"^[A-Z]{2,5}-\d{3}$", description="the rule id, like AUD-002")
    urn: str = Field(min_length=1, description="glob over the resource URN")
    reason: str = Field(min_length=10, description="why the finding is accepted")
    owner: str = Field(min_length=2, description="who answers for it")
    expires: date

    @field_validator("urn")
    @classmethod
    def _urn_shape(cls, value: str) -> str:
        if not (value.startswith("urn:pulumi:") or value == "*"):
            raise ValueError("must be a Pulumi URN or a glob starting with 'urn:pulumi:' (or '*')")
        return value


class WaiverFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    waivers: list[Waiver]


def load_waivers(path: str | Path) -> list[Waiver]:
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
    try:
        parsed = WaiverFile.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = err["loc"]
        where = "waivers"
        if len(loc) >= 2:
            where = f"waiver {int(loc[1]) + 1}" + (f", field '{loc[2]}'" if len(loc) > 2 else "")
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "missing":
            msg = "is required (each waiver has rule, urn, reason, owner, expires)"
        elif err["type"] == "extra_forbidden":
            msg = "is not a waiver field (use rule, urn, reason, owner, expires)"
        elif err["type"].startswith("date"):
            msg = "must be a date like 2027-03-31"
        raise InputError(f"{where} {msg}", source=file) from None
    known = set(all_rules())
    for i, waiver in enumerate(parsed.waivers, 1):
        if waiver.rule not in known:
            raise InputError(
                f"waiver {i}, field 'rule': no rule {waiver.rule}; see `residency controls`", source=file
            )
    return parsed.waivers


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
