"""`mme-registry plan`'s simulator: how long 1,000,000 requests over 100,000 models take to simulate, and how
closely it predicts the local gateway (hits and cold loads) on a Zipf trace over a dozen real models.

    .venv/bin/python bench/planner.py [--requests 1000000] [--models 100000] [--agreement 80] [--json PATH]

1. A seeded Zipf(1.1) stream at 200/s over `--models` synthetic 5 MB models, simulated on 8 × ml.r5.2xlarge;
   the stream's generation is timed apart from the simulation (the goal: the simulation under 10 s).
2. `--agreement` requests over the dozen `digits_h<N>` models (30 kB to 30 MB) replayed through real MMS behind
   the gateway with a budget of about four models, and simulated as one instance with that budget
   (local_stack/demo/agreement.py): hit rates within 5 points, cold loads within 10 %. `--agreement 0` skips it.

Every process it starts is stopped at the end.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from common import GoalLines, add_json_option

from client.plan.catalog import synthetic
from client.plan.instances import load_table
from client.plan.memory import budget_for
from client.plan.simulator import simulate
from client.plan.traffic import zipf_trace


def scale(requests: int, models: int, goals: GoalLines) -> None:
    started = time.perf_counter()
    catalog, _ = synthetic(models, 5 * 10**6).models()
    trace = zipf_trace(models, 200.0, 1.1, requests, seed=1)
    generated = time.perf_counter() - started
    started = time.perf_counter()
    result = simulate(load_table().spec("ml.r5.2xlarge"), 8, catalog, trace)
    simulated = time.perf_counter() - started
    print(f"{requests:,} requests over {models:,} models: stream {generated:.1f} s, simulation {simulated:.1f} s "
          f"(hit rate {result.hit_rate:.1%}, {result.loads:,} loads, p99 {result.p99 * 1000:.0f} ms)")
    goals.ratio("", f"plan: simulating {requests:,} requests over {models:,} models (s)", simulated,
                f"{simulated:.1f} s (+{generated:.1f} s to draw the stream)", at_most=10)


def agreement(requests: int, goals: GoalLines) -> None:
    from local_stack.demo.agreement import agreement as replayed, model_tarballs, zipf_sequence

    tarballs = model_tarballs(12)
    sequence = zipf_sequence(len(tarballs), requests, skew=1.1, seed=2)
    with tempfile.TemporaryDirectory() as work:
        started = time.perf_counter()
        result = replayed(Path(work), tarballs, sequence, budget_for(4, 10 * 10**6))
    print(f"agreement ({time.perf_counter() - started:.0f} s): {result.describe()}")
    measured = result.measured_hits / result.requests
    goals.ratio("", "plan vs local gateway: hit rate, predicted - measured (points)", abs(result.hit_rate_points),
                f"{result.predicted.hit_rate:.1%} / {measured:.1%}", at_most=5)
    goals.ratio("", "plan vs local gateway: cold loads, predicted / measured", result.predicted.loads /
                max(1, result.measured_loads), f"{result.predicted.loads} / {result.measured_loads}", at_least=0.9)
    goals.ratio("", "  the same, at most", result.predicted.loads / max(1, result.measured_loads),
                f"{result.predicted.loads} / {result.measured_loads}", at_most=1.1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--models", type=int, default=100_000)
    parser.add_argument("--agreement", type=int, default=80, help="requests replayed through the gateway (0: skip)")
    add_json_option(parser)
    args = parser.parse_args()
    goals = GoalLines("planner.py")
    scale(args.requests, args.models, goals)
    if args.agreement:
        agreement(args.agreement, goals)
    goals.write(args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
