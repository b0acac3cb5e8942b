"""``adrs bench eplb``: balancedness, gap to the bound / MIP optimum and rebalance time per program.

Table 1 runs every program (sandboxed, timed as in evolution: one untimed warm-up call, then each
window once, cold) on the validation traces (or on the trace files in ``--data``, windows of 100 steps as in
the published setup; ``--sizes`` sets the layer counts) and reports next-window balancedness, the
upper bound on it, the gap, rebalance time and the speed-up over the first program (the baseline).
Table 2 does the same on small clusters where the exact optimum is computed with HiGHS
(``reference.optimal_max_load``). Bound and optimum are oracle values on the scored window.
This module only measures; ``adrs.cli.bench`` renders the tables.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from adrs.bench import BenchRequest, BenchTable, run_programs
from adrs.config import ConfigError
from adrs.evaluation import sandbox_options

from .cluster import Cluster
from .evaluator import (
    Call,
    EPLBEvaluator,
    assess,
    build_traces,
    call_kwargs,
    parse_instances,
    traces_calls,
    with_warmup,
    without_warmup,
)
from .published import leaderboard_score, skydiscover_score
from .reference import optimal_max_load
from .trace import Trace, TraceError, file_trace, generate_trace

PUBLISHED_WINDOW_STEPS = 100  # steps per window in the published evaluator
# Small clusters for the exact optimum: (cluster, layers, windows, MIP time limit per layer in s).
SMALL = (
    (Cluster(experts=8, replicas=10, groups=2, nodes=1, gpus=2), 4, 3, 30.0),
    (Cluster(experts=16, replicas=20, groups=4, nodes=2, gpus=4), 2, 2, 10.0),
)
SMALL_MIXES = ("math", "mixed")
WARMUP_SEED = 9090  # the warm-up call's random loads


def bench(request: BenchRequest) -> list[BenchTable]:
    spec = request.problem
    cluster, specs, scoring = parse_instances(spec.instances, spec.root)
    evaluator = EPLBEvaluator(cluster, specs, scoring)
    sandbox = sandbox_options(evaluator)
    tables = []
    for title, traces in main_trace_sets(request, cluster, specs["validation"]):
        calls = traces_calls(traces)
        tables.append(program_table(title, request, cluster, calls, sandbox, spec.limits))
    for small, layers, windows, limit in SMALL[:1] if request.quick else SMALL:
        tables.append(mip_table(request, small, layers, 2 if request.quick else windows, limit, sandbox,
                                spec.limits))
    return tables


def main_trace_sets(request: BenchRequest, cluster: Cluster, validation) -> list[tuple[str, list[Trace]]]:
    if request.data_dir is not None:
        files = sorted(Path(request.data_dir).glob("*.json"))
        if not files:
            raise ConfigError(f"--data {request.data_dir}: no *.json trace files (published layout: "
                              f"{{\"load_history\": [{{\"logical_expert_load\": [[...]]}}]}})")
        try:
            traces = [file_trace(f, PUBLISHED_WINDOW_STEPS) for f in files]
        except TraceError as err:
            raise ConfigError(f"--data: {err}") from None
        for t in traces:
            if t.experts != cluster.experts or t.windows.shape[0] < 2:
                raise ConfigError(f"--data: trace {t.name} has {t.experts} experts and "
                                  f"{t.windows.shape[0]} windows of {PUBLISHED_WINDOW_STEPS} steps; the "
                                  f"cluster has {cluster.experts} experts and 2 windows are needed")
        return [(f"trace files in {request.data_dir} ({cluster.label()})", traces)]
    base = validation
    if request.quick:
        base = dataclasses.replace(base, windows=3, mixes=base.mixes[:1] or ("chat",), files=())
    sets = []
    for layers in request.sizes or (base.layers,):
        split = dataclasses.replace(base, layers=int(layers))
        sets.append((f"validation traces, {layers} layers ({cluster.label()})", build_traces(split, cluster)))
    return sets


def _run(request: BenchRequest, calls: Sequence[Call], cluster: Cluster, sandbox, limits):
    """Per program: (the raw run, the scored outputs, their times): the warm-up call is dropped."""
    kwargs = with_warmup([call_kwargs(c, cluster) for c in calls], WARMUP_SEED, cluster)
    runs = run_programs(request.programs, "rebalance_experts", kwargs, limits, request.workers, **sandbox)
    return {label: (run, *without_warmup(run.outcome.outputs or [], run.outcome.call_times_s))
            for label, run in runs.items()}


def program_table(title: str, request: BenchRequest, cluster: Cluster, calls: Sequence[Call], sandbox,
                  limits) -> BenchTable:
    runs = _run(request, calls, cluster, sandbox, limits)
    rows, first_ms = [], None
    for label in request.programs:
        run, outputs, times = runs[label]
        if not run.ok:
            rows.append((label, run.outcome.status) + (None,) * 8)
            continue
        found, errors = assess(calls, cluster, outputs, times)
        if found is None:
            rows.append((label, "invalid") + (None,) * 8)
            continue
        bal, fit, bound = (100.0 * float(x.mean()) for x in (found.balancedness, found.fit, found.bound))
        seconds = float(found.times_s.mean())
        ms = 1000.0 * seconds
        first_ms = ms if first_ms is None else first_ms
        rows.append((label, "ok", bal, fit, bound, bound - bal, ms, first_ms / ms if ms > 0 else None,
                     leaderboard_score(bal / 100.0, seconds),
                     skydiscover_score(float(found.expert_balancedness.mean()), seconds)))
    notes = (f"{len(calls)} calls; balancedness on the window after the one each placement was computed "
             f"from (fit: on that window); bound: upper bound on any placement's balancedness on the "
             f"scored window; time: the program's call only, each window once (no input repeated), mean "
             f"over the calls, after one untimed warm-up call on random loads.",
             "speed-up is relative to the first program that ran (the baseline unless --no-baselines).",
             "Theirs, on our validated placements and sandbox-measured times: ADRS leaderboard score "
             "90*balancedness + 5*min(0.002/t, 2) - slow penalty; SkyDiscover combined_score "
             "(slot balancedness + 0.002/t)/2 (see evaluators/eplb/published.py).")
    return BenchTable(title=f"eplb: {title}",
                      columns=("program", "status", "balancedness %", "fit %", "bound %", "gap to bound pp",
                               "rebalance ms", "speed-up", "ADRS leaderboard (theirs)",
                               "SkyDiscover score (theirs)"),
                      rows=tuple(rows), notes=notes)


def window_optimum(windows: np.ndarray, cluster: Cluster, limit_s: float,
                   ) -> tuple[np.ndarray, np.ndarray, int]:
    """MIP balancedness of every window [windows] (best placement found, and the proven upper bound)
    and how many layer problems were proven optimal."""
    results = [[optimal_max_load(row, cluster.gpus, cluster.slots_per_gpu, limit_s) for row in window]
               for window in windows]
    mean = windows.sum(axis=-1).sum(axis=-1) / cluster.gpus
    best = mean / np.array([sum(r.max_load for r in rs) for rs in results])
    bound = mean / np.array([sum(r.bound for r in rs) for rs in results])
    return best, bound, sum(r.optimal for rs in results for r in rs)


def mip_table(request: BenchRequest, cluster: Cluster, layers: int, windows: int, limit_s: float, sandbox,
              limits) -> BenchTable:
    traces = [generate_trace(7000 + i, mix, layers, cluster.experts, cluster.groups, windows, 10, 64)
              for i, mix in enumerate(SMALL_MIXES)]
    calls = traces_calls(traces)
    fit_opt, next_opt, bound_next, proven, solved = [], [], [], 0, 0
    for trace in traces:
        best, bound, ok = window_optimum(trace.windows, cluster, limit_s)
        proven, solved = proven + ok, solved + trace.windows.shape[0] * trace.layers
        fit_opt.extend(best[:-1])
        next_opt.extend(best[1:])
        bound_next.extend(bound[1:])
    fit_mip, next_mip = 100.0 * float(np.mean(fit_opt)), 100.0 * float(np.mean(next_opt))
    status = "optimal" if proven == solved else f"{proven}/{solved} proven"
    rows = [("MIP (HiGHS)", status, fit_mip, 0.0, next_mip, 0.0)]
    runs = _run(request, calls, cluster, sandbox, limits)
    for label in request.programs:
        run, outputs, times = runs[label]
        found = assess(calls, cluster, outputs, times)[0] if run.ok else None
        if found is None:
            rows.append((label, run.outcome.status if not run.ok else "invalid", None, None, None, None))
            continue
        fit, nxt = 100.0 * float(found.fit.mean()), 100.0 * float(found.balancedness.mean())
        rows.append((label, "ok", fit, fit_mip - fit, nxt, next_mip - nxt))
    notes = (f"{len(calls)} calls x {layers} layers. fit: balancedness on the window the placement was "
             f"computed from, against the MIP optimum for that window (the algorithm's gap); next: on the "
             f"following window, against the MIP optimum for it (an oracle that knows the load the "
             f"programs must predict).",
             f"MIP: time limit {limit_s:g} s per layer, relative gap 1e-4; when not every layer is proven, "
             f"the MIP row is the best placement found and the proven upper bound on next-window "
             f"balancedness is {100.0 * float(np.mean(bound_next)):.3f}%.")
    return BenchTable(title=f"eplb: exact optimum on a small cluster ({cluster.label()})",
                      columns=("program", "status", "fit %", "gap to MIP (fit) pp", "next %",
                               "gap to MIP (next) pp"),
                      rows=tuple(rows), notes=notes)
