"""Run reconcilers over validated documents: the engine behind `residency enforce` (no printing).

Reconcilers are looked up by kind, so a new custom resource is a new module plus one entry here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from controllers.access_audit import reconcile_access_audit
from controllers.access_request import reconcile_access
from controllers.actions import Progress
from controllers.aws import ClientFactory
from controllers.erasure import reconcile_erasure
from controllers.models import Document
from controllers.results import ReconcileResult
from controllers.retention import reconcile_retention
from policies.errors import InputError

EXIT_OK, EXIT_NOT_COMPLIANT, EXIT_BAD_INPUT = 0, 1, 2

Reconciler = Callable[..., ReconcileResult]
RECONCILERS: dict[str, Reconciler] = {
    "RetentionPolicy": reconcile_retention,
    "AccessAuditPolicy": reconcile_access_audit,
    "ErasureRequest": reconcile_erasure,
    "AccessRequest": reconcile_access,
}


def parse_now(text: str | None) -> datetime:
    """`--now` as an aware UTC datetime (a value without a zone is read as UTC)."""
    if text is None:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InputError(
            f"--now {text!r} is not an ISO 8601 time; write it like 2026-12-31T00:00:00Z"
        ) from None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)


def _store_region(store: object) -> str:
    inner = getattr(store, "s3", None) or getattr(store, "dynamodb", None)
    return inner.region  # type: ignore[union-attr]


def select_regions(docs: list[Document], regions: Iterable[str], allowed: tuple[str, ...]) -> list[Document]:
    """Keep only the data stores in `regions` (no regions: keep everything)."""
    wanted = set(regions)
    if not wanted:
        return docs
    outside = sorted(wanted - set(allowed))
    if outside:
        raise InputError(f"--region {outside[0]} is outside the territory; use {' or '.join(allowed)}")
    kept: list[Document] = []
    for doc in docs:
        stores = [s for s in doc.spec.data_stores if _store_region(s) in wanted]
        if doc.kind == "AccessRequest" and stores and len(stores) != len(doc.spec.data_stores):
            # A package of some of the subject's stores would be marked complete: never split one.
            raise InputError(
                f"document {doc.index} ({doc.ref}): spec.dataStores: some are outside --region "
                f"{', '.join(sorted(wanted))}; an access package holds every store: run it without --region",
                source=doc.source,
            )
        if stores:
            spec = doc.spec.model_copy(update={"data_stores": stores})
            kept.append(doc.model_copy(update={"spec": spec}))
    return kept


def run_once(
    docs: list[Document],
    clients: ClientFactory,
    now: datetime,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    on_start: Callable[[Document], None] | None = None,
) -> list[ReconcileResult]:
    results: list[ReconcileResult] = []
    for doc in docs:
        if on_start:
            on_start(doc)
        result = RECONCILERS[doc.kind](
            doc.spec,
            name=doc.metadata.name,
            clients=clients,
            now=now,
            dry_run=dry_run,
            source=f"{doc.source}#{doc.index}",
            progress=progress,
        )
        results.append(result)
    return results


def exit_code(results: list[ReconcileResult]) -> int:
    return EXIT_OK if all(r.compliant for r in results) else EXIT_NOT_COMPLIANT
