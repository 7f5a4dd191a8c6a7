"""The operator against an HTTP Kubernetes API emulator (kmock) and a moto server, both on 127.0.0.1.

The operator runs in-process, in a thread, through `controllers.operator.run` (what `residency
controller` calls), with a stop flag for a graceful stop; `test_cli.py` runs the real command.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

# kopf and prometheus_client (the operator extra) and kmock (dev) are declared in pyproject.toml:
# without them the run fails here, never skips.
import kmock  # noqa: F401
import kopf  # noqa: F401
import prometheus_client  # noqa: F401
import pytest

# moto_estate lives beside the reconcilers' tests.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "controllers"))

import moto_estate  # noqa: E402

# The shared moto fixtures, registered for this folder.
moto_url = moto_estate.moto_url
estate = moto_estate.estate

from .kube import Kube  # noqa: E402

#: How fast the timers tick in tests (production: 30 s).
TICK = 0.5


@pytest.fixture
def kube(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Kube]:
    api = Kube()
    monkeypatch.setenv("KUBECONFIG", str(api.kubeconfig(tmp_path)))
    for var in ("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"):
        monkeypatch.delenv(var, raising=False)
    yield api
    api.close()


class Running:
    """One operator in a thread; `stop()` sets its stop flag and waits for it to finish."""

    def __init__(self, config: Any, clients: Any) -> None:
        from controllers.operator import Controller, run

        self.stop_flag = threading.Event()
        self.ready_flag = threading.Event()
        self.controller = Controller(config, clients=clients)
        self.error: BaseException | None = None

        def target() -> None:
            try:
                run(
                    config,
                    controller=self.controller,
                    stop_flag=self.stop_flag,
                    ready_flag=self.ready_flag,
                    configure_logging=False,
                )
            except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread
                self.error = exc

        self.thread = threading.Thread(target=target, name="operator", daemon=True)
        self.thread.start()
        if not self.ready_flag.wait(30):
            raise RuntimeError("the operator did not start")

    def controller_reconciles(self) -> int:
        return self.controller.reconciles

    def stop(self) -> None:
        self.stop_flag.set()
        self.thread.join(30)
        assert not self.thread.is_alive(), "the operator did not stop"
        if self.error:
            raise self.error


@pytest.fixture
def start_operator(kube: Kube, moto_url: str) -> Iterator[Callable[..., Running]]:
    from controllers.aws import ClientFactory, RetryPolicy
    from controllers.operator import OperatorConfig

    running: list[Running] = []

    def start(**overrides: Any) -> Running:
        options: dict[str, Any] = {
            "clusterwide": True,
            "endpoint_url": moto_url,
            "metrics_port": None,
            "health_port": None,
            "tick": TICK,
            "default_interval": 3600.0,
            "erasure_retry": 1.0,
            "max_backoff": 1.0,
            "json_logs": False,
        }
        options.update(overrides)
        clients = ClientFactory(endpoint_url=moto_url, retry=RetryPolicy(attempts=2, base_delay=0.01))
        operator = Running(OperatorConfig(**options), clients)
        running.append(operator)
        return operator

    yield start
    for operator in running:
        if operator.thread.is_alive():
            operator.stop()


def wait_for(check: Callable[[], Any], timeout: float = 20.0, interval: float = 0.1, what: str = "") -> Any:
    """Poll `check` until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or check}; last: {last!r}")


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Never real AWS: no profile or session; moto's own credentials (the product has no fallback)."""
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
