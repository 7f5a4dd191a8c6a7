"""Issue 11, TLS in depth: CloudFront (TLS-006), API Gateway (TLS-007), ALB listener rules and classic ELB
negotiation policies (TLS-003), SecureTransport denies that do not deny (TLS-001), MariaDB 11.8+ (TLS-002)."""

from __future__ import annotations

import json

import pytest
from builders import messages, res
from honesty import check

U = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
BUCKET = "aws:s3/bucket:Bucket"
POLICY = "aws:s3/bucketPolicy:BucketPolicy"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
REST_API = "aws:apigateway/restApi:RestApi"
STAGE = "aws:apigateway/stage:Stage"
DOMAIN = "aws:apigateway/domainName:DomainName"
DOMAIN_V2 = "aws:apigatewayv2/domainName:DomainName"
LISTENER = "aws:lb/listener:Listener"
RULE = "aws:lb/listenerRule:ListenerRule"
ELB = "aws:elb/loadBalancer:LoadBalancer"
LB_POLICY = "aws:elb/loadBalancerPolicy:LoadBalancerPolicy"
LISTENER_POLICY = "aws:elb/listenerPolicy:ListenerPolicy"
RDS = "aws:rds/instance:Instance"
PARAMS = "aws:rds/parameterGroup:ParameterGroup"


def only(result, rule):
    return [f.message for f in result.findings if f.rule == rule]


# -- TLS-001: a SecureTransport deny that does not deny ---------------------------------------------------

ARN = "arn:aws-cn:s3:::uploads"


def deny(sid, condition, resource=(ARN, f"{ARN}/*")):
    return {
        "Sid": sid,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": list(resource),
        "Condition": condition,
    }


HTTP = {"Bool": {"aws:SecureTransport": "false"}}
OLD_TLS = {"NumericLessThan": {"s3:TlsVersion": "1.2"}}


def bucket_with(*statements, bucket_name="uploads", region=None):
    inputs = {"bucket": bucket_name}
    if region:
        inputs["region"] = region
    bucket = res(BUCKET, bucket_name, inputs)
    policy = json.dumps({"Version": "2012-10-17", "Statement": list(statements)}) if statements else U
    side = res(
        POLICY,
        f"{bucket_name}-policy",
        {"bucket": bucket_name, "policy": policy},
        property_dependencies={"bucket": [bucket.urn]},
    )
    return bucket, side


@pytest.mark.parametrize(
    "statements, expected",
    [
        pytest.param(
            (
                deny("DenyHttp", {**HTTP, "StringNotEquals": {"aws:SourceVpce": "vpce-1a2b3c"}}),
                deny("DenyOld", OLD_TLS),
            ),
            "only when StringNotEquals aws:SourceVpce also matches",
            id="narrowed-by-source-vpce",
        ),
        pytest.param(
            (deny("DenyHttp", HTTP, resource=(f"{ARN}/exports/*",)), deny("DenyOld", OLD_TLS)),
            "only on arn:aws-cn:s3:::uploads/exports/*",
            id="scoped-to-one-prefix",
        ),
        pytest.param(
            (deny("DenyHttp", HTTP), deny("DenyOld", {"NumericLessThan": {"s3:TlsVersion": "1.1"}})),
            "does not deny TLS below 1.2",
            id="numeric-less-than-1.1-lets-1.1-through",
        ),
    ],
)
def test_tls001_deny_that_does_not_deny(statements, expected):
    found = messages(check("TLS-001", *bucket_with(*statements)))
    assert len(found) == 1 and expected in found[0], found
    assert "arn:aws-cn:s3:::uploads/*" in found[0]


@pytest.mark.parametrize(
    "statements",
    [
        pytest.param(
            (deny("DenyHttp", HTTP), deny("DenyOld", {"NumericLessThanEquals": {"s3:TlsVersion": "1.1"}})),
            id="numeric-less-than-equals-1.1",
        ),
        pytest.param(
            (deny("DenyHttp", HTTP, resource=("*",)), deny("DenyOld", OLD_TLS, resource=(f"{ARN}*",))),
            id="star-and-name-star",
        ),
    ],
)
def test_tls001_real_denies_pass(statements):
    assert messages(check("TLS-001", *bucket_with(*statements))) == []


def test_tls001_unknown_policy_is_unknown():
    result = check("TLS-001", *bucket_with())
    assert result.findings and all(f.unknown for f in result.findings)
    assert "not known until apply" in result.findings[0].message


def test_tls001_fix_for_a_bucket_outside_the_territory_stays_in_aws_cn():
    bucket = res(
        BUCKET, "west", {"bucket": "west", "region": "us-west-2"}, outputs={"arn": "arn:aws:s3:::west"}
    )
    found = messages(check("TLS-001", bucket))
    assert found and all("arn:aws-cn:s3:::west" in m for m in found)
    assert not any("arn:aws:" in m or "us-west-2" in m for m in found)


