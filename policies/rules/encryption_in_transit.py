"""Encryption in transit: personal data travels only over TLS 1.2 or later.

The privacy policy names "encryption technologies (such as TLS, SSL)" (controls SEC-ENC-2 and
SEC-COMM-1). Each rule checks the one setting that makes a service refuse plaintext or old TLS:
the bucket policy for S3, `rds.force_ssl` / `require_secure_transport` for RDS, the listener's
security policy for load balancers, and the service flags for ElastiCache and OpenSearch.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from policies.documents import MalformedDocument, Statement, condition_values
from policies.model import UNKNOWN, Resource, Severity
from policies.references import AT_APPLY, referenced
from policies.registry import Violation, rule, unknown
from policies.s3 import as_list, bucket_view, first
from policies.stack import Stack
from policies.tokens import (
    CLASSIC_ELB,
    ELASTICACHE_CLUSTER,
    ELASTICACHE_REPLICATION_GROUP,
    ELASTICSEARCH_DOMAIN,
    LB_LISTENER_TYPES,
    OPENSEARCH_DOMAIN,
    RDS_CLUSTER,
    RDS_CLUSTER_PARAMETER_GROUP,
    RDS_INSTANCE,
    RDS_PARAMETER_GROUP,
    S3_BUCKET_TYPES,
)
from policies.values import flag

Problem = str | Violation


def _block(res: Resource, name: str) -> Any:
    """A nested block that may be an object or a one-element list: dict, UNKNOWN or None."""
    value = first(res.props.get(name))
    if value is UNKNOWN or isinstance(value, dict):
        return value
    return None


# -- TLS-001: S3 bucket policies ---------------------------------------------------------------------


def _denies_everyone_s3(st: Statement) -> bool:
    if not st.denies or "*" not in st.principals("AWS"):
        return False
    if not any(isinstance(a, str) and a.lower() in ("s3:*", "*") for a in st.actions):
        return False
    # The statement must reach the objects, not only the bucket (`arn:...:bucket/*` or `*`).
    return any(not isinstance(r, str) or r.endswith("*") for r in st.resources)


def _denies_plaintext(st: Statement) -> bool:
    return _denies_everyone_s3(st) and any(
        op.lower() in ("bool", "boolifexists") and str(value).lower() == "false"
        for op, value in condition_values(st, "aws:SecureTransport")
    )


def _denies_old_tls(st: Statement) -> bool:
    if not _denies_everyone_s3(st):
        return False
    for op, value in condition_values(st, "s3:TlsVersion"):
        if op.lower() != "numericlessthan":
            continue
        try:
            if float(value) >= 1.2:
                return True
        except (TypeError, ValueError):
            continue
    return False


def _bucket_arn(res: Resource, stack: Stack) -> str:
    arn = res.props.get("arn")
    if isinstance(arn, str) and arn:
        return arn
    name = res.props.get("bucket")
    partition = res.partition if isinstance(res.partition, str) else stack.settings.partition
    return f"arn:{partition}:s3:::{name if isinstance(name, str) and name else '<bucket>'}"


def _deny_statement(sid: str, arn: str, condition: dict[str, dict[str, str]]) -> str:
    statement = {
        "Sid": sid,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [arn, f"{arn}/*"],
        "Condition": condition,
    }
    return json.dumps(statement, separators=(", ", ": "))


@rule(
    id="TLS-001",
    title="Bucket policies deny non-TLS and TLS below 1.2",
    severity=Severity.HIGH,
    types=S3_BUCKET_TYPES,
    remediation=(
        "Add two Deny statements for Principal '*' and Action 's3:*' on the bucket and its objects: "
        "one with Condition {Bool: {aws:SecureTransport: 'false'}}, one with "
        "{NumericLessThan: {s3:TlsVersion: '1.2'}}."
    ),
)
def bucket_requires_tls(res: Resource, stack: Stack) -> Iterator[Problem]:
    """Every personal-data bucket refuses plain HTTP and TLS 1.0/1.1 through its bucket policy."""
    if not stack.holds_personal_data(res):
        return
    view = bucket_view(res)
    statements: list[Statement] = []
    for source, parsed in view.policies:
        where = "its inline policy" if source is res else source.label
        if parsed is UNKNOWN:
            yield unknown(
                f"{res.label}: the bucket policy in {where} is not known until apply, so its TLS "
                f"statements cannot be verified here; {AT_APPLY}"
            )
            return
        if isinstance(parsed, MalformedDocument):
            yield f"{res.label}: the bucket policy in {where} is not a valid policy document ({parsed.reason}); fix it"
            return
        statements.extend(parsed)
    sources = [source for source, _ in view.policies]
    target = (
        f"to the bucket policy ({', '.join('its inline policy' if s is res else s.label for s in sources)})"
        if sources
        else "in a BucketPolicy for it (it has no bucket policy)"
    )
    partly_unknown = any(st.has_unknown for st in statements)
    arn = _bucket_arn(res, stack)
    requirements = (
        (
            _denies_plaintext,
            "requests without TLS",
            _deny_statement("DenyInsecureTransport", arn, {"Bool": {"aws:SecureTransport": "false"}}),
        ),
        (
            _denies_old_tls,
            "TLS below 1.2",
            _deny_statement("DenyOutdatedTls", arn, {"NumericLessThan": {"s3:TlsVersion": "1.2"}}),
        ),
    )
    for satisfied, what, statement in requirements:
        if any(satisfied(st) for st in statements):
            continue
        if partly_unknown:
            yield unknown(
                f"{res.label}: parts of its bucket policy are not known until apply, so a statement denying "
                f"{what} cannot be verified here ({AT_APPLY}); add {statement}"
            )
        else:
            yield f"{res.label} does not deny {what}; add {statement} {target}"


# -- TLS-002: RDS forces TLS -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TlsParameter:
    """The parameter that makes an engine refuse connections without TLS."""

    name: str
    accepted: frozenset[str]
    shown: str


_FORCE_SSL = TlsParameter("rds.force_ssl", frozenset({"1"}), "1")
_SECURE_TRANSPORT = TlsParameter("require_secure_transport", frozenset({"1", "on", "true"}), "ON")

#: Engine or parameter-group family prefix -> its TLS parameter (longest prefixes first).
_TLS_PARAMETERS = (
    ("aurora-postgresql", _FORCE_SSL),
    ("postgres", _FORCE_SSL),
    ("sqlserver", _FORCE_SSL),
    ("aurora-mysql", _SECURE_TRANSPORT),
    ("mysql", _SECURE_TRANSPORT),
    ("mariadb", _SECURE_TRANSPORT),
)
_PARAMETER_GROUP_TYPES = (RDS_PARAMETER_GROUP, RDS_CLUSTER_PARAMETER_GROUP)
#: RDS for PostgreSQL sets rds.force_ssl = 1 by default from major version 15.
_POSTGRES_FORCE_SSL_DEFAULT_FROM = 15


def _tls_parameter(engine_or_family: str) -> TlsParameter | None:
    for prefix, parameter in _TLS_PARAMETERS:
        if engine_or_family.startswith(prefix):
            return parameter
    return None


def _postgres_major(text: Any) -> Any:
    """15 from "15.4", "15" or family "postgres15"; None when it cannot be read."""
    if text is UNKNOWN:
        return UNKNOWN
    match = re.match(r"^(?:postgres)?(\d+)", text) if isinstance(text, str) else None
    return int(match.group(1)) if match else None


def _forces_tls_by_default(family: str) -> bool:
    """A custom group inherits its family's defaults; RDS for PostgreSQL 15+ defaults to force_ssl 1."""
    if not family.startswith("postgres"):
        return False
    major = _postgres_major(family)
    return isinstance(major, int) and major >= _POSTGRES_FORCE_SSL_DEFAULT_FROM


