"""Issue 9: a PASS an auditor can sign.

Territory for every regional resource and provider, every resource accounted for (evaluated, not
applicable, not evaluated with the reason), relaxing classifications on the record, `--strict`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from typing import Any

import pytest
from builders import PROJECT, res, urn
from honesty import no_crash

from policies.catalog import default_catalog
from policies.engine import Result, evaluate
from policies.model import UNKNOWN
from policies.sources.state import resource_from_state
from policies.stack import Stack

U = UNKNOWN


def build(*resources: Any, config: dict[str, Any] | None = None, settings: Any = None) -> Stack:
    return Stack.build(
        list(resources), config=config or {}, settings=settings or default_catalog().settings()
    )


def run(*resources: Any, **kwargs: Any) -> Result:
    result = evaluate(build(*resources, **kwargs))
    no_crash(result)
    return result


class Proc:
    def __init__(self, proc: subprocess.CompletedProcess) -> None:
        self.returncode = proc.returncode
        self.stdout = proc.stdout.decode()
        self.stderr = proc.stderr.decode()


@pytest.fixture
def run_cli():
    def invoke(*args: str) -> Proc:
        proc = subprocess.run([sys.executable, "-m", "policies.cli", *args], capture_output=True, timeout=120)
        result = Proc(proc)
        assert "Traceback" not in result.stderr, result.stderr
        if "--format" in args and args[args.index("--format") + 1] == "json" and result.returncode != 2:
            no_crash(json.loads(result.stdout))
        return result

    return invoke


def provider(name: str, inputs: dict[str, Any], package: str = "aws") -> Any:
    return resource_from_state(
        {
            "urn": f"{PROJECT}::pulumi:providers:{package}::{name}",
            "type": f"pulumi:providers:{package}",
            "custom": True,
            "inputs": inputs,
            "outputs": inputs,
        }
    )


def ref(p: Any) -> str:
    return f"{p.urn}::00000000-0000-0000-0000-000000000000"


def on(region: str) -> Any:
    return provider(f"p-{region}", {"region": region})


def said(result: Result, rule: str, name: str) -> str:
    found = [f.message for f in result.findings if f.rule == rule and f.urn.endswith(f"::{name}")]
    assert found, (rule, name, [(f.rule, f.urn, f.message) for f in result.findings])
    return found[0]


def status_of(result: Result, name: str) -> str:
    cov = result.coverage
    for kind, rows in (("evaluated", cov.evaluated), ("not_applicable", cov.not_applicable)):
        if any(u.endswith(f"::{name}") for u, _, _ in rows):
            return kind
    if any(u.endswith(f"::{name}") for u, _, _ in cov.not_evaluated):
        return "not_evaluated"
    raise AssertionError(f"{name} is not accounted for")


# -- 1. territory for everything regional ----------------------------------------------------------


DATA_STORES_NO_RULE_KNEW = [
    ("aws:cognito/userPool:UserPool", "users"),
    ("aws:dax/cluster:Cluster", "cache"),
    ("aws:msk/cluster:Cluster", "events"),
    ("aws:mq/broker:Broker", "broker"),
    ("aws:ec2/instance:Instance", "web"),
    ("aws:glue/catalogDatabase:CatalogDatabase", "lake"),
]


@pytest.mark.parametrize("type_, name", DATA_STORES_NO_RULE_KNEW)
def test_data_stores_of_every_type_are_held_to_the_territory(type_, name):
    east = on("us-east-1")
    result = run(east, res(type_, name, {}, provider=ref(east)))
    assert "is in us-east-1 (from provider 'p-us-east-1')" in said(result, "RES-001", name)
    assert status_of(result, name) == "evaluated"


@pytest.mark.parametrize("type_, name", DATA_STORES_NO_RULE_KNEW)
def test_the_same_data_stores_in_china_pass_territory(type_, name):
    cn = on("cn-north-1")
    result = run(cn, res(type_, name, {"tags": {"data-category": "user-uploads"}}, provider=ref(cn)))
    assert not [f for f in result.findings if f.rule.startswith("RES-")]


@pytest.mark.parametrize(
    "type_, name",
    [
        ("aws:lambda/function:Function", "handler"),
        ("aws:eks/cluster:Cluster", "k8s"),
        ("aws:ec2/securityGroup:SecurityGroup", "sg"),
        ("aws:sqs/queuePolicy:QueuePolicy", "qp"),
    ],
)
def test_preview_without_provider_steps_takes_the_stack_region_for_every_regional_resource(type_, name):
    # A preview has no provider steps: the default provider's region is the stack config's.
    item = res(type_, name, {}, provider=f"{PROJECT}::pulumi:providers:aws::default_6_0_0::x")
    result = run(item, config={"aws:region": "us-west-2"})
    rule = "RES-001" if type_ == "aws:ec2/instance:Instance" else "RES-005"
    message = said(result, rule, name)
    assert "is in us-west-2 (from the stack config `aws:region`)" in message, message
    passing = run(item, config={"aws:region": "cn-northwest-1"})
    assert not [f for f in passing.findings if f.rule.startswith("RES-")]


def test_regional_resource_with_no_region_anywhere_is_a_finding():
    item = res("aws:lambda/function:Function", "handler", {}, provider=None)
    result = run(item)
    message = said(result, "RES-005", "handler")
    assert "has no region" in message and "aws:region" in message
    # Where it lands is decided by the deploying machine's AWS_REGION: not determinable, said so.
    assert [f.unknown for f in result.findings if f.rule == "RES-005"] == [True]


def test_regional_resource_with_unknown_region_is_an_unknown_finding():
    item = res("aws:lambda/function:Function", "handler", {"region": U}, provider=None)
    result = run(item)
    (finding,) = [f for f in result.findings if f.rule == "RES-005"]
    assert finding.unknown and "not known until apply" in finding.message


def test_explicit_provider_without_region_is_unknown_for_its_resources_not_the_stack_region():
    bare = provider("bare", {})
    fn = res("aws:lambda/function:Function", "handler", {}, provider=ref(bare))
    result = run(bare, fn, config={"aws:region": "cn-north-1"})
    (finding,) = [f for f in result.findings if f.rule == "RES-005"]
    assert finding.unknown
    assert "explicit provider 'bare', which has no `region` input" in finding.message
    assert "AWS_REGION" in finding.message


def test_explicit_provider_missing_from_the_input_is_unknown():
    fn = res("aws:lambda/function:Function", "f", {}, provider=f"{PROJECT}::pulumi:providers:aws::mine::id")
    result = run(fn, config={"aws:region": "cn-north-1"})
    (finding,) = [f for f in result.findings if f.rule == "RES-005"]
    assert finding.unknown and "explicit provider 'mine', which this input does not hold" in finding.message


@pytest.mark.parametrize(
    "region, flagged",
    [("us-east-1", True), ("cn-north-1", False)],
)
def test_global_services_live_in_their_providers_partition(region, flagged):
    p = on(region)
    role = res("aws:iam/role:Role", "app", {"assumeRolePolicy": "{}"}, provider=ref(p))
    result = evaluate(build(p, role))
    res005 = [f.message for f in result.findings if f.rule == "RES-005"]
    if flagged:
        assert res005 and "lives in the `aws` partition, outside AWS China" in res005[0], res005
    else:
        assert not res005
    assert status_of(result, "app") == "evaluated"


def test_aws_native_provider_and_its_bucket_are_held_to_the_territory():
    native = provider("native", {"region": "us-west-2"}, package="aws-native")
    bucket = res("aws-native:s3:Bucket", "uploads", {}, provider=ref(native))
    result = run(native, bucket)
    assert "targets us-west-2" in said(result, "RES-002", "native")
    assert "is in us-west-2 (from provider 'native')" in said(result, "RES-001", "uploads")
    passing = run(provider("native", {"region": "cn-north-1"}, package="aws-native"), bucket)
    assert not [f for f in passing.findings if f.rule.startswith("RES-")]


def test_aws_native_default_provider_takes_its_own_config_key():
    bucket = res(
        "aws-native:s3:Bucket", "uploads", {}, provider=f"{PROJECT}::pulumi:providers:aws-native::default::x"
    )
    result = run(bucket, config={"aws-native:region": "eu-west-1", "aws:region": "cn-north-1"})
    assert "eu-west-1 (from the stack config `aws-native:region`)" in said(result, "RES-001", "uploads")


def test_another_clouds_resources_are_not_evaluated_without_a_territory_entry():
    gcp = provider("gcp", {"region": "us-central1"}, package="gcp")
    bucket = res("gcp:storage/bucket:Bucket", "files", {"location": "US"}, provider=ref(gcp))
    result = run(gcp, bucket)
    assert status_of(result, "files") == "not_evaluated"
    assert status_of(result, "gcp") == "not_evaluated"
    reasons = {u.rsplit("::", 1)[-1]: r for u, _, r in result.coverage.not_evaluated}
    assert "provider package 'gcp' has no territory entry" in reasons["files"]
    assert "territory.providers.gcp" in reasons["files"]


def _catalogue_with(tmp_path, extra: str) -> Any:
    from policies.catalog import DEFAULT_CATALOG, load_catalog

    text = DEFAULT_CATALOG.read_text(encoding="utf-8")
    text = text.replace("  providers:\n", f"  providers:\n{extra}", 1)
    path = tmp_path / "catalog.yaml"
    path.write_text(text, encoding="utf-8")
    return load_catalog(path)


def test_an_organisation_adds_alibaba_clouds_mainland_regions(tmp_path):
    catalog = _catalogue_with(tmp_path, "    alicloud: [cn-beijing, cn-shanghai, cn-hangzhou]\n")
    settings = catalog.settings()
    hk = provider("hk", {"region": "cn-hongkong"}, package="alicloud")
    oss = res("alicloud:oss/bucket:Bucket", "photos", {}, provider=ref(hk))
    result = evaluate(build(hk, oss, settings=settings))
    no_crash(result)
    assert "targets cn-hongkong" in said(result, "RES-002", "hk")
    assert "is in cn-hongkong" in said(result, "RES-005", "photos")
    assert status_of(result, "photos") == "evaluated"
    bj = provider("bj", {"region": "cn-beijing"}, package="alicloud")
    ok = evaluate(
        build(bj, res("alicloud:oss/bucket:Bucket", "photos", {}, provider=ref(bj)), settings=settings)
    )
    assert not [f for f in ok.findings if f.rule.startswith("RES-")]


def test_a_bad_territory_entry_is_a_clear_catalogue_error(tmp_path):
    from policies.errors import InputError

    with pytest.raises(InputError, match="providers.*not a region name"):
        _catalogue_with(tmp_path, "    alicloud: ['Beijing!']\n")


# -- 2. every resource accounted for ------------------------------------------------------------------


def test_every_resource_ends_in_exactly_one_bucket_and_counts_add_up():
    cn = on("cn-north-1")
    items = [
        cn,
        res("aws:s3/bucket:Bucket", "b", {"bucket": "b"}, provider=ref(cn)),
        res("aws:ec2/routeTableAssociation:RouteTableAssociation", "rta", {}, provider=ref(cn)),
        res("random:index/randomId:RandomId", "suffix", {}, provider=None),
        res("kubernetes:core/v1:ConfigMap", "cm", {}, provider=None),
        resource_from_state(
            {"urn": urn("my:index:Component", "c"), "type": "my:index:Component", "custom": False}
        ),
    ]
    result = evaluate(build(*items))
    cov = result.coverage
    assert cov.total == result.resources == len(items)
    assert status_of(result, "b") == "evaluated"
    assert status_of(result, "rta") == "not_applicable"
    assert status_of(result, "suffix") == "not_applicable"
    assert status_of(result, "c") == "not_applicable"
    assert status_of(result, "cm") == "not_evaluated"
    families = dict((u.rsplit("::", 1)[-1], f) for u, _, f in cov.evaluated)
    assert {"residency", "encryption_at_rest", "access"} <= set(families["b"])


def test_a_type_the_type_catalogue_does_not_know_is_not_evaluated_and_strict_fails_it():
    cn = on("cn-north-1")
    future = res("aws:newservice/thing:Thing", "thing", {}, provider=ref(cn))
    result = evaluate(build(cn, future))
    (row,) = result.coverage.not_evaluated
    assert row[1] == "aws:newservice/thing:Thing"
    assert "is not in the type catalogue" in row[2]
    assert not [f for f in result.findings if f.rule == "COV-001"]
    strict = evaluate(build(cn, future, settings=_strict()))
    assert "Thing 'thing' was not evaluated: type aws:newservice/thing:Thing" in said(
        strict, "COV-001", "thing"
    )


def _strict(**kwargs: Any) -> Any:
    import dataclasses

    return dataclasses.replace(default_catalog().settings(), strict=True, **kwargs)


# -- 3. classifications on the record ----------------------------------------------------------------


def test_one_non_personal_tag_is_recorded_with_its_source():
    east = on("us-east-1")
    bucket = res(
        "aws:s3/bucket:Bucket",
        "public",
        {"bucket": "public", "tags": {"data-category": "non-personal"}},
        provider=ref(east),
    )
    result = evaluate(build(east, bucket))
    (decl,) = [d for d in result.declarations if d.urn.endswith("::public")]
    assert decl.category == "non-personal" and decl.non_personal
    assert decl.source == "resource tag (data-category: non-personal)"
    assert not [f for f in result.findings if f.rule == "RES-001"]


def test_provider_default_tags_are_recorded_as_such():
    east = provider(
        "east", {"region": "us-east-1", "defaultTags": {"tags": {"data-category": "non-personal"}}}
    )
    bucket = res("aws:s3/bucket:Bucket", "public", {"bucket": "public"}, provider=ref(east))
    result = evaluate(build(east, bucket))
    (decl,) = [d for d in result.declarations if d.urn.endswith("::public")]
    assert decl.source == "provider 'east' defaultTags (data-category: non-personal)"


def test_the_resources_own_classification_wins_over_the_providers_default():
    east = provider(
        "east", {"region": "us-east-1", "defaultTags": {"tags": {"data-category": "non-personal"}}}
    )
    bucket = res(
        "aws:s3/bucket:Bucket",
        "uploads",
        {"bucket": "uploads", "tags": {"DataCategory": "user-uploads"}},
        provider=ref(east),
    )
    result = evaluate(build(east, bucket))
    assert "is in us-east-1" in said(result, "RES-001", "uploads")
    (decl,) = [d for d in result.declarations if d.urn.endswith("::uploads")]
    assert decl.category == "user-uploads" and not decl.non_personal
    assert decl.source == "resource tag (DataCategory: user-uploads)"


def test_unclassified_resources_declare_nothing():
    cn = on("cn-north-1")
    result = evaluate(build(cn, res("aws:s3/bucket:Bucket", "b", {"bucket": "b"}, provider=ref(cn))))
    assert result.declarations == []


def _attestation(**overrides: Any) -> Any:
    from policies.waivers import Attestation

    data = {
        "kind": "classification",
        "urn": "urn:pulumi:prod::shop::aws:s3/bucket:Bucket::public*",
        "category": "non-personal",
        "reason": "storefront images, no user data",
        "owner": "web@pushauction.com",
        "expires": date(2099, 1, 1),
    }
    data.update(overrides)
    return Attestation.model_validate(data)


def test_strict_needs_an_attestation_for_every_non_personal_declaration():
    cn = on("cn-north-1")
    bucket = res(
        "aws:s3/bucket:Bucket",
        "public",
        {"bucket": "public", "tags": {"data-category": "non-personal"}},
        provider=ref(cn),
    )
    result = evaluate(build(cn, bucket, settings=_strict()))
    message = said(result, "CLS-002", "public")
    assert "is declared `non-personal` by its resource tag (data-category: non-personal)" in message
    attested = evaluate(build(cn, bucket, settings=_strict(attestations=(_attestation(),))))
    assert not [f for f in attested.findings if f.rule == "CLS-002"]
    wrong_category = evaluate(
        build(cn, bucket, settings=_strict(attestations=(_attestation(category="cookies"),)))
    )
    assert [f for f in wrong_category.findings if f.rule == "CLS-002"]


WAIVERS = """\
waivers:
  - kind: classification
    urn: "urn:pulumi:prod::pushauction-data::aws:s3/bucketV2:BucketV2::*"
    category: non-personal
    reason: Published catalogue images; no personal data
    owner: web-team@pushauction.com
    expires: {expires}
  - kind: classification
    urn: "urn:pulumi:prod::nowhere::*"
    category: non-personal
    reason: Left over from an old stack
    owner: web-team@pushauction.com
    expires: 2099-01-01
