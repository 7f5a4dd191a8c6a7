"""IAM action analysis: wildcard expansion through parliament and data-plane classification."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from policies.iam import (
    DATA_SERVICES,
    action_matches,
    data_plane_actions,
    expand_action,
    grants_action,
    is_full_wildcard,
    is_known_service,
    is_service_wildcard,
    service_of,
)


def names(action):
    return {p.action for p in expand_action(action) or ()}


def test_wildcard_expansion_includes_the_matching_actions():
    got = names("s3:Get*")
    assert "s3:GetObject" in got
    assert "s3:GetBucketPolicy" in got
    assert all(a.startswith("s3:Get") for a in got)


def test_expansion_is_case_insensitive_and_keeps_aws_spelling():
    assert names("S3:getobject") == {"s3:GetObject"}
    assert names("iam:Pass*") == {"iam:PassRole"}


@pytest.mark.parametrize(
    "action", ["s3:GetObjectTypo", "nosuchservice:GetThing", "not-an-action", "a:b:c", ""]
)
def test_unknown_actions_expand_to_none_without_raising(action):
    assert expand_action(action) is None


def test_expansion_is_cached():
    expand_action.cache_clear()
    expand_action("dynamodb:Get*")
    expand_action("dynamodb:Get*")
    assert expand_action.cache_info().hits >= 1


@pytest.mark.parametrize(
    ("action", "data_plane"),
    [
        ("s3:GetObject", True),
        ("s3:PutObject", True),
        ("dynamodb:GetItem", True),
        ("kms:Decrypt", True),
        ("secretsmanager:GetSecretValue", True),
        ("sqs:SendMessage", True),
        ("logs:PutLogEvents", True),
        ("rds-db:connect", True),  # filed as "Permissions management", but it logs in to a database
        ("s3:ListAllMyBuckets", False),  # List, and "*" is the only legal resource
        ("kms:CreateKey", False),  # no resource type: "*" is the only legal resource
        ("dynamodb:ListTables", False),
        ("s3:PutBucketPolicy", False),  # Permissions management
        ("s3:PutObjectTagging", False),  # Tagging
        ("ec2:DescribeInstances", False),  # not a data service
        ("iam:PassRole", False),  # not a data service (ACC-004 checks it on its own)
    ],
)
def test_data_plane_classification(action, data_plane):
    assert (action in data_plane_actions([action])) is data_plane


def test_data_plane_expands_wildcards_and_drops_list_actions():
    got = data_plane_actions(["s3:Get*", "s3:List*"])
    assert "s3:GetObject" in got
    assert "s3:ListAllMyBuckets" not in got
    assert len(got) == len(set(got))


def test_unknown_action_of_a_data_service_counts_as_data_plane():
    # Fail closed: a typo or an action newer than the reference cannot be shown to be harmless.
    assert data_plane_actions(["s3:GetObjectz"]) == ["s3:GetObjectz"]


@pytest.mark.parametrize("action", ["nosuchservice:GetThing", "ec2:NoSuchAction", "junk", 42, None])
def test_unknown_action_of_other_services_is_ignored(action):
    assert data_plane_actions([action]) == []


def test_full_wildcard_is_left_to_the_caller():
    assert data_plane_actions(["*"]) == []
    assert is_full_wildcard("*") and is_full_wildcard("*:*")
    assert not is_full_wildcard("s3:*")


@pytest.mark.parametrize(
    ("action", "expected"),
    [("s3:*", True), ("kms:**", True), ("s3:Get*", False), ("*", False), ("*:*", False)],
)
def test_service_wildcard(action, expected):
    assert is_service_wildcard(action) is expected


def test_action_matching():
    assert action_matches("sts:Assume*", "sts:AssumeRoleWithWebIdentity")
    assert action_matches("*", "iam:PassRole")
    assert action_matches("IAM:pass*", "iam:PassRole")
    assert not action_matches("iam:Get*", "iam:PassRole")
    assert grants_action(["s3:GetObject", "iam:*"], "iam:PassRole")
    assert not grants_action(["s3:GetObject"], "iam:PassRole")


def test_service_helpers():
    assert service_of("S3:GetObject") == "s3"
    assert service_of("junk") == ""
    assert is_known_service("dynamodb")
    assert not is_known_service("nosuchservice")
    assert {"s3", "dynamodb", "kms", "secretsmanager"} <= DATA_SERVICES


@pytest.mark.parametrize("cache", ["cold", "warm"])
def test_reference_comes_from_parliaments_data_without_importing_it_and_is_silent(tmp_path, cache):
    code = (
        "import sys, policies.rules.access\n"
        "from policies.iam import expand_action\n"
        "assert expand_action('s3:GetObject')\n"
        "assert len(expand_action('s3:Get*')) > 20\n"
        "assert 'parliament' not in sys.modules, 'parliament imported'\n"
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    if cache == "warm":
        subprocess.run([sys.executable, "-c", code], env=env, check=True)
        assert list((tmp_path / "residency").glob("iam-reference-*.json"))
    done = subprocess.run(
        [sys.executable, "-W", "default", "-c", code], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
