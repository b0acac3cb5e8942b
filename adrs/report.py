"""The best program of a run compared with the problem's baselines on a held-back split.

Scores on the validation (or holdout) split are computed in this process through the sandbox (no
Ray) by ``adrs.executor.LocalExecutor``, in parallel threads since each candidate runs in its own
subprocess; an evaluator that fails to load or raises gives an ``evaluator_error`` row (with its
traceback as feedback), never an exception. This module reads and
writes no database: callers pass the stored evaluations in, and the campaign driver stores the new
results (``adrs.db.store.add_evaluations``); browsing commands reuse stored rows and never write.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from adrs.db.reader import EvaluationRecord, ProgramRecord, RunRecord

if TYPE_CHECKING:
    from adrs.evaluation import EvalResult, Split
    from adrs.problem import ProblemSpec


@dataclass(frozen=True)
class ReportRow:
    name: str  # "best" or a baseline name
    status: str
    score: float | None
    metrics: dict[str, float]
    feedback: str = ""


@dataclass(frozen=True)
class BestReport:
    run_id: str
    program_id: int
    train_score: float | None
    split: str
    objective: str
    direction: str
    rows: list[ReportRow]

    def row(self, name: str) -> ReportRow | None:
        return next((r for r in self.rows if r.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def best_report(run: RunRecord, best: ProgramRecord, stored: Iterable[EvaluationRecord], spec: ProblemSpec,
                split: Split = "validation", threads: int = 2) -> tuple[BestReport, dict[str, EvalResult]]:
    """Score ``best`` and every baseline on ``split``, reusing ``stored`` evaluations.

    Returns the report and the newly computed results (for the driver to store).
    """
    rows = _stored(stored, best.id)
    todo = {name: code for name, code in _programs(best, spec).items() if name not in rows}
    results: dict[str, EvalResult] = {}
    if todo:  # imported here: showing stored rows needs neither numpy nor the sandbox
        from adrs.config import load_run_config
        from adrs.executor import LocalExecutor, evaluate_all

        limits = spec.limits_with(load_run_config(base=run.config).sandbox)
        executor = LocalExecutor(spec.load_evaluator, limits, threads)
        results = evaluate_all(executor, {name: (code, split) for name, code in todo.items()})
        executor.cancel()
        rows.update({name: _row(name, r.status, r.score, r.metrics, r.feedback)
                     for name, r in results.items()})
    order = ["best", *spec.baselines]
    report = BestReport(run.id, best.id, best.score, split, spec.objective, run.direction,
                        [rows[name] for name in order])
    return report, results


def _programs(best: ProgramRecord, spec: ProblemSpec) -> dict[str, str]:
    return {"best": best.code} | {name: path.read_text() for name, path in spec.baselines.items()}


def _row(name: str, status: str, score: float | None, metrics: dict[str, Any],
         feedback: str = "") -> ReportRow:
    return ReportRow(name, str(status), score, dict(metrics), feedback)


def _stored(evaluations: Iterable[EvaluationRecord], best_id: int) -> dict[str, ReportRow]:
    rows = {}
    for e in evaluations:
        if e.baseline:
            rows[e.baseline] = _row(e.baseline, e.status, e.score, e.metrics, e.feedback)
        elif e.program_id == best_id:
            rows["best"] = _row("best", e.status, e.score, e.metrics, e.feedback)
    return rows
