"""Reading Pulumi property values that come in more than one shape."""

from __future__ import annotations

import json
import math
import re
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


def nested(value: Any, *path: str) -> Any:
    """Nested lookup where each block may be an object or a one-element list (Pulumi flattens
    `maxItems: 1` blocks either way): the value, UNKNOWN when a block on the way is unknown, or None."""
    for key in path:
        value = first(value)
        if value is UNKNOWN:
            return UNKNOWN
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def flag(value: Any) -> Any:
    """A boolean input as True, False or UNKNOWN (some schemas carry booleans as strings)."""
    if value is UNKNOWN:
        return UNKNOWN
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


class BadNumber:
    """A value read where a whole number (days, versions, seconds) belongs, but that is not one.

    Rules turn it into a finding that names the property and the value: never a crash, never a pass.
    """

    __slots__ = ("reason", "value")

    def __init__(self, value: Any, reason: str) -> None:
        self.value = value
        self.reason = reason

    def __repr__(self) -> str:
        return f"<not a whole number: {self.value!r}>"

    def describe(self, prop: str, unit: str = "") -> str:
        """`"retentionInDays is 'abc', which is not a whole number of days"`."""
        what = f"a whole number of {unit}" if unit else "a whole number"
        return f"{prop} is {_shown(self.value)}, which is not {what} ({self.reason})"


def _shown(value: Any) -> str:
    return json.dumps(value) if isinstance(value, str | bool | int | float) else repr(value)


_WHOLE_TEXT = re.compile(r"^[+-]?\d+(?:\.0*)?$")


def whole_number(value: Any, *, negative: bool = False) -> Any:
    """A number of days, versions or seconds as JSON and pulumi-aws allow it to be written.

    Returns an `int`; `None` when unset (None or ""); `UNKNOWN` until apply; or a `BadNumber`.
    Accepted: an int, an integral float (`365.0`), and a numeric string (`"5"`, `" 30 "`, `"365.0"`:
    pulumi-aws takes some counts as strings, e.g. `newerNoncurrentVersions`). Refused with a
    `BadNumber`: booleans (`true` is not 1 day), fractions (`365.5`), NaN and infinities, other text
    (`"abc"`), objects and lists, and negatives unless `negative=True`.
    """
    if value is UNKNOWN:
        return UNKNOWN
    if value is None:
        return None
    if isinstance(value, bool):
        return BadNumber(value, "a boolean")
    number: int
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            return BadNumber(value, "not a whole number")
        number = int(value)
    elif isinstance(value, str):
        text = value.strip()
        if text == "":
            return None
        if not _WHOLE_TEXT.match(text):
            return BadNumber(value, "not a number")
        number = int(text.split(".", 1)[0])
    else:
        return BadNumber(value, f"a {type(value).__name__}, not a number")
    if number < 0 and not negative:
        return BadNumber(value, "negative")
    return number
