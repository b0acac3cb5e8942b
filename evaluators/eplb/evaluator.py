"""The trusted EPLB evaluator: traces per split, one call per window, validated placements, metrics.

For every trace of a split and every window i but the last, the candidate's ``rebalance_experts``
gets ``weight`` = window i's load [layers, experts] and the cluster sizes; its placement is validated
(``placement``) and scored on window i+1 (prediction) with GPU loads recomputed from ``phy2log``
(``simulator``). Rebalance time is the sandbox's per-call time (the candidate's call only, one
thread), averaged over the calls. No input is ever repeated or transformed: every timed run is its
own window, cold, and its placement is scored, so a cache keyed on the load in any form (scaled,
permuted, hashed) never hits. ``calls`` starts with one warm-up call on random loads (different
per split), which is neither timed nor scored.

Metrics shown to the LLM: ``score`` (the selection objective, see ``Scoring``), ``balancedness_pct``
(mean over calls of next-window balancedness, %), ``rebalance_ms`` (mean per-call time),
``fit_balancedness_pct`` (on the window the placement was computed from), ``worst_balancedness_pct``,
``group_nodes`` (mean number of nodes a group's experts are spread over) and per-trace balancedness
outside holdout. The upper bound on balancedness and the gap to it are private metrics. This module
does not run candidates (see ``adrs.sandbox``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from adrs.config import ConfigError, check_keys
from adrs.evaluation import Contract, EvalResult, Objective

from .cluster import Cluster, parse_cluster
from .placement import InvalidPlacement, parse_placement
from .published import expert_balancedness
from .reference import balancedness_bound
from .simulator import balancedness, gpu_loads, group_spread
from .trace import PROFILES, Trace, TraceError, file_trace, generate_trace

SPLITS = ("train", "validation", "holdout")
WARMUP_CALLS = 1  # calls(split) starts with this many untimed, unscored calls on random loads
_SHOWN_ERRORS = 3


@dataclass(frozen=True)
class Scoring:
    """score = balancedness_pct - time_weight * log2(max(rebalance_ms, time_floor_ms) / time_floor_ms):
    every doubling of the rebalance time above the floor costs ``time_weight`` points of balancedness."""

    time_weight: float = 1.0
    time_floor_ms: float = 1.0

    def score(self, balancedness_pct: float, rebalance_ms: float) -> float:
        slower = max(rebalance_ms, self.time_floor_ms) / self.time_floor_ms
        return balancedness_pct - self.time_weight * math.log2(slower)


@dataclass(frozen=True)
class SplitSpec:
    """Traces of one split: one generated trace per mix (all with ``seed``) plus trace files."""

    seed: int = 0
    layers: int = 58
    windows: int = 4
    window_steps: int = 20
    tokens_per_step: int = 2048
    mixes: tuple[str, ...] = ()
    files: tuple[Path, ...] = ()  # published JSON layout; windows of window_steps steps


@dataclass(frozen=True)
class Call:
    """One call: the placement is computed from ``weight`` and scored on ``scored``."""

    trace: str
    window: int
    weight: np.ndarray  # [layers, experts], window i
    scored: np.ndarray  # [layers, experts], window i+1


@dataclass(frozen=True)
class Assessment:
    """Per-call figures of valid placements."""

    balancedness: np.ndarray  # next window
    fit: np.ndarray  # window the placement was computed from
    bound: np.ndarray  # upper bound on balancedness on the next window
    group_nodes: np.ndarray
    times_s: np.ndarray
    traces: list[str] = field(default_factory=list)
    expert_balancedness: np.ndarray = field(default_factory=lambda: np.zeros(0))  # per slot (theirs)


def traces_calls(traces: Sequence[Trace]) -> list[Call]:
    return [Call(t.name, i, t.windows[i], t.windows[i + 1])
            for t in traces for i in range(t.windows.shape[0] - 1)]


def call_kwargs(call: Call, cluster: Cluster) -> dict[str, np.ndarray]:
    return sized_kwargs(call.weight.copy(), cluster)


def sized_kwargs(weight: np.ndarray, cluster: Cluster) -> dict[str, np.ndarray]:
    return {"weight": weight, "num_replicas": np.int64(cluster.replicas),
            "num_groups": np.int64(cluster.groups), "num_nodes": np.int64(cluster.nodes),
            "num_gpus": np.int64(cluster.gpus)}


def warmup_kwargs(seed: int, layers: int, cluster: Cluster) -> dict[str, np.ndarray]:
    """A throwaway call on uniform random loads (nothing like a trace, different for every seed):
    the first call pays one-off costs such as numpy's lazy initialisation."""
    rng = np.random.default_rng([seed, 0x3A11])
    return sized_kwargs(rng.integers(1, 1000, size=(layers, cluster.experts), dtype=np.int64), cluster)


