import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Test helpers (builders, paths, honesty) are plain modules beside the tests.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from paths import PUBLIC_FIXTURES, ROOT  # noqa: E402

# Property tests: CI runs the same examples every time (derandomized, a fixed count, no deadline on
# a shared runner), so a red CI run is reproducible; local runs draw new examples each time.
# A test's own @settings still win for what it sets (e.g. a smaller max_examples).
settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=150,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=150, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

#: What the suite reads from ../shared beside the checkout (tests/paths.py and test_catalog.py).
SHARED = ROOT.parent / "shared"
SHARED_INPUTS = (PUBLIC_FIXTURES, SHARED / "seed" / "privacy-policy.txt")


def pytest_configure(config: pytest.Config) -> None:
    missing = [str(p) for p in SHARED_INPUTS if not p.exists()]
    if PUBLIC_FIXTURES.is_dir() and not any(PUBLIC_FIXTURES.glob("*.json")):
        missing.append(f"{PUBLIC_FIXTURES}/*.json")
    if not missing:
        return
    if os.environ.get("CI"):
        # Locally these tests skip, each with its reason; in CI that would be a silent green.
        raise pytest.UsageError(
            f"CI is set but the shared test inputs are missing: {', '.join(missing)}; check out "
            f"shared/ beside the repository ({SHARED}) so the public-fixture tests run"
        )
