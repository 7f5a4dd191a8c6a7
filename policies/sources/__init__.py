"""File sources: detect what a JSON document is and turn it into a `Stack`.

Sources are looked up by content, not by file name: a `pulumi preview --json`, a `pulumi stack
export` (version 3 or 4) or a saved plan. Every problem is an `InputError` naming the input.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from policies.errors import InputError
from policies.model import Resource
from policies.settings import Settings
from policies.sources import plan, preview, stack_export
from policies.sources.state import MalformedState
from policies.stack import Stack

Parser = Callable[[dict[str, Any], str], tuple[list[Resource], dict[str, Any]]]

#: (name, matches, parse), tried in order.
FORMATS: list[tuple[str, Callable[[Any], bool], Parser]] = [
    ("preview", preview.matches, preview.parse),
    ("stack-export", stack_export.matches, stack_export.parse),
    ("plan", plan.matches, plan.parse),
]


def read_bytes(path: str) -> tuple[bytes, str]:
    """The raw bytes of PATH (or stdin for '-') and the name to use for it in messages."""
    if path == "-":
        try:
            return sys.stdin.buffer.read(), "<stdin>"
        except OSError as exc:
            raise InputError(f"cannot read standard input: {exc}", source="<stdin>") from None
    file = Path(path)
    try:
        return file.read_bytes(), path
    except IsADirectoryError:
        raise InputError("is a directory; pass a JSON file", source=path) from None
    except FileNotFoundError:
        raise InputError("no such file", source=path) from None
    except PermissionError:
        raise InputError("permission denied; check the file's permissions", source=path) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", source=path) from None


def decode_json(data: bytes, source: str) -> Any:
    import orjson

    data = _strip_bom(data, source)
    if not data.strip():
        raise InputError(
            "is empty; expected the JSON of `pulumi preview --json` or `pulumi stack export`", source=source
        )
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if b"\x00" in data[:4096] or not _looks_textual(data):
            raise InputError(
                "is not JSON (binary data); pass a preview or stack export file", source=source
            ) from None
        detail = str(exc).split(":", 1)[0]
        if "depth limit" in detail:
            raise InputError(
                f"is nested more than 1024 levels deep at character {exc.pos}; no Pulumi file is: "
                "pass a preview or stack export",
                source=source,
            ) from None
        hint = (
            " (the file looks truncated)" if "unexpected end" in str(exc).lower() or "EOF" in str(exc) else ""
        )
        raise InputError(f"is not valid JSON{hint}: {detail} at character {exc.pos}", source=source) from None


def _strip_bom(data: bytes, source: str) -> bytes:
    """UTF-8 with a byte-order mark, or UTF-16 (PowerShell's `>` redirection), as plain UTF-8."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:]
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError:
            raise InputError(
                "starts like UTF-16 text but does not decode; save it as UTF-8", source=source
            ) from None
    return data


def _looks_textual(data: bytes) -> bool:
    try:
        data[:4096].decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the 4096 boundary is still text.
        return exc.start >= 4090
    return True


def detect(doc: Any, source: str) -> tuple[str, Parser]:
    if isinstance(doc, list):
        raise InputError(
            "is a JSON array; expected an object from `pulumi preview --json` or `pulumi stack export`",
            source=source,
        )
    if not isinstance(doc, dict):
        raise InputError(
            "is a JSON scalar; expected an object from `pulumi preview --json` or `pulumi stack export`",
            source=source,
        )
    for name, matches, parse in FORMATS:
        if matches(doc):
            return name, parse
    if "summary" in doc and "findings" in doc:
        raise InputError(
            "is a saved residency result, not a Pulumi file; `residency report` reads it", source=source
        )
    if "diagnostics" in doc:
        raise InputError(
            "is a failed preview (it has diagnostics but no steps); fix the program first", source=source
        )
    keys = ", ".join(sorted(str(k) for k in list(doc)[:6])) or "none"
    raise InputError(
        f"is neither a `pulumi preview --json` (steps) nor a `pulumi stack export` (version, deployment); "
        f"top-level keys: {keys}",
        source=source,
    )


def stack_from_document(doc: Any, source: str, settings: Settings | None = None) -> Stack:
    _, parse = detect(doc, source)
    try:
        resources, config = parse(doc, source)
    except MalformedState as exc:  # outside a resource, e.g. the preview's config
        raise InputError(f"{exc}; the file is damaged", source=source) from None
    return Stack.build(resources, config=config, settings=settings, source=source)


def load_stack(path: str, settings: Settings | None = None) -> Stack:
    data, source = read_bytes(path)
    return stack_from_document(decode_json(data, source), source, settings)
