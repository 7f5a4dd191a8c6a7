"""Unknown values resolved through the graph: a preview value that can only be one resource's identity.

In a first `pulumi preview`, an input wired from another resource's output (`log_bucket.id`,
`key.arn`, `role.arn`) is the unknown sentinel. Its property dependency
(`res.property_dependencies[prop]`) still names the resource the value comes from. When it names
exactly one resource of the stack, of a type the input can identify, the value is that resource's
identity (its id, name or ARN), and a rule reasons about that resource instead of giving up.

This module is the one place that decides when that holds. It is deliberately conservative:

- **Exactly one resource.** Two or more distinct resources in the dependency (`bucket` and `role`,
  two buckets) resolve nothing: the value may be either one, or built from both.
- **The right type.** The resource must be of a type the caller accepts for the input (a bucket for
  `targetBucket`, a key or alias for `kmsKeyId`, a role or user for an AWS principal). A bucket
  named where a key is expected resolves nothing.
- **In this stack.** A URN that is not a resource of the stack resolves nothing.
- **Only unknowns.** A known value is never replaced: the literal the program wrote wins.
- **Derived strings.** A preview shows `${bucket.arn}/*` as the whole sentinel, exactly like
  `bucket.arn`. So a resolved value means "the identity of that resource, or a string built from
  it". Rules use it only for what holds either way: which resource an input points at (its type,
  region, audit role), and that a policy statement's Resource is scoped to a named resource of the
  stack rather than to `"*"`. They never use it to prove *which* objects a statement covers
  (`${bucket.arn}/*` and `${bucket.arn}/tmp/*` look the same): those questions stay unknown.
- **References, not content.** In a policy document only the unknown Resource / NotResource
  entries, AWS principal entries and ARN-valued condition values resolve. An unknown Effect, Action,
  non-AWS principal or statement stays unknown, and a document unknown as a whole (the usual
  `pulumi.jsonStringify(...)` / `Output.json_dumps(...)` in a preview) stays unknown: its statements
  are content, not a reference. The CrossGuard pack sees the real document at `pulumi up`, so the
  finding says so (`AT_APPLY`).

Two narrower helpers answer the questions where the answer does not depend on *which* resource:
`all_referenced` (every dependency is, say, an IAM policy of the stack that is checked on its own,
for a role's managedPolicyArns) and `computed_from_resources` (an unknown Lambda permission
sourceArn/sourceAccount wired from any resource's output is an identity, not a hand-written `"*"`).

Each call is a dict lookup plus a look at the (short) dependency list: the check path stays O(n).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from policies.documents import contains_unknown
from policies.model import UNKNOWN, Resource
from policies.tokens import (
    DYNAMODB_TABLE,
    IAM_ROLE,
    KINESIS_STREAM,
    KMS_ALIAS,
    KMS_KEY,
    KMS_REPLICA_EXTERNAL_KEY,
    KMS_REPLICA_KEY,
    LOG_GROUP,
    S3_BUCKET_TYPES,
    SECRET,
    SNS_TOPIC,
    SQS_QUEUE,
)

if TYPE_CHECKING:
    from policies.documents import Statement
    from policies.stack import Stack

#: What the rules say about a value that stays unknown: the pack checks it when it is known.
AT_APPLY = "the CrossGuard pack checks it at apply (pulumi up --policy-pack policies)"

IAM_USER = "aws:iam/user:User"
KMS_EXTERNAL_KEY = "aws:kms/externalKey:ExternalKey"
LAMBDA_FUNCTION = "aws:lambda/function:Function"

BUCKETS: frozenset[str] = frozenset(S3_BUCKET_TYPES)
KEYS: frozenset[str] = frozenset(
    {KMS_KEY, KMS_REPLICA_KEY, KMS_REPLICA_EXTERNAL_KEY, KMS_EXTERNAL_KEY, KMS_ALIAS}
)
ROLES: frozenset[str] = frozenset({IAM_ROLE})
#: Who an unknown AWS principal entry can be: a role's or a user's ARN.
PRINCIPALS: frozenset[str] = frozenset({IAM_ROLE, IAM_USER})
#: What an unknown Resource entry of a policy (or an ARN condition value) can name and still be
#: "scoped to a named resource": the stores, keys and identities policies are written for.
ARN_TARGETS: frozenset[str] = (
    BUCKETS
    | KEYS
    | PRINCIPALS
    | frozenset({DYNAMODB_TABLE, SQS_QUEUE, SNS_TOPIC, SECRET, LOG_GROUP, KINESIS_STREAM, LAMBDA_FUNCTION})
)
#: Condition keys whose value is an ARN: an unknown value from one resource of the stack is its ARN.
ARN_CONDITION_KEYS = frozenset({"aws:sourcearn", "aws:principalarn"})


@dataclass(frozen=True, slots=True)
class Reference:
    """An unknown value the graph resolved: the identity of (or a string built from) `resource`.

    Never equal to a string and never `"*"`: code that looks for wildcards or literal names does not
    match it, code that asks "is this unknown" gets False.
    """

    resource: Resource
    prop: str

    def __str__(self) -> str:
        return f"<{self.resource.label}, known at apply>"


def _dependencies(stack: Stack, res: Resource, props: str | Iterable[str]) -> list[Resource]:
    """The distinct resources of the stack that the inputs `props` of `res` are computed from.

    Stops at the second one found: callers only ever need to know "one" or "more than one". A URN
    that is not a resource of the stack makes the whole answer empty: what it names cannot be checked,
    so nothing is resolved (never a narrower answer than the graph supports).
    """
    names = (props,) if isinstance(props, str) else props
    found: list[Resource] = []
    seen: set[str] = set()
    deps = res.property_dependencies
    for prop in names:
        for urn in deps.get(prop, ()):
            if urn in seen:
                continue
            seen.add(urn)
            candidate = stack.by_urn.get(urn)
            if candidate is None:
                return []
            found.append(candidate)
            if len(found) > 1:
                return found
    return found


def referenced(
    stack: Stack, res: Resource, props: str | Iterable[str], types: Collection[str] | None = None
) -> Resource | None:
    """The one resource of the stack that the input(s) `props` of `res` can only identify, or None.

    None when the dependency names no resource, more than one, a URN not in the stack, or a
    resource whose type is not in `types` (when given). See the module note for why.
    """
    found = _dependencies(stack, res, props)
    if len(found) != 1:
        return None
    target = found[0]
    if types is not None and target.type not in types:
        return None
    return target


def all_referenced(
    stack: Stack, res: Resource, props: str | Iterable[str], types: Collection[str]
) -> list[Resource] | None:
    """Every resource the input is computed from, when there is at least one and each is of `types`.

    For inputs that may name several resources at once (a role's managedPolicyArns): a rule that checks
    each of those resources on its own can rely on that, whichever of them the value turns out to be.
    None when any URN is not a resource of the stack or is of another type.
    """
    names = (props,) if isinstance(props, str) else props
    found: dict[str, Resource] = {}
    for prop in names:
        for urn in res.property_dependencies.get(prop, ()):
            candidate = stack.by_urn.get(urn)
            if candidate is None or candidate.type not in types:
                return None
            found[urn] = candidate
    return list(found.values()) or None


def computed_from_resources(res: Resource, prop: str) -> bool:
    """Whether an unknown input is computed from other resources' outputs (any number of them).

    A weaker claim than `referenced`, for the one question it settles: such a value is an identity (an
    ARN, an account, an organization id), not the literal wildcard a program writes by hand. Used only
    for the restricting inputs of a Lambda permission (sourceArn, sourceAccount, principalOrgId).
    """
    return bool(res.property_dependencies.get(prop))


def resolve_value(
    stack: Stack, res: Resource, prop: str, value: Any, types: Collection[str] | None = None
) -> Any:
    """`value` itself when known; a `Reference` when it is unknown and resolves; else UNKNOWN."""
    if value is not UNKNOWN:
        return value
    target = referenced(stack, res, prop, types)
    return Reference(target, prop) if target is not None else UNKNOWN


# -- policy documents ---------------------------------------------------------------------------------


def resolve_statements(stack: Stack, res: Resource, prop: str, statements: Any) -> Any:
    """A parsed policy (`parse_document`'s result) with its resolvable unknown references resolved.

    Anything but a list of statements (UNKNOWN, a malformed document) comes back unchanged: a document
    unknown as a whole is content, not a reference. A statement keeps `has_unknown` true while any part
    that did not resolve is still unknown.
    """
    if not isinstance(statements, list) or not any(st.has_unknown for st in statements):
        return statements
    resolver = _Resolver(stack, res, prop)
    return [resolver.statement(st) if st.has_unknown else st for st in statements]


class _Resolver:
    """Resolves the unknown parts of one document's statements; each target is looked up once."""

    def __init__(self, stack: Stack, res: Resource, prop: str) -> None:
        self.stack, self.res, self.prop = stack, res, prop
        self._targets: dict[frozenset[str], Reference | None] = {}

    def _reference(self, types: frozenset[str]) -> Reference | None:
        if types not in self._targets:
            target = referenced(self.stack, self.res, self.prop, types)
            self._targets[types] = Reference(target, self.prop) if target is not None else None
        return self._targets[types]

    def statement(self, st: Statement) -> Statement:
        fields = set(st.unknown_fields)
        changes: dict[str, Any] = {}
        if "*" in fields:
            return st
        resolvers = (
            ("Resource", "resources", lambda v: self._list(v, ARN_TARGETS)),
            ("NotResource", "not_resources", lambda v: self._list(v, ARN_TARGETS)),
            ("Principal", "principal", self._principal),
            ("Condition", "condition", self._condition),
        )
        for name, attr, resolve in resolvers:
            if name not in fields or f"*{name}" in fields:
                continue
            resolved = resolve(getattr(st, attr))
            # Only when nothing unknown is left in the field: an unknown nested where this module does
            # not look (a dict inside a Resource list) keeps the field unknown.
            if resolved is not None and not contains_unknown(resolved):
                changes[attr] = resolved
                fields.discard(name)
        if not changes:
            return st
        return dataclasses.replace(st, **changes, unknown_fields=frozenset(fields), has_unknown=bool(fields))

    def _list(self, values: list[Any], types: frozenset[str]) -> list[Any] | None:
        """The list with every UNKNOWN replaced, or None when one of them does not resolve."""
        if not any(v is UNKNOWN for v in values):
            return None
        ref = self._reference(types)
        if ref is None:
            return None
        return [ref if v is UNKNOWN else v for v in values]

    def _principal(self, principal: Any) -> Any:
        """Only `{"AWS": <unknown>}` entries resolve (to a role or user); "*"-capable shapes do not."""
        if not isinstance(principal, dict):
            return None
        out: dict[str, Any] = {}
        found = False
        for kind, value in principal.items():
            values = value if isinstance(value, list) else [value]
            if not any(v is UNKNOWN for v in values):
                out[kind] = value
                continue
            if kind != "AWS":
                return None
            resolved = self._list(values, PRINCIPALS)
            if resolved is None:
                return None
            out[kind] = resolved
            found = True
        return out if found else None

    def _condition(self, condition: dict[str, dict[str, list[Any]]]) -> Any:
        out: dict[str, dict[str, list[Any]]] = {}
        found = False
        for op, block in condition.items():
            new_block: dict[str, list[Any]] = {}
            for key, values in block.items():
                if any(v is UNKNOWN for v in values):
                    if key.lower() not in ARN_CONDITION_KEYS:
                        return None
                    resolved = self._list(values, ARN_TARGETS)
                    if resolved is None:
                        return None
                    values, found = resolved, True
                new_block[key] = values
            out[op] = new_block
        return out if found else None
