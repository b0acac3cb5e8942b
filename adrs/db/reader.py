"""Read-only access to run databases for the browsing commands, quick to start.

SQLite URLs (the default, one file per run) are read with the standard library's ``sqlite3`` in
read-only mode, so ``adrs runs / best / show / lineage`` never import SQLAlchemy (0.3-0.4 s on a
2-core machine); any other URL (e.g. PostgreSQL) goes through SQLAlchemy Core with the same SQL.
Rows come back as plain records. This module never writes; the campaign driver (``adrs.db.store``)
owns the schema (``adrs.db.models``) and all writes; ``adrs.db.engine`` opens connections.
Also resolves where a run's database lives.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import quote

from adrs.db.paths import DB_FILE, SQLITE_PREFIX, run_dirs, sqlite_url
from adrs.errors import DatabaseError
from adrs.redact import redact, url_password
from adrs.status import Status

__all__ = ["DB_FILE", "Reader", "open_reader", "run_dirs", "sqlite_url"]

class Reader:
    """Runs SELECT statements (named ``:param`` style) against one database URL."""

    def __init__(self, url: str, *, core: bool = False) -> None:
        """``core=True`` uses SQLAlchemy Core even for a SQLite file (as for any other URL)."""
        self.url = url
        self._sqlite: sqlite3.Connection | None = None
        self._engine: Any = None
        self._columns: dict[str, frozenset[str]] = {}
        if url.startswith(SQLITE_PREFIX) and "?" not in url and not core:
            path = Path(url[len(SQLITE_PREFIX):])
            if not path.is_file():
                raise DatabaseError(f"cannot open database {url!r}: no such file")
            try:
                self._sqlite = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)
                self._sqlite.execute("PRAGMA busy_timeout=5000")
            except sqlite3.Error as err:
                raise DatabaseError(f"cannot open database {url!r}: {err}") from err
        else:
            from adrs.db.connect import connection_error, create_engine_for

            self._engine = create_engine_for(url)
            try:
                self._engine.connect().close()
            except Exception as err:  # unreachable server, bad password, ...: shown masked
                self._engine.dispose()
                raise connection_error(url, err) from None

    def rows(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        try:
            if self._sqlite is not None:
                cursor = self._sqlite.execute(sql, params)
                names = [c[0] for c in cursor.description]
                return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
            return self._core(sql, params, lambda result: [dict(r) for r in result.mappings()])
        except sqlite3.Error as err:
            raise DatabaseError(f"cannot read {self.url!r}: {err}") from err

    def tuples(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        """Like ``rows`` but plain tuples in SELECT order (cheaper for tens of thousands of rows)."""
        try:
            if self._sqlite is not None:
                return self._sqlite.execute(sql, params).fetchall()
            return self._core(sql, params, lambda result: [tuple(r) for r in result])
        except sqlite3.Error as err:
            raise DatabaseError(f"cannot read {self.url!r}: {err}") from err

    def columns(self, table: str) -> frozenset[str]:
        """The names of ``table``'s columns (a database not yet upgraded lacks the newer ones)."""
        if table not in self._columns:
            sql = f"SELECT * FROM {table} WHERE 1 = 0"
            try:
                names = [c[0] for c in self._sqlite.execute(sql).description] \
                    if self._sqlite is not None else self._core(sql, {}, lambda r: list(r.keys()))
            except sqlite3.Error as err:
                raise DatabaseError(f"cannot read {self.url!r}: {err}") from err
            self._columns[table] = frozenset(names)
        return self._columns[table]

    def _core(self, sql: str, params: dict[str, Any], collect: Any) -> Any:
        """``collect(result)`` of ``sql`` through SQLAlchemy Core (non-SQLite URLs); errors masked."""
        from sqlalchemy import text
        from sqlalchemy.exc import SQLAlchemyError

        try:
            with self._engine.connect() as connection:
                return collect(connection.execute(text(sql), params))
        except SQLAlchemyError as err:
            raise DatabaseError(f"cannot read {redact(self.url)!r}: "
                                f"{redact(str(getattr(err, 'orig', err)), url_password(self.url))}"
                                ) from None

    def close(self) -> None:
        if self._sqlite is not None:
            self._sqlite.close()
        if self._engine is not None:
            self._engine.dispose()


