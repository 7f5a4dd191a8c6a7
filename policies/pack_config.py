"""What a team may tune with `--policy-pack-config`: the `residency-settings` entry and its checks.

CrossGuard configures policies one by one (`{"RES-001": "advisory"}`), which the pack honours as is.
Settings that apply to every rule live under one extra policy, `residency-settings`:

    {
      "all": "mandatory",                          # CrossGuard: every policy's level
      "AUD-001": "mandatory",                      # CrossGuard: one rule's level
      "residency-settings": {
        "allowedRegions": ["cn-northwest-1"],
        "severityEnforcement": {"medium": "mandatory", "low": "disabled"},
        "ruleEnforcement": {"RET-001": "advisory"},
        "strict": true,                            # COV-001 and CLS-002, as `residency check --strict`
        "retention": {"server-logs": {"maxDays": 200, "minDays": 180}}
      }
    }

The JSON schema below is what the CLI validates first; `parse_settings_config` checks the same
again (the CLI lets unknown keys through) and names the key in every error. Imports neither pulumi
nor pulumi_policy.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from policies.errors import InputError
from policies.model import Severity
from policies.settings import Category, Settings

SETTINGS_POLICY = "residency-settings"
LEVELS = ("advisory", "mandatory", "remediate", "disabled")
#: The default level by severity: what must stop a deploy, and what is reported only.
DEFAULT_SEVERITY_ENFORCEMENT: dict[Severity, str] = {
    Severity.CRITICAL: "mandatory",
    Severity.HIGH: "mandatory",
    Severity.MEDIUM: "advisory",
    Severity.LOW: "advisory",
}
_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_RULE_ID = re.compile(r"^[A-Z]{2,4}-\d{3}$")

_LEVEL_SCHEMA: dict[str, Any] = {"type": "string", "enum": list(LEVELS)}

#: `PolicyConfigSchema.properties` of the `residency-settings` policy (JSON schema per key).
SETTINGS_SCHEMA: dict[str, dict[str, Any]] = {
    "allowedRegions": {
        "type": "array",
        "description": "Regions personal data may be stored in (default: the catalogue's territory).",
        "items": {"type": "string", "pattern": _REGION.pattern},
        "minItems": 1,
        "uniqueItems": True,
    },
    "strict": {
        "type": "boolean",
        "description": (
            "Every resource no rule understands is a finding (COV-001), and every relaxing data "
            "classification (non-personal) is a finding (CLS-002): the pack cannot read a waivers file."
        ),
    },
    "attestations": {
        "type": "array",
        "description": (
            "Classification attestations for --strict (CLS-002): who answers for a non-personal tag, as "
            "in the waivers file of `residency check`."
        ),
        "items": {
            "type": "object",
            "properties": {
                "urn": {"type": "string"},
                "category": {"type": "string"},
                "reason": {"type": "string"},
                "owner": {"type": "string"},
                "expires": {"type": "string"},
            },
            "required": ["urn", "category", "reason", "owner", "expires"],
        },
    },
    "severityEnforcement": {
        "type": "object",
        "description": "Enforcement level by rule severity (default: critical and high mandatory, the rest advisory).",
        "properties": {s.value: _LEVEL_SCHEMA for s in Severity},
        "additionalProperties": False,
    },
    "ruleEnforcement": {
        "type": "object",
        "description": "Enforcement level by rule id; wins over severityEnforcement.",
        "propertyNames": {"pattern": _RULE_ID.pattern},
        "additionalProperties": _LEVEL_SCHEMA,
    },
    "retention": {
        "type": "object",
        "description": "Retention bounds in days by data category id, over the catalogue's.",
        "additionalProperties": {
            "type": "object",
            "properties": {
                "maxDays": {"type": "integer", "minimum": 1},
                "minDays": {"type": "integer", "minimum": 1},
            },
            "additionalProperties": False,
        },
    },
}


@dataclass(frozen=True)
class PackSettings:
    """The pack's effective settings: the rules' `Settings` and how each rule is enforced."""

    settings: Settings
    severity_enforcement: dict[Severity, str] = field(
        default_factory=lambda: dict(DEFAULT_SEVERITY_ENFORCEMENT)
    )
    rule_enforcement: dict[str, str] = field(default_factory=dict)

    def level_for(self, rule_id: str, severity: Severity) -> str:
        """The level a rule runs at when CrossGuard config does not name it."""
        return self.rule_enforcement.get(rule_id) or self.severity_enforcement[severity]


def default_level(severity: Severity) -> str:
    return DEFAULT_SEVERITY_ENFORCEMENT[severity]


def parse_settings_config(
    raw: Mapping[str, Any] | None, base: Settings, rule_ids: set[str] | frozenset[str]
) -> PackSettings:
    """Validate `residency-settings` config over the catalogue's settings; `InputError` names the key."""
    raw = dict(raw or {})
    errors: list[str] = []
    known = ", ".join(SETTINGS_SCHEMA)
    for key in raw:
        if key not in SETTINGS_SCHEMA:
            errors.append(f"{key}: unknown key; use {known}")

    settings = base
    regions = raw.get("allowedRegions")
    if regions is not None:
        if not isinstance(regions, list) or not regions:
            errors.append("allowedRegions: give a non-empty list of region names like cn-north-1")
        else:
            bad = [r for r in regions if not isinstance(r, str) or not _REGION.match(r)]
            for i, region in enumerate(regions):
                if region in bad:
                    errors.append(
                        f"allowedRegions[{i}]: {region!r} is not an AWS region name (like cn-north-1)"
                    )
            if not bad:
                allowed = tuple(dict.fromkeys(regions))
                territory = dict(settings.territory)
                # aws-native deploys to the same regions as aws unless the catalogue says otherwise.
                if territory.get("aws-native") == settings.allowed_regions:
                    territory["aws-native"] = allowed
                settings = dataclasses.replace(settings, allowed_regions=allowed, territory=territory)

    strict = raw.get("strict")
    if strict is not None:
        if not isinstance(strict, bool):
            errors.append(f"strict: {strict!r} is not true or false")
        else:
            settings = dataclasses.replace(settings, strict=strict)

    attestations = raw.get("attestations")
    if attestations is not None:
        parsed = _attestations(attestations, settings, errors)
        if parsed is not None:
            settings = dataclasses.replace(settings, attestations=tuple(parsed))

    severity_enforcement = dict(DEFAULT_SEVERITY_ENFORCEMENT)
    by_severity = raw.get("severityEnforcement")
    if by_severity is not None:
        if not isinstance(by_severity, dict):
            errors.append('severityEnforcement: give an object like {"medium": "mandatory"}')
        else:
            for name, level in by_severity.items():
                try:
                    severity = Severity.parse(str(name))
                except ValueError as exc:
                    errors.append(f"severityEnforcement.{name}: {exc}")
                    continue
                if _check_level(f"severityEnforcement.{name}", level, errors):
                    severity_enforcement[severity] = level

    rule_enforcement: dict[str, str] = {}
    by_rule = raw.get("ruleEnforcement")
    if by_rule is not None:
        if not isinstance(by_rule, dict):
            errors.append('ruleEnforcement: give an object like {"RET-001": "advisory"}')
        else:
            for rule_id, level in by_rule.items():
                if rule_id not in rule_ids:
                    errors.append(
                        f"ruleEnforcement.{rule_id}: no such rule; `residency controls` lists the rule ids"
                    )
                elif _check_level(f"ruleEnforcement.{rule_id}", level, errors):
                    rule_enforcement[rule_id] = level

    retention = raw.get("retention")
    if retention is not None:
        if not isinstance(retention, dict):
            errors.append('retention: give an object like {"server-logs": {"maxDays": 365}}')
        else:
            settings = _with_retention(settings, retention, errors)

    if errors:
        more = f" (and {len(errors) - 1} more: {'; '.join(errors[1:])})" if len(errors) > 1 else ""
        raise InputError(f"{errors[0]}{more}", source=f"--policy-pack-config {SETTINGS_POLICY}")
    return PackSettings(
        settings=settings, severity_enforcement=severity_enforcement, rule_enforcement=rule_enforcement
    )


