"""AccessRequest: gather one data subject's data from every listed store into one encrypted package.

The other half of a data-subject request (`ErasureRequest` deletes; this one hands over a copy).

* **Who asked.** `spec.verifiedBy` (who verified the requester's identity, and when) is required: the
  verification itself is organisational (catalogue ORG-VERIFY-1); the request refuses to run without
  the record of it.
* **Where it goes, first.** Before anything is read, `deliverTo` is checked (read-only): the bucket's
  real region (GetBucketLocation) is the declared one and inside the territory; its public access
  block is fully on (all four settings); the key is a customer-managed KMS key (DescribeKey:
  `KeyManager` CUSTOMER, enabled, in the bucket's region and the territory's partition). Any of these
  failing is a refusal (`delivery_problems`): `residency enforce` exits 2, the operator sets
  `InvalidSpec`, and nothing is written.
* **What.** Every *current* object under the subject's prefix (`keyPrefix` with `{subjectId}/`, the
  same scoping as an erasure; every key listed is checked to be under it), objects under legal hold or
  retention included (access is not deletion); every DynamoDB item with the subject's partition key
  (an exact, consistent `Query`, all pages: every sort key).
* **How much.** The plan is read first; when the subject's objects and items exceed `spec.limits`
  (`maxItems`, `maxBytes`), nothing is written and the status says `OverLimit`.
* **Once.** The package root is deterministic (request uid or name, and subject), and a completion
  marker is written only after the package was listed back and compared with its manifest; a re-run
  finds the marker, checks the package again and writes nothing. See `controllers.access_package`
  (the one writer) for the layout, the manifest and the digest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from controllers.access_package import (
    MAX_OBJECT_BYTES,
    ItemsFile,
    ObjectEntry,
    Package,
    deliver,
    delivered,
    package_id,
)
from controllers.actions import Progress
from controllers.aws import ClientFactory, call, error_code
from controllers.erasure import subject_key_schema, subject_prefix
from controllers.models import (
    KMS_KEY_ARN,
    AccessRequestSpec,
    Document,
    ErasureDynamoDBStore,
    ErasureS3Store,
)
from controllers.results import ReconcileResult, StoreResult
from controllers.s3_sweep import bucket_region, list_pages
from policies.errors import InputError
from policies.settings import Settings

KIND = "AccessRequest"
OVER_LIMIT = "OverLimit"
_PUBLIC_ACCESS_BLOCK = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


def _territory(settings: Settings | None) -> Settings:
    if settings is not None:
        return settings
    from policies.catalog import default_catalog

    return default_catalog().settings()


# --- deliverTo: checked before anything is read ----------------------------------------------------


@dataclass
class DeliveryCheck:
    """`problems`: refusals (the spec must change); `errors`: the check could not be made (retry)."""

    problems: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    #: The key's ARN as KMS names it (an alias resolved): what every put sends and S3 must echo.
    key_arn: str | None = None


#: How far `verifiedBy.at` may be ahead of this clock (another machine's clock may run ahead).
CLOCK_SKEW = timedelta(minutes=5)


def check_delivery(spec: AccessRequestSpec, clients: ClientFactory, settings: Settings) -> DeliveryCheck:
    """Is `deliverTo` inside the territory, private and encrypted with a customer-managed key? Reads only.
    (And was the identity verified before now: a verification in the future is no record of one.)"""
    target = spec.deliver_to
    check = DeliveryCheck()
    if spec.verified_by.at > datetime.now(UTC) + CLOCK_SKEW:
        check.problems.append(
            f"verifiedBy.at: {_iso(spec.verified_by.at)} is in the future; record when the identity was verified"
        )
        return check
    s3 = clients.client("s3", target.region)
    where = f"s3://{target.bucket}"
    try:
        actual = bucket_region(s3, clients.retry, target.bucket)
    except Exception as exc:
        if error_code(exc) == "NoSuchBucket":
            check.problems.append(f"deliverTo.bucket: {where} does not exist; create it or name another")
        else:
            check.errors.append(
                f"cannot read the region of {where} ({error_code(exc) or type(exc).__name__})"
            )
        return check
    if actual != target.region or actual not in settings.allowed_regions:
        check.problems.append(
            f"deliverTo.region: {where} is in {actual}, not in {target.region} as declared"
            + (
                ""
                if actual in settings.allowed_regions
                else f", outside the territory ({', '.join(settings.allowed_regions)})"
            )
            + "; deliver to a bucket in the territory"
        )
        return check
    try:
        block = call(clients.retry, s3.get_public_access_block, Bucket=target.bucket)
        config = block.get("PublicAccessBlockConfiguration", {})
        off = [name for name in _PUBLIC_ACCESS_BLOCK if config.get(name) is not True]
    except Exception as exc:
        if error_code(exc) != "NoSuchPublicAccessBlockConfiguration":
            check.errors.append(
                f"cannot read the public access block of {where} ({error_code(exc) or type(exc).__name__})"
            )
            return check
        off = list(_PUBLIC_ACCESS_BLOCK)
    if off:
        check.problems.append(
            f"deliverTo.bucket: the public access block of {where} is not fully on ({', '.join(off)} off); "
            "turn all four settings on before personal data is delivered there"
        )
    kms = clients.client("kms", target.region)
    try:
        key = call(clients.retry, kms.describe_key, KeyId=target.kms_key_arn)["KeyMetadata"]
    except Exception as exc:
        if error_code(exc) == "NotFoundException":
            check.problems.append(
                f"deliverTo.kmsKeyArn: {target.kms_key_arn} does not exist; name an existing key"
            )
        else:
            check.errors.append(
                f"cannot describe {target.kms_key_arn} ({error_code(exc) or type(exc).__name__})"
            )
        return check
    arn = str(key.get("Arn", ""))
    found = KMS_KEY_ARN.fullmatch(arn)
    if key.get("KeyManager") != "CUSTOMER":
        check.problems.append(
            f"deliverTo.kmsKeyArn: {target.kms_key_arn} is an AWS-managed key (KeyManager "
            f"{key.get('KeyManager')}); name a customer-managed key"
        )
    elif key.get("KeyState") != "Enabled":
        check.problems.append(
            f"deliverTo.kmsKeyArn: {arn} is {key.get('KeyState')}; enable it or name another"
        )
    elif found is None or found["partition"] != settings.partition or found["region"] != target.region:
        check.problems.append(
            f"deliverTo.kmsKeyArn: the key is {arn}, not in {target.region} of partition {settings.partition}; "
            "use a key beside the bucket"
        )
    else:
        check.key_arn = arn
    return check


def delivery_problems(spec: AccessRequestSpec, clients: ClientFactory, settings: Settings) -> list[str]:
    """The refusals only (for the operator's InvalidSpec); read errors are left to the reconcile."""
    return check_delivery(spec, clients, settings).problems


def check_access_requests(docs: list[Document], clients: ClientFactory, settings: Settings) -> None:
    """`residency enforce`'s check before anything runs: InputError (exit 2) for the first refusal."""
    for doc in docs:
        if doc.kind != KIND:
            continue
        problems = delivery_problems(doc.spec, clients, settings)
        if problems:
            raise InputError(
                f"document {doc.index} ({doc.ref}): spec.{problems[0]}; nothing was read or written",
                source=doc.source,
            )


# --- the result ------------------------------------------------------------------------------------


class AccessResult(ReconcileResult):
    """A ReconcileResult whose `Compliant` condition speaks of the package, not of deletions."""

    over_limit: str | None = None

    def condition(self, observed_generation: int | None = None) -> dict[str, Any]:
        out = super().condition(observed_generation)
        if self.over_limit and not self.all_errors():
            out.update(status="False", reason=OVER_LIMIT, message=self.over_limit[:1024])
        elif out["status"] == "True":
            package = self.evidence.get("package", {})
            out["message"] = (
                f"package delivered to {package.get('location', '?')}: {package.get('objects', 0)} object(s), "
                f"{package.get('items', 0)} item(s), sha256 {self.evidence.get('packageSha256', '')}"
            )[:1024]
        return out


# --- reconciler ------------------------------------------------------------------------------------


def reconcile_access(
    spec: AccessRequestSpec,
    *,
    name: str,
    clients: ClientFactory,
    now: datetime,
    dry_run: bool = False,
    source: str = "",
    progress: Progress | None = None,
    settings: Settings | None = None,
    uid: str | None = None,
) -> AccessResult:
    settings = _territory(settings)
    result = AccessResult(KIND, name, source, started=datetime.now(UTC), dry_run=dry_run)
    target = spec.deliver_to
    ident = package_id(uid or name, spec.subject_id)
    root = f"{target.prefix}{name}/{ident}/"
    delivery = StoreResult(f"deliverTo:s3://{target.bucket}/{root}")

    check = check_delivery(spec, clients, settings)
    for problem in check.problems:
        delivery.error(f"refused: spec.{problem}; nothing was read or written")
    for error in check.errors:
        delivery.error(f"{error}; nothing was read or written")
    if check.key_arn is None or check.problems or check.errors:
        result.stores.append(delivery)
        result.finished = datetime.now(UTC)
        return result

    package = Package(
        request=name,
        package_id=ident,
        subject_id=spec.subject_id,
        verified_by={"by": spec.verified_by.by, "at": _iso(spec.verified_by.at)},
        region=target.region,
        bucket=target.bucket,
        root=root,
        key_arn=check.key_arn,
    )
    # Completed once: a package already delivered is checked again (read-only) and nothing is read or written.
    done = delivered(package, clients, delivery)
    if done is None and not delivery.errors:
        _plan(spec, clients, result, package, progress)
        limits = spec.limits
        too_big = [o for o in package.objects if o.size > MAX_OBJECT_BYTES]
        if package.count > limits.max_items or package.size > limits.max_bytes or too_big:
            result.over_limit = (
                f"the subject has {package.count} object(s) and item(s), {package.size} bytes; the limits are "
                f"{limits.max_items} and {limits.max_bytes} bytes"
                + (f" (and {too_big[0].key} is larger than one PutObject can deliver)" if too_big else "")
                + ": no package was written; raise spec.limits or split the request by store"
            )
            delivery.findings.append(result.over_limit)
        elif result.all_errors():
            delivery.error("a data store could not be read completely; no package was written")
        elif dry_run:
            delivery.pending = package.count
            delivery.actions.append(
                f"would deliver {len(package.objects)} object(s) and {package.count - len(package.objects)} "
                f"item(s) ({package.size} bytes) to {package.location}, encrypted with {package.key_arn}"
            )
        else:
            done = deliver(package, clients, delivery)
    result.stores.append(delivery)
    if done is not None and done.sha256 is not None and not delivery.errors:
        result.evidence = {
            "subjectId": spec.subject_id,
            "verifiedBy": package.verified_by,
            "packageSha256": done.sha256,
            "package": {
                "location": package.location,
                "manifest": f"s3://{package.bucket}/{done.manifest_key}",
                "kmsKeyArn": package.key_arn,
                "files": done.files,
                **done.totals,
                "format": "controllers/access_package.py",
            },
            "alreadyDelivered": done.already_complete,
            "completedAt": done.completed_at,
            "started": result.started.isoformat(),
        }
    result.finished = datetime.now(UTC)
    if spec.deadline is not None and not result.compliant and now > spec.deadline:
        result.findings.append(
            f"past the deadline {spec.deadline.isoformat()} and the package is not delivered"
        )
    return result


def _plan(
    spec: AccessRequestSpec,
    clients: ClientFactory,
    result: AccessResult,
    package: Package,
    progress: Progress | None,
) -> None:
    """Read every store (reads only): the package's objects and items, a StoreResult per store."""
    labels: set[str] = set()
    for store in spec.data_stores:
        if store.s3 is not None:
            out = StoreResult(f"s3://{store.s3.bucket}/{subject_prefix(store.s3, spec.subject_id)}")
        else:
            assert store.dynamodb is not None
            label = f"dynamodb:{store.dynamodb.table}"
            out = StoreResult(label if label not in labels else f"{label}@{store.dynamodb.region}")
        labels.add(out.store)
        result.stores.append(out)
        try:
            if store.s3 is not None:
                _plan_s3(store.s3, spec.subject_id, clients, out, package, progress)
            else:
                _plan_dynamodb(store.dynamodb, spec.subject_id, clients, out, package)  # type: ignore[arg-type]
        except Exception as exc:  # noqa: BLE001 - reported per store; nothing is written after it
            out.error(f"{error_code(exc) or type(exc).__name__}: {exc}")


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _plan_s3(
    store: ErasureS3Store,
    subject_id: str,
    clients: ClientFactory,
    out: StoreResult,
    package: Package,
    progress: Progress | None,
) -> None:
    """Every current object under the subject's prefix (held ones too), in the declared region only."""
    client = clients.client("s3", store.region)
    actual = bucket_region(client, clients.retry, store.bucket)
    if actual != store.region:
        out.error(
            f"s3://{store.bucket} is in {actual}, not in {store.region} as declared; nothing read "
            "(fix spec.dataStores[].s3.region)"
        )
        return
    prefix = subject_prefix(store, subject_id)
    for page in list_pages(client, clients.retry, store.bucket, prefix):
        for version in page:
            if not version.key.startswith(prefix):  # never outside the subject's prefix
                out.error(f"the listing of {prefix} returned {version.key!r}; nothing of it is delivered")
                continue
            if not version.is_latest or version.delete_marker:
                out.skipped += 1  # not current: an access request hands over what is served
                continue
            out.examined += 1
            package.objects.append(
                ObjectEntry(
                    store=out.store,
                    region=store.region,
                    bucket=store.bucket,
                    key=version.key,
                    version_id=version.version_id,
                    size=int(version.size or 0),
                    etag=version.etag,
                    last_modified=version.last_modified,
                )
            )
        if progress:
            progress("examined", len(page))


def _plan_dynamodb(
    store: ErasureDynamoDBStore, subject_id: str, clients: ClientFactory, out: StoreResult, package: Package
) -> None:
    """Every item with the subject's partition key: an exact, consistent Query, all pages."""
    client = clients.client("dynamodb", store.region)
    table = call(clients.retry, client.describe_table, TableName=store.table)["Table"]
    try:
        kind, key_names = subject_key_schema(table, store.partition_key, subject_id)
    except ValueError as exc:
        out.error(str(exc))
        return
    items = ItemsFile(out.store, store.table, store.region, store.partition_key, key_names)
    kwargs: dict[str, Any] = {
        "TableName": store.table,
        "KeyConditionExpression": "#pk = :subject",
        "ExpressionAttributeNames": {"#pk": store.partition_key},
        "ExpressionAttributeValues": {":subject": {kind: subject_id}},
        "ConsistentRead": True,
    }
    while True:
        page = call(clients.retry, client.query, **kwargs)
        for item in page.get("Items", ()):
            if item.get(store.partition_key) != {kind: subject_id}:  # never another subject's
                out.error(
                    f"the query for {subject_id!r} returned another partition; nothing of it is delivered"
                )
                continue
            items.items.append(item)
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    out.examined += len(items.items)
    package.tables.append(items)
