"""Which model of an ensemble answers the next prompt, and why (the reason is stored per call).

Two policies over the models a caller offers (those whose circuit breaker allows a call):
- weights: a draw with probability proportional to each model's ``weight`` (from the prompt's seed,
  so a replay with the same seed asks the same models);
- bandit: cost-aware UCB. A model's value is its improvement rate per dollar, (children better than
  their parent / outcomes) / (mean cost per call), normalized by the best model's value to [0, 1];
  the index adds ``exploration * sqrt(ln N / n)`` over the calls started. Models never tried come
  first. Children cost nothing when a model is free (local), so a free model that improves wins.
It does not call models and does not judge children: the loop reports each child's outcome.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from adrs.config import ModelConfig

COST_FLOOR_USD = 1e-6  # cost per call assumed for free models (improvements per dollar stay finite)


@dataclass
class Arm:
    """What the ensemble knows about one model."""

    started: int = 0  # calls started (counted for exploration even before their outcome is known)
    calls: int = 0  # calls finished with a reply
    cost_usd: float = 0.0
    outcomes: int = 0  # children judged
    improved: int = 0  # children better than their parent

    def cost_per_call(self) -> float:
        return self.cost_usd / self.calls if self.calls else 0.0

    def value(self) -> float | None:
        """Improvements per dollar; None before the first outcome."""
        if not self.outcomes:
            return None
        return (self.improved / self.outcomes) / max(self.cost_per_call(), COST_FLOOR_USD)


@dataclass(frozen=True)
class Choice:
    index: int  # into the ensemble
    reason: str


class Ensemble:
    def __init__(self, models: Sequence[ModelConfig], bandit: bool = False,
                 exploration: float = 0.5) -> None:
        if not models:
            raise ValueError("an ensemble needs at least one model")
        self.models = tuple(models)
        self.bandit = bandit
        self.exploration = exploration
        self.arms = [Arm() for _ in self.models]

    def index_of(self, model: str) -> int | None:
        return next((i for i, m in enumerate(self.models) if m.model == model), None)

    def choose(self, available: Sequence[int], rng: random.Random) -> Choice:
        """Pick one of the ``available`` model indices and say why."""
        if not available:
            raise ValueError("no model available")
        if len(self.models) == 1:
            return Choice(available[0], "the only model")
        if self.bandit:
            return self._ucb(available)
        return self._draw(available, rng)

    def started(self, index: int) -> None:
        self.arms[index].started += 1

    def record_call(self, index: int, cost_usd: float) -> None:
        arm = self.arms[index]
        arm.calls += 1
        arm.cost_usd += cost_usd

    def record_outcome(self, index: int, improved: bool) -> None:
        arm = self.arms[index]
        arm.outcomes += 1
        arm.improved += int(improved)

    def shares(self) -> list[float]:
        """Fraction of the calls started so far that went to each model."""
        total = sum(arm.started for arm in self.arms)
        return [arm.started / total if total else 0.0 for arm in self.arms]

    def _draw(self, available: Sequence[int], rng: random.Random) -> Choice:
        weights = [self.models[i].weight for i in available]
        total = sum(weights)
        if total <= 0:  # only zero-weight models left (the others are paused): uniform
            weights, total = [1.0] * len(available), float(len(available))
        index = rng.choices(list(available), weights=weights)[0]
        share = self.models[index].weight / total if total else 0.0
        return Choice(index, f"weights: drawn with p={share:.2f} among "
                             f"{len(available)} available model(s)")

    def _ucb(self, available: Sequence[int]) -> Choice:
        untried = [i for i in available if self.arms[i].started == 0]
        if untried:
            index = max(untried, key=lambda i: self.models[i].weight)
            return Choice(index, "bandit: not tried yet")
        values = {i: self.arms[i].value() for i in available}
        known = [v for v in values.values() if v is not None]
        top = max(known, default=0.0)
        total = sum(self.arms[i].started for i in available)
        scores: dict[int, tuple[float, float, float]] = {}
        for i in available:
            value = values[i]
            # no outcome yet: as good as the best model (optimism in the face of uncertainty)
            normalized = 1.0 if value is None else (value / top if top > 0 else 0.0)
            bonus = self.exploration * math.sqrt(math.log(max(total, 2)) / self.arms[i].started)
            scores[i] = (normalized + bonus, normalized, bonus)
        index = max(available, key=lambda i: (scores[i][0], self.models[i].weight, -i))
        arm = self.arms[index]
        ucb, normalized, bonus = scores[index]
        others = sorted((s[0], self.models[i].model) for i, s in scores.items() if i != index)
        runner = f"; next {others[-1][1]} {others[-1][0]:.2f}" if others else ""
        return Choice(index, f"bandit: UCB {ucb:.2f} = value {normalized:.2f} ({arm.improved}/"
                             f"{arm.outcomes} improved, ${arm.cost_per_call():.6f}/call) + explore "
                             f"{bonus:.2f}{runner}")
