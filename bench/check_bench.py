"""Benchmark `residency check` as CI runs it: a whole process on a preview file.

Synthetic previews of ~1k, 10k and 100k resources are built from the reference stack's units (KMS
key, personal-data and audit buckets with all their side resources, DynamoDB table, PostgreSQL with
its parameter group, CloudTrail trail, log group, role and policy; every tenth unit is the
non-compliant global-template copy). Generation is not timed.

Targets on a 2-core machine: 10k resources in at most 1.5 s wall including process start; 100k at
most 12x the 10k time; `residency --help` at most 0.3 s. Prints the figures, then each target with
its figure and "met" or "MISSED" ("not measured" when --sizes leaves its size out); exits 0 either way.

    python bench/check_bench.py [--runs 5] [--sizes 1000,10000,100000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from policies.examples.reference import compliant_unit, synthetic_preview  # noqa: E402

UNIT = len(compliant_unit())


def residency_cmd() -> list[str]:
    exe = shutil.which("residency", path=str(Path(sys.executable).parent)) or shutil.which("residency")
    return [exe] if exe else [sys.executable, "-m", "policies.cli"]


def wall(cmd: list[str], runs: int) -> tuple[float, float, float, int]:
    times = []
    code = 0
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        times.append(time.perf_counter() - start)
        code = proc.returncode
        if proc.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.decode()[:500]}")
    return min(times), statistics.median(times), max(times), code


def peak_rss_mb(cmd: list[str]) -> float:
    proc = (
        subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if os.path.exists("/usr/bin/time")
        else None
    )
    if proc is None:
        return float("nan")
    try:
        return int(proc.stderr.decode().strip().splitlines()[-1]) / 1024
    except (ValueError, IndexError):
        return float("nan")


HELP_TARGET_S = 0.3
TEN_K_TARGET_S = 1.5
RATIO_TARGET = 12.0


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", default="1000,10000,100000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    cmd = residency_cmd()
    tmp = Path(tempfile.mkdtemp(prefix="residency-bench-"))
    print(f"residency check benchmark ({os.cpu_count()} cores, {args.runs} runs each, median reported)")
    try:
        lo, help_s, hi, _ = wall([*cmd, "--help"], args.runs)
        print(f"  residency --help: {help_s:.3f} s (min {lo:.3f}, max {hi:.3f})")
        results: dict[int, float] = {}
        for size in sizes:
            # Every tenth unit is the smaller non-compliant one: grow until the preview has `size` resources.
            units = max(1, size // UNIT)
            doc = synthetic_preview(units)
            while len(doc["steps"]) - 1 < size:
                units += max(1, (size - len(doc["steps"]) + 1) // UNIT)
                doc = synthetic_preview(units)
            path = tmp / f"preview-{size}.json"
            path.write_text(json.dumps(doc))
            resources = len(doc["steps"]) - 1
            mb = path.stat().st_size / 1e6
            runs = args.runs if size <= 10000 else max(1, min(args.runs, 3))
            lo, med, hi, code = wall(
                [*cmd, "check", str(path), "--format", "json", "--output", os.devnull], runs
            )
            results[size] = med
            rss = peak_rss_mb([*cmd, "check", str(path), "--format", "json", "--output", os.devnull])
            print(
                f"  check {resources:>7} resources ({mb:6.1f} MB preview): {med:.3f} s "
                f"(min {lo:.3f}, max {hi:.3f}), {resources / med:,.0f} resources/s, peak RSS {rss:.0f} MB, exit {code}"
            )
        print(f"  target: residency --help <= 0.300 s: {help_s:.3f} s: {_verdict(help_s <= HELP_TARGET_S)}")
        if 10000 in results:
            at_10k = results[10000]
            print(f"  target: check 10k <= 1.500 s: {at_10k:.3f} s: {_verdict(at_10k <= TEN_K_TARGET_S)}")
        else:
            print("  target: check 10k <= 1.500 s: not measured (--sizes has no 10000)")
        if 10000 in results and 100000 in results:
            ratio = results[100000] / results[10000]
            print(
                f"  target: check 100k <= 12x the 10k time: {ratio:.1f}x: {_verdict(ratio <= RATIO_TARGET)}"
            )
        else:
            print("  target: check 100k <= 12x the 10k time: not measured (--sizes needs 10000 and 100000)")
        probe = (
            "import sys; from policies.check import run_check; "
            f"run_check([{str(tmp / f'preview-{sizes[0]}.json')!r}]); "
            "print([m for m in ('pulumi_aws','boto3','kopf') if m in sys.modules])"
        )
        loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout.strip()
        print(f"  heavy SDKs imported by the check path: {loaded}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
