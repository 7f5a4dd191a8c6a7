"""`residency demo`, run-time part: `residency enforce` end to end on an embedded AWS (moto).

`run_estate_demo()` starts a moto server in this process on 127.0.0.1 (a free port), seeds a small
estate (a versioned Object Lock bucket of personal data with objects of various ages, old versions,
delete markers and a legal hold; an audit-log bucket with S3 server access logs; a DynamoDB table with
TTLs), and runs the documents of `controllers/examples/demo-estate.yaml` through the code path of
`residency enforce` (`load_files`, `ClientFactory`, `run_once`): first as a dry run, then for real,
then the erasure again. It then checks by listing what survived, prints a verdict, and returns 0 when
everything behaved as the policies promise, 1 otherwise. Nothing starts at import time; boto3 and moto
are imported inside. Without moto (`pip install 'residency[demo]'`) it prints one line and returns 0.

Registered as the `estate` entry point of `residency.demos`, which `residency demo` runs.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

EXAMPLE = Path(__file__).parent / "examples" / "demo-estate.yaml"
REGION = "cn-north-1"
BUCKET = "pushauction-demo-user-uploads"
AUDIT_BUCKET = "pushauction-demo-audit-logs"
AUDIT_PREFIX = "s3-access/"
TABLE = "pushauction-demo-sessions"
ACCOUNT = "123456789012"
SERVICE_SESSION = f"arn:aws-cn:sts::{ACCOUNT}:assumed-role/uploads-service/i-0a1b2c3d"
INTRUDER = f"arn:aws-cn:iam::{ACCOUNT}:user/intern-eve"
INTRUDER_KEY = "uploads/user-7/photo-1.jpg"
SUBJECT, OTHER = "user-42", "user-7"
SUBJECT_PREFIX, OTHER_PREFIX = f"uploads/{SUBJECT}/", f"uploads/{OTHER}/"
HELD_KEY = "crash/android/incident-2291.dmp"
#: The RetentionPolicy's rules in the example file (prefix: age in days), restated for the checks.
RULE_DAYS = {"crash/": 30, "uploads/": 365}
MIN_LOG_RETENTION = 180

MOTO_MISSING = (
    "residency demo: skipped the run-time demo (residency enforce on an embedded AWS): it needs moto; "
    "pip install 'residency[demo]' (or 'moto[server]>=5,<6')"
)


@dataclass(frozen=True)
class Event:
    """One write to a key: an object version or a delete marker, `age_days` old."""

    age_days: int
    marker: bool = False
    hold: bool = False


def estate_objects() -> dict[str, list[Event]]:
    """The personal-data bucket: key -> writes, oldest first (the last one is current)."""
    objects: dict[str, list[Event]] = {}
    crash_ages = [1, 3, 6, 9, 12, 16, 20, 25, 29, 34, 38, 45, 52, 60, 75, 90, 120, 150, 200, 260]
    for i, age in enumerate(crash_ages):
        objects[f"crash/ios/{i:04d}.dmp"] = [Event(age)]
    objects[HELD_KEY] = [Event(400, hold=True)]  # evidence in a dispute: legal hold, far past 30 days
    objects["crash/android/0007.dmp"] = [Event(70), Event(45, marker=True)]  # deleted by the app
    for i in range(40):
        objects[f"uploads/user-{100 + i}/photo.jpg"] = [Event(10 + 13 * i)]
    for i in range(8):
        objects[f"uploads/user-{100 + i}/avatar.png"] = [Event(420 + 20 * i), Event(30 + i)]
    objects["uploads/user-120/old.jpg"] = [Event(500), Event(400, marker=True)]
    objects[f"{SUBJECT_PREFIX}photo-1.jpg"] = [Event(200), Event(30)]
    objects[f"{SUBJECT_PREFIX}photo-2.jpg"] = [Event(90)]
    objects[f"{SUBJECT_PREFIX}avatar.png"] = [Event(150), Event(20, marker=True)]
    objects[f"{OTHER_PREFIX}photo-1.jpg"] = [Event(300), Event(10)]
    objects[f"{OTHER_PREFIX}notes.txt"] = [Event(40), Event(5, marker=True)]
    return objects


def survives(key: str, events: list[Event]) -> list[bool]:
    """What the policies promise for each write of a key: erased, past its rule (unless held), or kept."""
    if key.startswith(SUBJECT_PREFIX):
        return [False] * len(events)
    days = next(d for prefix, d in RULE_DAYS.items() if key.startswith(prefix))
    keep = [e.hold or e.age_days < days for e in events]
    data_left = any(k for k, e in zip(keep, events, strict=True) if not e.marker)
    return [
        k if not e.marker else (data_left or e.age_days < days) for k, e in zip(keep, events, strict=True)
    ]


#: DynamoDB sessions: (userId, sessionId, TTL in days from now; negative: expired).
SESSIONS: list[tuple[str, str, int]] = [
    (SUBJECT, "s-1", 5),
    (SUBJECT, "s-2", 12),
    (SUBJECT, "s-3", 20),
    (OTHER, "s-1", 3),
    (OTHER, "s-2", 25),
    *[(f"user-{100 + i}", "s-1", -2 - i if i % 2 == 0 else 4 + i) for i in range(12)],
]


def _retention(results: list[Any]) -> tuple[Any, Any]:
    """The two RetentionPolicies' results: the uploads bucket's and the sessions table's."""
    by_name = {r.name: r for r in results if r.kind == "RetentionPolicy"}
    return by_name["demo-uploads-retention"], by_name["demo-sessions-retention"]


