"""The policy pack over the real analyzer protocol, started exactly as the Pulumi CLI starts it.

Each module starts the pack once per mode (`python -u -m pulumi.policy <engine> .` in policies/,
PULUMI_DRY_RUN true or false) and calls GetAnalyzerInfo, Configure, ConfigureStack, Analyze and
AnalyzeStack with the stubs in `pulumi.runtime.proto`. The bundled examples are sent as the engine
would send them: each resource's inputs with its provider to Analyze, every output to AnalyzeStack.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from typing import Any

import grpc
import pytest
from honesty import no_crash
from pack_harness import (
    ADVISORY,
    MANDATORY,
    ROOT,
    analyze_requests,
    analyze_stack_request,
    load_example,
    preview_states,
    run_preview,
    summary,
)
from pulumi.runtime.proto import analyzer_pb2

from policies.check import settings_for
from policies.engine import evaluate
from policies.model import UNKNOWN_SENTINEL, Severity
from policies.pack import STACK_RULES
from policies.pack_config import SETTINGS_POLICY, default_level
from policies.registry import all_rules
from policies.sources import stack_from_document

COMPLIANT = "reference-compliant-preview.json"
TEMPLATE = "global-template-preview.json"
PROVIDER = "urn:pulumi:prod::pushauction-data::pulumi:providers:aws::china"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
SIG = "4dabf18193072939515e22adb298388d"


def _check_path(name: str) -> set[tuple[str, str, str]]:
    """What `residency check` finds in the same file (rule, resource, message): the pack must say this."""
    _, settings = settings_for(None)
    stack = stack_from_document(load_example(name), name, settings)
    return {(f.rule, f.urn, f.message) for f in no_crash(evaluate(stack)).findings}


def _levels(diagnostics: list[tuple[Any, str]], policy: str) -> set[int]:
    return {d.enforcementLevel for d, _ in diagnostics if d.policyName == policy}


@pytest.fixture
def configured(preview_pack):
    """Configure the preview pack for one test, and put the defaults back afterwards."""

    def apply(config: dict[str, Any]) -> None:
        preview_pack.configure(config)

    yield apply
    preview_pack.configure({})


# -- start-up and metadata ----------------------------------------------------------------------------


def test_pack_serves_every_rule_with_its_metadata(preview_pack):
    info = preview_pack.info()
    rules = all_rules()
    assert info.name == "residency"
    assert info.supportsConfig
    policies = {p.name: p for p in info.policies}
    assert set(policies) == {*rules, SETTINGS_POLICY}
    for rule in rules.values():
        policy = policies[rule.id]
        assert policy.description == rule.title
        assert policy.remediation_steps == rule.remediation
        assert policy.severity == analyzer_pb2.PolicySeverity.Value(f"POLICY_SEVERITY_{rule.severity.name}")
        expected_level = MANDATORY if default_level(rule.severity) == "mandatory" else ADVISORY
        assert policy.enforcementLevel == expected_level, rule.id
        assert policy.framework.name == "PUSHAUCTION Privacy Policy"
        assert policy.framework.reference, f"{rule.id} names no control"
        stack_type = analyzer_pb2.PolicyType.POLICY_TYPE_STACK
        assert (policy.policy_type == stack_type) == (rule.id in STACK_RULES), rule.id
    settings = policies[SETTINGS_POLICY]
    assert {"allowedRegions", "severityEnforcement", "ruleEnforcement", "retention"} <= set(
        settings.configSchema.properties
    )
    assert preview_pack.plugin_info().version


def test_stack_rules_are_registered_rules():
    assert set(STACK_RULES) <= set(all_rules())


def test_check_path_never_imports_pulumi():
    code = (
        "import sys, policies.cli, policies.check, policies.engine, policies.sources, policies.registry\n"
        "policies.registry.all_rules()\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'pulumi', 'pulumi_policy', 'grpc'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


# -- the bundled examples ------------------------------------------------------------------------------


def test_reference_stack_passes_with_no_diagnostic(preview_pack):
    diagnostics = run_preview(preview_pack, load_example(COMPLIANT))
    assert summary(diagnostics) == set()


def test_global_template_is_blocked_with_the_same_findings_as_check(preview_pack):
    diagnostics = run_preview(preview_pack, load_example(TEMPLATE))
    found = summary(diagnostics)
    rules = all_rules()
    # Each diagnostic is the rule's title, then the message `residency check` prints for it.
    said = {
        (d.policyName, urn, d.message.removeprefix(rules[d.policyName].title + "\n"))
        for d, urn in diagnostics
    }
    assert said == _check_path(TEMPLATE)
    mandatory = {(rule, urn) for rule, urn, level in found if level == "mandatory"}
    assert ("RES-002", "urn:pulumi:prod::pushauction-data::pulumi:providers:aws::global") in mandatory
    assert any(rule == "RES-001" for rule, _ in mandatory)
    for rule, _, level in found:
        assert level == default_level(rules[rule].severity)
    for d, _ in diagnostics:
        assert d.policyPackName == "residency"
        assert d.message.startswith(rules[d.policyName].title + "\n")


def test_diagnostics_carry_severity(preview_pack):
    diagnostics = run_preview(preview_pack, load_example(TEMPLATE))
    severities = {d.policyName: d.severity for d, _ in diagnostics}
    said = {
        rule: [d.message for d, _ in diagnostics if d.policyName == rule] for rule in ("RES-001", "CLS-001")
    }
    assert any("is in us-west-2" in m for m in said["RES-001"]), said["RES-001"]
    assert any("has no `data-category` tag" in m for m in said["CLS-001"]), said["CLS-001"]
    assert severities["RES-001"] == analyzer_pb2.POLICY_SEVERITY_CRITICAL
    assert severities["CLS-001"] == analyzer_pb2.POLICY_SEVERITY_MEDIUM


# -- unknown values ---------------------------------------------------------------------------------------


def _table_with_unknown_region() -> list[dict[str, Any]]:
    doc = load_example(COMPLIANT)
    states = copy.deepcopy(preview_states(doc))
    for state in states:
        if state["urn"] == PROVIDER:
            state["inputs"]["region"] = UNKNOWN_SENTINEL
            state["outputs"]["region"] = UNKNOWN_SENTINEL
    return states


def _diagnostics_for(pack, states, urn: str) -> list[Any]:
    by_urn = {r.urn: r for r in analyze_requests(states)}
    return pack.analyze(by_urn[urn])


TABLE = "urn:pulumi:prod::pushauction-data::aws:dynamodb/table:Table::accounts"


def test_unknown_region_is_advisory_during_preview(preview_pack):
    diagnostics = _diagnostics_for(preview_pack, _table_with_unknown_region(), TABLE)
    res001 = [d for d in diagnostics if d.policyName == "RES-001"]
    assert res001, "an unknown region must never pass silently"
    assert all(d.enforcementLevel == ADVISORY for d in res001)
    assert "cannot check until apply: Table 'accounts' takes its region from" in res001[0].message


def test_unknown_region_blocks_at_apply(apply_pack):
    diagnostics = _diagnostics_for(apply_pack, _table_with_unknown_region(), TABLE)
    res001 = [d for d in diagnostics if d.policyName == "RES-001"]
    assert res001 and all(d.enforcementLevel == MANDATORY for d in res001)
    assert "cannot check until apply" not in res001[0].message
    assert "not known even at apply, so treated as non-compliant: Table 'accounts' takes its region from" in (
        res001[0].message
    ), res001[0].message


def _stack_with_unknown_algorithm() -> list[dict[str, Any]]:
    states = copy.deepcopy(preview_states(load_example(COMPLIANT)))
    for state in states:
        if "ServerSideEncryption" in state["type"] and state["urn"].endswith("user-uploads-sse"):
            for block in ("inputs", "outputs"):
                rule = state[block]["rules"][0]["applyServerSideEncryptionByDefault"]
                rule["sseAlgorithm"] = UNKNOWN_SENTINEL
            return states
    raise AssertionError("the reference stack has no user-uploads-sse resource")


@pytest.mark.parametrize(("fixture", "level"), [("preview_pack", ADVISORY), ("apply_pack", MANDATORY)])
def test_unknown_in_a_joined_side_resource(request, fixture, level):
    pack = request.getfixturevalue(fixture)
    diagnostics = pack.analyze_stack(analyze_stack_request(_stack_with_unknown_algorithm()))
    enc = [d for d in diagnostics if d.policyName == "ENC-001"]
    assert enc, "an unknown algorithm must never pass silently"
    assert {d.enforcementLevel for d in enc} == {level}
    assert all(d.urn.endswith("::user-uploads") for d in enc)


def test_configure_stack_dry_run_and_config_win_over_the_environment(apply_pack):
    states = _table_with_unknown_region()
    try:
        apply_pack.configure_stack(dry_run=True, config={"aws:region": "cn-north-1"})
        assert _levels([(d, "") for d in _diagnostics_for(apply_pack, states, TABLE)], "RES-001") == {
            ADVISORY
        }
        # A resource with no provider region takes the stack's aws:region from ConfigureStack.
        apply_pack.configure_stack(dry_run=False, config={"aws:region": "us-west-2"})
        bare = analyzer_pb2.AnalyzeRequest(
            type="aws:dynamodb/table:Table",
            urn="urn:pulumi:prod::pushauction-data::aws:dynamodb/table:Table::bare",
            name="bare",
        )
        bare.properties.update({"tags": {"data-category": "account-registration"}})
        bare.provider.CopyFrom(
            analyzer_pb2.AnalyzerProviderResource(
                type="pulumi:providers:aws", urn=PROVIDER.replace("china", "default"), name="default"
            )
        )
        messages = [d.message for d in apply_pack.analyze(bare) if d.policyName == "RES-001"]
        assert messages and "us-west-2" in messages[0]
    finally:
        apply_pack.configure_stack(dry_run=False, config={"aws:region": "cn-north-1"})


def test_secret_values_are_checked_not_skipped(preview_pack):
    trust_everyone = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
        }
    )
    request = analyzer_pb2.AnalyzeRequest(
        type="aws:iam/role:Role",
        urn="urn:pulumi:prod::pushauction-data::aws:iam/role:Role::open",
        name="open",
    )
    request.properties.update({"assumeRolePolicy": {SIG: SECRET_SIG, "value": trust_everyone}})
    request.provider.CopyFrom(
        analyzer_pb2.AnalyzerProviderResource(
            type="pulumi:providers:aws", urn=PROVIDER, name="china", properties=None
        )
    )
    request.provider.properties.update({"region": "cn-north-1"})
    acc005 = [d for d in preview_pack.analyze(request) if d.policyName == "ACC-005"]
    assert acc005 and acc005[0].enforcementLevel == MANDATORY
    # The finding quotes the statement inside the secret: the value was read, not skipped.
    assert 'Role \'open\': assumeRolePolicy statement #0 allows {"AWS": "*"} to sts:AssumeRole' in (
        acc005[0].message
    ), acc005[0].message


# -- pack config --------------------------------------------------------------------------------------


def test_allowed_regions_from_pack_config(preview_pack, configured):
    configured({SETTINGS_POLICY: {"allowedRegions": ["cn-northwest-1"]}})
    diagnostics = run_preview(preview_pack, load_example(COMPLIANT))
    found = summary(diagnostics)
    assert ("RES-002", PROVIDER, "mandatory") in found
    assert any(rule == "RES-001" and level == "mandatory" for rule, _, level in found)
    # The configured list is what the findings hold the stack to.
    said = {d.message for d, _ in diagnostics if d.policyName in {"RES-001", "RES-002"}}
    assert all("cn-north-1" in m and "cn-northwest-1" in m for m in said), said
    assert any("AWS provider 'china' targets cn-north-1" in m for m in said), said


@pytest.mark.parametrize(
    ("config", "rule", "expected"),
    [
        ({}, "RES-001", {MANDATORY}),
        ({"RES-001": "advisory"}, "RES-001", {ADVISORY}),
        ({"RES-001": {"enforcementLevel": "advisory"}}, "RES-001", {ADVISORY}),
        ({SETTINGS_POLICY: {"ruleEnforcement": {"RES-001": "advisory"}}}, "RES-001", {ADVISORY}),
        ({SETTINGS_POLICY: {"severityEnforcement": {"critical": "advisory"}}}, "RES-001", {ADVISORY}),
        ({SETTINGS_POLICY: {"severityEnforcement": {"medium": "mandatory"}}}, "CLS-001", {MANDATORY}),
        ({"all": "advisory"}, "RES-001", {ADVISORY}),
        ({"RES-001": "disabled"}, "RES-001", set()),
        ({SETTINGS_POLICY: {"ruleEnforcement": {"ENC-001": "disabled"}}}, "ENC-001", set()),
        # A rule-level setting wins over a severity-level one.
        (
            {
                SETTINGS_POLICY: {
                    "severityEnforcement": {"critical": "advisory"},
                    "ruleEnforcement": {"RES-001": "mandatory"},
                }
            },
            "RES-001",
            {MANDATORY},
        ),
    ],
)
def test_enforcement_levels_from_pack_config(preview_pack, configured, config, rule, expected):
    configured(config)
    diagnostics = run_preview(preview_pack, load_example(TEMPLATE))
    assert _levels(diagnostics, rule) == expected


def test_retention_limits_from_pack_config(preview_pack, configured):
    # The reference log group keeps server logs 180 days; a team that must keep them 200 is told so.
    configured({SETTINGS_POLICY: {"retention": {"server-logs": {"minDays": 200}}}})
    diagnostics = run_preview(preview_pack, load_example(COMPLIANT))
    messages = [d.message for d, _ in diagnostics if d.policyName == "RET-003"]
    assert messages and "keeps its log events 180 days, less than the 200-day minimum" in messages[0], (
        messages
    )


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"allowedRegions": ["mars-1"]}, "allowedRegions[0]"),
        ({"allowedRegions": []}, "allowedRegions"),
        ({"allowedRegion": ["cn-north-1"]}, "allowedRegion: unknown key"),
        ({"severityEnforcement": {"medium": "block"}}, "severityEnforcement.medium"),
        ({"severityEnforcement": {"urgent": "mandatory"}}, "severityEnforcement.urgent"),
        ({"ruleEnforcement": {"RES-999": "advisory"}}, "ruleEnforcement.RES-999"),
        ({"retention": {"holiday-photos": {"maxDays": 10}}}, "retention.holiday-photos"),
        ({"retention": {"server-logs": {"maxDays": 0}}}, "retention.server-logs.maxDays"),
        ({"retention": {"server-logs": {"maxDays": 30}}}, "minDays (180) is above maxDays (30)"),
    ],
)
def test_bad_pack_config_is_rejected_naming_the_key(preview_pack, configured, settings, named):
    with pytest.raises(grpc.RpcError) as caught:
        configured({SETTINGS_POLICY: settings})
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert named in caught.value.details()
    assert "residency-settings" in caught.value.details()


def test_rejected_config_leaves_the_pack_usable(preview_pack, configured):
    with pytest.raises(grpc.RpcError):
        configured({SETTINGS_POLICY: {"allowedRegions": ["mars-1"]}})
    configured({})
    assert summary(run_preview(preview_pack, load_example(COMPLIANT))) == set()


def test_default_levels_follow_severity():
    assert default_level(Severity.CRITICAL) == default_level(Severity.HIGH) == "mandatory"
    assert default_level(Severity.MEDIUM) == default_level(Severity.LOW) == "advisory"


def test_sdk_servicer_still_has_the_hooks_the_pack_extends():
    from pulumi_policy import EnforcementLevel
    from pulumi_policy import policy as sdk

    from policies.pack import REQUIRED_SDK_HOOKS, PackRuntime, build_policies, install_analyzer

    original = sdk._PolicyAnalyzerServicer
    try:
        runtime = PackRuntime.load({})
        policies = build_policies(runtime)
        servicer = install_analyzer(runtime)("residency", "0.1.0", policies, EnforcementLevel.ADVISORY)
        assert all(hasattr(original, hook) for hook in REQUIRED_SDK_HOOKS)
        # Instance state the extended Analyze / AnalyzeStack loops read.
        assert servicer._PolicyAnalyzerServicer__policies is policies
        assert servicer._PolicyAnalyzerServicer__stack_tags == {}
    finally:
        sdk._PolicyAnalyzerServicer = original
