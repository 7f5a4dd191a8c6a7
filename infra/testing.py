"""Run the program (or one component) under Pulumi's mock runtime and see it as the rule engine does.

Every `RegisterResource` call the program makes is captured as Pulumi state (type, URN, parent,
provider reference, inputs, mock outputs, dependencies and property dependencies) and turned into
the engine's model with `policies.sources.state.resource_from_state`, exactly as a preview is. The
mock outputs are what AWS China would report: `arn:aws-cn:...` ARNs in the provider's region, ids
and names. The answers are `policies/sources/program_mocks.py`, the same that `residency check
--program` runs programs with, so they are written once.

    from infra.testing import MockCloud
    cloud = MockCloud.install(config={...})        # before the program is imported
    ...run the program inside a @pulumi.runtime.test function...
    result = cloud.evaluate()                        # policies.engine.Result
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi

from policies.sources import program_mocks
from policies.sources.program_mocks import PLACEHOLDER_ACCOUNT, CapturingMonitor, Registration

ACCOUNT_ID = PLACEHOLDER_ACCOUNT
PROJECT = "residency"
REPO = Path(__file__).resolve().parent.parent

__all__ = ["ACCOUNT_ID", "PROJECT", "REPO", "MockCloud", "Registration", "stack_config"]


@dataclass
class MockCloud:
    """One mock deployment: the config the program sees and everything it registered."""

    config: dict[str, Any]
    stack: str = "prod-cn-north-1"
    #: Simulate the first `pulumi preview` of a new stack: computed outputs are unknown.
    first_preview: bool = False
    monitor: CapturingMonitor | None = field(default=None, repr=False)

    @property
    def registrations(self) -> list[Registration]:
        return self.monitor.registrations if self.monitor is not None else []

    @property
    def outputs_registered(self) -> set[str]:
        """URNs of the components that called register_outputs."""
        return self.monitor.outputs_registered if self.monitor is not None else set()

    @classmethod
    def install(
        cls, config: dict[str, Any], stack: str = "prod-cn-north-1", *, first_preview: bool = False
    ) -> MockCloud:
        """Point the Pulumi runtime at fresh mocks with this config (call before declaring anything)."""
        cloud = cls(config=dict(config), stack=stack, first_preview=first_preview)
        # The AWS answers are the ones `residency check --program` gives (policies/sources/program_mocks.py);
        # these tests run as `pulumi up` does (outputs known), or as a new stack's first preview.
        cloud.monitor = program_mocks.install(
            config, project=PROJECT, stack=stack, preview=first_preview, first_preview=first_preview
        )
        return cloud

    def deploy(self, program: Callable[[], Any]) -> MockCloud:
        """Run `program` (which declares resources) under the mocks and wait for every registration."""

        @pulumi.runtime.test
        def deployment() -> Any:
            return program()

        deployment()
        return self

    def of_type(self, token: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == token]

    def region_of(self, provider_ref: str | None) -> str | None:
        region = self.monitor.answers.region_for({}, provider_ref) if self.monitor is not None else None
        return region if isinstance(region, str) else None

    def states(self) -> list[dict[str, Any]]:
        return [r.state() for r in self.registrations]

    def stack_model(self) -> Any:
        """The captured resources as the engine's `Stack`, with the default catalogue's settings."""
        from policies.check import settings_for
        from policies.sources.state import resource_from_state
        from policies.stack import Stack

        _catalog, settings = settings_for(None)
        resources = [resource_from_state(state) for state in self.states()]
        config = {k: v for k, v in self.config.items() if k == "aws:region"}
        return Stack.build(resources, config=config, settings=settings, source=f"mocks:{self.stack}")

    def evaluate(self) -> Any:
        """Every rule of the catalogue over the captured stack: a `policies.engine.Result`."""
        from policies.engine import evaluate

        return evaluate(self.stack_model())


def stack_config(stack: str) -> dict[str, Any]:
    """The config `pulumi` would hand the program for a stack: Pulumi.yaml's project-level values
    overlaid by Pulumi.<stack>.yaml (merged as `residency check --program` merges it)."""
    from policies.sources.program import merge_config, pick_stack, read_project

    project = read_project(REPO)
    _name, stack_file, _notices = pick_stack(project, stack)
    config, _secrets, _notices = merge_config(project, stack_file)
    return config
