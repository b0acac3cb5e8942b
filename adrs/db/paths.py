"""Where run databases live: one SQLite file per run folder by default. Standard library only."""

from __future__ import annotations

from pathlib import Path

DB_FILE = "adrs.sqlite"
SQLITE_PREFIX = "sqlite:///"


def sqlite_url(runs_dir: Path, run_id: str) -> str:
    return f"{SQLITE_PREFIX}{(runs_dir / run_id / DB_FILE).resolve()}"


def run_dirs(runs_dir: Path) -> list[Path]:
    """Run folders holding a database, newest first."""
    if not runs_dir.is_dir():
        return []
    found = [p for p in runs_dir.iterdir() if (p / DB_FILE).is_file()]
    return sorted(found, key=lambda p: (p / DB_FILE).stat().st_mtime, reverse=True)
