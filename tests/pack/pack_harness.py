"""Run the policy pack the way the Pulumi CLI does, and talk to it with the SDK's gRPC stubs.

The CLI starts a Python pack as `python -u -m pulumi.policy <engine-address> .` in the pack folder,
with PULUMI_CONFIG, PULUMI_PROJECT, PULUMI_STACK and PULUMI_DRY_RUN set, and reads the port the pack
listens on from the first line of its stdout. `PackProcess` does exactly that; `FakeEngine` answers
at <engine-address> (the SDK only logs there). Requests are built with `pulumi.runtime.proto`.

`analyze` and `analyze_stack` fail the test when a diagnostic comes from a rule that raised: the pack
reports such a rule as a finding of that rule (fail closed), which must never pass for "the rule fired".
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterable, Mapping
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2, struct_pb2
from honesty import no_crash
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc, engine_pb2_grpc

ROOT = Path(__file__).resolve().parents[2]
PACK_DIR = ROOT / "policies"
EXAMPLES = PACK_DIR / "examples"
START_TIMEOUT = 60.0

MANDATORY = analyzer_pb2.MANDATORY
ADVISORY = analyzer_pb2.ADVISORY


class _Engine(engine_pb2_grpc.EngineServicer):
    def __init__(self) -> None:
        self.logs: list[tuple[int, str]] = []

    def Log(self, request: Any, context: Any) -> Any:  # noqa: N802 - gRPC method name
        self.logs.append((request.severity, request.message))
        return empty_pb2.Empty()

    def GetRootResource(self, request: Any, context: Any) -> Any:  # noqa: N802
        from pulumi.runtime.proto import engine_pb2

        return engine_pb2.GetRootResourceResponse(urn="")

    def SetRootResource(self, request: Any, context: Any) -> Any:  # noqa: N802
        from pulumi.runtime.proto import engine_pb2

        return engine_pb2.SetRootResourceResponse()


class FakeEngine:
    """The engine's gRPC service at the address the CLI passes to the pack (Log and root resource)."""

    def __init__(self) -> None:
        self.servicer = _Engine()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        engine_pb2_grpc.add_EngineServicer_to_server(self.servicer, self.server)
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.stop(0)


