"""A rule that raised is not a finding to a test.

The engine turns an exception inside a rule into a finding with that rule's own id and severity
(fail closed), so "rule X fired on Y" also holds when rule X crashed. Every integration, pack and
flagged-case test passes what it got through `no_crash` before it looks at rule ids.

A crash is recognised by `Finding.error` (and `"error": true` in JSON) and by the message the engine
writes, which is all a pack diagnostic carries: "<resource> could not be checked: rule <id> failed
with <exception>...".
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

#: What the engine writes when a rule raised; the pack passes it on as the diagnostic's message.
CRASH_MARKER = "could not be checked: rule"

T = TypeVar("T")


def _message_and_error(item: Any) -> tuple[str, bool]:
    if isinstance(item, tuple) and item:  # (diagnostic, urn) pairs from the pack harness
        item = item[0]
    if isinstance(item, dict):  # a finding in `--format json`
        return str(item.get("message", "")), item.get("error") is True
    # a policies.model.Finding, or an AnalyzeDiagnostic from the pack
    return str(getattr(item, "message", "")), getattr(item, "error", False) is True


def crashes(found: Any) -> list[str]:
    """The messages of every finding or diagnostic in `found` that a crashed rule produced.

    `found` is a Result, a list of findings, a `--format json` document or its findings, or pack
    diagnostics (bare or as (diagnostic, urn) pairs).
    """
    if isinstance(found, dict) and "findings" in found:
        items: Iterable[Any] = found["findings"]
    elif hasattr(found, "findings") and not isinstance(found, dict):
        items = found.findings
    else:
        items = found
    out = []
    for item in items:
        message, error = _message_and_error(item)
        if error or CRASH_MARKER in message:
            out.append(message)
    return out


def no_crash(found: T) -> T:
    """Assert that no rule crashed in `found`, and hand it back for the test to read."""
    crashed = crashes(found)
    assert not crashed, f"{len(crashed)} finding(s) come from a rule that raised: {crashed[:3]}"
    return found


def check(rule_id: str, *resources: Any, **kwargs: Any) -> Any:
    """`builders.check` (one rule over a stack of `resources`), failing the test if the rule raised."""
    from builders import check as run_one_rule

    return no_crash(run_one_rule(rule_id, *resources, **kwargs))


def evaluate(stack: Any, rules: Any = None) -> Any:
    """`policies.engine.evaluate`, failing the test if any rule raised."""
    from policies.engine import evaluate as run_rules

    return no_crash(run_rules(stack, rules))
