"""The CrossGuard policy pack: the rule registry served to `pulumi preview` / `pulumi up`.

An adapter, not a second rule set: every registered rule becomes one CrossGuard policy whose
validation converts what the engine sends (`policies.sources.analyzer`) into the normalized model and
runs that rule through `policies.engine.evaluate`, with the catalogue's settings. Rule metadata
carries over: title, severity, remediation, and the privacy-policy controls as the compliance
framework.

Resource or stack policy, per rule. A `ResourceValidationPolicy` runs as each resource is registered
and blocks it before it is created; a `StackValidationPolicy` runs once every resource is registered
(in `pulumi up`'s preview, so still before anything is created). A rule is a resource policy when it
needs only the resource and its provider; the rules in `STACK_RULES` join other resources, and say
which, so they must see the whole stack.

Three things the SDK's public surface cannot express are added by extending its analyzer servicer
(`install_analyzer`): pack-wide settings from `--policy-pack-config` (`residency-settings`, see
`policies.pack_config`), an enforcement level per severity, and a second level per diagnostic so that
a value unknown until apply is reported as advisory during a preview, whatever the rule's level.
Without the extension the pack still works and fails closed (unknowns at the rule's level).

This module imports pulumi_policy and grpc: nothing on the `residency check` path imports it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from policies.catalog import Catalog
from policies.check import settings_for
from policies.engine import evaluate
from policies.errors import InputError
from policies.model import Finding
from policies.pack_config import (
    SETTINGS_POLICY,
    SETTINGS_SCHEMA,
    PackSettings,
    default_level,
    parse_settings_config,
)
from policies.registry import Rule, all_rules
from policies.settings import Settings
from policies.sources import analyzer

PACK_NAME = "residency"
README = Path(__file__).with_name("PACK.md")
#: The prefix of a finding that needs a value the preview does not know yet.
UNKNOWN_PREFIX = "cannot check until apply: "

#: Rules that read other resources than the one checked and its provider, and what they join.
#: Every other rule runs per resource; `tests/pack` proves those give the same findings alone.
STACK_RULES: dict[str, str] = {
    "ACC-001": "a bucket's public-access-block side resource and the account-level block",
    "ACC-002": "a bucket's ACL and ownership-controls side resources",
    "ACC-003": "bucket policies and other policy resources, joined to what they protect",
    "ACC-004": "policy attachments, resolved to the IAM policies of the stack",
    "AUD-001": "a bucket's logging side resource and the bucket it logs to",
    "AUD-002": "CloudTrail trails, whose data-event selectors must cover each personal-data bucket",
    "AUD-003": "an audit bucket's lifecycle, object lock and policy side resources",
    "ENC-001": "a bucket's encryption side resource and the KMS key it names",
    "ENC-002": "the KMS key a data store names (its region, whether customer-managed)",
    "TLS-001": "a bucket's policy side resource",
    "TLS-002": "a database's parameter group",
    "TLS-003": "a listener's load balancer",
    "RES-003": "replication and copy destinations (other buckets, tables, streams, keys)",
    "RET-001": "a bucket's lifecycle side resource",
    "RET-002": "a bucket's lifecycle and versioning side resources",
}


def is_stack_rule(rule_id: str) -> bool:
    return rule_id in STACK_RULES


# -- run-time state -------------------------------------------------------------------------------------


@dataclass
class PackRuntime:
    """What the policies read at run time: settings, stack config, preview or apply."""

    catalog: Catalog
    base_settings: Settings
    rules: dict[str, Rule]
    pack: PackSettings
    stack_config: dict[str, Any] = field(default_factory=dict)
    #: Set by ConfigureStack when the engine says; otherwise PULUMI_DRY_RUN decides.
    configured_dry_run: bool | None = None
    _call: threading.local = field(default_factory=threading.local)

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None) -> PackRuntime:
        catalog, settings = settings_for(None)
        rules = dict(all_rules())
        return cls(
            catalog=catalog,
            base_settings=settings,
            rules=rules,
            pack=parse_settings_config({}, settings, set(rules)),
            stack_config=analyzer.stack_config_from_env(environ),
        )

    @property
    def settings(self) -> Settings:
        return self.pack.settings

    @property
    def dry_run(self) -> bool:
        """A preview? Unset means an update: unknown values are then not forgiven (fail closed)."""
        if self.configured_dry_run is not None:
            return self.configured_dry_run
        return os.environ.get("PULUMI_DRY_RUN", "").lower() == "true"

    def configure(self, settings_config: Mapping[str, Any] | None) -> None:
        """Apply `residency-settings` from --policy-pack-config; `InputError` names the bad key."""
        self.pack = parse_settings_config(settings_config, self.base_settings, set(self.rules))

    def configure_stack(self, *, stack: str, dry_run: bool, config: Mapping[str, str]) -> None:
        if stack:
            # Engines that send the stack's name also send whether this is a preview.
            self.configured_dry_run = dry_run
        if config:
            self.stack_config = analyzer.stack_config(config)

    def level(self, rule_id: str, configured: str) -> str:
        """The level a rule runs at, given the level CrossGuard config gave it.

        The CLI sends every policy a level: its default unless `--policy-pack-config` names it (or
        `all`). A level other than the default was set on purpose and wins; otherwise
        `ruleEnforcement`, then `severityEnforcement` of `residency-settings` decide.
        """
        rule = self.rules.get(rule_id)
        if rule is None:
            return configured
        explicit = self.pack.rule_enforcement.get(rule_id)
        if explicit is not None:
            return explicit
        if configured != default_level(rule.severity):
            return configured
        return self.pack.level_for(rule_id, rule.severity)

    # One Analyze or AnalyzeStack call runs every policy on the same request: convert it once.
    @contextmanager
    def call(self) -> Iterator[None]:
        self._call.cache = {}
        try:
            yield
        finally:
            self._call.cache = None

    def cached(self, key: str, build: Callable[[], Any]) -> Any:
        cache = getattr(self._call, "cache", None)
        if cache is None:
            return build()
        if key not in cache:
            cache[key] = build()
        return cache[key]


# -- policies -------------------------------------------------------------------------------------------


def report_findings(runtime: PackRuntime, findings: list[Finding], report: Any, *, stack_level: bool) -> None:
    """Findings -> CrossGuard violations. Unknown-until-apply is advisory in a preview, never a pass."""
    preview = runtime.dry_run
    for f in findings:
        message = f.message
        level_report = report
        if f.unknown:
            if preview:
                message = UNKNOWN_PREFIX + message
                level_report = getattr(report, "advisory", report)
            else:
                message = f"not known even at apply, so treated as non-compliant: {message}"
        level_report(message, f.urn if stack_level else None)


def resource_validation(runtime: PackRuntime, rule: Rule) -> Callable[[Any, Any], None]:
    types = rule.types

    def validate(args: Any, report: Any) -> None:
        if types is not None and args.resource_type not in types:
            return
        res, stack = runtime.cached(
            "resource", lambda: analyzer.resource_stack(args, runtime.settings, runtime.stack_config)
        )
        if not res.custom:
            return
        report_findings(runtime, evaluate(stack, [rule]).findings, report, stack_level=False)

    return validate


def stack_validation(runtime: PackRuntime, rule: Rule) -> Callable[[Any, Any], None]:
    def validate(args: Any, report: Any) -> None:
        stack = runtime.cached(
            "stack", lambda: analyzer.stack_from_args(args.resources, runtime.settings, runtime.stack_config)
        )
        report_findings(runtime, evaluate(stack, [rule]).findings, report, stack_level=True)

    return validate


def _ignore(_args: Any, _report: Any) -> None:
    """`residency-settings` only carries configuration; the rules read it."""


def build_policies(runtime: PackRuntime) -> list[Any]:
    """One CrossGuard policy per registered rule, plus `residency-settings` for pack-wide config."""
    from pulumi_policy import (
        EnforcementLevel,
        PolicyComplianceFramework,
        PolicyConfigSchema,
        ResourceValidationPolicy,
        Severity,
        StackValidationPolicy,
    )

    controls = {c.id: c for c in runtime.catalog.controls}
    policies: list[Any] = []
    for rule in sorted(runtime.rules.values(), key=lambda r: r.id):
        control_ids = list(runtime.base_settings.rule_controls.get(rule.id, ()))
        framework = PolicyComplianceFramework(
            name=runtime.catalog.policy.title,
            reference=", ".join(control_ids),
            specification="; ".join(f"{c}: {controls[c].title}" for c in control_ids if c in controls),
        )
        common: dict[str, Any] = {
            "name": rule.id,
            "description": rule.title,
            "enforcement_level": EnforcementLevel(default_level(rule.severity)),
            "display_name": f"{rule.id} {rule.title}",
            "severity": Severity(rule.severity.value),
            "framework": framework,
            "tags": [*control_ids, "stack" if is_stack_rule(rule.id) else "resource"],
            "remediation_steps": rule.remediation,
        }
        if is_stack_rule(rule.id):
            policies.append(StackValidationPolicy(validate=stack_validation(runtime, rule), **common))
        else:
            policies.append(ResourceValidationPolicy(validate=resource_validation(runtime, rule), **common))
    policies.append(
        ResourceValidationPolicy(
            name=SETTINGS_POLICY,
            description=(
                "Pack-wide settings for the residency rules: allowed regions, enforcement by severity "
                "or rule id, retention by data category. Reports nothing itself."
            ),
            validate=_ignore,
            enforcement_level=EnforcementLevel.ADVISORY,
            config_schema=PolicyConfigSchema(properties=SETTINGS_SCHEMA),
            display_name="Residency pack settings",
        )
    )
    return policies


# -- the analyzer servicer -----------------------------------------------------------------------------


class LeveledReport:
    """`report_violation` at the policy's level, with `.advisory` for unknown-until-apply findings."""

    __slots__ = ("_report", "advisory")

    def __init__(self, report: Callable[..., None], advisory: Callable[..., None]) -> None:
        self._report = report
        self.advisory = advisory

    def __call__(self, message: str, urn: str | None = None) -> None:
        self._report(message, urn)


