"""`--format sarif`: SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.

One run; the driver lists every rule that ran (so code scanning can close alerts a fix resolved)
with its controls as tags and a `security-severity`, which makes GitHub file the alerts as security
alerts. Each result carries:

- a physical location, which GitHub requires: where the program declared the resource when the
  source says (`project:///index.ts#5,20`), else line 1 of the input file;
- the resource URN as a logical location and in `properties`;
- a stable fingerprint from rule id and URN, so an alert survives a reworded message;
- a suppression when a waiver covers it (GitHub shows it as dismissed, not open).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from policies.model import Finding, Severity
from policies.reports import RuleInfo, rule_infos, with_fix

if TYPE_CHECKING:
    from policies.catalog import Catalog
    from policies.engine import Result
    from policies.registry import Rule

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL_NAME = "residency"
#: Used when the installed distribution names no homepage.
DEFAULT_INFORMATION_URI = "https://github.com/pushauction/residency"
FINGERPRINT_KEY = "residency/v1"
#: The artifact a finding points at when neither the resource nor the input has a file (stdin).
FALLBACK_ARTIFACT = "Pulumi.yaml"

LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
}
#: GitHub maps >= 9.0 to critical, >= 7.0 high, >= 4.0 medium, else low.
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
}

# "project:///index.ts#5,20", "project:///src/app.py#12", "file:///abs/index.ts#5,20"
_POSITION = re.compile(
    r"^(?P<scheme>project|file)://(?P<path>/[^#]*)(?:#(?P<line>\d+)(?:,(?P<column>\d+))?)?$"
)


def render(
    result: Result,
    rules: dict[str, Rule],
    catalog: Catalog | None = None,
    *,
    color: bool = False,
) -> str:
    return json.dumps(sarif_log(result, rules, catalog), indent=2, ensure_ascii=False) + "\n"


def sarif_log(result: Result, rules: dict[str, Rule], catalog: Catalog | None = None) -> dict[str, Any]:
    infos = rule_infos(result, rules, catalog)
    index = {info.id: i for i, info in enumerate(infos)}
    input_artifact = _input_artifact(result.sources)
    seen: dict[str, int] = {}
    results = [_result(f, index[f.rule], input_artifact, seen) for f in result.findings]
    invocation: dict[str, Any] = {"executionSuccessful": True}
    notifications = [{"level": "warning", "message": {"text": notice}} for notice in result.notices]
    coverage = result.coverage
    notifications.append(
        {
            "level": "warning" if coverage.not_evaluated else "note",
            "descriptor": {"id": "coverage"},
            "message": {"text": f"Coverage: {coverage.summary_text()}."},
        }
    )
    for urn, type_token, reason in coverage.not_evaluated:
        notifications.append(
            {
                "level": "warning",
                "descriptor": {"id": "coverage/not-evaluated"},
                "message": {"text": f"Not evaluated: {urn} ({type_token}): {reason}"},
                "locations": [{"logicalLocations": [{"fullyQualifiedName": urn, "kind": "resource"}]}],
            }
        )
    for d in result.declarations:
        attested = f"; attested: {d.attested_by}" if d.attested_by else "; no attestation"
        notifications.append(
            {
                "level": "note",
                "descriptor": {"id": "classification/declaration"},
                "message": {"text": f"Declared {d.category}: {d.urn}, from its {d.source}{attested}"},
                "locations": [{"logicalLocations": [{"fullyQualifiedName": d.urn, "kind": "resource"}]}],
            }
        )
    if result.drift is not None:
        from policies.drift import drift_line

        notifications.append(
            {
                "level": "warning"
                if any(result.drift.get(k) for k in ("unmanaged", "missing", "differs"))
                else "note",
                "descriptor": {"id": "drift"},
                "message": {"text": drift_line(result.drift)},
                "properties": {k: v for k, v in result.drift.items() if k != "items"},
            }
        )
    invocation["toolExecutionNotifications"] = notifications
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": TOOL_NAME,
                        "informationUri": _information_uri(),
                        "semanticVersion": _version(),
                        "rules": [_descriptor(info, catalog) for info in infos],
                    }
                },
                "invocations": [invocation],
                "results": results,
                "columnKind": "utf16CodeUnits",
            }
        ],
    }


def _descriptor(info: RuleInfo, catalog: Catalog | None) -> dict[str, Any]:
    full = info.description or info.title
    return {
        "id": info.id,
        "name": _pascal(info.title) or info.id,
        "shortDescription": {"text": info.title},
        "fullDescription": {"text": full},
        "help": {"text": info.remediation or info.title, "markdown": _help_markdown(info, catalog)},
        "defaultConfiguration": {"level": LEVEL[info.severity]},
        "properties": {
            "tags": [*info.controls, "security", "data-residency"],
            "security-severity": SECURITY_SEVERITY[info.severity],
            "precision": "high",
        },
    }


def _help_markdown(info: RuleInfo, catalog: Catalog | None) -> str:
    lines = [f"**{info.heading}** (severity {info.severity.value})", ""]
    if info.description and info.description != info.title:
        lines += [info.description, ""]
    if info.remediation:
        lines += [f"**Fix:** {info.remediation}", ""]
    if info.controls:
        lines.append("**Controls:**")
        controls = {c.id: c for c in catalog.controls} if catalog is not None else {}
        for control_id in info.controls:
            control = controls.get(control_id)
            if control is None:
                lines.append(f"- {control_id}")
            else:
                lines.append(
                    f"- **{control.id}** {control.title}: privacy policy, {control.section}: "
                    f'"{control.clause}"'
                )
    return "\n".join(lines).strip() + "\n"


def _result(f: Finding, rule_index: int, input_artifact: str, seen: dict[str, int]) -> dict[str, Any]:
    fingerprint = hashlib.sha256(f"{f.rule}\n{f.urn}".encode()).hexdigest()
    # One rule can report one resource twice (two statements, two side resources): keep both alerts.
    occurrence = seen.get(fingerprint, 0)
    seen[fingerprint] = occurrence + 1
    if occurrence:
        fingerprint = f"{fingerprint}:{occurrence}"
    item: dict[str, Any] = {
        "ruleId": f.rule,
        "ruleIndex": rule_index,
        "level": LEVEL[f.severity],
        "message": {"text": with_fix(f.message, f.remediation)},
        "locations": [
            {
                "physicalLocation": _physical_location(f.source_position, input_artifact),
                "logicalLocations": [{"fullyQualifiedName": f.urn, "name": f.name, "kind": "resource"}],
            }
        ],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint},
        "properties": {
            "controls": list(f.controls),
            "urn": f.urn,
            "type": f.type,
            "severity": f.severity.value,
            "unknown": f.unknown,
            "error": f.error,
        },
    }
    if f.waived:
        item["suppressions"] = [
            {"kind": "external", "status": "accepted", "justification": f.waiver_reason or "waived"}
        ]
    return item


def _physical_location(source_position: str | None, input_artifact: str) -> dict[str, Any]:
    parsed = parse_source_position(source_position) if source_position else None
    if parsed is None:
        return {"artifactLocation": {"uri": input_artifact}, "region": {"startLine": 1}}
    uri, line, column = parsed
    region: dict[str, int] = {"startLine": line}
    if column is not None:
        region["startColumn"] = column
    return {"artifactLocation": {"uri": uri}, "region": region}


def parse_source_position(position: str) -> tuple[str, int, int | None] | None:
    """`project:///index.ts#5,20` -> ("index.ts", 5, 20); None when there is no usable line.

    `project:` paths are relative to the Pulumi project directory, which GitHub resolves against
    the repository root: run the check from a repository whose Pulumi.yaml is at its root, or the
    alert shows without a code snippet.
    """
    match = _POSITION.match(position.strip())
    if match is None or match["line"] is None or int(match["line"]) < 1:
        return None
    line = int(match["line"])
    column = int(match["column"]) if match["column"] and int(match["column"]) >= 1 else None
    if match["scheme"] == "file":
        uri = f"file://{match['path']}"
    else:
        uri = match["path"].lstrip("/")
        if not uri:
            return None
    return uri, line, column


def _input_artifact(sources: list[str]) -> str:
    """The first input file as a URI relative to the working directory (GitHub wants repo paths)."""
    for source in sources:
        if not source or source in ("-", "<stdin>"):
            continue
        path = Path(source)
        if path.is_absolute():
            try:
                path = Path(os.path.relpath(path))
            except ValueError:  # another drive on Windows
                return path.as_uri()
        posix = PurePosixPath(path.as_posix())
        if posix.parts and posix.parts[0] == "..":
            return Path(source).resolve().as_uri()
        return quote(str(posix), safe="/")
    return FALLBACK_ARTIFACT


def _pascal(title: str) -> str:
    return "".join(word[:1].upper() + word[1:] for word in re.findall(r"[A-Za-z0-9]+", title))


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(TOOL_NAME)
    except PackageNotFoundError:
        return "0.0.0"


def _information_uri() -> str:
    from importlib.metadata import PackageNotFoundError, metadata

    try:
        meta = metadata(TOOL_NAME)
    except PackageNotFoundError:
        return DEFAULT_INFORMATION_URI
    for entry in meta.get_all("Project-URL") or []:
        _, _, url = entry.partition(",")
        if url.strip().startswith("https://"):
            return url.strip()
    home = meta.get("Home-page")
    return home if home and home.startswith("https://") else DEFAULT_INFORMATION_URI
