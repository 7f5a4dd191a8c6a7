"""The `residency check` path never imports kopf, prometheus_client or boto3; the operator's pure parts
(status, metrics) are importable without kopf."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
from typer.testing import CliRunner
from policies.cli import app
result = CliRunner().invoke(app, ["check", "--help"])
assert result.exit_code == 0, result.output
import controllers.cli, controllers.status
heavy = sorted(m for m in ("kopf", "prometheus_client", "boto3", "botocore", "aiohttp") if m in sys.modules)
print(",".join(heavy))
"""


def test_check_path_and_the_controller_command_module_import_no_kopf() -> None:
    proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""
