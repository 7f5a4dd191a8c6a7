"""Service logs (control SEC-AUD-1): the services in front of personal data record who reached it.

CloudTrail data events cover S3 and DynamoDB (AUD-002); the rest of the access record is each service's own
log. A database logs its connections and statements only when it exports them (AUD-004); a load balancer,
a CloudFront distribution or an API Gateway stage records its requests only with access logging on
(AUD-005). And a Lambda function's logs are server logs: unless the program declares the function's log
group, Lambda creates `/aws/lambda/<name>` on first run with no retention at all, so it keeps them
forever, past every retention maximum, and no rule of this check can see it (AUD-006).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from policies.model import UNKNOWN, Resource, Severity
from policies.references import AT_APPLY, referenced
from policies.registry import Violation, rule, unknown
from policies.stack import Stack
from policies.tokens import EKS_CLUSTER, LOG_GROUP, RDS_CLUSTER, RDS_INSTANCE
from policies.values import as_list, first, flag

Problem = str | Violation

LAMBDA_FUNCTION = "aws:lambda/function:Function"
LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
CLOUDFRONT_DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
REST_STAGE = "aws:apigateway/stage:Stage"
HTTP_STAGE = "aws:apigatewayv2/stage:Stage"
LOG_DELIVERY_SOURCE = "aws:cloudwatch/logDeliverySource:LogDeliverySource"

#: Engine (prefix) -> the log export that records connections and statements.
_AUDIT_EXPORTS = (
    ("aurora-postgresql", "postgresql"),
    ("postgres", "postgresql"),
    ("aurora-mysql", "audit"),
    ("aurora", "audit"),
    ("mysql", "audit"),
    ("mariadb", "audit"),
    ("oracle", "audit"),
)


def _audit_export(engine: str) -> str | None:
    for prefix, export in _AUDIT_EXPORTS:
        if engine.startswith(prefix):
            return export
    return None


# -- AUD-004 ------------------------------------------------------------------------------------------


@rule(
    id="AUD-004",
    title="Databases holding personal data export their audit logs",
    severity=Severity.MEDIUM,
    types=[RDS_INSTANCE, RDS_CLUSTER],
    remediation=(
        "Set enabledCloudwatchLogsExports to include 'postgresql' (PostgreSQL, Aurora PostgreSQL, with "
        "log_connections and pgaudit in the parameter group) or 'audit' (MySQL, MariaDB, Aurora MySQL, with the "
        "MARIADB_AUDIT_PLUGIN option or server_audit_logging), and keep the log group in territory."
    ),
)
def database_log_exports(res: Resource, stack: Stack) -> Iterator[Problem]:
    """A personal-data database sends its connection and statement log to CloudWatch Logs."""
    if not stack.holds_personal_data(res):
        return
    engine = res.props.get("engine")
    if engine is None and res.type == RDS_INSTANCE:
        source = referenced(stack, res, "replicateSourceDb", (RDS_INSTANCE,))
        engine = source.props.get("engine") if source is not None else None
    if engine is UNKNOWN:
        yield unknown(
            f"{res.label}: its engine is not known until apply, so its log exports cannot be checked"
        )
        return
    if not isinstance(engine, str):
        return
    export = _audit_export(engine)
    if export is None:
        return
    exports = res.props.get("enabledCloudwatchLogsExports")
    if exports is UNKNOWN or any(e is UNKNOWN for e in as_list(exports)):
        yield unknown(
            f"{res.label}: enabledCloudwatchLogsExports is not known until apply; include '{export}' in it"
        )
        return
    if export not in as_list(exports):
        shown = ", ".join(repr(e) for e in as_list(exports)) or "nothing"
        yield (
            f"{res.label} ({engine}) exports {shown} to CloudWatch Logs, not its '{export}' log, so connections "
            f"to personal data and the statements run are not recorded; add '{export}' to enabledCloudwatchLogsExports"
        )


# -- AUD-005 ------------------------------------------------------------------------------------------


def _log_delivery_sources(stack: Stack) -> set[str]:
    """URNs and ARNs of the resources a CloudWatch log delivery source sends access logs from."""
    found: set[str] = set()
    for source in stack.of_type(LOG_DELIVERY_SOURCE):
        found.update(source.property_dependencies.get("resourceArn", ()))
        arn = source.props.get("resourceArn")
        if isinstance(arn, str) and arn:
            found.add(arn)
    return found


def _load_balancer_problems(res: Resource) -> Iterator[Problem]:
    kind = res.props.get("loadBalancerType")
    if kind == "gateway":
        return  # passes packets through (GENEVE); it sees no requests to log
    logs = first(res.props.get("accessLogs"))
    if logs is UNKNOWN:
        yield unknown(f"{res.label}: accessLogs is not known until apply; enable it")
        return
    logs = logs if isinstance(logs, dict) else {}
    enabled = flag(logs.get("enabled"))
    bucket = logs.get("bucket")
    if enabled is UNKNOWN or bucket is UNKNOWN:
        yield unknown(f"{res.label}: accessLogs.enabled or its bucket is not known until apply")
    elif enabled is not True or not bucket:
        network = (
            " (a network load balancer logs its TLS listeners only: listen with TLS)"
            if kind == "network"
            else ""
        )
        yield (
            f"{res.label} fronts personal data but does not log the requests it serves: set accessLogs "
            f"{{bucket: <audit-log bucket in the same region>, enabled: true}}{network}"
        )


def _distribution_problems(res: Resource, stack: Stack) -> Iterator[Problem]:
    logging = first(res.props.get("loggingConfig"))
    if logging is UNKNOWN:
        yield unknown(f"{res.label}: loggingConfig is not known until apply")
        return
    bucket = logging.get("bucket") if isinstance(logging, dict) else None
    if bucket is UNKNOWN:
        yield unknown(f"{res.label}: loggingConfig.bucket is not known until apply")
        return
    if bucket:
        return
    delivered = stack.memo("service_logs.delivery_sources", _log_delivery_sources)
    arn = res.props.get("arn")
    if res.urn in delivered or (isinstance(arn, str) and arn in delivered):
        return
    yield (
        f"{res.label} fronts personal data but does not log the requests it serves: set loggingConfig "
        "{bucket: '<audit-log bucket>.s3.<cn-north-1 or cn-northwest-1>.amazonaws.com.cn'} or deliver its ACCESS_LOGS "
        "through an "
        "aws.cloudwatch.LogDeliverySource"
    )


def _stage_problems(res: Resource) -> Iterator[Problem]:
    settings = first(res.props.get("accessLogSettings"))
    if settings is UNKNOWN:
        yield unknown(f"{res.label}: accessLogSettings is not known until apply")
        return
    destination = settings.get("destinationArn") if isinstance(settings, dict) else None
    if destination is UNKNOWN:
        yield unknown(f"{res.label}: accessLogSettings.destinationArn is not known until apply")
    elif not destination:
        yield (
            f"{res.label} fronts personal data but does not log the requests it serves: set accessLogSettings "
            "{destinationArn: <log group ARN in the same region>, format: <JSON with $context.identity.sourceIp, "
            "$context.requestId, $context.status>}"
        )


@rule(
    id="AUD-005",
    title="Load balancers, CloudFront and API Gateway in front of personal data log access",
    severity=Severity.MEDIUM,
    types=[*LOAD_BALANCERS, CLOUDFRONT_DISTRIBUTION, REST_STAGE, HTTP_STAGE],
    remediation=(
        "Turn on access logging to an audit-log store in territory: accessLogs {enabled: true, bucket} on load "
        "balancers, loggingConfig (or a log delivery source) on CloudFront distributions, accessLogSettings on "
        "API Gateway stages."
    ),
)
def front_door_access_logs(res: Resource, stack: Stack) -> Iterator[Problem]:
    """Every request that reaches personal data through a load balancer, CDN or API is recorded."""
    if not stack.holds_personal_data(res):
        return
    if res.type in LOAD_BALANCERS:
        yield from _load_balancer_problems(res)
    elif res.type == CLOUDFRONT_DISTRIBUTION:
        yield from _distribution_problems(res, stack)
    else:
        yield from _stage_problems(res)


# -- AUD-006 ------------------------------------------------------------------------------------------


def _log_groups(stack: Stack) -> tuple[dict[str, Resource], dict[str, Resource]]:
    """Log groups by name, and by the URN of each resource their name is computed from."""
    by_name: dict[str, Resource] = {}
    by_source: dict[str, Resource] = {}
    for group in stack.of_type(LOG_GROUP):
        name = group.props.get("name")
        if isinstance(name, str) and name:
            by_name.setdefault(name, group)
        for urn in group.property_dependencies.get("name", ()):
            by_source.setdefault(urn, group)
    return by_name, by_source


@rule(
    id="AUD-006",
    title="Lambda functions write to a log group the program declares",
    severity=Severity.MEDIUM,
    types=[LAMBDA_FUNCTION],
    remediation=(
        "Declare the function's log group (aws.cloudwatch.LogGroup named '/aws/lambda/<function name>', or the "
        "group named in loggingConfig.logGroup) with retentionInDays within the server-logs bounds, before the "
        "function runs."
    ),
)
def lambda_log_group_declared(res: Resource, stack: Stack) -> Iterator[Problem]:
    """A function's logs go to a log group of this program, where retention and region are checked."""
    by_name, by_source = stack.memo("service_logs.log_groups", _log_groups)
    server_logs = stack.settings.categories.get("server-logs")
    days = server_logs.max_retention_days if server_logs is not None else None
    retention = f", retentionInDays={days}" if days else ""
    config = first(res.props.get("loggingConfig"))
    if config is UNKNOWN:
        yield unknown(
            f"{res.label}: loggingConfig is not known until apply, so its log group cannot be checked"
        )
        return
    custom = config.get("logGroup") if isinstance(config, dict) else None
    if custom is UNKNOWN:
        if referenced(stack, res, "loggingConfig", (LOG_GROUP,)) is None:
            yield unknown(
                f"{res.label}: loggingConfig.logGroup is not known until apply and does not come from exactly one "
                f"log group of this stack; {AT_APPLY}"
            )
        return
    if isinstance(custom, str) and custom:
        if custom not in by_name:
            yield unknown(
                f"{res.label} logs to {custom!r} (loggingConfig.logGroup), which this program does not declare, so "
                f"its retention and region cannot be checked; declare aws.cloudwatch.LogGroup(name={custom!r}"
                f"{retention})"
            )
        return
    name: Any = res.props.get("name")
    if isinstance(name, str) and name and f"/aws/lambda/{name}" in by_name:
        return
    if res.urn in by_source:
        return  # a log group named from this function's name (`"/aws/lambda/" + fn.name`)
    shown = f"/aws/lambda/{name}" if isinstance(name, str) and name else "/aws/lambda/<its name>"
    yield (
        f"{res.label} writes its logs to {shown}, which this program never declares: Lambda creates it on first "
        f"run with no retention, so the logs are kept forever; declare aws.cloudwatch.LogGroup(name='{shown}'"
        f"{retention}) in the same region and pass it as loggingConfig.logGroup (or depend on it)"
    )


