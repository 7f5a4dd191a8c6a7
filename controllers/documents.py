"""Read multi-document custom-resource YAML into validated `Document`s, or fail with one clear line.

The line names the file, the document's index (1-based, as an editor counts `---` sections), its
kind/name, the field and the fix, e.g.:

    policies.yaml: document 2 (RetentionPolicy/uploads): spec.rules[0].maxAgeDays: must be >= 1; ...
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from controllers.models import API_VERSION, KINDS, Document, Metadata
from policies.errors import InputError
from policies.settings import Settings


def _where(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


_FIXES = {
    "missing": "add it",
    "extra_forbidden": "remove it (or fix its spelling)",
    "greater_than_equal": "raise it",
    "greater_than": "raise it",
    "less_than_equal": "lower it",
    "less_than": "lower it",
    "too_short": "add at least one entry",
    "string_pattern_mismatch": "fix its spelling",
    "enum": "use one of the allowed values",
    "literal_error": "use one of the allowed values",
}


def describe_validation_error(err: ValidationError, prefix: tuple[Any, ...] = ()) -> str:
    """The first pydantic error as `field: message; fix` (custom validators already carry the fix)."""
    first = err.errors(include_url=False)[0]
    # Drop pydantic's internal union/function tags from the location.
    loc = tuple(
        p for p in first["loc"] if not (isinstance(p, str) and ("[" in p or p.startswith("function-")))
    )
    msg = first["msg"].removeprefix("Value error, ")
    fix = _FIXES.get(first["type"])
    if fix and first["type"] not in ("value_error", "assertion_error"):
        msg = f"{msg[0].lower()}{msg[1:]}; {fix}"
    more = f" (and {err.error_count() - 1} more problem(s))" if err.error_count() > 1 else ""
    where = _where(prefix + loc)
    # A whole-object check names the field itself ("rules[2].maxAgeDays: ..."): join the paths.
    inner = _FIELD_PATH.match(msg)
    if inner and where:
        where, msg = f"{where}.{inner[1]}", msg[inner.end() :]
    return f"{where or '(document)'}: {msg}{more}"


_FIELD_PATH = re.compile(r"([A-Za-z]+(?:\[\d+\])?(?:\.[A-Za-z]+(?:\[\d+\])?)*): ")


def parse_document(raw: Any, *, source: str, index: int, settings: Settings) -> Document:
    """Validate one YAML document; raise `InputError` naming it on any problem."""
    if not isinstance(raw, dict):
        raise InputError(
            f"document {index}: expected a mapping with apiVersion, kind, metadata, spec", source=source
        )
    kind = raw.get("kind")
    name = raw.get("metadata", {}).get("name") if isinstance(raw.get("metadata"), dict) else None
    label = f"document {index} ({kind or '?'}/{name or '?'})"
    if kind not in KINDS:
        raise InputError(
            f"{label}: kind: {kind!r} is not one of {', '.join(KINDS)}; fix the kind", source=source
        )
    if raw.get("apiVersion") != API_VERSION:
        raise InputError(
            f"{label}: apiVersion: {raw.get('apiVersion')!r} is not supported; use {API_VERSION}",
            source=source,
        )
    try:
        metadata = Metadata.model_validate(raw.get("metadata"))
    except ValidationError as exc:
        raise InputError(f"{label}: {describe_validation_error(exc, ('metadata',))}", source=source) from None
    if not isinstance(raw.get("spec"), dict):
        raise InputError(f"{label}: spec: missing or not a mapping; add the spec", source=source)
    try:
        spec = KINDS[kind].model_validate(raw["spec"], context={"settings": settings})
    except ValidationError as exc:
        raise InputError(f"{label}: {describe_validation_error(exc, ('spec',))}", source=source) from None
    return Document(kind=kind, metadata=metadata, spec=spec, source=source, index=index)


def _strict_loader() -> type:
    """A safe YAML loader that refuses a key given twice in one mapping, at any depth (plain
    `safe_load` keeps the last one silently: a second `rules:` would replace the first)."""
    import yaml

    class StrictLoader(yaml.SafeLoader):
        pass

    def construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
        loader.flatten_mapping(node)
        seen: dict[Any, int] = {}
        for key_node, _value in node.value:
            key = loader.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:
                continue  # an unhashable key: the base constructor reports it
            line = key_node.start_mark.line + 1
            if first is not None:
                raise DuplicateKeyError(
                    f"key {key!r} appears twice in one mapping (lines {first} and {line}); keep one of them"
                )
            seen[key] = line
        return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)

    StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    return StrictLoader


class DuplicateKeyError(ValueError):
    pass


def load_yaml_documents(text: str, *, source: str) -> list[Any]:
    """Every YAML document in `text`, refusing duplicate keys; InputError with the line on failure."""
    import yaml

    try:
        return list(yaml.load_all(text, Loader=_strict_loader()))  # noqa: S506 - a SafeLoader subclass
    except DuplicateKeyError as exc:
        raise InputError(f"not valid: {exc}", source=source) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise InputError(f"not valid YAML{where}; fix the syntax", source=source) from None


def load_text(text: str, *, source: str, settings: Settings) -> list[Document]:
    raws = load_yaml_documents(text, source=source)
    docs = [
        parse_document(raw, source=source, index=i, settings=settings)
        for i, raw in enumerate(raws, start=1)
        if raw is not None
    ]
    return docs


def load_files(paths: Iterable[str | Path], settings: Settings) -> list[Document]:
    """Every document of every file, validated before anything runs (a bad file deletes nothing)."""
    docs: list[Document] = []
    paths = list(paths)
    for path in paths:
        file = Path(path)
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(
                f"cannot read: {getattr(exc, 'strerror', None) or exc}", source=str(file)
            ) from None
        docs.extend(load_text(text, source=str(file), settings=settings))
    if not docs:
        raise InputError(
            "no custom-resource documents found; give -f FILE with RetentionPolicy, "
            "AccessAuditPolicy, ErasureRequest or AccessRequest documents",
            source=", ".join(str(p) for p in paths) or None,
        )
    seen: dict[str, Document] = {}
    for doc in docs:
        key = f"{doc.metadata.namespace or ''}/{doc.ref}"
        if key in seen:
            first = seen[key]
            raise InputError(
                f"document {doc.index} ({doc.ref}): metadata.name: duplicates document {first.index} "
                f"of {first.source}; give each resource a unique name",
                source=doc.source,
            )
        seen[key] = doc
    return docs
