"""Pareto fronts over several declared objectives (e.g. eplb: balancedness up, rebalance time down).

A problem that declares two or more front objectives (``objective.front`` in problem.yaml) keeps,
per island, the front of its correct programs: those no other program beats on every objective.
Parents come from that front instead of a score tournament. Programs with the same objective vector
as an older one are dropped (as with equal scores in ``adrs.selection``). Pure functions, no I/O.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from adrs.errors import ConfigError
from adrs.program import ProgramView


@dataclass(frozen=True)
class FrontObjective:
    metric: str
    direction: str  # "minimize" | "maximize"

    def value(self, metrics: Mapping[str, Any]) -> float | None:
        """The metric as "larger is better", or None when the program lacks it."""
        raw = metrics.get(self.metric)
        if not isinstance(raw, int | float) or isinstance(raw, bool):
            return None
        return -float(raw) if self.direction == "minimize" else float(raw)


def vector(program: ProgramView | Any, objectives: Sequence[FrontObjective]) -> tuple[float, ...] | None:
    """The program's objective vector (larger is better), or None if it is not correct or lacks
    an objective."""
    if program.status != "ok":
        return None
    values = tuple(o.value(program.metrics) for o in objectives)
    return None if any(v is None for v in values) else values  # type: ignore[return-value]


def dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    """a is at least as good as b everywhere and better somewhere."""
    return all(x >= y for x, y in zip(a, b, strict=True)) and any(x > y for x, y in zip(a, b, strict=True))


def pareto_front(programs: Sequence[Any], objectives: Sequence[FrontObjective]) -> list[Any]:
    """The non-dominated correct programs, oldest first (one per objective vector)."""
    firsts: dict[tuple[float, ...], Any] = {}
    for p in sorted(programs, key=lambda p: p.seq):
        v = vector(p, objectives)
        if v is not None:
            firsts.setdefault(v, p)
    return [p for v, p in firsts.items() if not any(dominates(w, v) for w in firsts if w != v)]


def select_from_front(pool: Sequence[ProgramView], objectives: Sequence[FrontObjective],
                      rng: random.Random) -> ProgramView | None:
    """A parent drawn uniformly from the pool's front (None when no program has every objective)."""
    front = pareto_front(pool, objectives)
    return rng.choice(front) if front else None


def parse_front(raw: Any, where: str) -> tuple[FrontObjective, ...]:
    """``objective.front`` of a problem.yaml: a mapping metric -> minimize | maximize."""
    if raw is None:
        return ()
    if not isinstance(raw, dict) or len(raw) < 2:
        raise ConfigError(f"{where}: objective.front must map at least two metrics to "
                          f"'minimize' or 'maximize', got {raw!r}")
    out = []
    for metric, direction in raw.items():
        if direction not in ("minimize", "maximize"):
            raise ConfigError(f"{where}: objective.front.{metric}: expected 'minimize' or "
                              f"'maximize', got {direction!r}")
        out.append(FrontObjective(str(metric), direction))
    return tuple(out)
