"""The control strategies' selection (``adrs.strategy``) without scanning the run.

``BestOfNIndex``: every parent is the seed; the index only keeps each island's latest programs
(fix-after-error). ``RestartIndex``: the programs of each restart (plus the seed) folded into a
``Group`` as they become visible, so the restart's best program and its crossover mates come from
that group instead of a filter over every visible program. Both make the draws
``adrs.strategy.choose`` makes (``tests/unit/test_strategy_index.py`` checks it). Pure: no I/O.
"""

from __future__ import annotations

import random

from adrs.config import EvolutionConfig
from adrs.program import ProgramView
from adrs.program_index import Group, PoolView, ProgramIndex
from adrs.selection import Fitness, Selection, island_of


class BestOfNIndex(ProgramIndex):
    """best-of-n: the seed is every candidate's parent (no inspirations, no mate)."""

    def _fold(self, p: ProgramView, key: tuple[float, int] | None) -> None:
        pass

    def select(self, seq: int, rng: random.Random) -> tuple[Selection, PoolView]:
        return Selection(island_of(seq, self.config.islands), self.folded[0], ()), PoolView([])


class RestartIndex(ProgramIndex):
    """random-restart: the best program of the candidate's restart (the seed when it has none)."""

    def __init__(self, config: EvolutionConfig, fitness: Fitness) -> None:
        super().__init__(config, fitness)
        self.restarts: dict[int, Group] = {}
        self.seed_key: tuple[float, int] | None = None  # the seed's, when it is correct

    def _group(self, restart: int) -> Group:
        group = self.restarts.get(restart)
        if group is None:  # the seed is in every restart
            group = self.restarts[restart] = Group()
            if self.seed_key is not None:
                group.add(self.folded[0], self.seed_key)
        return group

    def _fold(self, p: ProgramView, key: tuple[float, int] | None) -> None:
        if p.seq == 0:
            self.seed_key = key
        elif key is not None:
            self._group((p.seq - 1) // self.config.restart_every).add(p, key)

    def select(self, seq: int, rng: random.Random) -> tuple[Selection, PoolView]:
        restart = (seq - 1) // self.config.restart_every
        group = self._group(restart)
        pool = PoolView(group.firsts)
        parent = self.best(group, pool, set()) or self.folded[0]
        return Selection(restart, parent, ()), pool.without(self.like(group, pool, parent))
