"""What a reconcile did, as data: the CLI prints it, the operator will write it to `status`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

#: Held or failed items listed by name in a result; the counts are always complete.
MAX_LISTED = 100


class PermissionHold(str):
    """A hold reason that is really "could not read the lock state": the item is kept (fail closed),
    and the store also gets a permission finding, so the policy is not reported compliant."""


@dataclass
class StoreResult:
    """One data store's share of a reconcile."""

    store: str
    examined: int = 0
    deleted: int = 0
    #: Would be deleted: dry run, Audit mode, or stopped by the blast-radius limit.
    pending: int = 0
    held: int = 0
    #: Examined and kept on purpose: younger than its rule, matched by no rule, or not the subject's.
    skipped: int = 0
    actions: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    held_items: list[str] = field(default_factory=list)
    #: Targeted for deletion but still found by a fresh read afterwards (never counted as deleted).
    remaining: int = 0
    remaining_items: list[str] = field(default_factory=list)
    #: Kept because the lock state could not be read (also counted in `held`).
    unreadable: int = 0

    def hold(self, item: str, reason: str) -> None:
        self.held += 1
        if len(self.held_items) < MAX_LISTED:
            self.held_items.append(f"{item}: {reason}")
        if isinstance(reason, PermissionHold):
            self.unreadable += 1
            if self.unreadable <= MAX_LISTED:
                self.findings.append(
                    f"{item}: {reason} (permission: allow s3:GetObject, s3:GetObjectRetention and "
                    "s3:GetObjectLegalHold on the bucket, so the controller can tell a hold from a denial)"
                )

    def remain(self, item: str, why: str) -> None:
        """An item that was to be deleted and is still there: not erased, and named."""
        self.remaining += 1
        if len(self.remaining_items) < MAX_LISTED:
            self.remaining_items.append(f"{item}: {why}")

    def error(self, message: str) -> None:
        if len(self.errors) < MAX_LISTED:
            self.errors.append(message)
        elif len(self.errors) == MAX_LISTED:
            self.errors.append("... more errors not listed")


@dataclass
class ReconcileResult:
    kind: str
    name: str
    source: str
    started: datetime
    finished: datetime | None = None
    dry_run: bool = False
    audit: bool = False
    stores: list[StoreResult] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)
    #: Set by reconcilers whose held items mean the request is not fulfilled (erasure).
    held_blocks_compliance: bool = False
    #: Machine-readable findings (access-log violations, ...).
    details: list[dict[str, Any]] = field(default_factory=list)
    #: An erasure's manifest (JSON lines; `evidence.deletedSha256` is its sha256). Not in `to_dict`.
    manifest: bytes | None = None

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.name}"

    def total(self, attribute: str) -> int:
        return sum(getattr(s, attribute) for s in self.stores)

    def all_findings(self) -> list[str]:
        out = self.findings + [f"{s.store}: {f}" for s in self.stores for f in s.findings]
        for s in self.stores:
            out += [f"{s.store}: still present after deleting: {r}" for r in s.remaining_items]
            if s.remaining > len(s.remaining_items):
                out.append(
                    f"{s.store}: ... {s.remaining - len(s.remaining_items)} more item(s) still present"
                )
        return out

    def all_errors(self) -> list[str]:
        return self.errors + [f"{s.store}: {e}" for s in self.stores for e in s.errors]

    @property
    def compliant(self) -> bool:
        """In compliance now (or brought into it): nothing failed, nothing left to do, no finding."""
        if self.all_errors() or self.all_findings() or self.total("pending") or self.total("remaining"):
            return False
        return not (self.held_blocks_compliance and self.total("held"))

    def condition(self, observed_generation: int | None = None) -> dict[str, Any]:
        """The `Compliant` condition in the metav1.Condition shape."""
        if self.compliant:
            reason, message = "Reconciled", f"deleted {self.total('deleted')}, held {self.total('held')}"
        elif self.all_errors():
            reason, message = "Error", self.all_errors()[0]
        elif self.total("pending"):
            reason, message = "Pending", f"{self.total('pending')} item(s) left to delete"
        elif self.all_findings():
            reason, message = "Findings", self.all_findings()[0]
        else:
            reason, message = "Held", f"{self.total('held')} item(s) under legal hold or retention"
        when = (self.finished or self.started).isoformat().replace("+00:00", "Z")
        condition = {
            "type": "Compliant",
            "status": "True" if self.compliant else "False",
            "reason": reason,
            "message": message[:1024],
            "lastTransitionTime": when,
        }
        if observed_generation is not None:
            condition["observedGeneration"] = observed_generation
        return condition

    def status(self, observed_generation: int | None = None) -> dict[str, Any]:
        """The custom resource's `status` (the shape in controllers/crds/*.yaml) for the operator."""
        status: dict[str, Any] = {
            "conditions": [self.condition(observed_generation)],
            "lastRun": (self.finished or self.started).isoformat().replace("+00:00", "Z"),
            "examined": self.total("examined"),
            "deleted": self.total("deleted"),
            "held": self.total("held"),
            "pending": self.total("pending"),
            "findings": (self.all_findings() + self.all_errors())[:MAX_LISTED],
        }
        if observed_generation is not None:
            status["observedGeneration"] = observed_generation
        if self.evidence:
            status["evidence"] = self.evidence
        return status

    def to_dict(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat().replace("+00:00", "Z") if value else None

        return {
            "kind": self.kind,
            "name": self.name,
            "source": self.source,
            "compliant": self.compliant,
            "dryRun": self.dry_run,
            "audit": self.audit,
            "started": iso(self.started),
            "finished": iso(self.finished),
            "stores": [vars(s) for s in self.stores],
            "findings": self.findings,
            "errors": self.errors,
            "details": self.details,
            "evidence": self.evidence,
            "condition": self.condition(),
        }
