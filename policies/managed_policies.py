"""AWS managed policies, judged by the access they grant rather than by their name.

The documents come from moto, which ships every AWS managed policy (`moto/iam/aws_managed_policies.py`,
regenerated from the IAM API by its maintainers with each release) so that it can emulate IAM offline.
This module reads that file as text and never imports moto (the import pulls in boto and responses).
A compact copy (name -> path and statements) is cached on disk per moto file (`$XDG_CACHE_HOME/residency`),
like the IAM reference of `policies.iam`; nothing is read until a rule meets an AWS managed policy ARN,
so `residency --help` and checks of stacks without one pay nothing.

A managed policy is *broad* when, on every resource (`"*"`, or an ARN whose resource part is only
wildcards, or which names every account and a wildcard resource: `arn:aws:logs:*:*:log-group:/aws/lambda/*`),
it grants one of:

- every action (`"*"`), or every action but some (`NotAction` with Allow);
- reads of personal-data stores: Read actions of a data service that return data, not metadata
  (`s3:GetObject`, `dynamodb:GetItem`, `logs:FilterLogEvents`; not `s3:GetBucketLocation` or
  `dynamodb:DescribeTable`): `policies.iam.Privilege.data_plane`;
- changes to data stores (Write actions of a data service), except appending log events, which is
  how every service writes its own logs (`logs:CreateLogGroup`, `CreateLogStream`, `PutLogEvents`);
- running code or routing data for other identities (Write actions of `policies.iam.DATA_FLOW_SERVICES`:
  `lambda:InvokeFunction` on every function, `events:PutTargets` on every bus);
- `iam:PassRole` on every role, or IAM permissions management (attaching and writing policies).

Conditions are not read: a managed policy's conditions narrow *which service* may act (iam:PassedToService),
not which data it reaches. A name the data does not hold is reported as unknown by the rule (fail closed).
"""

from __future__ import annotations

import functools
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from policies.iam import expand_action, grants_action, is_full_wildcard, telling_first

#: Bumped when the compact format changes, so an old cache is not read.
_FORMAT = 2
#: The compact copy's entry that names the moto release the documents come from.
_SOURCE_KEY = "\u0000source"
#: Appending log events is how services deliver their own logs: not a change to anyone's data.
_LOG_APPEND = frozenset({"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"})
_MAX_EXAMPLES = 5
_ARN = re.compile(r"^arn:[^:]*:([^:]*):([^:]*):([^:]*):(.*)$")


