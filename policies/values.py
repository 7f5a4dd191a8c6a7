"""Reading Pulumi property values that come in more than one shape."""

from __future__ import annotations

from typing import Any

from policies.model import UNKNOWN


def first(value: Any) -> Any:
    """Pulumi flattens one-element blocks to a list in some schemas and an object in others."""
    if isinstance(value, list):
        return value[0] if value else None
    return value


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def flag(value: Any) -> Any:
    """A boolean input as True, False or UNKNOWN (some schemas carry booleans as strings)."""
    if value is UNKNOWN:
        return UNKNOWN
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")