def _group_problem(group: Resource) -> Any:
    """None when the group forces TLS (or its family has no TLS parameter), else why not; UNKNOWN."""
    family = group.props.get("family")
    if family is UNKNOWN:
        return UNKNOWN
    if not isinstance(family, str):
        return None
    parameter = _tls_parameter(family)
    if parameter is None:
        return None
    params = group.props.get("parameters")
    if params is UNKNOWN:
        return UNKNOWN
    for entry in as_list(params):
        if entry is UNKNOWN:
            return UNKNOWN
        if not isinstance(entry, dict) or entry.get("name") != parameter.name:
            continue
        value = entry.get("value")
        if value is UNKNOWN:
            return UNKNOWN
        if str(value).strip().lower() in parameter.accepted:
            return None
        return f"sets {parameter.name} = {value!r}, so clients may connect without TLS; set it to {parameter.shown!r}"
    if _forces_tls_by_default(family):
        return None
    return (
        f"does not set {parameter.name}, so clients may connect without TLS; add the parameter "
        f"{{name: '{parameter.name}', value: '{parameter.shown}'}}"
    )


def _find_group(res: Resource, prop: str, name: Any, stack: Stack) -> Resource | None:
    if name is UNKNOWN:
        return referenced(stack, res, prop, _PARAMETER_GROUP_TYPES)
    if isinstance(name, str) and name:
        return stack.memo("tls.parameter_groups_by_name", _index_parameter_groups).get(name)
    return None


