"""Island selection without scanning the run: the structures ``adrs.selection`` would rebuild from
every visible program, kept up to date as programs become visible.

``IslandIndex`` folds the visible programs in candidate (seq) order, once each, into per-island
structures: the island's pool members, its correct programs keeping the oldest of each score (in seq
order, and in fitness order), its running best as of each seq (for migrants), and its latest
programs (for fix-after-error). ``select`` then makes the same draws from the same candidate RNG as
``adrs.selection.select`` / ``recent_failure`` / ``select_mate`` would over the full lists, so the
lineage is byte-identical; ``tests/unit/test_island_index.py`` checks that against the scanning
functions. It covers the ``islands`` population without a Pareto front; other strategies scan.
Pure: no I/O.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import overload

from adrs.config import EvolutionConfig
from adrs.program import ProgramView
from adrs.selection import Fitness, Selection, island_of
from adrs.status import Status, status_of

RECENT = 10  # adrs.selection.recent_failure's window


def _seq(p: ProgramView) -> int:
    return p.seq


@dataclass
class _Island:
    """One island's structures over the programs folded so far."""

    firsts: list[ProgramView] = field(default_factory=list)  # correct, oldest of each score, by seq
    ranked: list[tuple[float, int, ProgramView]] = field(default_factory=list)  # firsts by fitness
    by_score: dict[float, ProgramView] = field(default_factory=dict)
    by_code: dict[str, list[ProgramView]] = field(default_factory=dict)  # firsts by code
    by_id: dict[int, list[ProgramView]] = field(default_factory=dict)  # firsts by id
    seeds: list[ProgramView] = field(default_factory=list)  # seq-0 members from other islands
    best_at: list[tuple[int, ProgramView]] = field(default_factory=list)  # (seq, best so far)
    recent: list[ProgramView] = field(default_factory=list)  # this island's latest programs


class _Pool(Sequence[ProgramView]):
    """``first_of_each_score`` of an island's pool: its firsts with the migrant spliced in at its
    seq (and the island's program of the migrant's score dropped when the migrant is older), minus
    the programs in ``without`` (by identity), as a sequence (for ``random.sample``)."""

    def __init__(self, base: list[ProgramView], migrant: ProgramView | None,
                 dropped: ProgramView | None) -> None:
        self.base, self.migrant = base, migrant
        self.at = bisect_left(base, migrant.seq, key=_seq) if migrant is not None else -1
        self.dropped = bisect_left(base, dropped.seq, key=_seq) if dropped is not None else -1
        self.length = len(base) - (dropped is not None) + (migrant is not None)
        self.skip: list[int] = []  # positions (in this sequence) left out, sorted

    def position(self, program: ProgramView) -> int:
        """Where ``program`` (one of the spliced pool's) sits, before ``without``."""
        if program is self.migrant:
            return self.at
        i = bisect_left(self.base, program.seq, key=_seq)
        if self.dropped != -1 and i > self.dropped:
            i -= 1
        return i + (self.at != -1 and i >= self.at)

    def without(self, programs: Sequence[ProgramView]) -> _Pool:
        pool = _Pool.__new__(_Pool)
        pool.base, pool.migrant, pool.at, pool.dropped = self.base, self.migrant, self.at, self.dropped
        pool.length = self.length
        pool.skip = sorted(set(self.skip) | {self.position(p) for p in programs})
        return pool

    def _spliced(self, j: int) -> ProgramView:
        if j == self.at:
            return self.migrant  # type: ignore[return-value]
        b = j - (self.at != -1 and j > self.at)
        if self.dropped != -1 and b >= self.dropped:
            b += 1
        return self.base[b]

    def __len__(self) -> int:
        return self.length - len(self.skip)

    @overload
    def __getitem__(self, j: int) -> ProgramView: ...
    @overload
    def __getitem__(self, j: slice) -> Sequence[ProgramView]: ...
    def __getitem__(self, j: int | slice) -> ProgramView | Sequence[ProgramView]:
        if isinstance(j, slice):
            return [self[i] for i in range(*j.indices(len(self)))]
        if j < 0:
            j += len(self)
        if not 0 <= j < len(self):
            raise IndexError(j)
        for s in self.skip:  # the j-th kept position
            if s <= j:
                j += 1
            else:
                break
        return self._spliced(j)

    def __iter__(self) -> Iterator[ProgramView]:
        skip = set(self.skip)
        return (self._spliced(j) for j in range(self.length) if j not in skip)


