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
    return any(isinstance(a, str) and a.lower() in ("s3:*", "*") for a in st.actions)


def _covers_every_object(resource: Any, name: Any) -> bool:
    """A Resource entry that reaches every object of the bucket: `*`, `arn:...:s3:::*`, `NAME/*`,
    `NAME*`; a prefix (`NAME/exports/*`) leaves the other objects reachable over plain HTTP."""
    if not isinstance(resource, str):
        return True  # resolved to a bucket of the stack, or unknown: has_unknown says which
    text = resource.strip()
    if text == "*" or text.endswith((":s3:::*", ":s3:::*/*")):
        return True
    tail = text.split(":s3:::", 1)[1] if ":s3:::" in text else None
    if tail is None:
        return False
    if isinstance(name, str) and name:
        return tail in (f"{name}/*", f"{name}*")
    return tail.endswith("/*") and tail.count("/") == 1


def _narrowing(st: Statement, key: str) -> list[str]:
    """The other condition entries of a deny: each one narrows it (conditions are ANDed), so requests
    that do not match them (through a VPC endpoint, from a listed principal) are not denied."""
    wanted = key.lower()
    return [f"{op} {k}" for op, block in st.condition.items() for k in block if k.lower() != wanted]


def _denies_plaintext(st: Statement) -> bool:
    return _denies_everyone_s3(st) and any(
        op.lower() in ("bool", "boolifexists") and str(value).lower() == "false"
        for op, value in condition_values(st, "aws:SecureTransport")
    )