def run_estate_demo(console: Any = None, evidence: Path | None = None) -> int:
    """Run the demo; 0 when every check held (or moto is not installed: skipped), 1 otherwise.

    With `evidence`, each enforce run writes its erasure manifests and its run record there."""
    from rich.console import Console

    if console is None:
        console = Console(soft_wrap=True)
        if not console.is_terminal:
            console = Console(soft_wrap=True, width=max(console.width, 130))
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        console.print(MOTO_MISSING, markup=False, highlight=False, soft_wrap=True)
        return 0
    try:
        with _demo_environment():
            return _Demo(console, ThreadedMotoServer, evidence).run()
    except KeyboardInterrupt:
        console.print("residency demo: interrupted", markup=False, highlight=False, soft_wrap=True)
        return 130
    except Exception as exc:  # noqa: BLE001 - never a traceback
        console.print(
            f"residency demo: the run-time demo failed: {type(exc).__name__}: {exc}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        console.print(
            "VERDICT: FAIL: the run-time demo did not complete", markup=False, highlight=False, soft_wrap=True
        )
        return 1


@contextlib.contextmanager
def _demo_environment() -> Iterator[None]:
    """Dummy AWS credentials and no AWS profile/config for the demo only; restored afterwards.

    The demo's clients also get an explicit session with the dummy keys; this guards against an
    `AWS_PROFILE` naming a missing profile, instance-metadata lookups and proxies for 127.0.0.1.
    """
    dummy = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    touched = {k for k in os.environ if k.startswith("AWS_")} | set(dummy) | {"NO_PROXY", "no_proxy"}
    saved = {k: os.environ.get(k) for k in touched}
    werkzeug = logging.getLogger("werkzeug")
    level = werkzeug.level
    try:
        for key in touched:
            os.environ.pop(key, None)
        os.environ.update(dummy)
        for key in ("NO_PROXY", "no_proxy"):
            os.environ[key] = ",".join(filter(None, [saved[key], "127.0.0.1", "localhost"]))
        werkzeug.setLevel(logging.ERROR)  # no request log lines from the embedded server
        yield
    finally:
        werkzeug.setLevel(level)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _reset(url: str) -> None:
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(f"{url}/moto-api/reset", method="POST", data=b"")
    with opener.open(request, timeout=30) as answer:
        answer.read()