def _attestations(raw: Any, settings: Settings, errors: list[str]) -> list[Any] | None:
    """Attestations in force today; each entry validated as the waivers file validates it."""
    from datetime import date

    from pydantic import ValidationError

    from policies.waivers import Attestation

    if not isinstance(raw, list):
        errors.append('attestations: give a list like [{"urn": ..., "category": "non-personal", ...}]')
        return None
    out = []
    for i, item in enumerate(raw):
        where = f"attestations[{i}]"
        if not isinstance(item, dict):
            errors.append(f"{where}: give an object with urn, category, reason, owner, expires")
            continue
        try:
            attestation = Attestation.model_validate({"kind": "classification", **item})
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"])
            errors.append(f"{where}.{field}: {err['msg'].removeprefix('Value error, ')}")
            continue
        if attestation.category not in settings.categories:
            errors.append(
                f"{where}.category: no data category {attestation.category!r}; use one of "
                f"{', '.join(sorted(settings.categories))}"
            )
            continue
        if attestation.expires >= date.today():
            out.append(attestation)
    return out


def _check_level(where: str, level: Any, errors: list[str]) -> bool:
    if isinstance(level, str) and level in LEVELS:
        return True
    errors.append(f"{where}: {level!r} is not an enforcement level; use one of {', '.join(LEVELS)}")
    return False


def _with_retention(settings: Settings, retention: dict[str, Any], errors: list[str]) -> Settings:
    categories = dict(settings.categories)
    for cat_id, bounds in retention.items():
        where = f"retention.{cat_id}"
        category = categories.get(cat_id)
        if category is None:
            errors.append(f"{where}: no such data category; use one of {', '.join(sorted(categories))}")
            continue
        if not isinstance(bounds, dict):
            errors.append(f'{where}: give an object like {{"maxDays": 365}}')
            continue
        changes: dict[str, int] = {}
        for key, attr in (("maxDays", "max_retention_days"), ("minDays", "min_retention_days")):
            if key not in bounds:
                continue
            value = bounds[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                errors.append(f"{where}.{key}: {value!r} is not a whole number of days (1 or more)")
                continue
            changes[attr] = value
        for key in bounds:
            if key not in ("maxDays", "minDays"):
                errors.append(f"{where}.{key}: unknown key; use maxDays, minDays")
        updated: Category = dataclasses.replace(category, **changes)
        low, high = updated.min_retention_days, updated.max_retention_days
        if low is not None and high is not None and low > high:
            errors.append(
                f"{where}: minDays ({low}) is above maxDays ({high}); lower the minimum or raise the maximum"
            )
            continue
        categories[cat_id] = updated
    untagged = categories.get(settings.untagged.id, settings.untagged)
    return dataclasses.replace(settings, categories=categories, untagged=untagged)
