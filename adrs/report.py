"""The best program of a run compared with the problem's baselines on a held-back split.

Scores on the validation (or holdout) split are computed in this process through the sandbox (no
Ray), in parallel threads since each candidate runs in its own subprocess. The campaign driver
stores them as Evaluation rows at the end of a run; browsing commands reuse those rows and never
write (only the driver writes to the database).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy.orm import Session

from adrs.config import load_run_config
from adrs.db import store
from adrs.db.models import Evaluation, Program, Run
from adrs.evaluation import EvalResult, Split, evaluate_program
from adrs.problem import ProblemSpec


@dataclass(frozen=True)
class ReportRow:
    name: str  # "best" or a baseline name
    status: str
    score: float | None
    metrics: dict[str, float]


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


def best_report(session: Session, run: Run, spec: ProblemSpec, split: Split = "validation",
                *, save: bool = False, threads: int = 2) -> BestReport:
    """Score the run's best program and every baseline on ``split`` (stored rows reused)."""
    best = store.best_program(session, run.id, run.direction)
    if best is None:
        raise store.DatabaseError(f"run {run.id} has no correct program yet")
    stored = _stored(session, run.id, split, best.id)
    todo = {name: code for name, code in _programs(best, spec).items() if name not in stored}
    if todo:
        evaluator = spec.load_evaluator()
        limits = spec.limits_with(load_run_config(base=run.config).sandbox)
        with ThreadPoolExecutor(max_workers=threads) as pool:
            futures = {name: pool.submit(evaluate_program, code, evaluator, split, limits)
                       for name, code in todo.items()}
            results = {name: future.result() for name, future in futures.items()}
        if save:
            _save(session, run.id, best.id, split, results)
        stored.update({name: _row(name, r.status, r.score, r.metrics) for name, r in results.items()})
    order = ["best", *spec.baselines]
    return BestReport(run.id, best.id, best.score, split, spec.objective, run.direction,
                      [stored[name] for name in order])


def _programs(best: Program, spec: ProblemSpec) -> dict[str, str]:
    return {"best": best.code} | {name: path.read_text() for name, path in spec.baselines.items()}


def _row(name: str, status: str, score: float | None, metrics: dict[str, Any]) -> ReportRow:
    return ReportRow(name, status, score, dict(metrics))


def _stored(session: Session, run_id: str, split: str, best_id: int) -> dict[str, ReportRow]:
    rows = {}
    for e in store.evaluations(session, run_id, split):
        if e.baseline:
            rows[e.baseline] = _row(e.baseline, e.status, e.score, e.metrics)
        elif e.program_id == best_id:
            rows["best"] = _row("best", e.status, e.score, e.metrics)
    return rows


def _save(session: Session, run_id: str, best_id: int, split: str,
          results: dict[str, EvalResult]) -> None:
    for name, r in results.items():
        session.add(Evaluation(run_id=run_id, program_id=best_id if name == "best" else None,
                               baseline=None if name == "best" else name, split=split,
                               status=r.status, score=r.score, metrics=dict(r.metrics),
                               feedback=r.feedback, runtime_s=r.runtime_s))
    session.commit()
