"""Queries and writes on the lineage database. Sessions are opened by callers, not here.

Also resolves where a run's database lives: by default each run has its own SQLite file
``<runs_dir>/<run-id>/adrs.sqlite`` (WAL mode); any SQLAlchemy URL can hold many runs instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, func, select
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session

from adrs.db.models import Base, Evaluation, LLMCall, Program, Run
from adrs.errors import DatabaseError
from adrs.program import ProgramView

__all__ = ["DatabaseError"]

DB_FILE = "adrs.sqlite"


def sqlite_url(runs_dir: Path, run_id: str) -> str:
    return f"sqlite:///{(runs_dir / run_id / DB_FILE).resolve()}"


def open_engine(url: str, create: bool = True) -> Engine:
    """Connect (and create tables if ``create``); unreachable or malformed URLs raise DatabaseError."""
    try:
        engine = create_engine(url)
    except (ArgumentError, ImportError, ValueError) as err:
        raise DatabaseError(f"invalid database URL {url!r}: {err}") from err
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    try:
        if create:
            Base.metadata.create_all(engine)
        else:
            with engine.connect():
                pass
    except OperationalError as err:
        raise DatabaseError(f"cannot open database {url!r}: {err.orig}") from err
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def locate_run(runs_dir: Path, db_url: str | None, run_id: str | None) -> tuple[str, str]:
    """(database URL, run id) for ``run_id`` (default: the newest run)."""
    if db_url:
        with Session(open_engine(db_url, create=False)) as session:
            query = select(Run.id).order_by(Run.created_at.desc())
            if run_id:
                query = query.where(Run.id == run_id)
            found = session.scalars(query).first()
        if found is None:
            raise DatabaseError(f"no run {run_id or ''} in {db_url}".replace("  ", " "))
        return db_url, found
    if run_id:
        if not (runs_dir / run_id / DB_FILE).is_file():
            known = ", ".join(r.name for r in run_dirs(runs_dir)[:5]) or "none"
            raise DatabaseError(f"no run {run_id!r} in {runs_dir} (recent runs: {known})")
        return sqlite_url(runs_dir, run_id), run_id
    runs = run_dirs(runs_dir)
    if not runs:
        raise DatabaseError(f"no runs in {runs_dir}; start one with `adrs run smtt`")
    return sqlite_url(runs_dir, runs[0].name), runs[0].name


def run_dirs(runs_dir: Path) -> list[Path]:
    """Run folders holding a database, newest first."""
    if not runs_dir.is_dir():
        return []
    found = [p for p in runs_dir.iterdir() if (p / DB_FILE).is_file()]
    return sorted(found, key=lambda p: (p / DB_FILE).stat().st_mtime, reverse=True)


def view(row: Program) -> ProgramView:
    return ProgramView(id=row.id, code=row.code, status=row.status, score=row.score,
                       metrics=dict(row.metrics or {}), feedback=row.feedback,
                       generation=row.generation, island=row.island, seq=row.seq,
                       parent_id=row.parent_id)


def program_views(session: Session, run_id: str) -> list[ProgramView]:
    rows = session.scalars(select(Program).where(Program.run_id == run_id).order_by(Program.seq))
    return [view(row) for row in rows]


def get_program(session: Session, program_id: int, run_id: str | None = None) -> Program:
    row = session.get(Program, program_id)
    if row is None or (run_id is not None and row.run_id != run_id):
        raise DatabaseError(f"no program {program_id}" + (f" in run {run_id}" if run_id else ""))
    return row


def best_program(session: Session, run_id: str, direction: str) -> Program | None:
    order = Program.score.asc() if direction == "minimize" else Program.score.desc()
    query = (select(Program).where(Program.run_id == run_id, Program.status == "ok")
             .order_by(order, Program.seq))
    return session.scalars(query).first()


def lineage(session: Session, program_id: int) -> list[Program]:
    """The program and its ancestors, from the seed down to the program."""
    chain: list[Program] = []
    row: Program | None = get_program(session, program_id)
    while row is not None:
        chain.append(row)
        row = session.get(Program, row.parent_id) if row.parent_id is not None else None
    return chain[::-1]


@dataclass(frozen=True)
class RunSummary:
    id: str
    problem: str
    proposer: str
    status: str
    programs: int
    valid: int
    best_score: float | None
    cost_usd: float
    elapsed_s: float


def summarize_run(session: Session, run: Run) -> RunSummary:
    best = best_program(session, run.id, run.direction)
    count = session.scalar(select(func.count()).where(Program.run_id == run.id)) or 0
    valid = session.scalar(select(func.count()).where(Program.run_id == run.id,
                                                      Program.status == "ok")) or 0
    cost = session.scalar(select(func.coalesce(func.sum(LLMCall.cost_usd), 0.0))
                          .where(LLMCall.run_id == run.id)) or 0.0
    return RunSummary(run.id, run.problem, run.proposer, run.status, count, valid,
                      best.score if best else None, float(cost), run.elapsed_s)


def evaluations(session: Session, run_id: str, split: str) -> list[Evaluation]:
    query = select(Evaluation).where(Evaluation.run_id == run_id, Evaluation.split == split)
    return list(session.scalars(query.order_by(Evaluation.id)))