class PackProcess:
    """`python -u -m pulumi.policy <engine> .` in policies/, exactly as the CLI launches a pack."""

    def __init__(
        self,
        engine: FakeEngine,
        *,
        dry_run: bool,
        config: Mapping[str, str] | None = None,
        project: str = "pushauction-data",
        stack: str = "prod",
    ) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
        env.update(
            {
                "PULUMI_CONFIG": json.dumps(dict(config or {"aws:region": "cn-north-1"})),
                "PULUMI_PROJECT": project,
                "PULUMI_STACK": stack,
                "PULUMI_DRY_RUN": "true" if dry_run else "false",
            }
        )
        # Not the repository on PYTHONPATH: the pack must find its own package, as under the CLI.
        env.pop("PYTHONPATH", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-u", "-m", "pulumi.policy", engine.address, "."],
            cwd=PACK_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.port = self._read_port()
        self.channel = grpc.insecure_channel(
            f"127.0.0.1:{self.port}", options=[("grpc.max_receive_message_length", 400 * 1024 * 1024)]
        )
        grpc.channel_ready_future(self.channel).result(timeout=START_TIMEOUT)
        self.stub = analyzer_pb2_grpc.AnalyzerStub(self.channel)

    def _read_port(self) -> int:
        line: list[bytes] = []

        def read() -> None:
            line.append(self.proc.stdout.readline())

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(START_TIMEOUT)
        first = line[0].strip() if line else b""
        if not first.isdigit():
            self.proc.kill()
            _, err = self.proc.communicate(timeout=10)
            raise RuntimeError(f"the pack printed {first!r} instead of its port; stderr:\n{err.decode()}")
        return int(first)

    def stop(self) -> str:
        self.channel.close()
        self.proc.terminate()
        try:
            _, err = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return err.decode(errors="replace")

    # -- the Analyzer service ----------------------------------------------------------------------

    def info(self) -> Any:
        return self.stub.GetAnalyzerInfo(empty_pb2.Empty())

    def plugin_info(self) -> Any:
        return self.stub.GetPluginInfo(empty_pb2.Empty())

    def configure(self, config: Mapping[str, Any] | None = None) -> None:
        """What the CLI sends for --policy-pack-config: every policy's level, plus given properties."""
        self.stub.Configure(configure_request(self.info(), config or {}))

    def configure_stack(self, *, dry_run: bool, config: Mapping[str, str] | None = None) -> None:
        request = analyzer_pb2.AnalyzerStackConfigureRequest(
            stack="prod", project="pushauction-data", organization="pushauction", dry_run=dry_run
        )
        for key, value in (config or {}).items():
            request.config[key] = value
        self.stub.ConfigureStack(request)

    def analyze(self, request: Any) -> list[Any]:
        return no_crash(list(self.stub.Analyze(request).diagnostics))

    def analyze_stack(self, request: Any) -> list[Any]:
        return no_crash(list(self.stub.AnalyzeStack(request).diagnostics))


# -- requests ------------------------------------------------------------------------------------------


_LEVELS = {
    "advisory": analyzer_pb2.ADVISORY,
    "mandatory": analyzer_pb2.MANDATORY,
    "disabled": analyzer_pb2.DISABLED,
}


def configure_request(info: Any, config: Mapping[str, Any]) -> Any:
    """ConfigureAnalyzerRequest as the CLI reconciles it: defaults, then `all`, then each policy."""
    request = analyzer_pb2.ConfigureAnalyzerRequest()
    everyone = config.get("all")
    for policy in info.policies:
        entry = analyzer_pb2.PolicyConfig(enforcementLevel=policy.enforcementLevel)
        if isinstance(everyone, str):
            entry.enforcementLevel = _LEVELS[everyone]
        given = config.get(policy.name)
        if isinstance(given, str):
            entry.enforcementLevel = _LEVELS[given]
        elif isinstance(given, dict):
            props = dict(given)
            level = props.pop("enforcementLevel", None)
            if level is not None:
                entry.enforcementLevel = _LEVELS[level]
            entry.properties.update(props)
        request.policyConfig[policy.name].CopyFrom(entry)
    return request


def struct(value: Mapping[str, Any] | None) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    if value:
        out.update(dict(value))
    return out


def provider_message(state: Mapping[str, Any]) -> Any:
    return analyzer_pb2.AnalyzerProviderResource(
        type=state["type"],
        urn=state["urn"],
        name=state["urn"].rsplit("::", 1)[-1],
        properties=struct(state.get("inputs")),
    )


def _provider_urn(ref: str | None) -> str | None:
    # A provider reference is "<provider urn>::<provider id>".
    return ref.rsplit("::", 1)[0] if ref else None


def preview_states(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each step's new state (what the engine registers), with the step's provider reference."""
    states = []
    for step in doc["steps"]:
        state = dict(step.get("newState") or step.get("oldState") or {})
        if not state:
            continue
        state.setdefault("provider", step.get("provider"))
        states.append(state)
    return states


def analyze_requests(states: Iterable[Mapping[str, Any]]) -> list[Any]:
    """One AnalyzeRequest per resource: its inputs and its provider's inputs, as the engine sends."""
    states = list(states)
    by_urn = {s["urn"]: s for s in states}
    requests = []
    for s in states:
        request = analyzer_pb2.AnalyzeRequest(
            type=s["type"],
            urn=s["urn"],
            name=s["urn"].rsplit("::", 1)[-1],
            properties=struct(s.get("inputs")),
            options=analyzer_pb2.AnalyzerResourceOptions(parent=s.get("parent") or ""),
        )
        provider = by_urn.get(_provider_urn(s.get("provider")) or "")
        if provider is not None:
            request.provider.CopyFrom(provider_message(provider))
        requests.append(request)
    return requests


def analyze_stack_request(states: Iterable[Mapping[str, Any]]) -> Any:
    """AnalyzeStackRequest: every resource's outputs, provider, parent and dependencies."""
    states = list(states)
    by_urn = {s["urn"]: s for s in states}
    request = analyzer_pb2.AnalyzeStackRequest()
    for s in states:
        resource = request.resources.add(
            type=s["type"],
            urn=s["urn"],
            name=s["urn"].rsplit("::", 1)[-1],
            properties=struct(s.get("outputs") or s.get("inputs")),
            parent=s.get("parent") or "",
            dependencies=list(s.get("dependencies") or ()),
        )
        for key, urns in (s.get("propertyDependencies") or {}).items():
            resource.propertyDependencies[key].urns.extend(urns)
        provider = by_urn.get(_provider_urn(s.get("provider")) or "")
        if provider is not None:
            resource.provider.CopyFrom(provider_message(provider))
    return request


def load_example(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / name).read_text())


def run_preview(pack: PackProcess, doc: Mapping[str, Any]) -> list[Any]:
    """Every diagnostic a `pulumi preview` of this stack would show: Analyze each, then AnalyzeStack."""
    states = preview_states(doc)
    diagnostics: list[Any] = []
    for request in analyze_requests(states):
        for d in pack.analyze(request):
            # The engine files a resource diagnostic under the analyzed resource.
            diagnostics.append((d, d.urn or request.urn))
    for d in pack.analyze_stack(analyze_stack_request(states)):
        diagnostics.append((d, d.urn))
    return diagnostics


def summary(diagnostics: Iterable[tuple[Any, str]]) -> set[tuple[str, str, str]]:
    names = {analyzer_pb2.ADVISORY: "advisory", analyzer_pb2.MANDATORY: "mandatory"}
    return {
        (d.policyName, urn, names.get(d.enforcementLevel, str(d.enforcementLevel))) for d, urn in diagnostics
    }
