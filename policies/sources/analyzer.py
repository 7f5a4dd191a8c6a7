"""CrossGuard analyzer calls: the resources `pulumi preview` / `pulumi up` send to a policy pack.

The engine sends each resource as `Analyze` (its inputs and its provider) and the whole stack as
`AnalyzeStack` (every resource's outputs, provider, parent and dependencies). The Python policy SDK
hands them to a policy already decoded: property values wrapped in proxies that raise on unknowns,
secrets unwrapped. This module turns them back into plain serialized state and passes it through the
same `resource_from_state` / `normalize` code as every file source, so an unknown value is `UNKNOWN`
here exactly as in a `pulumi preview --json`.

The SDK objects are read by attribute only (`resource_type`, `props`, `urn`, `name`, `provider`,
`opts.parent`, `parent`, `dependencies`, `property_dependencies`): this module imports neither
pulumi nor pulumi_policy, so it can be tested and reused without them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from policies.errors import InputError
from policies.model import SIG_KEY, UNKNOWN_SENTINEL, Resource
from policies.settings import Settings
from policies.sources.state import normalize, resource_from_state
from policies.stack import Stack

SOURCE = "pulumi policy analyzer"

#: The engine's typed "unknown until apply" sentinels. Current engines send only the string one; the
#: others are older encodings the SDK still recognises, all decoded to the one `normalize` knows.
UNKNOWN_SENTINELS = frozenset(
    {
        UNKNOWN_SENTINEL,
        "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",  # boolean
        "3eeb2bf0-c639-47a8-9e75-3b44932eb421",  # number
        "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",  # array
        "030794c1-ac77-496b-92df-f27374a8bd58",  # asset
        "e48ece36-62e2-4504-bad9-02848725956a",  # archive
        "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",  # object
    }
)
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"


def plain(value: Any) -> Any:
    """Serialized-state form of an SDK property value: proxies unwrapped, unknowns as the sentinel.

    Secrets arrive either unwrapped by the SDK (their plaintext) or, straight off the wire, as
    `{sig: secret, value: ...}`: both become their plaintext, which the rules must see (a secret
    policy document is still a policy document). Whole-number doubles become ints. Assets and
    archives keep a readable shape.
    """
    if isinstance(value, str):
        return UNKNOWN_SENTINEL if value in UNKNOWN_SENTINELS else value
    if isinstance(value, float):
        # protobuf's Struct has only doubles: 365 arrives as 365.0. A whole number is read back as the
        # int a preview file would hold, so `retentionInDays: 365` means the same to every rule.
        return int(value) if value.is_integer() else value
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, Mapping):
        target = _proxy_target(value)
        if target is not None:
            return plain(target)
        if value.get(SIG_KEY) == _SECRET_SIG and "value" in value:
            return plain(value["value"])
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, Sequence):
        target = _proxy_target(value)
        if target is not None:
            return plain(target)
        return [plain(v) for v in value]
    # pulumi_policy.Secret (when a pack asks the SDK to keep secrets) and pulumi assets/archives.
    inner = getattr(value, "value", None)
    if type(value).__name__ == "Secret" and inner is not None:
        return plain(inner)
    for attr in ("path", "text", "uri"):
        found = getattr(value, attr, None)
        if isinstance(found, str):
            return {attr: found}
    return str(value)


def _proxy_target(value: Any) -> Any:
    # pulumi_policy's unknown-checking proxies expose their wrapped container under "__target";
    # reading through the proxy instead would raise on the first unknown value.
    if type(value).__name__ not in ("_DictProxy", "_ListProxy", "_DictSecretsProxy", "_ListSecretsProxy"):
        return None
    try:
        return value["__target"]
    except (KeyError, IndexError, TypeError):
        return None


def _custom(type_token: str, has_provider: bool) -> bool:
    # The protocol has no "custom" flag: a custom resource always has a provider (the default one at
    # least), a component resource (and the stack) never does, and providers are custom themselves.
    return has_provider or type_token.startswith("pulumi:providers:")


def provider_resource(provider: Any) -> Resource | None:
    """The provider of an analyzed resource (`PolicyProviderResource`: type, props, urn, name)."""
    if provider is None or not getattr(provider, "urn", ""):
        return None
    state = {
        "urn": provider.urn,
        "type": provider.resource_type,
        "custom": True,
        # The engine sends a provider's inputs: its region and default tags as the program set them.
        "inputs": plain(provider.props),
    }
    return resource_from_state(state)


def resource_from_args(args: Any) -> tuple[Resource, Resource | None]:
    """`ResourceValidationArgs` -> (resource, its provider). Analyze sends the resource's inputs."""
    provider = provider_resource(getattr(args, "provider", None))
    opts = getattr(args, "opts", None)
    state = {
        "urn": args.urn,
        "type": args.resource_type,
        "custom": _custom(args.resource_type, provider is not None),
        "inputs": plain(args.props),
        "provider": provider.urn if provider is not None else None,
        "parent": getattr(opts, "parent", None) or None,
    }
    return resource_from_state(state), provider


