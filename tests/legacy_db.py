"""Databases made by the schema as it was before Alembic (tests/fixtures/schema_v0).

``sqlite.sql`` and ``postgresql.sql`` are the CREATE statements SQLAlchemy compiled from
adrs/db/models.py at commit 6a46c29 for each dialect; ``rows.json`` holds the rows of a real toy
run made by that code (``adrs run tests/fixtures/toy --budget 6 --workers 1 --seed 3``) plus one
llm_call row. ``make_legacy_database`` rebuilds such a database, as an earlier release left it.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures" / "schema_v0"
TABLES = ("run", "program", "evaluation", "llm_call")  # in foreign-key order


def legacy_rows() -> dict[str, list[dict[str, Any]]]:
    rows = json.loads((FIXTURE / "rows.json").read_text())
    for run in rows["run"]:  # the toy problem of this checkout
        run["problem_root"] = str(REPO / "tests" / "fixtures" / "toy")
    return rows


def make_legacy_sqlite(path: Path) -> dict[str, list[dict[str, Any]]]:
    rows = legacy_rows()
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path)
    connection.executescript((FIXTURE / "sqlite.sql").read_text())
    for table in TABLES:
        for row in rows[table]:
            names = ", ".join(row)
            connection.execute(f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(row))})",
                               list(row.values()))
    connection.commit()
    connection.close()
    return rows


def make_legacy_postgres(url: str) -> dict[str, list[dict[str, Any]]]:
    import psycopg

    rows = legacy_rows()
    with psycopg.connect(url) as connection:
        for statement in (FIXTURE / "postgresql.sql").read_text().split(";"):
            if statement.strip():
                connection.execute(statement)
        for table in TABLES:
            for row in rows[table]:
                values = [bool(v) if k == "cached" else v for k, v in row.items()]
                connection.execute(f"INSERT INTO {table} ({', '.join(row)}) "
                                   f"VALUES ({', '.join(['%s'] * len(row))})", values)
            if table != "run":  # as if the rows had taken their ids from the sequence
                connection.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                   f"(SELECT max(id) FROM {table}))")
    return rows
