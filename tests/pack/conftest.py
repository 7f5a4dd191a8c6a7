"""Fixtures for the policy-pack tests: one fake engine and one pack process per module and mode."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

# The pack extra (pulumi, pulumi-policy, grpcio) is declared in pyproject.toml and installed by the
# README's test command: without it these imports fail the run rather than hide 41 tests.
import pulumi_policy  # noqa: E402, F401
from pack_harness import FakeEngine, PackProcess  # noqa: E402


@pytest.fixture(scope="module")
def engine() -> Iterator[FakeEngine]:
    fake = FakeEngine()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def preview_pack(engine: FakeEngine) -> Iterator[PackProcess]:
    """The pack as `pulumi preview` runs it (PULUMI_DRY_RUN=true)."""
    pack = PackProcess(engine, dry_run=True)
    yield pack
    pack.stop()


@pytest.fixture(scope="module")
def apply_pack(engine: FakeEngine) -> Iterator[PackProcess]:
    """The pack as the update phase of `pulumi up` runs it (PULUMI_DRY_RUN=false)."""
    pack = PackProcess(engine, dry_run=False)
    yield pack
    pack.stop()
