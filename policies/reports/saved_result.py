"""A saved `residency check --format json` result, read back into a `Result` for `residency report`.

Recognised by its contract keys (`summary`, `findings`, `coverage`), which no Pulumi file has at the
top level; `residency report` tries this before the stack sources. The verdicts are taken as saved:
waivers and attestations were applied when the check ran.
"""

from __future__ import annotations

from typing import Any

from policies.errors import InputError

_KEYS = {"summary", "findings", "coverage"}


def is_saved_result(doc: Any) -> bool:
    return isinstance(doc, dict) and _KEYS <= set(doc) and isinstance(doc.get("findings"), list)


def load_saved_result(doc: dict[str, Any], source: str) -> Any:
    """The `Result` a saved check result describes; a damaged one is an `InputError` naming the field."""
    from policies.coverage import Coverage, Declaration
    from policies.engine import Result
    from policies.model import Finding, Severity

    def need(obj: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
        value = obj.get(key) if isinstance(obj, dict) else None
        if not isinstance(value, kind):
            raise InputError(
                f"{where}{key} is missing or not a {getattr(kind, '__name__', 'value')}: not a complete "
                "`residency check --format json` result; save it again",
                source=source,
            )
        return value

    findings = []
    for index, item in enumerate(need(doc, "findings", list, "")):
        where = f"findings[{index}]."
        try:
            severity = Severity(need(item, "severity", str, where))
        except ValueError:
            raise InputError(
                f"{where}severity {item.get('severity')!r} is not a severity", source=source
            ) from None
        findings.append(
            Finding(
                rule=need(item, "rule", str, where),
                controls=list(item.get("controls") or []),
                severity=severity,
                urn=need(item, "urn", str, where),
                type=need(item, "type", str, where),
                name=str(item.get("name") or item["urn"].rsplit("::", 1)[-1]),
                message=need(item, "message", str, where),
                remediation=str(item.get("remediation") or ""),
                unknown=bool(item.get("unknown")),
                waived=bool(item.get("waived")),
                waiver_reason=item.get("waiver"),
                error=bool(item.get("error")),
            )
        )
    cov = need(doc, "coverage", dict, "")
    coverage = Coverage()
    for item in cov.get("evaluated_resources") or []:
        coverage.evaluated.append((item["urn"], item["type"], tuple(item.get("families") or ())))
    for item in cov.get("not_evaluated") or []:
        coverage.not_evaluated.append((item["urn"], item["type"], item.get("reason", "")))
    evaluated = cov.get("evaluated")
    if isinstance(evaluated, int) and evaluated != len(coverage.evaluated):
        raise InputError(
            "coverage.evaluated_resources does not list every evaluated resource (saved by an older "
            "residency?); run `residency check --format json` again",
            source=source,
        )
    summary = need(doc, "summary", dict, "")
    resources = summary.get("resources")
    not_applicable = cov.get("not_applicable")
    if isinstance(not_applicable, int):
        # The saved contract counts not-applicable resources without naming them.
        coverage.not_applicable.extend(
            ("(not named in a saved result)", "", "") for _ in range(not_applicable)
        )
    declarations = [
        Declaration(
            urn=d["urn"],
            type=d.get("type", ""),
            category=d["category"],
            source=d.get("source", ""),
            non_personal=d.get("category") == "non-personal",
            attested_by=d.get("attestation") if d.get("attested") else None,
        )
        for d in doc.get("declarations") or []
    ]
    return Result(
        resources=resources if isinstance(resources, int) else coverage.total,
        findings=findings,
        sources=[source],
        notices=[str(n) for n in doc.get("notices") or []],
        coverage=coverage,
        declarations=declarations,
        # A saved `residency audit` result: its drift summary (policies/drift.py).
        drift=doc["drift"] if isinstance(doc.get("drift"), dict) else None,
    )


def collect(
    paths: list[str],
    *,
    catalog: Any,
    waivers_path: Any = None,
    strict: bool = False,
) -> tuple[Any, list[Any], list[str]]:
    """`residency report`'s inputs: each is a saved check result or anything `check` accepts.

    Returns the combined `Result`, the digest of every input's exact bytes, and the names of the
    saved results. Stack inputs go through `run_check` (waivers, attestations, --strict as `check`)."""
    from policies.check import run_check
    from policies.evidence import digest_input
    from policies.sources import decode_json, read_bytes

    digests = []
    saved: list[tuple[str, bytes]] = []
    stacks: list[str] = []
    stdin_data: bytes | None = None
    for path in paths:
        data, source = read_bytes(path)
        digests.append(digest_input(source, data, "stdin" if path == "-" else "file"))
        doc = decode_json(data, source)
        if is_saved_result(doc):
            saved.append((source, doc))
            digests[-1] = digest_input(source, data, "saved-result")
        else:
            stacks.append(path)
            if path == "-":
                stdin_data = data
    combined = None
    if stacks:
        with replayed_stdin(stdin_data):
            combined = run_check(stacks, catalog=catalog, waivers_path=waivers_path, strict=strict)
    for source, doc in saved:
        part = load_saved_result(doc, source)
        if combined is None:
            combined = part
            continue
        combined.resources += part.resources
        combined.findings.extend(part.findings)
        combined.sources.extend(part.sources)
        combined.coverage.extend(part.coverage)
        combined.declarations.extend(part.declarations)
        combined.notices.extend(part.notices)
        if part.drift is not None:
            from policies.drift import merge_summaries

            combined.drift = merge_summaries(combined.drift, part.drift)
    return combined, digests, [s for s, _ in saved]


class replayed_stdin:
    """Standard input, already read (to hash its bytes), served again to a reader of `sys.stdin`."""

    def __init__(self, data: bytes | None) -> None:
        self.data = data
        self.saved: Any = None

    def __enter__(self) -> replayed_stdin:
        import io
        import sys

        if self.data is not None:
            self.saved = sys.stdin
            sys.stdin = io.TextIOWrapper(io.BytesIO(self.data))
        return self

    def __exit__(self, *exc: object) -> None:
        import sys

        if self.saved is not None:
            sys.stdin = self.saved
