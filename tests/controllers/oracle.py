"""A random S3 estate, how to seed it into moto, and an independent oracle of what a sweep keeps.

The oracle restates the retention semantics from the spec text (controllers/retention.py docstring)
over the generated model, without touching the reconciler's code: ages are whole days plus a margin
of an hour so that seconds of drift between seeding and sweeping never cross a day boundary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

PREFIXES = ["", "a/", "a/b/", "b/"]
TAGS = [{}, {"t": "1"}, {"u": "2"}, {"t": "1", "u": "2"}]


@dataclass
class Event:
    """One version (or delete marker) of a key, in creation order."""

    age_days: int
    marker: bool = False
    tags: dict[str, str] = field(default_factory=dict)
    legal_hold: bool = False
    #: Days from now the retention lasts (negative: expired), or None.
    retention_days: int | None = None
    version_id: str = ""


@dataclass
class ObjectSet:
    kind: str  # "unversioned", "versioned" or "locked"
    keys: dict[str, list[Event]]


@dataclass(frozen=True)
class RuleSpec:
    name: str
    prefix: str
    tags: dict[str, str]
    max_age: int
    min_age: int | None

    def doc(self) -> dict:
        out: dict = {
            "name": self.name,
            "match": {"prefix": self.prefix, "tags": self.tags},
            "maxAgeDays": self.max_age,
        }
        if self.min_age is not None:
            out["minAgeDays"] = self.min_age
        return out


@st.composite
def events_for(draw: st.DrawFn, kind: str) -> list[Event]:
    count = 1 if kind == "unversioned" else draw(st.integers(1, 3))
    ages = sorted(draw(st.lists(st.integers(0, 40), min_size=count, max_size=count)), reverse=True)
    out: list[Event] = []
    for i, age in enumerate(ages):
        marker = kind != "unversioned" and i > 0 and draw(st.booleans()) and not out[-1].marker
        if marker:
            out.append(Event(age_days=age, marker=True))
            continue
        locked = kind == "locked"
        out.append(
            Event(
                age_days=age,
                tags=draw(st.sampled_from(TAGS)),
                legal_hold=locked and draw(st.integers(0, 4)) == 0,
                retention_days=draw(st.sampled_from([None, None, 5, -3])) if locked else None,
            )
        )
    return out


@st.composite
def object_sets(draw: st.DrawFn) -> ObjectSet:
    kind = draw(st.sampled_from(["unversioned", "versioned", "locked"]))
    names = draw(
        st.lists(
            st.tuples(st.sampled_from(PREFIXES), st.text("xyz", min_size=1, max_size=3)).map("".join),
            min_size=1,
            max_size=10,
            unique=True,
        )
    )
    return ObjectSet(kind=kind, keys={name: draw(events_for(kind)) for name in names})


@st.composite
def rule_sets(draw: st.DrawFn) -> list[RuleSpec]:
    count = draw(st.integers(1, 3))
    rules = []
    for i in range(count):
        max_age = draw(st.integers(1, 40))
        min_age = draw(st.one_of(st.none(), st.integers(0, max_age)))
        rules.append(
            RuleSpec(
                f"r{i}", draw(st.sampled_from(PREFIXES)), draw(st.sampled_from(TAGS[:3])), max_age, min_age
            )
        )
    return rules


def seed(estate, bucket: str, objects: ObjectSet, now: datetime) -> None:  # noqa: ANN001
    """Create the bucket and every event through the S3 API, then backdate each version."""
    estate.bucket(bucket, versioned=objects.kind != "unversioned", lock=objects.kind == "locked")
    for key, events in objects.keys.items():
        for event in events:
            if event.marker:
                answer = estate.s3.delete_object(Bucket=bucket, Key=key)
                event.version_id = answer["VersionId"]
            else:
                kwargs = {}
                if event.tags:
                    kwargs["Tagging"] = "&".join(f"{k}={v}" for k, v in event.tags.items())
                if event.legal_hold:
                    kwargs["ObjectLockLegalHoldStatus"] = "ON"
                answer = estate.s3.put_object(Bucket=bucket, Key=key, Body=b"x", **kwargs)
                event.version_id = answer.get("VersionId") or "null"
                if event.retention_days is not None:
                    estate.set_retention(
                        bucket,
                        key,
                        event.version_id,
                        "GOVERNANCE",
                        now + timedelta(days=event.retention_days),
                    )
            when = now - timedelta(days=event.age_days, hours=1)
            estate.backdate(bucket, key, event.version_id, when)


def _matching(key: str, tags: dict[str, str] | None, rules: list[RuleSpec]) -> list[RuleSpec]:
    out = []
    for rule in rules:
        if not key.startswith(rule.prefix):
            continue
        if tags is None and rule.tags:
            continue
        if rule.tags and any((tags or {}).get(k) != v for k, v in rule.tags.items()):
            continue
        out.append(rule)
    return out


def _due(age: int, rules: list[RuleSpec]) -> bool:
    return bool(rules) and all(age >= r.max_age and age >= (r.min_age or 0) for r in rules)


def oracle_survivors(objects: ObjectSet, rules: list[RuleSpec]) -> set[tuple[str, str]]:
    """(key, version id) of everything a correct sweep leaves in the bucket."""
    keep: set[tuple[str, str]] = set()
    for key, events in objects.keys.items():
        data_left = False
        for event in (e for e in events if not e.marker):
            held = event.legal_hold or (event.retention_days is not None and event.retention_days > 0)
            if held or not _due(event.age_days, _matching(key, event.tags, rules)):
                keep.add((key, event.version_id))
                data_left = True
        for event in (e for e in events if e.marker):
            if data_left or not _due(event.age_days, _matching(key, None, rules)):
                keep.add((key, event.version_id))
    return keep


def oracle_unmatched(objects: ObjectSet, rules: list[RuleSpec]) -> int:
    """How many object versions no rule matches (never deleted; one finding names them)."""
    return sum(
        1
        for key, events in objects.keys.items()
        for event in events
        if not event.marker and not _matching(key, event.tags, rules)
    )


def settled(result, objects: ObjectSet, rules: list[RuleSpec]) -> bool:  # noqa: ANN001
    """Compliant, except for the one finding about versions no rule matches, when the oracle expects it."""
    unmatched = oracle_unmatched(objects, rules)
    findings = result.all_findings()
    if result.all_errors() or result.total("pending"):
        return False
    if not unmatched:
        return result.compliant
    return len(findings) == 1 and f": {unmatched} object version(s) match no rule" in findings[0]


def policy_doc(bucket: str, rules: list[RuleSpec], name: str = "sweep", **spec: object) -> dict:
    return {
        "apiVersion": "residency.pushauction.com/v1alpha1",
        "kind": "RetentionPolicy",
        "metadata": {"name": name},
        "spec": {
            # user uploads: at most 365 days in the catalogue, so every generated rule (<= 40 days) fits.
            "dataStores": [{"s3": {"bucket": bucket, "region": "cn-north-1", "category": "user-uploads"}}],
            "rules": [r.doc() for r in rules],
            **spec,
        },
    }


def now_utc() -> datetime:
    return datetime.now(UTC)
