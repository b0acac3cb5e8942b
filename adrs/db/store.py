"""The campaign driver's side of the lineage database: the only writer of runs, programs,
evaluations and LLM calls.

By default each run has its own SQLite file ``<runs_dir>/<run-id>/adrs.sqlite`` (WAL mode); any
SQLAlchemy URL can hold many runs instead. ``create_run`` / ``reopen_run`` start a session of a
run; ``RunStore`` is the loop's one session (programs as ProgramView values in, Outcome values
out); ``add_evaluations`` stores validation/holdout scores. Browsing commands read through
``adrs.db.reader`` (no SQLAlchemy import for SQLite) and never write.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import Engine, bindparam, insert, select, update
from sqlalchemy.orm import Session, aliased

from adrs.db.engine import create_sqlite, open_engine
from adrs.db.models import Evaluation, LLMCall, Program, Run
from adrs.db.paths import DB_FILE, run_dirs, sqlite_url
from adrs.errors import DatabaseError
from adrs.program import ProgramView
from adrs.redact import redact

if TYPE_CHECKING:
    from adrs.outcome import Outcome

__all__ = ["DB_FILE", "DatabaseError", "RunStore", "create_sqlite", "open_engine", "run_dirs", "sqlite_url"]


_VIEW_COLUMNS = (Program.id, Program.code, Program.status, Program.score, Program.metrics,
                 Program.feedback, Program.generation, Program.island, Program.seq,
                 Program.parent_id)


def program_views(session: Session, run_id: str) -> list[ProgramView]:
    """The run's programs in seq order, read column by column (SQLAlchemy Core: no ORM rows, no
    prompt/diff/private columns) and streamed, so that a resume of a long run keeps no peak."""
    query = (select(*_VIEW_COLUMNS).where(Program.run_id == run_id).order_by(Program.seq)
             .execution_options(yield_per=500))
    return [_view(r.id, r._mapping, r.score) for r in session.connection().execute(query)]


class CallRecord(NamedTuple):
    """What ``adrs.feedback.restore_proposer`` reads of a stored LLM call."""

    model: str
    cost_usd: float
    error: str


class ChildRecord(NamedTuple):
    """What ``restore_proposer`` reads of the program made for a call (and of its parent)."""

    model: str | None
    status: str
    score: float | None
    parent_id: int | None


class ParentRecord(NamedTuple):
    status: str
    score: float | None


def evaluations(session: Session, run_id: str, split: str) -> list[Evaluation]:
    query = select(Evaluation).where(Evaluation.run_id == run_id, Evaluation.split == split)
    return list(session.scalars(query.order_by(Evaluation.id)))


def add_program_evaluations(session: Session, run_id: str, split: str,
                            results: Mapping[int, Any]) -> None:
    """Store EvalResults on ``split`` keyed by program id."""
    for program_id, r in results.items():
        session.add(Evaluation(run_id=run_id, program_id=program_id, split=split, status=r.status,
                               score=r.score, metrics=dict(r.metrics), feedback=r.feedback,
                               runtime_s=r.runtime_s))
    session.commit()


def add_evaluations(session: Session, run_id: str, split: str, results: Mapping[str, Any],
                    best_id: int | None = None) -> None:
    """Store EvalResults on ``split`` keyed by baseline name, or "best" for program ``best_id``."""
    for name, r in results.items():
        session.add(Evaluation(run_id=run_id, program_id=best_id if name == "best" else None,
                               baseline=None if name == "best" else name, split=split,
                               status=r.status, score=r.score, metrics=dict(r.metrics),
                               feedback=r.feedback, runtime_s=r.runtime_s,
                               node=r.node or None))
    session.commit()


def create_run(engine: Engine, run_id: str, values: Mapping[str, Any]) -> None:
    """Add the run row (``values``: the Run columns: problem, config, seed, ...)."""
    with Session(engine) as session:
        session.add(Run(id=run_id, **values))
        session.commit()


def reopen_run(engine: Engine, run_id: str, values: Mapping[str, Any]) -> None:
    """Mark a stored run as running again with the new column ``values`` (config, isolation)."""
    with Session(engine) as session:
        run = session.get(Run, run_id)
        if run is None:
            raise DatabaseError(f"no run {run_id} in {engine.url!r}")  # SQLAlchemy masks the password
        run.status, run.stop_reason = "running", ""
        for name, value in values.items():
            setattr(run, name, value)
        session.commit()


class RunStore:
    """One run's session for the loop: reads its state once, then writes one row per outcome."""

    def __init__(self, engine: Engine, run_id: str) -> None:
        self.session, self.run_id = Session(engine), run_id

    def close(self) -> None:
        self.session.close()

    def programs(self) -> list[ProgramView]:
        return program_views(self.session, self.run_id)

    def spent(self) -> tuple[float, float]:
        """(elapsed seconds of earlier sessions, dollars spent on LLM calls so far)."""
        run = self._run()
        cost = sum(self.session.scalars(select(LLMCall.cost_usd)  # one float column, in Python
                                        .where(LLMCall.run_id == self.run_id)))  # (same sum)
        return run.elapsed_s, cost

    def llm_history(self) -> list[tuple[CallRecord, ChildRecord | None, ParentRecord | None]]:
        """Every stored LLM call (in call order) with the program made for it and its parent:
        only the columns ``restore_proposer`` reads, joined in SQL (no program row is loaded
        for a run without LLM calls)."""
        child, parent = aliased(Program), aliased(Program)
        query = (select(LLMCall.model, LLMCall.cost_usd, LLMCall.error, child.id, child.model,
                        child.status, child.score, child.parent_id, parent.id, parent.status,
                        parent.score)
                 .outerjoin(child, (child.run_id == LLMCall.run_id) & (child.seq == LLMCall.seq))
                 .outerjoin(parent, parent.id == child.parent_id)
                 .where(LLMCall.run_id == self.run_id).order_by(LLMCall.id)
                 .execution_options(yield_per=500))
        history = []
        for (model, cost, error, child_id, child_model, status, score, parent_id, parent_row,
             parent_status, parent_score) in self.session.connection().execute(query):
            history.append((CallRecord(model, cost, error),
                            ChildRecord(child_model, status, score, parent_id)
                            if child_id is not None else None,
                            ParentRecord(parent_status, parent_score)
                            if parent_row is not None else None))
        return history

    def baseline_scores(self, split: str) -> dict[str, float | None]:
        return {e.baseline: e.score for e in evaluations(self.session, self.run_id, split)
                if e.baseline}

    def add_baselines(self, split: str, results: Mapping[str, Any]) -> None:
        add_evaluations(self.session, self.run_id, split, results)

    def add_outcome(self, outcome: Outcome, elapsed_s: float) -> ProgramView:
        """Store the outcome as a program row (and its LLM calls) and commit; return the program's
        view, equal to what reading the row back gives (no read: one INSERT per row, one UPDATE
        of the run, one commit, through SQLAlchemy Core)."""
        row = program_values(self.run_id, outcome)
        connection = self.session.connection()
        program_id = connection.execute(_INSERT_PROGRAM, row).inserted_primary_key[0]
        calls = llm_call_values(self.run_id, outcome)
        if calls:
            connection.execute(_INSERT_LLM_CALL, calls)
        connection.execute(_UPDATE_RUN, {"run_id": self.run_id, "elapsed_s": elapsed_s})
        self.session.commit()
        return stored_view(program_id, row, connection.dialect.name)

    def finish(self, status: str, reason: str, elapsed_s: float) -> None:
        """Record how this session ended (anything not committed is dropped first)."""
        self.session.rollback()
        run = self.session.get(Run, self.run_id)
        if run is not None:
            run.status, run.stop_reason, run.elapsed_s = status, redact(reason), elapsed_s
            self.session.commit()

    def _run(self) -> Run:
        run = self.session.get(Run, self.run_id)
        if run is None:
            raise DatabaseError(f"no run {self.run_id}")
        return run


