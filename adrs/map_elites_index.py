"""The MAP-Elites archive (``adrs.map_elites``) kept up to date instead of rebuilt from every
visible program at each plan.

Each program's features are computed once, when it becomes visible and is the oldest correct
program of its score. While a new program lies within the current range of every axis, the grid is
unchanged and only its cell's elite may change; when it widens a range, every program's cell may
move and the archive is rebuilt (from the cached features, at the next ``select``; with numpy
array operations, which round as Python's float operations do, unless a range is infinite or the
grid very large). The elite of a cell is the best (then oldest) of its programs whatever their
order, so the archive, and hence every draw, is the one ``adrs.map_elites.select_elites`` makes
(``tests/unit/test_strategy_index.py``). Pure: no I/O.
"""

from __future__ import annotations

import math
import random
from typing import Any

from adrs.config import EvolutionConfig
from adrs.map_elites import feature, parse_axes
from adrs.program import ProgramView
from adrs.program_index import Group, PoolView, ProgramIndex
from adrs.selection import Fitness, Selection

GRID_LIMIT = 1 << 20  # cells (bins ** axes) up to which a rebuild uses numpy arrays


def _log(value: float) -> float:
    return math.log1p(max(value, 0.0))  # as adrs.map_elites._bin


class MapElitesIndex(ProgramIndex):
    """The archive over the programs folded so far, and the run's correct programs (mates)."""

    def __init__(self, config: EvolutionConfig, fitness: Fitness) -> None:
        super().__init__(config, fitness)
        self.axes, self.bins = parse_axes(config.map_elites_axes), config.map_elites_bins
        self.group = Group()  # every program: a crossover mate's pool
        self.placed: list[tuple[ProgramView, tuple[float, ...], tuple[float, int]]] = []
        # (program, log features, key) of the correct programs with every feature, by seq
        self.lows: list[float] = []
        self.highs: list[float] = []
        self.cells: dict[tuple[int, ...], tuple[tuple[float, int], ProgramView]] = {}  # elite, key
        self.stale = False  # a range widened: the cells are rebuilt at the next select
        self.arrays: Any = None  # (log features, fitness) of ``placed`` as numpy arrays, by row
        self.floats = True  # every fitness is a float (else rebuilds compare in Python)

    def _fold(self, p: ProgramView, key: tuple[float, int] | None) -> None:
        if key is None or not self.group.add(p, key):
            return
        values = [feature(p, a) for a in self.axes]
        if any(v is None for v in values):
            return
        raw: list[float] = values  # type: ignore[assignment]
        logs = tuple(_log(v) for v in raw)
        self.placed.append((p, logs, key))
        self._store(logs, key[0])
        if not self.lows:
            self.lows, self.highs, self.stale = list(raw), list(raw), True
        elif any(v < lo for v, lo in zip(raw, self.lows, strict=True)) \
                or any(v > hi for v, hi in zip(raw, self.highs, strict=True)):
            # the older value stays on ties, as min()/max() over the programs in seq order keep it
            self.lows = [v if v < lo else lo for v, lo in zip(raw, self.lows, strict=True)]
            self.highs = [v if v > hi else hi for v, hi in zip(raw, self.highs, strict=True)]
            self.stale = True
        elif not self.stale:
            self._place(p, key, self._cell(logs, self._ranges()))

    def _ranges(self) -> list[tuple[float, float]]:
        return [(_log(lo), _log(hi)) for lo, hi in zip(self.lows, self.highs, strict=True)]

    def _cell(self, logs: tuple[float, ...], ranges: list[tuple[float, float]]) -> tuple[int, ...]:
        bins = self.bins
        return tuple(0 if hi <= lo else min(bins - 1, int((v - lo) / (hi - lo) * bins))
                     for v, (lo, hi) in zip(logs, ranges, strict=True))

    def _place(self, p: ProgramView, key: tuple[float, int], cell: tuple[int, ...]) -> None:
        current = self.cells.get(cell)
        if current is None or key > current[0]:
            self.cells[cell] = key, p

    def _store(self, logs: tuple[float, ...], fit: float) -> None:
        """Append a placed program's row to the arrays (doubling them when full)."""
        import numpy as np

        self.floats = self.floats and type(fit) is float
        n = len(self.placed) - 1
        if self.arrays is None or n == len(self.arrays[1]):
            grown = (np.empty((max(64, 2 * n), len(self.axes))), np.empty(max(64, 2 * n)))
            if self.arrays is not None:
                grown[0][:n], grown[1][:n] = self.arrays[0][:n], self.arrays[1][:n]
            self.arrays = grown
        self.arrays[0][n], self.arrays[1][n] = logs, fit

    def archive(self) -> dict[tuple[int, ...], ProgramView]:
        """``adrs.map_elites.archive`` of the programs folded so far."""
        if self.stale:
            ranges = self._ranges()
            if not self._rebuild_arrays(ranges):
                self.cells = {}
                for p, logs, key in self.placed:
                    self._place(p, key, self._cell(logs, ranges))
            self.stale = False  # (an infinite feature raises above, as _bin does, at every plan)
        return {cell: p for cell, (_, p) in self.cells.items()}

    def _rebuild_arrays(self, ranges: list[tuple[float, float]]) -> bool:
        """The cells from the arrays: each row's cell as one mixed-radix code (the same float
        operations as ``_cell``), per code the best fitness, then among rows with it the first
        (oldest). False (the caller rebuilds in Python) for infinite ranges, huge grids or fitness
        values that are not floats."""
        import numpy as np

        bins, n = self.bins, len(self.placed)
        size = bins ** len(self.axes)
        if size > GRID_LIMIT or not self.floats \
                or not all(math.isfinite(lo) and math.isfinite(hi) for lo, hi in ranges):
            return False
        logs, fit = self.arrays[0][:n], self.arrays[1][:n]
        codes = np.zeros(n, dtype=np.int64)
        for i, (lo, hi) in enumerate(ranges):
            codes *= bins
            if hi > lo:
                codes += np.minimum(bins - 1, ((logs[:, i] - lo) / (hi - lo) * bins).astype(np.int64))
        best = np.full(size, -np.inf)
        np.maximum.at(best, codes, fit)
        top = np.flatnonzero(fit == best[codes])  # rows holding their cell's best fitness
        first = np.full(size, n, dtype=np.int64)
        np.minimum.at(first, codes[top], top)
        self.cells = {}
        for code in np.flatnonzero(first < n).tolist():
            p, _, key = self.placed[int(first[code])]
            cell = []
            for _ in self.axes:
                code, b = divmod(code, bins)
                cell.append(b)
            self.cells[tuple(reversed(cell))] = key, p
        return True

    def select(self, seq: int, rng: random.Random) -> tuple[Selection, PoolView]:
        seed = self.folded[0]
        cells = self.archive()
        parent, chosen = seed, ()
        if cells:
            elites = [cells[c] for c in sorted(cells)]
            if rng.random() < self.config.elite_probability:
                parent = max(elites, key=self._key)
            else:
                parent = rng.choice(elites)
            others = [p for p in elites if p.id != parent.id and p.code != parent.code]
            chosen = tuple(rng.sample(others, min(max(self.config.inspirations, 0), len(others))))
        pool = PoolView(self.group.firsts)
        return Selection(0, parent, chosen), pool.without(self.like(self.group, pool, parent))
