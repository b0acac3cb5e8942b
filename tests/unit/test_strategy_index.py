"""Every strategy's index against the scanning definition (``IslandPlanner.plan_scanning``:
``adrs.strategy.choose`` / ``adrs.selection`` / ``adrs.map_elites`` / ``adrs.pareto`` over every
visible program): the same plans for random runs (ties in score, objectives and features, repeated
code, failures, duplicates, missing metrics, ranges that widen), as the visible programs grow, when
they do not extend the previous ones, and for a planner resumed from a stored prefix of the run."""

from __future__ import annotations

import math
import random

import pytest

from adrs.config import EvolutionConfig
from adrs.pareto import FrontObjective
from adrs.plan import IslandPlanner
from adrs.program import EVOLVE_END, EVOLVE_START, ProgramView
from tests.unit.test_island_index import compare_plans, status_and_score

LLM_TEMPLATES = {"diff": 0.4, "rewrite": 0.1, "fix": 0.25, "crossover": 0.25}
FRONT = (FrontObjective("a", "maximize"), FrontObjective("b", "minimize"))


def metric(rng: random.Random, wide: bool) -> float | int | str | None:
    roll = rng.random()
    if roll < 0.08:
        return None  # missing
    if roll < 0.1:
        return "fast"  # not a number: no feature, no objective
    if wide and roll < 0.15:
        return rng.choice([0.0, -2.0, 1e6, rng.uniform(50, 500)])  # widens a range
    if wide and roll < 0.152:
        return rng.choice([math.inf, -math.inf])  # MAP-Elites cannot bin it: ValueError
    return rng.choice([1, 2, 2.5, 3.0, 4, rng.uniform(0, 6)])


def random_run(rng: random.Random, count: int, islands: int, nan: bool) -> list[ProgramView]:
    programs = []
    for seq in range(count):
        status, score = status_and_score(rng, seq)
        if nan and rng.random() < 0.03:
            score = math.nan
        metrics = {k: v for k in ("a", "b", "c") if (v := metric(rng, wide=k != "b")) is not None}
        if nan and rng.random() < 0.03:
            metrics["a"] = math.nan
        body = "x = 1\n" * rng.choice([1, 2, 3, 5, 8, 40 if rng.random() < 0.1 else 2])
        code = f"# {EVOLVE_START}\n{body}# {EVOLVE_END}\n# v{rng.randrange(count // 3 + 1)}\n"
        island = rng.randrange(islands + (rng.random() < 0.05)) if seq else 0
        programs.append(ProgramView(id=1000 + seq, code=code, status=status, score=score,
                                    seq=seq, island=island, metrics=metrics))
    return programs


def configs(rng: random.Random, case: int) -> dict[str, EvolutionConfig]:
    common = dict(islands=rng.choice([1, 2, 3]), migration_interval=rng.choice([0, 1, 3, 7, 40]),
                  tournament_size=rng.choice([1, 2, 3, 5]), seed=case,
                  elite_probability=rng.choice([0.0, 0.3, 0.6, 1.0]),
                  inspirations=rng.choice([0, 1, 2, 3]))
    return {"islands+front": EvolutionConfig(**common),
            "map-elites": EvolutionConfig(**common, population="map-elites",
                                          map_elites_axes=rng.choice(["a", "a, code_length",
                                                                      "code_length", "c, a"]),
                                          map_elites_bins=rng.choice([1, 2, 3, 6, 1100])),
            "best-of-n": EvolutionConfig(**common, strategy="best-of-n"),
            "random-restart": EvolutionConfig(**common, strategy="random-restart",
                                              restart_every=rng.choice([1, 3, 10, 50, 1000]))}


@pytest.mark.parametrize("strategy", ["islands+front", "map-elites", "best-of-n", "random-restart"])
@pytest.mark.parametrize("case", range(40))
def test_indexed_plans_equal_the_scanning_plans(strategy: str, case: int) -> None:
    rng = random.Random(f"{strategy}:{case}")
    evolution = configs(rng, case)[strategy]
    fitness = rng.choice([lambda s: s, lambda s: -s, lambda s: s if math.isnan(s) else round(s)])
    templates = rng.choice([{}, LLM_TEMPLATES, LLM_TEMPLATES])
    front = FRONT if strategy == "islands+front" else ()
    planner = IslandPlanner(evolution, fitness, templates, front)
    programs = random_run(rng, rng.choice([rng.randint(2, 90), rng.randint(100, 300)]),
                          evolution.islands, nan=case % 5 == 4)
    compare_plans(planner, programs, rng, rebuilds=case % 4 == 0,
                  resumed=lambda: IslandPlanner(evolution, fitness, templates, front))


@pytest.mark.parametrize("strategy", ["islands+front", "map-elites", "best-of-n", "random-restart"])
def test_the_index_is_used_and_nan_or_disorder_scan(strategy: str) -> None:
    evolution = configs(random.Random(0), 0)[strategy]
    front = FRONT if strategy == "islands+front" else ()
    programs = random_run(random.Random(1), 60, evolution.islands, nan=False)
    planner = IslandPlanner(evolution, lambda s: s, LLM_TEMPLATES, front)
    assert planner.plan(programs, 70) == planner.plan_scanning(programs, 70)
    assert planner.index is not None and planner.index.usable
    assert len(planner.index.folded) == 60
    shuffled = [programs[0], *random.Random(2).sample(programs[1:], 59)]
    assert planner.plan(shuffled, 70) == planner.plan_scanning(shuffled, 70)
    assert not planner.index.usable
    broken = [*programs, ProgramView(id=9, code="x", status="ok", score=math.nan, seq=60)]
    planner = IslandPlanner(evolution, lambda s: s, LLM_TEMPLATES, front)
    assert planner.plan(broken, 70) == planner.plan_scanning(broken, 70)
    assert not planner.index.usable
