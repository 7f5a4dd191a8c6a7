"""Turning one serialized Pulumi resource state into a `Resource`.

Shared by every file source: the preview's newState/oldState, the stack export's resources and the
plan's goals all use the same property encoding (unknown sentinel, secret and asset signatures,
`__defaults` bookkeeping keys).
"""

from __future__ import annotations

from typing import Any

from policies.model import SECRET_SIG, SIG_KEY, UNKNOWN, UNKNOWN_SENTINEL, Resource

_SECRET_PLACEHOLDER = "[secret]"

#: How deep a property value may nest. Real resource properties stay far below it (a WAF rule
#: statement is some 20 levels); a deeper value is refused as bad input rather than recursed into
#: until Python's stack runs out, so no rule is ever handed one.
MAX_DEPTH = 100


def normalize(value: Any) -> Any:
    """Decode Pulumi's property encoding: unknowns become UNKNOWN, secrets their plaintext.

    Raises MalformedState for a value nested more than MAX_DEPTH levels deep.
    """
    return _normalize(value, 0)


def _normalize(value: Any, depth: int) -> Any:
    if isinstance(value, str):
        if value == UNKNOWN_SENTINEL or value == _SECRET_PLACEHOLDER:
            return UNKNOWN
        return value
    if depth >= MAX_DEPTH and isinstance(value, dict | list):
        raise MalformedState(f"a property value is nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, dict):
        sig = value.get(SIG_KEY)
        if sig is not None:
            if sig == SECRET_SIG:
                plaintext = value.get("plaintext")
                if isinstance(plaintext, str):
                    import json

                    try:
                        decoded = json.loads(plaintext)
                    except ValueError:
                        return plaintext
                    except RecursionError:  # the standard library's parser recurses
                        raise MalformedState(
                            f"a secret's plaintext is nested more than {MAX_DEPTH} levels deep"
                        ) from None
                    return _normalize(decoded, depth)
                # An encrypted secret cannot be inspected without the stack's key: fail closed.
                return UNKNOWN
            return {k: v for k, v in value.items() if k != SIG_KEY}
        return {k: _normalize(v, depth + 1) for k, v in value.items() if k != "__defaults"}
    if isinstance(value, list):
        return [_normalize(v, depth + 1) for v in value]
    return value


def config_of(config: Any) -> dict[str, Any]:
    """The stack config a preview or plan carries (secret values unknown)."""
    value = normalize(config) if isinstance(config, dict) else {}
    return value if isinstance(value, dict) else {}


def merged_props(inputs: Any, outputs: Any) -> dict[str, Any]:
    """Outputs overlaid by inputs: what the program declared wins, outputs fill in the rest."""
    props = normalize(outputs) if isinstance(outputs, dict) else {}
    if not isinstance(props, dict):  # a whole-object secret: nothing to read
        props = {}
    inputs = normalize(inputs) if isinstance(inputs, dict) else None
    if isinstance(inputs, dict):
        for key, value in inputs.items():
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


class MalformedState(ValueError):
    """A resource state whose fields have the wrong JSON types; sources turn it into an InputError."""


def _expect(state: dict[str, Any], key: str, kinds: tuple[type, ...], what: str) -> Any:
    value = state.get(key)
    if value is not None and not isinstance(value, kinds):
        raise MalformedState(f"'{key}' must be {what}, not {type(value).__name__}")
    return value


def resource_from_state(state: dict[str, Any], *, provider: str | None = None) -> Resource:
    if not isinstance(state, dict):
        raise MalformedState(f"a resource state must be an object, not {type(state).__name__}")
    urn = _expect(state, "urn", (str,), "a string") or ""
    _expect(state, "type", (str,), "a string")
    _expect(state, "provider", (str,), "a provider reference string")
    _expect(state, "parent", (str,), "a URN string")
    _expect(state, "inputs", (dict,), "an object")
    _expect(state, "outputs", (dict,), "an object")
    deps = _expect(state, "dependencies", (list,), "a list of URNs") or []
    prop_deps = _expect(state, "propertyDependencies", (dict,), "an object of URN lists") or {}
    if provider is not None and not isinstance(provider, str):
        raise MalformedState(
            f"the step's 'provider' must be a provider reference string, not {type(provider).__name__}"
        )
    props = merged_props(state.get("inputs"), state.get("outputs"))
    return Resource(
        urn=urn,
        type=state.get("type") or type_of(urn),
        name=name_of(urn),
        props=props,
        custom=bool(state.get("custom", True)),
        external=state.get("external") is True,
        provider=state.get("provider") or provider,
        parent=state.get("parent"),
        dependencies=[d for d in deps if isinstance(d, str)],
        property_dependencies={
            k: [d for d in v if isinstance(d, str)] for k, v in prop_deps.items() if isinstance(v, list)
        },
        tags=tags_of(props),
        input_keys=frozenset(k for k in (state.get("inputs") or {}) if k != "__defaults"),
        source_position=state.get("sourcePosition") if isinstance(state.get("sourcePosition"), str) else None,
    )
