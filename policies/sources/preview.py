"""`pulumi preview --json`: the steps the engine would take, with each resource's new state."""

from __future__ import annotations

from typing import Any

from policies.errors import InputError
from policies.model import Resource
from policies.sources.state import MalformedState, resource_from_state
from policies.sources.state import config_of as _config

#: Steps after which the resource no longer exists: nothing of theirs is deployed.
_GONE = frozenset({"delete", "delete-replaced", "discard", "discard-replaced", "remove-pending-replace"})
#: Steps that read an existing resource (`aws.s3.Bucket.get`, a resource of another stack): context only.
_READS = frozenset({"read", "read-replacement"})


def matches(doc: Any) -> bool:
    return isinstance(doc, dict) and "steps" in doc


def parse(doc: dict[str, Any], source: str) -> tuple[list[Resource], dict[str, Any]]:
    steps = doc.get("steps")
    if not isinstance(steps, list):
        raise InputError(
            "'steps' is not a list; is this the output of `pulumi preview --json`?", source=source
        )
    if not steps:
        raise InputError(
            "the preview has no steps; run `pulumi preview --json` on a stack with resources", source=source
        )
    by_urn: dict[str, Resource] = {}
    for i, step in enumerate(steps):
        if not isinstance(step, dict):
            raise InputError(f"step {i} is not an object", source=source)
        op = step.get("op")
        urn = step.get("urn")
        if not isinstance(urn, str) or not isinstance(op, str):
            raise InputError(f"step {i} has no 'op' and 'urn'; the preview is damaged", source=source)
        if op in _GONE:
            continue
        state = step.get("newState") or step.get("oldState")
        if state is None:
            # A step without state (older CLIs print only op and urn for `same`): the type is in the URN.
            state = {"urn": urn}
        elif not isinstance(state, dict):
            raise InputError(
                f"step {i} ({urn}): 'newState' must be an object, not {type(state).__name__}; the preview is damaged",
                source=source,
            )
        if "urn" not in state:
            state = {**state, "urn": urn}
        old = step.get("oldState")
        if not state.get("outputs") and isinstance(old, dict) and isinstance(old.get("outputs"), dict):
            # A `same` (or not-yet-applied `update`) step's new state carries no outputs; the deployed
            # ones (region, ARN) are in the old state. Inputs still win where both say something.
            state = {**state, "outputs": old["outputs"]}
        try:
            resource = resource_from_state(state, provider=step.get("provider"))
            if op in _READS:
                resource.external = True
            by_urn[urn] = resource
        except MalformedState as exc:
            raise InputError(f"step {i} ({urn}): {exc}; the preview is damaged", source=source) from None
    config = doc.get("config")
    return list(by_urn.values()), _config(config)
