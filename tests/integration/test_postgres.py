"""Several campaigns in one real PostgreSQL lineage database (tests/postgres_server.py): two
drivers writing at once lose nothing and each writes only its own run, every browsing command
reads it with --db, resume works, and the password never appears in any output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

SLEEPY = REPO / "tests" / "fixtures" / "sleepy"


def adrs(*args: str, cwd: Path, check: bool = True, **extra_env: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"} | {"COLUMNS": "200"} | extra_env
    done = subprocess.run([sys.executable, "-m", "adrs.cli.main", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=900)
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def start(*args: str, cwd: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"} | {"COLUMNS": "200"}
    return subprocess.Popen([sys.executable, "-m", "adrs.cli.main", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, cwd=cwd, env=env)


def query(url: str, sql: str, *params: object) -> list[tuple]:
    import psycopg

    with psycopg.connect(url) as connection:
        return connection.execute(sql, params).fetchall()


@pytest.fixture(scope="module")
def lab(postgres, tmp_path_factory):
    """Two campaigns started together on one database, long enough to write at the same time:
    smtt (budget 60: its first candidates take milliseconds on a quiet machine) and sleepy
    (budget 12, 1 s per evaluation)."""
    work = tmp_path_factory.mktemp("lab")
    sleepy = work / "sleepy"
    import shutil

    shutil.copytree(SLEEPY, sleepy)
    raw = yaml.safe_load((sleepy / "problem.yaml").read_text())
    raw["instances"]["cost_s"] = 1.0
    (sleepy / "problem.yaml").write_text(yaml.safe_dump(raw))
    url = postgres.create_database("lab_lineage")
    common = ["--db", url, "--workers", "2", "--runs-dir", str(work / "runs")]
    procs = [start("run", "smtt", "--budget", "60", *common, cwd=work),
             start("run", str(sleepy), "--budget", "12", *common, cwd=work)]
    outputs = [p.communicate(timeout=900)[0] for p in procs]
    for p, out in zip(procs, outputs, strict=True):
        assert p.returncode == 0, out
    runs = {problem: run_id for run_id, problem in query(url, "SELECT id, problem FROM run")}
    return {"url": url, "work": work, "runs": runs, "outputs": outputs, "password": postgres.password}


def test_two_concurrent_campaigns_lose_nothing(lab) -> None:
    url, runs = lab["url"], lab["runs"]
    assert set(runs) == {"smtt", "sleepy"}
    for problem, budget in (("smtt", 60), ("sleepy", 12)):
        seqs = [s for (s,) in query(url, "SELECT seq FROM program WHERE run_id = %s ORDER BY seq",
                                    runs[problem])]
        assert seqs == list(range(budget + 1)), problem
        (status,) = query(url, "SELECT status FROM run WHERE id = %s", runs[problem])[0]
        assert status == "finished"
    # they did write at the same time: their programs' creation times overlap
    spans = {p: query(url, "SELECT min(created_at), max(created_at) FROM program WHERE run_id = %s",
                      r)[0] for p, r in runs.items()}
    assert spans["smtt"][0] < spans["sleepy"][1] and spans["sleepy"][0] < spans["smtt"][1]
    # each driver wrote only its own run: every row names one of the two runs, parents stay inside
    assert query(url, "SELECT count(*) FROM program c JOIN program p ON c.parent_id = p.id "
                      "WHERE c.run_id <> p.run_id") == [(0,)]
    for table in ("program", "evaluation"):
        found = {r for (r,) in query(url, f"SELECT DISTINCT run_id FROM {table}")}
        assert found == set(runs.values())
    assert all(lab["password"] not in out for out in lab["outputs"])
    assert all("***@" in out for out in lab["outputs"])  # the database line, masked


def test_no_stored_row_holds_the_password(lab) -> None:
    """Every text column of every table the campaigns wrote (run config, feedback, prompts, ...),
    and the files they left in the runs folder, are free of the database password."""
    url, password = lab["url"], lab["password"]
    columns = query(url, "SELECT table_name, column_name FROM information_schema.columns "
                         "WHERE table_schema = 'public' AND data_type IN ('text', 'character varying', "
                         "'json', 'jsonb')")
    assert {table for table, _ in columns} >= {"run", "program"}
    for table, column in columns:
        hits = query(url, f'SELECT count(*) FROM "{table}" WHERE "{column}"::text LIKE %s',
                     f"%{password}%")
        assert hits == [(0,)], f"{table}.{column} stores the password"
    for path in (lab["work"] / "runs").rglob("*"):
        if path.is_file():
            assert password.encode() not in path.read_bytes(), path


def test_every_browsing_command_reads_the_shared_database(lab) -> None:
    url, runs, work = lab["url"], lab["runs"], lab["work"]
    outputs = []
    listed = adrs("runs", "--db", url, "--json", cwd=work)
    assert {r["id"] for r in json.loads(listed.stdout)} == set(runs.values())
    outputs.append(adrs("runs", "--db", url, cwd=work))
    best = adrs("best", runs["sleepy"], "--db", url, "--json", cwd=work)
    report = json.loads(best.stdout)
    program_id = report["program_id"]
    shown = adrs("show", str(program_id), "--run", runs["sleepy"], "--db", url, cwd=work)
    assert f"program #{program_id}" in shown.stdout
    chain = adrs("lineage", "--run", runs["sleepy"], "--db", url, cwd=work)
    assert f"lineage of program #{program_id}" in chain.stdout
    spend = adrs("spend", runs["smtt"], "--db", url, "--json", cwd=work)
    assert json.loads(spend.stdout)["run_id"] == runs["smtt"]
    bench = adrs("bench", "smtt", "--run", runs["smtt"], "--db", url, "--quick", "--no-baselines",
                 "--json", cwd=work)
    rows = json.loads(bench.stdout)[0]["rows"]
    assert [r["program"].split(" #")[0] for r in rows] == [runs["smtt"]] and rows[0]["status"] == "ok"
    wrong = adrs("show", str(program_id), "--run", runs["smtt"], "--db", url, cwd=work, check=False)
    assert wrong.returncode == 2 and f"no program {program_id} in run {runs['smtt']}" in wrong.stderr
    outputs += [listed, best, shown, chain, spend, bench, wrong]
    assert all(lab["password"] not in o.stdout + o.stderr for o in outputs)


def test_resume_continues_the_run_in_the_shared_database(lab) -> None:
    url, runs, work = lab["url"], lab["runs"], lab["work"]
    before = query(url, "SELECT id, seq, code FROM program WHERE run_id = %s ORDER BY seq", runs["sleepy"])
    done = adrs("resume", runs["sleepy"], "--budget", "16", "--runs-dir", str(work / "runs"),
                cwd=work, ADRS_DB_URL=url)  # the URL from the environment, not the command line
    assert lab["password"] not in done.stdout + done.stderr
    after = query(url, "SELECT id, seq, code FROM program WHERE run_id = %s ORDER BY seq", runs["sleepy"])
    assert after[:len(before)] == before and [s for _, s, _ in after] == list(range(17))
    assert query(url, "SELECT count(*) FROM run") == [(2,)]
    other = query(url, "SELECT count(*) FROM program WHERE run_id = %s", runs["smtt"])
    assert other == [(61,)]  # the other run is untouched


def test_bad_password_and_missing_driver_are_clear_and_masked(postgres, tmp_path: Path) -> None:
    wrong = postgres.url().replace(postgres.password, "not-the-" + postgres.password)
    done = adrs("runs", "--db", wrong, cwd=tmp_path, check=False)
    assert done.returncode == 2 and "password authentication failed" in done.stderr
    assert postgres.password not in done.stdout + done.stderr
    # a Python without psycopg: the error names the extra to install, and masks the password
    script = ("import sys; sys.modules['psycopg'] = None; sys.modules['psycopg2'] = None\n"
              "from adrs.cli.main import app; app()")
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    for args in (["runs", "--db", postgres.url()],
                 ["run", "smtt", "--db", postgres.url(), "--budget", "1"]):
        missing = subprocess.run([sys.executable, "-c", script, *args], capture_output=True,
                                 text=True, cwd=tmp_path, env=env, timeout=300)
        assert missing.returncode == 2, missing.stdout + missing.stderr
        assert 'pip install "adrs[postgres]"' in " ".join(missing.stderr.split())
        assert postgres.password not in missing.stdout + missing.stderr


def test_the_web_ui_never_shows_the_database_password(tmp_path: Path) -> None:
    from adrs.ui.catalog import Catalog

    shown = Catalog(tmp_path, "postgresql://lab:s3cret-pw@db-host:5432/lineage").describe()
    assert shown == "postgresql://lab:***@db-host:5432/lineage"
