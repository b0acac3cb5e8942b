"""Parent selection, islands and migration: pure functions, reproducible with a seeded RNG."""

from __future__ import annotations

import random

from adrs.config import EvolutionConfig
from adrs.program import ProgramView
from adrs.selection import island_pool, recent_failure, select, select_mate, select_parent


def prog(seq: int, score: float | None, island: int, status: str = "ok") -> ProgramView:
    return ProgramView(id=seq + 100, code=f"# {seq}", status=status, score=score, island=island, seq=seq)


def fitness(score: float) -> float:
    return -score  # minimize


PROGRAMS = [prog(0, 10.0, 0), prog(1, 4.0, 1), prog(2, 8.0, 2), prog(3, 2.0, 1), prog(4, None, 0, "timeout"),
            prog(5, 6.0, 0), prog(6, 1.0, 2)]


def test_pool_is_the_island_plus_the_seed_and_a_migrant() -> None:
    pool = island_pool(PROGRAMS, island=2, islands=3, seq=6, migration_interval=5, fitness=fitness)
    assert {p.seq for p in pool} == {0, 2, 6, 3}  # island 2, seed, best of island 1 by seq 5
    no_migration = island_pool(PROGRAMS, island=2, islands=3, seq=4, migration_interval=5, fitness=fitness)
    assert {p.seq for p in no_migration} == {0, 2, 6}


def test_parent_is_never_a_failed_program_and_elitism_takes_the_best() -> None:
    rng = random.Random(1)
    pool = [p for p in PROGRAMS if p.island == 0]
    for _ in range(50):
        assert select_parent(pool, rng, 3, 0.0, fitness).status == "ok"
    assert select_parent(PROGRAMS, rng, 2, 1.0, fitness).seq == 6


def test_tournament_prefers_better_programs() -> None:
    rng = random.Random(0)
    picks = [select_parent(PROGRAMS, rng, 3, 0.0, fitness).seq for _ in range(300)]
    assert picks.count(6) > picks.count(0) * 3


def test_select_is_reproducible_and_inspirations_differ_from_parent() -> None:
    config = EvolutionConfig(islands=3, inspirations=2)
    a = select(PROGRAMS, 7, random.Random("s:7"), config, fitness)
    b = select(PROGRAMS, 7, random.Random("s:7"), config, fitness)
    assert a == b and a.island == 1
    assert all(i.id != a.parent.id for i in a.inspirations)


def test_recent_failure_finds_failed_programs_only() -> None:
    assert recent_failure(PROGRAMS, random.Random(0)).seq == 4
    assert recent_failure([p for p in PROGRAMS if p.status == "ok"], random.Random(0)) is None


def test_children_that_only_tie_an_older_program_are_never_parents() -> None:
    pool = [prog(0, 5.0, 0), prog(4, 5.0, 0), prog(8, 5.0, 0), prog(12, 3.0, 0), prog(16, 3.0, 0)]
    rng = random.Random(0)
    parents = {select_parent(pool, rng, 1, 0.0, fitness).seq for _ in range(200)}
    assert parents == {0, 12}


def test_crossover_mate_is_another_correct_program_with_different_code() -> None:
    parent = PROGRAMS[3]
    same_code = ProgramView(id=999, code=parent.code, status="ok", score=3.0, island=1, seq=9)
    pool = [*PROGRAMS, same_code]
    mates = {select_mate(pool, parent, random.Random(s), 2, fitness).seq for s in range(40)}
    assert mates and mates <= {0, 1, 2, 5, 6}  # never the parent, a failure or a copy of its code
    assert select_mate(pool, parent, random.Random(0), 10, fitness).seq == 6  # the best wins
    assert select_mate([parent, same_code], parent, random.Random(0), 2, fitness) is None
