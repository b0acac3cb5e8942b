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
