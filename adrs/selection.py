"""Parent and inspiration selection over islands: pure functions, no I/O, no global randomness.

Candidate ``seq`` lives on island ``seq % islands``. Its pool is that island's programs plus, as
migrants, the best program of the previous island as of the last migration point. The parent comes
from a tournament among correct programs (or, with ``elite_probability``, the island's best);
inspirations are other good programs of the pool. Fitness is "larger is better".

Programs with the same score as an older program are never chosen: only strictly better children
compete. Otherwise score-neutral edits pile up (e.g. inside code that is switched off) and wreck the
parts a later change would switch on.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from adrs.config import EvolutionConfig
from adrs.program import ProgramView
from adrs.status import Status, status_of

Fitness = Callable[[float], float]


@dataclass(frozen=True)
class Selection:
    island: int
    parent: ProgramView
    inspirations: tuple[ProgramView, ...]
    pool: tuple[ProgramView, ...] = ()  # what the island saw (for a crossover mate)


def island_of(seq: int, islands: int) -> int:
    return seq % max(islands, 1)


def island_pool(programs: Sequence[ProgramView], island: int, islands: int, seq: int,
                migration_interval: int, fitness: Fitness) -> list[ProgramView]:
    """Programs visible to island ``island`` at candidate ``seq`` (the seed is on every island)."""
    pool = [p for p in programs if p.island == island or p.seq == 0]
    if islands > 1 and migration_interval > 0:
        last_migration = (seq // migration_interval) * migration_interval
        donor = (island - 1) % islands
        donors = [p for p in programs if p.island == donor and p.seq <= last_migration]
        migrant = best_of(donors, fitness)
        if migrant is not None and migrant not in pool:
            pool.append(migrant)
    return pool


def best_of(programs: Sequence[ProgramView], fitness: Fitness) -> ProgramView | None:
    correct = [p for p in programs if p.score is not None and p.status == Status.OK]
    if not correct:
        return None
    return max(correct, key=lambda p: (fitness(p.score), -p.seq))  # type: ignore[arg-type]


def first_of_each_score(programs: Sequence[ProgramView]) -> list[ProgramView]:
    """Correct programs, keeping only the oldest of those with equal scores."""
    first: dict[float, ProgramView] = {}
    for p in sorted(programs, key=lambda p: p.seq):
        if p.score is not None and p.status == Status.OK:
            first.setdefault(p.score, p)
    return list(first.values())


def select_parent(pool: Sequence[ProgramView], rng: random.Random, tournament_size: int,
                  elite_probability: float, fitness: Fitness) -> ProgramView:
    correct = first_of_each_score(pool)
    if not correct:
        raise ValueError("no correct program to select a parent from")
    if rng.random() < elite_probability:
        return best_of(correct, fitness)  # type: ignore[return-value]
    entrants = rng.sample(correct, min(tournament_size, len(correct)))
    return best_of(entrants, fitness)  # type: ignore[return-value]


def select_inspirations(pool: Sequence[ProgramView], parent: ProgramView, count: int,
                        rng: random.Random, fitness: Fitness) -> tuple[ProgramView, ...]:
    """The pool's best other program plus random distinct correct ones, ``count`` in all."""
    others = [p for p in first_of_each_score(pool) if p.id != parent.id and p.code != parent.code]
    if count <= 0 or not others:
        return ()
    best = best_of(others, fitness)
    rest = [p for p in others if p is not best]
    chosen = [best] + rng.sample(rest, min(count - 1, len(rest)))
    return tuple(p for p in chosen if p is not None)


def select_mate(pool: Sequence[ProgramView], parent: ProgramView, rng: random.Random,
                tournament_size: int, fitness: Fitness) -> ProgramView | None:
    """A second parent for crossover: the winner of a tournament among the pool's other correct
    programs (with code different from the parent's), or None when there is none."""
    others = [p for p in first_of_each_score(pool) if p.id != parent.id and p.code != parent.code]
    if not others:
        return None
    return best_of(rng.sample(others, min(max(tournament_size, 1), len(others))), fitness)


def recent_failure(pool: Sequence[ProgramView], rng: random.Random,
                   window: int = 10) -> ProgramView | None:
    """A failed program from the last ``window`` of the pool (for fix-after-error), if any."""
    failed = [p for p in pool[-window:] if status_of(p.status).candidates_fault]
    return rng.choice(failed) if failed else None


def select(programs: Sequence[ProgramView], seq: int, rng: random.Random,
           config: EvolutionConfig, fitness: Fitness) -> Selection:
    """Island, parent and inspirations for candidate ``seq`` given the visible ``programs``."""
    island = island_of(seq, config.islands)
    pool = island_pool(programs, island, config.islands, seq, config.migration_interval, fitness)
    parent = select_parent(pool, rng, config.tournament_size, config.elite_probability, fitness)
    chosen = select_inspirations(pool, parent, config.inspirations, rng, fitness)
    return Selection(island, parent, chosen, tuple(pool))
