"""The type catalogue: what each Pulumi resource type is (`type_catalog.yaml`).

Every resource type token of the supported provider releases is named in the YAML file with a kind
(data store, copy channel, access grant, audit logging, network, compute, metadata) and a scope
(regional or global). There is no wildcard: `classify()` returns None for a token that is not
listed, and the engine reports such a resource as "not evaluated". Alias tokens (older spellings
that pulumi-aws declares as aliases of a current type) are classified as the type they name.

Provider resources (`pulumi:providers:aws`, ...) are not resource types and are not in the
catalogue: `classify()` returns None for them, and `is_provider()` tells them apart.

The file is read once per process (libyaml's CSafeLoader when available) into a plain dict from
token to a shared `TypeInfo`, so a lookup is one dict access. This module imports neither pulumi,
pulumi_aws nor boto3.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from policies.errors import InputError

DEFAULT_TYPE_CATALOG = Path(__file__).with_name("type_catalog.yaml")

DATA_STORE = "data-store"
COPY_CHANNEL = "copy-channel"
ACCESS_GRANT = "access-grant"
AUDIT_LOGGING = "audit-logging"
NETWORK = "network"
COMPUTE = "compute"
METADATA = "metadata"

#: Every kind, in the order the YAML header explains them.
KINDS: tuple[str, ...] = (DATA_STORE, COPY_CHANNEL, ACCESS_GRANT, AUDIT_LOGGING, NETWORK, COMPUTE, METADATA)
SCOPES: tuple[str, ...] = ("regional", "global")
#: How a package spells its tokens: `bridged` is `pkg:module/type:Type`, `native` is `pkg:module:Type`.
TOKEN_FORMS: tuple[str, ...] = ("bridged", "native")

PROVIDER_PREFIX = "pulumi:providers:"

_PACKAGE = re.compile(r"^[a-z][a-z0-9-]*$")
_MODULE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_MODULE_KEYS = frozenset({"scope", "types"})
_TYPE_KEYS = frozenset({"kind", "scope"})


@dataclass(frozen=True, slots=True)
class TypeInfo:
    """What a resource type is. Instances are shared: one per (kind, regional) pair."""

    kind: str
    regional: bool

    @property
    def is_data_store(self) -> bool:
        return self.kind == DATA_STORE

    @property
    def not_applicable(self) -> bool:
        """Metadata-only: holds no data and cannot place data anywhere."""
        return self.kind == METADATA


_INFOS: dict[tuple[str, bool], TypeInfo] = {
    (kind, regional): TypeInfo(kind, regional) for kind in KINDS for regional in (True, False)
}


class TypeCatalog(Mapping[str, TypeInfo]):
    """A read-only mapping from resource type token to `TypeInfo`."""

    __slots__ = ("_types", "sha256", "source")

    def __init__(self, types: dict[str, TypeInfo], source: str, sha256: str = "") -> None:
        self._types = types
        #: Where the catalogue was read from, and the sha256 of its bytes (for evidence records).
        self.source = source
        self.sha256 = sha256

    def classify(self, token: str) -> TypeInfo | None:
        return self._types.get(token)

    def __getitem__(self, token: str) -> TypeInfo:
        return self._types[token]

    def __iter__(self) -> Iterator[str]:
        return iter(self._types)

    def __len__(self) -> int:
        return len(self._types)

    def __contains__(self, token: object) -> bool:
        return token in self._types

    def tokens(self, *, kind: str | None = None, package: str | None = None) -> frozenset[str]:
        """Tokens of one kind and/or one provider package (for reports and tests, not hot paths)."""
        if kind is not None and kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; one of {', '.join(KINDS)}")
        return frozenset(
            token
            for token, info in self._types.items()
            if (kind is None or info.kind == kind) and (package is None or provider_package(token) == package)
        )

    def counts(self) -> dict[str, int]:
        """Number of types per kind, every kind present."""
        counts = dict.fromkeys(KINDS, 0)
        for info in self._types.values():
            counts[info.kind] += 1
        return counts


def provider_package(token: str) -> str:
    """The Pulumi package a type token belongs to.

    `aws:s3/bucket:Bucket` -> `aws`, `aws-native:s3:Bucket` -> `aws-native`,
    `pulumi:providers:aws` -> `aws` (a provider resource belongs to the package it configures),
    `pulumi:pulumi:Stack` -> `pulumi`. A string without a colon is returned as it is.
    """
    if token.startswith(PROVIDER_PREFIX):
        return token[len(PROVIDER_PREFIX) :]
    return token.partition(":")[0]


def is_provider(token: str) -> bool:
    """True for a provider resource (`pulumi:providers:<package>`), which the catalogue does not classify."""
    return token.startswith(PROVIDER_PREFIX)


def _token(package: str, form: str, module: str, type_name: str) -> str:
    if form == "bridged":
        return f"{package}:{module}/{type_name[0].lower()}{type_name[1:]}:{type_name}"
    return f"{package}:{module}:{type_name}"


_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _UniqueKeyLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Safe loader that rejects a key given twice in one mapping (PyYAML keeps the last silently)."""


