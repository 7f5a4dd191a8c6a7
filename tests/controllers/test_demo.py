"""`residency demo`'s run-time part: the embedded moto estate, enforced end to end."""

from __future__ import annotations

import io
import os
import sys

import pytest
from rich.console import Console

from controllers.demo import MOTO_MISSING, run_estate_demo


def captured() -> Console:
    return Console(file=io.StringIO(), width=150, color_system=None)


def test_the_estate_demo_passes_and_says_what_happened() -> None:
    console = captured()
    env = dict(os.environ)

    code = run_estate_demo(console)

    text = console.file.getvalue()
    assert code == 0, text
    assert dict(os.environ) == env  # the demo's dummy credentials did not leak
    assert "Traceback" not in text and "FAIL" not in text
    assert "1. residency enforce --dry-run" in text and "2. residency enforce: for real" in text
    assert "would delete 33 version(s) and 2 delete marker(s) past retention" in text
    assert "deleted 33 version(s) and 2 delete marker(s) past retention" in text
    assert "crash/android/incident-2291.dmp@" in text and ": legal hold" in text
    assert "user/intern-eve REST.GET.OBJECT uploads/user-7/photo-1.jpg" in text
    assert "deleted 4 version(s) and 1 delete marker(s) under uploads/user-42/" in text
    assert "deleted 3 item(s) from pushauction-demo-sessions with userId = user-42" in text
    assert "ok   the repeated erasure is a no-op" in text
    assert text.rstrip().splitlines()[-1].startswith("VERDICT: PASS")


def test_without_moto_the_demo_is_skipped_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "moto", None)
    monkeypatch.setitem(sys.modules, "moto.server", None)
    console = captured()

    assert run_estate_demo(console) == 0
    assert console.file.getvalue() == MOTO_MISSING + "\n"
    assert "pip install 'residency[demo]'" in MOTO_MISSING


def test_the_estate_demo_writes_hash_chained_run_records_with_its_manifests(tmp_path) -> None:
    from policies.evidence import verify

    assert run_estate_demo(captured(), evidence=tmp_path) == 0

    records = sorted(tmp_path.glob("0*-enforce.json"))
    assert len(records) == 3  # the dry run, the real run, the repeated erasure
    outcome = verify(tmp_path)
    assert outcome.intact, outcome.problem
    assert outcome.manifests >= 1 and list(tmp_path.glob("erasure-*.jsonl"))
