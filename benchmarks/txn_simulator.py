"""Speed of the txn simulator (evaluators/txn/txn_sim.py): calls per second.

Prints, per workload family and size: full evaluations of a whole order (``Workload.makespan``),
incremental appends (``Schedule.append``), look-ahead probes (``Schedule.cost_if_appended``) and
state copies (``Schedule.copy``). Run: ``python benchmarks/txn_simulator.py [--sizes 100,500]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evaluators.txn.workloads import FAMILIES, generate_batch  # noqa: E402


def rate(fn, min_time_s: float = 0.3) -> float:
    """Calls of ``fn`` per second (repeated until ``min_time_s`` has passed)."""
    calls, started = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        elapsed = time.perf_counter() - started
        if elapsed >= min_time_s:
            return calls / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,500", help="comma-separated transaction counts")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{'family':8} {'n':>4} {'ops':>6} {'keys':>5} {'full evals/s':>13} {'appends/s':>10} "
          f"{'probes/s':>10} {'copies/s':>10}")
    for family in FAMILIES:
        for n in sizes:
            batch = generate_batch(7, family, n, 0)
            w = batch.workload
            order = np.random.default_rng(0).permutation(n).tolist()
            half = w.schedule(order[: n // 2])
            rest = order[n // 2:]
            full = rate(lambda w=w, order=order: w.makespan(order))

            def appends(half=half, rest=rest):
                sched = half.copy()
                for j in rest:
                    sched.append(j)

            copy_rate = rate(half.copy)
            append_rate = len(rest) / (1 / rate(appends) - 1 / copy_rate)
            probe_rate = len(rest) * rate(lambda half=half, rest=rest: [half.cost_if_appended(j)
                                                                        for j in rest])
            print(f"{family:8} {n:>4} {len(batch.kinds):>6} {w.num_keys:>5} {full:>13,.0f} "
                  f"{append_rate:>10,.0f} {probe_rate:>10,.0f} {copy_rate:>10,.0f}")


if __name__ == "__main__":
    main()