def _construct_mapping(loader: Any, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    keys = [key.value for key, _ in node.value if isinstance(key, yaml.ScalarNode)]
    if len(keys) != len(set(keys)):
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                if key_node.value in seen:
                    raise yaml.constructor.ConstructorError(
                        None,
                        None,
                        f"{key_node.value!r} is listed twice in the same mapping",
                        key_node.start_mark,
                    )
                seen.add(key_node.value)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _fail(source: str, message: str) -> InputError:
    return InputError(f"type catalogue: {message}", source=source)


def _parse(document: Any, source: str) -> dict[str, TypeInfo]:
    if not isinstance(document, dict):
        raise _fail(
            source, "the file must be a mapping with `version: 1`, `packages:` and optionally `aliases:`"
        )
    unknown = set(document) - {"version", "packages", "aliases"}
    if unknown:
        raise _fail(source, f"unknown top-level key(s) {', '.join(sorted(map(str, unknown)))}")
    if document.get("version") != 1:
        raise _fail(source, f"version must be 1, not {document.get('version')!r}")
    packages = document.get("packages")
    if not isinstance(packages, dict) or not packages:
        raise _fail(source, "`packages:` must map package names to their modules")
    types: dict[str, TypeInfo] = {}
    for package, spec in packages.items():
        if not isinstance(package, str) or not _PACKAGE.match(package):
            raise _fail(source, f"{package!r} is not a Pulumi package name (like aws or aws-native)")
        if not isinstance(spec, dict) or set(spec) != {"tokens", "modules"}:
            raise _fail(source, f"package {package}: give exactly `tokens:` and `modules:`")
        form = spec["tokens"]
        if form not in TOKEN_FORMS:
            raise _fail(
                source, f"package {package}: tokens must be one of {', '.join(TOKEN_FORMS)}, not {form!r}"
            )
        modules = spec["modules"]
        if not isinstance(modules, dict) or not modules:
            raise _fail(source, f"package {package}: `modules:` must map module names to their types")
        for module, mspec in modules.items():
            where = f"{package}:{module}"
            if not isinstance(module, str) or not _MODULE.match(module):
                raise _fail(source, f"package {package}: {module!r} is not a module name")
            if not isinstance(mspec, dict) or not _MODULE_KEYS.issuperset(mspec) or "types" not in mspec:
                raise _fail(source, f"module {where}: give `scope:` and `types:` (and nothing else)")
            module_scope = mspec.get("scope")
            if module_scope not in SCOPES:
                raise _fail(
                    source, f"module {where}: scope must be one of {', '.join(SCOPES)}, not {module_scope!r}"
                )
            entries = mspec["types"]
            if not isinstance(entries, dict) or not entries:
                raise _fail(source, f"module {where}: `types:` must map type names to kinds")
            for type_name, value in entries.items():
                if not isinstance(type_name, str) or not _TYPE.match(type_name):
                    raise _fail(source, f"module {where}: {type_name!r} is not a type name")
                token = _token(package, form, module, type_name)
                if isinstance(value, dict):
                    if not _TYPE_KEYS.issuperset(value) or "kind" not in value:
                        raise _fail(source, f"{token}: give `kind:` and optionally `scope:`")
                    kind, scope = value["kind"], value.get("scope", module_scope)
                else:
                    kind, scope = value, module_scope
                if kind not in KINDS:
                    raise _fail(source, f"{token}: unknown kind {kind!r}; one of {', '.join(KINDS)}")
                if scope not in SCOPES:
                    raise _fail(source, f"{token}: unknown scope {scope!r}; one of {', '.join(SCOPES)}")
                if token in types:
                    raise _fail(source, f"{token} is listed twice")
                types[token] = _INFOS[(kind, scope == "regional")]
    aliases = document.get("aliases") or {}
    if not isinstance(aliases, dict):
        raise _fail(source, "`aliases:` must map an old token to the token it is an alias of")
    for alias, target in aliases.items():
        if not isinstance(alias, str) or alias.count(":") != 2:
            raise _fail(source, f"alias {alias!r} is not a type token (package:module:Type)")
        if alias in types:
            raise _fail(source, f"alias {alias} is also listed as a type")
        if not isinstance(target, str) or target not in types:
            raise _fail(source, f"alias {alias} names {target!r}, which is not a type of the catalogue")
        types[alias] = types[target]
    return types


def load_type_catalog(path: str | Path | None = None) -> TypeCatalog:
    """Read and validate a type catalogue; the default file is read once per process."""
    if path is None or Path(path) == DEFAULT_TYPE_CATALOG:
        return _default_catalog()
    return _load(Path(path))


def _load(path: Path) -> TypeCatalog:
    source = str(path)
    try:
        data = path.read_bytes()
        text = data.decode("utf-8")
    except OSError as exc:
        raise _fail(source, f"cannot read the file ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise _fail(source, "the file is not UTF-8 text") from None
    digest = hashlib.sha256(data).hexdigest()

    def parse() -> dict[str, list[Any]]:
        try:
            document = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a safe loader
        except yaml.YAMLError as exc:
            detail = " ".join(str(exc).split())
            raise _fail(source, f"not valid YAML: {detail}") from None
        return {token: [info.kind, info.regional] for token, info in _parse(document, source).items()}

    # Parsing ~3,500 YAML entries costs more than a whole check of a small stack: the validated table
    # is kept on disk per content hash (never stale after an edit).
    from policies.disk_cache import cached_json

    raw = cached_json(f"type-catalog-{digest}.json", parse)
    try:
        types = {token: _INFOS[(kind, bool(regional))] for token, (kind, regional) in raw.items()}
    except (KeyError, TypeError, ValueError, AttributeError):
        types = {token: _INFOS[(kind, bool(regional))] for token, (kind, regional) in parse().items()}
    return TypeCatalog(types, source, digest)


@lru_cache(maxsize=1)
def _default_catalog() -> TypeCatalog:
    return _load(DEFAULT_TYPE_CATALOG)


def classify(token: str) -> TypeInfo | None:
    """The default catalogue's classification of a type token; None when it is not classified.

    Provider resources (`pulumi:providers:*`) are never classified (see `is_provider`).
    """
    return _default_catalog().classify(token)