# -- AUD-007 -----------------------------------------------------------------------------------------

#: The control-plane log types that say who reached the cluster's API and what they did with it.
EKS_AUDIT_LOG_TYPES = ("api", "audit", "authenticator")


@rule(
    id="AUD-007",
    title="EKS clusters log their control plane (api, audit, authenticator)",
    severity=Severity.MEDIUM,
    types=[EKS_CLUSTER],
    remediation=(
        "Set enabledClusterLogTypes: ['api', 'audit', 'authenticator'] on the aws.eks.Cluster, and declare the "
        "log group /aws/eks/<cluster name>/cluster with a retention within the audit-log bounds."
    ),
)
def eks_control_plane_logged(res: Resource, stack: Stack) -> Iterator[Problem]:
    """Who read a Secret or exec'd into a pod that holds personal data is recorded only when the cluster
    sends its api, audit and authenticator logs to CloudWatch Logs; EKS sends none by default."""
    if not stack.holds_personal_data(res):
        return
    types = res.props.get("enabledClusterLogTypes")
    if types is UNKNOWN or any(t is UNKNOWN for t in as_list(types)):
        yield unknown(f"{res.label}: enabledClusterLogTypes is not known until apply; {AT_APPLY}")
        return
    enabled = {t for t in as_list(types) if isinstance(t, str)}
    missing = [t for t in EKS_AUDIT_LOG_TYPES if t not in enabled]
    if not missing:
        return
    listed = ", ".join(repr(t) for t in EKS_AUDIT_LOG_TYPES)
    if not enabled:
        yield (
            f"{res.label} sends no control-plane logs (enabledClusterLogTypes is empty), so access to its API, "
            f"Secrets and pods is not audited; set enabledClusterLogTypes: [{listed}]"
        )
    else:
        yield (
            f"{res.label} does not log {', '.join(repr(t) for t in missing)} (enabledClusterLogTypes: "
            f"{sorted(enabled)}), so access to its API is not fully audited; set enabledClusterLogTypes: [{listed}]"
        )
