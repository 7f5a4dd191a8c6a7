"""`residency controller` as users run it: a subprocess against the emulator and moto, with JSON logs,
Prometheus metrics, a liveness endpoint and a graceful stop on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

from moto_estate import Estate

from .conftest import wait_for
from .kube import Kube
from .test_operator import NS, reconciled, retention, seed_crash_dumps


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, answer.read().decode()
    except OSError:
        return 0, ""


def test_controller_command_reconciles_serves_metrics_and_health_and_stops_on_sigterm(
    kube: Kube, estate: Estate, moto_url: str, tmp_path: Path
) -> None:
    seed_crash_dumps(estate, "pa-crash", {"crash/a.dmp": 40, "crash/b.dmp": 1})
    metrics, health = free_port(), free_port()
    env = {**os.environ, "KUBECONFIG": str(kube.kubeconfig(tmp_path)), "POD_ID": "residency-test"}
    args = [
        sys.executable,
        "-m",
        "policies.cli",
        "controller",
        "--all-namespaces",
        "--endpoint-url",
        moto_url,
    ]
    args += ["--metrics-port", str(metrics), "--health-port", str(health), "--tick", "0.5"]
    log = (tmp_path / "controller.log").open("w+")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, text=True)
    try:
        kube.create(NS, retention("crash-retention", "pa-crash"))
        wait_for(reconciled(kube, "RetentionPolicy", "crash-retention", 1), timeout=30, what="Ready=True")

        status, text = wait_for(lambda: (r := fetch(f"http://127.0.0.1:{metrics}/metrics"))[0] == 200 and r)
        assert 'residency_reconciles_total{kind="RetentionPolicy",outcome="compliant"} 1.0' in text
        assert 'residency_deletions_total{kind="RetentionPolicy"} 1.0' in text
        assert (
            'residency_held_objects{kind="RetentionPolicy",name="crash-retention",namespace="privacy"} 0.0'
            in text
        )
        assert "residency_reconcile_duration_seconds_count" in text
        status, text = wait_for(lambda: (r := fetch(f"http://127.0.0.1:{health}/healthz"))[0] == 200 and r)
        assert json.loads(text)["reconciles"] >= 1

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log.seek(0)
    lines = [line for line in log.read().splitlines() if line.strip()]
    log.close()
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    messages = [r.get("message", "") for r in records]
    assert any("reconciled in" in m for m in messages), messages
    assert any(
        r.get("object", {}).get("name") == "crash-retention"
        for r in records
        if isinstance(r.get("object"), dict)
    )
    assert any("Stop-flag" in m or "stopping" in m.lower() for m in messages), messages


def test_controller_command_refuses_bad_invocations_with_exit_2() -> None:
    base = [sys.executable, "-m", "policies.cli", "controller"]
    for extra, needle in (
        ([], "--namespace NAME"),
        (["-A", "-n", "x"], "--namespace NAME"),
        (["-A", "--endpoint-url", "localhost:5000"], "is not a URL"),
        (["-A", "--metrics-port", "8080", "--health-port", "8080"], "must differ"),
    ):
        proc = subprocess.run([*base, *extra], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2 and needle in proc.stderr, (extra, proc.stderr)
        assert "Traceback" not in proc.stderr


def test_controller_without_kubernetes_credentials_exits_2_with_one_line(tmp_path: Path) -> None:
    """No service account, no KUBECONFIG, no ~/.kube/config: one line and exit 2, not kopf's retries."""
    base = [
        sys.executable,
        "-m",
        "policies.cli",
        "controller",
        "-A",
        "--metrics-port",
        "0",
        "--health-port",
        "0",
    ]
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("KUBE", "KUBERNETES_"))}
    broken = tmp_path / "broken-kubeconfig"
    broken.write_text("clusters: [\n")
    cases = [
        ({**clean, "HOME": str(tmp_path)}, "no Kubernetes credentials"),
        (
            {**clean, "HOME": str(tmp_path), "KUBECONFIG": str(tmp_path / "missing")},
            "cannot read the Kubernetes",
        ),
        ({**clean, "HOME": str(tmp_path), "KUBECONFIG": str(broken)}, "cannot read the Kubernetes"),
    ]
    for env, needle in cases:
        proc = subprocess.run(base, capture_output=True, text=True, timeout=60, env=env)
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        assert proc.returncode == 2, proc.stderr
        assert len(lines) == 1 and needle in lines[0] and "Traceback" not in proc.stderr, proc.stderr


def test_controller_without_aws_credentials_exits_2_with_one_line(kube: Kube, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        KUBECONFIG=str(kube.kubeconfig(tmp_path)),
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    args = [
        sys.executable,
        "-m",
        "policies.cli",
        "controller",
        "-A",
        "--metrics-port",
        "0",
        "--health-port",
        "0",
    ]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=60, env=env)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2 and len(lines) == 1 and "no AWS credentials" in lines[0], proc.stderr
