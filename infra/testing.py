"""Run the program (or one component) under Pulumi's mock runtime and see it as the rule engine does.

Every `RegisterResource` call the program makes is captured as Pulumi state (type, URN, parent,
provider reference, inputs, mock outputs, dependencies and property dependencies) and turned into
the engine's model with `policies.sources.state.resource_from_state`, exactly as a preview is. The
mock outputs are what AWS China would report: `arn:aws-cn:...` ARNs in the provider's region, ids
and names.

    from infra.testing import MockCloud
    cloud = MockCloud.install(config={...})        # before the program is imported
    ...run the program inside a @pulumi.runtime.test function...
    result = cloud.evaluate()                        # policies.engine.Result
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.output import Unknown
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs, Mocks

from policies.model import UNKNOWN_SENTINEL

ACCOUNT_ID = "123456789012"
PROJECT = "residency"
REPO = Path(__file__).resolve().parent.parent
_PROVIDER = "pulumi:providers:aws"


def _plain(value: Any) -> Any:
    """Values as a preview's JSON shows them.

    Numbers cross the gRPC boundary as doubles (the engine prints 365, not 365.0), and a value not known
    until apply is the engine's unknown sentinel.
    """
    if isinstance(value, Unknown):
        return UNKNOWN_SENTINEL
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _partition(region: str | None) -> str:
    if region and region.startswith("cn-"):
        return "aws-cn"
    return "aws"


@dataclass
class Registration:
    urn: str
    type: str
    name: str
    custom: bool
    parent: str
    provider: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]

    def state(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "custom": self.custom,
            "parent": self.parent or None,
            "provider": self.provider or None,
            "inputs": self.inputs,
            "outputs": self.outputs,
            "dependencies": self.dependencies,
            "propertyDependencies": self.property_dependencies,
        }


class AwsChinaMocks(Mocks):
    """Outputs as AWS reports them, in the region of the resource's provider."""

    def __init__(self, cloud: MockCloud) -> None:
        self.cloud = cloud

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        inputs = dict(args.inputs)
        if args.typ == _PROVIDER:
            return f"{args.name}-provider-id", inputs
        if self.cloud.first_preview:
            # Nothing exists yet: ids, ARNs and other computed outputs are unknown until apply.
            return "", inputs
        region = self.cloud.region_of(args.provider)
        partition = _partition(region)
        account = ACCOUNT_ID
        typ, name = args.typ, args.name
        out = dict(inputs)
        if typ in ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"):
            bucket = inputs.get("bucket") or f"{name}-0a1b2c"
            out.update(bucket=bucket, arn=f"arn:{partition}:s3:::{bucket}", bucketRegion=region)
            return bucket, out
        if typ.startswith("aws:s3/"):
            return str(inputs.get("bucket") or name), out
        if typ == "aws:kms/key:Key":
            key_id = f"0b9d2f3e-{len(self.cloud.registrations):04d}-4bbb-8ccc-00000000{len(name):04d}"
            out.update(keyId=key_id, arn=f"arn:{partition}:kms:{region}:{account}:key/{key_id}")
            return key_id, out
        if typ == "aws:kms/alias:Alias":
            out["arn"] = f"arn:{partition}:kms:{region}:{account}:{inputs.get('name')}"
            return str(inputs.get("name")), out
        if typ == "aws:dynamodb/table:Table":
            table = inputs.get("name") or name
            out["arn"] = f"arn:{partition}:dynamodb:{region}:{account}:table/{table}"
            return table, out
        if typ == "aws:iam/role:Role":
            role = inputs.get("name") or name
            out.update(arn=f"arn:{partition}:iam::{account}:role/{role}", uniqueId="AROA0000000000EXAMPLE")
            return role, out
        if typ == "aws:iam/rolePolicy:RolePolicy":
            return f"{inputs.get('role')}:{name}", out
        if typ == "aws:cloudtrail/trail:Trail":
            trail = inputs.get("name") or name
            out["arn"] = f"arn:{partition}:cloudtrail:{region}:{account}:trail/{trail}"
            return trail, out
        return f"{name}-id", out

    def call(self, args: MockCallArgs) -> dict[str, Any]:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT_ID,
                "arn": f"arn:aws-cn:iam::{ACCOUNT_ID}:user/deployer",
                "userId": "AIDA0000000000EXAMPLE",
                "id": ACCOUNT_ID,
            }
        raise NotImplementedError(f"the mocks do not answer {args.token}")


class CapturingMonitor(MockMonitor):
    """The mock monitor, recording what the program registered (parent, provider, dependencies)."""

    def __init__(self, mocks: AwsChinaMocks) -> None:
        super().__init__(mocks)
        self.cloud = mocks.cloud

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        registered = self.resources[response.urn]
        self.cloud.registrations.append(
            Registration(
                urn=response.urn,
                type=request.type,
                name=request.name,
                custom=bool(request.custom),
                parent=request.parent,
                provider=request.provider,
                inputs=_plain(rpc.deserialize_properties(request.object)),
                outputs=_plain(dict(registered.state)),
                dependencies=list(request.dependencies),
                property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
            )
        )
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        self.cloud.outputs_registered.add(request.urn)
        return super().RegisterResourceOutputs(request)


@dataclass
class MockCloud:
    """One mock deployment: the config the program sees and everything it registered."""

    config: dict[str, Any]
    stack: str = "prod-cn-north-1"
    #: Simulate the first `pulumi preview` of a new stack: computed outputs are unknown.
    first_preview: bool = False
    registrations: list[Registration] = field(default_factory=list)
    #: URNs of the components that called register_outputs.
    outputs_registered: set[str] = field(default_factory=set)

    @classmethod
    def install(
        cls, config: dict[str, Any], stack: str = "prod-cn-north-1", *, first_preview: bool = False
    ) -> MockCloud:
        """Point the Pulumi runtime at fresh mocks with this config (call before declaring anything)."""
        cloud = cls(config=dict(config), stack=stack, first_preview=first_preview)
        mocks = AwsChinaMocks(cloud)
        pulumi.runtime.set_mocks(
            mocks, project=PROJECT, stack=stack, preview=first_preview, monitor=CapturingMonitor(mocks)
        )
        pulumi.runtime.set_all_config(
            {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}
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
        if provider_ref:
            urn = provider_ref.rsplit("::", 1)[0]
            for reg in self.registrations:
                if reg.urn == urn:
                    return reg.inputs.get("region")
        region = self.config.get("aws:region")
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
    overlaid by Pulumi.<stack>.yaml."""
    import yaml

    project = yaml.safe_load((REPO / "Pulumi.yaml").read_text())
    config: dict[str, Any] = {}
    for key, value in (project.get("config") or {}).items():
        if isinstance(value, dict) and "value" in value:
            config[key] = value["value"]
        elif isinstance(value, dict) and "default" in value:
            config[key if ":" in key else f"{PROJECT}:{key}"] = value["default"]
    stack_file = yaml.safe_load((REPO / f"Pulumi.{stack}.yaml").read_text())
    config.update(stack_file.get("config") or {})
    return config
