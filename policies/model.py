"""The normalized resource model every source produces and every rule reads.

A preview, a stack export, a CrossGuard analyzer call, a live AWS inventory and the Pulumi mock
runtime all become the same `Resource` objects, so a rule is written once and runs everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

#: The value the Pulumi engine prints for an output not known until apply.
UNKNOWN_SENTINEL = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
#: Pulumi's signature key for secrets, assets and archives in serialized state.
SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"


class _Unknown:
    """A value that is not known until apply. Never equal to anything, never compliant."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<unknown until apply>"

    def __str__(self) -> str:
        return "<unknown until apply>"

    def __reduce__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()


def is_unknown(value: Any) -> bool:
    return value is UNKNOWN


class Severity(str, Enum):  # noqa: UP042 - str mixin keeps json.dumps and comparisons simple
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls(text.strip().lower())
        except ValueError:
            allowed = ", ".join(s.value for s in cls)
            raise ValueError(f"unknown severity {text!r}; use one of {allowed}") from None


_SEVERITY_RANK = {Severity.CRITICAL: 4, Severity.HIGH: 3, Severity.MEDIUM: 2, Severity.LOW: 1}


@dataclass(slots=True, eq=False)
class Resource:
    """One resource of a stack, whatever source it came from.

    `props` holds the inputs merged over the outputs (inputs win where both are known); unknown
    values are the `UNKNOWN` singleton. `region` is a region name, `UNKNOWN`, or None when nothing
    in the input says where the resource lives (rules treat both as "cannot verify").
    """

    urn: str
    type: str
    name: str
    props: dict[str, Any]
    custom: bool = True
    #: Read from another stack or an existing cloud resource (`op: read` in a preview, `external: true`
    #: in state): context for joins and references, never this stack's finding.
    external: bool = False
    provider: str | None = None
    parent: str | None = None
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    region: Any = None
    region_source: str = "none"
    partition: Any = None
    tags: dict[str, Any] = field(default_factory=dict)
    #: Tag keys the resource took from defaults -> where from ("provider 'x' defaultTags", or
    #: "stack config aws:defaultTags" for Pulumi's default provider).
    inherited_tags: dict[str, str] = field(default_factory=dict)
    #: Property names the program declared (inputs); the rest of `props` are outputs.
    input_keys: frozenset[str] = frozenset()
    #: Where the program declared it ("project:///index.ts#5,20"), when the source says.
    source_position: str | None = None
    #: For a bucket: its side resources by kind ("encryption", "policy", ...).
    side: dict[str, list[Resource]] = field(default_factory=dict)
    #: For a side resource: the bucket it configures, once joined.
    owner: Resource | None = None
    #: Derived views rules compute once per resource (e.g. the bucket view).
    cache: dict[str, Any] = field(default_factory=dict)

    def get(self, *path: str | int, default: Any = None) -> Any:
        """Nested lookup in props: `res.get("versioning", "enabled")`; lists are indexed by int."""
        value: Any = self.props
        for key in path:
            if value is UNKNOWN:
                return UNKNOWN
            if isinstance(key, int):
                if not isinstance(value, list) or key >= len(value):
                    return default
                value = value[key]
            elif isinstance(value, dict):
                if key not in value:
                    return default
                value = value[key]
            else:
                return default
        return value

    @property
    def label(self) -> str:
        """How findings name the resource: `type name`."""
        return f"{self.type.rsplit(':', 1)[-1]} '{self.name}'"


@dataclass(slots=True)
class Finding:
    rule: str
    controls: list[str]
    severity: Severity
    urn: str
    type: str
    name: str
    message: str
    remediation: str = ""
    #: True when the finding exists because a value is unknown until apply (fail closed).
    unknown: bool = False
    waived: bool = False
    waiver_reason: str | None = None
    source_position: str | None = None
    #: True when the rule raised instead of judging the resource: a fail-closed finding that says
    #: "could not be checked", never evidence that the rule works.
    error: bool = False

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "rule": self.rule,
            "controls": list(self.controls),
            "severity": self.severity.value,
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "message": self.message,
            "remediation": self.remediation,
            "unknown": self.unknown,
            "error": self.error,
            "waived": self.waived,
        }
        if self.waiver_reason is not None:
            data["waiver"] = self.waiver_reason
        return data