@dataclass(frozen=True, slots=True)
class ManagedPolicy:
    name: str
    path: str
    #: (effect, actions, not_actions, resources, not_resources) per statement.
    statements: tuple[tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...]


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a managed policy grants on every resource; `broad` when any of `reasons` holds."""

    name: str
    reasons: tuple[str, ...]

    @property
    def broad(self) -> bool:
        return bool(self.reasons)


def _source_file() -> Path | None:
    spec = importlib.util.find_spec("moto")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "iam" / "aws_managed_policies.py"


def _strings(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value] if value is not None else []
    return [v for v in items if isinstance(v, str)]


def _build_compact(source: Path) -> dict[str, list[Any]]:
    """name -> [path, [[effect, actions, not_actions, resources, not_resources], ...]]."""
    import orjson

    text = source.read_text(encoding="utf-8")
    start, end = text.index('"""') + 3, text.rindex('"""')
    compact: dict[str, list[Any]] = {_SOURCE_KEY: [_moto_version(source)]}
    for name, entry in orjson.loads(text[start:end]).items():
        document = entry.get("Document") or {}
        statements = document.get("Statement") or []
        if isinstance(statements, dict):
            statements = [statements]
        compact[name] = [
            entry.get("Path") or "/",
            [
                [
                    st.get("Effect", ""),
                    _strings(st.get("Action")),
                    _strings(st.get("NotAction")),
                    _strings(st.get("Resource")),
                    _strings(st.get("NotResource")),
                ]
                for st in statements
                if isinstance(st, dict)
            ],
        ]
    return compact


@functools.cache
def _compact() -> dict[str, list[Any]]:
    from policies.disk_cache import cached_json, file_key

    source = _source_file()
    if source is None or not source.exists():
        return {}
    key = file_key(source)
    name = f"managed-policies-{_FORMAT}-{key}.json" if key else None
    return cached_json(name, lambda: _build_compact(source))


def available() -> bool:
    """Whether the managed-policy data is installed (moto ships it)."""
    return bool(_compact())


def _moto_version(source: Path) -> str:
    """The moto release, from its dist-info folder beside the package (read once, when the cache is built)."""
    site = source.parent.parent.parent
    for info in sorted(site.glob("moto-*.dist-info")):
        return info.name[len("moto-") : -len(".dist-info")]
    return "unknown"


@functools.cache
def data_source() -> str:
    """What the rules name as the data a verdict comes from."""
    entry = _compact().get(_SOURCE_KEY)
    version = f" {entry[0]}" if entry else ""
    return f"the AWS managed policies shipped with moto{version}"


def managed_policy(name: str) -> ManagedPolicy | None:
    entry = _compact().get(name)
    if entry is None or name == _SOURCE_KEY:
        return None
    path, statements = entry
    return ManagedPolicy(
        name=name,
        path=path,
        statements=tuple((e, tuple(a), tuple(na), tuple(r), tuple(nr)) for e, a, na, r, nr in statements),
    )


def every_resource(value: Any) -> bool:
    """`*`, or an ARN that names every resource of its type (`table/*`, `role/*`, `arn:aws-cn:s3:::*`), or
    every account's resources with a wildcard in the name (`arn:aws:logs:*:*:log-group:/aws/lambda/*`)."""
    if not isinstance(value, str):
        return False
    text = value.strip()
    if text.strip("*?") == "":
        return True
    match = _ARN.match(text)
    if match is None:
        return False
    service, _region, account, resource = match.groups()
    if resource.strip("*?/:") == "":
        return True
    if service != "s3":
        # The first segment of a non-S3 resource is its type ("table/", "role/", "log-group:").
        typed = re.match(r"^[A-Za-z0-9_.-]+[/:](.*)$", resource)
        if typed is not None and typed.group(1).strip("*?/:") == "":
            return True
    return bool(account) and account.strip("*?") == "" and ("*" in resource or "?" in resource)


def _examples(actions: dict[str, None]) -> str:
    names = telling_first(actions)
    shown = ", ".join(names[:_MAX_EXAMPLES])
    return f"{shown} and {len(names) - _MAX_EXAMPLES} more" if len(names) > _MAX_EXAMPLES else shown


@functools.lru_cache(maxsize=256)
def judge(name: str) -> Verdict | None:
    """What the managed policy grants on every resource; None when the data does not hold it."""
    policy = managed_policy(name)
    if policy is None:
        return None
    everything: list[str] = []
    reads: dict[str, None] = {}
    writes: dict[str, None] = {}
    flows: dict[str, None] = {}
    permissions: dict[str, None] = {}
    passes_roles = False
    for effect, actions, not_actions, resources, not_resources in policy.statements:
        if effect != "Allow":
            continue
        if not (not_resources or any(every_resource(r) for r in resources)):
            continue
        if not_actions:
            everything.append(f"every action except {', '.join(not_actions[:_MAX_EXAMPLES])} (NotAction)")
            continue
        if any(is_full_wildcard(a) for a in actions):
            everything.append('every action ("*")')
            continue
        if grants_action(actions, "iam:PassRole"):
            passes_roles = True
        for action in actions:
            for privilege in expand_action(action) or ():
                full = privilege.action
                if privilege.data_plane:
                    if privilege.access_level == "Read":
                        reads.setdefault(full, None)
                    elif full not in _LOG_APPEND:
                        writes.setdefault(full, None)
                elif privilege.data_flow:
                    flows.setdefault(full, None)
                elif privilege.service == "iam" and privilege.access_level == "Permissions management":
                    permissions.setdefault(full, None)
    reasons = list(dict.fromkeys(everything))
    if reads:
        reasons.append(f"reads personal-data stores ({len(reads)} data actions, such as {_examples(reads)})")
    if writes:
        reasons.append(f"changes data stores ({len(writes)} data actions, such as {_examples(writes)})")
    if flows:
        reasons.append(f"runs code or routes data for other identities ({_examples(flows)})")
    if passes_roles:
        reasons.append("passes any role to a service (iam:PassRole)")
    if permissions:
        reasons.append(f"manages IAM permissions ({_examples(permissions)})")
    return Verdict(name=name, reasons=tuple(reasons))
