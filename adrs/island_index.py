"""Island selection without scanning the run: the structures ``adrs.selection`` would rebuild from
every visible program, kept up to date as programs become visible.

``IslandIndex`` folds the visible programs in candidate (seq) order, once each, into per-island
groups (``adrs.program_index``): the island's correct programs keeping the oldest of each score,
its running best as of each seq (for migrants), its latest programs (for fix-after-error) and, when
the problem declares front objectives, its Pareto front (``adrs.pareto``). ``select`` then makes the
same draws from the same candidate RNG as ``adrs.strategy.choose`` / ``recent_failure`` /
``select_mate`` would over the full lists, so the lineage is byte-identical;
``tests/unit/test_island_index.py`` checks that against the scanning functions. Pure: no I/O.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field

from adrs.config import EvolutionConfig
from adrs.pareto import FrontObjective, dominates, vector
from adrs.program import ProgramView
from adrs.program_index import Group, PoolView, ProgramIndex
from adrs.selection import Fitness, Selection, island_of


@dataclass
class _Island(Group):
    """One island's group, plus what migrations and the Pareto front need."""

    seeds: list[ProgramView] = field(default_factory=list)  # seq-0 members from other islands
    best_at: list[tuple[int, tuple[float, int], ProgramView]] = field(default_factory=list)
    # (seq, key, the best so far)
    vectors: dict[tuple[float, ...], ProgramView] = field(default_factory=dict)  # oldest of each
    front: list[tuple[tuple[float, ...], ProgramView]] = field(default_factory=list)  # by seq


class IslandIndex(ProgramIndex):
    """Per-island structures over a prefix (by seq) of the visible programs; see the module."""

    def __init__(self, config: EvolutionConfig, fitness: Fitness,
                 front: Sequence[FrontObjective] = ()) -> None:
        super().__init__(config, fitness)
        self.front = tuple(front) if len(front) >= 2 else ()
        self.islands = [_Island() for _ in range(max(config.islands, 1))]

    def _fold(self, p: ProgramView, key: tuple[float, int] | None) -> None:
        v = vector(p, self.front) if self.front else None
        if v is not None and any(math.isnan(x) for x in v):
            self.usable = False  # NaN objectives: dict and dominance orders are ambiguous
            return
        inside = 0 <= p.island < len(self.islands)
        if inside and key is not None:
            own = self.islands[p.island]
            if not own.best_at or key > own.best_at[-1][1]:
                own.best_at.append((p.seq, key, p))
        if p.seq == 0:  # the seed is in every island's pool
            for i, island in enumerate(self.islands):
                if p.island != i:
                    island.seeds.append(p)
                self._add(island, p, key, v)
        elif inside:
            self._add(self.islands[p.island], p, key, v)

    @staticmethod
    def _add(island: _Island, p: ProgramView, key: tuple[float, int] | None,
             v: tuple[float, ...] | None) -> None:
        if key is not None:
            island.add(p, key)
        if v is not None and v not in island.vectors:
            island.vectors[v] = p
            if not any(dominates(w, v) for w, _ in island.front):
                island.front = [(w, q) for w, q in island.front if not dominates(v, w)]
                island.front.append((v, p))

    def migrant(self, island: int, seq: int) -> ProgramView | None:
        """``island_pool``'s migrant for candidate ``seq`` (None when not added to the pool)."""
        islands = self.config.islands
        if islands <= 1 or self.config.migration_interval <= 0:
            return None
        last = (seq // self.config.migration_interval) * self.config.migration_interval
        history = self.islands[(island - 1) % islands].best_at
        i = bisect_right(history, last, key=lambda e: e[0])
        if i == 0:
            return None
        migrant = history[i - 1][2]
        own = self.islands[island]
        if any(s == migrant for s in own.seeds):
            return None  # already in the pool (island_pool's ``migrant not in pool``)
        return migrant

    def pool(self, island: int, migrant: ProgramView | None) -> PoolView:
        """``first_of_each_score`` of the island's pool, given its migrant."""
        own = self.islands[island]
        m, dropped = migrant, None
        if m is not None:
            known = own.by_score.get(m.score)  # type: ignore[arg-type]
            if known is not None and known.seq < m.seq:
                m = None  # an older program of the island has its score: the migrant is dropped
            else:
                dropped = known
        return PoolView(own.firsts, m, dropped)

    def pareto_front(self, island: int, migrant: ProgramView | None) -> list[ProgramView]:
        """``adrs.pareto.pareto_front`` of the island's pool, given its migrant."""
        own = self.islands[island]
        front = [p for _, p in own.front]
        v = vector(migrant, self.front) if migrant is not None else None
        if v is None:
            return front
        assert migrant is not None
        known = own.vectors.get(v)
        if known is not None:  # same objectives as a program of the island: the older one stays
            if known.seq < migrant.seq or all(p is not known for p in front):
                return front  # (a dominated vector stays dominated)
            front = [p for p in front if p is not known]
        elif any(dominates(w, v) for w, _ in own.front):
            return front
        else:
            front = [p for w, p in own.front if not dominates(v, w)]
        at = bisect_right(front, migrant.seq, key=lambda p: p.seq)
        return [*front[:at], migrant, *front[at:]]

    def select(self, seq: int, rng: random.Random) -> tuple[Selection, PoolView]:
        """``adrs.strategy.choose`` for islands (``adrs.selection.select``, with a parent from the
        Pareto front first when the problem declares one)."""
        config = self.config
        island = island_of(seq, config.islands)
        own = self.islands[island]
        migrant = self.migrant(island, seq)
        pool = self.pool(island, migrant)
        parent = None
        if self.front and rng.random() >= config.elite_probability:
            front = self.pareto_front(island, migrant)
            parent = rng.choice(front) if front else None
        if parent is None:
            if not len(pool):
                raise ValueError("no correct program to select a parent from")
            if rng.random() < config.elite_probability:
                parent = self.best(own, pool, set())
            else:
                entrants = rng.sample(pool, min(config.tournament_size, len(pool)))
                parent = max(entrants, key=self._key)
        assert parent is not None
        out = self.like(own, pool, parent)
        others = pool.without(out)
        inspirations: tuple[ProgramView, ...] = ()
        if config.inspirations > 0 and len(others):
            best = self.best(own, pool, {id(p) for p in out})
            assert best is not None
            rest = others.without([best])
            inspirations = (best, *rng.sample(rest, min(config.inspirations - 1, len(rest))))
        return Selection(island, parent, inspirations), others
