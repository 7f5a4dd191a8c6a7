"""`residency enforce` and friends: registered into the `residency` CLI via an entry point."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the controller's commands to the `residency` app (kept import-light: --help runs this)."""
    return None