def _index_parameter_groups(stack: Stack) -> dict[str, Resource]:
    """Parameter groups by name and id, built once per stack (a lookup per database stays O(1))."""
    index: dict[str, Resource] = {}
    for candidate in stack.of_type(*_PARAMETER_GROUP_TYPES):
        for key in ("name", "id"):
            value = candidate.props.get(key)
            if isinstance(value, str) and value:
                index.setdefault(value, candidate)
    return index


def _engine(res: Resource, stack: Stack) -> Any:
    engine = res.props.get("engine")
    if engine is None:
        # A read replica takes the engine of its source instance.
        source = referenced(stack, res, "replicateSourceDb", (RDS_INSTANCE,))
        if source is not None:
            return source.props.get("engine")
    return engine


@rule(
    id="TLS-002",
    title="RDS forces TLS",
    severity=Severity.HIGH,
    types=[*_PARAMETER_GROUP_TYPES, RDS_INSTANCE, RDS_CLUSTER],
    remediation=(
        "Give the database a parameter group declared in the stack that sets rds.force_ssl = 1 "
        "(PostgreSQL, SQL Server) or require_secure_transport = ON (MySQL, MariaDB, Aurora MySQL)."
    ),
)
def rds_forces_tls(res: Resource, stack: Stack) -> Iterator[Problem]:
    """Parameter groups force TLS, and every personal-data database uses such a group."""
    if res.type in _PARAMETER_GROUP_TYPES:
        problem = _group_problem(res)
        if problem is UNKNOWN:
            yield unknown(
                f"{res.label}: its family or parameters are not known until apply, so TLS cannot be verified"
            )
        elif problem:
            yield f"{res.label} {problem}"
        return
    if not stack.holds_personal_data(res):
        return
    yield from _database_problems(res, stack)


def _database_problems(res: Resource, stack: Stack) -> Iterator[Problem]:
    engine = _engine(res, stack)
    if engine is UNKNOWN:
        yield unknown(
            f"{res.label}: its engine is not known until apply, so TLS enforcement cannot be verified"
        )
        return
    if not isinstance(engine, str):
        yield unknown(
            f"{res.label} does not name its engine, so TLS enforcement cannot be verified; set engine"
        )
        return
    parameter = _tls_parameter(engine)
    if parameter is None:
        return
    prop = "dbClusterParameterGroupName" if res.type == RDS_CLUSTER else "parameterGroupName"
    name = res.props.get(prop)
    group = _find_group(res, prop, name, stack)
    fix = (
        f"declare a {'ClusterParameterGroup' if res.type == RDS_CLUSTER else 'ParameterGroup'} with "
        f"{parameter.name} = {parameter.shown} and set {prop} to it"
    )
    if group is not None:
        problem = _group_problem(group)
        if problem is UNKNOWN:
            yield unknown(f"{res.label}: {group.label} is not known until apply, so TLS cannot be verified")
        elif problem:
            yield f"{res.label} uses {group.label}, which {problem}"
        return
    if name is UNKNOWN:
        yield unknown(
            f"{res.label}: its {prop} is not known until apply and does not come from exactly one parameter "
            f"group of this stack, so TLS cannot be verified; {AT_APPLY}; {fix}"
        )
        return
    if name in (None, "") or (isinstance(name, str) and name.startswith("default.")):
        if engine == "postgres":
            version = res.props.get("engineVersion")
            major = _postgres_major(version)
            if isinstance(major, int) and major >= _POSTGRES_FORCE_SSL_DEFAULT_FROM:
                return
            if major is UNKNOWN or major is None:
                yield unknown(
                    f"{res.label} uses the default parameter group and its engineVersion is "
                    f"{'unknown until apply' if major is UNKNOWN else 'not set'}, so whether rds.force_ssl "
                    f"defaults to 1 (PostgreSQL 15+) cannot be verified; pin engineVersion or {fix}"
                )
                return
        yield (
            f"{res.label} uses the default parameter group, where {parameter.name} is off, so clients "
            f"may connect without TLS; {fix}"
        )
        return
    yield unknown(
        f"{res.label} uses parameter group {name!r}, which is not declared in this stack, so whether it "
        f"forces TLS cannot be verified; {fix}"
    )


# -- TLS-003: load balancer listeners ----------------------------------------------------------------

#: ELB security policies that only negotiate TLS 1.2 or later (FIPS and PQ variants included).
_TLS12_POLICY_PREFIXES = (
    "ELBSecurityPolicy-TLS13-1-2-",
    "ELBSecurityPolicy-TLS13-1-3-",
    "ELBSecurityPolicy-TLS-1-2-",
    "ELBSecurityPolicy-FS-1-2-",
)
_LOAD_BALANCER_TYPES = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
_RECOMMENDED_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


