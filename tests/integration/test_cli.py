"""The CLI through typer's CliRunner: a short campaign, then every browsing command on it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adrs.cli.main import app
from tests.conftest import TOY_PROBLEM

runner = CliRunner()


@pytest.fixture(scope="module")
def finished_run(ray_session, tmp_path_factory) -> Path:
    runs = tmp_path_factory.mktemp("cli") / "runs"
    result = runner.invoke(app, ["run", str(TOY_PROBLEM), "--budget", "8", "--runs-dir", str(runs)])
    assert result.exit_code == 0, result.output
    assert "best program" in result.output and "validation instances" in result.output
    return runs


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_runs_lists_the_run(finished_run: Path) -> None:
    output = invoke("runs", "--runs-dir", str(finished_run))
    assert "toy" in output and "finished" in output
    rows = json.loads(invoke("runs", "--runs-dir", str(finished_run), "--json"))
    assert rows[0]["programs"] == 9 and rows[0]["status"] == "finished"


def test_best_json_and_output_file(finished_run: Path, tmp_path: Path) -> None:
    report = json.loads(invoke("best", "--runs-dir", str(finished_run), "--json"))
    names = [row["name"] for row in report["rows"]]
    assert names == ["best", "ZERO"] and report["split"] == "validation"
    assert report["rows"][0]["score"] <= 2.5  # never worse than the seed
    target = tmp_path / "best.py"
    invoke("best", "--runs-dir", str(finished_run), "--output", str(target))
    namespace: dict = {}
    exec(compile(target.read_text(), str(target), "exec"), namespace)  # standalone: numpy only
    import numpy as np

    assert isinstance(namespace["solve"](np.array([1.0])), float)


def test_best_on_holdout_is_scored_but_never_stored(finished_run: Path) -> None:
    report = json.loads(invoke("best", "--runs-dir", str(finished_run), "--json", "--holdout"))
    assert report["split"] == "holdout" and [r["name"] for r in report["rows"]] == ["best", "ZERO"]
    assert report["rows"][1]["score"] == 3.0  # ZERO on target 3, computed now
    import sqlite3

    db = next(finished_run.glob("*/adrs.sqlite"))
    with sqlite3.connect(db) as connection:  # browsing never writes: holdout rows are not stored
        stored = connection.execute("SELECT COUNT(*) FROM evaluation WHERE split = 'holdout'").fetchone()
    assert stored == (0,)


def test_show_and_lineage(finished_run: Path) -> None:
    report = json.loads(invoke("best", "--runs-dir", str(finished_run), "--json"))
    program = str(report["program_id"])
    shown = invoke("show", program, "--runs-dir", str(finished_run))
    assert f"program #{program}" in shown and "def guess" in shown
    lineage = invoke("lineage", program, "--runs-dir", str(finished_run))
    assert "seed" in lineage


def test_browsing_does_not_import_ray_litellm_sqlalchemy_or_the_llm_sdks(finished_run: Path) -> None:
    runs = str(finished_run)
    code = ("import sys\nfrom adrs.cli.main import app\n"
            f"for args in (['runs', '--runs-dir', {runs!r}], ['problems'], ['best', '--runs-dir', {runs!r}],"
            f" ['show', '1', '--runs-dir', {runs!r}], ['lineage', '--runs-dir', {runs!r}]):\n"
            "    try:\n        app(args)\n    except SystemExit as e:\n        assert not e.code, e.code\n"
            "print('HEAVY', sorted(m for m in ('ray', 'litellm', 'sqlalchemy', 'openai', 'anthropic') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in out.stdout, out.stdout[-2000:]


def test_unknown_problem_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", "no-such-problem", "--runs-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "unknown problem 'no-such-problem'" in result.output and "smtt" in result.output


def test_malformed_config_names_the_field(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("evolution:\n  budget: many\n")
    result = runner.invoke(app, ["run", "smtt", "--config", str(config), "--runs-dir", str(tmp_path)])
    assert result.exit_code == 2 and "evolution: budget" in result.output
    config.write_text("evolution:\n  islandz: 3\n")
    result = runner.invoke(app, ["run", "smtt", "--config", str(config), "--runs-dir", str(tmp_path)])
    assert result.exit_code == 2 and "islandz" in result.output


def test_unreachable_database_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", "smtt", "--db", "sqlite:////nonexistent/dir/adrs.sqlite",
                                 "--runs-dir", str(tmp_path)])
    assert result.exit_code == 2 and "cannot open database" in result.output


def test_model_without_key_names_the_variable(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    result = runner.invoke(app, ["run", "smtt", "--model", "openai/gpt-4o-mini",
                                 "--runs-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "OPENAI_API_KEY" in result.output and "mutator" in result.output


def test_browsing_an_empty_runs_dir_says_how_to_start(tmp_path: Path) -> None:
    result = runner.invoke(app, ["best", "--runs-dir", str(tmp_path)])
    assert result.exit_code == 2 and "adrs run" in result.output


@pytest.mark.parametrize(("args", "status"), [(["problems"], 0), (["run", "no-such-problem"], 2)])
def test_the_entry_point_keeps_exit_status_and_atexit_handlers(tmp_path: Path, args: list[str],
                                                                status: int) -> None:
    """``main`` freezes what is alive for the interpreter's exit; it must not swallow the status
    or skip the handlers registered with atexit."""
    code = ("import atexit, gc, sys\nfrom adrs.cli.main import main\n"
            "atexit.register(lambda: print('atexit ran, frozen', gc.get_freeze_count() > 0))\n"
            f"sys.argv = ['adrs', *{args!r}]\nmain()\nprint('not reached')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == status, done.stderr[-2000:]
    assert "atexit ran, frozen True" in done.stdout and "not reached" not in done.stdout
