"""The rule registry: a rule is one pure function plus its metadata.

    @rule(id="RES-001", title="Data stays in mainland China", severity=Severity.CRITICAL,
          types=DATA_STORES, remediation="Pin the provider to cn-north-1 or cn-northwest-1.")
    def data_store_in_territory(res, stack):
        if res.region not in stack.settings.allowed_regions:
            yield f"{res.label} is in {res.region}"

A rule yields problems about the resource it is given: a plain string, `unknown(...)` when a value
it needs is not known until apply, or `Violation(...)` to point at another resource. The controls a
rule implements come from the catalogue, which is the auditor's single source of that mapping.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from policies.model import Resource, Severity

if TYPE_CHECKING:
    from policies.stack import Stack


@dataclass(frozen=True, slots=True)
class Violation:
    message: str
    #: The resource the finding is about, when not the one the rule was called with.
    resource: Resource | None = None
    unknown: bool = False


def unknown(message: str, resource: Resource | None = None) -> Violation:
    """A value the rule needs is not known until apply: fail closed, say so."""
    return Violation(message=message, resource=resource, unknown=True)


RuleFunc = Callable[[Resource, "Stack"], Iterable["str | Violation"] | None]


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    title: str
    severity: Severity
    #: Type tokens the rule applies to; None means every custom resource.
    types: frozenset[str] | None
    remediation: str
    func: RuleFunc
    description: str = ""
    #: For a rule over every type (`types=None`): whether it applies to this resource at all. The
    #: engine skips the rule where it returns False, and counts only applied rules as coverage.
    applies: Callable[[Resource, Stack], bool] | None = None
    #: False for rules about the check itself (COV-001, CLS-002): running them is not evidence that
    #: a rule understood the resource.
    counts_as_coverage: bool = True

    @property
    def family(self) -> str:
        """The rule family (its module: residency, access, audit...), as coverage reports it."""
        return self.func.__module__.rsplit(".", 1)[-1]

    def check(self, res: Resource, stack: Stack) -> Iterator[Violation]:
        produced = self.func(res, stack)
        if produced is None:
            return
        for item in produced:
            if isinstance(item, Violation):
                yield item
            else:
                yield Violation(message=str(item))


REGISTRY: dict[str, Rule] = {}


def rule(
    *,
    id: str,
    title: str,
    severity: Severity,
    types: Iterable[str] | None,
    remediation: str,
    applies: Callable[[Resource, Stack], bool] | None = None,
    counts_as_coverage: bool = True,
) -> Callable[[RuleFunc], RuleFunc]:
    def register(func: RuleFunc) -> RuleFunc:
        if id in REGISTRY and REGISTRY[id].func.__qualname__ != func.__qualname__:
            raise ValueError(f"rule id {id} is registered twice")
        doc = (func.__doc__ or "").strip()
        REGISTRY[id] = Rule(
            id=id,
            title=title,
            severity=severity,
            types=frozenset(types) if types is not None else None,
            remediation=remediation,
            func=func,
            description=doc,
            applies=applies,
            counts_as_coverage=counts_as_coverage,
        )
        return func

    return register


def all_rules() -> dict[str, Rule]:
    """Every registered rule, importing the rule modules on first use."""
    import policies.rules  # noqa: F401  (registers the rules)

    return REGISTRY


def rule_metadata(r: Rule) -> dict[str, Any]:
    return {
        "id": r.id,
        "title": r.title,
        "severity": r.severity.value,
        "types": sorted(r.types) if r.types is not None else None,
        "remediation": r.remediation,
        "description": r.description,
    }
