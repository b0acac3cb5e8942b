"""Versioned lineage schema: bring a database to the newest revision with Alembic.

Migrations live in ``adrs/db/migrations/versions`` (0001 is the schema as it was before Alembic,
so databases made by earlier adrs versions upgrade in place). Campaign drivers call ``upgrade``
when they open a database; ``adrs db upgrade`` does it by hand. A database already at ``HEAD`` is
recognised with one query, without importing Alembic. An empty database is built from the models
(``adrs.db.models``) and stamped ``HEAD`` in one transaction, without Alembic (whose import and
migrations cost about 0.15 s of every new run's start); a test checks that the migrations build
exactly the models' schema, so both roads lead to the same database. On PostgreSQL an advisory
lock makes drivers that start at the same moment migrate one after the other. Browsing commands never migrate.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adrs.errors import DatabaseError

HEAD = "0004_program_mate"  # the newest revision (tests check it against the scripts)
BASELINE = "0001_baseline"
MIGRATIONS = Path(__file__).with_name("migrations")
_PG_LOCK_KEY = 0x61647273  # "adrs": serializes migrations of one PostgreSQL database


def revision(connection: Any) -> str | None:
    """The database's schema revision; None for a database without an ``alembic_version`` table."""
    from sqlalchemy import inspect, text

    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def alembic_config(connection: Any = None) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Any) -> str | None:
    """Bring ``engine``'s database to HEAD. Returns a message when an existing database changed
    (None for a new or current one). Raises DatabaseError for a schema newer than this adrs."""
    from sqlalchemy import inspect, text

    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        before = revision(connection)
        if before == HEAD:
            return None
        existing = inspect(connection).has_table("run")
        if before is None and not existing:
            create_at_head(connection)
            return None
        _run_alembic(connection, before)
    if before is None and not existing:
        return None
    return (f"upgraded the database schema from {before or 'the pre-Alembic schema'} to {HEAD}; "
            f"finished work is kept")


def create_at_head(connection: Any) -> None:
    """Create every table of the models and stamp the database ``HEAD`` (what the migrations
    from an empty database produce)."""
    from sqlalchemy import Column, MetaData, PrimaryKeyConstraint, String, Table

    from adrs.db.models import Base

    Base.metadata.create_all(connection)
    version = Table("alembic_version", MetaData(),  # Alembic's own definition of its table
                    Column("version_num", String(32), nullable=False),
                    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"))
    version.create(connection)
    connection.execute(version.insert().values(version_num=HEAD))


def _run_alembic(connection: Any, before: str | None) -> None:
    from alembic import command
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    config = alembic_config(connection)
    known = {s.revision for s in ScriptDirectory.from_config(config).walk_revisions()}
    if before is not None and before not in known:
        raise DatabaseError(f"the database schema ({before}) is newer than this adrs knows "
                            f"({HEAD}); upgrade adrs on this machine")
    try:
        command.upgrade(config, "head")
    except CommandError as err:
        raise DatabaseError(f"cannot upgrade the database schema: {err}") from None
