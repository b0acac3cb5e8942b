"""A run next to its controls: runs of the same problem and proposer grouped by search strategy
(evolve, best-of-n, random-restart) and budget, with the best, mean and spread over seeds.

Each run contributes its best program's validation score when one is stored (``adrs run`` stores
it at the end; ``adrs best`` computes it), else its best train score (marked). This module only
reads run records and computes statistics; it evaluates nothing.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from adrs.db import reader as rd


@dataclass(frozen=True)
class RunOutcome:
    run_id: str
    problem: str
    proposer: str
    strategy: str
    budget: int
    seed: int
    direction: str
    train: float | None  # best train score
    validation: float | None  # that program's validation score, if stored

    @property
    def score(self) -> float | None:
        return self.validation if self.validation is not None else self.train


@dataclass(frozen=True)
class StrategyStats:
    strategy: str
    budget: int
    runs: tuple[RunOutcome, ...]
    split: str  # "validation" when every run has one stored, else "train"
    best: float | None
    mean: float | None
    sd: float | None  # sample standard deviation (0 for one run)

    def to_dict(self) -> dict[str, object]:
        return {"strategy": self.strategy, "budget": self.budget, "split": self.split,
                "best": self.best, "mean": self.mean, "sd": self.sd,
                "runs": [{"run": r.run_id, "seed": r.seed, "score": self.value(r)} for r in self.runs]}

    def value(self, run: RunOutcome) -> float | None:
        return run.validation if self.split == "validation" else run.train


def outcome(reader: rd.Reader, run: rd.RunRecord) -> RunOutcome:
    evolution = (run.config or {}).get("evolution", {})
    top = rd.best_program(reader, run)
    validation = None
    if top is not None:
        validation = next((e.score for e in rd.evaluations(reader, run.id, "validation")
                           if e.program_id == top.id and e.status == "ok"), None)
    return RunOutcome(run.id, run.problem, run.proposer, evolution.get("strategy", "evolve"),
                      int(evolution.get("budget", 0)), run.seed, run.direction,
                      top.score if top else None, validation)


def stats(strategy: str, budget: int, runs: Sequence[RunOutcome]) -> StrategyStats:
    split = "validation" if all(r.validation is not None for r in runs) else "train"
    values = [v for v in ((r.validation if split == "validation" else r.train) for r in runs)
              if v is not None]
    minimize = not runs or runs[0].direction == "minimize"
    best = (min(values) if minimize else max(values)) if values else None
    mean = statistics.fmean(values) if values else None
    sd = statistics.stdev(values) if len(values) > 1 else (0.0 if values else None)
    return StrategyStats(strategy, budget, tuple(runs), split, best, mean, sd)


def controls_of(target: RunOutcome, candidates: Iterable[RunOutcome]) -> list[StrategyStats]:
    """The target's group and its controls: runs of the same problem and proposer, per strategy
    and budget, the target's own group first."""
    groups: dict[tuple[str, int], list[RunOutcome]] = {}
    for r in candidates:
        if r.problem == target.problem and r.proposer == target.proposer:
            groups.setdefault((r.strategy, r.budget), []).append(r)
    own = (target.strategy, target.budget)
    order = sorted(groups, key=lambda k: (k != own, k))
    return [stats(s, b, sorted(groups[(s, b)], key=lambda r: r.seed)) for s, b in order]


def verdict(groups: Sequence[StrategyStats]) -> str:
    """Does evolve beat every control of the same budget by more than the spreads (mean ± sd)?"""
    evolve = [g for g in groups if g.strategy == "evolve" and g.mean is not None]
    if not evolve:
        return "no evolve runs to compare"
    ev = evolve[0]
    others = [g for g in groups if g.strategy != "evolve" and g.budget == ev.budget and g.mean is not None]
    if not others:
        return "no control runs with the same budget (adrs run --strategy best-of-n / random-restart)"
    minimize = ev.runs[0].direction == "minimize"
    lines = []
    for g in others:
        margin = (g.mean - ev.mean) if minimize else (ev.mean - g.mean)  # type: ignore[operator]
        spread = (ev.sd or 0.0) + (g.sd or 0.0)
        if margin > spread:
            lines.append(f"evolve beats {g.strategy} by {margin:.3f}, more than the spreads ({spread:.3f})")
        elif margin > 0:
            lines.append(f"evolve is better than {g.strategy} by {margin:.3f} on average, but not by "
                         f"more than the spreads ({spread:.3f}): not a clear win")
        else:
            lines.append(f"evolve does NOT beat {g.strategy} (mean difference {margin:.3f})")
    return "; ".join(lines)
