"""TLS-001 (S3 bucket policies), TLS-002 (RDS), TLS-003 (load balancers), TLS-004 (ElastiCache),
TLS-005 (OpenSearch)."""

from __future__ import annotations

import json

import pytest
from builders import messages, res, urn
from honesty import check, evaluate
from paths import public_fixture

from policies.registry import all_rules
from policies.sources import load_stack

U = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

BUCKET_V6 = "aws:s3/bucketV2:BucketV2"
BUCKET = "aws:s3/bucket:Bucket"  # v7 bucket, and the legacy inline v6 bucket
POLICY = "aws:s3/bucketPolicy:BucketPolicy"
ARN = "arn:aws-cn:s3:::uploads"

DENY_HTTP = {
    "Sid": "DenyInsecureTransport",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": [ARN, f"{ARN}/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}
DENY_OLD_TLS = {
    "Sid": "DenyOutdatedTls",
    "Effect": "Deny",
    "Principal": {"AWS": "*"},
    "Action": ["s3:*"],
    "Resource": [ARN, f"{ARN}/*"],
    "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}},
}


def doc(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def with_policy(bucket_type, policy, tags=None):
    """A bucket and a BucketPolicy side resource joined through the bucket property dependency."""
    bucket = res(bucket_type, "uploads", {"bucket": "uploads", "tags": tags or {}})
    side = res(
        POLICY,
        "uploads-policy",
        {"bucket": "uploads", "policy": policy},
        property_dependencies={"bucket": [bucket.urn]},
    )
    return bucket, side


def legacy(policy):
    """The v6 legacy bucket with an inline policy JSON string."""
    return (res(BUCKET, "uploads", {"bucket": "uploads", "policy": policy}),)


def variant(statement, **changes):
    return {**statement, **changes}


# -- TLS-001 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "resources",
    [
        pytest.param(with_policy(BUCKET_V6, doc(DENY_HTTP, DENY_OLD_TLS)), id="v6-side-policy-json"),
        pytest.param(
            with_policy(BUCKET, {"Version": "2012-10-17", "Statement": [DENY_HTTP, DENY_OLD_TLS]}),
            id="v7-side-policy-object",
        ),
        pytest.param(legacy(doc(DENY_HTTP, DENY_OLD_TLS)), id="v6-legacy-inline"),
        pytest.param(
            legacy(
                doc(
                    variant(DENY_HTTP, Condition={"BoolIfExists": {"aws:SecureTransport": False}}),
                    variant(DENY_OLD_TLS, Action="*", Condition={"NumericLessThan": {"s3:TlsVersion": 1.2}}),
                )
            ),
            id="bool-if-exists-and-numeric-value",
        ),
        pytest.param(
            (res(BUCKET_V6, "assets", {"bucket": "assets", "tags": {"data-category": "non-personal"}}),),
            id="non-personal-exempt",
        ),
    ],
)
def test_tls001_passes(resources):
    assert messages(check("TLS-001", *resources)) == []


@pytest.mark.parametrize(
    "resources, missing",
    [
        pytest.param(
            (res(BUCKET_V6, "uploads", {"bucket": "uploads"}),),
            ["without TLS", "below 1.2"],
            id="no-policy-v6",
        ),
        pytest.param(
            (res(BUCKET, "uploads", {"bucket": "uploads"}),), ["without TLS", "below 1.2"], id="no-policy-v7"
        ),
        pytest.param(with_policy(BUCKET_V6, doc(DENY_HTTP)), ["below 1.2"], id="only-secure-transport"),
        pytest.param(with_policy(BUCKET, doc(DENY_OLD_TLS)), ["without TLS"], id="only-tls-version"),
        pytest.param(legacy(doc(DENY_OLD_TLS)), ["without TLS"], id="legacy-only-tls-version"),
        pytest.param(
            legacy(doc(variant(DENY_HTTP, Effect="Allow"), DENY_OLD_TLS)),
            ["without TLS"],
            id="allow-not-deny",
        ),
        pytest.param(
            legacy(
                doc(variant(DENY_HTTP, Principal={"AWS": "arn:aws-cn:iam::123456789012:root"}), DENY_OLD_TLS)
            ),
            ["without TLS"],
            id="one-principal-only",
        ),
        pytest.param(
            legacy(doc(variant(DENY_HTTP, Action="s3:GetObject"), DENY_OLD_TLS)),
            ["without TLS"],
            id="one-action",
        ),
        pytest.param(
            legacy(doc(variant(DENY_HTTP, Resource=ARN), DENY_OLD_TLS)), ["without TLS"], id="bucket-only"
        ),
        pytest.param(
            legacy(
                doc(DENY_HTTP, variant(DENY_OLD_TLS, Condition={"NumericLessThan": {"s3:TlsVersion": "1.1"}}))
            ),
            ["below 1.2"],
            id="tls-1.1-threshold",
        ),
    ],
)
def test_tls001_fails(resources, missing):
    result = check("TLS-001", *resources)
    found = messages(result)
    assert len(found) == len(missing), found
    for text, what in zip(found, missing, strict=True):
        assert what in text
        assert '"Effect": "Deny"' in text  # shows the statement to add
    assert {f.urn for f in result.findings} == {resources[0].urn}