def with_warmup(kwargs: Sequence[Mapping[str, np.ndarray]], seed: int, cluster: Cluster,
                ) -> list[Mapping[str, np.ndarray]]:
    layers = int(kwargs[0]["weight"].shape[0]) if kwargs else 1
    return [warmup_kwargs(seed, layers, cluster)] * WARMUP_CALLS + list(kwargs)


def without_warmup(outputs: Any, call_times_s: Sequence[float]) -> tuple[Any, list[float]]:
    """The scored outputs and times: those after the warm-up calls."""
    if isinstance(outputs, Sequence) and len(outputs) >= WARMUP_CALLS:
        outputs = list(outputs)[WARMUP_CALLS:]
    return outputs, list(call_times_s)[WARMUP_CALLS:]


def assess(calls: Sequence[Call], cluster: Cluster, outputs: Sequence[Any], call_times_s: Sequence[float],
           ) -> tuple[Assessment | None, list[str]]:
    """Validate every output and measure it; returns (assessment, []) or (None, error messages)."""
    wrong_count = count_error(len(calls), outputs)
    if wrong_count:
        return None, [wrong_count]
    rows, errors = [], []
    for index, (call, output) in enumerate(zip(calls, outputs, strict=True)):
        has_load = (call.weight > 0) | (call.scored > 0)
        try:
            placement = parse_placement(output, cluster, call.weight.shape[0], has_load)
        except InvalidPlacement as err:
            errors.append(f"call {index} (trace {call.trace}, window {call.window}): {err}")
            continue
        loads = gpu_loads(placement.phy2log, placement.counts, call.scored, cluster.slots_per_gpu)
        fit = gpu_loads(placement.phy2log, placement.counts, call.weight, cluster.slots_per_gpu)
        rows.append((balancedness(loads), balancedness(fit), balancedness_bound(call.scored, cluster),
                     group_spread(placement.phy2log, cluster.groups, cluster.experts, cluster.nodes),
                     expert_balancedness(placement.phy2log, placement.counts, call.scored)))
    if errors:
        return None, errors
    table = np.asarray(rows, dtype=float).reshape(len(calls), 5)
    return Assessment(balancedness=table[:, 0], fit=table[:, 1], bound=table[:, 2], group_nodes=table[:, 3],
                      times_s=np.asarray(call_times_s, dtype=float),
                      traces=[c.trace for c in calls], expert_balancedness=table[:, 4]), []


def count_error(n_calls: int, outputs: Any) -> str | None:
    if isinstance(outputs, Sequence) and len(outputs) == n_calls:
        return None
    got = len(outputs) if isinstance(outputs, Sequence) else type(outputs).__name__
    return f"expected {n_calls} results (one per call), got {got}"


def invalid_feedback(errors: Sequence[str], total: int) -> str:
    more = f"\n({len(errors) - _SHOWN_ERRORS} more calls invalid)" if len(errors) > _SHOWN_ERRORS else ""
    return (f"{len(errors)} of {total} placements are invalid:\n" + "\n".join(errors[:_SHOWN_ERRORS])
            + more)


