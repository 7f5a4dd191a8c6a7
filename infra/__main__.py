"""The Pulumi program (`Pulumi.yaml`: `main: infra/`): see infra/program.py and infra/README.md."""

import sys
from pathlib import Path

if __package__ in (None, ""):
    # `pulumi up` runs this file as a script: make the repository root importable for `infra.*`.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from infra.program import run  # noqa: E402

run()