"""


def _non_personal_preview(tmp_path) -> str:
    """The reference preview with its uploads bucket retagged non-personal."""
    from policies.demo import EXAMPLES

    text = (EXAMPLES / "reference-compliant-preview.json").read_text(encoding="utf-8")
    assert '"data-category": "user-uploads"' in text
    path = tmp_path / "preview.json"
    path.write_text(
        text.replace('"data-category": "user-uploads"', '"data-category": "non-personal"'), encoding="utf-8"
    )
    return str(path)


def test_cli_strict_attestations_expired_and_unused_are_reported(tmp_path, run_cli):
    preview = _non_personal_preview(tmp_path)
    plain = run_cli("check", preview, "--format", "json")
    data = json.loads(plain.stdout)
    assert plain.returncode == 0, plain.stderr
    assert [d["category"] for d in data["declarations"]].count("non-personal") >= 1
    assert all(d["attested"] is False for d in data["declarations"])

    strict = run_cli("check", preview, "--format", "json", "--strict")
    assert strict.returncode == 1
    assert {f["rule"] for f in json.loads(strict.stdout)["findings"]} == {"CLS-002"}

    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(WAIVERS.format(expires="2099-01-01"), encoding="utf-8")
    attested = run_cli("check", preview, "--format", "json", "--strict", "--waivers", str(waivers))
    assert attested.returncode == 0, attested.stdout
    out = json.loads(attested.stdout)
    assert any(d["attested"] for d in out["declarations"])
    assert any("urn:pulumi:prod::nowhere::*" in n and "matched no declaration" in n for n in out["notices"])

    waivers.write_text(WAIVERS.format(expires="2020-01-01"), encoding="utf-8")
    expired = run_cli("check", preview, "--format", "json", "--strict", "--waivers", str(waivers))
    assert expired.returncode == 1
    assert any("expired on 2020-01-01" in n for n in json.loads(expired.stdout)["notices"])


@pytest.mark.parametrize(
    "entry, message",
    [
        (
            "  - kind: classification\n    urn: 'urn:pulumi:*'\n    category: non-personal\n    owner: me@x\n    expires: 2099-01-01\n",
            "field 'reason' is required",
        ),
        ("  - kind: exemption\n    urn: 'urn:pulumi:*'\n", "field 'kind': 'exemption' is not a kind"),
        (
            "  - kind: classification\n    urn: 'urn:pulumi:*'\n    category: public\n    reason: not personal at all\n    owner: me@x\n    expires: 2099-01-01\n",
            "no data category 'public'",
        ),
    ],
)
def test_bad_attestations_are_clear_errors(tmp_path, run_cli, entry, message):
    waivers = tmp_path / "w.yaml"
    waivers.write_text("waivers:\n" + entry, encoding="utf-8")
    proc = run_cli("check", _non_personal_preview(tmp_path), "--waivers", str(waivers))
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr


# -- every format shows coverage and declarations --------------------------------------------------


def test_every_format_shows_coverage_and_declarations(tmp_path, run_cli):
    preview = _non_personal_preview(tmp_path)
    gcp = json.loads(open(preview, encoding="utf-8").read())
    gcp["steps"].append(
        {
            "op": "create",
            "urn": "urn:pulumi:prod::pushauction-data::gcp:storage/bucket:Bucket::elsewhere",
            "newState": {
                "urn": "urn:pulumi:prod::pushauction-data::gcp:storage/bucket:Bucket::elsewhere",
                "type": "gcp:storage/bucket:Bucket",
                "custom": True,
                "inputs": {"location": "US"},
            },
        }
    )
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps(gcp), encoding="utf-8")

    table = run_cli("check", str(path))
    assert (
        "1 not evaluated" in table.stdout
        and "Not evaluated: urn:pulumi:prod::pushauction-data::gcp" in table.stdout
    )
    assert "Declared non-personal:" in table.stdout

    data = json.loads(run_cli("check", str(path), "--format", "json").stdout)
    assert set(data) == {"summary", "findings", "coverage", "declarations", "notices"}
    assert data["coverage"]["not_evaluated"][0]["type"] == "gcp:storage/bucket:Bucket"
    assert (
        data["coverage"]["evaluated"] + data["coverage"]["not_applicable"] + 1 == data["summary"]["resources"]
    )

    sarif = json.loads(run_cli("check", str(path), "--format", "sarif").stdout)
    notes = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert any(
        n["message"]["text"].startswith("Not evaluated: urn:pulumi:prod::pushauction-data::gcp")
        for n in notes
    )
    assert any(n["message"]["text"].startswith("Declared non-personal:") for n in notes)

    import xml.etree.ElementTree as ET

    junit = ET.fromstring(run_cli("check", str(path), "--format", "junit").stdout)
    suite = next(s for s in junit.findall("testsuite") if s.get("name") == "residency coverage")
    (case,) = suite.findall("testcase")
    assert case.find("skipped").get("message").startswith("not evaluated: provider package 'gcp'")

    markdown = run_cli("check", str(path), "--format", "markdown").stdout
    assert "### Coverage" in markdown and "### Declarations" in markdown
    assert "gcp:storage/bucket:Bucket" in markdown or "elsewhere" in markdown

    strict = run_cli("check", str(path), "--strict", "--format", "json")
    rules = {f["rule"] for f in json.loads(strict.stdout)["findings"]}
    assert {"COV-001", "CLS-002"} <= rules and strict.returncode == 1


# -- the real files --------------------------------------------------------------------------------


def test_infracost_eks_cluster_and_instances_in_us_west_2_get_territory_findings():
    from paths import public_fixture

    from policies.check import run_check

    result = run_check([str(public_fixture("infracost-aws-ts-ebs-preview-existing.json"))])
    no_crash(result)
    by_type: dict[str, list[str]] = {}
    for f in result.findings:
        if f.rule in ("RES-001", "RES-005"):
            by_type.setdefault(f.type, []).append(f.message)
    assert "aws:eks/cluster:Cluster" in by_type and "aws:ec2/instance:Instance" in by_type, sorted(by_type)
    assert all(
        "us-west-2 (from the stack config `aws:region`)" in m for m in by_type["aws:eks/cluster:Cluster"]
    )
    assert result.coverage.total == result.resources
    assert not result.coverage.not_evaluated, result.coverage.not_evaluated


# -- property: evaluated means a rule that knows the type looked at it ---------------------------------

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

TYPES = [
    "aws:s3/bucket:Bucket",
    "aws:s3/bucketV2:BucketV2",
    "aws:dynamodb/table:Table",
    "aws:lambda/function:Function",
    "aws:iam/role:Role",
    "aws:ec2/routeTableAssociation:RouteTableAssociation",
    "aws:cognito/userPool:UserPool",
    "aws:newservice/thing:Thing",
    "aws-native:s3:Bucket",
    "aws-native:lambda:Function",
    "gcp:storage/bucket:Bucket",
    "random:index/randomId:RandomId",
    "my:index:Component",
]
REGIONS = st.sampled_from(["cn-north-1", "cn-northwest-1", "us-east-1", None, UNKNOWN])


@st.composite
def stacks(draw: Any) -> list[Any]:
    items: list[Any] = []
    providers = []
    for i in range(draw(st.integers(0, 2))):
        region = draw(REGIONS)
        package = draw(st.sampled_from(["aws", "aws-native", "gcp"]))
        p = provider(f"p{i}", {} if region is None else {"region": region}, package=package)
        providers.append(p)
        items.append(p)
    for i in range(draw(st.integers(1, 8))):
        type_ = draw(st.sampled_from(TYPES))
        if type_ == "my:index:Component":
            items.append(resource_from_state({"urn": urn(type_, f"r{i}"), "type": type_, "custom": False}))
            continue
        inputs: dict[str, Any] = {}
        region = draw(REGIONS)
        if region is not None and draw(st.booleans()):
            inputs["region"] = region
        if draw(st.booleans()):
            inputs["tags"] = {"data-category": draw(st.sampled_from(["non-personal", "user-uploads", "x"]))}
        owner = draw(st.sampled_from([None, *providers])) if providers else None
        items.append(res(type_, f"r{i}", inputs, provider=ref(owner) if owner is not None else None))
    return items


@given(
    stacks(),
    st.dictionaries(
        st.sampled_from(["aws:region", "aws-native:region"]),
        REGIONS.filter(lambda r: r is not None and r is not UNKNOWN),
        max_size=2,
    ),
    st.booleans(),
)
def test_no_resource_is_counted_evaluated_unless_a_rule_that_knows_it_looked_at_it(items, config, strict):
    import dataclasses
    import functools

    from policies.registry import all_rules

    looked: dict[str, set[str]] = {}

    def recording(rule: Any) -> Any:
        @functools.wraps(rule.func)
        def func(r: Any, s: Any) -> Any:
            if rule.counts_as_coverage and (rule.types is not None or rule.applies is not None):
                looked.setdefault(r.urn, set()).add(rule.id)
            return rule.func(r, s)

        return dataclasses.replace(rule, func=func)

    rules = [recording(r) for r in all_rules().values()]
    settings = _strict() if strict else default_catalog().settings()
    result = no_crash(evaluate(Stack.build(items, config=config, settings=settings), rules))
    cov = result.coverage
    assert cov.total == len(items) == result.resources
    urns = (
        [u for u, _, _ in cov.evaluated]
        + [u for u, _, _ in cov.not_applicable]
        + [u for u, _, _ in cov.not_evaluated]
    )
    assert sorted(urns) == sorted(i.urn for i in items), "every resource ends in exactly one bucket"
    for u, _, families in cov.evaluated:
        assert looked.get(u), f"{u} counted as evaluated but no rule that knows its type ran on it"
        assert families
    if strict:
        flagged = {f.urn for f in result.findings if f.rule == "COV-001"}
        assert flagged == {u for u, t, _ in cov.not_evaluated}


def test_a_preview_takes_default_tags_from_the_stack_config_and_records_it():
    item = res(
        "aws:s3/bucket:Bucket",
        "public",
        {"bucket": "public"},
        provider=f"{PROJECT}::pulumi:providers:aws::default_7_0_0::x",
    )
    config = {"aws:region": "us-east-1", "aws:defaultTags": '{"tags": {"data-category": "non-personal"}}'}
    result = evaluate(build(item, config=config))
    (decl,) = result.declarations
    assert decl.source == "stack config aws:defaultTags (data-category: non-personal)"
    assert not [f for f in result.findings if f.rule == "RES-001"]
    # An explicit provider missing from the input does not take the stack's defaults.
    other = res(
        "aws:s3/bucket:Bucket", "b", {"bucket": "b"}, provider=f"{PROJECT}::pulumi:providers:aws::mine::x"
    )
    assert evaluate(build(other, config=config)).declarations == []


def test_a_rule_that_raised_is_no_evidence_of_coverage(monkeypatch):
    import dataclasses

    from policies.registry import all_rules

    def boom(res: Any, stack: Any) -> Any:
        raise RuntimeError("boom")

    rules = [dataclasses.replace(r, func=boom) for r in all_rules().values()]
    cn = on("cn-north-1")
    result = evaluate(build(cn, res("aws:s3/bucket:Bucket", "b", {"bucket": "b"}, provider=ref(cn))), rules)
    assert all(f.error for f in result.findings)
    assert not result.coverage.evaluated
    reasons = {u.rsplit("::", 1)[-1]: r for u, _, r in result.coverage.not_evaluated}
    assert reasons["b"] == "every rule that applies to it failed (see its 'could not be checked' findings)"
