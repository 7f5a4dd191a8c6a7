"""Run records: one JSON file per run in an evidence folder, chained by sha256.

A record says what ran on what: the tool version, the catalogue (version and sha256 of its exact
bytes), the privacy-policy text (sha256 of its exact bytes, or why it could not be found), the git
commit when there is one, the sha256 of every input (exact bytes; stdin too), the UTC time, a digest
of the verdicts, the digests of any erasure manifests, and the sha256 of the record written before
it in the same folder. Editing, removing or reordering a record breaks that chain; `verify` finds
the first record where it breaks, and re-hashes every erasure manifest the records name.

Files are named `NNNNNN-YYYYMMDDTHHMMSSZ-COMMAND.json`: the sequence number first, so the files sort
in run order. A record's sha256 is the sha256 of the file's bytes (`sha256sum` gives the same);
every run prints it, so a CI log or a cluster status holds a copy outside the folder, and
`verify(..., head=SHA256)` proves that nothing after that record was cut off.

The verdicts digest is `sha256(canonical JSON)`, canonical meaning sorted keys, no spaces, UTF-8:
anyone holding the saved result (`residency check --format json`) recomputes it with
`canonical_digest`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from policies.errors import InputError

SCHEMA = "residency.run-record/v1"
RECORD_NAME = re.compile(r"^(?P<seq>\d{6,})-(?P<stamp>\d{8}T\d{6}Z)-(?P<command>[a-z][a-z0-9-]*)\.json$")
#: Environment variable naming the privacy-policy text when the catalogue's path does not reach it
#: (a container image without ../shared).
POLICY_DOCUMENT_ENV = "RESIDENCY_POLICY_DOCUMENT"
_LOCK = ".residency-evidence.lock"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8: the bytes a verdicts digest is taken of."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode(
        "utf-8"
    )


def canonical_digest(value: Any) -> str:
    return sha256_bytes(canonical_json(value))


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


# --- what a run looked at ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InputDigest:
    """One input of a run: its name as given, the sha256 of its exact bytes and its size."""

    name: str
    sha256: str
    size: int
    #: `file`, `stdin`, `directory` (sha256 over its files' names and digests) or `saved-result`.
    kind: str = "file"

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "sha256": self.sha256, "bytes": self.size}


def digest_input(name: str, data: bytes, kind: str = "file") -> InputDigest:
    return InputDigest(name=name, sha256=sha256_bytes(data), size=len(data), kind=kind)


def digest_directory(path: Path) -> InputDigest:
    """A folder (a Pulumi program): sha256 over `relative-path NUL sha256 LF` of each file, sorted,
    skipping virtualenvs, caches and VCS folders."""
    skip = {".git", ".venv", "venv", "__pycache__", "node_modules", ".pulumi"}
    lines: list[bytes] = []
    total = 0
    for file in sorted(path.rglob("*")):
        rel = file.relative_to(path)
        if any(part in skip for part in rel.parts) or not file.is_file():
            continue
        data = file.read_bytes()
        total += len(data)
        lines.append(rel.as_posix().encode() + b"\0" + sha256_bytes(data).encode() + b"\n")
    return InputDigest(name=str(path), sha256=sha256_bytes(b"".join(lines)), size=total, kind="directory")


def digest_paths(paths: Sequence[str]) -> tuple[list[InputDigest], bytes | None]:
    """The digest of each input path's exact bytes (a folder: `digest_directory`); '-' reads stdin,
    whose bytes are returned so the run can read them again (`replayed_stdin`)."""
    from policies.sources import read_bytes

    digests: list[InputDigest] = []
    stdin_data: bytes | None = None
    for path in paths:
        if path != "-" and Path(path).is_dir():
            digests.append(digest_directory(Path(path)))
            continue
        data, source = read_bytes(path)
        if path == "-":
            stdin_data = data
        digests.append(digest_input(source, data, "stdin" if path == "-" else "file"))
    return digests, stdin_data


def check_record(
    directory: Path,
    command: str,
    result: Any,
    rules: dict[str, Any],
    catalog: Any,
    metadata: RunMetadata,
    verdict: str,
    outputs: Sequence[Path] = (),
) -> WrittenRecord:
    """The run record of a check (or a report): the verdicts are `Result.to_json()`; `outputs` (the
    report files written) are recorded by sha256, and re-hashed by `verify` when inside the folder."""
    from policies.reports.auditor import build

    view = build(result, rules, catalog, metadata)
    summary = {
        "verdict": verdict,
        **result.summary(),
        "coverage": {
            "evaluated": len(result.coverage.evaluated),
            "not_applicable": len(result.coverage.not_applicable),
            "not_evaluated": len(result.coverage.not_evaluated),
        },
        "controls": view.matrix_counts,
    }
    return write_record(
        directory,
        command,
        metadata,
        verdicts=result.to_json(),
        summary=summary,
        controls=view.control_statuses(),
        extra={"outputs": [manifest_entry(directory, Path(o)) for o in outputs]} if outputs else None,
    )


def enforce_record(
    directory: Path | S3Evidence,
    *,
    results: Sequence[Any],
    dry_run: bool,
    files: Sequence[Path] = (),
    inputs: Sequence[InputDigest] = (),
    manifests: Sequence[dict[str, str]] | None = None,
    now: datetime | None = None,
    command: str = "enforce",
) -> WrittenRecord:
    """The run record of `residency enforce` (or the operator, or the demo's run-time half).

    `results` are the reconcilers' results (`kind`, `name`, `compliant`, `to_dict()`, and `evidence`
    whose `manifest.file` names an erasure manifest written to the evidence folder, unless
    `manifests` gives the entries). A run-time control (its catalogue `runtime:` kinds) passed when
    every result of those kinds is compliant. The inputs are `files` (exact bytes) plus `inputs`."""
    from policies.catalog import default_catalog

    catalog = default_catalog()
    digests = [digest_input(str(f), Path(f).read_bytes()) for f in files] + list(inputs)
    metadata = run_metadata(catalog, None, digests, now=now)
    verdicts = [r.to_dict() for r in results]
    entries: list[Path | dict[str, str]] = list(manifests or [])
    if manifests is None:
        for r in results:
            evidence = r.evidence if isinstance(r.evidence, dict) else {}
            file = (evidence.get("manifest") or {}).get("file")
            if file:
                entries.append(Path(file))
    controls: dict[str, str] = {}
    for control in catalog.controls:
        relevant = [r for r in results if r.kind in control.runtime]
        if relevant:
            controls[control.id] = "passed" if all(r.compliant for r in relevant) else "failed"
    compliant = sum(1 for r in results if r.compliant)
    summary = {
        "verdict": ("DRY RUN: " if dry_run else "") + ("PASS" if compliant == len(results) else "FAIL"),
        "dry_run": dry_run,
        "policies": len(results),
        "compliant": compliant,
        "kinds": sorted({r.kind for r in results}),
        "deleted": sum(sum(getattr(st, "deleted", 0) for st in r.stores) for r in results),
    }
    return write_record(
        directory, command, metadata, verdicts=verdicts, summary=summary, controls=controls, manifests=entries
    )


def tool_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("residency")
    except PackageNotFoundError:
        return "unknown (not installed)"


def git_commit(where: Path | None = None) -> str | None:
    """The commit checked out where the run happened (the working directory), or CI's variable;
    None when neither says."""
    for var in ("GITHUB_SHA", "CI_COMMIT_SHA", "GIT_COMMIT"):
        value = os.environ.get(var, "").strip()
        if re.fullmatch(r"[0-9a-f]{40}(?:[0-9a-f]{24})?", value):
            return value
    try:
        proc = subprocess.run(
            ["git", "-C", str(where or Path.cwd()), "rev-parse", "--verify", "-q", "HEAD"],
            capture_output=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    text = proc.stdout.decode(errors="replace").strip()
    return text if proc.returncode == 0 and re.fullmatch(r"[0-9a-f]{40,64}", text) else None


def find_policy_document(catalog_file: Path, document: str) -> Path | None:
    """The privacy-policy text the catalogue names (`policy.document`), looked up beside the catalogue,
    in the repository and in the folder above it (where `shared/` lives), or at $RESIDENCY_POLICY_DOCUMENT."""
    override = os.environ.get(POLICY_DOCUMENT_ENV)
    if override:
        path = Path(override)
        return path if path.is_file() else None
    doc = Path(document)
    if doc.is_absolute():
        return doc if doc.is_file() else None
    package_root = Path(__file__).resolve().parents[1]
    bases: list[Path] = []
    for base in (catalog_file.resolve().parent, package_root, Path.cwd()):
        bases += [base, base.parent, base.parent.parent]
    seen: set[Path] = set()
    for base in bases:
        if base in seen:
            continue
        seen.add(base)
        candidate = base / doc
        if candidate.is_file():
            return candidate
    return None


@dataclass
class RunMetadata:
    """What a report and a run record say about the run itself."""

    tool_version: str
    time: datetime
    catalog_path: str
    catalog_version: int | str
    catalog_sha256: str
    policy_title: str
    policy_document: str
    policy_path: str | None
    policy_sha256: str | None
    git_commit: str | None
    inputs: list[InputDigest] = field(default_factory=list)

    @property
    def policy_note(self) -> str:
        if self.policy_sha256:
            return f"{self.policy_path}"
        return (
            f"not found: the catalogue names {self.policy_document!r}, which is neither beside the catalogue, "
            f"in the repository nor above it (set {POLICY_DOCUMENT_ENV})"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "tool": {"name": "residency", "version": self.tool_version},
            "time": iso(self.time),
            "catalog": {
                "path": self.catalog_path,
                "version": self.catalog_version,
                "sha256": self.catalog_sha256,
            },
            "privacy_policy": {
                "title": self.policy_title,
                "document": self.policy_document,
                "path": self.policy_path,
                "sha256": self.policy_sha256,
                **({} if self.policy_sha256 else {"missing": self.policy_note}),
            },
            "git_commit": self.git_commit,
            "inputs": [i.to_json() for i in self.inputs],
        }


def run_metadata(
    catalog: Any,
    catalog_file: Path | None,
    inputs: Sequence[InputDigest] = (),
    *,
    now: datetime | None = None,
) -> RunMetadata:
    """Metadata of a run with `catalog` (a loaded `Catalog`) read from `catalog_file` (None: the
    built-in one)."""
    from policies.catalog import DEFAULT_CATALOG

    file = Path(catalog_file) if catalog_file is not None else DEFAULT_CATALOG
    try:
        catalog_bytes = file.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the catalogue: {exc.strerror or exc}", source=str(file)) from None
    policy = find_policy_document(file, catalog.policy.document)
    policy_sha = sha256_bytes(policy.read_bytes()) if policy is not None else None
    return RunMetadata(
        tool_version=tool_version(),
        time=now or utc_now(),
        catalog_path=str(file),
        catalog_version=catalog.version,
        catalog_sha256=sha256_bytes(catalog_bytes),
        policy_title=catalog.policy.title,
        policy_document=catalog.policy.document,
        policy_path=str(policy) if policy is not None else None,
        policy_sha256=policy_sha,
        git_commit=git_commit(),
        inputs=list(inputs),
    )


# --- writing records ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WrittenRecord:
    path: Path
    sha256: str
    sequence: int


def _records(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if RECORD_NAME.match(p.name))


def manifest_entry(directory: Path, manifest: Path) -> dict[str, str]:
    """A manifest as a record names it: its path relative to the evidence folder when inside it."""
    data = manifest.read_bytes()
    try:
        name = manifest.resolve().relative_to(directory.resolve()).as_posix()
    except ValueError:
        name = str(manifest.resolve())
    return {"file": name, "sha256": sha256_bytes(data)}


def _record_bytes(
    sequence: int,
    previous_sha: str | None,
    command: str,
    metadata: RunMetadata,
    verdicts: Any,
    summary: dict[str, Any],
    controls: dict[str, str] | None,
    manifest_entries: list[dict[str, str]],
    extra: dict[str, Any] | None,
) -> tuple[str, bytes]:
    record = {
        "schema": SCHEMA,
        "sequence": sequence,
        "command": command,
        **metadata.to_json(),
        "verdicts": {"sha256": canonical_digest(verdicts), "summary": summary},
        "controls": controls or {},
        "manifests": manifest_entries,
        "previous": previous_sha,
        **(extra or {}),
    }
    data = (json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")
    stamp = metadata.time.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{sequence:06d}-{stamp}-{command}.json", data


def _entries(directory: Path | None, manifests: Iterable[Path | dict[str, str]]) -> list[dict[str, str]]:
    out = []
    for m in manifests:
        if isinstance(m, dict):
            out.append({"file": str(m["file"]), "sha256": str(m["sha256"])})
        else:
            out.append(manifest_entry(directory or Path(m).parent, Path(m)))
    return out


@dataclass(frozen=True)
class S3Evidence:
    """An evidence location in S3 (`s3://BUCKET/PREFIX`) written through a boto3 S3 client.

    Records are objects `PREFIX + NNNNNN-...json`; a copy of the prefix (`aws s3 sync`) is a folder
    `verify` checks. One writer at a time: the operator writes only from its active peer."""

    client: Any
    bucket: str
    prefix: str = ""

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def last_record(self) -> tuple[str, bytes] | None:
        names = []
        for page in self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        ):
            for item in page.get("Contents", []):
                name = item["Key"][len(self.prefix) :]
                if RECORD_NAME.match(name):
                    names.append(name)
        if not names:
            return None
        last = max(names)
        body = self.client.get_object(Bucket=self.bucket, Key=self.prefix + last)["Body"].read()
        return last, body

    def put(self, name: str, data: bytes, content_type: str = "application/json") -> None:
        self.client.put_object(
            Bucket=self.bucket, Key=self.prefix + name, Body=data, ContentType=content_type
        )


def parse_location(text: str) -> tuple[str, str] | Path:
    """`s3://bucket/prefix` as (bucket, prefix ending in '/' or empty), anything else as a folder path."""
    if text.startswith("s3://"):
        bucket, _, prefix = text[5:].partition("/")
        if not bucket:
            raise InputError(f"{text!r} names no bucket; write s3://BUCKET/PREFIX or a folder path")
        return bucket, (prefix.rstrip("/") + "/") if prefix else ""
    return Path(text)


def write_record(
    directory: Path | S3Evidence,
    command: str,
    metadata: RunMetadata,
    *,
    verdicts: Any,
    summary: dict[str, Any],
    controls: dict[str, str] | None = None,
    manifests: Iterable[Path | dict[str, str]] = (),
    extra: dict[str, Any] | None = None,
) -> WrittenRecord:
    """Append a run record to `directory` (a folder, created when missing, or an `S3Evidence`) and
    return where and its sha256.

    `verdicts` is the full verdict document (its canonical digest is recorded), `summary` a short
    one kept in clear (overall verdict and counts), `controls` each control's status; `manifests`
    are files (named relative to the folder) or ready entries `{file, sha256}`."""
    if isinstance(directory, S3Evidence):
        last = directory.last_record()
        sequence = int(RECORD_NAME.match(last[0])["seq"]) + 1 if last else 1  # type: ignore[index]
        name, data = _record_bytes(
            sequence,
            sha256_bytes(last[1]) if last else None,
            command,
            metadata,
            verdicts,
            summary,
            controls,
            _entries(None, manifests),
            extra,
        )
        directory.put(name, data)
        return WrittenRecord(path=Path(name), sha256=sha256_bytes(data), sequence=sequence)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        manifest_entries = _entries(directory, manifests)
        with _locked(directory):
            existing = _records(directory)
            previous_sha = None
            sequence = 1
            if existing:
                last_file = existing[-1]
                previous_sha = sha256_bytes(last_file.read_bytes())
                sequence = int(RECORD_NAME.match(last_file.name)["seq"]) + 1  # type: ignore[index]
            name, data = _record_bytes(
                sequence,
                previous_sha,
                command,
                metadata,
                verdicts,
                summary,
                controls,
                manifest_entries,
                extra,
            )
            path = directory / name
            tmp = directory / f".{path.name}.tmp"
            with open(tmp, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
    except OSError as exc:
        raise InputError(
            f"cannot write the run record: {exc.strerror or exc}", source=str(directory)
        ) from None
    return WrittenRecord(path=path, sha256=sha256_bytes(data), sequence=sequence)


class _locked:
    """An exclusive lock on the folder while the next record is chosen and written, so two runs
    writing at once still make one chain."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / _LOCK
        self.handle: Any = None

    def __enter__(self) -> _locked:
        self.handle = open(self.path, "a+b")  # noqa: SIM115 - closed in __exit__
        try:
            import fcntl

            fcntl.flock(self.handle.fileno(), fcntl.LOCK_EX)
        except ImportError:  # not POSIX: one writer at a time is then the caller's business
            pass
        return self

    def __exit__(self, *exc: object) -> None:
        self.handle.close()