class EPLBEvaluator:
    """Evaluator for expert-parallel load balancing over generated (or file) traces."""

    entry = "rebalance_experts"
    contract = Contract("rebalance_experts",
                        ("weight", "num_replicas", "num_groups", "num_nodes", "num_gpus"),
                        "rebalance_experts(weight, num_replicas, num_groups, num_nodes, num_gpus) -> "
                        "(phy2log, log2phy, logcnt)")
    objectives = (
        Objective("score", "maximize", selection=True, timed=True,
                  description="balancedness_pct - time_weight * log2(rebalance_ms / time_floor_ms)"),
        Objective("balancedness_pct", "maximize", description="next-window GPU balancedness, %"),
        Objective("rebalance_ms", "minimize", timed=True,
                  description="mean time of one call (each window once, cold)"),
        Objective("bound_gap_pp", "minimize", private=True,
                  description="upper bound on balancedness minus balancedness, percentage points"),
    )

    def __init__(self, cluster: Cluster, specs: Mapping[str, SplitSpec], scoring: Scoring) -> None:
        self.cluster = cluster
        self.specs = dict(specs)
        self.scoring = scoring
        self._calls: dict[str, list[Call]] = {}

    def split_calls(self, split: str) -> list[Call]:
        if split not in self.specs:
            raise KeyError(f"unknown split {split!r}; expected one of {', '.join(self.specs)}")
        if split not in self._calls:
            self._calls[split] = traces_calls(build_traces(self.specs[split], self.cluster))
        return self._calls[split]

    def calls(self, split: str) -> list[Mapping[str, np.ndarray]]:
        """The warm-up call, then one call per window but the last of every trace of ``split``."""
        return with_warmup([call_kwargs(call, self.cluster) for call in self.split_calls(split)],
                           self.specs[split].seed, self.cluster)

    def score(self, split: str, outputs: Sequence[Any], call_times_s: Sequence[float]) -> EvalResult:
        calls = self.split_calls(split)
        runtime_s = float(sum(call_times_s))
        outputs, call_times_s = without_warmup(outputs, call_times_s)
        wrong_count = count_error(len(calls), outputs)
        if wrong_count:
            return EvalResult.failure("invalid", wrong_count, runtime_s)
        found, errors = assess(calls, self.cluster, outputs, call_times_s)
        if found is None:
            return EvalResult.failure("invalid", invalid_feedback(errors, len(calls)), runtime_s)
        return summarize(split, found, self.scoring)


def summarize(split: str, found: Assessment, scoring: Scoring) -> EvalResult:
    bal_pct = 100.0 * float(found.balancedness.mean())
    rebalance_ms = 1000.0 * float(found.times_s.mean()) if found.times_s.size else 0.0
    score = scoring.score(bal_pct, rebalance_ms)
    metrics = {
        "score": score,
        "balancedness_pct": bal_pct,
        "rebalance_ms": rebalance_ms,
        "fit_balancedness_pct": 100.0 * float(found.fit.mean()),
        "worst_balancedness_pct": 100.0 * float(found.balancedness.min()),
        "group_nodes": float(found.group_nodes.mean()),
        "calls": float(len(found.balancedness)),
    }
    names = list(dict.fromkeys(found.traces))
    by_trace = {name: 100.0 * float(found.balancedness[[t == name for t in found.traces]].mean())
                for name in names}
    bound_pct = 100.0 * float(found.bound.mean())
    private = {"bound_pct": bound_pct, "bound_gap_pp": bound_pct - bal_pct}
    lines = [f"All {len(found.balancedness)} placements valid. Balancedness on the next window (mean GPU "
             f"load / max GPU load, summed over layers): {bal_pct:.2f}% (worst call "
             f"{metrics['worst_balancedness_pct']:.2f}%); on the window each placement was computed "
             f"from: {metrics['fit_balancedness_pct']:.2f}%.",
             f"Rebalance time: {rebalance_ms:.2f} ms per call (mean over the calls, each timed once). "
             f"Score = balancedness - {scoring.time_weight:g} x log2(time / {scoring.time_floor_ms:g} ms) "
             f"= {score:.3f} (higher is better).",
             f"Expert groups are spread over {metrics['group_nodes']:.2f} nodes on average."]
    if split != "holdout" and len(by_trace) > 1:
        shown = ", ".join(f"{name}: {value:.2f}%" for name, value in by_trace.items())
        lines.append(f"Balancedness by trace: {shown}.")
    return EvalResult(status="ok", score=score, metrics=metrics, private_metrics=private,
                      feedback="\n".join(lines), runtime_s=float(found.times_s.sum()))


