"""The trusted txn evaluator: builds the workload splits, hands the sandbox one call per workload,
checks each call's time against the budget, validates every returned order and recomputes the
makespan with its own simulator (``txn_sim`` imported here, never the candidate's copy).

Metrics shown to the LLM: ``vs_smf_pct`` (the selection score: mean over workloads of
100 * (makespan / SMF mean makespan - 1); negative beats SMF), ``max_vs_smf_pct``,
``gap_to_lb_pct`` (mean 100 * (makespan / lower bound - 1)), per-family ``vs_smf_pct_<family>``,
``mean_call_ms`` and ``max_budget_used_pct``. Holdout feedback carries aggregates only. This module
does not run candidates (see ``adrs.sandbox``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from adrs.config import ConfigError
from adrs.evaluation import Contract, EvalResult, Objective
from adrs.sdk import check_disjoint

from .reference import References, load_references
from .validate import InvalidOrder, parse_order
from .workloads import Batch, SetSpec, generate_set, parse_set_spec

SPLITS = ("train", "validation", "holdout")
SIM_SOURCE = Path(__file__).with_name("txn_sim.py")
_WORST_SHOWN = 3


@dataclass(frozen=True)
class Budget:
    """Wall time per ``schedule`` call: ``ms_per_txn`` per transaction; a call longer than that plus
    ``slack_s`` makes the answer invalid."""

    ms_per_txn: float = 5.0
    slack_s: float = 0.1

    def seconds(self, n: int) -> float:
        return self.ms_per_txn * n / 1000.0

    def allowed(self, n: int) -> float:
        return self.seconds(n) + self.slack_s


@dataclass(frozen=True)
class Settings:
    specs: dict[str, SetSpec]
    budget: Budget
    smf_seeds: int


class TxnEvaluator:
    """Evaluator for transaction scheduling (makespan) over seeded workload splits."""

    entry = "schedule"
    adapter = "txn_sim:make_workload"
    contract = Contract("schedule", ("workload",), "schedule(workload) -> permutation of 0..n-1")
    objectives = (
        Objective("vs_smf_pct", "minimize", selection=True,
                  description="mean % makespan above the SMF mean (negative beats SMF)"),
        Objective("gap_to_lb_pct", "minimize", description="mean % makespan above the lower bound"),
        Objective("mean_call_ms", "minimize", description="wall time per schedule() call"),
    )

    def __init__(self, settings: Settings, cache_dirs: Sequence[Path]) -> None:
        self.budget = settings.budget
        self.smf_seeds = settings.smf_seeds
        self.specs = settings.specs
        self.cache_dirs = list(cache_dirs)
        self.batches = {split: generate_set(spec) for split, spec in self.specs.items()}
        check_disjoint(self.batches, "workload")
        self.support = {"txn_sim.py": SIM_SOURCE.read_text()}
        self._references: dict[str, References] = {}

    def _split(self, split: str) -> list[Batch]:
        if split not in self.batches:
            raise KeyError(f"unknown split {split!r}; expected one of {', '.join(self.batches)}")
        return self.batches[split]

    def calls(self, split: str) -> list[dict[str, np.ndarray]]:
        """Per workload: flat ``kinds``, ``keys``, ``offsets`` arrays and the ``budget_s`` scalar."""
        return [call_for(batch, self.budget.seconds(batch.n)) for batch in self._split(split)]

    def call_time_limits(self, split: str) -> list[float]:
        """The sandbox stops a call at twice its budget plus slack (timed by the parent process);
        a call between once and twice that is scored invalid with the reason (``makespans``)."""
        return [2 * self.budget.allowed(batch.n) for batch in self._split(split)]

    def references(self, split: str) -> References:
        if split not in self._references:
            self._references[split] = load_references(split, self.specs[split], self._split(split),
                                                      self.smf_seeds, self.cache_dirs)
        return self._references[split]

    def makespans(self, batches: Sequence[Batch], outputs: Sequence[Any],
                  call_times_s: Sequence[float]) -> tuple[list[int], list[str]]:
        """Trusted makespan of each valid answer, and a message per invalid one."""
        values, errors = [], []
        for index, (batch, output) in enumerate(zip(batches, outputs, strict=True)):
            where = f"workload {index} ({batch.label()})"
            took = float(call_times_s[index]) if index < len(call_times_s) else 0.0
            if took > self.budget.allowed(batch.n):
                errors.append(f"{where}: the call took {took:.3f} s, over the budget of "
                              f"{self.budget.seconds(batch.n):.3f} s (+{self.budget.slack_s:g} s slack); "
                              f"check time.perf_counter() against workload.budget_s")
                continue
            try:
                order = parse_order(output, batch.n)
            except InvalidOrder as err:
                errors.append(f"{where}: {err}")
                continue
            values.append(batch.workload.makespan(order))
        return values, errors

    def score(self, split: str, outputs: Sequence[Any], call_times_s: Sequence[float]) -> EvalResult:
        batches = self._split(split)
        runtime_s = float(sum(call_times_s))
        if not isinstance(outputs, Sequence) or len(outputs) != len(batches):
            got = len(outputs) if isinstance(outputs, Sequence) else type(outputs).__name__
            return EvalResult.failure("invalid", f"expected {len(batches)} results (one order per "
                                      f"workload), got {got}", runtime_s)
        values, errors = self.makespans(batches, outputs, call_times_s)
        if errors:
            more = (f"\n({len(errors) - _WORST_SHOWN} more workloads invalid)"
                    if len(errors) > _WORST_SHOWN else "")
            return EvalResult.failure("invalid", f"{len(errors)} of {len(batches)} answers are invalid:\n"
                                      + "\n".join(errors[:_WORST_SHOWN]) + more, runtime_s)
        return summarize(split, batches, np.asarray(values, dtype=np.float64), self.references(split),
                         call_times_s, [self.budget.seconds(b.n) for b in batches])


def call_for(batch: Batch, budget_s: float) -> dict[str, np.ndarray]:
    return {"kinds": batch.kinds, "keys": batch.keys, "offsets": batch.offsets,
            "budget_s": np.float64(budget_s)}


def summarize(split: str, batches: Sequence[Batch], makespans: np.ndarray, refs: References,
              call_times_s: Sequence[float], budgets_s: Sequence[float]) -> EvalResult:
    smf = np.asarray(refs.smf_mean, dtype=np.float64)
    lb = np.asarray(refs.lower_bound, dtype=np.float64)
    vs_smf = 100.0 * (makespans / smf - 1.0)
    gap_lb = 100.0 * (makespans / lb - 1.0)
    times = np.asarray(call_times_s, dtype=np.float64)
    metrics = {
        "vs_smf_pct": float(vs_smf.mean()),
        "max_vs_smf_pct": float(vs_smf.max()),
        "gap_to_lb_pct": float(gap_lb.mean()),
        "workloads": float(len(batches)),
        "mean_call_ms": 1000.0 * float(times.mean()) if times.size else 0.0,
        "max_budget_used_pct": float(100.0 * np.max(times / np.asarray(budgets_s))) if times.size else 0.0,
    }
    families = sorted({b.family for b in batches})
    if len(families) > 1:
        for family in families:
            mask = np.array([b.family == family for b in batches])
            metrics[f"vs_smf_pct_{family}"] = float(vs_smf[mask].mean())
    private = {"total_makespan": float(makespans.sum()), "total_smf": float(smf.sum()),
               "total_lower_bound": float(lb.sum())}
    lines = [f"All {len(batches)} orders valid. Makespan vs the mean of SMF (shortest makespan "
             f"first, k=10): {metrics['vs_smf_pct']:+.2f}% on average (worst "
             f"{metrics['max_vs_smf_pct']:+.2f}%); lower is better, negative beats SMF. Mean gap to "
             f"the lower bound: {metrics['gap_to_lb_pct']:.1f}%."]
    if split != "holdout":
        if len(families) > 1:
            lines.append("By family: " + ", ".join(
                f"{f}: {metrics[f'vs_smf_pct_{f}']:+.2f}%" for f in families) + ".")
        worst = np.argsort(-vs_smf)[:_WORST_SHOWN]
        lines.append("Worst workloads: " + "; ".join(
            f"{i} ({batches[i].label()}): makespan {int(makespans[i])} vs SMF {smf[i]:.1f} "
            f"({vs_smf[i]:+.1f}%)" for i in worst) + ".")
    lines.append(f"Mean time per call {metrics['mean_call_ms']:.1f} ms; at most "
                 f"{metrics['max_budget_used_pct']:.0f}% of a call's budget used.")
    return EvalResult(status="ok", score=metrics["vs_smf_pct"], metrics=metrics, private_metrics=private,
                      feedback="\n".join(lines), runtime_s=float(times.sum()))


def parse_settings(raw: Mapping[str, Any], where: str = "instances") -> Settings:
    """Read problem.yaml's ``instances:``: the three splits, ``budget`` and ``smf_seeds``."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a mapping of splits")
    allowed = set(SPLITS) | {"budget", "smf_seeds"}
    unknown = sorted(set(raw) - allowed)
    missing = [s for s in SPLITS if s not in raw]
    if unknown or missing:
        raise ConfigError(f"{where}: expected the splits {', '.join(SPLITS)} (plus budget, smf_seeds)"
                          + (f"; unknown: {', '.join(map(str, unknown))}" if unknown else "")
                          + (f"; missing: {', '.join(missing)}" if missing else ""))
    budget_raw = raw.get("budget") or {}
    if not isinstance(budget_raw, Mapping) or set(budget_raw) - {"ms_per_txn", "slack_s"}:
        raise ConfigError(f"{where}.budget: expected a mapping with ms_per_txn and slack_s")
    try:
        budget = Budget(**{k: float(v) for k, v in budget_raw.items()})
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{where}.budget: {err}") from err
    if budget.ms_per_txn <= 0 or budget.slack_s < 0:
        raise ConfigError(f"{where}.budget: ms_per_txn must be > 0 and slack_s >= 0")
    seeds = raw.get("smf_seeds", 5)
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ConfigError(f"{where}.smf_seeds: expected an integer >= 1, got {seeds!r}")
    specs = {split: parse_set_spec(raw[split], f"{where}.{split}") for split in SPLITS}
    return Settings(specs, budget, seeds)
