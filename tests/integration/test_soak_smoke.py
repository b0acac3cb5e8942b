"""The soak harness (benchmarks/soak.py) at a tiny size (no checkpoints: their sampling could let a
fast driver finish before its kill): hostile candidates, one SIGKILL of the
driver and a resume; nothing finished is lost, nothing is left behind, every hostile candidate
gets its status. (The full 10,000-candidate soak is a benchmark, run by hand.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def test_a_tiny_soak_with_a_kill_leaks_and_loses_nothing(tmp_path: Path) -> None:
    report = tmp_path / "soak.json"
    cmd = [sys.executable, str(REPO / "benchmarks" / "soak.py"), "--candidates", "20", "--every", "100",
           "--kills", "1", "--hostile-every", "2", "--work", str(tmp_path / "work"), "--json", str(report)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert report.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    checks = json.loads(report.read_text())["checks"]
    must_hold = [name for name in checks if not name.startswith(("candidates/s", "driver RSS"))]
    failed = {name: checks[name]["value"] for name in must_hold if not checks[name]["ok"]}
    assert not failed, failed
    hostile = next(v["value"] for name, v in checks.items() if name.startswith("every hostile"))
    assert sum(n for by_status in hostile["by_hostile"].values() for n in by_status.values()) >= 3
    kills = json.loads(report.read_text())["kills_at"]
    assert len(kills) == 1