@contextmanager
def open_reader(url: str, *, core: bool = False) -> Iterator[Reader]:
    reader = Reader(url, core=core)
    try:
        yield reader
    finally:
        reader.close()


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else (value or {})


def _record(cls: type, row: dict[str, Any], json_fields: tuple[str, ...] = ()) -> Any:
    values = {f.name: row.get(f.name) for f in fields(cls)}
    for name in json_fields:
        values[name] = _json(values[name])
    return cls(**values)


@dataclass(frozen=True)
class RunRecord:
    id: str
    problem: str
    problem_root: str
    config: dict[str, Any]
    objective: str
    direction: str
    seed: int
    proposer: str
    isolation: str
    status: str
    stop_reason: str
    elapsed_s: float
    created_at: Any
    updated_at: Any = None  # the driver's heartbeat while running (adrs.run_state)


@dataclass(frozen=True)
class ProgramRecord:
    id: int
    run_id: str
    seq: int
    parent_id: int | None
    island: int
    generation: int
    kind: str
    code: str
    diff: str
    status: str
    score: float | None
    metrics: dict[str, Any]
    feedback: str
    proposer: str
    model: str | None
    note: str
    prompt: str
    eval_s: float
    runtime_s: float
    node: str | None = None  # the Ray node that evaluated it (None in databases before 0003)
    mate_id: int | None = None  # a crossover's second parent (before 0004: read from the note)


@dataclass(frozen=True)
class EvaluationRecord:
    program_id: int | None
    baseline: str | None
    split: str
    status: str
    score: float | None
    metrics: dict[str, Any]
    feedback: str = ""


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


def runs(reader: Reader) -> list[RunRecord]:
    """Every run in the database, newest first."""
    return [_record(RunRecord, row, ("config",))
            for row in reader.rows("SELECT * FROM run ORDER BY created_at DESC")]


def get_run(reader: Reader, run_id: str) -> RunRecord:
    found = reader.rows("SELECT * FROM run WHERE id = :id", id=run_id)
    if not found:
        raise DatabaseError(f"no run {run_id} in {redact(reader.url)}")
    return _record(RunRecord, found[0], ("config",))


def locate_run(runs_dir: Path, db_url: str | None, run_id: str | None) -> tuple[str, str]:
    """(database URL, run id) for ``run_id`` (default: the newest run)."""
    if db_url:
        with open_reader(db_url) as reader:
            ids = [r.id for r in runs(reader) if run_id in (None, r.id)]
        if not ids:
            raise DatabaseError(f"no run {run_id or ''} in {redact(db_url)}".replace("  ", " "))
        return db_url, ids[0]
    if run_id:
        if not (runs_dir / run_id / DB_FILE).is_file():
            known = ", ".join(r.name for r in run_dirs(runs_dir)[:5]) or "none"
            raise DatabaseError(f"no run {run_id!r} in {runs_dir} (recent runs: {known})")
        return sqlite_url(runs_dir, run_id), run_id
    found = run_dirs(runs_dir)
    if not found:
        raise DatabaseError(f"no runs in {runs_dir}; start one with `adrs run smtt`")
    return sqlite_url(runs_dir, found[0].name), found[0].name


_PROGRAM_COLUMNS = "*"  # every column: a database not yet upgraded may lack newer ones (node)
_MATE_NOTE = re.compile(r"crossover with program #(\d+)")  # how the driver's notes begin


def mate_in_note(note: str | None) -> int | None:
    """The second parent a crossover's note names. Databases before schema 0004 have no mate_id
    column, only the note, and browsing never migrates: they are read as they are."""
    found = _MATE_NOTE.match(note or "")
    return int(found.group(1)) if found else None


def _program(row: dict[str, Any]) -> ProgramRecord:
    if "mate_id" not in row:  # a database before 0004
        row = {**row, "mate_id": mate_in_note(row["note"])}
    return _record(ProgramRecord, row, ("metrics",))