def _load_balancer(res: Resource, stack: Stack) -> Resource | None:
    arn = res.props.get("loadBalancerArn")
    if arn is UNKNOWN:
        return referenced(stack, res, "loadBalancerArn", _LOAD_BALANCER_TYPES)
    if isinstance(arn, str) and arn:
        return stack.memo("tls.load_balancers_by_arn", _index_load_balancers).get(arn)
    return None


def _index_load_balancers(stack: Stack) -> dict[str, Resource]:
    index: dict[str, Resource] = {}
    for candidate in stack.of_type(*_LOAD_BALANCER_TYPES):
        arn = candidate.props.get("arn")
        if isinstance(arn, str) and arn:
            index.setdefault(arn, candidate)
    return index


def _redirects_to_https(actions: Any) -> Any:
    if actions is UNKNOWN:
        return UNKNOWN
    entries = as_list(actions)
    if not entries:
        return False
    for action in entries:
        if action is UNKNOWN:
            return UNKNOWN
        if not isinstance(action, dict) or action.get("type") != "redirect":
            return False
        redirect = first(action.get("redirect"))
        if redirect is UNKNOWN:
            return UNKNOWN
        protocol = redirect.get("protocol") if isinstance(redirect, dict) else None
        if protocol is UNKNOWN:
            return UNKNOWN
        if protocol != "HTTPS":
            return False
    return True


@rule(
    id="TLS-003",
    title="Load balancer listeners use TLS 1.2+",
    severity=Severity.HIGH,
    types=[*LB_LISTENER_TYPES, CLASSIC_ELB],
    remediation=(
        f"Use protocol HTTPS (or TLS) with sslPolicy {_RECOMMENDED_POLICY} or another TLS 1.2+ "
        "policy; a plain HTTP listener may only redirect to HTTPS."
    ),
)
def listener_uses_tls(res: Resource, stack: Stack) -> Iterator[Problem]:
    """Clients reach a load balancer only over TLS 1.2+, or are redirected there."""
    if res.type == CLASSIC_ELB:
        yield from _classic_listeners(res)
        return
    balancer = _load_balancer(res, stack)
    if balancer is not None and balancer.props.get("loadBalancerType") == "gateway":
        return  # A Gateway Load Balancer passes traffic through (GENEVE) and terminates nothing.
    protocol = res.props.get("protocol")
    if protocol is UNKNOWN:
        yield unknown(f"{res.label}: its protocol is not known until apply; use HTTPS or TLS")
        return
    protocol = protocol.upper() if isinstance(protocol, str) and protocol else "HTTP"
    port = res.props.get("port")
    on_port = f" on port {port}" if isinstance(port, int | str) and port != "" else ""
    if protocol in ("HTTPS", "TLS"):
        policy = res.props.get("sslPolicy")
        if policy is UNKNOWN:
            yield unknown(f"{res.label}: its sslPolicy is not known until apply; use {_RECOMMENDED_POLICY}")
        elif not policy:
            yield (
                f"{res.label} sets no sslPolicy, so it defaults to ELBSecurityPolicy-2016-08, which accepts "
                f"TLS 1.0 and 1.1; set sslPolicy {_RECOMMENDED_POLICY}"
            )
        elif not isinstance(policy, str) or not policy.startswith(_TLS12_POLICY_PREFIXES):
            yield (
                f"{res.label} uses sslPolicy {policy!r}, which accepts TLS versions below 1.2; "
                f"set sslPolicy {_RECOMMENDED_POLICY}"
            )
        return
    if protocol == "GENEVE":
        return
    if protocol == "HTTP":
        redirects = _redirects_to_https(res.props.get("defaultActions"))
        if redirects is UNKNOWN:
            yield unknown(
                f"{res.label}: its defaultActions are not known until apply; redirect HTTP to HTTPS"
            )
        elif not redirects:
            yield (
                f"{res.label} serves plain HTTP{on_port}; make every default action a redirect "
                f"{{type: 'redirect', redirect: {{protocol: 'HTTPS', port: '443', statusCode: 'HTTP_301'}}}} "
                f"or use protocol HTTPS with sslPolicy {_RECOMMENDED_POLICY}"
            )
        return
    yield (
        f"{res.label} uses protocol {protocol}{on_port}, so traffic reaches the load balancer unencrypted; "
        f"use protocol TLS with sslPolicy {_RECOMMENDED_POLICY}"
    )


