"""IAM / resource policy documents, normalized for rules.

A policy reaches a rule as a JSON string (most Pulumi programs call `JSON.stringify`/`json.dumps`),
a dict (pulumi mocks, CrossGuard), or UNKNOWN (preview). `parse_document` turns each into a list of
`Statement`s with list-valued fields, so rules never branch on "string or list".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from policies.model import UNKNOWN, UNKNOWN_SENTINEL


class MalformedDocument:
    """A policy that is not valid JSON or not a policy document: a finding, never compliant."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return f"<malformed policy: {self.reason}>"


@dataclass(slots=True)
class Statement:
    sid: str
    effect: str
    actions: list[str]
    not_actions: list[str]
    resources: list[str]
    not_resources: list[str]
    #: Principal as written: "*" or {"AWS": [...], "Service": [...], "Federated": [...]}.
    principal: Any
    not_principal: Any
    condition: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    #: True when any part of the statement is unknown until apply.
    has_unknown: bool = False
    #: The statement keys ("Resource", "Principal", ...) whose values hold an unknown. "*" stands for
    #: the whole statement, "*Condition" for a condition unknown as a whole or per operator (which the
    #: normalized `condition` cannot show): neither can be resolved (see `policies.references`).
    unknown_fields: frozenset[str] = frozenset()

    def principals(self, kind: str | None = None) -> list[Any]:
        """Every principal value, optionally of one kind (AWS, Service, Federated, CanonicalUser)."""
        p = self.principal
        if p is None:
            return []
        if p == "*" or p is UNKNOWN:
            return [p]
        if isinstance(p, dict):
            out: list[Any] = []
            for k, v in p.items():
                if kind is None or k == kind:
                    out.extend(_strings(v))
            return out
        return [p]

    @property
    def allows(self) -> bool:
        return self.effect == "Allow"

    @property
    def denies(self) -> bool:
        return self.effect == "Deny"


def _strings(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return list(value)
    return [value]


def _contains_unknown(value: Any) -> bool:
    if value is UNKNOWN:
        return True
    if isinstance(value, dict):
        return any(_contains_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(_contains_unknown(v) for v in value)
    return False


def contains_unknown(value: Any) -> bool:
    """Whether an unknown hides anywhere in a (nested) value."""
    return _contains_unknown(value)


def parse_document(raw: Any) -> list[Statement] | MalformedDocument | Any:
    """A list of statements, `UNKNOWN`, or a `MalformedDocument` explaining what is wrong."""
    if raw is UNKNOWN:
        return UNKNOWN
    if raw is None or raw == "":
        return []
    doc = raw
    # JSON text holds no UNKNOWN objects; only a dict built by the engine (mocks, CrossGuard) can.
    may_hold_unknown = True
    if isinstance(raw, str):
        try:
            doc = json.loads(raw)
        except ValueError:
            return MalformedDocument("not valid JSON")
        except RecursionError:
            # IAM caps a policy at a few KB; a document nested this deep is not a policy AWS accepts.
            return MalformedDocument("nested too deeply to be a policy document")
        may_hold_unknown = UNKNOWN_SENTINEL in raw
        if may_hold_unknown:
            from policies.sources.state import normalize

            doc = normalize(doc)
    if not isinstance(doc, dict):
        return MalformedDocument("a policy document is a JSON object with a Statement list")
    statements = doc.get("Statement", doc.get("statement"))
    if statements is UNKNOWN:
        return UNKNOWN
    if statements is None:
        return MalformedDocument("no Statement")
    out: list[Statement] = []
    for i, st in enumerate(_strings(statements)):
        if st is UNKNOWN:
            out.append(
                Statement(
                    f"#{i}",
                    "",
                    [],
                    [],
                    [],
                    [],
                    None,
                    None,
                    {},
                    has_unknown=True,
                    unknown_fields=frozenset({"*"}),
                )
            )
            continue
        if not isinstance(st, dict):
            return MalformedDocument(f"statement {i} is not an object")
        condition = st.get("Condition") or {}
        normalized_condition: dict[str, dict[str, list[Any]]] = {}
        if isinstance(condition, dict):
            for op, block in condition.items():
                if isinstance(block, dict):
                    normalized_condition[op] = {k: _strings(v) for k, v in block.items()}
        out.append(
            Statement(
                sid=str(st.get("Sid") or f"#{i}"),
                effect=st.get("Effect", "") if isinstance(st.get("Effect"), str) else "",
                actions=_strings(st.get("Action")),
                not_actions=_strings(st.get("NotAction")),
                resources=_strings(st.get("Resource")),
                not_resources=_strings(st.get("NotResource")),
                principal=st.get("Principal"),
                not_principal=st.get("NotPrincipal"),
                condition=normalized_condition,
                has_unknown=may_hold_unknown and _contains_unknown(st),
                unknown_fields=_unknown_fields(st) if may_hold_unknown else frozenset(),
            )
        )
    return out


def _unknown_fields(st: dict[str, Any]) -> frozenset[str]:
    fields = {key for key, value in st.items() if _contains_unknown(value)}
    if "Condition" in fields:
        condition = st["Condition"]
        if not isinstance(condition, dict) or any(not isinstance(b, dict) for b in condition.values()):
            fields.add("*Condition")
    return frozenset(fields)


def condition_values(statement: Statement, key: str) -> list[tuple[str, Any]]:
    """(operator, value) pairs for a condition key, matched case-insensitively as IAM does."""
    wanted = key.lower()
    found: list[tuple[str, Any]] = []
    for op, block in statement.condition.items():
        for k, values in block.items():
            if k.lower() == wanted:
                found.extend((op, v) for v in values)
    return found
