"""``adrs run eplb`` (a short campaign, end to end) and ``adrs bench eplb`` through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from adrs.cli.main import app
from adrs.resources import builtin_dir

runner = CliRunner()
PROBLEM = builtin_dir("problems") / "eplb"


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.usefixtures("ray_session")
def test_short_eplb_campaign_end_to_end(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    output = invoke("run", "eplb", "--budget", "4", "--workers", "2", "--runs-dir", str(runs))
    assert "candidate budget reached" in output
    assert "best program" in output and "validation instances" in output
    best = json.loads(invoke("best", "--json", "--runs-dir", str(runs)))
    rows = {row["name"]: row for row in best["rows"]}
    assert set(rows) == {"best", "DeepSeek", "vectorized"}
    assert all(row["status"] == "ok" for row in rows.values())
    for row in rows.values():  # the Pareto pair is stored next to the score
        metrics = row["metrics"]
        assert 50 < metrics["balancedness_pct"] <= 100 and metrics["rebalance_ms"] > 0
        assert row["score"] == pytest.approx(metrics["balancedness_pct"]
                                             - np.log2(max(metrics["rebalance_ms"], 1.0)))
    assert rows["vectorized"]["metrics"]["balancedness_pct"] == pytest.approx(
        rows["DeepSeek"]["metrics"]["balancedness_pct"], abs=0.2)


def test_bench_eplb_quick_json() -> None:
    tables = json.loads(invoke("bench", "eplb", "--quick", "--sizes", "8", "--json"))
    main, small = tables
    assert main["title"].startswith("eplb: validation traces, 8 layers (256 experts, 288 slots")
    assert main["columns"] == ["program", "status", "balancedness %", "fit %", "bound %", "gap to bound pp",
                               "rebalance ms", "speed-up", "ADRS leaderboard (theirs)",
                               "SkyDiscover score (theirs)"]
    rows = {row["program"]: row for row in main["rows"]}
    assert list(rows) == ["DeepSeek", "vectorized"]
    for row in rows.values():
        assert row["status"] == "ok" and 0 < row["balancedness %"] <= row["bound %"] <= 100
        assert row["gap to bound pp"] == pytest.approx(row["bound %"] - row["balancedness %"])
        t = row["rebalance ms"] / 1000  # their formula on our balancedness and time
        speed, slow = 5 * min(0.002 / t, 2), (min(20 * t, 20) if t > 0.01 else 0)
        assert row["ADRS leaderboard (theirs)"] == pytest.approx(0.9 * row["balancedness %"] + speed - slow)
        assert 0 < row["SkyDiscover score (theirs)"] - 0.001 / t <= 0.5
    assert rows["vectorized"]["balancedness %"] == pytest.approx(rows["DeepSeek"]["balancedness %"], abs=0.2)
    assert small["title"].startswith("eplb: exact optimum on a small cluster (8 experts")
    mip, *programs = small["rows"]
    assert mip["program"] == "MIP (HiGHS)" and mip["status"] == "optimal"
    for row in programs:  # no program beats the optimum
        assert row["status"] == "ok" and row["gap to MIP (fit) pp"] >= -0.01
        assert row["gap to MIP (next) pp"] >= -0.01


def test_bench_eplb_on_published_trace_files(tmp_path: Path) -> None:
    trace = importable_trace_module()
    steps = trace.generate_steps(8, trace.PROFILES["chat"], 2, 256, 8, 200, 256)
    data = tmp_path / "traces"
    data.mkdir()
    trace.write_trace_file(data / "expert-load.json", steps)
    tables = json.loads(invoke("bench", "eplb", str(PROBLEM / "baselines" / "vectorized.py"),
                               "--no-baselines", "--quick", "--data", str(data), "--json"))
    main = tables[0]
    assert main["title"].startswith(f"eplb: trace files in {data}")
    (row,) = main["rows"]
    assert row["program"] == "vectorized.py" and row["status"] == "ok"
    assert "1 calls" in main["notes"][0]  # 200 steps: two windows of 100, one call
    (data / "expert-load.json").write_text('{"load_history": []}')
    result = runner.invoke(app, ["bench", "eplb", "--data", str(data), "--quick"])
    assert result.exit_code != 0 and "'load_history' is empty" in result.output


def importable_trace_module():
    import importlib

    from adrs.resources import import_package_from_dir

    import_package_from_dir(builtin_dir("evaluators") / "eplb", "adrs_evaluator_eplb")
    return importlib.import_module("adrs_evaluator_eplb.trace")
