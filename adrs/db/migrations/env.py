"""Alembic environment for the lineage schema (see adrs.db.migrate, which runs it).

adrs passes an open connection in ``config.attributes["connection"]``; a developer running the
``alembic`` command with ``-x url=...`` (or sqlalchemy.url) gets an engine made from that URL.
"""

from alembic import context

from adrs.db.models import Base

config = context.config


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    from adrs.db.connect import create_engine_for

    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    engine = create_engine_for(url)
    with engine.begin() as connection:
        _migrate(connection)


def _migrate(connection) -> None:  # noqa: ANN001 - a SQLAlchemy Connection
    # batch mode: SQLite cannot ALTER most things in place; alembic copies the table instead
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


run()
