"""Rebalance time of the DeepSeek EPLB baseline and of the vectorized program, same balancedness.

Runs both programs of problems/eplb/baselines in the sandbox exactly as evaluation does (one thread,
one untimed warm-up call, then every window once, cold: no input is repeated) on the published
setup (58 layers, 256 experts, 288 slots, 8 groups, 4 nodes, 32 GPUs) over the validation and holdout
traces of problem.yaml, one program at a time, and prints per program: next-window balancedness, balancedness
on the window it was computed from, median rebalance time over the calls, and the speed-up over the
baseline. The target (issue 4): the vectorized program reaches the same balancedness >= 5x faster.

    python benchmarks/eplb_rebalance.py [--layers 58]
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import os
import platform

import numpy as np

from adrs.problem import load_problem
from adrs.resources import import_package_from_dir
from adrs.sandbox import run_program

TARGET_SPEEDUP = 5.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=58)
    args = parser.parse_args()
    spec = load_problem("eplb")
    import_package_from_dir(spec.evaluator_dir, "adrs_evaluator_eplb")
    ev = importlib.import_module("adrs_evaluator_eplb.evaluator")
    cluster, specs, _ = ev.parse_instances(spec.instances, spec.root)
    traces = [t for split in ("validation", "holdout")
              for t in ev.build_traces(dataclasses.replace(specs[split], layers=args.layers), cluster)]
    calls = ev.traces_calls(traces)
    kwargs = ev.with_warmup([ev.call_kwargs(c, cluster) for c in calls], 9090, cluster)
    print(f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{cluster.label()}, {args.layers} layers, {len(calls)} calls ({len(traces)} traces), "
          f"each call once after one warm-up call")
    figures = {}
    for name in ("DeepSeek", "vectorized"):
        outcome = run_program(spec.baselines[name].read_text(), "rebalance_experts", kwargs, spec.limits)
        if outcome.status != "ok":
            raise SystemExit(f"{name}: {outcome.status}: {outcome.feedback()}")
        found, errors = ev.assess(calls, cluster, *ev.without_warmup(outcome.outputs, outcome.call_times_s))
        if found is None:
            raise SystemExit(f"{name}: invalid placement: {errors[0]}")
        figures[name] = (100 * found.balancedness.mean(), 100 * found.fit.mean(),
                         1000 * float(np.median(found.times_s)))
    base_ms = figures["DeepSeek"][2]
    print(f"{'program':<12} {'balancedness %':>15} {'fit %':>8} {'ms per call':>12} {'speed-up':>9}")
    for name, (bal, fit, ms) in figures.items():
        print(f"{name:<12} {bal:>15.3f} {fit:>8.3f} {ms:>12.2f} {base_ms / ms:>8.1f}x")
    speedup = base_ms / figures["vectorized"][2]
    same = abs(figures["vectorized"][0] - figures["DeepSeek"][0]) < 0.1
    print(f"target: same balancedness (within 0.1 pp): {'yes' if same else 'NO'}; "
          f">= {TARGET_SPEEDUP:g}x faster: {'yes' if speedup >= TARGET_SPEEDUP else 'NO'} ({speedup:.1f}x)")


if __name__ == "__main__":
    main()
