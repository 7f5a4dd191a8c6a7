"""Benchmark the Pulumi program under Pulumi's mock runtime, as the infra tests run it.

One fresh process per run (so imports are cold, as in `pulumi preview`): import pulumi, import the
pulumi_aws submodules the program uses, run `infra/program.py` for the reference stack
(Pulumi.prod-cn-north-1.yaml) under mocks, then build the engine's model and evaluate every rule.

pulumi_aws imports its submodules lazily (`from pulumi_aws import s3` only registers a stub; the
module's code runs at the first attribute access), so the import phase touches one class of each
submodule the program uses: the real import cost is timed as import, not inside "program under mocks".

Target on a 2-core machine: at most 3 s wall for the whole process. Prints the figures, the import
share (pulumi + pulumi_aws), and the target with "met" or "MISSED"; exits 0 either way.

    python bench/infra_bench.py [--runs 5] [--stack prod-cn-north-1]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 3.0

#: Runs in the child process; prints one JSON line of phase timings.
_CHILD = r"""
import json, sys, time, warnings
t0 = time.perf_counter()
sys.path.insert(0, {root!r})
warnings.simplefilter("ignore", DeprecationWarning)
import pulumi
t1 = time.perf_counter()
from pulumi_aws import Provider, cloudtrail, dynamodb, iam, kms, s3  # the program's submodules
lazy = sum(1 for m in sys.modules if m.startswith("pulumi_aws"))
# Load them for real: an attribute access runs a lazy module (each loads all its resource classes).
_ = (cloudtrail.Trail, dynamodb.Table, iam.Role, kms.Key, s3.Bucket)
t2 = time.perf_counter()
aws_modules = sum(1 for m in sys.modules if m.startswith("pulumi_aws"))
from infra.testing import MockCloud, stack_config
cloud = MockCloud.install(stack_config({stack!r}), stack={stack!r})
from infra import program
cloud.deploy(program.run)
t3 = time.perf_counter()
result = cloud.evaluate()
t4 = time.perf_counter()
print(json.dumps({{
    "import_pulumi": t1 - t0, "import_pulumi_aws": t2 - t1, "program": t3 - t2, "evaluate": t4 - t3,
    "in_process": t4 - t0, "registrations": len(cloud.registrations), "resources": result.resources,
    "findings": len(result.findings), "aws_modules": aws_modules, "aws_modules_lazy": lazy,
    "aws_modules_end": sum(1 for m in sys.modules if m.startswith("pulumi_aws")),
}}))
"""


def run_once(stack: str) -> dict[str, float]:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD.format(root=str(ROOT), stack=stack)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"the benchmark run failed:\n{proc.stderr[-2000:]}")
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    figures["wall"] = wall
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--stack", default="prod-cn-north-1")
    args = parser.parse_args()

    runs = [run_once(args.stack) for _ in range(args.runs)]
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    imports = med["import_pulumi"] + med["import_pulumi_aws"]
    print(f"infra program under mocks, stack {args.stack}, {args.runs} fresh processes (median)")
    print(
        f"  registrations {int(med['registrations'])}, resources evaluated {int(med['resources'])}, "
        f"findings {int(med['findings'])}"
    )
    print(
        f"  pulumi_aws modules: {int(med['aws_modules_lazy'])} after `from pulumi_aws import ...`, "
        f"{int(med['aws_modules'])} once loaded, {int(med['aws_modules_end'])} at the end of the run"
    )
    print(f"  import pulumi          {med['import_pulumi']:.3f} s")
    print(f"  import pulumi_aws subs {med['import_pulumi_aws']:.3f} s")
    print(f"  program under mocks    {med['program']:.3f} s")
    print(f"  model + all rules      {med['evaluate']:.3f} s")
    print(f"  in process             {med['in_process']:.3f} s")
    print(f"  wall (process)         {med['wall']:.3f} s  (min {min(r['wall'] for r in runs):.3f})")
    print(f"  import share           {imports / med['wall']:.0%} of wall ({imports:.3f} s)")
    verdict = "met" if med["wall"] <= TARGET_S else "MISSED"
    print(f"  target: whole process <= {TARGET_S:.1f} s wall; median {med['wall']:.3f} s: {verdict}")


if __name__ == "__main__":
    main()
