"""Connecting to a lineage database: create the engine, the tables and columns newer versions add.

Used by the driver's store (``adrs.db.store``) and, for non-SQLite URLs, by the read-only browsing
reader (``adrs.db.reader``). Opens connections only; reads and writes live in those two modules.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import ArgumentError, OperationalError

from adrs.db.models import Base
from adrs.errors import DatabaseError


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
            _add_missing_indexes(engine)
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


def _add_missing_indexes(engine: Engine) -> None:
    """Create indexes that newer models define on tables of an older database (e.g. a resumed run)."""
    for table in Base.metadata.sorted_tables:
        for index in table.indexes:
            index.create(engine, checkfirst=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
