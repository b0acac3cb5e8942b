"""Connecting to a lineage database: create the engine and bring the schema to the newest revision.

Used by the driver's store (``adrs.db.store``) and, for non-SQLite URLs, by the read-only browsing
reader (``adrs.db.reader``). Opens connections only; reads and writes live in those two modules.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import InterfaceError, OperationalError

from adrs.db import migrate
from adrs.db.connect import connection_error, create_engine_for, shown
from adrs.db.models import Base


def open_engine(url: str, create: bool = True) -> Engine:
    """Connect; with ``create``, bring the schema to the newest revision (``adrs.db.migrate``, and
    say so on stderr when an existing database was upgraded). Unreachable or malformed URLs and
    missing drivers raise DatabaseError, with any password masked (``adrs.db.connect``)."""
    engine = create_engine_for(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    try:
        if create:
            message = migrate.upgrade(engine)
            if message:
                print(f"adrs: {message} ({shown(url)})", file=sys.stderr)
            # safety net for a model change that lacks its migration (a test fails on such drift)
            _add_missing_columns(engine)
            _add_missing_indexes(engine)
        else:
            with engine.connect():
                pass
    except (OperationalError, InterfaceError) as err:
        raise connection_error(url, err) from None
    return engine


def create_sqlite(path: Path) -> None:
    """Create a run's SQLite database with its whole schema, then move it into place, so a browsing
    command never finds the file without its tables (migrating takes a moment)."""
    building = path.with_name(path.name + ".new")
    engine = open_engine(f"sqlite:///{building}")
    engine.dispose()  # the last connection closes: the WAL is checkpointed into the file
    os.replace(building, path)


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
