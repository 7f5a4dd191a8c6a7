"""Turning one serialized Pulumi resource state into a `Resource`.

Shared by every file source: the preview's newState/oldState, the stack export's resources and the
plan's goals all use the same property encoding (unknown sentinel, secret and asset signatures,
`__defaults` bookkeeping keys).
"""

from __future__ import annotations

from typing import Any

from policies.model import SECRET_SIG, SIG_KEY, UNKNOWN, UNKNOWN_SENTINEL, Resource

_SECRET_PLACEHOLDER = "[secret]"


def normalize(value: Any) -> Any:
    """Decode Pulumi's property encoding: unknowns become UNKNOWN, secrets their plaintext."""
    if isinstance(value, str):
        if value == UNKNOWN_SENTINEL or value == _SECRET_PLACEHOLDER:
            return UNKNOWN
        return value
    if isinstance(value, dict):
        sig = value.get(SIG_KEY)
        if sig is not None:
            if sig == SECRET_SIG:
                plaintext = value.get("plaintext")
                if isinstance(plaintext, str):
                    import json

                    try:
                        return normalize(json.loads(plaintext))
                    except ValueError:
                        return plaintext
                # An encrypted secret cannot be inspected without the stack's key: fail closed.
                return UNKNOWN
            return {k: v for k, v in value.items() if k != SIG_KEY}
        return {k: normalize(v) for k, v in value.items() if k != "__defaults"}
    if isinstance(value, list):
        return [normalize(v) for v in value]
    return value


def merged_props(inputs: Any, outputs: Any) -> dict[str, Any]:
    """Outputs overlaid by inputs: what the program declared wins, outputs fill in the rest."""
    props: dict[str, Any] = normalize(outputs) if isinstance(outputs, dict) else {}
    if isinstance(inputs, dict):
        for key, value in normalize(inputs).items():
            if value is UNKNOWN and props.get(key) not in (None, UNKNOWN):
                continue
            props[key] = value
    return props


def name_of(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def type_of(urn: str) -> str:
    # urn:pulumi:stack::project::parent$type::name
    parts = urn.split("::")
    if len(parts) >= 4:
        return parts[2].rsplit("$", 1)[-1]
    return ""


def tags_of(props: dict[str, Any]) -> dict[str, Any]:
    """The resource's tags: `tagsAll` (provider default tags included, after apply) under `tags`."""
    merged: dict[str, Any] = {}
    for key in ("tagsAll", "tags"):
        tags = props.get(key)
        if isinstance(tags, dict):
            merged.update(tags)
        elif tags is UNKNOWN and key == "tags":
            return UNKNOWN
    return merged


def resource_from_state(state: dict[str, Any], *, provider: str | None = None) -> Resource:
    urn = state.get("urn") or ""
    props = merged_props(state.get("inputs"), state.get("outputs"))
    deps = state.get("dependencies") or []
    prop_deps = state.get("propertyDependencies") or {}
    return Resource(
        urn=urn,
        type=state.get("type") or type_of(urn),
        name=name_of(urn),
        props=props,
        custom=bool(state.get("custom", True)),
        provider=state.get("provider") or provider,
        parent=state.get("parent"),
        dependencies=[d for d in deps if isinstance(d, str)],
        property_dependencies={
            k: [d for d in (v or []) if isinstance(d, str)]
            for k, v in prop_deps.items()
            if isinstance(k, str)
        },
        tags=tags_of(props),
        input_keys=frozenset(k for k in (state.get("inputs") or {}) if k != "__defaults"),
        source_position=state.get("sourcePosition") if isinstance(state.get("sourcePosition"), str) else None,
    )