def build_traces(spec: SplitSpec, cluster: Cluster) -> list[Trace]:
    traces = [generate_trace(spec.seed, mix, spec.layers, cluster.experts, cluster.groups, spec.windows,
                             spec.window_steps, spec.tokens_per_step) for mix in spec.mixes]
    for path in spec.files:
        try:
            trace = file_trace(path, spec.window_steps)
        except TraceError as err:
            raise ConfigError(str(err)) from None
        if trace.experts != cluster.experts:
            raise ConfigError(f"trace file {path}: {trace.experts} experts per layer, the cluster has "
                              f"{cluster.experts}")
        if trace.windows.shape[0] < 2:
            raise ConfigError(f"trace file {path}: {trace.windows.shape[0]} window(s) of "
                              f"{spec.window_steps} steps; need at least 2")
        traces.append(trace)
    return traces


# --- problem.yaml -------------------------------------------------------------------------------

_SPLIT_KEYS = {"seed", "layers", "windows", "window_steps", "tokens_per_step", "mixes", "files"}


def _int(raw: Mapping[str, Any], key: str, default: int, minimum: int, where: str) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{where}: {key} must be an integer >= {minimum}, got {value!r}")
    return value


def parse_split_spec(raw: Any, where: str, root: Path) -> SplitSpec:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a mapping with {', '.join(sorted(_SPLIT_KEYS))}")
    check_keys(dict(raw), where, _SPLIT_KEYS)
    mixes = raw.get("mixes", [])
    if not isinstance(mixes, list) or any(m not in PROFILES for m in mixes):
        raise ConfigError(f"{where}: mixes must be a list of {', '.join(PROFILES)}, got {mixes!r}")
    files = raw.get("files", [])
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise ConfigError(f"{where}: files must be a list of paths, got {files!r}")
    paths = tuple(p if p.is_absolute() else root / p for p in map(Path, files))
    for path in paths:
        if not path.is_file():
            raise ConfigError(f"{where}: trace file {path} does not exist")
    if not mixes and not paths:
        raise ConfigError(f"{where}: give at least one of mixes or files")
    return SplitSpec(seed=_int(raw, "seed", 0, 0, where), layers=_int(raw, "layers", 58, 1, where),
                     windows=_int(raw, "windows", 4, 2, where),
                     window_steps=_int(raw, "window_steps", 20, 1, where),
                     tokens_per_step=_int(raw, "tokens_per_step", 2048, 1, where),
                     mixes=tuple(mixes), files=paths)


def parse_scoring(raw: Any, where: str = "instances.scoring") -> Scoring:
    raw = raw or {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a mapping {{time_weight, time_floor_ms}}")
    if "timing_repeats" in raw:
        raise ConfigError(f"{where}: timing_repeats is no longer supported: every call is timed once, "
                          f"cold, on its own window (a repeated input, even rescaled, lets a program "
                          f"answer from a cache); for more timed calls raise the splits' windows")
    check_keys(dict(raw), where, {"time_weight", "time_floor_ms"})
    weight, floor = raw.get("time_weight", 1.0), raw.get("time_floor_ms", 1.0)
    for key, value, low in (("time_weight", weight, 0.0), ("time_floor_ms", floor, 1e-9)):
        if isinstance(value, bool) or not isinstance(value, int | float) or value < low:
            raise ConfigError(f"{where}: {key} must be a number >= {low:g}, got {value!r}")
    return Scoring(time_weight=float(weight), time_floor_ms=float(floor))


def parse_instances(raw: Mapping[str, Any], root: Path, where: str = "instances",
                    ) -> tuple[Cluster, dict[str, SplitSpec], Scoring]:
    """Read problem.yaml's ``instances:`` (cluster, scoring and the three splits)."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a mapping")
    check_keys(dict(raw), where, {"cluster", "scoring", *SPLITS})
    missing = [s for s in SPLITS if s not in raw]
    if missing:
        raise ConfigError(f"{where}: missing split(s) {', '.join(missing)}")
    cluster = parse_cluster(raw.get("cluster"), f"{where}.cluster")
    specs = {s: parse_split_spec(raw[s], f"{where}.{s}", root) for s in SPLITS}
    generated = [(s, spec.seed) for s, spec in specs.items() if spec.mixes]
    seeds = [seed for _, seed in generated]
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"{where}: splits {', '.join(s for s, _ in generated)} must use different "
                          f"seeds (seeds {seeds}), so that no trace is shared")
    return cluster, specs, parse_scoring(raw.get("scoring"), f"{where}.scoring")