def test_tls001_message_names_the_policy_to_extend():
    found = messages(check("TLS-001", *with_policy(BUCKET_V6, doc(DENY_HTTP))))
    assert found[0].startswith("BucketV2 'uploads' does not deny TLS below 1.2; add {")
    assert "arn:aws-cn:s3:::uploads/*" in found[0]
    assert found[0].endswith("to the bucket policy (BucketPolicy 'uploads-policy')")


def test_tls001_without_policy_says_so():
    found = messages(check("TLS-001", res(BUCKET, "uploads", {"bucket": "uploads"})))
    assert all("it has no bucket policy" in m for m in found)


def test_tls001_malformed_policy_is_a_finding():
    result = check("TLS-001", *legacy("{not json"))
    assert messages(result) == [
        "Bucket 'uploads': the bucket policy in its inline policy is not a valid policy document (not valid JSON); fix it"
    ]
    assert not result.findings[0].unknown


@pytest.mark.parametrize(
    "resources",
    [
        pytest.param(with_policy(BUCKET_V6, U), id="policy-unknown"),
        pytest.param(legacy(U), id="legacy-policy-unknown"),
        pytest.param(
            with_policy(BUCKET, {"Statement": [DENY_HTTP, variant(DENY_OLD_TLS, Principal=U)]}),
            id="statement-part-unknown",
        ),
    ],
)
def test_tls001_unknown_fails_closed(resources):
    result = check("TLS-001", *resources)
    assert result.findings and all(f.unknown for f in result.findings)
    assert all("not known until apply" in f.message for f in result.findings)


# -- TLS-002 -----------------------------------------------------------------------------------------

PG = "aws:rds/parameterGroup:ParameterGroup"
CPG = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
RDS = "aws:rds/instance:Instance"
CLUSTER = "aws:rds/cluster:Cluster"


def group(family, params=(), name="tls", type_=PG):
    return res(type_, name, {"name": name, "family": family, "parameters": list(params)})


def param(name, value):
    return {"name": name, "value": value, "applyMethod": "pending-reboot"}


@pytest.mark.parametrize(
    "resource",
    [
        group("postgres14", [param("rds.force_ssl", "1")]),
        group("postgres16"),  # rds.force_ssl defaults to 1 from PostgreSQL 15
        group("aurora-postgresql15", [param("rds.force_ssl", 1)], type_=CPG),
        group("sqlserver-se-15.0", [param("rds.force_ssl", "1")]),
        group("mysql8.0", [param("require_secure_transport", "ON")]),
        group("mariadb10.11", [param("require_secure_transport", "1")]),
        group("aurora-mysql8.0", [param("require_secure_transport", "ON")], type_=CPG),
        group("oracle-ee-19"),
    ],
    ids=lambda r: r.props["family"],
)
def test_tls002_parameter_group_passes(resource):
    assert messages(check("TLS-002", resource)) == []


@pytest.mark.parametrize(
    "resource, expected",
    [
        (group("postgres14"), "does not set rds.force_ssl"),
        (group("postgres16", [param("rds.force_ssl", "0")]), "sets rds.force_ssl = '0'"),
        (group("aurora-postgresql15", type_=CPG), "does not set rds.force_ssl"),
        (group("sqlserver-ex-16.0", [param("max_connections", "10")]), "does not set rds.force_ssl"),
        (group("mysql8.0", [param("require_secure_transport", "OFF")]), "set it to 'ON'"),
        (group("aurora-mysql8.0", type_=CPG), "does not set require_secure_transport"),
    ],
)
def test_tls002_parameter_group_fails(resource, expected):
    found = messages(check("TLS-002", resource))
    assert len(found) == 1 and expected in found[0]
    assert "so clients may connect without TLS" in found[0]


@pytest.mark.parametrize(
    "inputs", [{"name": "p", "family": U}, {"name": "p", "family": "postgres14", "parameters": U}]
)
def test_tls002_parameter_group_unknown(inputs):
    result = check("TLS-002", res(PG, "p", inputs))
    assert len(result.findings) == 1 and result.findings[0].unknown


