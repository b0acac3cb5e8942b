"""The lineage schema is versioned (Alembic): a database made by the schema as it was before
(tests/fixtures/schema_v0) upgrades in place on SQLite and on a real PostgreSQL server, by hand
(`adrs db upgrade`) or when a campaign resumes it, keeping every row; browsing reads it before and
after; the migrations produce exactly the models' schema."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from adrs.db import migrate
from adrs.db.connect import normalize_url
from adrs.errors import DatabaseError
from tests.legacy_db import make_legacy_postgres, make_legacy_sqlite

SQLITE_DB = "adrs.sqlite"


def adrs(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"} | {"COLUMNS": "200"}
    done = subprocess.run([sys.executable, "-m", "adrs.cli.main", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def legacy_database(dialect: str, tmp_path: Path, postgres_server) -> tuple[list[str], str, dict]:
    """(CLI arguments that select the database, its URL, the fixture rows)."""
    if dialect == "sqlite":
        runs = tmp_path / "runs"
        rows = make_legacy_sqlite(runs / "fixture-run" / SQLITE_DB)
        run_id = rows["run"][0]["id"]
        (runs / "fixture-run").rename(runs / run_id)
        return ["--runs-dir", str(runs)], f"sqlite:///{runs / run_id / SQLITE_DB}", rows
    url = postgres_server.create_database(f"legacy_{tmp_path.name[-12:].lower().replace('-', '_')}")
    rows = make_legacy_postgres(url)
    return ["--db", url, "--runs-dir", str(tmp_path / "runs")], url, rows


def stored(url: str, sql: str) -> list[tuple]:
    engine = create_engine(normalize_url(url))
    with engine.connect() as connection:
        found = [tuple(r) for r in connection.execute(text(sql))]
    engine.dispose()
    return found


@pytest.fixture(params=["sqlite", "postgresql"])
def dialect(request) -> str:
    return request.param


@pytest.fixture
def server(dialect, request):
    return request.getfixturevalue("postgres") if dialect == "postgresql" else None


def test_adrs_db_upgrade_keeps_every_row(dialect, server, tmp_path: Path) -> None:
    where, url, rows = legacy_database(dialect, tmp_path, server)
    run_id = rows["run"][0]["id"]
    assert "pre-Alembic (needs `adrs db upgrade`)" in adrs("db", "status", *where, cwd=tmp_path).stdout
    before = adrs("runs", "--json", *where, cwd=tmp_path).stdout  # browsing works before ...
    done = adrs("db", "upgrade", *where, cwd=tmp_path)
    assert f"upgraded the database schema from the pre-Alembic schema to {migrate.HEAD}" in done.stderr
    assert json.loads(adrs("runs", "--json", *where, cwd=tmp_path).stdout) == json.loads(before)  # ... after
    assert f"schema {migrate.HEAD} (newest)" in adrs("db", "status", *where, cwd=tmp_path).stdout
    again = adrs("db", "upgrade", *where, cwd=tmp_path)
    assert "upgraded" not in again.stderr  # nothing left to do
    programs = stored(url, "SELECT id, seq, code, score, node FROM program ORDER BY id")
    assert [(p["id"], p["seq"], p["code"], p["score"], None) for p in rows["program"]] == programs
    assert len(stored(url, "SELECT id FROM evaluation")) == len(rows["evaluation"])
    assert stored(url, "SELECT model, cost_usd FROM llm_call") == [("openai/fake-model", 0.00031)]
    shown = adrs("show", "7", "--run", run_id, *where, cwd=tmp_path).stdout
    assert "program #7" in shown and "node" not in shown  # evaluated before nodes were recorded


def test_resuming_an_old_database_upgrades_it_and_continues(dialect, server, tmp_path: Path) -> None:
    where, url, rows = legacy_database(dialect, tmp_path, server)
    run_id = rows["run"][0]["id"]
    done = adrs("resume", run_id, "--budget", "9", *where, cwd=tmp_path)
    assert "upgraded the database schema" in done.stderr and "finished work is kept" in done.stderr
    programs = stored(url, "SELECT id, seq, code, node, status FROM program ORDER BY seq")
    old = [(p["id"], p["seq"], p["code"], None, p["status"]) for p in rows["program"]]
    assert programs[:len(old)] == old
    assert [p[1] for p in programs] == list(range(10))
    assert {p[4] for p in programs[len(old):]} <= {"ok", "duplicate"}  # resumed and evaluated
    spend = json.loads(adrs("spend", run_id, "--json", *where, cwd=tmp_path).stdout)
    assert spend["calls"] == 1 and spend["cost_usd"] == pytest.approx(0.00031)


def fresh_url(dialect: str, server, tmp_path: Path, name: str) -> str:
    if dialect == "sqlite":
        return f"sqlite:///{tmp_path / (name + '.sqlite')}"
    return server.create_database(f"{name}_{tmp_path.name[-12:].lower().replace('-', '_')}")


def schema_of(url: str) -> dict:
    """Tables, columns (type, nullability), primary keys, foreign keys and indexes, as reflected."""
    from sqlalchemy import inspect

    engine = create_engine(normalize_url(url))
    found = {}
    with engine.connect() as connection:
        inspector = inspect(connection)
        for table in sorted(inspector.get_table_names()):
            found[table] = {
                "columns": [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)],
                "primary_key": inspector.get_pk_constraint(table)["constrained_columns"],
                "foreign_keys": sorted((tuple(fk["constrained_columns"]), fk["referred_table"],
                                        tuple(fk["referred_columns"]))
                                       for fk in inspector.get_foreign_keys(table)),
                "indexes": sorted((ix["name"], tuple(ix["column_names"]), bool(ix["unique"]))
                                  for ix in inspector.get_indexes(table)),
            }
    engine.dispose()
    return found


def test_migrations_build_exactly_the_models_schema(dialect, server, tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from adrs.db.models import Base

    assert ScriptDirectory.from_config(migrate.alembic_config()).get_current_head() == migrate.HEAD
    engine = create_engine(normalize_url(fresh_url(dialect, server, tmp_path, "migrated")))
    with engine.begin() as connection:
        migrate._run_alembic(connection, None)  # every migration, from an empty database
    with engine.connect() as connection:
        assert migrate.revision(connection) == migrate.HEAD
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert diff == []


def test_a_new_database_is_built_from_the_models_as_the_migrations_build_it(dialect, server,
                                                                           tmp_path: Path) -> None:
    from alembic import command

    from adrs.db.store import open_engine

    migrated = fresh_url(dialect, server, tmp_path, "migrated")
    engine = create_engine(normalize_url(migrated))
    with engine.begin() as connection:
        migrate._run_alembic(connection, None)
    engine.dispose()
    created = fresh_url(dialect, server, tmp_path, "created")
    engine = open_engine(created)  # an empty database: the models, stamped HEAD, no Alembic
    with engine.begin() as connection:
        assert migrate.revision(connection) == migrate.HEAD
        command.upgrade(migrate.alembic_config(connection), "head")  # Alembic agrees: nothing to do
        assert migrate.revision(connection) == migrate.HEAD
    engine.dispose()
    assert schema_of(created) == schema_of(migrated)
    assert {"run", "program", "evaluation", "alembic_version"} <= set(schema_of(created))


def test_a_schema_newer_than_this_adrs_is_refused(tmp_path: Path) -> None:
    from adrs.db.store import open_engine

    path = tmp_path / "future.sqlite"
    make_legacy_sqlite(path)
    connection = sqlite3.connect(path)
    connection.executescript("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY);"
                             "INSERT INTO alembic_version VALUES ('0099_from_the_future');")
    connection.close()
    with pytest.raises(DatabaseError, match="newer than this adrs knows"):
        open_engine(f"sqlite:///{path}")


# Programs of a database at 0003 (before program.mate_id): (id, run, seq, parent, note); only a
# note that begins with the driver's "crossover with program #N", N of the same run, names a mate.
NOTES = [
    (1, "r1", 0, None, ""),
    (2, "r1", 1, 1, "const 0.5 -> 0.7 in guess()"),
    (3, "r1", 2, 1, "crossover with program #2; op * -> - in guess()"),
    (4, "r1", 3, 2, "crossover with program #9"),  # a program of another run
    (5, "r1", 4, 2, "crossover with program #999"),  # no such program
    (6, "r1", 5, 3, "function guess() from #2 in guess()"),  # the mutator's graft, not a mate
    (7, "r1", 6, 3, "the model says: crossover with program #2"),  # not the driver's words
    (8, "r2", 0, None, ""),
    (9, "r2", 1, 8, "crossover with program #8"),
]
MATES = [(1, None), (2, None), (3, 2), (4, None), (5, None), (6, None), (7, None), (8, None), (9, 8)]


def alembic_to(url: str, target: str, command_name: str = "upgrade") -> None:
    """Run ``alembic upgrade/downgrade target`` on ``url`` as the ``alembic`` command connects
    (SQLite: without adrs's PRAGMA foreign_keys)."""
    from alembic import command

    engine = create_engine(normalize_url(url))
    with engine.begin() as connection:
        getattr(command, command_name)(migrate.alembic_config(connection), target)
    engine.dispose()


def database_at_0003(url: str) -> None:
    """Migrate an empty database to 0003 and store the NOTES programs in it."""
    from sqlalchemy import MetaData

    alembic_to(url, "0003_evaluation_node")
    engine = create_engine(normalize_url(url))
    with engine.begin() as connection:
        tables = MetaData()
        tables.reflect(connection)
        run, program = tables.tables["run"], tables.tables["program"]
        connection.execute(run.insert(), [
            dict(id=r, problem="toy", problem_root="/x", config={}, objective="error",
                 direction="minimize", seed=0, proposer="openai/fake", isolation="", status="finished",
                 stop_reason="", elapsed_s=1.0, created_at=datetime(2026, 1, 1),
                 updated_at=datetime(2026, 1, 1)) for r in ("r1", "r2")])
        connection.execute(program.insert(), [
            dict(id=i, run_id=r, seq=seq, parent_id=parent, island=0, generation=0 if parent is None else 1,
                 kind="crossover" if note.startswith("crossover") else "diff", code=f"# {i}", diff="",
                 status="ok", score=float(i), metrics={}, private_metrics={}, feedback="", proposer="llm",
                 model=None, note=note, prompt="", propose_s=0.0, eval_s=0.0, runtime_s=0.0,
                 created_at=datetime(2026, 1, 1)) for i, r, seq, parent, note in NOTES])
    engine.dispose()


def test_upgrading_to_0004_fills_mate_id_from_crossover_notes(dialect, server, tmp_path: Path) -> None:
    from adrs.db import reader as rd
    from adrs.db.store import open_engine
    from adrs.ui import queries as q

    url = fresh_url(dialect, server, tmp_path, "notes")
    database_at_0003(url)
    with rd.open_reader(url) as reader:  # browsing never migrates: the note stands in
        assert "mate_id" not in reader.columns("program")
        assert rd.get_program(reader, 3).mate_id == 2 and rd.get_program(reader, 2).mate_id is None
        assert q.node(reader, "r1", 3)["mate_id"] == 2
    open_engine(url).dispose()  # what a resumed campaign does (SQLite: with PRAGMA foreign_keys=ON)
    assert stored(url, "SELECT id, mate_id FROM program ORDER BY id") == MATES
    assert stored(url, "SELECT id, note FROM program ORDER BY id") == [(n[0], n[4]) for n in NOTES]
    with rd.open_reader(url) as reader:
        assert "mate_id" in reader.columns("program") and rd.get_program(reader, 9).mate_id == 8
        assert [n["mate_id"] for n in q.ancestry(reader, "r1", 3)] == [None, 2]
    alembic_to(url, "0003_evaluation_node", "downgrade")
    plain = fresh_url(dialect, server, tmp_path, "plain")
    alembic_to(plain, "0003_evaluation_node")
    assert schema_of(url) == schema_of(plain)  # the downgrade leaves 0003's schema exactly
    assert stored(url, "SELECT id, note FROM program ORDER BY id") == [(n[0], n[4]) for n in NOTES]
    open_engine(url).dispose()  # and up again: the same mates
    assert stored(url, "SELECT id, mate_id FROM program ORDER BY id") == MATES
