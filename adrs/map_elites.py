"""MAP-Elites population: an archive keeping the best program of each cell of a feature grid.

Feature axes are declared metrics of the problem (e.g. smtt's ``mean_call_ms``) or ``code_length``
(characters of the EVOLVE-BLOCKs). Each axis is cut into ``bins`` equal cells in log space between
the smallest and largest value among the visible correct programs, so the grid follows the run
without a declared range. A parent is the elite of a uniformly chosen occupied cell (or, with
``elite_probability``, the best program overall); inspirations are elites of other cells.
Pure functions over ProgramView lists, like ``adrs.selection``; no I/O.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from adrs.program import EVOLVE_END, EVOLVE_START, ProgramView
from adrs.selection import Fitness, best_of, first_of_each_score

CODE_LENGTH = "code_length"


def parse_axes(text: str) -> tuple[str, ...]:
    """``"mean_call_ms, code_length"`` -> ("mean_call_ms", "code_length")."""
    return tuple(a.strip() for a in text.split(",") if a.strip())


def block_length(code: str) -> int:
    """Characters between the EVOLVE-BLOCK markers (the whole program if it has none)."""
    start, end = code.find(EVOLVE_START), code.rfind(EVOLVE_END)
    return len(code[start:end]) if 0 <= start < end else len(code)


def feature(program: ProgramView, axis: str) -> float | None:
    if axis == CODE_LENGTH:
        return float(block_length(program.code))
    value = program.metrics.get(axis)
    if not isinstance(value, int | float) or isinstance(value, bool) or math.isnan(value):
        return None
    return float(value)


def _bin(value: float, low: float, high: float, bins: int) -> int:
    lo, hi, v = math.log1p(max(low, 0.0)), math.log1p(max(high, 0.0)), math.log1p(max(value, 0.0))
    if hi <= lo:
        return 0
    return min(bins - 1, int((v - lo) / (hi - lo) * bins))


def archive(programs: Sequence[ProgramView], axes: Sequence[str], bins: int,
            fitness: Fitness) -> dict[tuple[int, ...], ProgramView]:
    """The elite (best score, then oldest) of each occupied cell among correct programs that have
    every feature."""
    candidates = []
    for p in first_of_each_score(programs):
        values = [feature(p, a) for a in axes]
        if all(v is not None for v in values):
            candidates.append((p, values))
    if not candidates:
        return {}
    lows = [min(vs[i] for _, vs in candidates) for i in range(len(axes))]
    highs = [max(vs[i] for _, vs in candidates) for i in range(len(axes))]
    cells: dict[tuple[int, ...], ProgramView] = {}
    for p, values in candidates:
        cell = tuple(_bin(v, lows[i], highs[i], bins) for i, v in enumerate(values))
        current = cells.get(cell)
        if current is None or best_of([current, p], fitness) is p:
            cells[cell] = p
    return cells


def select_elites(programs: Sequence[ProgramView], axes: Sequence[str], bins: int,
                  rng: random.Random, elite_probability: float, inspirations: int,
                  fitness: Fitness) -> tuple[ProgramView, tuple[ProgramView, ...]] | None:
    """(parent, inspirations) from the archive, or None when it is empty."""
    cells = archive(programs, axes, bins, fitness)
    if not cells:
        return None
    elites = [cells[c] for c in sorted(cells)]
    if rng.random() < elite_probability:
        parent = best_of(elites, fitness)
    else:
        parent = rng.choice(elites)
    assert parent is not None
    others = [p for p in elites if p.id != parent.id and p.code != parent.code]
    chosen = tuple(rng.sample(others, min(max(inspirations, 0), len(others))))
    return parent, chosen