def db(engine, version=None, group_name=None, deps=None, type_=RDS, **extra):
    inputs = {"engine": engine, **extra}
    if version is not None:
        inputs["engineVersion"] = version
    if group_name is not None:
        inputs["dbClusterParameterGroupName" if type_ == CLUSTER else "parameterGroupName"] = group_name
    return res(type_, "db", inputs, property_dependencies=deps)


@pytest.mark.parametrize(
    "resources",
    [
        pytest.param((db("postgres", "16.3"),), id="pg16-default-group"),
        pytest.param((db("postgres", "15", "default.postgres15"),), id="pg15-named-default"),
        pytest.param(
            (db("postgres", "14.9", "tls"), group("postgres14", [param("rds.force_ssl", "1")])), id="by-name"
        ),
        pytest.param(
            (
                db("mysql", "8.0", U, deps={"parameterGroupName": [urn(PG, "tls")]}),
                group("mysql8.0", [param("require_secure_transport", "ON")]),
            ),
            id="through-property-dependency",
        ),
        pytest.param(
            (
                db("aurora-postgresql", "15.4", "tls", type_=CLUSTER),
                group("aurora-postgresql15", [param("rds.force_ssl", "1")], type_=CPG),
            ),
            id="aurora-cluster-group",
        ),
        pytest.param((db("oracle-se2", "19"),), id="oracle-not-applicable"),
        pytest.param((db("mysql", "8.0", tags={"data-category": "non-personal"}),), id="non-personal-exempt"),
    ],
)
def test_tls002_database_passes(resources):
    assert messages(check("TLS-002", *resources)) == []


@pytest.mark.parametrize(
    "resources, expected",
    [
        pytest.param(
            (db("postgres", "14.9"),),
            "uses the default parameter group, where rds.force_ssl is off",
            id="pg14-default",
        ),
        pytest.param(
            (db("mysql", "8.0", "default.mysql8.0"),), "require_secure_transport is off", id="mysql-default"
        ),
        pytest.param(
            (db("aurora-postgresql", "16.1", type_=CLUSTER),),
            "dbClusterParameterGroupName",
            id="aurora-default",
        ),
        pytest.param(
            (db("postgres", "14.9", "plain"), group("postgres14", name="plain")),
            "uses ParameterGroup 'plain', which does not set rds.force_ssl",
            id="stack-group-without-tls",
        ),
    ],
)
def test_tls002_database_fails(resources, expected):
    result = check("TLS-002", *resources)
    found = messages(result, resources[0].urn)
    assert len(found) == 1 and expected in found[0], found
    assert found[0].startswith(("Instance 'db'", "Cluster 'db'"))
    assert not result.findings[0].unknown


@pytest.mark.parametrize(
    "resource, expected",
    [
        pytest.param(db("postgres"), "engineVersion is not set", id="pg-no-version"),
        pytest.param(db("postgres", U), "unknown until apply", id="pg-version-unknown"),
        pytest.param(db(U), "engine is not known", id="engine-unknown"),
        pytest.param(db("mysql", "8.0", U), "parameterGroupName is not known", id="group-name-unknown"),
        pytest.param(db("mysql", "8.0", "shared-tls"), "not declared in this stack", id="external-group"),
    ],
)
def test_tls002_database_unknown_fails_closed(resource, expected):
    result = check("TLS-002", resource)
    assert len(result.findings) == 1 and result.findings[0].unknown
    assert expected in result.findings[0].message


# -- TLS-003 -----------------------------------------------------------------------------------------

