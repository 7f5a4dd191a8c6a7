"""End to end: a Pulumi program under the SDK's mock runtime, every registration fed to the pack.

The program registers raw `pulumi.CustomResource`s with an explicit `pulumi.ProviderResource("aws")`
(no pulumi_aws needed). A capturing mock monitor records each RegisterResource request as the engine
receives it (wire-format inputs, provider reference, property dependencies); those become the
Analyze and AnalyzeStack requests the engine would send to the running pack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pytest
from pack_harness import MANDATORY, load_example, preview_states
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.proto import analyzer_pb2


@dataclass
class Registration:
    type: str
    name: str
    urn: str
    provider: str
    parent: str
    properties: Any
    dependencies: list[str]
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)


class EchoMocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        outputs = dict(args.inputs)
        if args.typ == "aws:kms/key:Key":
            outputs["arn"] = f"arn:aws-cn:kms:cn-north-1:123456789012:key/{args.name}"
        if args.typ.startswith("aws:s3/bucketV2:"):
            outputs.setdefault("bucket", args.name)
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


class CapturingMonitor(pulumi_mocks.MockMonitor):
    """The mock engine's monitor, keeping every registration the program makes."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)
        if request.custom:
            self.registrations.append(
                Registration(
                    type=request.type,
                    name=request.name,
                    urn=response.urn,
                    provider=request.provider,
                    parent=request.parent,
                    properties=request.object,
                    dependencies=list(request.dependencies),
                    property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
                )
            )
        return response


def run_program(program) -> list[Registration]:
    monitor = CapturingMonitor(EchoMocks())
    pulumi.runtime.set_mocks(
        EchoMocks(), project="pushauction-data", stack="prod", preview=False, monitor=monitor
    )
    pulumi.runtime.test(program)()
    return monitor.registrations


def _provider_urn(ref: str) -> str:
    return ref.rsplit("::", 1)[0] if ref else ""


def _provider_message(by_urn: dict[str, Registration], ref: str) -> Any:
    provider = by_urn.get(_provider_urn(ref))
    if provider is None:
        return None
    return analyzer_pb2.AnalyzerProviderResource(
        type=provider.type, urn=provider.urn, name=provider.name, properties=provider.properties
    )


def feed(pack, registrations: list[Registration]) -> list[tuple[Any, str]]:
    """Analyze each registration (inputs + provider), then AnalyzeStack all, as the engine does."""
    by_urn = {r.urn: r for r in registrations}
    out: list[tuple[Any, str]] = []
    stack_request = analyzer_pb2.AnalyzeStackRequest()
    for r in registrations:
        request = analyzer_pb2.AnalyzeRequest(type=r.type, urn=r.urn, name=r.name, properties=r.properties)
        provider = _provider_message(by_urn, r.provider)
        if provider is not None:
            request.provider.CopyFrom(provider)
        out.extend((d, r.urn) for d in pack.analyze(request))
        resource = stack_request.resources.add(
            type=r.type,
            urn=r.urn,
            name=r.name,
            properties=r.properties,
            parent=r.parent,
            dependencies=r.dependencies,
        )
        for key, urns in r.property_dependencies.items():
            resource.propertyDependencies[key].urns.extend(urns)
        if provider is not None:
            resource.provider.CopyFrom(provider)
    out.extend((d, d.urn) for d in pack.analyze_stack(stack_request))
    return out


def replay(example: str):
    """A program that registers every resource of a bundled example, with its explicit provider."""
    states = [s for s in preview_states(load_example(example)) if s.get("custom", True)]

    def program() -> None:
        providers: dict[str, pulumi.ProviderResource] = {}
        for s in states:
            if s["type"] == "pulumi:providers:aws":
                name = s["urn"].rsplit("::", 1)[-1]
                providers[s["urn"]] = pulumi.ProviderResource("aws", name, dict(s["inputs"]))
        for s in states:
            if s["type"].startswith("pulumi:providers:"):
                continue
            provider = providers.get(_provider_urn(s.get("provider") or ""))
            pulumi.CustomResource(
                s["type"],
                s["urn"].rsplit("::", 1)[-1],
                dict(s["inputs"]),
                opts=pulumi.ResourceOptions(provider=provider),
            )

    return program