def resources_from_stack_args(resources: Iterable[Any]) -> list[Resource]:
    """`StackValidationArgs.resources` -> resources, each provider included once.

    AnalyzeStack sends outputs (during a preview: the planned state, inputs plus unknowns). They are
    read as the declared inputs too, the same view a preview's `newState` gives the file sources.
    """
    out: list[Resource] = []
    seen: set[str] = set()
    providers: dict[str, Resource] = {}
    for r in resources:
        provider = getattr(r, "provider", None)
        provider_urn = getattr(provider, "urn", "") or None
        if provider_urn and provider_urn not in providers:
            found = provider_resource(provider)
            if found is not None:
                providers[provider_urn] = found
        parent = getattr(r, "parent", None)
        state = {
            "urn": r.urn,
            "type": r.resource_type,
            "custom": _custom(r.resource_type, provider_urn is not None),
            "inputs": plain(r.props),
            "provider": provider_urn,
            "parent": getattr(parent, "urn", None),
            "dependencies": [d.urn for d in getattr(r, "dependencies", None) or ()],
            "propertyDependencies": {
                k: [d.urn for d in v] for k, v in (getattr(r, "property_dependencies", None) or {}).items()
            },
        }
        res = resource_from_state(state)
        out.append(res)
        seen.add(res.urn)
    out.extend(p for urn, p in providers.items() if urn not in seen)
    return out


def resource_stack(
    args: Any, settings: Settings | None = None, config: Mapping[str, Any] | None = None
) -> tuple[Resource, Stack]:
    """One analyzed resource in a stack of itself and its provider: enough for per-resource rules.

    The provider is indexed (region, default tags) but not evaluated: it is analyzed on its own call.
    """
    res, provider = resource_from_args(args)
    members = [res] if provider is None else [res, provider]
    stack = Stack.build(members, config=dict(config or {}), settings=settings, source=SOURCE)
    stack.resources = [res]
    return res, stack


def stack_from_args(
    resources: Iterable[Any], settings: Settings | None = None, config: Mapping[str, Any] | None = None
) -> Stack:
    return Stack.build(
        resources_from_stack_args(resources), config=dict(config or {}), settings=settings, source=SOURCE
    )


def stack_config(raw: Mapping[str, Any] | None) -> dict[str, Any]:
    """Stack config as the engine passes it (`aws:region` -> "cn-north-1"), decoded like a preview's."""
    if not raw:
        return {}
    return normalize({str(k): v for k, v in raw.items()})


def stack_config_from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The stack config the CLI gives a policy pack in `PULUMI_CONFIG` (a JSON object of strings)."""
    env = os.environ if environ is None else environ
    text = env.get("PULUMI_CONFIG")
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        raise InputError(
            "PULUMI_CONFIG is not a JSON object; the Pulumi CLI sets it", source="environment"
        ) from None
    if not isinstance(data, dict):
        raise InputError("PULUMI_CONFIG is not a JSON object; the Pulumi CLI sets it", source="environment")
    return stack_config(data)