# -- TLS-002: MariaDB 11.8 forces TLS by default ---------------------------------------------------------


@pytest.mark.parametrize(
    "version, verdict",
    [("11.8.2", "pass"), ("11.4.5", "fail"), (U, "unknown"), ("12.0", "pass")],
)
def test_tls002_mariadb_default_group(version, verdict):
    db = res(RDS, "db", {"engine": "mariadb", "engineVersion": version})
    result = check("TLS-002", db)
    if verdict == "pass":
        assert messages(result) == []
    elif verdict == "fail":
        assert not result.findings[0].unknown
        assert "require_secure_transport" in result.findings[0].message
    else:
        assert result.findings[0].unknown and "11.8+" in result.findings[0].message


@pytest.mark.parametrize("family, passes", [("mariadb11.8", True), ("mariadb10.11", False)])
def test_tls002_mariadb_custom_group_inherits_family_default(family, passes):
    group = res(PARAMS, "pg", {"name": "pg", "family": family, "parameters": []})
    found = messages(check("TLS-002", group))
    assert (found == []) is passes
    if not passes:
        assert "require_secure_transport" in found[0]


# -- TLS-003: classic ELB negotiation policies -----------------------------------------------------------


def classic(port=443):
    return res(ELB, "web", {"name": "web", "listeners": [{"lbProtocol": "https", "lbPort": port}]})


def negotiation(reference):
    policy = res(
        LB_POLICY,
        "tls",
        {
            "loadBalancerName": "web",
            "policyName": "tls",
            "policyTypeName": "SSLNegotiationPolicyType",
            "policyAttributes": [{"name": "Reference-Security-Policy", "value": reference}],
        },
    )
    attach = res(
        LISTENER_POLICY,
        "tls-443",
        {"loadBalancerName": "web", "loadBalancerPort": 443, "policyNames": ["tls"]},
    )
    return policy, attach


def test_tls003_classic_default_negotiation_allows_tls10():
    found = messages(check("TLS-003", classic()))
    assert len(found) == 1 and "ELBSecurityPolicy-2016-08" in found[0] and "port 443" in found[0]


def test_tls003_classic_reference_policy_2016_08_fails():
    result = check("TLS-003", classic(), *negotiation("ELBSecurityPolicy-2016-08"))
    found = messages(result)
    assert len(found) == 1 and "'ELBSecurityPolicy-2016-08'" in found[0] and "TLS 1.0" in found[0]
    assert result.findings[0].name == "tls"


def test_tls003_classic_tls12_reference_policy_passes():
    assert messages(check("TLS-003", classic(), *negotiation("ELBSecurityPolicy-TLS-1-2-2017-01"))) == []


def test_tls003_classic_policy_attributes_unknown():
    policy = res(
        LB_POLICY,
        "tls",
        {
            "loadBalancerName": "web",
            "policyName": "tls",
            "policyTypeName": "SSLNegotiationPolicyType",
            "policyAttributes": U,
        },
    )
    result = check("TLS-003", policy)
    assert result.findings[0].unknown and "policyAttributes" in result.findings[0].message


# -- TLS-003: listener rules that forward on a plain-HTTP listener --------------------------------------

