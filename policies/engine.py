"""Evaluate the registered rules over a stack.

Rules are dispatched by type token through one dict, so the cost is proportional to the resources
times the rules that apply to each, not to every rule for every resource. A rule that raises is a
finding (fail closed), never a silent pass.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from policies.coverage import (
    EVALUATED,
    NOT_APPLICABLE,
    Coverage,
    Declaration,
    declaration_of,
    static_status,
)
from policies.model import Finding, Resource, Severity
from policies.registry import Rule, all_rules
from policies.stack import Stack


@dataclass
class Result:
    resources: int
    findings: list[Finding]
    sources: list[str] = field(default_factory=list)
    #: Problems with the waivers themselves (expired waivers), reported beside the findings.
    notices: list[str] = field(default_factory=list)
    #: What every resource ended as: evaluated, not applicable or not evaluated (with the reason).
    coverage: Coverage = field(default_factory=Coverage)
    #: Classifications that relax a rule (non-personal, longer retention), with where they came from.
    declarations: list[Declaration] = field(default_factory=list)
    #: `residency audit` only: the drift summary (policies/drift.py); None for every other command.
    drift: dict[str, Any] | None = None

    def by_severity(self, *, include_waived: bool = False) -> dict[str, int]:
        counts = Counter(f.severity.value for f in self.findings if include_waived or not f.waived)
        return {s.value: counts.get(s.value, 0) for s in Severity}

    def failing(self, threshold: Severity) -> list[Finding]:
        return [f for f in self.findings if not f.waived and f.severity.rank >= threshold.rank]

    def summary(self) -> dict[str, Any]:
        return {
            "resources": self.resources,
            "findings": sum(1 for f in self.findings if not f.waived),
            "waived": sum(1 for f in self.findings if f.waived),
            "by_severity": self.by_severity(),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "summary": self.summary(),
            "findings": [f.to_json() for f in self.findings],
            "coverage": self.coverage.to_json(),
            "declarations": [d.to_json() for d in self.declarations],
            "notices": list(self.notices),
            # The key exists only where drift was looked for (`residency audit`), always there.
            **({"drift": self.drift} if self.drift is not None else {}),
        }


def _dispatch(rules: Iterable[Rule]) -> tuple[dict[str, list[Rule]], list[Rule]]:
    by_type: dict[str, list[Rule]] = {}
    generic: list[Rule] = []
    for r in rules:
        if r.types is None:
            generic.append(r)
        else:
            for t in r.types:
                by_type.setdefault(t, []).append(r)
    return by_type, generic


def evaluate(stack: Stack, rules: Iterable[Rule] | None = None) -> Result:
    selected = list(rules) if rules is not None else list(all_rules().values())
    by_type, generic = _dispatch(selected)
    settings = stack.settings
    controls = settings.rule_controls
    findings: list[Finding] = []
    coverage = Coverage()
    declarations: list[Declaration] = []
    statuses: dict[tuple[str, bool, bool], tuple[str, str | None]] = {}
    for res in stack.resources:
        key = (res.type, res.custom, res.external)
        found = statuses.get(key)
        if found is None:
            found = statuses[key] = static_status(res, settings)
        status, reason = found
        if not res.custom or res.external:
            # Components hold nothing; resources read from elsewhere are context (joins, references).
            coverage.not_applicable.append((res.urn, res.type, reason or ""))
            continue
        families: set[str] = set()
        crashed = False
        for r in by_type.get(res.type, ()):
            # A rule that raised did not judge the resource: its fail-closed finding stands, but it
            # is no evidence of coverage.
            if _run(r, res, stack, controls, findings):
                if r.counts_as_coverage:
                    families.add(r.family)
            else:
                crashed = True
        for r in generic:
            if r.applies is not None and not r.applies(res, stack):
                continue
            if not _run(r, res, stack, controls, findings):
                crashed = True
            elif r.counts_as_coverage and r.applies is not None:
                # A rule over every type (RES-004's text scan) is no evidence that anything knew the type.
                families.add(r.family)
        if status == EVALUATED:
            if families:
                coverage.evaluated.append((res.urn, res.type, tuple(sorted(families))))
            else:
                reason = (
                    "every rule that applies to it failed (see its 'could not be checked' findings)"
                    if crashed
                    else f"no rule of this check applies to {res.type}"
                )
                coverage.not_evaluated.append((res.urn, res.type, reason))
        elif status == NOT_APPLICABLE:
            coverage.not_applicable.append((res.urn, res.type, reason or ""))
        else:
            coverage.not_evaluated.append((res.urn, res.type, reason or ""))
        declaration = declaration_of(res, settings)
        if declaration is not None:
            declarations.append(declaration)
    findings.sort(key=lambda f: (-f.severity.rank, f.rule, f.urn))
    return Result(
        resources=coverage.total,
        findings=findings,
        sources=[stack.source] if stack.source else [],
        coverage=coverage,
        declarations=declarations,
    )


def _run(
    r: Rule,
    res: Resource,
    stack: Stack,
    controls: dict[str, tuple[str, ...]],
    findings: list[Finding],
) -> bool:
    """Run one rule on one resource; False when it raised (recorded as a fail-closed finding)."""
    try:
        for v in r.check(res, stack):
            target = v.resource or res
            findings.append(
                Finding(
                    rule=r.id,
                    controls=list(controls.get(r.id, ())),
                    severity=r.severity,
                    urn=target.urn,
                    type=target.type,
                    name=target.name,
                    message=v.message,
                    remediation=r.remediation,
                    unknown=v.unknown,
                    source_position=target.source_position,
                )
            )
    except Exception as exc:  # noqa: BLE001 - fail closed: a broken rule is a finding
        findings.append(
            Finding(
                rule=r.id,
                controls=list(controls.get(r.id, ())),
                severity=r.severity,
                urn=res.urn,
                type=res.type,
                name=res.name,
                message=(
                    f"{res.label} could not be checked: rule {r.id} failed with "
                    f"{type(exc).__name__}: {exc}; treat as non-compliant and report this input"
                ),
                remediation=r.remediation,
                error=True,
            )
        )
        return False
    return True