def _tls_floor(op: str, value: Any) -> bool:
    """`NumericLessThan 1.2` and `NumericLessThanEquals 1.1` both deny every version below 1.2 (TLS
    versions are 1.0, 1.1, 1.2, 1.3: nothing lies between 1.1 and 1.2)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    lowered = op.lower()
    if lowered == "numericlessthan":
        return number >= 1.2
    if lowered == "numericlessthanequals":
        return number >= 1.1
    return False


def _denies_old_tls(st: Statement) -> bool:
    return _denies_everyone_s3(st) and any(
        _tls_floor(op, value) for op, value in condition_values(st, "s3:TlsVersion")
    )


def _bucket_arn(res: Resource, stack: Stack) -> str:
    """The bucket's ARN in the territory's partition (a fix never names an `arn:aws:` bucket)."""
    name = res.props.get("bucket")
    if not (isinstance(name, str) and name):
        arn = res.props.get("arn")
        name = arn.rsplit(":", 1)[-1] if isinstance(arn, str) and arn else None
    return f"arn:{stack.settings.partition}:s3:::{name if isinstance(name, str) and name else '<bucket>'}"


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
    name = res.props.get("bucket")
    requirements = (
        (
            _denies_plaintext,
            "aws:SecureTransport",
            "requests without TLS",
            _deny_statement("DenyInsecureTransport", arn, {"Bool": {"aws:SecureTransport": "false"}}),
        ),
        (
            _denies_old_tls,
            "s3:TlsVersion",
            "TLS below 1.2",
            _deny_statement("DenyOutdatedTls", arn, {"NumericLessThan": {"s3:TlsVersion": "1.2"}}),
        ),
    )
    for satisfied, key, what, statement in requirements:
        candidates = [st for st in statements if satisfied(st)]
        gaps: list[str] = []
        for st in candidates:
            narrowed = _narrowing(st, key)
            scoped = not st.not_resources and any(_covers_every_object(r, name) for r in st.resources)
            if not narrowed and scoped:
                break
            sid = f"statement {st.sid}" if st.sid.startswith("#") else f"statement '{st.sid}'"
            if narrowed:
                gaps.append(
                    f"its {sid} denies {what} only when {', '.join(narrowed)} also matches, so requests that do "
                    "not match it (through that VPC endpoint, from that principal) are not denied"
                )
            else:
                shown = ", ".join(str(r) for r in st.resources) or "its NotResource"
                gaps.append(
                    f"its {sid} denies {what} only on {shown}, so the bucket's other objects are not covered"
                )
        else:
            if gaps:
                yield f"{res.label} does not deny {what} for every request: {'; '.join(gaps)}; replace it with {statement}"
            elif partly_unknown:
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


#: RDS for MariaDB sets require_secure_transport = ON by default from version 11.8.
_MARIADB_SECURE_TRANSPORT_DEFAULT_FROM = (11, 8)


def _version(text: Any, prefix: str) -> Any:
    """(11, 8) from "11.8.2", "11.8" or family "mariadb11.8"; (15, 0) from "postgres15"; None when it
    cannot be read; UNKNOWN until apply."""
    if text is UNKNOWN:
        return UNKNOWN
    match = re.match(rf"^(?:{prefix})?(\d+)(?:\.(\d+))?", text) if isinstance(text, str) else None
    return (int(match.group(1)), int(match.group(2) or 0)) if match else None


def _tls_default_from(engine_or_family: str) -> tuple[str, tuple[int, int]] | None:
    """The engine whose default parameter values force TLS from some version on, with that version."""
    if engine_or_family.startswith("postgres"):
        return "postgres", (_POSTGRES_FORCE_SSL_DEFAULT_FROM, 0)
    if engine_or_family.startswith("mariadb"):
        return "mariadb", _MARIADB_SECURE_TRANSPORT_DEFAULT_FROM
    return None


def _forces_tls_by_default(family: str) -> bool:
    """A custom group inherits its family's defaults: RDS for PostgreSQL 15+ defaults to rds.force_ssl 1,
    RDS for MariaDB 11.8+ to require_secure_transport ON."""
    found = _tls_default_from(family)
    if found is None:
        return False
    version = _version(family, found[0])
    return isinstance(version, tuple) and version >= found[1]


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
        default_from = _tls_default_from(engine) if engine in ("postgres", "mariadb") else None
        if default_from is not None:
            version = _version(res.props.get("engineVersion"), "")
            shown_from = ".".join(str(n) for n in default_from[1]) if default_from[0] == "mariadb" else "15"
            if isinstance(version, tuple) and version >= default_from[1]:
                return
            if version is UNKNOWN or version is None:
                yield unknown(
                    f"{res.label} uses the default parameter group and its engineVersion is "
                    f"{'unknown until apply' if version is UNKNOWN else 'not set'}, so whether {parameter.name} "
                    f"defaults to {parameter.shown} ({engine} {shown_from}+) cannot be verified; pin "
                    f"engineVersion or {fix}"
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
LOAD_BALANCER_POLICY = "aws:elb/loadBalancerPolicy:LoadBalancerPolicy"
SSL_NEGOTIATION_POLICY = "aws:elb/sslNegotiationPolicy:SslNegotiationPolicy"
LISTENER_POLICY = "aws:elb/listenerPolicy:ListenerPolicy"
_CLASSIC_POLICY_TYPES = (LOAD_BALANCER_POLICY, SSL_NEGOTIATION_POLICY)
LISTENER_RULE_TYPES = ("aws:lb/listenerRule:ListenerRule", "aws:alb/listenerRule:ListenerRule")
#: The classic ELB predefined policies that negotiate TLS 1.2 only.
_CLASSIC_TLS12_POLICIES = frozenset(
    {"ELBSecurityPolicy-TLS-1-2-2017-01", "ELBSecurityPolicy-TLS-1-2-Ext-2018-06"}
)
_CLASSIC_RECOMMENDED = "ELBSecurityPolicy-TLS-1-2-2017-01"
_OLD_PROTOCOLS = ("Protocol-SSLv2", "Protocol-SSLv3", "Protocol-TLSv1", "Protocol-TLSv1.1")


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
    types=[*LB_LISTENER_TYPES, *LISTENER_RULE_TYPES, CLASSIC_ELB, *_CLASSIC_POLICY_TYPES],
    remediation=(
        f"Use protocol HTTPS (or TLS) with sslPolicy {_RECOMMENDED_POLICY} or another TLS 1.2+ "
        "policy; a plain HTTP listener may only redirect to HTTPS, and so may every rule on it. A classic "
        f"ELB's HTTPS/SSL listener needs a negotiation policy with Reference-Security-Policy {_CLASSIC_RECOMMENDED}."
    ),
)
def listener_uses_tls(res: Resource, stack: Stack) -> Iterator[Problem]:
    """Clients reach a load balancer only over TLS 1.2+, or are redirected there."""
    if res.type == CLASSIC_ELB:
        yield from _classic_listeners(res, stack)
        return
    if res.type in _CLASSIC_POLICY_TYPES:
        yield from _classic_policy_problems(res)
        return
    if res.type in LISTENER_RULE_TYPES:
        yield from _listener_rule_problems(res, stack)
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


def _classic_listeners(res: Resource, stack: Stack) -> Iterator[Problem]:
    listeners = res.props.get("listeners")
    if listeners is UNKNOWN:
        yield unknown(f"{res.label}: its listeners are not known until apply; use lbProtocol https or ssl")
        return
    negotiated = _negotiation_ports(res, stack)
    for listener in as_list(listeners):
        protocol = listener.get("lbProtocol") if isinstance(listener, dict) else UNKNOWN
        port = listener.get("lbPort") if isinstance(listener, dict) else None
        if protocol is UNKNOWN:
            yield unknown(f"{res.label}: a listener's lbProtocol is not known until apply; use https or ssl")
        elif not isinstance(protocol, str) or protocol.lower() not in ("https", "ssl"):
            yield (
                f"{res.label} has a {protocol} listener on port {port}, so clients connect without TLS; "
                f"use lbProtocol https (or ssl) with a certificate"
            )
        elif negotiated is not UNKNOWN and port not in negotiated and str(port) not in negotiated:
            yield (
                f"{res.label} has a {protocol} listener on port {port} with no SSL negotiation policy in this "
                f"stack, so it uses the default ELBSecurityPolicy-2016-08, which accepts TLS 1.0 and 1.1; add an "
                f"aws.elb.LoadBalancerPolicy (policyTypeName 'SSLNegotiationPolicyType', policyAttributes "
                f"[{{name: 'Reference-Security-Policy', value: '{_CLASSIC_RECOMMENDED}'}}]) and an "
                f"aws.elb.ListenerPolicy for port {port}"
            )


# -- TLS-003: classic ELB negotiation policies and ALB listener rules -------------------------------------


def _classic_policy_problems(res: Resource) -> Iterator[Problem]:
    """A negotiation policy names a TLS 1.2-only reference policy and turns no older protocol on."""
    if res.type == LOAD_BALANCER_POLICY:
        kind = res.props.get("policyTypeName")
        if kind is UNKNOWN:
            yield unknown(
                f"{res.label}: policyTypeName is not known until apply, so its TLS versions cannot be checked"
            )
            return
        if kind != "SSLNegotiationPolicyType":
            return
        prop = "policyAttributes"
    else:
        prop = "attributes"
    attributes = res.props.get(prop)
    if attributes is UNKNOWN or any(a is UNKNOWN for a in as_list(attributes)):
        yield unknown(
            f"{res.label}: its {prop} are not known until apply, so its TLS versions cannot be checked"
        )
        return
    fix = f"use {{name: 'Reference-Security-Policy', value: '{_CLASSIC_RECOMMENDED}'}} and no Protocol-TLSv1/TLSv1.1"
    for attribute in as_list(attributes):
        if not isinstance(attribute, dict):
            continue
        name, value = attribute.get("name"), attribute.get("value")
        if name is UNKNOWN or value is UNKNOWN:
            yield unknown(f"{res.label}: a {prop} entry is not known until apply; {fix}")
        elif name == "Reference-Security-Policy" and (
            not isinstance(value, str) or value not in _CLASSIC_TLS12_POLICIES
        ):
            yield (
                f"{res.label}: {prop} Reference-Security-Policy is {value!r}, which accepts TLS versions below "
                f"1.2 (ELBSecurityPolicy-2016-08 allows TLS 1.0); {fix}"
            )
        elif name in _OLD_PROTOCOLS and str(value).strip().lower() == "true":
            yield f"{res.label}: {prop} turns {name} on, which is older than TLS 1.2; set it to 'false' or {fix}"


def _negotiation_ports(elb: Resource, stack: Stack) -> Any:
    """The listener ports of a classic ELB that some negotiation policy of the stack is set on."""
    index = stack.memo("tls.classic_negotiation", _index_negotiation)
    names = {elb.urn}
    for key in ("name", "id"):
        value = elb.props.get(key)
        if isinstance(value, str) and value:
            names.add(value)
    ports: set[Any] = set()
    for name in names:
        found = index.get(name)
        if found is UNKNOWN:
            return UNKNOWN
        ports.update(found or ())
    return ports


def _index_negotiation(stack: Stack) -> dict[str, Any]:
    """ELB (URN or name) -> ports with a negotiation policy (SslNegotiationPolicy, or a ListenerPolicy
    naming an SSLNegotiationPolicyType LoadBalancerPolicy); UNKNOWN when a port is not known."""
    negotiation_names = {
        r.props.get("policyName")
        for r in stack.of_type(LOAD_BALANCER_POLICY)
        if r.props.get("policyTypeName") in ("SSLNegotiationPolicyType", UNKNOWN)
    }
    index: dict[str, Any] = {}

    def add(res: Resource, elb_prop: str, port: Any) -> None:
        keys = list(res.property_dependencies.get(elb_prop, ()))
        value = res.props.get(elb_prop)
        if isinstance(value, str) and value:
            keys.append(value)
        for key in keys:
            current = index.setdefault(key, set())
            if port is UNKNOWN:
                index[key] = UNKNOWN
            elif current is not UNKNOWN:
                current.add(port)

    for res in stack.of_type(SSL_NEGOTIATION_POLICY):
        add(res, "loadBalancer", res.props.get("lbPort"))
    for res in stack.of_type(LISTENER_POLICY):
        names = res.props.get("policyNames")
        if names is UNKNOWN or any(n is UNKNOWN or n in negotiation_names for n in as_list(names)):
            add(res, "loadBalancerName", res.props.get("loadBalancerPort"))
    return index


def _listener(res: Resource, stack: Stack) -> Resource | None:
    arn = res.props.get("listenerArn")
    if arn is UNKNOWN:
        return referenced(stack, res, "listenerArn", LB_LISTENER_TYPES)
    if isinstance(arn, str) and arn:
        return stack.memo("tls.listeners_by_arn", _index_listeners).get(arn)
    return None


def _index_listeners(stack: Stack) -> dict[str, Resource]:
    index: dict[str, Resource] = {}
    for candidate in stack.of_type(*sorted(LB_LISTENER_TYPES)):
        arn = candidate.props.get("arn")
        if isinstance(arn, str) and arn:
            index.setdefault(arn, candidate)
    return index


def _forwards(actions: Any) -> Any:
    """True when a rule's actions forward the request to targets; UNKNOWN when they may."""
    if actions is UNKNOWN:
        return UNKNOWN
    maybe = False
    for action in as_list(actions):
        kind = action.get("type") if isinstance(action, dict) else UNKNOWN
        if kind is UNKNOWN:
            maybe = True
        elif kind == "forward":
            return True
    return UNKNOWN if maybe else False


