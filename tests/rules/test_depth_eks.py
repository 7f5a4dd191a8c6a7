"""EKS: the control plane logs who reached the API (AUD-007); the API endpoint is not open to all (NET-002)."""

from __future__ import annotations

from typing import Any

import pytest
from builders import messages, res
from honesty import check

from policies.model import UNKNOWN

EKS = "aws:eks/cluster:Cluster"
ALL_LOGS = ["api", "audit", "authenticator"]


def cluster(**inputs: Any) -> Any:
    base: dict[str, Any] = {"roleArn": "arn:aws-cn:iam::123456789012:role/eks"}
    base.update(inputs)
    return res(EKS, "k8s", base)


@pytest.mark.parametrize(
    ("logs", "expected"),
    [
        (ALL_LOGS, None),
        (["api", "audit", "authenticator", "scheduler"], None),
        (None, "sends no control-plane logs (enabledClusterLogTypes is empty)"),
        ([], "sends no control-plane logs"),
        (["api"], "does not log 'audit', 'authenticator'"),
    ],
)
def test_aud007_control_plane_logs(logs, expected):
    inputs = {"vpcConfig": {"endpointPublicAccess": False}}
    if logs is not None:
        inputs["enabledClusterLogTypes"] = logs
    result = check("AUD-007", cluster(**inputs))
    if expected is None:
        assert not result.findings, messages(result)
    else:
        (message,) = messages(result)
        assert message.startswith("Cluster 'k8s'") and expected in message, message
        assert "enabledClusterLogTypes: ['api', 'audit', 'authenticator']" in message


def test_aud007_unknown_log_types_are_unknown():
    result = check("AUD-007", cluster(enabledClusterLogTypes=UNKNOWN))
    assert [f.unknown for f in result.findings] == [True]
    assert "not known until apply" in messages(result)[0]


def test_aud007_a_cluster_declared_non_personal_is_not_judged():
    result = check("AUD-007", cluster(tags={"data-category": "non-personal"}))
    assert not result.findings


@pytest.mark.parametrize(
    ("vpc", "expected"),
    [
        ({"endpointPublicAccess": False, "endpointPrivateAccess": True}, None),
        ({"endpointPublicAccess": True, "publicAccessCidrs": ["203.0.113.0/24"]}, None),
        ({}, "has a public API endpoint (endpointPublicAccess defaults to true) with no publicAccessCidrs"),
        (None, "with no publicAccessCidrs, which EKS opens to 0.0.0.0/0"),
        ({"endpointPublicAccess": True, "publicAccessCidrs": ["0.0.0.0/0"]}, "open to 0.0.0.0/0"),
        ({"publicAccessCidrs": ["10.0.0.0/8", "::/0"]}, "open to ::/0"),
    ],
)
def test_net002_api_endpoint(vpc, expected):
    inputs = {"enabledClusterLogTypes": ALL_LOGS}
    if vpc is not None:
        inputs["vpcConfig"] = vpc
    result = check("NET-002", cluster(**inputs))
    if expected is None:
        assert not result.findings, messages(result)
    else:
        (message,) = messages(result)
        assert message.startswith("Cluster 'k8s'") and expected in message, message
        assert "endpointPublicAccess: false" in message


@pytest.mark.parametrize(
    "vpc",
    [
        UNKNOWN,
        {"endpointPublicAccess": UNKNOWN},
        {"endpointPublicAccess": True, "publicAccessCidrs": [UNKNOWN]},
    ],
)
def test_net002_unknown_endpoint_settings_are_unknown(vpc):
    result = check("NET-002", cluster(vpcConfig=vpc))
    assert [f.unknown for f in result.findings] == [True], messages(result)