def get_program(reader: Reader, program_id: int, run_id: str | None = None) -> ProgramRecord:
    found = reader.rows(f"SELECT {_PROGRAM_COLUMNS} FROM program WHERE id = :id", id=program_id)
    if not found or (run_id is not None and found[0]["run_id"] != run_id):
        raise DatabaseError(f"no program {program_id}" + (f" in run {run_id}" if run_id else ""))
    return _program(found[0])


def best_program(reader: Reader, run: RunRecord) -> ProgramRecord | None:
    """The run's best correct program (the earliest among equal scores)."""
    order = "ASC" if run.direction == "minimize" else "DESC"
    # The id first, from light columns only (an index covers them), then the whole row: sorting
    # whole rows would read every program's code and prompt.
    found = reader.rows(f"SELECT id FROM program WHERE run_id = :run AND status = '{Status.OK}' "
                        f"AND score IS NOT NULL ORDER BY score {order}, seq LIMIT 1", run=run.id)
    return get_program(reader, found[0]["id"]) if found else None


def programs(reader: Reader, run_id: str, status: str | None = None) -> list[ProgramRecord]:
    """The run's programs (only those with ``status`` when given), in candidate order."""
    where = " AND status = :status" if status else ""
    found = reader.rows(f"SELECT {_PROGRAM_COLUMNS} FROM program WHERE run_id = :run{where} "
                        f"ORDER BY seq", run=run_id, status=status)
    return [_program(row) for row in found]


def top_programs(reader: Reader, run: RunRecord, k: int) -> list[ProgramRecord]:
    """The ``k`` best correct programs of ``run`` on train (earliest first among equal scores)."""
    order = "ASC" if run.direction == "minimize" else "DESC"
    found = reader.rows(f"SELECT {_PROGRAM_COLUMNS} FROM program WHERE run_id = :run AND status = 'ok' "
                        f"ORDER BY score {order}, seq LIMIT :k", run=run.id, k=k)
    return [_program(row) for row in found]


def program_at(reader: Reader, run_id: str, seq: int) -> ProgramRecord | None:
    """Candidate ``seq`` of a run (0: the seed), if stored."""
    found = reader.rows(f"SELECT {_PROGRAM_COLUMNS} FROM program WHERE run_id = :run AND seq = :seq",
                        run=run_id, seq=seq)
    return _program(found[0]) if found else None


def lineage(reader: Reader, program_id: int) -> list[ProgramRecord]:
    """The program and its ancestors, from the seed down to the program."""
    chain = [get_program(reader, program_id)]
    while chain[-1].parent_id is not None:
        chain.append(get_program(reader, chain[-1].parent_id))
    return chain[::-1]


def evaluations(reader: Reader, run_id: str, split: str) -> list[EvaluationRecord]:
    found = reader.rows("SELECT * FROM evaluation WHERE run_id = :run AND split = :split ORDER BY id",
                        run=run_id, split=split)
    return [_record(EvaluationRecord, row, ("metrics",)) for row in found]


def summarize_run(reader: Reader, run: RunRecord) -> RunSummary:
    best = best_program(reader, run)
    counts = reader.rows("SELECT COUNT(*) AS programs, "
                         f"COALESCE(SUM(CASE WHEN status = '{Status.OK}' THEN 1 ELSE 0 END), 0) AS valid "
                         "FROM program WHERE run_id = :run", run=run.id)[0]
    cost = reader.rows("SELECT COALESCE(SUM(cost_usd), 0.0) AS cost FROM llm_call WHERE run_id = :run",
                       run=run.id)[0]["cost"]
    from adrs.liveness import effective_status

    folder = Path(reader.url[len(SQLITE_PREFIX):]).parent \
        if reader.url.startswith(SQLITE_PREFIX) else None
    status = effective_status(run.status, run.updated_at, folder=folder)
    return RunSummary(run.id, run.problem, run.proposer, status, int(counts["programs"]),
                      int(counts["valid"]), best.score if best else None, float(cost), run.elapsed_s)
