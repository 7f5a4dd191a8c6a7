"""`residency check --program`, as the tests call it: one mock run per program and config, cached.

A plain module beside the tests (like paths.py). Each (program, stack, config) runs once per test
process, in its own subprocess as the CLI runs it; the result is checked through the same
stack-export source the CLI uses.
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from paths import ROOT

from policies.check import run_check
from policies.engine import Result
from policies.sources.program import ProgramRun, load_program

#: The real Python programs of pulumi/examples (read from here, never copied: see SOURCES.md there).
PROGRAMS = ROOT.parent / "shared" / "fixtures" / "pulumi-programs"


def program_dir(name: str) -> Path:
    path = PROGRAMS / name
    if not path.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing: ../shared/fixtures/pulumi-programs must be beside the checkout")
        pytest.skip(f"{name} is not available (shared/fixtures/pulumi-programs missing)")
    return path


@dataclass(frozen=True)
class Checked:
    run: ProgramRun
    result: Result

    def found(self) -> set[tuple[str, str]]:
        """(rule, resource name) of every finding."""
        return {(f.rule, f.name) for f in self.result.findings}

    def shown(self) -> str:
        return "\n".join(f"{f.rule} {f.name}: {f.message}" for f in self.result.findings) or "no findings"


@functools.cache
def check_program(directory: str, stack: str | None = None, config: tuple[str, ...] = ()) -> Checked:
    run = load_program(directory, stack, config)
    with tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp) / "export.json"
        export.write_text(json.dumps(run.document), encoding="utf-8")
        result = run_check([str(export)])
    return Checked(run, result)
