"""`--format json`: the contract object of `Result.to_json()`, for scripts and `residency report`.

Shape (the contract): {"summary": {"resources", "findings", "waived", "by_severity"},
"findings": [{"rule", "controls", "severity", "urn", "type", "name", "message", "remediation",
"unknown", "waived", "waiver"?}], "notices"?: [...]}.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from policies.catalog import Catalog
    from policies.engine import Result
    from policies.registry import Rule


def render(
    result: Result,
    rules: dict[str, Rule],
    catalog: Catalog | None = None,
    *,
    color: bool = False,
) -> str:
    import orjson

    # orjson: a 10k-resource result (findings plus per-resource coverage) is several MB of JSON, and
    # the standard library's encoder would spend longer writing it than the rules spend judging it.
    return orjson.dumps(result.to_json(), option=orjson.OPT_INDENT_2).decode("utf-8") + "\n"