class _Demo:
    def __init__(self, console: Any, server_class: Any, evidence: Path | None = None) -> None:
        self.console = console
        self.server_class = server_class
        self.evidence = evidence
        self.checks: list[tuple[bool, str]] = []

    # --- the run ---------------------------------------------------------------------------------

    def run(self) -> int:
        server = self.server_class(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            self.url = f"http://{host}:{port}"
            _reset(self.url)  # moto's backends are per process: start from an empty account
            try:
                return self._run()
            finally:
                with contextlib.suppress(Exception):
                    _reset(self.url)
        finally:
            server.stop()

    def _run(self) -> int:
        import boto3

        from controllers.aws import ClientFactory
        from controllers.documents import load_files
        from controllers.enforce import exit_code, run_once
        from policies.catalog import default_catalog

        out = self.console
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
        )
        kw = {"endpoint_url": self.url, "region_name": REGION}
        self.s3 = session.client("s3", **kw)
        self.ddb = session.client("dynamodb", **kw)
        self.cloudtrail = session.client("cloudtrail", **kw)

        out.print(
            "[bold]residency demo: the run-time controller (residency enforce) on an embedded AWS[/bold]"
        )
        started = time.monotonic()
        self._seed()
        docs = load_files([EXAMPLE], default_catalog().settings())
        clients = ClientFactory(endpoint_url=self.url, _session=session)
        self._print_estate(time.monotonic() - started)

        def step(title: str, selected: list[Any], dry_run: bool) -> list[Any]:
            calls, began = clients.total_calls(), time.monotonic()
            results = run_once(selected, clients, datetime.now(UTC), dry_run=dry_run)
            took = f"{time.monotonic() - began:.1f} s, {clients.total_calls() - calls} AWS calls"
            self._print_results(f"{title} ({took})", results, dry_run=dry_run)
            self._record(results, dry_run)
            return results

        before = self._snapshot()
        dry = step("1. residency enforce --dry-run: what it would do", docs, True)
        self._check_dry_run(dry, before)
        real = step("2. residency enforce: for real", docs, False)
        again = step(
            "3. the same ErasureRequest again", [d for d in docs if d.kind == "ErasureRequest"], False
        )
        self._check_real(real, exit_code(real))
        self._check_again(again)
        return self._verdict()

    def _record(self, results: list[Any], dry_run: bool) -> None:
        """As `residency enforce --evidence DIR`: the erasure manifests, then the hash-chained run record."""
        if self.evidence is None:
            return
        from controllers.manifest import write_dir
        from policies.evidence import enforce_record

        for result in results:
            if result.manifest is not None and result.evidence:
                when = result.finished or result.started
                path = write_dir(self.evidence, result.name, when, result.manifest)
                result.evidence.setdefault("manifest", {})["file"] = str(path)
        written = enforce_record(self.evidence, files=[EXAMPLE], results=results, dry_run=dry_run)
        self.console.print(
            f"  run record {written.path.name} sha256 {written.sha256}", markup=False, highlight=False
        )

    # --- seeding (untimed: not part of what the demo shows) ----------------------------------------

    def _seed(self) -> None:
        now = datetime.now(UTC)
        s3, location = self.s3, {"LocationConstraint": REGION}
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration=location, ObjectLockEnabledForBucket=True)
        self.objects = estate_objects()
        self.expected: set[tuple[str, str]] = set()
        self.seeded: dict[tuple[str, str], Event] = {}
        for key, events in self.objects.items():
            for event, keep in zip(events, survives(key, events), strict=True):
                if event.marker:
                    version_id = s3.delete_object(Bucket=BUCKET, Key=key)["VersionId"]
                else:
                    extra = {"ObjectLockLegalHoldStatus": "ON"} if event.hold else {}
                    body = f"{key} ({event.age_days} days old)".encode()
                    version_id = s3.put_object(Bucket=BUCKET, Key=key, Body=body, **extra)["VersionId"]
                self._backdate(key, version_id, now - timedelta(days=event.age_days, hours=1))
                self.seeded[(key, version_id)] = event
                if keep:
                    self.expected.add((key, version_id))

        s3.create_bucket(Bucket=AUDIT_BUCKET, CreateBucketConfiguration=location)
        s3.put_bucket_acl(
            Bucket=AUDIT_BUCKET,
            GrantWrite="uri=http://acs.amazonaws.com/groups/s3/LogDelivery",
            GrantReadACP="uri=http://acs.amazonaws.com/groups/s3/LogDelivery",
        )
        s3.put_bucket_lifecycle_configuration(
            Bucket=AUDIT_BUCKET,
            LifecycleConfiguration={
                "Rules": [
                    {
                        "ID": "expire-access-logs",
                        "Filter": {"Prefix": AUDIT_PREFIX},
                        "Status": "Enabled",
                        "Expiration": {"Days": 30},
                    }
                ]
            },
        )
        self.log_requests = self._seed_access_logs(now)
        self.cloudtrail.create_trail(Name="pushauction-demo-data-events", S3BucketName=AUDIT_BUCKET)
        self.cloudtrail.start_logging(Name="pushauction-demo-data-events")
        self.cloudtrail.put_event_selectors(
            TrailName="pushauction-demo-data-events",
            EventSelectors=[
                {
                    "ReadWriteType": "All",
                    "DataResources": [
                        {"Type": "AWS::S3::Object", "Values": [f"arn:aws-cn:s3:::{BUCKET}/"]},
                        {
                            "Type": "AWS::DynamoDB::Table",
                            "Values": [f"arn:aws-cn:dynamodb:{REGION}:{ACCOUNT}:table/{TABLE}"],
                        },
                    ],
                }
            ],
        )

        self.ddb.create_table(
            TableName=TABLE,
            KeySchema=[
                {"AttributeName": "userId", "KeyType": "HASH"},
                {"AttributeName": "sessionId", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "userId", "AttributeType": "S"},
                {"AttributeName": "sessionId", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
            Tags=[{"Key": "data-category", "Value": "cookies"}],
        )
        epoch = int(now.timestamp())
        for user, session, days in SESSIONS:
            item = {
                "userId": {"S": user},
                "sessionId": {"S": session},
                "expiresAt": {"N": str(epoch + days * 86400)},
                "device": {"S": "ios"},
            }
            self.ddb.put_item(TableName=TABLE, Item=item)

    def _backdate(self, key: str, version_id: str, when: datetime) -> None:
        """moto has no API for LastModified: set it in the in-process backend, as the tests do."""
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.s3.models import s3_backends

        for version in s3_backends[DEFAULT_ACCOUNT_ID]["aws-cn"].buckets[BUCKET].keys.getlist(key):
            if version.version_id == version_id:
                version.last_modified = when.astimezone(UTC).replace(tzinfo=None)
                return
        raise LookupError(f"seeded version {key}@{version_id} not found in moto's backend")

    def _seed_access_logs(self, now: datetime) -> int:
        from controllers.access_log import AccessRecord, format_record

        at = now.replace(microsecond=0)
        batches = [
            [
                ("REST.PUT.OBJECT", f"{SUBJECT_PREFIX}photo-1.jpg", SERVICE_SESSION, 190),
                ("REST.GET.OBJECT", f"{OTHER_PREFIX}photo-1.jpg", SERVICE_SESSION, 185),
                ("REST.GET.OBJECT", "uploads/user-101/photo.jpg", SERVICE_SESSION, 180),
            ],
            [
                ("REST.GET.OBJECT", f"{SUBJECT_PREFIX}photo-2.jpg", SERVICE_SESSION, 120),
                ("REST.GET.OBJECT", INTRUDER_KEY, INTRUDER, 95),
                ("REST.HEAD.OBJECT", "crash/ios/0001.dmp", SERVICE_SESSION, 90),
            ],
            [
                ("REST.DELETE.OBJECT", f"{OTHER_PREFIX}notes.txt", SERVICE_SESSION, 30),
                ("REST.GET.OBJECT", "uploads/user-104/avatar.png", SERVICE_SESSION, 20),
            ],
        ]
        for n, batch in enumerate(batches):
            lines = [
                format_record(
                    AccessRecord(
                        "owner",
                        BUCKET,
                        at - timedelta(minutes=minutes),
                        "10.20.3.4",
                        requester,
                        f"DEMO{n}{i:03d}",
                        operation,
                        key,
                        f"{operation.split('.')[1]} /{BUCKET}/{key} HTTP/1.1",
                        "200",
                    )
                )
                for i, (operation, key, requester, minutes) in enumerate(batch)
            ]
            stamp = (at - timedelta(minutes=batch[-1][3])).strftime("%Y-%m-%d-%H-%M-%S")
            self.s3.put_object(
                Bucket=AUDIT_BUCKET, Key=f"{AUDIT_PREFIX}{stamp}-DEMO{n:04d}", Body="\n".join(lines).encode()
            )
        return sum(len(b) for b in batches)

    # --- reading the estate back -------------------------------------------------------------------

    def _versions(self, prefix: str = "") -> set[tuple[str, str]]:
        found: set[tuple[str, str]] = set()
        for page in self.s3.get_paginator("list_object_versions").paginate(Bucket=BUCKET, Prefix=prefix):
            for entry in page.get("Versions", []) + page.get("DeleteMarkers", []):
                found.add((entry["Key"], entry["VersionId"]))
        return found

    def _items(self) -> dict[tuple[str, str], int]:
        items: dict[tuple[str, str], int] = {}
        for page in self.ddb.get_paginator("scan").paginate(TableName=TABLE, ConsistentRead=True):
            for item in page["Items"]:
                items[(item["userId"]["S"], item["sessionId"]["S"])] = int(item["expiresAt"]["N"])
        return items

    def _lifecycle(self, bucket: str) -> list[dict[str, Any]]:
        try:
            return self.s3.get_bucket_lifecycle_configuration(Bucket=bucket).get("Rules", [])
        except Exception as exc:  # noqa: BLE001
            if "NoSuchLifecycleConfiguration" in str(exc):
                return []
            raise

    def _snapshot(self) -> tuple[Any, ...]:
        import json

        return (
            frozenset(self._versions()),
            tuple(sorted(self._items().items())),
            json.dumps(self._lifecycle(BUCKET), sort_keys=True, default=str),
            json.dumps(self._lifecycle(AUDIT_BUCKET), sort_keys=True, default=str),
            json.dumps(self.s3.get_bucket_logging(Bucket=BUCKET).get("LoggingEnabled"), sort_keys=True),
            self.ddb.describe_time_to_live(TableName=TABLE)["TimeToLiveDescription"].get("TimeToLiveStatus"),
        )

    # --- checks -------------------------------------------------------------------------------------

    def check(self, text: str, test: Callable[[], bool | str]) -> None:
        """`test` returns True (held), or False / a string saying what was found instead."""
        try:
            answer = test()
        except Exception as exc:  # noqa: BLE001 - a check that cannot run has failed
            answer = f"{type(exc).__name__}: {exc}"
        if answer is True:
            self.checks.append((True, text))
        else:
            self.checks.append((False, f"{text}: {answer or 'not so'}"))

    def _counts(self) -> dict[str, int]:
        subject = [ref for ref in self.seeded if ref[0].startswith(SUBJECT_PREFIX)]
        retention = [ref for ref in self.seeded if ref not in self.expected and ref not in subject]
        return {
            "retention": len(retention),
            "subject": len(subject),
            "subject_items": sum(1 for user, _, _ in SESSIONS if user == SUBJECT),
            "expired": sum(1 for _, _, days in SESSIONS if days < 0),
        }

    def _check_dry_run(self, dry: list[Any], before: tuple[Any, ...]) -> None:
        counts = self._counts()
        by_kind = {r.kind: r for r in dry}
        self.check(
            "dry run changed nothing (objects, items, lifecycle, logging, TTL)",
            lambda: self._snapshot() == before,
        )

        def planned() -> bool | str:
            (uploads, sessions), erasure = _retention(dry), by_kind["ErasureRequest"]
            got = (
                uploads.stores[0].pending,
                sessions.stores[0].pending,
                erasure.stores[0].pending,
                erasure.stores[1].pending,
            )
            want = (counts["retention"], counts["expired"], counts["subject"], counts["subject_items"])
            return got == want or f"planned {got}, expected {want}"

        self.check(
            f"dry run planned exactly {counts['retention']} S3 + {counts['expired']} DynamoDB retention deletes "
            f"and {counts['subject']} + {counts['subject_items']} erasure deletes",
            planned,
        )

    def _check_real(self, real: list[Any], code: int) -> None:
        counts = self._counts()
        by_kind = {r.kind: r for r in real}
        (retention, sessions), access, erasure = (
            _retention(real),
            by_kind["AccessAuditPolicy"],
            by_kind["ErasureRequest"],
        )
        survivors = self._versions()
        held = {ref for ref in self.seeded if ref[0] == HELD_KEY}

        def compliance() -> bool | str:
            got = (code, retention.compliant, sessions.compliant, access.compliant, erasure.compliant)
            return got == (1, True, True, False, True) or f"exit code, compliance: {got}"

        self.check(
            "enforce exits 1: the RetentionPolicies and ErasureRequest compliant, AccessAuditPolicy not "
            "(its finding)",
            compliance,
        )
        lifecycle_ids = {r["ID"] for r in self._lifecycle(BUCKET)}
        self.check(
            f"lifecycle rules set on s3://{BUCKET}",
            lambda: (
                lifecycle_ids
                == {
                    f"residency.demo-uploads-retention/{rule}{suffix}"
                    for rule in ("crash-diagnostics", "uploads")
                    for suffix in ("", "/markers")
                }
                or f"found {sorted(lifecycle_ids)}"
            ),
        )
        self.check(
            f"sweep deleted the {counts['retention']} versions/markers past retention, nothing else",
            lambda: (
                (
                    retention.stores[0].deleted == counts["retention"]
                    and {ref for ref in survivors if not ref[0].startswith(SUBJECT_PREFIX)} == self.expected
                )
                or f"deleted {retention.stores[0].deleted}, {len(survivors)} left, {len(self.expected)} expected"
            ),
        )
        self.check(
            f"legal hold kept: {HELD_KEY} ({self.objects[HELD_KEY][0].age_days} days old, rule "
            f"{RULE_DAYS['crash/']} days) still there, reported as held",
            lambda: (
                (held <= survivors and retention.stores[0].held == 1) or f"held {retention.stores[0].held}"
            ),
        )
        self.check(
            f"{SUBJECT} erased: nothing left under {SUBJECT_PREFIX} (every version and delete marker)",
            lambda: not self._versions(SUBJECT_PREFIX) or f"{len(self._versions(SUBJECT_PREFIX))} left",
        )
        items = self._items()
        other_seeded = {ref for ref in self.seeded if ref[0].startswith(OTHER_PREFIX)}
        other_items = {(u, s) for u, s, _ in SESSIONS if u == OTHER}
        self.check(
            f"{SUBJECT}'s DynamoDB items gone; {OTHER} untouched ({len(other_seeded)} versions/markers, "
            f"{len(other_items)} items)",
            lambda: (
                (
                    not any(user == SUBJECT for user, _ in items)
                    and self._versions(OTHER_PREFIX) == other_seeded
                    and other_items <= set(items)
                )
                or "not so"
            ),
        )
        want_items = {(u, s) for u, s, days in SESSIONS if days > 0 and u != SUBJECT}
        ttl = self.ddb.describe_time_to_live(TableName=TABLE)["TimeToLiveDescription"]
        self.check(
            f"TTL enabled on {TABLE}.expiresAt; the {counts['expired']} expired items deleted, the others kept",
            lambda: (
                (
                    ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING")
                    and ttl.get("AttributeName") == "expiresAt"
                    and set(items) == want_items
                    and sessions.stores[0].deleted == counts["expired"]
                )
                or f"TTL {ttl}, {len(items)} items left"
            ),
        )
        logging_target = self.s3.get_bucket_logging(Bucket=BUCKET).get("LoggingEnabled") or {}
        audit_days = [
            r.get("Expiration", {}).get("Days")
            for r in self._lifecycle(AUDIT_BUCKET)
            if r.get("ID") == "expire-access-logs"
        ]
        self.check(
            f"access logging on, to s3://{AUDIT_BUCKET}/{AUDIT_PREFIX}; audit-log expiry raised 30 -> "
            f"{MIN_LOG_RETENTION} days",
            lambda: (
                (
                    logging_target.get("TargetBucket") == AUDIT_BUCKET
                    and logging_target.get("TargetPrefix") == AUDIT_PREFIX
                    and audit_days == [MIN_LOG_RETENTION]
                )
                or f"logging {logging_target}, expiry {audit_days}"
            ),
        )
        reported = [(d["requester"], d["operation"], d["key"]) for d in access.details]
        self.check(
            f"the one access by a principal not allowed reported ({INTRUDER.split(':')[-1]} read {INTRUDER_KEY}), "
            "no other finding or error",
            lambda: (
                (
                    reported == [(INTRUDER, "REST.GET.OBJECT", INTRUDER_KEY)]
                    and len(access.all_findings()) == 1
                    and not access.all_errors()
                    and access.total("examined") == self.log_requests
                )
                or f"reported {reported}, findings {access.all_findings()}, errors {access.all_errors()}"
            ),
        )
        want = counts["subject"] + counts["subject_items"]
        self.check(
            f"erasure evidence: {want} deleted, with a sha256 digest",
            lambda: (
                (
                    erasure.evidence.get("deletedCount") == want
                    and len(erasure.evidence.get("deletedSha256", "")) == 64
                )
                or f"evidence {erasure.evidence}"
            ),
        )

    def _check_again(self, again: list[Any]) -> None:
        erasure = again[0]
        self.check(
            "the repeated erasure is a no-op: nothing found, nothing deleted, still compliant",
            lambda: (
                (
                    erasure.compliant
                    and erasure.total("examined") == 0
                    and erasure.total("deleted") == 0
                    and erasure.evidence.get("deletedCount") == 0
                )
                or f"examined {erasure.total('examined')}, deleted {erasure.total('deleted')}"
            ),
        )

    # --- output -------------------------------------------------------------------------------------

    def _print_estate(self, seconds: float) -> None:
        versions = sum(1 for e in self.seeded.values() if not e.marker)
        markers = len(self.seeded) - versions
        subject = sum(1 for key, _ in self.seeded if key.startswith(SUBJECT_PREFIX))
        expired = sum(1 for _, _, days in SESSIONS if days < 0)
        lines = [
            f"moto server {self.url} (in this process), region {REGION}; "
            f"documents: controllers/examples/{EXAMPLE.name}",
            f"seeded in {seconds:.1f} s:",
            f"  s3://{BUCKET} (versioned, Object Lock): {versions} versions, {markers} delete markers, "
            f"1 under legal hold; {subject} of them under {SUBJECT_PREFIX}",
            f"  s3://{AUDIT_BUCKET}: 3 access-log objects ({self.log_requests} requests, 1 by "
            f"{INTRUDER.split(':')[-1]}), expiry 30 days; a CloudTrail trail with data events",
            f"  dynamodb:{TABLE}: {len(SESSIONS)} sessions ({expired} with an expired TTL, "
            f"{sum(1 for u, _, _ in SESSIONS if u == SUBJECT)} of {SUBJECT}), TTL off",
        ]
        for line in lines:
            self.console.print(line, markup=False, highlight=False, soft_wrap=True)

    def _print_results(self, title: str, results: list[Any], *, dry_run: bool) -> None:
        from rich import box
        from rich.table import Table

        out = self.console
        out.print()
        table = Table(
            title=title, title_justify="left", title_style="bold", box=box.SIMPLE_HEAD, pad_edge=False
        )
        # Folded, not cut: at 80 columns the counts must stay visible.
        table.add_column("resource", overflow="fold")
        table.add_column("data store", overflow="fold")
        for column in ("examined", "to delete" if dry_run else "deleted", "held"):
            table.add_column(column, justify="right")
        table.add_column("status")
        for result in results:
            status = _status(result, dry_run)
            for i, store in enumerate(result.stores):
                table.add_row(
                    result.ref if i == 0 else "",
                    store.store,
                    str(store.examined),
                    str(store.pending if dry_run else store.deleted),
                    str(store.held),
                    status if i == 0 else "",
                    end_section=i == len(result.stores) - 1,
                )
        out.print(table)
        for result in results:
            lines = _detail_lines(result, dry_run)
            if lines:
                out.print(f"  [bold]{result.ref}[/bold]", highlight=False)
            for line in lines:
                out.print(f"    {line}", markup=False, highlight=False, soft_wrap=True)

    def _verdict(self) -> int:
        out = self.console
        out.print()
        out.print("[bold]checks (by listing what survived)[/bold]")
        for ok, text in self.checks:
            mark = "[green]ok  [/green]" if ok else "[red]FAIL[/red]"
            out.print(f"  {mark} ", end="")
            out.print(text, markup=False, highlight=False, soft_wrap=True)
        failed = [text for ok, text in self.checks if not ok]
        if failed:
            out.print(
                f"[bold red]VERDICT: FAIL[/bold red]: {len(failed)} of {len(self.checks)} checks of the run-time "
                "demo did not hold",
                highlight=False,
            )
            return 1
        out.print(
            f"[bold green]VERDICT: PASS[/bold green]: residency enforce did what the policies promise "
            f"({len(self.checks)}/{len(self.checks)} checks)",
            highlight=False,
        )
        return 0


_SHOWN = 4


def _status(result: Any, dry_run: bool) -> str:
    reason = result.condition()["reason"]
    if result.compliant:
        return "[green]compliant[/green]"
    if dry_run and reason in ("Pending", "Findings") and not result.all_errors():
        return "[yellow]to do[/yellow]"
    return f"[red]{reason.lower()}[/red]"


def _detail_lines(result: Any, dry_run: bool) -> list[str]:
    """What happened, as `residency enforce` prints it (a few lines per kind); in a dry run the
    configuration it would change is a `plan`, not a finding."""

    def few(label: str, items: list[str]) -> list[str]:
        shown = [f"{label}: {i}" for i in items[:_SHOWN]]
        return shown + ([f"{label}: ... {len(items) - _SHOWN} more"] if len(items) > _SHOWN else [])

    lines = few("action", [f"{s.store}: {a}" for s in result.stores for a in s.actions])
    lines += few("held", [f"{s.store}: {h}" for s in result.stores for h in s.held_items])
    findings = result.all_findings()
    if dry_run:
        suffix = " (not changed: dry run or Audit mode)"
        lines += few("plan", [f.removesuffix(suffix) for f in findings if f.endswith(suffix)])
        findings = [f for f in findings if not f.endswith(suffix)]
    lines += few("finding", findings)
    lines += few("error", result.all_errors())
    evidence = result.evidence
    if "deletedSha256" in evidence and not dry_run:
        lines.append(
            f"evidence: {evidence['deletedCount']} deleted, sha256 {evidence['deletedSha256'][:16]}..."
        )
    return lines
