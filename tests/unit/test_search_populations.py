"""Pareto fronts, the MAP-Elites archive and the control strategies choose parents as documented."""

import random
from dataclasses import replace

import pytest

from adrs.config import EvolutionConfig
from adrs.errors import ConfigError
from adrs.map_elites import archive, block_length, select_elites
from adrs.pareto import FrontObjective, dominates, pareto_front, parse_front, select_from_front
from adrs.program import ProgramView
from adrs.strategy import choose

FRONT = (FrontObjective("balance", "maximize"), FrontObjective("ms", "minimize"))


def fitness(score: float) -> float:
    return -score


def prog(seq, score=1.0, status="ok", code=None, **metrics):
    return ProgramView(id=100 + seq, code=code or f"# EVOLVE-BLOCK-START\nx = {seq}\n# EVOLVE-BLOCK-END\n",
                       status=status, score=score if status == "ok" else None, metrics=metrics,
                       seq=seq, island=0)


def test_front_keeps_exactly_the_non_dominated_programs():
    programs = [prog(0, balance=50, ms=10), prog(1, balance=60, ms=20), prog(2, balance=55, ms=30),
                prog(3, balance=40, ms=5), prog(4, balance=60, ms=20),  # same vector as 1: dropped
                prog(5, status="error"), prog(6, balance=70)]  # failed / lacks ms: not on the front
    assert [p.seq for p in pareto_front(programs, FRONT)] == [0, 1, 3]
    assert dominates((2, 1), (1, 1)) and not dominates((1, 1), (1, 1)) and not dominates((2, 0), (1, 1))


def test_parents_come_from_the_front():
    programs = [prog(0, balance=50, ms=10), prog(1, balance=60, ms=20), prog(2, balance=55, ms=30)]
    rng = random.Random(1)
    assert {select_from_front(programs, FRONT, rng).seq for _ in range(50)} == {0, 1}
    assert select_from_front([prog(0)], FRONT, rng) is None


def test_front_declaration_is_checked():
    assert parse_front({"balance": "maximize", "ms": "minimize"}, "p.yaml") == FRONT
    assert parse_front(None, "p.yaml") == ()
    with pytest.raises(ConfigError, match="at least two"):
        parse_front({"balance": "maximize"}, "p.yaml")
    with pytest.raises(ConfigError, match="ms"):
        parse_front({"balance": "maximize", "ms": "down"}, "p.yaml")


def test_islands_with_a_front_select_from_the_island_front():
    config = EvolutionConfig(islands=1, elite_probability=0.0, inspirations=1)
    programs = [prog(0, score=5.0, balance=50, ms=10), prog(1, score=1.0, balance=60, ms=20),
                prog(2, score=0.5, balance=55, ms=30)]  # best score, but dominated
    parents = {choose(programs, 9, random.Random(s), config, fitness, FRONT).parent.seq
               for s in range(40)}
    assert parents == {0, 1}
    # without a front the score tournament decides: the dominated best score is chosen too
    parents = {choose(programs, 9, random.Random(s), config, fitness).parent.seq for s in range(40)}
    assert 2 in parents


def test_map_elites_keeps_the_best_of_each_cell():
    programs = [prog(0, score=5.0, ms=1.0), prog(1, score=3.0, ms=1.1), prog(2, score=4.0, ms=100.0),
                prog(3, score=2.0, ms=1000.0), prog(4, score=9.0, status="error")]
    cells = archive(programs, ["ms"], 3, fitness)
    assert {p.seq for p in cells.values()} == {1, 2, 3}  # #1 beats #0 in the lowest cell
    assert len(cells) == 3
    rng = random.Random(0)
    parents = {select_elites(programs, ["ms"], 3, rng, 0.0, 1, fitness)[0].seq for _ in range(60)}
    assert parents == {1, 2, 3}  # uniform over cells: not only the best score
    assert select_elites(programs, ["nothing"], 3, rng, 0.0, 1, fitness) is None


def test_code_length_axis_measures_the_evolve_block():
    code = "a = 1\n# EVOLVE-BLOCK-START\nx = 1\n# EVOLVE-BLOCK-END\nlots = 'of code outside'\n"
    assert block_length(code) == len("# EVOLVE-BLOCK-START\nx = 1\n")
    short, long = prog(0, score=2.0), prog(1, score=3.0, code=code.replace("x = 1", "x = 1 + 2 * 3 - 4"))
    assert {p.seq for p in archive([short, long], ["code_length"], 2, fitness).values()} == {0, 1}


def test_map_elites_population_through_choose():
    config = EvolutionConfig(population="map-elites", map_elites_axes="ms", map_elites_bins=4,
                             elite_probability=0.0)
    programs = [prog(0, score=5.0, ms=1.0), prog(1, score=1.0, ms=50.0)]
    assert {choose(programs, 5, random.Random(s), config, fitness).parent.seq
            for s in range(30)} == {0, 1}


def test_controls_choose_as_documented():
    programs = [prog(0, score=5.0)] + [prog(s, score=5.0 - s / 10) for s in range(1, 9)]
    best_of_n = EvolutionConfig(strategy="best-of-n")
    assert all(choose(programs, s, random.Random(s), best_of_n, fitness).parent.seq == 0
               for s in range(9, 20))
    restart = EvolutionConfig(strategy="random-restart", restart_every=4)
    # candidates 1-4 form restart 0, 5-8 restart 1; candidate 9 starts restart 2 from the seed
    assert choose(programs[:4], 4, random.Random(0), restart, fitness).parent.seq == 3
    assert choose(programs[:7], 7, random.Random(0), restart, fitness).parent.seq == 6
    assert choose(programs[:5], 5, random.Random(0), restart, fitness).parent.seq == 0
    assert choose(programs, 9, random.Random(0), restart, fitness).parent.seq == 0


def test_strategy_and_population_are_checked():
    with pytest.raises(ConfigError, match="strategy"):
        EvolutionConfig(strategy="greedy")
    with pytest.raises(ConfigError, match="population"):
        EvolutionConfig(population="grid")
    with pytest.raises(ConfigError, match="map_elites_axes"):
        replace(EvolutionConfig(), map_elites_axes=" , ")
