"""Drift: Pulumi's state against the live account, as findings in the same list as the rules'.

`compare(state, live)` is a pure function of two `Stack`s. It matches resources by what AWS knows
them by (a bucket's name, a key's id, a role's name, a role policy's role and name...), never by URN,
and reports:

- DRIFT-001: in the account, not in the state (made outside Pulumi);
- DRIFT-002: in the state, not in the account (deleted outside Pulumi);
- DRIFT-003: in both, with a setting the rules read that differs.

Settings are compared through the same normalized views the rules read (`bucket_view` for a bucket
and its side resources, which are compared as part of their bucket), after the defaults AWS applies
when a program says nothing (a trail logs, a bucket is encrypted with SSE-S3), so the same fact
written two ways is not drift. A value unknown on either side is not compared: the rules already
report it (unknown until apply, or LIVE-001 "could not read").
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from policies.model import UNKNOWN, Finding, Resource
from policies.s3 import bucket_view
from policies.settings import Settings
from policies.stack import Stack
from policies.tokens import S3_BUCKET_TYPES, bucket_side_kind

UNMANAGED, MISSING, DIFFERS = "DRIFT-001", "DRIFT-002", "DRIFT-003"
KINDS = {UNMANAGED: "unmanaged", MISSING: "missing", DIFFERS: "differs"}


@dataclass(frozen=True, slots=True)
class DriftItem:
    rule: str
    #: The resource the finding names: the live one for DRIFT-001, the state's otherwise.
    resource: Resource
    message: str
    #: DRIFT-003: property -> (state value, account value).
    differences: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return KINDS[self.rule]


@dataclass
class DriftReport:
    against: str
    items: list[DriftItem] = field(default_factory=list)
    #: Resources matched on both sides (compared setting by setting).
    matched: int = 0
    #: State resources of types the audit does not read, or in regions it did not audit.
    not_compared: int = 0

    def count(self, rule: str) -> int:
        return sum(1 for i in self.items if i.rule == rule)

    def summary(self) -> dict[str, Any]:
        return {
            "against": self.against,
            "unmanaged": self.count(UNMANAGED),
            "missing": self.count(MISSING),
            "differs": self.count(DIFFERS),
            "matched": self.matched,
            "not_compared": self.not_compared,
            "items": [
                {
                    "rule": i.rule,
                    "kind": i.kind,
                    "urn": i.resource.urn,
                    "type": i.resource.type,
                    "name": i.resource.name,
                    **(
                        {
                            "differences": {
                                k: {"state": _shown(s), "account": _shown(a)}
                                for k, (s, a) in i.differences.items()
                            }
                        }
                        if i.differences
                        else {}
                    ),
                }
                for i in self.items
            ],
        }

    def findings(self, settings: Settings, rules: dict[str, Any]) -> list[Finding]:
        out: list[Finding] = []
        for item in self.items:
            meta = rules[item.rule]
            out.append(
                Finding(
                    rule=item.rule,
                    controls=list(settings.rule_controls.get(item.rule, ())),
                    severity=meta.severity,
                    urn=item.resource.urn,
                    type=item.resource.type,
                    name=item.resource.name,
                    message=item.message,
                    remediation=meta.remediation,
                )
            )
        return out


def empty_summary() -> dict[str, Any]:
    """The `"drift"` key of an audit run without `--against`: nothing was compared."""
    return {
        "against": None,
        "unmanaged": 0,
        "missing": 0,
        "differs": 0,
        "matched": 0,
        "not_compared": 0,
        "items": [],
    }


# --- identity: what AWS knows a resource by ---------------------------------------------------------


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _tail(value: Any, sep: str = "/") -> str | None:
    text = _text(value)
    return text.rsplit(sep, 1)[-1] if text else None


def _key_ref(value: Any) -> Any:
    """A KMS key reference as one form: the key id for a key ARN or id, `alias/x` for an alias."""
    text = _text(value)
    if text is None:
        return value
    if ":key/" in text:
        return text.rsplit(":key/", 1)[-1]
    if ":alias/" in text:
        return "alias/" + text.rsplit(":alias/", 1)[-1]
    return text


def _bucket_name(res: Resource) -> str | None:
    return _text(res.props.get("bucket")) or _text(res.props.get("id"))


_IDENTITIES: dict[str, Callable[[Resource], tuple[Any, ...] | None]] = {
    "aws:kms/key:Key": lambda r: ("kms-key", _key_ref(r.props.get("keyId")) or _key_ref(r.props.get("arn"))),
    "aws:kms/alias:Alias": lambda r: ("kms-alias", _text(r.props.get("name"))),
    "aws:iam/role:Role": lambda r: ("iam-role", _text(r.props.get("name")) or _tail(r.props.get("arn"))),
    "aws:iam/user:User": lambda r: ("iam-user", _text(r.props.get("name")) or _tail(r.props.get("arn"))),
    "aws:iam/policy:Policy": lambda r: (
        "iam-policy",
        _text(r.props.get("arn")) or _text(r.props.get("name")),
    ),
    "aws:iam/rolePolicy:RolePolicy": lambda r: (
        "role-policy",
        _tail(r.props.get("role")),
        _text(r.props.get("name")),
    ),
    "aws:iam/userPolicy:UserPolicy": lambda r: (
        "user-policy",
        _tail(r.props.get("user")),
        _text(r.props.get("name")),
    ),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": lambda r: (
        "role-attachment",
        _tail(r.props.get("role")),
        _text(r.props.get("policyArn")),
    ),
    "aws:iam/userPolicyAttachment:UserPolicyAttachment": lambda r: (
        "user-attachment",
        _tail(r.props.get("user")),
        _text(r.props.get("policyArn")),
    ),
    "aws:dynamodb/table:Table": lambda r: ("dynamodb-table", _text(r.props.get("name"))),
    "aws:cloudtrail/trail:Trail": lambda r: (
        "trail",
        _text(r.props.get("name")) or _tail(r.props.get("arn")),
    ),
    "aws:rds/instance:Instance": lambda r: ("rds-instance", _text(r.props.get("identifier"))),
    "aws:rds/cluster:Cluster": lambda r: ("rds-cluster", _text(r.props.get("clusterIdentifier"))),
    "aws:rds/parameterGroup:ParameterGroup": lambda r: ("rds-parameter-group", _text(r.props.get("name"))),
    "aws:rds/clusterParameterGroup:ClusterParameterGroup": lambda r: (
        "rds-cluster-parameter-group",
        _text(r.props.get("name")),
    ),
    "aws:cloudwatch/logGroup:LogGroup": lambda r: ("log-group", _text(r.props.get("name"))),
}
for _bucket_type in S3_BUCKET_TYPES:
    _IDENTITIES[_bucket_type] = lambda r: ("s3-bucket", _bucket_name(r))


def identity(res: Resource) -> tuple[Any, ...] | None:
    """What AWS knows the resource by; None for a type drift does not compare or a name not known."""
    found = _IDENTITIES.get(res.type)
    if found is None:
        return None
    key = found(res)
    return key if all(isinstance(part, str) and part for part in key) else None


# --- settings: what the rules read, one comparable form per type ---------------------------------------


def _canonical(value: Any) -> Any:
    """JSON values compared as sets where order carries no meaning: a one-item list is its item,
    lists are sorted, keys are sorted."""
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list):
        items = [_canonical(v) for v in value]
        if len(items) == 1:
            return items[0]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True, default=str))
    return value


def _document(value: Any) -> Any:
    if value is UNKNOWN:
        return UNKNOWN
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            value = json.loads(value)
        except ValueError:
            return value
    if isinstance(value, dict):
        value = {k: v for k, v in value.items() if k != "Id"}
        statements = value.get("Statement")
        if isinstance(statements, list):
            value["Statement"] = [
                {k: v for k, v in s.items() if k != "Sid"} if isinstance(s, dict) else s for s in statements
            ]
    return _canonical(value)


def _classification(res: Resource, settings: Settings) -> Any:
    if res.tags is UNKNOWN:
        return UNKNOWN
    return settings.classification(res.tags)[1]


_PUBLIC_ACLS = {
    "public-read": ["AllUsers:READ"],
    "public-read-write": ["AllUsers:READ", "AllUsers:WRITE"],
    "authenticated-read": ["AuthenticatedUsers:READ"],
}


def _public_grants(view: Any) -> Any:
    if view.acl is UNKNOWN:
        return UNKNOWN
    found = set(_PUBLIC_ACLS.get(view.acl, ()) if isinstance(view.acl, str) else ())
    for grant in view.grants:
        uri = grant.get("uri")
        if uri is UNKNOWN:
            return UNKNOWN
        if isinstance(uri, str) and uri.rsplit("/", 1)[-1] in ("AllUsers", "AuthenticatedUsers"):
            for permission in grant.get("permissions") or ():
                found.add(f"{uri.rsplit('/', 1)[-1]}:{permission}")
    return sorted(found)


def _bucket_settings(res: Resource, settings: Settings) -> dict[str, Any]:
    view = bucket_view(res)
    if view.encryption is UNKNOWN:
        encryption: Any = UNKNOWN
    elif view.encryption is None:
        encryption = None  # AWS encrypts every bucket with SSE-S3 when nothing is set: see _DEFAULTED
    else:
        encryption = sorted(
            json.dumps([e.algorithm, _key_ref(e.kms_key), bool(e.bucket_key)], default=str)
            for e in view.encryption
        )
    lifecycle: Any = view.lifecycle
    if isinstance(lifecycle, list):
        lifecycle = sorted(
            json.dumps(
                [r.id, r.enabled, r.prefix or "", r.expiration_days, r.noncurrent_days],
                default=str,
            )
            for r in lifecycle
        )
    policies: Any = [doc for _res, doc in ((r, _document(r.props.get("policy"))) for r, _ in view.policies)]
    policies = UNKNOWN if any(p is UNKNOWN for p in policies) else _canonical([p for p in policies if p])
    return {
        "location": res.region,
        "classification": _classification(res, settings),
        "encryption": encryption,
        "policy": policies if policies != [] else None,
        "publicAccessBlock": view.public_access_block,
        "publicGrants": _public_grants(view),
        "logging": UNKNOWN
        if view.logging_target is UNKNOWN
        else (None if view.logging_target is None else [view.logging_target, view.logging_prefix or ""]),
        "lifecycle": lifecycle or None,
        "versioning": bool(view.versioning) if view.versioning is not UNKNOWN else UNKNOWN,
        "replication": UNKNOWN
        if any(d.bucket_arn is UNKNOWN for d in view.replication)
        else sorted({_tail(d.bucket_arn, ":") or "" for d in view.replication}) or None,
        "objectLock": UNKNOWN
        if UNKNOWN in (view.object_lock_enabled, view.object_lock_mode, view.object_lock_days)
        else [bool(view.object_lock_enabled), view.object_lock_mode, view.object_lock_days]
        if view.object_lock_enabled
        else None,
    }


#: Bucket settings AWS sets itself when a program says nothing: compared only when the state says.
_DEFAULTED = frozenset({"encryption", "publicAccessBlock", "publicGrants"})


def _get(res: Resource, *path: str, default: Any = None) -> Any:
    value = res.get(*path, default=default)
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict) and len(path) == 1:
        return value[0]
    return value if value is not None else default


def _flag(value: Any, default: bool) -> Any:
    if value is UNKNOWN:
        return UNKNOWN
    if value is None:
        return default
    if isinstance(value, str):
        return value.lower() == "true"
    return bool(value)


def _selectors(value: Any) -> Any:
    if value is UNKNOWN:
        return UNKNOWN
    out = []
    for sel in value or ():
        if not isinstance(sel, dict):
            return UNKNOWN
        out.append(
            {
                "readWriteType": sel.get("readWriteType") or "All",
                "includeManagementEvents": _flag(sel.get("includeManagementEvents"), True),
                "dataResources": _canonical(
                    [
                        {"type": d.get("type"), "values": _canonical(d.get("values") or [])}
                        for d in sel.get("dataResources") or ()
                        if isinstance(d, dict)
                    ]
                ),
            }
        )
    return _canonical(out) or None


def _advanced(value: Any) -> Any:
    if value is UNKNOWN:
        return UNKNOWN
    out = []
    for sel in value or ():
        if not isinstance(sel, dict):
            return UNKNOWN
        fields = []
        for f in sel.get("fieldSelectors") or ():
            if isinstance(f, dict):
                fields.append({k: _canonical(v) for k, v in f.items() if v not in (None, [])})
        out.append(_canonical(fields))
    return _canonical(out) or None


def _key_settings(res: Resource, settings: Settings) -> dict[str, Any]:
    return {
        "enableKeyRotation": _flag(res.props.get("enableKeyRotation"), False),
        "policy": _document(res.props.get("policy")),
        "classification": _classification(res, settings),
    }


def _table_settings(res: Resource, settings: Settings) -> dict[str, Any]:
    sse = _get(res, "serverSideEncryption")
    ttl = _get(res, "ttl")
    pitr = _get(res, "pointInTimeRecovery")
    replicas = res.props.get("replicas")
    enabled = UNKNOWN if sse is UNKNOWN else _flag((sse or {}).get("enabled"), False)
    return {
        "serverSideEncryption": UNKNOWN
        if sse is UNKNOWN
        else [enabled, _key_ref((sse or {}).get("kmsKeyArn")) if enabled else None],
        "replicas": UNKNOWN
        if replicas is UNKNOWN
        else sorted(r.get("regionName") for r in replicas or () if isinstance(r, dict)) or None,
        "ttl": UNKNOWN
        if ttl is UNKNOWN
        else [_flag((ttl or {}).get("enabled"), False), (ttl or {}).get("attributeName") or ""]
        if _flag((ttl or {}).get("enabled"), False)
        else None,
        "pointInTimeRecovery": UNKNOWN if pitr is UNKNOWN else _flag((pitr or {}).get("enabled"), False),
        "classification": _classification(res, settings),
    }


def _trail_settings(res: Resource, settings: Settings) -> dict[str, Any]:
    p = res.props
    return {
        "s3BucketName": p.get("s3BucketName"),
        "kmsKeyId": _key_ref(p.get("kmsKeyId")),
        "enableLogging": _flag(p.get("enableLogging"), True),
        "enableLogFileValidation": _flag(p.get("enableLogFileValidation"), False),
        "isMultiRegionTrail": _flag(p.get("isMultiRegionTrail"), False),
        "eventSelectors": _selectors(p.get("eventSelectors")),
        "advancedEventSelectors": _advanced(p.get("advancedEventSelectors")),
    }


def _log_group_settings(res: Resource, settings: Settings) -> dict[str, Any]:
    retention = res.props.get("retentionInDays")
    return {
        "retentionInDays": retention if retention not in (None, "") else 0,
        "kmsKeyId": _key_ref(res.props.get("kmsKeyId")),
        "classification": _classification(res, settings),
    }


def _db_settings(res: Resource, settings: Settings) -> dict[str, Any]:
    p = res.props
    return {
        "storageEncrypted": _flag(p.get("storageEncrypted"), False),
        "kmsKeyId": _key_ref(p.get("kmsKeyId")),
        "parameterGroup": p.get("parameterGroupName") or p.get("dbClusterParameterGroupName"),
        "publiclyAccessible": _flag(p.get("publiclyAccessible"), False),
        "enabledCloudwatchLogsExports": UNKNOWN
        if p.get("enabledCloudwatchLogsExports") is UNKNOWN
        else sorted(str(x) for x in p.get("enabledCloudwatchLogsExports") or ()),
        "classification": _classification(res, settings),
    }


def _parameters(res: Resource, settings: Settings) -> dict[str, Any]:
    params = res.props.get("parameters")
    if params is UNKNOWN:
        return {"parameters": UNKNOWN}
    return {
        "parameters": {str(x.get("name")): str(x.get("value")) for x in params or () if isinstance(x, dict)}
    }


def _document_settings(prop: str) -> Callable[[Resource, Settings], dict[str, Any]]:
    return lambda res, settings: {prop: _document(res.props.get(prop))}


def _role_settings(res: Resource, settings: Settings) -> dict[str, Any]:
    return {"assumeRolePolicy": _document(res.props.get("assumeRolePolicy"))}


def _alias_settings(res: Resource, settings: Settings) -> dict[str, Any]:
    return {"targetKeyId": _key_ref(res.props.get("targetKeyId") or res.props.get("targetKeyArn"))}


_SETTINGS: dict[str, Callable[[Resource, Settings], dict[str, Any]]] = {
    "aws:kms/key:Key": _key_settings,
    "aws:kms/alias:Alias": _alias_settings,
    "aws:iam/role:Role": _role_settings,
    "aws:iam/policy:Policy": _document_settings("policy"),
    "aws:iam/rolePolicy:RolePolicy": _document_settings("policy"),
    "aws:iam/userPolicy:UserPolicy": _document_settings("policy"),
    "aws:dynamodb/table:Table": _table_settings,
    "aws:cloudtrail/trail:Trail": _trail_settings,
    "aws:cloudwatch/logGroup:LogGroup": _log_group_settings,
    "aws:rds/instance:Instance": _db_settings,
    "aws:rds/cluster:Cluster": _db_settings,
    "aws:rds/parameterGroup:ParameterGroup": _parameters,
    "aws:rds/clusterParameterGroup:ClusterParameterGroup": _parameters,
}
for _bucket_type in S3_BUCKET_TYPES:
    _SETTINGS[_bucket_type] = _bucket_settings


def settings_of(res: Resource, settings: Settings) -> dict[str, Any]:
    found = _SETTINGS.get(res.type)
    return found(res, settings) if found is not None else {}


def _shown(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str | int | float | bool):
        return value
    return json.loads(json.dumps(value, default=str))


def _short(value: Any) -> str:
    if value is None:
        return "not set"
    text = value if isinstance(value, str) else json.dumps(_shown(value), sort_keys=True)
    return text if len(text) <= 160 else text[:157] + "..."


def differences(state: Resource, live: Resource, settings: Settings) -> dict[str, tuple[Any, Any]]:
    declared = settings_of(state, settings)
    actual = settings_of(live, settings)
    out: dict[str, tuple[Any, Any]] = {}
    for key, want in declared.items():
        have = actual.get(key)
        if want is UNKNOWN or have is UNKNOWN:
            continue
        if want is None and key in _DEFAULTED and state.type in S3_BUCKET_TYPES:
            continue
        if want != have:
            out[key] = (want, have)
    return out


# --- the comparison ------------------------------------------------------------------------------------


def _index(resources: Iterable[Resource]) -> dict[tuple[Any, ...], Resource]:
    found: dict[tuple[Any, ...], Resource] = {}
    for res in resources:
        if not res.custom or bucket_side_kind(res.type) is not None:
            continue  # components; side resources are compared as part of their bucket
        key = identity(res)
        if key is not None:
            found.setdefault(key, res)
    return found


def _aws_owned(res: Resource) -> bool:
    """Live resources nobody's program manages: AWS managed policies, service-linked roles."""
    if res.props.get("awsManaged"):
        return True
    path = res.props.get("path")
    return isinstance(path, str) and path.startswith("/aws-service-role/")


