"""``adrs db upgrade`` and ``adrs db status``: the lineage schema's version, and upgrading it in
place (campaigns also upgrade the database they open, and say so). Browsing never migrates."""

from __future__ import annotations

from pathlib import Path

import typer

from adrs.cli.common import DbUrl, RunsDir, console, friendly_errors

app = typer.Typer(help="The lineage database: schema version and upgrades.", no_args_is_help=True)


def _urls(db: str | None, runs_dir: Path) -> list[str]:
    from adrs.db import reader as rd

    urls = [db] if db else [rd.sqlite_url(runs_dir, p.name) for p in rd.run_dirs(runs_dir)]
    if not urls:
        raise rd.DatabaseError(f"no run databases in {runs_dir}; give --db URL")
    return urls


@app.command()
@friendly_errors
def upgrade(db: DbUrl = None, runs_dir: RunsDir = Path("runs")) -> None:
    """Upgrade the database (--db URL, or every run database under --runs-dir) to the newest schema."""
    from adrs.db import migrate
    from adrs.db.connect import shown
    from adrs.db.store import open_engine

    for url in _urls(db, runs_dir):
        engine = open_engine(url)  # migrates, and says so when it changed anything
        engine.dispose()
        console.print(f"{shown(url)}: schema {migrate.HEAD} (newest)")


@app.command()
@friendly_errors
def status(db: DbUrl = None, runs_dir: RunsDir = Path("runs")) -> None:
    """Show the schema revision of each database and whether it needs `adrs db upgrade`."""
    from adrs.db import migrate
    from adrs.db.connect import connection_error, create_engine_for, shown

    for url in _urls(db, runs_dir):
        engine = create_engine_for(url)
        try:
            with engine.connect() as connection:
                found = migrate.revision(connection)
        except Exception as err:
            raise connection_error(url, err) from None
        finally:
            engine.dispose()
        state = "newest" if found == migrate.HEAD else "needs `adrs db upgrade`"
        console.print(f"{shown(url)}: schema {found or 'pre-Alembic'} ({state})")
