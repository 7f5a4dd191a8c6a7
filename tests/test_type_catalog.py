"""The type catalogue classifies every resource type of the supported provider releases."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from paths import ROOT

from policies import tokens
from policies.errors import InputError
from policies.type_catalog import (
    DEFAULT_TYPE_CATALOG,
    KINDS,
    TypeInfo,
    classify,
    is_provider,
    load_type_catalog,
    provider_package,
)

# Resource classes of the generated SDK register their token as the first argument of the base
# constructor: `super(Bucket, __self__).__init__(\n 'aws:s3/bucket:Bucket', resource_name, ...)`.
# Functions call `pulumi.runtime.invoke('aws:s3/getBucket:getBucket', ...)` instead and never match.
_RESOURCE_TOKEN = re.compile(r"super\(\s*\w+\s*,\s*__self__\s*\)\.__init__\(\s*'([^']+)'")
_REGION_INPUT = re.compile(r"\n\s+region: pulumi\.Input")
_BRIDGED = re.compile(r"^aws:[a-z0-9]+/([A-Za-z0-9_]+):([A-Za-z0-9_]+)$")


def _package_dir(name: str, why: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        pytest.skip(why)
    return Path(next(iter(spec.submodule_search_locations)))


def _pulumi_aws_dir() -> Path:
    return _package_dir("pulumi_aws", "the infra extra is not installed: pip install -e '.[infra]'")


@pytest.fixture(scope="module")
def installed_aws_types() -> dict[str, bool]:
    """Every resource type token of the installed pulumi-aws, from its generated .py files, mapped to
    whether the resource takes a `region` input (pulumi-aws v7 gives one to every regional resource)."""
    found: dict[str, bool] = {}
    for path in _pulumi_aws_dir().rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        regional = _REGION_INPUT.search(text) is not None
        for token in _RESOURCE_TOKEN.findall(text):
            found[token] = regional
    # The provider resource registers as plain "aws": it is not a resource type.
    found.pop("aws", None)
    return found


@pytest.fixture(scope="module")
def installed_aws_tokens(installed_aws_types: dict[str, bool]) -> frozenset[str]:
    return frozenset(installed_aws_types)


@pytest.fixture(scope="module")
def registered_aws_tokens() -> frozenset[str]:
    """The resource tokens pulumi-aws registers for rehydration (its __init__.py resource_modules)."""
    text = (_pulumi_aws_dir() / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'resource_modules="""(.*?)"""', text, re.S)
    assert match, "pulumi_aws/__init__.py no longer registers resource_modules: update this test"
    return frozenset(token for module in json.loads(match.group(1)) for token in module["classes"])


def test_every_installed_pulumi_aws_resource_type_is_classified(installed_aws_tokens: frozenset[str]) -> None:
    # pulumi-aws 7.51 has 1748 resource types; fewer than 1500 means the enumeration broke.
    assert 1500 <= len(installed_aws_tokens) <= 5000, len(installed_aws_tokens)
    catalog = load_type_catalog()
    unclassified = sorted(token for token in installed_aws_tokens if token not in catalog)
    assert not unclassified, (
        f"{len(unclassified)} resource type(s) of the installed pulumi-aws are not in "
        f"policies/type_catalog.yaml; classify each:\n  " + "\n  ".join(unclassified)
    )


def test_the_enumeration_finds_resource_tokens_only(
    installed_aws_tokens: frozenset[str], registered_aws_tokens: frozenset[str]
) -> None:
    assert all(_BRIDGED.match(token) for token in installed_aws_tokens)
    assert "aws:s3/bucket:Bucket" in installed_aws_tokens
    assert "aws:iam/role:Role" in installed_aws_tokens
    # Data sources and functions (invokes) are not resources.
    assert not any(":get" in token for token in installed_aws_tokens)
    assert not any(token.split(":")[2][0].islower() for token in installed_aws_tokens)
    # The two ways of listing the package's resources agree.
    assert installed_aws_tokens == registered_aws_tokens


def test_every_installed_aws_native_resource_type_is_classified() -> None:
    # pulumi-aws-native is no dependency of this project; when a program's environment has it, every
    # one of its resource types must be classified too.
    root = _package_dir("pulumi_aws_native", "pulumi-aws-native is not installed")
    found: set[str] = set()
    for path in root.rglob("*.py"):
        found.update(_RESOURCE_TOKEN.findall(path.read_text(encoding="utf-8")))
    found.discard("aws-native")
    assert len(found) > 1000, len(found)
    unclassified = sorted(token for token in found if classify(token) is None)
    assert not unclassified, "classify in policies/type_catalog.yaml:\n  " + "\n  ".join(unclassified)


#: Where the catalogue departs, on purpose, from "global exactly when pulumi-aws gives no `region`
#: input" (see the notes in the YAML).
SCOPE_EXCEPTIONS = {
    "aws:rolesanywhere/profile:Profile": True,
    "aws:rolesanywhere/trustAnchor:TrustAnchor": True,
}


def test_aws_scope_follows_the_region_input_of_pulumi_aws(installed_aws_types: dict[str, bool]) -> None:
    catalog = load_type_catalog()
    wrong = []
    for token, has_region in sorted(installed_aws_types.items()):
        info = catalog.get(token)
        expected = SCOPE_EXCEPTIONS.get(token, has_region)
        if info is not None and info.regional != expected:
            wrong.append(f"{token}: catalogue says {'regional' if info.regional else 'global'}")
    assert not wrong, "scope differs from pulumi-aws's `region` input:\n  " + "\n  ".join(wrong)
    assert (
        sum(not regional for regional in installed_aws_types.values()) > 100
    )  # IAM, CloudFront, Route 53...


#: Tokens of pulumi-aws v6 that v7 renamed (BucketV2 and its V2 side resources, kept in v7 as
#: deprecated aliases) or dropped; the catalogue must keep classifying them for v6 programs.
V6_TOKENS = (
    "aws:s3/bucketV2:BucketV2",
    "aws:s3/bucketAclV2:BucketAclV2",
    "aws:s3/bucketLoggingV2:BucketLoggingV2",
    "aws:s3/bucketVersioningV2:BucketVersioningV2",
    "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
    "aws:s3/bucketObjectLockConfigurationV2:BucketObjectLockConfigurationV2",
    "aws:s3/bucketObjectv2:BucketObjectv2",
    "aws:opsworks/stack:Stack",
    "aws:opsworks/instance:Instance",
    "aws:simpledb/domain:Domain",
    "aws:worklink/fleet:Fleet",
    "aws:directoryservice/logService:LogService",
    "aws:gamelift/matchmakingConfiguration:MatchmakingConfiguration",
    "aws:workspaces/webUserSettings:WebUserSettings",
    "aws:chime/voiceConnectorOrganization:VoiceConnectorOrganization",
)


@pytest.mark.parametrize("token", V6_TOKENS)
def test_v6_tokens_are_classified(token: str) -> None:
    assert classify(token) is not None, token


KNOWN = [
    # (token, kind, regional)
    ("aws:s3/bucket:Bucket", "data-store", True),
    ("aws:s3/bucketV2:BucketV2", "data-store", True),
    ("aws:s3/bucketObjectv2:BucketObjectv2", "data-store", True),
    ("aws:s3/bucketReplicationConfig:BucketReplicationConfig", "copy-channel", True),
    ("aws:s3/bucketPolicy:BucketPolicy", "access-grant", True),
    ("aws:s3/bucketLogging:BucketLogging", "audit-logging", True),
    ("aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock", "access-grant", False),
    ("aws:cognito/userPool:UserPool", "data-store", True),
    ("aws:ec2/instance:Instance", "data-store", True),
    ("aws:ec2/routeTableAssociation:RouteTableAssociation", "metadata", True),
    ("aws:ec2/vpc:Vpc", "network", True),
    ("aws:iam/role:Role", "access-grant", False),
    ("aws:iam/policy:Policy", "access-grant", False),
    ("aws:route53/record:Record", "network", False),
    ("aws:route53/zone:Zone", "network", False),
    ("aws:route53/resolverEndpoint:ResolverEndpoint", "network", True),
    ("aws:route53/resolverQueryLogConfig:ResolverQueryLogConfig", "audit-logging", True),
    ("aws:cloudfront/distribution:Distribution", "copy-channel", False),
    ("aws:organizations/policy:Policy", "access-grant", False),
    ("aws:waf/webAcl:WebAcl", "network", False),
    ("aws:wafregional/webAcl:WebAcl", "network", True),
    ("aws:wafv2/webAcl:WebAcl", "network", True),
    ("aws:shield/protection:Protection", "network", False),
    ("aws:globalaccelerator/accelerator:Accelerator", "network", False),
    ("aws:budgets/budget:Budget", "metadata", False),
    ("aws:dax/cluster:Cluster", "data-store", True),
    ("aws:msk/cluster:Cluster", "data-store", True),
    ("aws:mq/broker:Broker", "data-store", True),
    ("aws:glue/catalogDatabase:CatalogDatabase", "data-store", True),
    ("aws:glue/catalogTable:CatalogTable", "data-store", True),
    ("aws:lambda/function:Function", "compute", True),
    ("aws:lambda/permission:Permission", "access-grant", True),
    ("aws:eks/cluster:Cluster", "compute", True),
    ("aws:ecr/repository:Repository", "data-store", True),
    ("aws:ssm/parameter:Parameter", "data-store", True),
    ("aws:secretsmanager/secret:Secret", "data-store", True),
    ("aws:kms/key:Key", "data-store", True),
    ("aws:kms/alias:Alias", "metadata", True),
    ("aws:sns/topicSubscription:TopicSubscription", "copy-channel", True),
    ("aws:cloudwatch/eventTarget:EventTarget", "copy-channel", True),
    ("aws:dms/endpoint:Endpoint", "copy-channel", True),
    ("aws:cloudtrail/trail:Trail", "audit-logging", True),
    ("aws:rolesanywhere/trustAnchor:TrustAnchor", "access-grant", True),
    ("aws-native:s3:Bucket", "data-store", True),
    ("aws-native:dynamodb:Table", "data-store", True),
    # pulumi-aws-native spells the RDS types DbInstance / DbCluster (0.126 and 1.x alike).
    ("aws-native:rds:DbInstance", "data-store", True),
    ("aws-native:rds:DbCluster", "data-store", True),
    ("aws-native:cognito:UserPool", "data-store", True),
    ("aws-native:ec2:Instance", "data-store", True),
    ("aws-native:kinesisfirehose:DeliveryStream", "data-store", True),
    ("aws-native:route53:RecordSet", "network", False),
    ("aws-native:route53resolver:ResolverEndpoint", "network", True),
    ("aws-native:kinesis:Stream", "data-store", True),
    ("aws-native:sqs:Queue", "data-store", True),
    ("aws-native:sns:Topic", "data-store", True),
    ("aws-native:efs:FileSystem", "data-store", True),
    ("aws-native:logs:LogGroup", "data-store", True),
    ("aws-native:kms:Key", "data-store", True),
    ("aws-native:secretsmanager:Secret", "data-store", True),
    ("aws-native:backup:BackupVault", "data-store", True),
    ("aws-native:iam:Role", "access-grant", False),
    ("aws-native:cloudfront:Distribution", "copy-channel", False),
    ("random:index/randomPassword:RandomPassword", "metadata", False),
    ("tls:index/privateKey:PrivateKey", "metadata", False),
    ("time:index/sleep:Sleep", "metadata", False),
    ("pulumi:pulumi:Stack", "metadata", False),
]


@pytest.mark.parametrize(("token", "kind", "regional"), KNOWN, ids=[k[0] for k in KNOWN])
def test_known_classifications(token: str, kind: str, regional: bool) -> None:
    assert classify(token) == TypeInfo(kind, regional)


def test_every_data_store_the_rules_know_is_a_data_store() -> None:
    wrong = {
        token: classify(token)
        for token in tokens.DATA_STORES
        if classify(token) != TypeInfo("data-store", True)
    }
    assert not wrong, f"policies/tokens.py DATA_STORES disagree with the type catalogue: {wrong}"


def test_every_aws_token_the_rules_name_is_classified() -> None:
    # S3_SIDE_TYPES is generated in both spellings for every side class, including spellings no release
    # has (BucketPolicyV2): the real ones are covered by the enumeration test.
    named = (
        set(tokens.LB_LISTENER_TYPES) | set(tokens.IAM_POLICY_DOCUMENT_TYPES) | set(tokens.CLASSIFIED_STORES)
    )
    named |= {value for value in vars(tokens).values() if isinstance(value, str) and value.startswith("aws:")}
    assert len(named) > 50
    assert sorted(token for token in named if classify(token) is None) == []


def test_alias_tokens_are_classified_as_their_type() -> None:
    # pulumi-aws declares the v5 module names as aliases; state written by older releases carries them.
    assert classify("aws:elasticloadbalancingv2/listener:Listener") is classify("aws:lb/listener:Listener")
    assert classify("aws:applicationloadbalancing/loadBalancer:LoadBalancer") == TypeInfo("network", True)


def test_provider_resources_are_not_types() -> None:
    for token in ("pulumi:providers:aws", "pulumi:providers:aws-native", "pulumi:providers:random"):
        assert is_provider(token)
        assert classify(token) is None
    assert not is_provider("aws:s3/bucket:Bucket")


def test_unlisted_and_unsupported_tokens_are_not_classified() -> None:
    assert classify("aws:s3/bucketFromTheFuture:BucketFromTheFuture") is None
    assert classify("command:local:Command") is None  # on purpose: see the YAML header
    assert classify("residency:infra:AuditBucket") is None  # components are the engine's business
    assert classify("") is None


@pytest.mark.parametrize(
    ("token", "package"),
    [
        ("aws:s3/bucket:Bucket", "aws"),
        ("aws-native:s3:Bucket", "aws-native"),
        ("pulumi:providers:aws", "aws"),
        ("pulumi:providers:aws-native", "aws-native"),
        ("pulumi:pulumi:Stack", "pulumi"),
        ("alicloud:oss/bucket:Bucket", "alicloud"),
        ("random:index/randomId:RandomId", "random"),
        ("nocolon", "nocolon"),
    ],
)
def test_provider_package(token: str, package: str) -> None:
    assert provider_package(token) == package


def test_shape_of_the_catalogue() -> None:
    catalog = load_type_catalog()
    assert catalog is load_type_catalog() is load_type_catalog(DEFAULT_TYPE_CATALOG)  # read once
    assert catalog.sha256 == hashlib.sha256(DEFAULT_TYPE_CATALOG.read_bytes()).hexdigest()
    counts = catalog.counts()
    assert set(counts) == set(KINDS) and all(counts.values())
    assert sum(counts.values()) == len(catalog)
    assert {provider_package(token) for token in catalog} == {
        "aws",
        "aws-native",
        "random",
        "tls",
        "time",
        "pulumi",
    }
    assert "aws-native:s3:Bucket" in catalog.tokens(kind="data-store", package="aws-native")
    with pytest.raises(ValueError, match="unknown kind"):
        catalog.tokens(kind="datastore")
    # One shared TypeInfo per (kind, scope): lookups hand out the same few objects.
    assert len({id(info) for info in catalog.values()}) <= 2 * len(KINDS)


def test_type_info_is_a_frozen_slotted_value() -> None:
    info = classify("aws:s3/bucket:Bucket")
    assert info is not None and info.is_data_store and not info.not_applicable
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.kind = "metadata"  # type: ignore[misc]
    assert not hasattr(info, "__dict__")


def test_the_yaml_names_every_type_explicitly() -> None:
    text = DEFAULT_TYPE_CATALOG.read_text(encoding="utf-8")
    assert "*" not in "".join(line.split("#", 1)[0] for line in text.splitlines())
    assert "default" not in {line.split(":", 1)[0].strip() for line in text.splitlines()}


def test_loading_does_not_import_pulumi_or_boto3() -> None:
    code = (
        "import sys\n"
        "from policies.type_catalog import classify\n"
        "assert classify('aws:s3/bucket:Bucket') is not None\n"
        "bad = sorted(m for m in ('pulumi', 'pulumi_aws', 'pulumi_aws_native', 'boto3', 'botocore') if m in sys.modules)\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


# --- validation: a broken catalogue is a clear error naming what is wrong ---------------------------

_GOOD = """\
version: 1
packages:
  aws:
    tokens: bridged
    modules:
      s3:
        scope: regional
        types:
          Bucket: data-store
          AccountPublicAccessBlock: {kind: access-grant, scope: global}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "types.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_small_valid_catalogue(tmp_path: Path) -> None:
    catalog = load_type_catalog(_write(tmp_path, _GOOD))
    assert dict(catalog) == {
        "aws:s3/bucket:Bucket": TypeInfo("data-store", True),
        "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock": TypeInfo("access-grant", False),
    }


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("Bucket: data-store", "Bucket: datastore", r"aws:s3/bucket:Bucket: unknown kind 'datastore'"),
        (
            "scope: global}",
            "scope: planet}",
            r"aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock: unknown scope 'planet'",
        ),
        ("scope: regional", "scope: local", r"module aws:s3: scope must be one of regional, global"),
        ("Bucket: data-store", "Bucket: data-store\n          Bucket: metadata", r"'Bucket' is listed twice"),
        ("tokens: bridged", "tokens: terraform", r"package aws: tokens must be one of bridged, native"),
        ("version: 1", "version: 2", r"version must be 1"),
        (
            "Bucket: data-store",
            "Bucket: [data-store]",
            r"aws:s3/bucket:Bucket: unknown kind \['data-store'\]",
        ),
        ("Bucket: data-store", "Bucket: {scope: global}", r"aws:s3/bucket:Bucket: give `kind:`"),
        ("Bucket: data-store", "Bucket: data-store\n          '*': metadata", r"'\*' is not a type name"),
        (
            "        types:",
            "        default: metadata\n        types:",
            r"module aws:s3: give `scope:` and `types:`",
        ),
        ("Bucket: data-store", "Bucket: data-store\n     bad: [", r"not valid YAML"),
        (
            "version: 1",
            'version: 1\naliases: {"aws:s3/old:Old": "aws:s3/gone:Gone"}',
            r"alias aws:s3/old:Old names",
        ),
        (
            "version: 1",
            'version: 1\naliases: {"aws:s3/bucket:Bucket": "aws:s3/bucket:Bucket"}',
            r"also listed as a type",
        ),
        ("version: 1", "version: 1\nextras: {}", r"unknown top-level key\(s\) extras"),
    ],
)
def test_invalid_catalogue_is_a_clear_error(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in _GOOD
    path = _write(tmp_path, _GOOD.replace(old, new, 1))
    with pytest.raises(InputError, match=message) as info:
        load_type_catalog(path)
    assert str(path) in str(info.value) and "type catalogue" in str(info.value)


def test_missing_catalogue_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read the file"):
        load_type_catalog(tmp_path / "absent.yaml")
