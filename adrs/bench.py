"""The benchmark contract: a problem's evaluator compares programs and returns tables.

``adrs bench PROBLEM`` builds a ``BenchRequest`` (the problem, the programs to compare, options) and
calls the evaluator package's ``bench(request)`` function, which returns ``BenchTable`` values; the
CLI renders them (rich or JSON) and nothing else. Evaluators run every program through the sandbox
(``run_programs`` below), exactly as during evolution: a benchmarked program is untrusted too.
This module holds the types and the sandboxed runner; it does not know any problem.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from adrs.sandbox import Limits, RunOutcome, run_program


@dataclass(frozen=True)
class BenchRequest:
    """What to benchmark. ``programs`` maps a label to source code: baselines first, then the
    user's files and run bests in the order given."""

    problem: Any  # adrs.problem.ProblemSpec (not imported: keeps this module light)
    programs: dict[str, str]
    data_dir: Path | None = None  # a folder of published instances (evaluator-specific layout)
    sizes: tuple[int, ...] | None = None  # restrict to these instance sizes, if the problem has sizes
    quick: bool = False  # fewer instances / repetitions, for smoke tests
    plot: Path | None = None  # write a figure here (PNG), if the evaluator draws one
    workers: int = 2  # programs or instance chunks evaluated in parallel


@dataclass(frozen=True)
class BenchTable:
    """One table of results. Cells are str, int, float or None (shown as a dash)."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    notes: tuple[str, ...] = ()  # printed under the table (e.g. "reference is best-known, not optimal")

    def as_dict(self) -> dict[str, Any]:
        return {"title": self.title, "columns": list(self.columns),
                "rows": [dict(zip(self.columns, row, strict=True)) for row in self.rows],
                "notes": list(self.notes)}


@dataclass(frozen=True)
class ProgramRun:
    """One program's raw outcome on a list of calls (decoded outputs, per-call times)."""

    label: str
    outcome: RunOutcome = field(repr=False)

    @property
    def ok(self) -> bool:
        return self.outcome.status == "ok"


def run_programs(programs: Mapping[str, str], entry: str, calls: Sequence[Mapping[str, np.ndarray]],
                 limits: Limits, workers: int = 2, **sandbox: Any) -> dict[str, ProgramRun]:
    """Run every program on the same calls in the sandbox, ``workers`` at a time.

    Extra keyword arguments go to ``adrs.sandbox.run_program``. The outcome is raw: the evaluator
    validates outputs and recomputes metrics itself.
    """
    def one(item: tuple[str, str]) -> tuple[str, ProgramRun]:
        label, code = item
        return label, ProgramRun(label, run_program(code, entry, calls, limits, **sandbox))

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return dict(pool.map(one, programs.items()))


def evaluator_bench(request: BenchRequest) -> list[BenchTable]:
    """The bench of a problem whose evaluator provides none: every program scored by the evaluator
    on the validation split (``adrs.executor.LocalExecutor``), objective and public metrics."""
    from adrs.executor import LocalExecutor, evaluate_all

    spec = request.problem
    executor = LocalExecutor(spec.load_evaluator, spec.limits, request.workers)
    try:
        results = evaluate_all(executor, {label: (code, "validation")
                                          for label, code in request.programs.items()})
    finally:
        executor.cancel()
    metrics = sorted({k for r in results.values() for k in r.metrics} - {spec.objective})
    rows = tuple((label, str(r.status), r.score, *(r.metrics.get(k) for k in metrics))
                 for label, r in results.items())
    notes = tuple(f"{label}: {r.feedback.strip().splitlines()[-1][:200]}"
                  for label, r in results.items() if not r.correct and r.feedback.strip())
    return [BenchTable(f"{spec.name}: validation instances ({spec.objective}, {spec.direction})",
                       ("program", "status", spec.objective, *metrics), rows, notes)]
