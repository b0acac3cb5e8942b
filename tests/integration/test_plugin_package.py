"""An external plug-in package (tests/fixtures/plugin_pkg), installed into a throw-away site folder,
registers a problem and an evaluator through entry points; adrs lists it and runs a campaign on it
by name in a fresh process (whose Ray workers find the plug-in the same way)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO
from tests.plugin_site import install_plugin


def adrs(args: list[str], env: dict[str, str], timeout: float = 400) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "adrs.cli.main", *args], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=timeout)


def test_an_installed_plugin_problem_is_listed_and_runs_a_campaign(tmp_path: Path) -> None:
    site = install_plugin(tmp_path / "site")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(REPO)]),
               XDG_CACHE_HOME=str(tmp_path / "cache"), COLUMNS="200")
    listed = adrs(["problems"], env)
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if "demo_pick" in line)
    assert "adrs-plugin-demo" in row and "value_ratio (maximize)" in row
    runs = tmp_path / "runs"
    run = adrs(["run", "demo_pick", "--budget", "4", "--workers", "2", "--seed", "1",
                "--runs-dir", str(runs)], env)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "problem demo_pick" in run.stdout
    best = adrs(["best", "--json", "--runs-dir", str(runs)], env)
    assert best.returncode == 0, best.stderr
    report = json.loads(best.stdout)
    rows = {row["name"]: row for row in report["rows"]}
    assert rows["best"]["status"] == "ok" and rows["FIRST_K"]["status"] == "ok"
    assert 0 < rows["FIRST_K"]["score"] <= rows["best"]["score"] <= 1.0 + 1e-9  # value / optimum
    without = adrs(["problems"], dict(env, PYTHONPATH=str(REPO)))  # "uninstalled": gone again
    assert without.returncode == 0 and "demo_pick" not in without.stdout