# --- verifying -----------------------------------------------------------------------------------


@dataclass
class Verification:
    """The outcome of `verify`: the records in order (name, sha256) and the first problem, if any."""

    records: list[tuple[str, str]] = field(default_factory=list)
    manifests: int = 0
    problem: str | None = None

    @property
    def intact(self) -> bool:
        return self.problem is None

    @property
    def head(self) -> str | None:
        return self.records[-1][1] if self.records else None


def verify(directory: Path, head: str | None = None) -> Verification:
    """Check the chain of run records in `directory` and every manifest digest they record.

    Names the first record that was edited, removed or reordered. With `head` (a record's sha256
    kept elsewhere, e.g. printed in a CI log) also proves that record is still there, unedited, so
    nothing up to it was cut off."""
    if not directory.is_dir():
        raise InputError("is not a folder of run records", source=str(directory))
    if head is not None and not re.fullmatch(r"[0-9a-fA-F]{64}", head):
        raise InputError(f"--head {head!r} is not a sha256 (64 hex digits), as a run prints it")
    out = Verification()
    files = _records(directory)
    if not files:
        out.problem = f"{directory}: holds no run record (NNNNNN-...-COMMAND.json): nothing shows what ran"
        return out
    previous: tuple[str, str] | None = None
    expected = 1
    for path in files:
        data = path.read_bytes()
        sha = sha256_bytes(data)
        name = path.name
        seq_in_name = int(RECORD_NAME.match(name)["seq"])  # type: ignore[index]
        try:
            record = json.loads(data)
            if not isinstance(record, dict):
                raise ValueError("not an object")
        except ValueError:
            out.problem = f"{name} was edited: it is no longer a JSON run record"
            return out
        if seq_in_name > expected:
            missing = (
                f"{expected:06d}"
                if seq_in_name == expected + 1
                else f"{expected:06d} to {seq_in_name - 1:06d}"
            )
            out.problem = f"record {missing} was removed: the folder goes from {previous[0] if previous else 'the start'} to {name}"
            return out
        if seq_in_name < expected:
            out.problem = f"{name} repeats sequence number {seq_in_name}: a record was copied in or renamed"
            return out
        if record.get("sequence") != seq_in_name:
            out.problem = (
                f"{name} holds sequence {record.get('sequence')!r} but is named {seq_in_name:06d}: records "
                "were reordered or renamed"
            )
            return out
        if record.get("previous") != (previous[1] if previous else None):
            if previous is None:
                out.problem = (
                    f"{name} chains to a record {str(record.get('previous'))[:16]}... that is not in the folder: "
                    "the records before it were removed"
                )
            elif _chains_to_another(record.get("previous"), files):
                out.problem = (
                    f"{previous[0]} and {name} are out of order: {name} names another record as its "
                    "previous one (records were reordered)"
                )
            else:
                out.problem = (
                    f"{previous[0]} was edited after it was written (or {name} was replaced): {name} records "
                    f"its sha256 as {record.get('previous')}, it now hashes to {previous[1]}"
                )
            return out
        for entry in record.get("manifests") or ():
            problem = _check_manifest(directory, name, entry)
            out.manifests += 1
            if problem:
                out.problem = problem
                return out
        for entry in record.get("outputs") or ():
            # A report kept inside the evidence folder is evidence too; one elsewhere is only named.
            if isinstance(entry, dict) and not Path(str(entry.get("file", ""))).is_absolute():
                problem = _check_manifest(directory, name, entry, what="report")
                out.manifests += 1
                if problem:
                    out.problem = problem
                    return out
        out.records.append((name, sha))
        previous = (name, sha)
        expected += 1
    if head is not None:
        head = head.lower()
        if head not in {sha for _, sha in out.records}:
            last_name, last_sha = out.records[-1]
            out.problem = (
                f"no record hashes to the head {head}: a record up to it was edited (the last, {last_name}, "
                f"now hashes to {last_sha}) or records at the end were removed"
            )
    return out


def _chains_to_another(previous_sha: Any, files: list[Path]) -> bool:
    if not isinstance(previous_sha, str):
        return False
    return any(sha256_bytes(p.read_bytes()) == previous_sha for p in files)


def _check_manifest(
    directory: Path, record_name: str, entry: Any, what: str = "erasure manifest"
) -> str | None:
    if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
        return f"{record_name} was edited: a {what} entry has no file"
    file = Path(entry["file"])
    path = file if file.is_absolute() else directory / file
    try:
        actual = sha256_bytes(path.read_bytes())
    except OSError:
        return f"{what} {entry['file']} (recorded by {record_name}) was removed"
    if actual != entry.get("sha256"):
        return (
            f"{what} {entry['file']} (recorded by {record_name}) was edited: it hashes to "
            f"{actual}, the record says {entry.get('sha256')}"
        )
    return None