class IslandIndex:
    """Per-island structures over a prefix (by seq) of the visible programs; see the module."""

    def __init__(self, config: EvolutionConfig, fitness: Fitness) -> None:
        self.config, self.fitness = config, fitness
        self.islands = [_Island() for _ in range(max(config.islands, 1))]
        self.folded: list[ProgramView] = []  # programs folded, in seq order
        self.usable = True  # False once a NaN score or fitness makes orders ambiguous: scan

    def extends(self, visible: Sequence[ProgramView]) -> bool:
        """Whether ``visible`` is the folded programs plus newer ones (then ``update`` folds them)."""
        n = len(self.folded)
        return len(visible) >= n and (n == 0 or visible[n - 1] is self.folded[-1])

    def update(self, visible: Sequence[ProgramView]) -> None:
        for p in visible[len(self.folded):]:
            if self.folded and p.seq <= self.folded[-1].seq:
                self.usable = False  # not in seq order: selection would sort; scan instead
            self.folded.append(p)
            if self.usable:
                self._fold(p)

    def _fold(self, p: ProgramView) -> None:
        correct = p.status == Status.OK and p.score is not None
        if correct and (math.isnan(p.score) or math.isnan(self.fitness(p.score))):  # type: ignore[arg-type]
            self.usable = False
            return
        if 0 <= p.island < len(self.islands):
            own = self.islands[p.island]
            own.recent.append(p)
            del own.recent[:-RECENT]
            if correct and (not own.best_at or self._key(p) > self._key(own.best_at[-1][1])):
                own.best_at.append((p.seq, p))
        for i, island in enumerate(self.islands):
            if p.island != i and p.seq != 0:
                continue
            if p.island != i:
                island.seeds.append(p)
            if correct and p.score not in island.by_score:
                island.by_score[p.score] = p  # type: ignore[index]
                island.firsts.append(p)
                insort(island.ranked, (*self._key(p), p), key=lambda e: (e[0], e[1]))
                island.by_code.setdefault(p.code, []).append(p)
                island.by_id.setdefault(p.id, []).append(p)

    def _key(self, p: ProgramView) -> tuple[float, int]:
        return self.fitness(p.score), -p.seq  # type: ignore[arg-type]

    def _best(self, island: _Island, pool: _Pool, out: set[int]) -> ProgramView | None:
        """``best_of`` the pool minus the programs whose id() is in ``out``."""
        best = None
        dropped = pool.base[pool.dropped] if pool.dropped != -1 else None
        for _, _, p in reversed(island.ranked):
            if p is dropped or id(p) in out:
                continue
            best = p
            break
        m = pool.migrant
        if m is not None and id(m) not in out and (best is None or self._key(m) > self._key(best)):
            best = m
        return best

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
        migrant = history[i - 1][1]
        own = self.islands[island]
        if any(s == migrant for s in own.seeds):
            return None  # already in the pool (island_pool's ``migrant not in pool``)
        return migrant

    def pool(self, island: int, seq: int) -> _Pool:
        own = self.islands[island]
        m = self.migrant(island, seq)
        dropped = None
        if m is not None:
            known = own.by_score.get(m.score)  # type: ignore[arg-type]
            if known is not None and known.seq < m.seq:
                m = None  # an older program of the island has its score: the migrant is dropped
            else:
                dropped = known
        return _Pool(own.firsts, m, dropped)

    def select(self, seq: int, rng: random.Random) -> tuple[Selection, _Pool]:
        """``adrs.strategy.choose`` for islands without a front (``adrs.selection.select``), and
        the pool's correct programs other than the parent and its code (for a crossover mate)."""
        config = self.config
        island = island_of(seq, config.islands)
        own = self.islands[island]
        correct = self.pool(island, seq)
        if not len(correct):
            raise ValueError("no correct program to select a parent from")
        if rng.random() < config.elite_probability:
            parent = self._best(own, correct, set())
        else:
            entrants = rng.sample(correct, min(config.tournament_size, len(correct)))
            parent = max(entrants, key=self._key)
        assert parent is not None
        out = self._like(own, correct, parent)
        others = correct.without(out)
        inspirations: tuple[ProgramView, ...] = ()
        if config.inspirations > 0 and len(others):
            best = self._best(own, correct, {id(p) for p in out})
            assert best is not None
            rest = others.without([best])
            inspirations = (best, *rng.sample(rest, min(config.inspirations - 1, len(rest))))
        return Selection(island, parent, inspirations), others

    def _like(self, own: _Island, correct: _Pool, parent: ProgramView) -> list[ProgramView]:
        """The pool's correct programs with the parent's id or code (``select_inspirations`` and
        ``select_mate`` leave them out)."""
        dropped = correct.base[correct.dropped] if correct.dropped != -1 else None
        out = [p for p in own.by_code.get(parent.code, ()) if p is not dropped]
        out += [p for p in own.by_id.get(parent.id, ()) if p is not dropped
                and all(p is not q for q in out)]
        m = correct.migrant
        if m is not None and (m.id == parent.id or m.code == parent.code):
            out.append(m)
        return out

    def recent_failure(self, island: int, rng: random.Random) -> ProgramView | None:
        """``adrs.selection.recent_failure`` over the island's programs."""
        failed = [p for p in self.islands[island].recent if status_of(p.status).candidates_fault]
        return rng.choice(failed) if failed else None

    def mate(self, others: _Pool, rng: random.Random) -> ProgramView | None:
        """``select_mate`` from the pool's correct programs other than the parent (``others``)."""
        if not len(others):
            return None
        entrants = rng.sample(others, min(max(self.config.tournament_size, 1), len(others)))
        return max(entrants, key=self._key)