def _listener_rule_problems(res: Resource, stack: Stack) -> Iterator[Problem]:
    """A rule that forwards on a plain-HTTP listener sends requests to the targets unencrypted, even when
    the listener's default action redirects to HTTPS: rules are evaluated before the default action."""
    forwards = _forwards(res.props.get("actions"))
    if forwards is False:
        return
    listener = _listener(res, stack)
    if listener is None:
        if res.props.get("listenerArn") is UNKNOWN or forwards is UNKNOWN:
            yield unknown(
                f"{res.label}: its listener is not known until apply (it does not come from exactly one listener "
                f"of this stack), so whether it forwards plain HTTP cannot be checked here; {AT_APPLY}"
            )
        return
    protocol = listener.props.get("protocol")
    if protocol is UNKNOWN or forwards is UNKNOWN:
        yield unknown(
            f"{res.label}: the protocol of {listener.label} or the rule's actions are not known until apply; "
            "a rule on a plain-HTTP listener may only redirect to HTTPS"
        )
        return
    if (protocol.upper() if isinstance(protocol, str) and protocol else "HTTP") != "HTTP":
        return
    port = listener.props.get("port")
    redirects = _redirects_to_https(listener.props.get("defaultActions")) is True
    why = (
        ", whose default action redirects to HTTPS: rules run before the default action, so"
        if redirects
        else ", so"
    )
    yield (
        f"{res.label} forwards requests on {listener.label} (plain HTTP, port {port}){why} these requests reach "
        "their targets without TLS; make the rule's action a redirect {type: 'redirect', redirect: "
        "{protocol: 'HTTPS', port: '443', statusCode: 'HTTP_301'}} or move the rule to the HTTPS listener"
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


# -- TLS-006: CloudFront -----------------------------------------------------------------------------

CLOUDFRONT_DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
#: Viewer security policies that negotiate TLS 1.2 or later with current ciphers.
_CLOUDFRONT_MINIMUMS = frozenset({"TLSv1.2_2021", "TLSv1.2_2025", "TLSv1.3_2025"})
_CLOUDFRONT_RECOMMENDED = "TLSv1.2_2021"
_OLD_ORIGIN_PROTOCOLS = frozenset({"SSLv3", "TLSv1", "TLSv1.1"})


def _viewer_problems(res: Resource) -> Iterator[Problem]:
    cert = _block(res, "viewerCertificate")
    fix = (
        f"set viewerCertificate {{iamCertificateId: <your IAM server certificate>, sslSupportMethod: 'sni-only', "
        f"minimumProtocolVersion: '{_CLOUDFRONT_RECOMMENDED}'}}"
    )
    if cert is UNKNOWN:
        yield unknown(f"{res.label}: viewerCertificate is not known until apply; {fix}")
        return
    cert = cert or {}
    default_cert = flag(cert.get("cloudfrontDefaultCertificate"))
    minimum = cert.get("minimumProtocolVersion")
    if default_cert is UNKNOWN or minimum is UNKNOWN:
        yield unknown(f"{res.label}: viewerCertificate's settings are not known until apply; {fix}")
    elif default_cert is True or not (cert.get("iamCertificateId") or cert.get("acmCertificateArn")):
        yield (
            f"{res.label} uses the default CloudFront certificate (viewerCertificate.cloudfrontDefaultCertificate), "
            f"whose security policy accepts TLSv1; {fix}"
        )
    elif not isinstance(minimum, str) or minimum not in _CLOUDFRONT_MINIMUMS:
        shown = f"is {minimum!r}" if minimum else "is not set (TLSv1 by default)"
        yield (
            f"{res.label}: viewerCertificate.minimumProtocolVersion {shown}, which accepts TLS versions or ciphers "
            f"older than {_CLOUDFRONT_RECOMMENDED}; set it to '{_CLOUDFRONT_RECOMMENDED}'"
        )
    behaviours = [("defaultCacheBehavior", _block(res, "defaultCacheBehavior"))]
    ordered = res.props.get("orderedCacheBehaviors")
    if ordered is UNKNOWN:
        behaviours.append(("orderedCacheBehaviors", UNKNOWN))
    else:
        behaviours += [(f"orderedCacheBehaviors[{i}]", b) for i, b in enumerate(as_list(ordered))]
    for where, behaviour in behaviours:
        policy = behaviour.get("viewerProtocolPolicy") if isinstance(behaviour, dict) else behaviour
        if policy is UNKNOWN:
            yield unknown(
                f"{res.label}: {where}.viewerProtocolPolicy is not known until apply; use 'redirect-to-https'"
            )
        elif policy == "allow-all":
            path = behaviour.get("pathPattern") if isinstance(behaviour, dict) else None
            on = f" (pathPattern {path!r})" if isinstance(path, str) else ""
            yield (
                f"{res.label}: {where}{on} has viewerProtocolPolicy 'allow-all', so viewers may use plain HTTP; "
                "set it to 'redirect-to-https' or 'https-only'"
            )


def _origin_problems(res: Resource) -> Iterator[Problem]:
    origins = res.props.get("origins")
    if origins is UNKNOWN:
        yield unknown(
            f"{res.label}: origins are not known until apply; give custom origins originProtocolPolicy 'https-only'"
        )
        return
    for i, origin in enumerate(as_list(origins)):
        if origin is UNKNOWN:
            yield unknown(f"{res.label}: origins[{i}] is not known until apply")
            continue
        if not isinstance(origin, dict):
            continue
        custom = first(origin.get("customOriginConfig"))
        if custom is None:
            continue  # an S3 origin: CloudFront reaches S3 over HTTPS when the viewer does
        ident = origin.get("originId")
        where = f"origin {ident!r}" if isinstance(ident, str) else f"origins[{i}]"
        if custom is UNKNOWN:
            yield unknown(f"{res.label}: the customOriginConfig of {where} is not known until apply")
            continue
        if not isinstance(custom, dict):
            yield (
                f"{res.label}: the customOriginConfig of {where} is not an object ({custom!r}), so nothing says "
                "CloudFront reaches it over TLS 1.2; set originProtocolPolicy 'https-only' with originSslProtocols "
                "['TLSv1.2']"
            )
            continue
        policy = custom.get("originProtocolPolicy")
        if policy is UNKNOWN:
            yield unknown(
                f"{res.label}: {where}'s originProtocolPolicy is not known until apply; use 'https-only'"
            )
        elif policy != "https-only":
            yield (
                f"{res.label}: {where} has customOriginConfig.originProtocolPolicy {policy!r}, so CloudFront may "
                "fetch from it over plain HTTP; set it to 'https-only'"
            )
        protocols = custom.get("originSslProtocols")
        if protocols is UNKNOWN:
            yield unknown(
                f"{res.label}: {where}'s originSslProtocols are not known until apply; use ['TLSv1.2']"
            )
        else:
            old = sorted(p for p in as_list(protocols) if isinstance(p, str) and p in _OLD_ORIGIN_PROTOCOLS)
            if old:
                yield (
                    f"{res.label}: {where} allows originSslProtocols {', '.join(old)}, older than TLS 1.2; set "
                    "originSslProtocols to ['TLSv1.2']"
                )


@rule(
    id="TLS-006",
    title="CloudFront serves and fetches over TLS 1.2+",
    severity=Severity.HIGH,
    types=[CLOUDFRONT_DISTRIBUTION],
    remediation=(
        f"Serve with your own certificate (viewerCertificate.iamCertificateId in the aws-cn partition) and "
        f"minimumProtocolVersion {_CLOUDFRONT_RECOMMENDED} or newer, viewerProtocolPolicy 'redirect-to-https' on "
        "every cache behaviour, and originProtocolPolicy 'https-only' with originSslProtocols ['TLSv1.2'] on custom "
        "origins."
    ),
)
def cloudfront_tls(res: Resource, stack: Stack) -> Iterator[Problem]:
    """Viewers reach a distribution only over TLS 1.2+, and it reaches its custom origins only over HTTPS."""
    if not stack.holds_personal_data(res):
        return
    yield from _viewer_problems(res)
    yield from _origin_problems(res)


# -- TLS-007: API Gateway ----------------------------------------------------------------------------

REST_API = "aws:apigateway/restApi:RestApi"
REST_STAGE = "aws:apigateway/stage:Stage"
REST_DOMAIN = "aws:apigateway/domainName:DomainName"
HTTP_DOMAIN = "aws:apigatewayv2/domainName:DomainName"
_API_POLICY_RECOMMENDED = "TLS_1_2"


def _api_policy_ok(policy: Any) -> bool:
    """TLS_1_2, or one of the enhanced policies with a TLS 1.2/1.3 floor (SecurityPolicy_TLS13_1_2_...)."""
    if not isinstance(policy, str):
        return False
    return policy == "TLS_1_2" or policy.startswith(("SecurityPolicy_TLS13_", "SecurityPolicy_TLS12_"))


def _rest_api(res: Resource, stack: Stack) -> Resource | None:
    ident = res.props.get("restApi")
    if ident is UNKNOWN:
        return referenced(stack, res, "restApi", (REST_API,))
    if isinstance(ident, str) and ident:
        return stack.memo("tls.rest_apis_by_id", _index_rest_apis).get(ident)
    return None


def _index_rest_apis(stack: Stack) -> dict[str, Resource]:
    index: dict[str, Resource] = {}
    for api in stack.of_type(REST_API):
        for key in ("id", "arn"):
            value = api.props.get(key)
            if isinstance(value, str) and value:
                index.setdefault(value, api)
    return index


def _rest_api_problems(res: Resource) -> Iterator[Problem]:
    disabled = flag(res.props.get("disableExecuteApiEndpoint"))
    policy = res.props.get("securityPolicy")
    if disabled is True:
        return
    if disabled is UNKNOWN or policy is UNKNOWN:
        yield unknown(
            f"{res.label}: disableExecuteApiEndpoint or securityPolicy is not known until apply; set securityPolicy "
            f"'{_API_POLICY_RECOMMENDED}'"
        )
    elif not _api_policy_ok(policy):
        shown = f"securityPolicy {policy!r}" if policy else "no securityPolicy (TLS_1_0 by default)"
        yield (
            f"{res.label} serves its default execute-api endpoint with {shown}, which accepts TLS 1.0 and 1.1; set "
            f"securityPolicy '{_API_POLICY_RECOMMENDED}', or disableExecuteApiEndpoint: true and serve it through "
            f"a DomainName with securityPolicy '{_API_POLICY_RECOMMENDED}'"
        )


@rule(
    id="TLS-007",
    title="API Gateway endpoints accept TLS 1.2+ only",
    severity=Severity.HIGH,
    types=[REST_API, REST_STAGE, REST_DOMAIN, HTTP_DOMAIN],
    remediation=(
        f"Set securityPolicy '{_API_POLICY_RECOMMENDED}' on every REST API (or disableExecuteApiEndpoint: true) and "
        "custom domain name (domainNameConfiguration.securityPolicy for HTTP APIs)."
    ),
)
def api_gateway_tls(res: Resource, stack: Stack) -> Iterator[Problem]:
    """Clients reach an API (its default endpoint and its custom domains) only over TLS 1.2+."""
    if not stack.holds_personal_data(res):
        return
    if res.type == REST_API:
        yield from _rest_api_problems(res)
        return
    if res.type == REST_STAGE:
        # A stage is served by its REST API's endpoint: the API in this stack is judged on its own.
        if _rest_api(res, stack) is None:
            yield unknown(
                f"{res.label}: the REST API it deploys is not in this stack (or not known until apply), so the TLS "
                f"policy of its endpoint cannot be checked; set securityPolicy '{_API_POLICY_RECOMMENDED}' on it"
            )
        return
    if res.type == HTTP_DOMAIN:
        config = _block(res, "domainNameConfiguration")
        policy = UNKNOWN if config is UNKNOWN else (config or {}).get("securityPolicy")
        prop = "domainNameConfiguration.securityPolicy"
    else:
        policy = res.props.get("securityPolicy")
        prop = "securityPolicy"
    if policy is UNKNOWN:
        yield unknown(f"{res.label}: {prop} is not known until apply; set it to '{_API_POLICY_RECOMMENDED}'")
    elif not _api_policy_ok(policy):
        shown = f"is {policy!r}" if policy else "is not set"
        yield (
            f"{res.label}: {prop} {shown}, so the custom domain may accept TLS 1.0; set {prop} "
            f"'{_API_POLICY_RECOMMENDED}'"
        )
