"""The auditor's view of a check: clause -> controls -> rules -> every resource, and a status per control.

Built from a `Result` (a fresh check or a saved `check --format json`) and the catalogue; the HTML and
markdown reports (`policies/reports/html.py`), OSCAL assessment-results and run records read it.
Nothing here renders text or imports a template engine.

A rule's verdict on a resource is one of:

- **failed**: an unwaived finding (including the fail-closed ones: a value unknown until apply, or a
  rule that raised: "could not be checked");
- **waived**: every finding of the rule on the resource is waived;
- **passed**: the rule applies to the resource (its type, or its family ran there) and found nothing;
- **not evaluated**: the rule is about the resource's type but the check could not judge it (the
  coverage lists it as not evaluated, with the reason).

A control is **failed** when any of its rules failed on any resource; **not evaluated** when its
rules judged nothing, or left something not evaluated; **passed** otherwise, which is positive
evidence: its rules ran on named resources and found nothing. **Organisational** controls have no
technical check and carry the catalogue's reason.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from policies.catalog import Catalog
    from policies.engine import Result
    from policies.evidence import RunMetadata
    from policies.registry import Rule

PASSED, FAILED, WAIVED, NOT_EVALUATED, ORGANISATIONAL = (
    "passed",
    "failed",
    "waived",
    "not evaluated",
    "organisational",
)
CONTROL_STATUSES = (PASSED, FAILED, NOT_EVALUATED, ORGANISATIONAL)
#: The rule about the check itself: every resource no rule understands is listed under it.
COVERAGE_RULE = "COV-001"


@dataclass(slots=True)
class ResourceVerdict:
    urn: str
    type: str
    name: str
    status: str
    #: The findings' messages (failed/waived), or why it was not evaluated.
    detail: str = ""
    #: `unknown until apply`, `could not be checked`, or the waiver's reason.
    note: str = ""


@dataclass
class RuleView:
    id: str
    title: str
    severity: str
    remediation: str
    resources: list[ResourceVerdict] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        counts = Counter(r.status for r in self.resources)
        return {s: counts.get(s, 0) for s in (PASSED, FAILED, WAIVED, NOT_EVALUATED)}

    @property
    def status(self) -> str:
        counts = self.counts
        if counts[FAILED]:
            return FAILED
        if counts[NOT_EVALUATED] or not any(counts.values()):
            return NOT_EVALUATED
        return PASSED


@dataclass
class ControlView:
    id: str
    title: str
    section: str
    clause: str
    kind: str
    status: str
    reason: str
    rules: list[RuleView]
    categories: list[str]
    runtime: list[str]

    @property
    def family(self) -> str:
        return self.section


@dataclass
class RetentionView:
    bound: str  # "maximum" | "minimum"
    days: int
    source: str
    owner: str | None
    date: str | None
    note: str | None

    @property
    def internal(self) -> bool:
        return self.source.strip().lower() == "internal decision"


@dataclass
class CategoryView:
    id: str
    title: str
    clause: str
    personal: bool
    in_territory: bool
    retention: list[RetentionView]


@dataclass
class ClauseView:
    """One quoted clause of the privacy policy with what implements it."""

    text: str
    section: str
    controls: list[ControlView]
    categories: list[CategoryView]
    #: Where it stands in the policy text (for ordering); None when the text was not found.
    position: int | None = None

    @property
    def anchor(self) -> str:
        first = self.controls[0].id if self.controls else f"cat-{self.categories[0].id}"
        return f"clause-{first}"


@dataclass
class AuditView:
    title: str
    verdict: str
    result: Any
    controls: list[ControlView]
    clauses: list[ClauseView]
    categories: list[CategoryView]
    declarations: list[dict[str, Any]]
    coverage: dict[str, Any]
    not_applicable: list[tuple[str, str, str]]
    notices: list[str]
    metadata: RunMetadata | None
    saved_inputs: list[str] = field(default_factory=list)
    #: The privacy policy line by line, each with the clauses (anchor, controls) quoted from it.
    policy_lines: list[tuple[str, list[ClauseView]]] = field(default_factory=list)

    @property
    def matrix_counts(self) -> dict[str, int]:
        counts = Counter(c.status for c in self.controls)
        return {s: counts.get(s, 0) for s in CONTROL_STATUSES}

    @property
    def families(self) -> list[tuple[str, dict[str, int]]]:
        """Per control family (the policy's section): how many controls are in each status."""
        out: dict[str, Counter] = {}
        for control in self.controls:
            out.setdefault(control.family, Counter())[control.status] += 1
        return [(name, {s: c.get(s, 0) for s in CONTROL_STATUSES}) for name, c in out.items()]

    @property
    def internal_decisions(self) -> list[tuple[CategoryView, RetentionView]]:
        return [(c, r) for c in self.categories for r in c.retention if r.internal]

    def control_statuses(self) -> dict[str, str]:
        return {c.id: c.status for c in self.controls}


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u2022", " ")).strip()


def build(
    result: Result,
    rules: dict[str, Rule],
    catalog: Catalog,
    metadata: RunMetadata | None = None,
    *,
    policy_text: str | None = None,
    saved_inputs: list[str] | None = None,
) -> AuditView:
    """The auditor's view of `result` under `catalog`; `policy_text` orders the clauses as the policy
    does (without it, the catalogue's order)."""
    from policies.model import Severity

    coverage_json = result.coverage.to_json()
    evaluated = result.coverage.evaluated  # (urn, type, families)
    not_evaluated = result.coverage.not_evaluated  # (urn, type, reason)
    names: dict[str, str] = {}
    findings_by: dict[tuple[str, str], list[Any]] = {}
    for f in result.findings:
        findings_by.setdefault((f.rule, f.urn), []).append(f)
        names[f.urn] = f.name
    # Types a typed rule of each family judges: a rule over every type with an `applies` predicate is
    # counted on a resource only where its family ran and no typed rule of that family explains it
    # (the result does not say which predicate held; under-claiming is the safe side).
    typed: dict[str, set[str]] = {}
    for r in rules.values():
        if r.types is not None and r.counts_as_coverage:
            typed.setdefault(r.family, set()).update(r.types)
    rule_views: dict[str, RuleView] = {}
    for rule_id in sorted(set(rules) | {f.rule for f in result.findings}):
        r = rules.get(rule_id)
        sample = next((f for (rid, _), fs in findings_by.items() if rid == rule_id for f in fs), None)
        view = RuleView(
            id=rule_id,
            title=r.title if r is not None else rule_id,
            severity=(r.severity if r is not None else (sample.severity if sample else Severity.LOW)).value,
            remediation=r.remediation if r is not None else (sample.remediation if sample else ""),
        )
        seen: set[str] = set()
        if r is not None:
            for urn, type_, families in evaluated:
                if _applies(r, type_, families, typed):
                    seen.add(urn)
                    view.resources.append(_verdict(urn, type_, findings_by.get((rule_id, urn)), names))
            for urn, type_, reason in not_evaluated:
                about_type = r.types is not None and type_ in r.types
                if about_type or rule_id == COVERAGE_RULE:
                    seen.add(urn)
                    found = findings_by.get((rule_id, urn))
                    if found:
                        view.resources.append(_verdict(urn, type_, found, names))
                    else:
                        view.resources.append(
                            ResourceVerdict(urn, type_, _name(urn, names), NOT_EVALUATED, detail=reason)
                        )
        for (rid, urn), found in findings_by.items():
            if rid == rule_id and urn not in seen:
                view.resources.append(_verdict(urn, found[0].type, found, names))
        view.resources.sort(key=lambda v: (_STATUS_ORDER[v.status], v.urn))
        rule_views[rule_id] = view

    controls: list[ControlView] = []
    for c in catalog.controls:
        views = [rule_views[r] for r in c.rules if r in rule_views]
        if c.kind == "organisational":
            status, reason = ORGANISATIONAL, c.reason or ""
        else:
            status = _control_status(views)
            reason = ""
            if not views:
                reason = (
                    f"carried out at run time by {', '.join(c.runtime)}: its evidence is in the run records "
                    "of `residency enforce` and the controller, not in this check"
                )
            elif status == NOT_EVALUATED and not any(
                v.counts[PASSED] + v.counts[FAILED] + v.counts[WAIVED] for v in views
            ):
                reason = "no resource of this input is of a kind its rules judge"
            elif status == NOT_EVALUATED:
                reason = "some resources its rules are about could not be evaluated (see coverage)"
            elif c.runtime:
                reason = f"also carried out at run time by {', '.join(c.runtime)}"
        controls.append(
            ControlView(
                id=c.id,
                title=c.title,
                section=c.section,
                clause=c.clause,
                kind=c.kind,
                status=status,
                reason=reason,
                rules=views,
                categories=list(c.categories),
                runtime=list(c.runtime),
            )
        )

    categories = [_category_view(c) for c in catalog.categories]
    clauses = _clauses(controls, categories, catalog, policy_text)
    failing = result.failing(Severity.LOW)
    # A run-time control without rules is evaluated by `enforce`, not by a check: not a gap of this one.
    gaps = [c for c in controls if c.status == NOT_EVALUATED and c.rules]
    if failing:
        verdict = "FAIL"
    elif gaps or coverage_json["not_evaluated"]:
        verdict = "PASS WITH GAPS"
    else:
        verdict = "PASS"
    return AuditView(
        title=catalog.policy.title,
        verdict=verdict,
        result=result,
        controls=controls,
        clauses=clauses,
        categories=categories,
        declarations=[d.to_json() for d in result.declarations],
        coverage=coverage_json,
        # A saved result counts its not-applicable resources without naming them (empty type).
        not_applicable=[item for item in result.coverage.not_applicable if item[1]],
        notices=list(result.notices),
        metadata=metadata,
        saved_inputs=list(saved_inputs or ()),
        policy_lines=_policy_lines(policy_text, clauses) if policy_text else [],
    )


def _policy_lines(policy_text: str, clauses: list[ClauseView]) -> list[tuple[str, list[ClauseView]]]:
    """Every non-empty line of the policy text (a heading, a paragraph or a bullet) with the clauses
    that quote it or that it contains, so an auditor can start from the policy itself."""
    normalised = [(_norm(c.text), c) for c in clauses]
    lines = []
    for raw in policy_text.splitlines():
        line = _norm(raw)
        if not line:
            continue
        linked = [c for text, c in normalised if text in line or line in text]
        lines.append((line, linked))
    # A lead-in ("We may update ... from time to time,") obliges through the bullet that follows it.
    for index in range(len(lines) - 2, -1, -1):
        line, linked = lines[index]
        if not linked and line.endswith((",", ":")):
            lines[index] = (line, lines[index + 1][1])
    return lines


_STATUS_ORDER = {FAILED: 0, NOT_EVALUATED: 1, WAIVED: 2, PASSED: 3}


def _applies(r: Rule, type_: str, families: tuple[str, ...] | list[str], typed: dict[str, set[str]]) -> bool:
    if r.types is not None:
        return type_ in r.types
    if not r.counts_as_coverage:
        return False  # rules about the check itself are listed by their findings
    if r.applies is None:
        return True  # runs on every custom resource (RES-004's text scan)
    return r.family in families and type_ not in typed.get(r.family, ())


def _name(urn: str, names: dict[str, str]) -> str:
    return names.get(urn) or urn.rsplit("::", 1)[-1]


def _verdict(urn: str, type_: str, found: list[Any] | None, names: dict[str, str]) -> ResourceVerdict:
    if not found:
        return ResourceVerdict(urn, type_, _name(urn, names), PASSED)
    active = [f for f in found if not f.waived]
    shown = active or found
    notes = []
    if any(f.unknown for f in shown):
        notes.append("unknown until apply (fails closed)")
    if any(f.error for f in shown):
        notes.append("could not be checked: the rule raised (fails closed)")
    if not active:
        notes += sorted({f"waived: {f.waiver_reason}" for f in found if f.waiver_reason})
    return ResourceVerdict(
        urn,
        type_,
        _name(urn, names),
        FAILED if active else WAIVED,
        detail=" / ".join(dict.fromkeys(f.message for f in shown)),
        note="; ".join(notes),
    )


def _control_status(views: list[RuleView]) -> str:
    if not views:
        return NOT_EVALUATED
    totals = Counter()
    for v in views:
        totals.update(v.counts)
    if totals[FAILED]:
        return FAILED
    if totals[NOT_EVALUATED] or not (totals[PASSED] + totals[WAIVED]):
        return NOT_EVALUATED
    return PASSED


def _category_view(c: Any) -> CategoryView:
    retention = []
    for bound, limit in (("maximum", c.max_retention), ("minimum", c.min_retention)):
        if limit is None:
            continue
        retention.append(
            RetentionView(
                bound=bound,
                days=limit.days,
                source=limit.source,
                owner=limit.owner,
                date=limit.date.isoformat() if limit.date else None,
                note=limit.note,
            )
        )
    return CategoryView(
        id=c.id,
        title=c.title,
        clause=c.clause,
        personal=c.personal,
        in_territory=c.in_territory,
        retention=retention,
    )


def _clauses(
    controls: list[ControlView], categories: list[CategoryView], catalog: Catalog, policy_text: str | None
) -> list[ClauseView]:
    """Controls and categories grouped by the clause they quote, in the policy's order."""
    by_text: dict[str, ClauseView] = {}
    for control in controls:
        key = _norm(control.clause)
        clause = by_text.get(key)
        if clause is None:
            clause = by_text[key] = ClauseView(
                text=control.clause, section=control.section, controls=[], categories=[]
            )
        clause.controls.append(control)
    sections = {c.id: c.section for c in catalog.controls}
    for category in categories:
        key = _norm(category.clause)
        clause = by_text.get(key)
        if clause is None:
            section = next(
                (sections[c.id] for c in catalog.controls if category.id in c.categories),
                "Information We Collect",
            )
            clause = by_text[key] = ClauseView(
                text=category.clause, section=section, controls=[], categories=[]
            )
        clause.categories.append(category)
    ordered = list(by_text.values())
    if policy_text:
        norm_policy = _norm(policy_text)
        for index, clause in enumerate(ordered):
            found = norm_policy.find(_norm(clause.text))
            clause.position = found if found >= 0 else len(norm_policy) + index
        ordered.sort(key=lambda c: c.position or 0)
    return ordered