def _classic_listeners(res: Resource) -> Iterator[Problem]:
    listeners = res.props.get("listeners")
    if listeners is UNKNOWN:
        yield unknown(f"{res.label}: its listeners are not known until apply; use lbProtocol https or ssl")
        return
    for listener in as_list(listeners):
        protocol = listener.get("lbProtocol") if isinstance(listener, dict) else UNKNOWN
        if protocol is UNKNOWN:
            yield unknown(f"{res.label}: a listener's lbProtocol is not known until apply; use https or ssl")
        elif not isinstance(protocol, str) or protocol.lower() not in ("https", "ssl"):
            port = listener.get("lbPort")
            yield (
                f"{res.label} has a {protocol} listener on port {port}, so clients connect without TLS; "
                f"use lbProtocol https (or ssl) with a certificate"
            )


# -- TLS-004: ElastiCache ----------------------------------------------------------------------------


@rule(
    id="TLS-004",
    title="ElastiCache encrypts in transit",
    severity=Severity.HIGH,
    types=[ELASTICACHE_REPLICATION_GROUP, ELASTICACHE_CLUSTER],
    remediation="Set transitEncryptionEnabled: true (and transitEncryptionMode 'required', the default).",
)
def elasticache_in_transit(res: Resource, stack: Stack) -> Iterator[Problem]:
    """Every personal-data cache accepts TLS connections only."""
    if not stack.holds_personal_data(res):
        return
    if res.type == ELASTICACHE_CLUSTER and res.props.get("replicationGroupId") not in (None, ""):
        return  # A member of a replication group: the group carries the setting.
    enabled = flag(res.props.get("transitEncryptionEnabled"))
    if enabled is UNKNOWN:
        yield unknown(f"{res.label}: transitEncryptionEnabled is not known until apply; set it to true")
        return
    if not enabled:
        yield f"{res.label} does not encrypt in transit; set transitEncryptionEnabled: true"
        return
    mode = res.props.get("transitEncryptionMode")
    if mode is UNKNOWN:
        yield unknown(f"{res.label}: transitEncryptionMode is not known until apply; set it to 'required'")
    elif isinstance(mode, str) and mode.lower() == "preferred":
        yield (
            f"{res.label} has transitEncryptionMode 'preferred', which still accepts plaintext "
            f"connections; set it to 'required'"
        )


# -- TLS-005: OpenSearch -----------------------------------------------------------------------------


@rule(
    id="TLS-005",
    title="OpenSearch enforces HTTPS with TLS 1.2",
    severity=Severity.HIGH,
    types=[OPENSEARCH_DOMAIN, ELASTICSEARCH_DOMAIN],
    remediation=(
        "Set domainEndpointOptions {enforceHttps: true, tlsSecurityPolicy: 'Policy-Min-TLS-1-2-PFS-2023-10'} "
        "and nodeToNodeEncryption {enabled: true}."
    ),
)
def search_domain_tls(res: Resource, stack: Stack) -> Iterator[Problem]:
    """Clients and nodes of a personal-data search domain talk over TLS 1.2+."""
    if not stack.holds_personal_data(res):
        return
    endpoint = _block(res, "domainEndpointOptions")
    if endpoint is UNKNOWN:
        yield unknown(
            f"{res.label}: domainEndpointOptions are not known until apply; enforce HTTPS with TLS 1.2"
        )
    else:
        endpoint = endpoint or {}
        https, policy = flag(endpoint.get("enforceHttps")), endpoint.get("tlsSecurityPolicy")
        if https is UNKNOWN or policy is UNKNOWN:
            yield unknown(
                f"{res.label}: its HTTPS settings are not known until apply; enforce HTTPS with TLS 1.2"
            )
        else:
            if not https:
                yield f"{res.label} accepts plain HTTP; set domainEndpointOptions.enforceHttps: true"
            if not (isinstance(policy, str) and policy.startswith("Policy-Min-TLS-1-2")):
                shown = f"is {policy!r}" if policy else "is not set"
                yield (
                    f"{res.label}: domainEndpointOptions.tlsSecurityPolicy {shown}, which may allow TLS 1.0; "
                    f"set it to 'Policy-Min-TLS-1-2-PFS-2023-10'"
                )
    node = _block(res, "nodeToNodeEncryption")
    node_enabled = UNKNOWN if node is UNKNOWN else flag((node or {}).get("enabled"))
    if node_enabled is UNKNOWN:
        yield unknown(f"{res.label}: nodeToNodeEncryption is not known until apply; set enabled: true")
    elif not node_enabled:
        yield f"{res.label} sends data between its nodes unencrypted; set nodeToNodeEncryption.enabled: true"
