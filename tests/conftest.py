import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

#: The real `pulumi preview --json` and `pulumi stack export` files from public repositories.
PUBLIC_FIXTURES = ROOT.parent / "shared" / "fixtures" / "pulumi-public"
