"""Stack config validation: every value that would deploy something non-compliant stops the program."""

from __future__ import annotations

import copy
from typing import Any

# The infra extra is declared in pyproject.toml: without it the run fails here, never skips.
import pulumi_aws  # noqa: F401
import pytest

from infra.config import ConfigError, load_config  # noqa: E402
from infra.testing import MockCloud, stack_config  # noqa: E402

# Pulumi's mock runtime is set before the program (or any component) is imported; each test then
# installs fresh mocks with its own config.
MockCloud.install(stack_config("prod-cn-north-1"))


@pytest.fixture
def prod_config() -> dict:
    return stack_config("prod-cn-north-1")


@pytest.fixture
def dr_config() -> dict:
    return stack_config("dr-cn-northwest-1")


NON_CHINA_ROLE = "arn:aws:iam::123456789012:role/pushauction-moderation"
KEY = "arn:aws-cn:kms:cn-northwest-1:123456789012:key/6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"


def _set(config: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of the config with `residency:categories.user-uploads.retentionDays`-style path set."""
    config = copy.deepcopy(config)
    top, *rest = path.split(".")
    if not rest:
        if value is None:
            config.pop(top, None)
        else:
            config[top] = value
        return config
    node = config.setdefault(top, {})
    for key in rest[:-1]:
        node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
    last = rest[-1]
    if isinstance(node, list):
        node[int(last)] = value
    elif value is None:
        node.pop(last, None)
    else:
        node[last] = value
    return config


CASES = [
    # (case, path, value, the key the message names, words the message says)
    ("region outside China", "aws:region", "us-west-2", "aws:region", "outside mainland China"),
    ("region unset", "aws:region", None, "aws:region", "pulumi config set aws:region cn-north-1"),
    (
        "retention above the maximum",
        "residency:categories.user-uploads.retentionDays",
        400,
        "residency:categories.user-uploads.retentionDays",
        "above the catalogue's maximum of 365",
    ),
    (
        "retention below the minimum",
        "residency:categories.server-logs.retentionDays",
        30,
        "residency:categories.server-logs.retentionDays",
        "below the catalogue's minimum of 180",
    ),
    (
        "audit retention below the minimum",
        "residency:auditLogs.retentionDays",
        90,
        "residency:auditLogs.retentionDays",
        "minimum of 180",
    ),
    (
        "audit retention above the maximum",
        "residency:auditLogs.retentionDays",
        2000,
        "residency:auditLogs.retentionDays",
        "maximum of 1095",
    ),
    (
        "unknown category",
        "residency:categories.selfies",
        {"store": "bucket", "retentionDays": 30},
        "residency:categories.selfies",
        "not a data category of the catalogue",
    ),
    (
        "non-personal category",
        "residency:categories.non-personal",
        {"store": "bucket", "retentionDays": 30},
        "residency:categories.non-personal",
        "no personal data",
    ),
    (
        "audit logs as a category",
        "residency:categories.audit-logs",
        {"store": "bucket", "retentionDays": 365},
        "residency:categories.audit-logs",
        "residency:auditLogs",
    ),
    (
        "reader ARN outside aws-cn",
        "residency:categories.user-uploads.readerRoleArns.0",
        NON_CHINA_ROLE,
        "residency:categories.user-uploads.readerRoleArns[0]",
        "arn:aws-cn:iam::123456789012:role/pushauction-moderation",
    ),
    (
        "malformed reader ARN",
        "residency:categories.user-uploads.readerRoleArns.0",
        "pushauction-moderation",
        "residency:categories.user-uploads.readerRoleArns[0]",
        "not an IAM role ARN",
    ),
    (
        "auditor ARN outside aws-cn",
        "residency:auditLogs.auditorRoleArns.0",
        NON_CHINA_ROLE,
        "residency:auditLogs.auditorRoleArns[0]",
        "partition",
    ),
    (
        "replication outside China",
        "residency:replication.region",
        "us-west-2",
        "residency:replication.region",
        "outside mainland China",
    ),
    (
        "replication to its own region",
        "residency:replication.region",
        "cn-north-1",
        "residency:replication.region",
        "own region",
    ),
    (
        "replication key in the wrong region",
        "residency:replication.kmsKeyArn",
        KEY.replace("cn-northwest-1", "cn-north-1"),
        "residency:replication.kmsKeyArn",
        "not a KMS key ARN in cn-northwest-1",
    ),
    (
        "unknown store kind",
        "residency:categories.user-uploads.store",
        "efs",
        "residency:categories.user-uploads.store",
        "'bucket' or 'table'",
    ),
    (
        "misspelt key",
        "residency:categories.user-uploads.retention",
        30,
        "residency:categories.user-uploads.retention",
        "unknown key",
    ),
    (
        "default providers left on",
        "pulumi:disable-default-providers",
        None,
        "pulumi:disable-default-providers",
        "must list `aws`",
    ),
    (
        "name prefix not a bucket name",
        "residency:namePrefix",
        "Push_Auction",
        "residency:namePrefix",
        "prefix",
    ),
    (
        "trust principal not a service",
        "residency:appTrustService",
        "*",
        "residency:appTrustService",
        "not a service principal",
    ),
]


@pytest.mark.parametrize(("case", "path", "value", "key", "words"), CASES, ids=[c[0] for c in CASES])
def test_non_compliant_config_is_refused(
    prod_config: dict, case: str, path: str, value: Any, key: str, words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(_set(prod_config, path, value))
    message = str(caught.value)
    assert message.startswith(f"stack config `{key}`:"), message
    assert words in message
    assert "\n" not in message


def test_example_configs_are_valid(prod_config: dict, dr_config: dict) -> None:
    prod = load_config(prod_config)
    assert prod.partition == "aws-cn" and prod.replication is not None
    assert load_config(dr_config).region == "cn-northwest-1"


def test_program_stops_before_declaring_anything(prod_config: dict) -> None:
    from infra import program

    cloud = MockCloud.install(_set(prod_config, "aws:region", "eu-west-1"))
    with pytest.raises(ConfigError, match="aws:region"):
        cloud.deploy(program.run)
    assert cloud.registrations == []
