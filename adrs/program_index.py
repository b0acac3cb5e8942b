"""What every population strategy's index shares: programs folded once each, in seq order, into
groups (an island, a restart, the whole run) that keep the structures ``adrs.selection`` would
rebuild from every visible program, and the draws made from them.

A ``Group`` holds its correct programs keeping the oldest of each score (``first_of_each_score``),
in seq and in fitness order and by code and id; ``PoolView`` is such a list, with a migrant spliced
in and programs left out, as a sequence ``random.sample`` draws from exactly as from the list.
``ProgramIndex`` folds the visible programs, keeps each island's latest programs (fix-after-error)
and draws a crossover mate; a strategy's index (``adrs.island_index``, ``adrs.control_index``,
``adrs.map_elites_index``) adds its ``select``. An index stops being ``usable`` (the planner then
scans) when programs arrive out of seq order or a NaN score or fitness makes orders ambiguous.
Pure: no I/O.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_left, insort
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import overload

from adrs.config import EvolutionConfig
from adrs.program import ProgramView
from adrs.selection import Fitness, Selection
from adrs.status import Status, status_of

RECENT = 10  # adrs.selection.recent_failure's window


def _seq(p: ProgramView) -> int:
    return p.seq


def correct(p: ProgramView) -> bool:
    """Whether ``first_of_each_score`` / ``best_of`` count the program."""
    return p.status == Status.OK and p.score is not None


@dataclass
class Group:
    """A group's correct programs over the programs folded so far (oldest of each score)."""

    firsts: list[ProgramView] = field(default_factory=list)  # by seq
    ranked: list[tuple[float, int, ProgramView]] = field(default_factory=list)  # firsts by fitness
    by_score: dict[float, ProgramView] = field(default_factory=dict)
    by_code: dict[str, list[ProgramView]] = field(default_factory=dict)  # firsts by code
    by_id: dict[int, list[ProgramView]] = field(default_factory=dict)  # firsts by id

    def add(self, p: ProgramView, key: tuple[float, int]) -> bool:
        """Fold the correct program ``p`` (newer than every program folded; ``key`` is its
        (fitness, -seq)); True when it is the first of its score."""
        if p.score in self.by_score:
            return False
        self.by_score[p.score] = p  # type: ignore[index]
        self.firsts.append(p)
        insort(self.ranked, (*key, p))  # (fitness, -seq) differ: programs are never compared
        self.by_code.setdefault(p.code, []).append(p)
        self.by_id.setdefault(p.id, []).append(p)
        return True


class PoolView(Sequence[ProgramView]):
    """``first_of_each_score`` of a pool: a group's firsts with the migrant spliced in at its seq
    (and the group's program of the migrant's score dropped when the migrant is older), minus the
    programs in ``without`` (by identity), as a sequence (for ``random.sample``)."""

    def __init__(self, base: list[ProgramView], migrant: ProgramView | None = None,
                 dropped: ProgramView | None = None) -> None:
        self.base, self.migrant = base, migrant
        self.at = bisect_left(base, migrant.seq, key=_seq) if migrant is not None else -1
        self.dropped = bisect_left(base, dropped.seq, key=_seq) if dropped is not None else -1
        self.length = len(base) - (dropped is not None) + (migrant is not None)
        self.skip: list[int] = []  # positions (in this sequence) left out, sorted

    def dropped_program(self) -> ProgramView | None:
        return self.base[self.dropped] if self.dropped != -1 else None

    def position(self, program: ProgramView) -> int:
        """Where ``program`` (one of the spliced pool's) sits, before ``without``."""
        if program is self.migrant:
            return self.at
        i = bisect_left(self.base, program.seq, key=_seq)
        if self.dropped != -1 and i > self.dropped:
            i -= 1
        return i + (self.at != -1 and i >= self.at)

    def without(self, programs: Sequence[ProgramView]) -> PoolView:
        pool = PoolView.__new__(PoolView)
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


class ProgramIndex:
    """Folds a prefix (by seq) of the visible programs; subclasses fold them into their groups
    (``_fold``) and choose the parent (``select``)."""

    def __init__(self, config: EvolutionConfig, fitness: Fitness) -> None:
        self.config, self.fitness = config, fitness
        self.folded: list[ProgramView] = []  # programs folded, in seq order
        self.recent: dict[int, list[ProgramView]] = {}  # each island's latest programs
        self.usable = True

    def extends(self, visible: Sequence[ProgramView]) -> bool:
        """Whether ``visible`` is the folded programs plus newer ones (then ``update`` folds them)."""
        n = len(self.folded)
        return len(visible) >= n and (n == 0 or visible[n - 1] is self.folded[-1])

    def update(self, visible: Sequence[ProgramView]) -> None:
        for p in visible[len(self.folded):]:
            if self.folded and p.seq <= self.folded[-1].seq:
                self.usable = False  # not in seq order: selection would sort; scan instead
            self.folded.append(p)
            if not self.usable:
                continue
            key = self._key(p) if correct(p) else None
            if key is not None and (math.isnan(p.score) or math.isnan(key[0])):  # type: ignore[arg-type]
                self.usable = False
                continue
            recent = self.recent.get(p.island)
            if recent is None:
                recent = self.recent[p.island] = []
            recent.append(p)
            if len(recent) > RECENT:
                del recent[0]
            self._fold(p, key)

    def _fold(self, p: ProgramView, key: tuple[float, int] | None) -> None:
        """Fold ``p`` into the strategy's groups (``key``: its (fitness, -seq) when correct)."""
        raise NotImplementedError

    def select(self, seq: int, rng: random.Random) -> tuple[Selection, PoolView]:
        """The strategy's ``adrs.strategy.choose`` for candidate ``seq``, and the pool's correct
        programs other than the parent and its code (for a crossover mate)."""
        raise NotImplementedError

    def _key(self, p: ProgramView) -> tuple[float, int]:
        return self.fitness(p.score), -p.seq  # type: ignore[arg-type]

    def best(self, group: Group, pool: PoolView, out: set[int]) -> ProgramView | None:
        """``best_of`` the pool (over ``group``) minus the programs whose id() is in ``out``."""
        best = None
        dropped = pool.dropped_program()
        for _, _, p in reversed(group.ranked):
            if p is dropped or id(p) in out:
                continue
            best = p
            break
        m = pool.migrant
        if m is not None and id(m) not in out and (best is None or self._key(m) > self._key(best)):
            best = m
        return best

    def like(self, group: Group, pool: PoolView, parent: ProgramView) -> list[ProgramView]:
        """The pool's correct programs with the parent's id or code (``select_inspirations`` and
        ``select_mate`` leave them out)."""
        dropped = pool.dropped_program()
        out = [p for p in group.by_code.get(parent.code, ()) if p is not dropped]
        out += [p for p in group.by_id.get(parent.id, ()) if p is not dropped
                and all(p is not q for q in out)]
        m = pool.migrant
        if m is not None and (m.id == parent.id or m.code == parent.code):
            out.append(m)
        return out

    def recent_failure(self, island: int, rng: random.Random) -> ProgramView | None:
        """``adrs.selection.recent_failure`` over the island's programs."""
        failed = [p for p in self.recent.get(island, ()) if status_of(p.status).candidates_fault]
        return rng.choice(failed) if failed else None

    def mate(self, others: PoolView, rng: random.Random) -> ProgramView | None:
        """``select_mate`` from the pool's correct programs other than the parent (``others``)."""
        if not len(others):
            return None
        entrants = rng.sample(others, min(max(self.config.tournament_size, 1), len(others)))
        return max(entrants, key=self._key)
