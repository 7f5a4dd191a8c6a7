"""Benchmark the CrossGuard pack over gRPC, started as the Pulumi CLI starts it.

Starts `python -u -m pulumi.policy <engine> .` in policies/ (PULUMI_DRY_RUN=true), then measures:

- Analyze latency per resource: every resource of a synthetic ~1k-resource preview (reference units,
  every tenth the non-compliant global-template copy) sent one by one with its provider, cycled to
  at least `--calls` calls; p50 and p99 of the client-side round trip.
- AnalyzeStack of the same ~1k resources: wall time of the call, best and median of `--runs`.

Targets: p99 <= 5 ms per Analyze call; AnalyzeStack of 1k resources <= 1 s. Prints the figures and
exits 0 either way (not a timed test). Needs the pack extra (pulumi, pulumi-policy, grpcio).

    python bench/pack_bench.py [--calls 2000] [--runs 5] [--resources 1000]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # honesty, which the harness uses
sys.path.insert(0, str(ROOT / "tests" / "pack"))

from pack_harness import (  # noqa: E402
    FakeEngine,
    PackProcess,
    analyze_requests,
    analyze_stack_request,
    preview_states,
)

from policies.examples.reference import compliant_unit, synthetic_preview  # noqa: E402

P99_TARGET_MS = 5.0
STACK_TARGET_S = 1.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="Analyze calls (at least 1000)")
    parser.add_argument("--runs", type=int, default=5, help="AnalyzeStack runs")
    parser.add_argument("--resources", type=int, default=1000, help="resources in the synthetic stack")
    args = parser.parse_args()

    units = max(1, math.ceil(args.resources / len(compliant_unit())))
    while True:  # non-compliant units are smaller: grow until the stack has the asked-for size
        states = [s for s in preview_states(synthetic_preview(units)) if s.get("custom", True)]
        if len(states) >= args.resources:
            break
        units += 1
    requests = analyze_requests(states)
    stack_request = analyze_stack_request(states)

    engine = FakeEngine()
    started = time.perf_counter()
    pack = PackProcess(engine, dry_run=True)
    startup = time.perf_counter() - started
    try:
        pack.configure({})
        for request in requests[:50]:  # warm-up: imports, caches
            pack.analyze(request)
        pack.analyze_stack(stack_request)

        latencies: list[float] = []
        mandatory = 0
        calls = max(args.calls, 1000)
        for i in range(calls):
            request = requests[i % len(requests)]
            t0 = time.perf_counter()
            diagnostics = pack.analyze(request)
            latencies.append((time.perf_counter() - t0) * 1000)
            mandatory += sum(1 for d in diagnostics if d.enforcementLevel == 1)

        stack_times: list[float] = []
        stack_diagnostics = 0
        for _ in range(args.runs):
            t0 = time.perf_counter()
            stack_diagnostics = len(pack.analyze_stack(stack_request))
            stack_times.append(time.perf_counter() - t0)
    finally:
        pack.stop()
        engine.stop()

    p50, p99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
    best, median = min(stack_times), statistics.median(stack_times)
    print(f"pack start (process to port on stdout): {startup:.2f} s")
    print(
        f"Analyze: {calls} calls over {len(requests)} resources; p50 {p50:.2f} ms, p99 {p99:.2f} ms, "
        f"max {max(latencies):.2f} ms (target p99 <= {P99_TARGET_MS:.0f} ms: "
        f"{'met' if p99 <= P99_TARGET_MS else 'MISSED'}); {mandatory} mandatory diagnostics"
    )
    print(
        f"AnalyzeStack: {len(stack_request.resources)} resources; best {best:.3f} s, median {median:.3f} s "
        f"over {args.runs} runs (target <= {STACK_TARGET_S:.0f} s: "
        f"{'met' if median <= STACK_TARGET_S else 'MISSED'}); {stack_diagnostics} diagnostics"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