def install_analyzer(runtime: PackRuntime) -> type:
    """Extend the SDK's analyzer servicer (`PolicyPack` serves whatever class this installs).

    The SDK keeps the servicer private. What is used of it (`_PolicyAnalyzerServicer`, its
    `__policies` and `__stack_tags`, `_configure_runtime_settings`, `_get_enforcement_level`,
    `_get_policy_config`, `_get_resource_options`, `_get_provider_resource`,
    `_create_report_violation`) exists in pulumi-policy 1.13 to 1.21; `REQUIRED_SDK_HOOKS` is
    checked here and in `tests/pack`, so an upgrade that removes one fails loudly, not silently.

    Analyze and AnalyzeStack are the SDK's loops with one change: the request is decoded once per
    call, not once per policy (the SDK re-decodes every resource for each of the 25 policies, which
    alone costs more than the 1 s budget for a 1k-resource AnalyzeStack).
    """
    import grpc
    from google.protobuf import json_format
    from pulumi.runtime import proto
    from pulumi_policy import (
        EnforcementLevel,
        PolicyResource,
        ResourceValidationArgs,
        ResourceValidationPolicy,
        StackValidationArgs,
        StackValidationPolicy,
    )
    from pulumi_policy import policy as sdk
    from pulumi_policy.deserialize import deserialize_properties
    from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

    base = sdk._PolicyAnalyzerServicer
    if getattr(base, "residency_runtime", None) is not None:
        base = base.__bases__[0]
    missing = [hook for hook in REQUIRED_SDK_HOOKS if not hasattr(base, hook)]
    if missing:
        raise RuntimeError(
            f"pulumi-policy's analyzer servicer lacks {', '.join(missing)}; pin pulumi-policy<2"
        )

    def decode(struct: Any) -> Any:
        return unknown_checking_proxy(deserialize_properties(json_format.MessageToDict(struct)))

    class ResidencyAnalyzer(base):  # type: ignore[misc, valid-type]
        residency_runtime = runtime

        # -- configuration -----------------------------------------------------------------------

        def Configure(self, request: Any, context: Any) -> Any:  # noqa: N802 - gRPC method name
            raw = None
            if SETTINGS_POLICY in request.policyConfig:
                # Struct numbers are doubles: plain() reads 200.0 back as the 200 the file said.
                raw = analyzer.plain(
                    json_format.MessageToDict(request.policyConfig[SETTINGS_POLICY].properties)
                )
            try:
                runtime.configure(raw)
            except InputError as exc:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
            self._levels = {}
            return super().Configure(request, context)

        def ConfigureStack(self, request: Any, context: Any) -> Any:  # noqa: N802
            runtime.configure_stack(stack=request.stack, dry_run=request.dry_run, config=dict(request.config))
            return super().ConfigureStack(request, context)

        def _get_enforcement_level(self, policy: Any) -> Any:
            levels = self.__dict__.setdefault("_levels", {})
            level = levels.get(policy.name)
            if level is None:
                configured = super()._get_enforcement_level(policy)
                level = levels[policy.name] = EnforcementLevel(runtime.level(policy.name, configured.value))
            return level

        def _create_report_violation(
            self, response: Any, name: str, description: str, level: Any, severity: Any = None
        ) -> Any:
            report = super()._create_report_violation(response, name, description, level, severity)
            advisory = super()._create_report_violation(
                response, name, description, EnforcementLevel.ADVISORY, severity
            )
            return LeveledReport(report, advisory)

        # -- analysis ------------------------------------------------------------------------------

        def _policies(self, kind: type) -> Iterator[tuple[Any, Any]]:
            for policy in self._PolicyAnalyzerServicer__policies:
                if not isinstance(policy, kind):
                    continue
                level = self._get_enforcement_level(policy)
                if level == EnforcementLevel.DISABLED:
                    continue
                if level == EnforcementLevel.REMEDIATE:
                    level = EnforcementLevel.MANDATORY
                yield policy, level

        def _run(self, policy: Any, args: Any, report: Any, response: Any) -> None:
            try:
                result = policy.validate(args, report)
                if result is not None and hasattr(result, "__await__"):
                    import asyncio

                    asyncio.run(result)
            except UnknownValueError as exc:
                response.diagnostics.append(
                    proto.AnalyzeDiagnostic(
                        policyName=policy.name,
                        policyPackName=PACK_NAME,
                        message=f"can't run policy '{policy.name}' during preview: {exc.message}",
                        description=policy.description,
                        enforcementLevel=proto.ADVISORY,
                    )
                )
            except sdk._NotApplicableError as exc:
                response.not_applicable.append(
                    proto.PolicyNotApplicable(policy_name=policy.name, reason=exc.reason or "")
                )

        def Analyze(self, request: Any, context: Any) -> Any:  # noqa: N802
            self._configure_runtime_settings()
            response = proto.AnalyzeResponse()
            props = decode(request.properties)
            opts = self._get_resource_options(request)
            provider = self._get_provider_resource(request)
            tags = self._PolicyAnalyzerServicer__stack_tags
            with runtime.call():
                for policy, level in self._policies(ResourceValidationPolicy):
                    if not policy.has_validation():
                        continue
                    report = self._create_report_violation(
                        response, policy.name, policy.description, level, policy.severity
                    )
                    args = ResourceValidationArgs(
                        request.type,
                        props,
                        request.urn,
                        request.name,
                        opts,
                        provider,
                        self._get_policy_config(policy.name),
                        tags,
                    )
                    self._run(policy, args, report, response)
            return response

        def AnalyzeStack(self, request: Any, context: Any) -> Any:  # noqa: N802
            self._configure_runtime_settings()
            response = proto.AnalyzeResponse()
            policies = list(self._policies(StackValidationPolicy))
            if not policies:
                return response
            resources = self._stack_resources(request)
            tags = self._PolicyAnalyzerServicer__stack_tags
            with runtime.call():
                for policy, level in policies:
                    report = self._create_report_violation(
                        response, policy.name, policy.description, level, policy.severity
                    )
                    args = StackValidationArgs(resources, self._get_policy_config(policy.name), tags)
                    self._run(policy, args, report, response)
            return response

        def _stack_resources(self, request: Any) -> list[Any]:
            providers: dict[str, Any] = {}
            built: list[tuple[Any, Any]] = []
            for r in request.resources:
                provider = None
                if r.HasField("provider"):
                    provider = providers.get(r.provider.urn)
                    if provider is None:
                        provider = providers[r.provider.urn] = self._get_provider_resource(r)
                resource = PolicyResource(
                    r.type,
                    decode(r.properties),
                    r.urn,
                    r.name,
                    self._get_resource_options(r),
                    provider,
                    None,
                    [],
                    {},
                )
                built.append((resource, r))
            by_urn = {resource.urn: resource for resource, _ in built}
            for resource, r in built:
                resource.parent = by_urn.get(r.parent) if r.parent else None
                resource.dependencies = [by_urn[d] for d in r.dependencies if d in by_urn]
                resource.property_dependencies = {
                    k: [by_urn[d] for d in v.urns if d in by_urn] for k, v in r.propertyDependencies.items()
                }
            return [resource for resource, _ in built]

    sdk._PolicyAnalyzerServicer = ResidencyAnalyzer
    return ResidencyAnalyzer


#: What `install_analyzer` uses of the SDK's private servicer class.
REQUIRED_SDK_HOOKS = (
    "Configure",
    "ConfigureStack",
    "_configure_runtime_settings",
    "_get_enforcement_level",
    "_get_policy_config",
    "_get_resource_options",
    "_get_provider_resource",
    "_create_report_violation",
)


def main() -> None:
    """Serve the pack: print the port on stdout and block (the CLI's plugin protocol)."""
    from pulumi_policy import EnforcementLevel, PolicyPack

    runtime = PackRuntime.load()
    policies = build_policies(runtime)
    install_analyzer(runtime)
    PolicyPack(
        name=PACK_NAME,
        policies=policies,
        enforcement_level=EnforcementLevel.ADVISORY,
        description=(
            "PUSHAUCTION privacy policy as code: personal data collected in mainland China stays in "
            "AWS China, encrypted, private, audited and kept no longer than its category allows."
        ),
        display_name="PUSHAUCTION data residency",
        readme=README.read_text(encoding="utf-8") if README.is_file() else None,
        provider="aws",
        tags=["aws-cn", "data-residency", "privacy"],
    )
