"""IAM action analysis: expand action patterns and tell data-plane actions from the rest.

The IAM service authorization reference (every action, its access level and the resource types
it can be scoped to) comes from the `parliament` library, so this module holds no IAM database of
its own. parliament is imported on first use only: it costs about a quarter of a second and warns
about `pkg_resources` on import, and `residency --help` must pay neither. Results are cached per
action string, since the same few hundred actions repeat across thousands of policies.

Unknown actions (typos, actions newer than parliament's database, services it does not know)
never raise. An unknown action of a *data service* is treated as data-plane (fail closed: we
cannot show it is harmless, and an action the reference does not list is as likely to be a new
data API as a typo); an unknown action of any other service is ignored.
"""

from __future__ import annotations

import fnmatch
import functools
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

#: IAM service prefixes whose resources hold (personal) data or the keys that protect it. Glue is
#: left out on purpose: its catalogue holds table schemas, and reading the rows needs S3 access.
DATA_SERVICES = frozenset(
    {
        "s3",
        "s3express",
        "s3-object-lambda",
        "dynamodb",
        "dax",
        "rds",
        "rds-data",
        "rds-db",
        "redshift",
        "redshift-data",
        "redshift-serverless",
        "kms",
        "secretsmanager",
        "sqs",
        "sns",
        "kinesis",
        "firehose",
        "logs",
        "elasticache",
        "memorydb",
        "es",
        "backup",
        "glacier",
        "elasticfilesystem",
        "ebs",
        "athena",
        "neptune-db",
        "timestream",
    }
)

#: Access levels that read or change data (not List, Tagging or Permissions management).
DATA_ACCESS_LEVELS = frozenset({"Read", "Write"})

#: Data access the reference files under another access level: `rds-db:connect` ("Permissions
#: management") logs in to a database as a database user.
EXTRA_DATA_PLANE_ACTIONS = frozenset({"rds-db:connect"})


@dataclass(frozen=True, slots=True)
class Privilege:
    """One IAM action as the service authorization reference describes it."""

    service: str
    name: str
    access_level: str
    #: Resource types the action can be scoped to ("object*", "key*"); empty: only "*" is legal.
    resource_types: tuple[str, ...]

    @property
    def action(self) -> str:
        return f"{self.service}:{self.name}"

    @property
    def data_plane(self) -> bool:
        """Reads or writes data in a data store, and could be scoped to named resources."""
        if self.service not in DATA_SERVICES or not self.resource_types:
            return False
        return self.access_level in DATA_ACCESS_LEVELS or self.action.lower() in EXTRA_DATA_PLANE_ACTIONS


@functools.cache
def _parliament() -> ModuleType:
    # parliament imports pkg_resources, which warns on import; users must not see that.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import parliament
    return parliament


@functools.cache
def _reference() -> dict[str, dict[str, Privilege]]:
    """prefix -> lower-case action name -> Privilege (some prefixes appear twice in the data)."""
    index: dict[str, dict[str, Privilege]] = {}
    for service in _parliament().iam_definition:
        prefix = service["prefix"]
        names = index.setdefault(prefix, {})
        for priv in service["privileges"]:
            names[priv["privilege"].lower()] = Privilege(
                service=prefix,
                name=priv["privilege"],
                access_level=priv["access_level"],
                resource_types=tuple(
                    rt["resource_type"] for rt in priv.get("resource_types", ()) if rt.get("resource_type")
                ),
            )
    return index


def service_of(action: str) -> str:
    """The service prefix of an action, lower case ("" when the action has none)."""
    return action.split(":", 1)[0].lower() if ":" in action else ""


def is_full_wildcard(action: Any) -> bool:
    """`*` or `*:*`: every action of every service."""
    return isinstance(action, str) and action.strip() in ("*", "*:*")


def is_service_wildcard(action: Any) -> bool:
    """`s3:*`: every action of one service."""
    if not isinstance(action, str) or ":" not in action:
        return False
    prefix, name = action.split(":", 1)
    return prefix not in ("", "*") and name.strip("*") == "" and name != ""


def is_known_service(prefix: str) -> bool:
    return prefix.lower() in _reference()


@functools.lru_cache(maxsize=8192)
def expand_action(action: str) -> tuple[Privilege, ...] | None:
    """Every privilege an action pattern (`s3:Get*`, `kms:Decrypt`) grants; None when unknown.

    None means the service prefix is unknown, the pattern matches no action the reference
    lists, or the text is not `service:action`. Matching is case-insensitive, as IAM's is.
    """
    if not isinstance(action, str):
        return None
    text = action.strip()
    if text.count(":") != 1 and text != "*":
        return None
    try:
        matches = _parliament().expand_action(text, raise_exceptions=False)
    except Exception:  # noqa: BLE001 - a malformed action is "unknown", never a crash
        return None
    if not matches:
        return None
    reference = _reference()
    found: dict[str, Privilege] = {}
    for match in matches:
        priv = reference.get(match["service"], {}).get(match["action"].lower())
        if priv is not None:
            found.setdefault(priv.action, priv)
    return tuple(found.values()) or None


@functools.lru_cache(maxsize=8192)
def data_plane_actions_of(action: str) -> tuple[str, ...]:
    """The data-plane actions one action pattern grants (see the module note on unknowns)."""
    if not isinstance(action, str) or is_full_wildcard(action):
        # Callers report "*" on its own; expanding it would list thousands of actions.
        return ()
    privileges = expand_action(action)
    if privileges is None:
        if service_of(action) in DATA_SERVICES:
            return (action.strip(),)
        return ()
    return tuple(p.action for p in privileges if p.data_plane)


def data_plane_actions(actions: Iterable[Any]) -> list[str]:
    """The data-plane actions a list of action patterns grants, in order, without repeats."""
    seen: dict[str, None] = {}
    for action in actions:
        for name in data_plane_actions_of(action) if isinstance(action, str) else ():
            seen.setdefault(name, None)
    return list(seen)


def is_known_action(action: str) -> bool:
    return expand_action(action) is not None


def action_matches(pattern: Any, action: str) -> bool:
    """Whether an IAM action pattern (`sts:Assume*`, `*`) covers a concrete action."""
    if not isinstance(pattern, str):
        return False
    text = pattern.strip().lower()
    if text == "*":
        return True
    # IAM has no character classes: "[" is a literal.
    return fnmatch.fnmatchcase(action.lower(), text.replace("[", "[[]"))


def grants_action(patterns: Iterable[Any], action: str) -> bool:
    return any(action_matches(p, action) for p in patterns)
