"""IslandPlanner through the island index against the scanning definition (``plan_scanning``:
``adrs.strategy.choose`` / ``adrs.selection`` over every visible program): the same plans for
random runs (ties in score, repeated code, failures, migrations, templates), as visible programs
grow and when they do not extend the previous ones."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from adrs.config import EvolutionConfig
from adrs.plan import IslandPlanner, Plan
from adrs.program import ProgramView

STATUSES = ["ok", "ok", "ok", "ok", "invalid", "timeout", "error", "syntax_error", "duplicate",
            "infra_error"]
LLM_TEMPLATES = {"diff": 0.4, "rewrite": 0.1, "fix": 0.25, "crossover": 0.25}


def status_and_score(rng: random.Random, seq: int) -> tuple[str, float | None]:
    """A random program's status and score (the seed: correct, 3.5); ties are frequent."""
    status = "ok" if seq == 0 else rng.choice(STATUSES)
    score = rng.choice([None, 1.0, 2.0, 2.5, 3.0, 4.0, rng.uniform(0, 5)]) if status == "ok" else None
    return status, 3.5 if seq == 0 else score


def random_run(rng: random.Random, count: int, islands: int) -> list[ProgramView]:
    programs = []
    for seq in range(count):
        status, score = status_and_score(rng, seq)
        island = rng.randrange(islands + (rng.random() < 0.05)) if seq else 0
        programs.append(ProgramView(id=1000 + seq, code=f"code {rng.randrange(count // 3 + 1)}",
                                    status=status, score=score, seq=seq, island=island,
                                    metrics={"m": score or 0.0}))
    return programs


def outcome(planner: IslandPlanner, visible: list[ProgramView], seq: int,
            scanning: bool) -> Plan | str:
    try:
        return planner.plan_scanning(visible, seq) if scanning else planner.plan(visible, seq)
    except ValueError as err:
        return f"ValueError: {err}"


@pytest.mark.parametrize("case", range(60))
def test_indexed_plans_equal_the_scanning_plans(case: int) -> None:
    rng = random.Random(case)
    evolution = EvolutionConfig(
        islands=rng.choice([1, 2, 3, 4]), migration_interval=rng.choice([0, 1, 3, 7, 40]),
        tournament_size=rng.choice([1, 2, 3, 5]), elite_probability=rng.choice([0.0, 0.3, 0.6, 1.0]),
        inspirations=rng.choice([0, 1, 2, 3]), seed=case)
    fitness = rng.choice([lambda s: s, lambda s: -s])
    planner = IslandPlanner(evolution, fitness, rng.choice([{}, LLM_TEMPLATES]))
    programs = random_run(rng, rng.choice([rng.randint(2, 90), rng.randint(100, 300)]), evolution.islands)
    compare_plans(planner, programs, rng, rebuilds=case % 4 == 0)


def compare_plans(planner: IslandPlanner, programs: list[ProgramView], rng: random.Random,
                  rebuilds: bool, resumed: Callable[[], IslandPlanner] | None = None) -> None:
    """The planner's indexed plans equal its scanning plans over growing prefixes of ``programs``
    (with ``rebuilds``, also prefixes that do not extend the last one: the index is rebuilt; with
    ``resumed``, a fresh planner from it takes over half way, as in a resumed campaign)."""
    horizons = sorted(rng.randint(1, len(programs)) for _ in range(25))
    if rebuilds:
        horizons += [rng.randint(1, len(programs)) for _ in range(5)]
    compared = 0
    for k, horizon in enumerate(horizons):
        if resumed is not None and k == len(horizons) // 2:
            planner = resumed()
        visible = programs[:horizon]
        for seq in (horizon, horizon + rng.randint(0, 12)):
            fast = outcome(planner, list(visible), seq, scanning=False)
            assert fast == outcome(planner, visible, seq, scanning=True), (horizon, seq)
            compared += isinstance(fast, Plan)
    assert planner.index is not None and compared > 0


@pytest.mark.parametrize("case", range(30))
def test_pool_view_is_the_spliced_list(case: int) -> None:
    from adrs.program_index import PoolView

    rng = random.Random(case)
    base = [ProgramView(id=s, code="", status="ok", score=float(s), seq=s)
            for s in sorted(rng.sample(range(1, 400), rng.randint(0, 60)))]
    migrant = dropped = None
    if rng.random() < 0.7:
        migrant = ProgramView(id=-1, code="", status="ok", score=0.0,
                              seq=rng.choice([s for s in range(400) if s not in {p.seq for p in base}]))
        later = [p for p in base if p.seq > migrant.seq]
        dropped = rng.choice(later) if later and rng.random() < 0.5 else None
    expected = sorted([p for p in base if p is not dropped] + ([migrant] if migrant else []),
                      key=lambda p: p.seq)
    pool = PoolView(base, migrant, dropped)
    for _ in range(3):
        assert list(pool) == expected and len(pool) == len(expected)
        assert [pool[j] for j in range(len(pool))] == expected
        if not expected:
            break
        out = rng.sample(expected, rng.randint(1, min(4, len(expected))))
        pool = pool.without(out)
        expected = [p for p in expected if all(p is not q for q in out)]