_INSERT_PROGRAM = insert(Program.__table__)
_INSERT_LLM_CALL = insert(LLMCall.__table__)
_UPDATE_RUN = (update(Run.__table__).where(Run.__table__.c.id == bindparam("run_id"))
               .values(elapsed_s=bindparam("elapsed_s")))  # updated_at: the column's onupdate


def program_values(run_id: str, outcome: Outcome) -> dict[str, Any]:
    """The program row's columns for ``outcome`` (JSON columns as they read back)."""
    plan, proposal, result = outcome.plan, outcome.proposal, outcome.result
    parent = plan.parent
    return dict(
        run_id=run_id, seq=plan.seq, parent_id=parent.id if parent else None,
        island=plan.island, generation=parent.generation + 1 if parent else 0, kind=plan.kind,
        code=outcome.code, diff=outcome.candidate.diff if outcome.candidate else "",
        status=str(result.status), score=result.score, metrics=_as_read(result.metrics),
        private_metrics=_as_read(result.private_metrics), feedback=redact(result.feedback),
        proposer=proposal.proposer if proposal else "seed",
        model=proposal.model if proposal else None, note=outcome.note,
        prompt=proposal.prompt if proposal else "", propose_s=outcome.propose_s,
        eval_s=outcome.eval_s, runtime_s=result.runtime_s, node=result.node or None,
        mate_id=plan.mate.id if plan.mate else None)


def llm_call_values(run_id: str, outcome: Outcome) -> list[dict[str, Any]]:
    """One llm_call row per call made for ``outcome``'s proposal."""
    proposal, plan = outcome.proposal, outcome.plan
    return [dict(run_id=run_id, seq=plan.seq, model=usage.model,
                 prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens,
                 cost_usd=usage.cost_usd, latency_s=usage.latency_s, error=usage.error,
                 kind=plan.kind, choice=usage.choice, finish_reason=usage.finish_reason,
                 attempts=usage.attempts, cached=usage.cached)
            for usage in (proposal.calls if proposal else ())]


def stored_view(program_id: int, row: Mapping[str, Any], dialect: str) -> ProgramView:
    """The view of the program row just inserted with ``row``, as ``program_views`` reading it
    back gives."""
    score = row["score"]
    if score is not None:
        score = float(score)
        if math.isnan(score) and dialect == "sqlite":
            score = None  # SQLite stores NaN as NULL
    return _view(program_id, row, score)


def _view(program_id: int, row: Mapping[str, Any], score: float | None) -> ProgramView:
    """A ProgramView of a program row's columns (status and metric names interned)."""
    return ProgramView(id=program_id, code=row["code"], status=sys.intern(row["status"]),
                       score=score, metrics=shared_keys(row["metrics"] or {}),
                       feedback=row["feedback"], generation=row["generation"],
                       island=row["island"], seq=row["seq"], parent_id=row["parent_id"])


def shared_keys(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``metrics`` whose names are interned: the driver keeps a view of every program,
    and each row's JSON would otherwise hold its own copy of every metric name (~330 of the
    ~5,300 bytes a smtt program's view holds)."""
    return {sys.intern(name): value for name, value in metrics.items()}


def _as_read(value: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON column's value as it reads back (tuples become lists, numpy floats floats, ...).

    Infinite and NaN numbers become null: PostgreSQL's JSON type refuses them, and one dialect's
    row must read like the other's (the score column keeps them; the feedback shows them)."""
    return json.loads(json.dumps(dict(value)), parse_constant=lambda _: None)
