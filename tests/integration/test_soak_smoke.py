"""The soak harness (benchmarks/soak.py) at a tiny size, on its flat-cost workload
(benchmarks/soak_smtt). One run with a SIGKILL of the driver and a resume, no checkpoints (their
sampling could let a fast driver finish before its kill): nothing finished is lost, nothing is left
behind, every hostile candidate gets its status. One run with checkpoints and no kill: fds and
processes get back to the driver's baseline, no zombie, and the windows report candidates/s, the
sandbox time and the driver overhead. (The 10,000-candidate soak is a benchmark, run by hand.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

# criteria that need thousands of candidates to mean anything
SIZE_DEPENDENT = ("candidates/s", "driver RSS")


def run_soak(tmp_path: Path, *args: str) -> dict:
    report = tmp_path / "soak.json"
    cmd = [sys.executable, str(REPO / "benchmarks" / "soak.py"), *args, "--work",
           str(tmp_path / "work"), "--json", str(report)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert report.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(report.read_text())
    checks = result["checks"]
    failed = {name: check["value"] for name, check in checks.items()
              if not name.startswith(SIZE_DEPENDENT) and not check["ok"]}
    assert not failed, failed
    for name, check in checks.items():  # one PASS/FAIL line per criterion
        assert f"{'PASS' if check['ok'] else 'FAIL'} {name}:" in done.stdout
    assert Path(result["problem"]) == REPO / "benchmarks" / "soak_smtt"
    return result


def test_a_tiny_soak_with_a_kill_leaks_and_loses_nothing(tmp_path: Path) -> None:
    result = run_soak(tmp_path, "--candidates", "20", "--every", "100", "--kills", "1",
                      "--hostile-every", "2")
    hostile = next(v["value"] for name, v in result["checks"].items() if name.startswith("every hostile"))
    assert sum(n for by_status in hostile["by_hostile"].values() for n in by_status.values()) >= 3
    assert len(result["kills_at"]) == 1
    lost = next(v for name, v in result["checks"].items() if name.startswith("0 finished evaluations"))
    assert lost["value"] == 0


def test_tiny_soak_checkpoints_find_the_baseline_and_report_the_cost(tmp_path: Path) -> None:
    # half hostile (a hang costs 0.5 s), so the driver is still running at the first checkpoint
    result = run_soak(tmp_path, "--candidates", "60", "--every", "20", "--kills", "0",
                      "--hostile-every", "2")
    live = [c for c in result["checkpoints"] if not c["gone"]]
    assert live, result["checkpoints"]
    assert all(c["fds"] > 0 and c["processes"] >= 1 and c["rss_mb"] > 0 for c in live)
    baseline = next(v["value"] for name, v in result["checks"].items() if name.startswith("fds and"))
    assert baseline["baselines (fds, processes) per driver"] and not baseline["not back"]
    assert result["windows"]
    for window in result["windows"]:
        assert window["rate"] > 0 and window["wall_s"] > 0
        assert {"eval_s", "overhead_ms", "duplicates", "hostile", "timeouts"} <= set(window)
    assert any(window["eval_s"] > 0 for window in result["windows"])
