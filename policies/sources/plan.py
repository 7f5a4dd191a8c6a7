"""`pulumi preview --save-plan`: each resource's goal inputs and planned state."""

from __future__ import annotations

from typing import Any

from policies.errors import InputError
from policies.model import Resource
from policies.sources.state import MalformedState, resource_from_state
from policies.sources.state import config_of as _config

_GONE = frozenset({"delete", "delete-replaced", "discard", "discard-replaced", "remove-pending-replace"})


def matches(doc: Any) -> bool:
    return isinstance(doc, dict) and "resourcePlans" in doc


def parse(doc: dict[str, Any], source: str) -> tuple[list[Resource], dict[str, Any]]:
    plans = doc.get("resourcePlans")
    if not isinstance(plans, dict) or not plans:
        raise InputError(
            "the plan has no resourcePlans; save one with `pulumi preview --save-plan`", source=source
        )
    resources: list[Resource] = []
    for urn, plan in plans.items():
        if not isinstance(plan, dict):
            raise InputError(f"resource plan {urn} is not an object", source=source)
        steps = plan.get("steps") or []
        if steps and all(s in _GONE for s in steps):
            continue
        goal = plan.get("goal")
        if not isinstance(goal, dict):
            # A plan entry without a goal is a delete.
            continue
        diff = goal.get("inputDiff") or {}
        inputs: dict[str, Any] = {}
        for part in ("adds", "updates"):
            block = diff.get(part)
            if isinstance(block, dict):
                inputs.update(block)
        state = {
            "urn": urn,
            "type": goal.get("type"),
            "custom": goal.get("custom", True),
            "inputs": inputs,
            "outputs": plan.get("state") or {},
            "provider": goal.get("provider"),
            "parent": goal.get("parent"),
            "dependencies": goal.get("dependencies") or [],
            "propertyDependencies": goal.get("propertyDependencies") or {},
            # A resource the plan only reads (another stack's, an existing one): context, not a finding.
            "external": bool(steps) and all(s in ("read", "read-replacement") for s in steps),
        }
        try:
            resources.append(resource_from_state(state))
        except MalformedState as exc:
            raise InputError(f"resource plan {urn}: {exc}; the plan is damaged", source=source) from None
    config = doc.get("config")
    return resources, _config(config)
