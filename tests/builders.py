"""Small builders for rule tests: a resource as the sources would produce it, and a stack."""

from __future__ import annotations

from typing import Any

from policies.catalog import default_catalog
from policies.engine import Result, evaluate
from policies.model import Resource
from policies.registry import all_rules
from policies.sources.state import resource_from_state
from policies.stack import Stack

PROJECT = "urn:pulumi:prod::shop"
CN_PROVIDER_URN = f"{PROJECT}::pulumi:providers:aws::cn"
CN_PROVIDER_REF = f"{CN_PROVIDER_URN}::11111111-2222-3333-4444-555555555555"


def res(
    type_: str,
    name: str,
    inputs: dict[str, Any] | None = None,
    *,
    outputs: dict[str, Any] | None = None,
    provider: str | None = CN_PROVIDER_REF,
    property_dependencies: dict[str, list[str]] | None = None,
    dependencies: list[str] | None = None,
) -> Resource:
    """A custom resource as a source builds it (inputs merged over outputs, sentinel decoded)."""
    state = {
        "urn": urn(type_, name),
        "type": type_,
        "custom": True,
        "inputs": inputs or {},
        "outputs": outputs or {},
        "provider": provider,
        "propertyDependencies": property_dependencies or {},
        "dependencies": dependencies or [],
    }
    return resource_from_state(state)


def urn(type_: str, name: str) -> str:
    return f"{PROJECT}::{type_}::{name}"


def cn_provider(region: str = "cn-north-1") -> Resource:
    return resource_from_state(
        {
            "urn": CN_PROVIDER_URN,
            "type": "pulumi:providers:aws",
            "custom": True,
            "inputs": {"region": region},
            "outputs": {"region": region},
        }
    )


def stack(
    *resources: Resource, config: dict[str, Any] | None = None, provider_region: str = "cn-north-1"
) -> Stack:
    """A stack with the default catalogue settings and a China provider the resources point at."""
    items = [cn_provider(provider_region), *resources]
    return Stack.build(items, config=config or {}, settings=default_catalog().settings())


def check(rule_id: str, *resources: Resource, **kwargs: Any) -> Result:
    """Run one rule over a stack built from `resources`."""
    return evaluate(stack(*resources, **kwargs), [all_rules()[rule_id]])


def messages(result: Result, urn_: str | None = None) -> list[str]:
    return [f.message for f in result.findings if urn_ is None or f.urn == urn_]
