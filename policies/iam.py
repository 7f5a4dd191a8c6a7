"""IAM action analysis: expand action patterns and tell data-plane actions from the rest.

The IAM service authorization reference (every action, its access level and the resource types
it can be scoped to) is the one the `parliament` library maintains and ships, so this module holds
no IAM database of its own. It reads parliament's data file directly rather than importing the
package: the import costs about a quarter of a second (pkg_resources, a 10 MB JSON parse with the
standard library, a warning on stderr) and its expander scans every service per pattern. The compact
index built from the file is cached on disk per parliament version (`$XDG_CACHE_HOME/residency`),
so a check pays ~10 ms for it; `residency --help` pays nothing. Results are cached per action
string, since the same few hundred actions repeat across thousands of policies.

Unknown actions (typos, actions newer than parliament's database, services it does not know)
never raise. An unknown action of a *data service* is treated as data-plane (fail closed: we
cannot show it is harmless, and an action the reference does not list is as likely to be a new
data API as a typo); an unknown action of any other service is ignored.
"""

from __future__ import annotations

import fnmatch
import functools
import importlib.util
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
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
        # Cognito user pools and sync datasets hold people's profiles (phone numbers, e-mail addresses).
        "cognito-idp",
        "cognito-sync",
    }
)

#: Services whose write actions run code or route data on behalf of other identities: invoking or
#: replacing any function runs it with that function's role; a rule, pipe, schedule or state machine
#: on any bus sends its events anywhere; a DMS or DataSync task copies a store somewhere else.
DATA_FLOW_SERVICES = frozenset(
    {"lambda", "events", "pipes", "scheduler", "states", "dms", "datasync", "appflow", "firehose", "glue"}
)

#: Access levels that read or change data (not List, Tagging or Permissions management).
DATA_ACCESS_LEVELS = frozenset({"Read", "Write"})

#: How AWS names the Read actions that return a resource's metadata or configuration, not its data:
#: `Describe*` everywhere (dynamodb:DescribeTable, kms:DescribeKey), the bucket-level reads of S3
#: (s3:GetBucketLocation, s3:GetBucketPolicy), Read-level `List...` (sns:ListTagsForResource) and `Get...`
#: reads of attributes, settings, tags and policies
#: (sqs:GetQueueAttributes, sns:GetTopicAttributes, secretsmanager:GetResourcePolicy). Applied to the
#: access level and name the IAM reference gives each action, so it classifies actions AWS adds later.
_METADATA_READ_PREFIXES = ("Describe", "GetBucket", "List")
_METADATA_READ_SUFFIXES = (
    "Attributes",
    "Location",
    "Policy",
    "PolicyStatus",
    "Configuration",
    "Tagging",
    "Tags",
    "Acl",
    "Url",
    "Status",
    "Versioning",
)

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
    def metadata_only(self) -> bool:
        """A Read action that returns metadata or configuration, not the data (see the naming note)."""
        if self.access_level != "Read":
            return False
        return self.name.startswith(_METADATA_READ_PREFIXES) or (
            self.name.startswith("Get") and self.name.endswith(_METADATA_READ_SUFFIXES)
        )

    @property
    def data_plane(self) -> bool:
        """Reads or writes data in a data store, and could be scoped to named resources."""
        if self.service not in DATA_SERVICES or not self.resource_types or self.metadata_only:
            return False
        return self.access_level in DATA_ACCESS_LEVELS or self.action.lower() in EXTRA_DATA_PLANE_ACTIONS

    @property
    def data_flow(self) -> bool:
        """Runs code or routes data on behalf of other identities (see DATA_FLOW_SERVICES)."""
        return self.service in DATA_FLOW_SERVICES and self.access_level == "Write"


def _reference_file() -> Path:
    """parliament's `iam_definition.json`, found without importing parliament."""
    spec = importlib.util.find_spec("parliament")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the parliament package is not installed; reinstall residency")
    return Path(next(iter(spec.submodule_search_locations))) / "iam_definition.json"


def _build_compact(source: Path) -> dict[str, dict[str, list[Any]]]:
    """prefix -> lower-case action -> [Name, access level, [resource types]]."""
    import orjson

    compact: dict[str, dict[str, list[Any]]] = {}
    for service in orjson.loads(source.read_bytes()):
        names = compact.setdefault(service["prefix"], {})
        for priv in service["privileges"]:
            types = [rt["resource_type"] for rt in priv.get("resource_types", ()) if rt.get("resource_type")]
            names[priv["privilege"].lower()] = [priv["privilege"], priv["access_level"], types]
    return compact


def _load_compact() -> dict[str, dict[str, list[Any]]]:
    from policies.disk_cache import cached_json, file_key

    source = _reference_file()
    key = file_key(source)
    return cached_json(f"iam-reference-{key}.json" if key else None, lambda: _build_compact(source))


@functools.cache
def _reference() -> dict[str, dict[str, Privilege]]:
    """prefix -> lower-case action name -> Privilege (some prefixes appear twice in the data)."""
    return {
        prefix: {
            lower: Privilege(
                service=prefix, name=entry[0], access_level=entry[1], resource_types=tuple(entry[2])
            )
            for lower, entry in names.items()
        }
        for prefix, names in _load_compact().items()
    }


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
    if "*" not in text and "?" not in text:
        # An exact action: a dictionary lookup, no pattern scan over the whole reference.
        prefix, name = text.split(":", 1)
        exact = _reference().get(prefix.lower(), {}).get(name.lower())
        return (exact,) if exact is not None else None
    # A pattern: IAM matches `*` and `?` case-insensitively, within a service prefix that may itself
    # be a pattern (as parliament's expand_action does).
    prefix_pattern, name_pattern = (p.lower() for p in text.split(":", 1)) if text != "*" else ("*", "*")
    found: dict[str, Privilege] = {}
    for prefix, names in _reference().items():
        if not fnmatch.fnmatchcase(prefix, prefix_pattern):
            continue
        for lower, priv in names.items():
            if fnmatch.fnmatchcase(lower, name_pattern):
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


#: Name fragments of the actions that read or write the data itself ("s3:GetObject"): they tell a
#: reader more than long configuration reads ("s3:GetBucketObjectLockConfiguration").
_TELLING = (
    "Object",
    "Item",
    "Query",
    "Scan",
    "Secret",
    "crypt",
    "Message",
    "Record",
    "LogEvents",
    "User",
    "Invoke",
)


def telling_first(actions: Iterable[str]) -> list[str]:
    """Actions ordered for examples in a message: those touching data first, then shorter names."""
    return sorted(actions, key=lambda a: (not any(hint in a for hint in _TELLING), len(a)))
