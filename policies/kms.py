"""KMS key references: is a reference customer-managed, and in which region does the key live.

A data store names its key in one input (`kmsKeyId`, `kmsKeyArn`, `kmsMasterKeyId`, ...) as a key
ARN, a key id, an alias name or an alias ARN. In a preview the value is often unknown because the key
is created by the same program; the store's property dependencies then still say which key resource
the value comes from. AWS resolves a bare key id or alias name in the caller's region, so only an ARN
(or a key resource of the stack) can put the key in another region.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from policies.model import UNKNOWN, Resource
from policies.references import referenced
from policies.tokens import KMS_ALIAS, KMS_KEY, KMS_REPLICA_EXTERNAL_KEY, KMS_REPLICA_KEY

if TYPE_CHECKING:
    from policies.stack import Stack

KMS_EXTERNAL_KEY = "aws:kms/externalKey:ExternalKey"
#: Resources a key reference can point at: the keys and their aliases.
KEY_TYPES = (KMS_KEY, KMS_REPLICA_KEY, KMS_REPLICA_EXTERNAL_KEY, KMS_EXTERNAL_KEY)
KEY_OR_ALIAS_TYPES = (*KEY_TYPES, KMS_ALIAS)

_KMS_ARN = re.compile(r"^arn:(aws[a-z-]*):kms:([a-z0-9-]*):\d*:(key|alias)/(.+)$")


@dataclass(frozen=True, slots=True)
class KeyReference:
    """Where a store's key reference leads."""

    #: The reference as written (ARN, key id, alias), UNKNOWN, or None when no key is named.
    text: Any
    #: The key or alias resource of the stack it points at, when found.
    resource: Resource | None
    #: The key's region; None when the reference resolves in the store's own region; UNKNOWN.
    region: Any

    @property
    def named(self) -> bool:
        return self.text not in (None, "")

    def describe(self) -> str:
        if self.resource is not None:
            return self.resource.label
        if self.text is UNKNOWN:
            return "a key unknown until apply"
        return repr(self.text)


def is_aws_managed(ref: Any) -> bool:
    """`alias/aws/s3`, `arn:aws-cn:kms:cn-north-1:123:alias/aws/s3`: an AWS managed key, not the customer's."""
    if not isinstance(ref, str):
        return False
    if ref.startswith("alias/aws/"):
        return True
    match = _KMS_ARN.match(ref)
    return bool(match and match.group(3) == "alias" and match.group(4).startswith("aws/"))


def arn_region(ref: Any) -> str | None:
    """The region of a KMS key or alias ARN; None for a bare key id or alias name."""
    if isinstance(ref, str):
        match = _KMS_ARN.match(ref)
        if match and match.group(2):
            return match.group(2)
    return None


def find_key(stack: Stack, ref: str) -> Resource | None:
    """The key or alias resource of the stack that `ref` names (by arn, id, keyId or alias name)."""
    if not isinstance(ref, str):
        return None  # an object or a list names no key
    return stack.memo("kms.keys_by_reference", _index_keys).get(ref)


def _index_keys(stack: Stack) -> dict[str, Resource]:
    index: dict[str, Resource] = {}
    for candidate in stack.of_type(*KEY_OR_ALIAS_TYPES):
        props = candidate.props
        for ref in (props.get("arn"), props.get("id"), props.get("keyId"), props.get("name")):
            if isinstance(ref, str) and ref:
                index.setdefault(ref, candidate)
    return index


def key_from_dependencies(res: Resource, prop: str, stack: Stack) -> Resource | None:
    """The key or alias resource an input of `res` is computed from, through its property dependencies.

    Only when the dependency names exactly one resource of the stack and it is a key or an alias
    (`policies.references.referenced`): with two keys, or a key and something else, the input may be
    built from either, so it is not resolved.
    """
    return referenced(stack, res, prop, KEY_OR_ALIAS_TYPES)


def resolve(res: Resource, prop: str, ref: Any, stack: Stack) -> KeyReference:
    """Follow the key reference `ref`, held by the top-level input `prop` of `res`."""
    if ref is UNKNOWN:
        key = key_from_dependencies(res, prop, stack)
        if key is None:
            return KeyReference(UNKNOWN, None, UNKNOWN)
        return KeyReference(UNKNOWN, key, key.region)
    if not isinstance(ref, str) or not ref:
        return KeyReference(None, None, None)
    key = find_key(stack, ref) or key_from_dependencies(res, prop, stack)
    region = arn_region(ref)
    if region is None and key is not None:
        region = key.region
    return KeyReference(ref, key, region)


def in_other_region(key: KeyReference, store: Resource) -> bool:
    """True when the key is known to live in another region than the store.

    When either region is not known nothing is claimed here: the residency rules report a store
    or key whose region cannot be verified.
    """
    if not isinstance(key.region, str) or not isinstance(store.region, str):
        return False
    return key.region != store.region


def key_region_text(store: Resource, stack: Stack) -> str:
    """Where a fix puts a store's customer-managed key: never a region outside the territory.

    The store's own region when it is allowed; otherwise the allowed regions, saying the store has to
    move there first (RES-001 reports where it is now).
    """
    allowed = stack.settings.allowed_regions
    regions = stack.settings.regions_text()
    region = store.region
    if isinstance(region, str) and region in allowed:
        return region
    if isinstance(region, str) and region:
        return f"{regions} (the store is in {region}, outside the territory: move it there first)"
    return f"the store's region ({regions})"


def key_arn_example(store: Resource, stack: Stack) -> str:
    """A paste-ready key ARN shape in the territory's partition: `arn:aws-cn:kms:cn-north-1:<account>:key/<id>`."""
    region = store.region if isinstance(store.region, str) else None
    if region not in stack.settings.allowed_regions:
        region = stack.settings.allowed_regions[0]
    return f"arn:{stack.settings.partition}:kms:{region}:<account-id>:key/<key-id>"


def judge_key(
    store: Resource, holder: Resource, prop: str, ref: Any, stack: Stack, what: str, fix: str
) -> Iterator[Any]:
    """The common judgement of one key reference a store names (None: the service's default key).

    Yields problems as rules do (strings, or `unknown(...)` Violations): an AWS managed or default key,
    a key unknown until apply that no key of the stack explains, a key in another region than the store.
    `what` names the setting ("Performance Insights key `performanceInsightsKmsKeyId`").
    """
    from policies.references import AT_APPLY
    from policies.registry import unknown

    if ref is None or ref == "":
        yield f"{store.label}: {what} is not set, so the service's AWS managed key is used; {fix}"
        return
    if is_aws_managed(ref):
        yield f"{store.label}: {what} is the AWS managed key {ref!r}, not a customer-managed key; {fix}"
        return
    key = resolve(holder, prop, ref, stack)
    if key.text is UNKNOWN and key.resource is None:
        yield unknown(
            f"{store.label}: {what} is not known until apply and does not come from exactly one KMS key of "
            f"this stack; {AT_APPLY}; {fix}"
        )
    elif in_other_region(key, store):
        yield (
            f"{store.label} is in {store.region} but {what} names {key.describe()}, which is in {key.region}; "
            f"use a customer-managed key in {key_region_text(store, stack)}"
        )
