"""`--format json`: the contract object of `Result.to_json()`, for scripts and `residency report`.

Shape (the contract): {"summary": {"resources", "findings", "waived", "by_severity"},
"findings": [{"rule", "controls", "severity", "urn", "type", "name", "message", "remediation",
"unknown", "waived", "waiver"?}], "notices"?: [...]}.
"""

from __future__ import annotations

import json
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
    return json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n"