REDIRECT = [{"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}]


def http_listener(protocol="HTTP"):
    return res(
        LISTENER,
        "http",
        {
            "protocol": protocol,
            "port": 80 if protocol == "HTTP" else 443,
            "defaultActions": REDIRECT,
            "sslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
        },
        outputs={"arn": "arn:aws-cn:elasticloadbalancing:cn-north-1:123456789012:listener/app/web/1/2"},
    )


def rule_on(listener, actions, listener_arn=None):
    return res(
        RULE,
        "api",
        {"listenerArn": listener_arn or listener.props["arn"], "actions": actions},
        property_dependencies={"listenerArn": [listener.urn]},
    )


def test_tls003_rule_forwarding_on_redirecting_http_listener_fails():
    listener = http_listener()
    rule_ = rule_on(listener, [{"type": "forward", "targetGroupArn": "arn:aws-cn:tg"}])
    found = only(check("TLS-003", listener, rule_), "TLS-003")
    assert len(found) == 1
    assert "ListenerRule 'api' forwards" in found[0] and "default action redirects" in found[0]
    assert "protocol: 'HTTPS'" in found[0]


@pytest.mark.parametrize("protocol, actions", [("HTTPS", [{"type": "forward"}]), ("HTTP", REDIRECT)])
def test_tls003_rule_passes(protocol, actions):
    listener = http_listener(protocol)
    assert messages(check("TLS-003", listener, rule_on(listener, actions))) == []


def test_tls003_rule_on_unknown_listener_is_unknown():
    listener = http_listener()
    rule_ = res(RULE, "api", {"listenerArn": U, "actions": [{"type": "forward"}]})
    result = check("TLS-003", listener, rule_)
    found = [f for f in result.findings if f.name == "api"]
    assert found and found[0].unknown and "its listener is not known until apply" in found[0].message


# -- TLS-006: CloudFront -----------------------------------------------------------------------------


def distribution(
    viewer=None, origin_policy="https-only", viewer_policy="redirect-to-https", protocols=("TLSv1.2",)
):
    return res(
        DISTRIBUTION,
        "cdn",
        {
            "viewerCertificate": viewer
            if viewer is not None
            else {
                "iamCertificateId": "ASCAEXAMPLE",
                "sslSupportMethod": "sni-only",
                "minimumProtocolVersion": "TLSv1.2_2021",
            },
            "defaultCacheBehavior": {"viewerProtocolPolicy": viewer_policy},
            "origins": [
                {
                    "originId": "api",
                    "domainName": "api.example.cn",
                    "customOriginConfig": {
                        "originProtocolPolicy": origin_policy,
                        "originSslProtocols": list(protocols),
                    },
                }
            ],
        },
    )


def test_tls006_compliant_distribution_passes():
    assert messages(check("TLS-006", distribution())) == []


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({"viewer": {"cloudfrontDefaultCertificate": True}}, "default CloudFront certificate"),
        (
            {"viewer": {"iamCertificateId": "ASCA", "minimumProtocolVersion": "TLSv1.2_2019"}},
            "minimumProtocolVersion is 'TLSv1.2_2019'",
        ),
        ({"origin_policy": "match-viewer"}, "originProtocolPolicy 'match-viewer'"),
        ({"viewer_policy": "allow-all"}, "viewerProtocolPolicy 'allow-all'"),
        ({"protocols": ("TLSv1", "TLSv1.2")}, "originSslProtocols TLSv1"),
    ],
)
def test_tls006_fails(kwargs, expected):
    found = messages(check("TLS-006", distribution(**kwargs)))
    assert len(found) == 1 and expected in found[0] and "Distribution 'cdn'" in found[0], found
    assert "us-east-1" not in found[0] and "arn:aws:" not in found[0]


def test_tls006_unknown_viewer_certificate():
    result = check("TLS-006", distribution(viewer=U))
    assert result.findings[0].unknown and "viewerCertificate" in result.findings[0].message


# -- TLS-007: API Gateway ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "inputs, verdict",
    [
        ({"name": "api"}, "fail"),
        ({"name": "api", "securityPolicy": "TLS_1_0"}, "fail"),
        ({"name": "api", "securityPolicy": "TLS_1_2"}, "pass"),
        (
            {
                "name": "api",
                "securityPolicy": "SecurityPolicy_TLS13_1_2_2021_06",
                "endpointAccessMode": "STRICT",
            },
            "pass",
        ),
        ({"name": "api", "disableExecuteApiEndpoint": True}, "pass"),
        ({"name": "api", "securityPolicy": U}, "unknown"),
    ],
)
def test_tls007_rest_api_default_endpoint(inputs, verdict):
    result = check("TLS-007", res(REST_API, "api", inputs))
    if verdict == "pass":
        assert messages(result) == []
    else:
        finding = result.findings[0]
        assert finding.unknown is (verdict == "unknown")
        assert "securityPolicy" in finding.message and "RestApi 'api'" in finding.message


@pytest.mark.parametrize(
    "type_, inputs, verdict",
    [
        (DOMAIN, {"domainName": "api.example.cn", "securityPolicy": "TLS_1_0"}, "fail"),
        (DOMAIN, {"domainName": "api.example.cn"}, "fail"),
        (DOMAIN, {"domainName": "api.example.cn", "securityPolicy": "TLS_1_2"}, "pass"),
        (DOMAIN_V2, {"domainNameConfiguration": {"securityPolicy": "TLS_1_2"}}, "pass"),
        (DOMAIN_V2, {"domainNameConfiguration": U}, "unknown"),
    ],
)
def test_tls007_custom_domains(type_, inputs, verdict):
    result = check("TLS-007", res(type_, "domain", inputs))
    if verdict == "pass":
        assert messages(result) == []
    else:
        assert result.findings[0].unknown is (verdict == "unknown")
        assert "securityPolicy" in result.findings[0].message and "'TLS_1_2'" in result.findings[0].message


def test_tls007_stage_of_api_in_stack_is_judged_through_the_api():
    api = res(REST_API, "api", {"name": "api", "securityPolicy": "TLS_1_2"})
    stage = res(
        STAGE, "prod", {"restApi": U, "stageName": "prod"}, property_dependencies={"restApi": [api.urn]}
    )
    assert messages(check("TLS-007", api, stage)) == []


def test_tls007_stage_of_api_outside_the_stack_is_unknown():
    stage = res(STAGE, "prod", {"restApi": "abc123", "stageName": "prod"})
    result = check("TLS-007", stage)
    assert (
        result.findings[0].unknown
        and "REST API it deploys is not in this stack" in result.findings[0].message
    )