LISTENER = "aws:lb/listener:Listener"
ALB_LISTENER = "aws:alb/listener:Listener"
LB = "aws:lb/loadBalancer:LoadBalancer"
ELB = "aws:elb/loadBalancer:LoadBalancer"
REDIRECT = {"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}


def listener(type_=LISTENER, **inputs):
    return res(type_, "web", inputs)


@pytest.mark.parametrize(
    "resources",
    [
        pytest.param(
            (listener(protocol="HTTPS", port=443, sslPolicy="ELBSecurityPolicy-TLS13-1-2-2021-06"),),
            id="tls13",
        ),
        pytest.param(
            (listener(ALB_LISTENER, protocol="HTTPS", sslPolicy="ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04"),),
            id="fips-alb-token",
        ),
        pytest.param(
            (listener(protocol="HTTPS", sslPolicy="ELBSecurityPolicy-TLS-1-2-Ext-2018-06"),), id="tls12-ext"
        ),
        pytest.param(
            (listener(protocol="TLS", sslPolicy="ELBSecurityPolicy-FS-1-2-Res-2020-10"),), id="nlb-tls-fs"
        ),
        pytest.param(
            (listener(protocol="HTTPS", sslPolicy="ELBSecurityPolicy-TLS13-1-3-2021-06"),), id="tls13-only"
        ),
        pytest.param((listener(protocol="HTTP", port=80, defaultActions=[REDIRECT]),), id="http-redirect"),
        pytest.param(
            (listener(protocol="HTTP", defaultActions=[{**REDIRECT, "redirect": [REDIRECT["redirect"]]}]),),
            id="http-redirect-list-block",
        ),
        pytest.param(
            (
                res(LB, "gwlb", {"loadBalancerType": "gateway"}),
                res(
                    LISTENER,
                    "web",
                    {"loadBalancerArn": U},
                    property_dependencies={"loadBalancerArn": [urn(LB, "gwlb")]},
                ),
            ),
            id="gateway-load-balancer",
        ),
        pytest.param(
            (
                res(
                    ELB, "classic", {"name": "classic", "listeners": [{"lbProtocol": "https", "lbPort": 443}]}
                ),
                res(
                    "aws:elb/sslNegotiationPolicy:SslNegotiationPolicy",
                    "classic-tls12",
                    {
                        "loadBalancer": "classic",
                        "lbPort": 443,
                        "attributes": [
                            {
                                "name": "Reference-Security-Policy",
                                "value": "ELBSecurityPolicy-TLS-1-2-2017-01",
                            }
                        ],
                    },
                ),
            ),
            id="classic-https-with-tls12-negotiation-policy",
        ),
    ],
)
def test_tls003_passes(resources):
    assert messages(check("TLS-003", *resources)) == []


@pytest.mark.parametrize(
    "resource, expected",
    [
        (
            listener(protocol="HTTPS", port=443),
            "sets no sslPolicy, so it defaults to ELBSecurityPolicy-2016-08",
        ),
        (listener(protocol="HTTPS", sslPolicy="ELBSecurityPolicy-2016-08"), "accepts TLS versions below 1.2"),
        (listener(protocol="HTTPS", sslPolicy="ELBSecurityPolicy-TLS13-1-1-2021-06"), "below 1.2"),
        (listener(protocol="TLS", sslPolicy="ELBSecurityPolicy-TLS-1-1-2017-01"), "below 1.2"),
        (
            listener(protocol="HTTP", port=80, defaultActions=[{"type": "forward", "targetGroupArn": "arn"}]),
            "serves plain HTTP on port 80",
        ),
        (
            listener(protocol="HTTP", defaultActions=[{**REDIRECT, "redirect": {"protocol": "#{protocol}"}}]),
            "serves plain HTTP",
        ),
        (listener(protocol="TCP", port=5432), "uses protocol TCP on port 5432"),
        (listener(protocol="UDP", port=53), "unencrypted"),
        (
            res(ELB, "classic", {"listeners": [{"lbProtocol": "http", "lbPort": 80}]}),
            "http listener on port 80",
        ),
    ],
)
def test_tls003_fails(resource, expected):
    found = messages(check("TLS-003", resource))
    assert len(found) == 1 and expected in found[0], found


def test_tls003_recorded_alb_listener_on_http_fails():
    """The pulumi-aws recorded ALB listener forwards plain HTTP on port 80 (sslPolicy output "")."""
    stack = load_stack(str(public_fixture("pulumi-aws-recorded-lb-stack.json")))
    result = evaluate(stack, [all_rules()["TLS-003"]])
    assert messages(result) == [
        "Listener 'exampleListener' serves plain HTTP on port 80; make every default action a redirect "
        "{type: 'redirect', redirect: {protocol: 'HTTPS', port: '443', statusCode: 'HTTP_301'}} or use "
        "protocol HTTPS with sslPolicy ELBSecurityPolicy-TLS13-1-2-2021-06"
    ]


@pytest.mark.parametrize(
    "resource",
    [
        listener(protocol=U),
        listener(protocol="HTTPS", sslPolicy=U),
        listener(protocol="HTTP", defaultActions=U),
        listener(protocol="HTTP", defaultActions=[{"type": "redirect", "redirect": {"protocol": U}}]),
        res(ELB, "classic", {"listeners": U}),
    ],
)
def test_tls003_unknown_fails_closed(resource):
    result = check("TLS-003", resource)
    assert len(result.findings) == 1 and result.findings[0].unknown


# -- TLS-004 -----------------------------------------------------------------------------------------

GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
CACHE = "aws:elasticache/cluster:Cluster"


@pytest.mark.parametrize(
    "resource",
    [
        res(GROUP, "sessions", {"transitEncryptionEnabled": True}),
        res(GROUP, "sessions", {"transitEncryptionEnabled": True, "transitEncryptionMode": "required"}),
        res(CACHE, "memo", {"engine": "memcached", "transitEncryptionEnabled": True}),
        res(CACHE, "member", {"replicationGroupId": "sessions"}),
        res(CACHE, "member", {"replicationGroupId": U}),
        res(GROUP, "assets", {"tags": {"data-category": "non-personal"}}),
    ],
)
def test_tls004_passes(resource):
    assert messages(check("TLS-004", resource)) == []


@pytest.mark.parametrize(
    "resource, expected",
    [
        (res(GROUP, "sessions", {}), "does not encrypt in transit"),
        (res(GROUP, "sessions", {"transitEncryptionEnabled": False}), "does not encrypt in transit"),
        (
            res(GROUP, "sessions", {"transitEncryptionEnabled": True, "transitEncryptionMode": "preferred"}),
            "'preferred', which still accepts plaintext",
        ),
        (res(CACHE, "memo", {"engine": "memcached"}), "set transitEncryptionEnabled: true"),
        (
            res(CACHE, "solo", {"engine": "redis", "transitEncryptionEnabled": False}),
            "does not encrypt in transit",
        ),
    ],
)
def test_tls004_fails(resource, expected):
    found = messages(check("TLS-004", resource))
    assert len(found) == 1 and expected in found[0], found


@pytest.mark.parametrize(
    "inputs",
    [{"transitEncryptionEnabled": U}, {"transitEncryptionEnabled": True, "transitEncryptionMode": U}],
)
def test_tls004_unknown_fails_closed(inputs):
    result = check("TLS-004", res(GROUP, "sessions", inputs))
    assert len(result.findings) == 1 and result.findings[0].unknown


# -- TLS-005 -----------------------------------------------------------------------------------------

OPENSEARCH = "aws:opensearch/domain:Domain"
ELASTICSEARCH = "aws:elasticsearch/domain:Domain"
ENDPOINT = {"enforceHttps": True, "tlsSecurityPolicy": "Policy-Min-TLS-1-2-PFS-2023-10"}


@pytest.mark.parametrize(
    "type_, inputs",
    [
        (OPENSEARCH, {"domainEndpointOptions": ENDPOINT, "nodeToNodeEncryption": {"enabled": True}}),
        (
            ELASTICSEARCH,
            {
                "domainEndpointOptions": [{**ENDPOINT, "tlsSecurityPolicy": "Policy-Min-TLS-1-2-2019-07"}],
                "nodeToNodeEncryption": [{"enabled": True}],
            },
        ),
        (OPENSEARCH, {"tags": {"data-category": "non-personal"}}),
    ],
)
def test_tls005_passes(type_, inputs):
    assert messages(check("TLS-005", res(type_, "search", inputs))) == []


@pytest.mark.parametrize(
    "inputs, expected",
    [
        (
            {
                "domainEndpointOptions": {**ENDPOINT, "enforceHttps": False},
                "nodeToNodeEncryption": {"enabled": True},
            },
            ["accepts plain HTTP"],
        ),
        (
            {
                "domainEndpointOptions": {**ENDPOINT, "tlsSecurityPolicy": "Policy-Min-TLS-1-0-2019-07"},
                "nodeToNodeEncryption": {"enabled": True},
            },
            ["'Policy-Min-TLS-1-0-2019-07', which may allow TLS 1.0"],
        ),
        (
            {"domainEndpointOptions": ENDPOINT, "nodeToNodeEncryption": {"enabled": False}},
            ["between its nodes"],
        ),
        ({}, ["accepts plain HTTP", "tlsSecurityPolicy is not set", "between its nodes"]),
    ],
)
def test_tls005_fails(inputs, expected):
    found = messages(check("TLS-005", res(OPENSEARCH, "search", inputs)))
    assert len(found) == len(expected), found
    for text, what in zip(found, expected, strict=True):
        assert what in text and text.startswith("Domain 'search'")


@pytest.mark.parametrize(
    "inputs",
    [
        {"domainEndpointOptions": U, "nodeToNodeEncryption": {"enabled": True}},
        {
            "domainEndpointOptions": {**ENDPOINT, "tlsSecurityPolicy": U},
            "nodeToNodeEncryption": {"enabled": True},
        },
        {"domainEndpointOptions": ENDPOINT, "nodeToNodeEncryption": U},
    ],
)
def test_tls005_unknown_fails_closed(inputs):
    result = check("TLS-005", res(OPENSEARCH, "search", inputs))
    assert len(result.findings) == 1 and result.findings[0].unknown
