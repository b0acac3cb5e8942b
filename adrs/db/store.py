"""The campaign driver's side of the lineage database: engine, ORM queries and writes.

By default each run has its own SQLite file ``<runs_dir>/<run-id>/adrs.sqlite`` (WAL mode); any
SQLAlchemy URL can hold many runs instead. Sessions are opened by callers, not here. Browsing
commands read through ``adrs.db.reader`` (no SQLAlchemy import for SQLite) and never write.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session

from adrs.db.models import Base, Evaluation, Program
from adrs.db.reader import DB_FILE, run_dirs, sqlite_url
from adrs.errors import DatabaseError
from adrs.program import ProgramView

__all__ = ["DatabaseError", "DB_FILE", "run_dirs", "sqlite_url"]


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
            _add_missing_columns(engine)
        else:
            with engine.connect():
                pass
    except OperationalError as err:
        raise DatabaseError(f"cannot open database {url!r}: {err.orig}") from err
    return engine


def _add_missing_columns(engine: Engine) -> None:
    """Add columns that newer versions of ``adrs.db.models`` define to tables of an older database
    (e.g. the llm_call accounting columns), with their scalar defaults, so old runs can resume."""
    from sqlalchemy import inspect, text

    inspector = inspect(engine)
    with engine.begin() as connection:
        for table in Base.metadata.sorted_tables:
            present = {c["name"] for c in inspector.get_columns(table.name)}
            for column in table.columns:
                default = column.default.arg if column.default is not None else None
                if column.name in present or callable(default) or (default is None
                                                                   and not column.nullable):
                    continue  # present, or no constant to fill existing rows with
                literal = ("NULL" if default is None else str(int(default)) if isinstance(default, bool)
                           else "'" + default.replace("'", "''") + "'" if isinstance(default, str)
                           else repr(default))
                kind = column.type.compile(dialect=engine.dialect)
                connection.execute(text(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind} '
                                        f"DEFAULT {literal}"))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def view(row: Program) -> ProgramView:
    return ProgramView(id=row.id, code=row.code, status=row.status, score=row.score,
                       metrics=dict(row.metrics or {}), feedback=row.feedback,
                       generation=row.generation, island=row.island, seq=row.seq,
                       parent_id=row.parent_id)


def program_views(session: Session, run_id: str) -> list[ProgramView]:
    rows = session.scalars(select(Program).where(Program.run_id == run_id).order_by(Program.seq))
    return [view(row) for row in rows]


def evaluations(session: Session, run_id: str, split: str) -> list[Evaluation]:
    query = select(Evaluation).where(Evaluation.run_id == run_id, Evaluation.split == split)
    return list(session.scalars(query.order_by(Evaluation.id)))


def add_evaluations(session: Session, run_id: str, split: str, results: dict[str, Any],
                    best_id: int) -> None:
    """Store EvalResults on ``split`` keyed by baseline name, or "best" for program ``best_id``."""
    for name, r in results.items():
        session.add(Evaluation(run_id=run_id, program_id=best_id if name == "best" else None,
                               baseline=None if name == "best" else name, split=split,
                               status=r.status, score=r.score, metrics=dict(r.metrics),
                               feedback=r.feedback, runtime_s=r.runtime_s))
    session.commit()
