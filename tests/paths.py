"""Where test inputs live (a plain module: `conftest` is not importable once several folders have one)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: The real `pulumi preview --json` and `pulumi stack export` files from public repositories.
PUBLIC_FIXTURES = ROOT.parent / "shared" / "fixtures" / "pulumi-public"
