"""The trusted SMTT evaluator: builds the instance splits, hands the sandbox one call per instance,
validates every returned job order and recomputes total tardiness and the gap to the reference.

Metrics shown to the LLM: ``mean_gap_pct`` (the selection score: mean over instances with a positive
reference of 100*(T-R)/R), ``max_gap_pct``, per-size mean gaps when a split mixes sizes, instances
whose reference is 0 (``zero_ref_*``) and ``mean_call_ms``. A call slower than the per-instance cap
``max_call_s`` (problem.yaml ``instances.max_call_s``) makes the evaluation invalid, naming the
instance; a call still running at the cap is stopped there by the sandbox's parent
(``call_time_limits``: status timeout, naming the call and the cap). Reference values and
schedules never appear in metrics or feedback; holdout feedback carries aggregates only. This
module does not run candidates (see ``adrs.sandbox``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from adrs.config import ConfigError
from adrs.evaluation import EvalResult
from adrs.sdk import check_disjoint

from .generator import Instance, SetSpec, generate_set, parse_set_spec
from .reference import load_references
from .tardiness import total_tardiness
from .validate import InvalidSchedule, parse_schedule

SPLITS = ("train", "validation", "holdout")
OPTION_KEYS = ("max_call_s", "bench")  # evaluator options next to the splits in ``instances:``
DEFAULT_MAX_CALL_S = 1.0
_WORST_SHOWN = 3


class SMTTEvaluator:
    """Evaluator for 1||sum Tj over seeded train / validation / holdout instance sets."""

    entry = "schedule"

    def __init__(self, specs: Mapping[str, SetSpec], cache_dirs: Sequence[Path],
                 max_call_s: float = DEFAULT_MAX_CALL_S) -> None:
        self.specs = dict(specs)
        self.max_call_s = float(max_call_s)
        self.cache_dirs = list(cache_dirs)
        self.instances = {split: generate_set(spec) for split, spec in self.specs.items()}
        check_disjoint(self.instances)
        self._references: dict[str, np.ndarray] = {}

    def _split(self, split: str) -> list[Instance]:
        if split not in self.instances:
            raise KeyError(f"unknown split {split!r}; expected one of {', '.join(self.instances)}")
        return self.instances[split]

    def calls(self, split: str) -> list[dict[str, np.ndarray]]:
        """One ``{"p": ..., "d": ...}`` (read-only int64 arrays) per instance of ``split``."""
        return [{"p": inst.p, "d": inst.d} for inst in self._split(split)]

    def call_time_limits(self, split: str) -> list[float]:
        """The per-instance cap for every call: the sandbox stops a call still running at it."""
        return [self.max_call_s] * len(self._split(split))

    def references(self, split: str) -> np.ndarray:
        """Reference total tardiness per instance (loaded from the cache or computed once)."""
        if split not in self._references:
            values = load_references(split, self.specs[split], self._split(split), self.cache_dirs)
            self._references[split] = np.asarray(values, dtype=np.int64)
        return self._references[split]

    def score(self, split: str, outputs: Sequence[Any], call_times_s: Sequence[float]
              ) -> EvalResult:
        instances = self._split(split)
        runtime_s = float(sum(call_times_s))
        if not isinstance(outputs, Sequence) or len(outputs) != len(instances):
            got = len(outputs) if isinstance(outputs, Sequence) else type(outputs).__name__
            return EvalResult.failure("invalid", f"expected {len(instances)} results (one per "
                                      f"instance), got {got}", runtime_s)
        slow = slow_calls(call_times_s, self.max_call_s)
        if slow:
            return EvalResult.failure("invalid", describe_slow(slow, instances, self.max_call_s,
                                                               split != "holdout"), runtime_s)
        totals, errors = [], []
        for index, (instance, output) in enumerate(zip(instances, outputs, strict=True)):
            try:
                order = parse_schedule(output, instance.n)
            except InvalidSchedule as err:
                errors.append(f"instance {index} ({instance.label()}): {err}")
                continue
            totals.append(total_tardiness(instance.p, instance.d, order))
        if errors:
            more = (f"\n({len(errors) - _WORST_SHOWN} more instances invalid)"
                    if len(errors) > _WORST_SHOWN else "")
            return EvalResult.failure(
                "invalid", f"{len(errors)} of {len(instances)} schedules are invalid:\n"
                + "\n".join(errors[:_WORST_SHOWN]) + more, runtime_s)
        return summarize(split, instances, np.asarray(totals, dtype=np.int64),
                         self.references(split), call_times_s)


def slow_calls(call_times_s: Sequence[float], max_call_s: float) -> list[tuple[int, float]]:
    """(index, seconds) of every call that took longer than ``max_call_s``."""
    return [(i, float(t)) for i, t in enumerate(call_times_s) if t > max_call_s]


def describe_slow(slow: Sequence[tuple[int, float]], instances: Sequence[Instance],
                  max_call_s: float, name_instances: bool = True) -> str:
    """Feedback for calls over the per-instance time cap (instance labels unless holdout)."""
    shown = "; ".join(f"instance {i}" + (f" ({instances[i].label()})" if name_instances else "")
                      + f": {t:.2f} s" for i, t in slow[:_WORST_SHOWN])
    more = f" and {len(slow) - _WORST_SHOWN} more" if len(slow) > _WORST_SHOWN else ""
    return (f"{len(slow)} of {len(instances)} calls exceeded the per-instance time cap of "
            f"{max_call_s:g} s: {shown}{more}. Make schedule() faster (fewer improvement passes, "
            f"vectorised move evaluation).")


def summarize(split: str, instances: Sequence[Instance], totals: np.ndarray, refs: np.ndarray,
              call_times_s: Sequence[float]) -> EvalResult:
    """Metrics and feedback for valid schedules with total tardiness ``totals``."""
    positive = refs > 0
    gaps = np.full(len(refs), np.nan)
    gaps[positive] = 100.0 * (totals[positive] - refs[positive]) / refs[positive]
    zero = ~positive
    missed = zero & (totals > 0)
    mean_gap = float(np.mean(gaps[positive])) if positive.any() else 0.0
    metrics = {
        "mean_gap_pct": mean_gap,
        "max_gap_pct": float(np.max(gaps[positive])) if positive.any() else 0.0,
        "instances": float(len(instances)),
        "zero_ref_instances": float(zero.sum()),
        "zero_ref_missed": float(missed.sum()),
        "zero_ref_mean_tardiness": float(totals[zero].mean()) if zero.any() else 0.0,
        "mean_call_ms": 1000.0 * float(np.mean(call_times_s)) if len(call_times_s) else 0.0,
    }
    sizes = np.array([inst.n for inst in instances])
    if len(set(sizes.tolist())) > 1:
        for n in sorted(set(sizes.tolist())):
            mask = positive & (sizes == n)
            if mask.any():
                metrics[f"mean_gap_pct_n{n}"] = float(np.mean(gaps[mask]))
    private = {
        "total_tardiness": float(totals.sum()),
        "total_reference": float(refs.sum()),
        "better_than_reference": float(np.sum(totals < refs)),
    }
    feedback = describe(split, instances, totals, gaps, missed, metrics)
    return EvalResult(status="ok", score=mean_gap, metrics=metrics, private_metrics=private,
                      feedback=feedback, runtime_s=float(sum(call_times_s)))


def describe(split: str, instances: Sequence[Instance], totals: np.ndarray, gaps: np.ndarray,
             missed: np.ndarray, metrics: Mapping[str, float]) -> str:
    """Short LLM-readable summary; per-instance details only outside the holdout split."""
    counted = int(np.sum(~np.isnan(gaps)))
    lines = [f"All {len(instances)} schedules valid. Mean gap to the reference total tardiness: "
             f"{metrics['mean_gap_pct']:.2f}% over {counted} instances (max "
             f"{metrics['max_gap_pct']:.2f}%); lower is better, negative beats the reference."]
    zero, zero_missed = int(metrics["zero_ref_instances"]), int(metrics["zero_ref_missed"])
    if zero:
        lines.append(f"{zero} instances admit a schedule with no tardy job; yours had tardy jobs "
                     f"on {zero_missed} of them.")
    if split != "holdout":
        by_tf = {}
        for tf in sorted({inst.tf for inst in instances}):
            mask = np.array([inst.tf == tf for inst in instances]) & ~np.isnan(gaps)
            if mask.any():
                by_tf[tf] = float(np.mean(gaps[mask]))
        lines.append("Mean gap by tardiness factor TF: "
                     + ", ".join(f"TF={tf:.1f}: {gap:.2f}%" for tf, gap in by_tf.items()) + ".")
        worst = [int(i) for i in np.argsort(-np.nan_to_num(gaps, nan=-np.inf))[:_WORST_SHOWN]
                 if not np.isnan(gaps[i]) and gaps[i] > 0]
        if worst:
            lines.append("Largest gaps: " + "; ".join(
                f"instance {i} ({instances[i].label()}): {gaps[i]:.2f}%" for i in worst) + ".")
        late = np.flatnonzero(missed)[:_WORST_SHOWN]
        if late.size:
            lines.append("Tardy although avoidable: " + "; ".join(
                f"instance {i} ({instances[i].label()}): total tardiness {totals[i]}"
                for i in late) + ".")
    lines.append(f"Mean time per call: {metrics['mean_call_ms']:.1f} ms.")
    return "\n".join(lines)


def parse_instance_specs(raw: Mapping[str, Any], where: str = "instances") -> dict[str, SetSpec]:
    """Read the ``instances:`` mapping of problem.yaml: one set spec per split, all three given."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a mapping of splits")
    unknown = sorted(set(raw) - set(SPLITS) - set(OPTION_KEYS))
    missing = [s for s in SPLITS if s not in raw]
    if unknown or missing:
        raise ConfigError(f"{where}: expected the splits {', '.join(SPLITS)} (and optionally "
                          f"{', '.join(OPTION_KEYS)})"
                         + (f"; unknown: {', '.join(map(str, unknown))}" if unknown else "")
                         + (f"; missing: {', '.join(missing)}" if missing else ""))
    return {split: parse_set_spec(raw[split], f"{where}.{split}") for split in SPLITS}


def parse_max_call_s(raw: Mapping[str, Any], where: str = "instances") -> float:
    """``instances.max_call_s``: the per-instance time cap in seconds (default 1 s)."""
    value = raw.get("max_call_s", DEFAULT_MAX_CALL_S) if isinstance(raw, Mapping) else None
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigError(f"{where}.max_call_s: expected a positive number of seconds, got {value!r}")
    return float(value)