def test_replayed_reference_program_passes(preview_pack):
    registrations = run_program(replay("reference-compliant-preview.json"))
    assert any(r.type == "pulumi:providers:aws" for r in registrations)
    assert all(r.provider for r in registrations if not r.type.startswith("pulumi:providers:"))
    assert feed(preview_pack, registrations) == []


def test_replayed_global_template_is_blocked(preview_pack):
    registrations = run_program(replay("global-template-preview.json"))
    diagnostics = feed(preview_pack, registrations)
    mandatory: dict[tuple[str, str], str] = {}
    for d, urn in diagnostics:
        if d.enforcementLevel == MANDATORY:
            key = (d.policyName, urn.rsplit("::", 1)[-1])
            mandatory[key] = mandatory.get(key, "") + d.message + "\n"
    assert "AWS provider 'global' targets us-west-2" in mandatory[("RES-002", "global")]
    assert "Bucket 'crash-dumps' is in us-west-2" in mandatory[("RES-001", "crash-dumps")]
    assert "uses sseAlgorithm 'AES256'" in mandatory[("ENC-001", "crash-dumps")]


def _program_with_outputs(region: str, algorithm: str):
    """A hand-written program whose side resources take the bucket and key from outputs."""

    def program():
        china = pulumi.ProviderResource("aws", "china", {"region": region})
        opts = pulumi.ResourceOptions(provider=china)
        key = pulumi.CustomResource(
            "aws:kms/key:Key", "data-key", {"enableKeyRotation": True, "arn": None}, opts=opts
        )
        bucket = pulumi.CustomResource(
            "aws:s3/bucketV2:BucketV2",
            "user-uploads",
            {"bucket": "pushauction-prod-user-uploads", "tags": {"data-category": "user-uploads"}},
            opts=opts,
        )
        pulumi.CustomResource(
            "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
            "user-uploads-sse",
            {
                "bucket": bucket.bucket,
                "rules": [
                    {
                        "applyServerSideEncryptionByDefault": {
                            "sseAlgorithm": algorithm,
                            "kmsMasterKeyId": key.arn,
                        },
                        "bucketKeyEnabled": True,
                    }
                ],
            },
            opts=opts,
        )
        return bucket.urn

    return program


@pytest.mark.parametrize(
    ("region", "algorithm", "expected"),
    [
        ("cn-north-1", "aws:kms", {}),
        ("cn-north-1", "AES256", {"ENC-001": "BucketV2 'user-uploads' uses sseAlgorithm 'AES256'"}),
        # The mock key ARN says cn-north-1: a us-west-2 bucket is also encrypted with a key elsewhere.
        (
            "us-west-2",
            "aws:kms",
            {
                "RES-001": "BucketV2 'user-uploads' is in us-west-2",
                "RES-002": "AWS provider 'china' targets us-west-2",
                "ENC-001": "is in us-west-2 but its default encryption key",
            },
        ),
    ],
)
def test_program_with_output_dependencies(preview_pack, region, algorithm, expected):
    registrations = run_program(_program_with_outputs(region, algorithm))
    sse = next(r for r in registrations if r.name == "user-uploads-sse")
    assert sse.property_dependencies.get("bucket"), "the side resource depends on the bucket's output"
    diagnostics = feed(preview_pack, registrations)
    mandatory: dict[str, list[str]] = {}
    for d, _ in diagnostics:
        if d.enforcementLevel == MANDATORY:
            mandatory.setdefault(d.policyName, []).append(d.message)
    # The program has no public-access block, bucket policy or trail: only these rules are in question.
    assert set(mandatory) & {"ENC-001", "RES-001", "RES-002"} == set(expected)
    for rule, says in expected.items():
        assert any(says in m for m in mandatory[rule]), mandatory[rule]
