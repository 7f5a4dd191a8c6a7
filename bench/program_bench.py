"""Benchmark `residency check --program`: the project's own infra program, start-up included.

Each run is what a CI job pays: a fresh `residency check --program . --stack <stack> --format json`
process (CLI start-up, Pulumi.yaml and stack config, the child interpreter with pulumi and the
pulumi_aws submodules the program imports, the program under mocks, the stack export, every rule).
The child's share is timed separately from a direct `load_program` call.

Target on a 2-core machine: at most 3 s wall, start-up included (median of the runs). Prints the
figures and the target with "met" or "MISSED"; exits 0 either way.

    python bench/program_bench.py [--runs 5] [--stack prod-cn-north-1]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 3.0


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cli_run(stack: str) -> tuple[float, float, dict]:
    """(wall, CPU of the CLI and its child, summary) of one fresh CLI process."""
    cpu = _children_cpu()
    start = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "policies.cli",
            "check",
            "--program",
            str(ROOT),
            "--stack",
            stack,
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    wall = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"the benchmark run failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
    return wall, _children_cpu() - cpu, json.loads(proc.stdout)["summary"]


def child_run(stack: str) -> float:
    """The mock run alone (subprocess with the program's interpreter), as `load_program` does it."""
    code = (
        f"import sys, time; sys.path.insert(0, {str(ROOT)!r}); t = time.perf_counter();"
        f"from policies.sources.program import load_program; load_program({str(ROOT)!r}, {stack!r});"
        "print(time.perf_counter() - t)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return float(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--stack", default="prod-cn-north-1")
    args = parser.parse_args()

    cli_run(args.stack)  # warm the OS file cache and the type catalogue's on-disk cache once
    walls, cpus, summary = [], [], {}
    for _ in range(args.runs):
        wall, cpu, summary = cli_run(args.stack)
        walls.append(wall)
        cpus.append(cpu)
    children = [child_run(args.stack) for _ in range(args.runs)]
    med = statistics.median(walls)
    print(f"residency check --program . --stack {args.stack}: {args.runs} fresh processes (median)")
    print(f"  resources {summary.get('resources')}, findings {summary.get('findings')}")
    print(f"  mock run (child process)  {statistics.median(children):.3f} s")
    print(f"  wall (whole CLI process)  {med:.3f} s  (min {min(walls):.3f}, max {max(walls):.3f})")
    # CPU time does not grow with other processes' load: on an idle machine the wall is close to it.
    print(
        f"  CPU (CLI + child)         {statistics.median(cpus):.3f} s  (load average {os.getloadavg()[0]:.1f})"
    )
    verdict = "met" if med <= TARGET_S else "MISSED"
    print(
        f"  target: infra program checked within {TARGET_S:.1f} s including start-up; median {med:.3f} s: {verdict}"
    )


if __name__ == "__main__":
    main()
