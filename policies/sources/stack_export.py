"""`pulumi stack export` (checkpoint versions 3 and 4): the deployed resources."""

from __future__ import annotations

from typing import Any

from policies.errors import InputError
from policies.model import Resource
from policies.sources.state import MalformedState, resource_from_state

SUPPORTED_VERSIONS = (3, 4)


def matches(doc: Any) -> bool:
    return isinstance(doc, dict) and ("deployment" in doc or "checkpoint" in doc)


def parse(doc: dict[str, Any], source: str) -> tuple[list[Resource], dict[str, Any]]:
    version = doc.get("version")
    if version not in SUPPORTED_VERSIONS:
        raise InputError(
            f"stack export version {version!r} is not supported (use version 3 or 4 from a current "
            "`pulumi stack export`)",
            source=source,
        )
    deployment = doc.get("deployment")
    if deployment is None and isinstance(doc.get("checkpoint"), dict):
        # A backend checkpoint file (`.pulumi/stacks/<stack>.json`): the deployment is its `latest`.
        deployment = doc["checkpoint"].get("latest") or {"resources": []}
    if not isinstance(deployment, dict):
        raise InputError("'deployment' is not an object; the stack export is damaged", source=source)
    raw = deployment.get("resources") or []
    if not isinstance(raw, list):
        raise InputError("'deployment.resources' is not a list; the stack export is damaged", source=source)
    pending_delete = set()
    for op in deployment.get("pending_operations") or []:
        if isinstance(op, dict) and op.get("type") == "deleting":
            res = op.get("resource") or {}
            if isinstance(res, dict) and isinstance(res.get("urn"), str):
                pending_delete.add(res["urn"])
    resources: list[Resource] = []
    for i, state in enumerate(raw):
        if not isinstance(state, dict) or not isinstance(state.get("urn"), str):
            raise InputError(f"resource {i} has no 'urn'; the stack export is damaged", source=source)
        if state.get("delete") is True or state.get("pendingReplacement") is True:
            continue
        if state["urn"] in pending_delete:
            continue
        try:
            resources.append(resource_from_state(state))
        except MalformedState as exc:
            raise InputError(
                f"resource {i} ({state['urn']}): {exc}; the stack export is damaged", source=source
            ) from None
    return resources, {}
