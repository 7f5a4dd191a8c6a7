"""Derived data kept on disk between runs: IAM's action reference, AWS managed policies, the type
catalogue. Each is built once per machine from a file that rarely changes and read back with orjson,
so a `residency check` pays milliseconds instead of a parse.

A cache file is named by what it was built from (a content hash, or a size and mtime), so an edit is
never served stale; a damaged or unreadable cache is rebuilt; a read-only home only costs the rebuild.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or (Path.home() / ".cache")) / "residency"


def file_key(source: Path) -> str | None:
    """`<size>-<mtime>` of a file installed with a package; None when it cannot be read."""
    try:
        stat = source.stat()
    except OSError:
        return None
    return f"{stat.st_size}-{int(stat.st_mtime)}"


def cached_json(name: str | None, build: Callable[[], Any]) -> Any:
    """The JSON value cached under `name` in the cache folder, else `build()` (then cached)."""
    import orjson

    if name is None:
        return build()
    path = cache_dir() / name
    try:
        return orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        pass
    value = build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(orjson.dumps(value))
        tmp.replace(path)
    except OSError:
        pass  # a read-only home only costs the next run the rebuild
    return value