def compare(
    state: Stack,
    live: Stack,
    *,
    against: str = "",
    types: frozenset[str] | None = None,
    regions: Iterable[str] | None = None,
) -> DriftReport:
    """Drift between the state (what Pulumi last deployed) and the account (what runs).

    `types`: the types the live source reads (a state resource of another type is not compared);
    `regions`: the regions it read (a regional state resource elsewhere is not compared; buckets
    always are, since the bucket list is global)."""
    settings = state.settings
    audited = set(regions) if regions is not None else None
    report = DriftReport(against=against or state.source)
    state_index: dict[tuple[Any, ...], Resource] = {}
    for key, res in _index(state.resources).items():
        if (
            types is not None
            and res.type not in types
            and not (res.type in S3_BUCKET_TYPES and S3_BUCKET_TYPES & types)
        ):
            report.not_compared += 1
            continue
        region = res.region
        if (
            audited is not None
            and res.type not in S3_BUCKET_TYPES
            and isinstance(region, str)
            and region not in audited
            and res.type.split(":")[1].split("/")[0] != "iam"
        ):
            report.not_compared += 1
            continue
        state_index[key] = res
    report.not_compared += sum(
        1
        for r in state.resources
        if r.custom
        and bucket_side_kind(r.type) is None
        and identity(r) is None
        and not r.type.startswith("pulumi:")
    )
    live_index = _index(live.resources)
    for key, res in sorted(live_index.items(), key=lambda kv: kv[1].urn):
        if key in state_index or _aws_owned(res):
            continue
        report.items.append(
            DriftItem(
                UNMANAGED,
                res,
                f"{res.label} is in the account ({res.region or 'global'}) but not in the stack's state "
                f"({report.against}): it was made outside Pulumi, so no deploy-time check saw it",
            )
        )
    for key, res in sorted(state_index.items(), key=lambda kv: kv[1].urn):
        found = live_index.get(key)
        if found is None:
            report.items.append(
                DriftItem(
                    MISSING,
                    res,
                    f"{res.label} is in the stack's state but not in the account: it was deleted or renamed "
                    "outside Pulumi",
                )
            )
            continue
        report.matched += 1
        diff = differences(res, found, settings)
        if diff:
            parts = "; ".join(f"{k}: state {_short(s)}, account {_short(a)}" for k, (s, a) in diff.items())
            report.items.append(
                DriftItem(DIFFERS, res, f"{res.label} differs from the stack's state: {parts}", diff)
            )
    return report


def drift_line(summary: dict[str, Any] | None) -> str | None:
    """The one line every report format shows for a result's `"drift"` summary (None: not an audit)."""
    if summary is None:
        return None
    if not summary.get("against"):
        return "Drift: not compared (pass --against STACK_EXPORT to compare the account with Pulumi's state)."
    return (
        f"Drift against {summary['against']}: {summary['unmanaged']} unmanaged (DRIFT-001), "
        f"{summary['missing']} missing (DRIFT-002), {summary['differs']} with different settings (DRIFT-003); "
        f"{summary['matched']} matched, {summary['not_compared']} not compared."
    )


def merge_summaries(first: dict[str, Any] | None, second: dict[str, Any]) -> dict[str, Any]:
    """Two saved audits' drift summaries as one (a report over several accounts or regions)."""
    if first is None:
        return dict(second)
    merged = dict(first)
    against = [a for a in (first.get("against"), second.get("against")) if a]
    merged["against"] = ", ".join(dict.fromkeys(against)) or None
    for key in ("unmanaged", "missing", "differs", "matched", "not_compared"):
        merged[key] = int(first.get(key) or 0) + int(second.get(key) or 0)
    merged["items"] = list(first.get("items") or []) + list(second.get("items") or [])
    return merged
