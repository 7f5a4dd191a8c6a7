"""Where test inputs live (a plain module: `conftest` is not importable once several folders have one)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: The real `pulumi preview --json` and `pulumi stack export` files from public repositories.
PUBLIC_FIXTURES = ROOT.parent / "shared" / "fixtures" / "pulumi-public"


def public_fixture(name: str) -> Path:
    """A public fixture file, or skip the test when shared/ is not beside the checkout."""
    import pytest

    path = PUBLIC_FIXTURES / name
    if not path.exists():
        pytest.skip(f"{name} is not available (shared/fixtures/pulumi-public missing)")
    return path
