"""Search strategies and populations: who is the parent of candidate ``seq``.

Strategies (``evolution.strategy``, ``adrs run --strategy``):

- ``evolve``: the population (``evolution.population``) chooses: ``islands`` (``adrs.selection``,
  with a Pareto front per island when the problem declares front objectives, ``adrs.pareto``) or
  ``map-elites`` (``adrs.map_elites``).
- ``best-of-n``: a control. Every candidate is a mutation of the seed; the run keeps the best.
- ``random-restart``: a control. Greedy hill climbing from the seed, restarted from the seed every
  ``restart_every`` candidates: each candidate mutates the best program of its own restart.

All of them return the same ``Selection`` value from the visible programs, so the loop, the budget
and the proposer are the same for a run and its controls. Pure functions; no I/O.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from adrs.config import EvolutionConfig
from adrs.map_elites import parse_axes, select_elites
from adrs.pareto import FrontObjective, select_from_front
from adrs.program import ProgramView
from adrs.selection import (
    Fitness,
    Selection,
    best_of,
    first_of_each_score,
    island_of,
    island_pool,
    select_inspirations,
    select_parent,
)


def choose(programs: Sequence[ProgramView], seq: int, rng: random.Random, config: EvolutionConfig,
           fitness: Fitness, front: Sequence[FrontObjective] = ()) -> Selection:
    """Island, parent and inspirations of candidate ``seq`` under the configured strategy."""
    seed = next(p for p in programs if p.seq == 0)
    if config.strategy == "best-of-n":
        return Selection(island_of(seq, config.islands), seed, (), (seed,))
    if config.strategy == "random-restart":
        restart = (seq - 1) // config.restart_every
        mine = [p for p in programs if p.seq == 0 or (p.seq - 1) // config.restart_every == restart]
        parent = best_of(first_of_each_score(mine), fitness) or seed
        return Selection(restart, parent, (), tuple(mine))
    if config.population == "map-elites":
        picked = select_elites(programs, parse_axes(config.map_elites_axes), config.map_elites_bins,
                               rng, config.elite_probability, config.inspirations, fitness)
        if picked is not None:
            return Selection(0, *picked, tuple(programs))
        return Selection(0, seed, (), tuple(programs))
    island = island_of(seq, config.islands)
    pool = island_pool(programs, island, config.islands, seq, config.migration_interval, fitness)
    parent = None
    if len(front) >= 2 and rng.random() >= config.elite_probability:
        parent = select_from_front(pool, front, rng)
    if parent is None:
        parent = select_parent(pool, rng, config.tournament_size, config.elite_probability, fitness)
    return Selection(island, parent, select_inspirations(pool, parent, config.inspirations, rng,
                                                         fitness), tuple(pool))
