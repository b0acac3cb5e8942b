"""The txn problem through the CLI: `adrs bench txn --quick --json` (baselines, trusted SMF over
seeds, a program, lower-bound and exact-optimum gaps) and a tiny `adrs run` campaign."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from adrs.cli.main import app
from adrs.resources import builtin_dir

runner = CliRunner()
PROBLEM = builtin_dir("problems") / "txn"
PROGRAM = PROBLEM / "examples" / "insertion_search.py"


def test_bench_quick_json_compares_baselines_smf_seeds_and_a_program() -> None:
    result = runner.invoke(app, ["bench", "txn", str(PROGRAM), "--quick", "--json"])
    assert result.exit_code == 0, result.output
    main, small = json.loads(result.output)
    rows = {row["program"]: row for row in main["rows"]}
    smf = next(label for label in rows if label.startswith("SMF k=10 (trusted"))
    assert set(rows) == {smf, "sequential", "SMF", "greedy_insertion", "insertion_search.py"}
    assert all(row["status"] == "ok" for row in rows.values())
    assert rows[smf]["vs SMF %"] == 0 and rows[smf]["± over seeds"] > 0  # SMF varies with the seed
    assert rows["sequential"]["vs SMF %"] > 0
    assert rows["greedy_insertion"]["vs SMF %"] < 0
    assert rows["insertion_search.py"]["vs SMF %"] < -10
    assert all(row["gap to LB %"] >= 0 for row in rows.values())
    small_rows = {row["program"]: row for row in small["rows"]}
    assert small_rows["lower bound"]["gap to OPT %"] <= 0
    for label in ("sequential", "SMF", "greedy_insertion", "insertion_search.py"):
        assert small_rows[label]["gap to OPT %"] >= 0
        hit, total = map(int, small_rows[label]["optimal"].split("/"))
        assert 0 <= hit <= total == 5
    assert small_rows["sequential"]["gap to OPT %"] > small_rows["greedy_insertion"]["gap to OPT %"]


def tiny_problem(tmp_path: Path) -> Path:
    """The txn problem with small workload sets, so a campaign takes seconds."""
    root = tmp_path / "txn"
    shutil.copytree(PROBLEM, root, ignore=shutil.ignore_patterns("data"))
    raw = yaml.safe_load((root / "problem.yaml").read_text())
    raw["instances"].update({
        "train": {"seed": 11, "families": ["rxw", "ycsb"], "sizes": [30]},
        "validation": {"seed": 12, "families": ["hotkey", "tpcc"], "sizes": [30]},
        "holdout": {"seed": 13, "families": ["mixed"], "sizes": [30]},
    })
    (root / "problem.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    return root


def test_run_txn_campaign_end_to_end(ray_session, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    problem = tiny_problem(tmp_path)
    result = runner.invoke(app, ["run", str(problem), "--budget", "6", "--runs-dir", str(runs)])
    assert result.exit_code == 0, result.output
    assert "best program" in result.output and "validation instances" in result.output
    best = runner.invoke(app, ["best", "--runs-dir", str(runs), "--json"])
    assert best.exit_code == 0, best.output
    report = json.loads(best.output)
    rows = {row["name"]: row for row in report["rows"]}
    assert set(rows) == {"best", "sequential", "SMF", "greedy_insertion"}
    assert all(row["status"] == "ok" for row in rows.values())
    assert rows["greedy_insertion"]["score"] < min(rows["SMF"]["score"], rows["sequential"]["score"])
    assert rows["best"]["score"] == pytest.approx(rows["best"]["metrics"]["vs_smf_pct"])


def test_bench_data_file_json_stdout_is_json_only(tmp_path: Path) -> None:
    """`adrs bench txn --data FILE --json` in a real process: stdout parses as JSON although HiGHS
    (the lower bound) prints a banner on file descriptor 1; the file's workloads are the ones used."""
    import subprocess
    import sys

    data = PROBLEM / "workloads" / "published_shape.json"
    done = subprocess.run([sys.executable, "-m", "adrs.cli.main", "bench", "txn", "--no-baselines",
                           str(PROBLEM / "baselines" / "sequential.py"),
                           str(PROBLEM / "baselines" / "greedy_insertion.py"), "--data", str(data), "--json"],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    programs, references = json.loads(done.stdout)
    assert "HiGHS" in done.stderr  # the banner went to stderr
    rows = {row["program"]: row for row in programs["rows"]}
    assert rows["sequential.py"]["ADRS leaderboard (theirs)"] == 0.0  # index order is their zero
    assert rows["greedy_insertion.py"]["total makespan"] < rows["sequential.py"]["total makespan"]
    lb = rows["lower bound"]["total makespan"]
    assert all(row["total makespan"] >= lb for row in rows.values())
    refs = {row["workload"]: row for row in references["rows"]}
    assert set(refs) == {"dense", "pairs", "rxw", "total"}
    assert refs["total"]["lower bound"] == lb >= refs["total"]["key bound"]
    assert refs["dense"]["chain bound"] > refs["dense"]["key bound"]


def test_bench_data_rejects_a_malformed_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"workloads": [{"name": "A", "txns": {"t0": "r-1", "t1": "q-2"}}]}))
    result = runner.invoke(app, ["bench", "txn", "--data", str(bad)])
    assert result.exit_code != 0
    assert "t1: operation 'q-2'" in result.output
