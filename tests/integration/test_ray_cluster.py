"""Campaigns on a real multi-node Ray cluster started on this machine (tests/ray_cluster.py):
evaluations spread over the nodes and record which node ran them, a node killed mid-campaign
loses nothing, and a node that cannot evaluate the problem is named before any evaluation."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO
from tests.ray_cluster import LocalCluster

SLEEPY = REPO / "tests" / "fixtures" / "sleepy"
ADRS = [sys.executable, "-m", "adrs.cli.main"]
# a correct program, or one equal to a program already evaluated (stored without a new evaluation)
GOOD = ("ok", "duplicate")


def sleepy_problem(tmp_path: Path, **instances: object) -> Path:
    import shutil

    problem = tmp_path / "sleepy"
    shutil.copytree(SLEEPY, problem)
    raw = yaml.safe_load((problem / "problem.yaml").read_text())
    raw["instances"].update(instances)
    (problem / "problem.yaml").write_text(yaml.safe_dump(raw))
    return problem


def campaign(problem: Path, runs: Path, address: str, budget: int, workers: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    return subprocess.Popen([*ADRS, "run", str(problem), "--budget", str(budget), "--workers",
                             str(workers), "--runs-dir", str(runs), "--max-time", "600",
                             "--ray-address", address], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env, cwd=runs.parent)


def programs(runs: Path) -> list[tuple[int, str, str | None]]:
    found = list(runs.glob("*/adrs.sqlite"))
    if not found:
        return []
    connection = sqlite3.connect(f"file:{found[0]}?mode=ro", uri=True)
    try:
        return connection.execute("SELECT seq, status, node FROM program ORDER BY seq").fetchall()
    except sqlite3.OperationalError:  # the campaign is still creating its tables
        return []
    finally:
        connection.close()


def in_flight(log_dir: Path, node_id: str) -> list[Path]:
    """Evaluations (sleepy's log files) started on the node and not finished."""
    found = []
    for f in log_dir.iterdir():
        text = f.read_text()
        if short(node_id) in text and "done" not in text:
            found.append(f)
    return found


def short(node_id: str) -> str:
    return node_id[:12]


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(nodes=3) as running:
        yield running


def test_campaign_spreads_over_every_node_and_records_it(cluster, tmp_path: Path) -> None:
    problem, runs = sleepy_problem(tmp_path, cost_s=0.5), tmp_path / "runs"
    proc = campaign(problem, runs, cluster.address, budget=11, workers=3)
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out
    assert "cluster: 3 node(s), 3 CPUs" in out
    rows = programs(runs)
    assert [seq for seq, _, _ in rows] == list(range(12))
    assert all(status in GOOD for _, status, _ in rows), rows
    assert all(node for _, status, node in rows if status == "ok")  # every evaluation names its node
    used = Counter(node.split("/")[1] for _, _, node in rows if node)
    assert set(used) == {short(n) for n in cluster.nodes}, used  # every node evaluated some
    best = json.loads(subprocess.run([*ADRS, "best", "--json", "--runs-dir", str(runs)], capture_output=True,
                                     text=True, check=True).stdout)["program_id"]
    shown = subprocess.run([*ADRS, "show", str(best), "--runs-dir", str(runs)], capture_output=True,
                           text=True, check=True).stdout
    connection = sqlite3.connect(next(runs.glob("*/adrs.sqlite")))
    (node,) = connection.execute("SELECT node FROM program WHERE id = ?", (best,)).fetchone()
    connection.close()
    assert node and f"node {node}" in shown  # adrs show names the node


def test_killing_a_node_mid_campaign_loses_nothing(cluster, tmp_path: Path) -> None:
    log_dir = tmp_path / "scorings"
    log_dir.mkdir()
    budget = 14
    problem, runs = sleepy_problem(tmp_path, cost_s=1.0, log_dir=str(log_dir)), tmp_path / "runs"
    victim = cluster.nodes[-1]  # a worker node (the driver is attached to the head)
    proc = campaign(problem, runs, cluster.address, budget=budget, workers=3)
    deadline = time.monotonic() + 300
    while sum(1 for _, _, node in programs(runs) if node and short(victim) in node) < 2 \
            or not in_flight(log_dir, victim):  # kill it while it evaluates
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[0]
        time.sleep(0.05)
    cluster.kill(victim)
    killed_at = time.time_ns()
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out
    rows = programs(runs)
    assert [seq for seq, _, _ in rows] == list(range(budget + 1))  # each candidate recorded once
    assert all(status in GOOD for _, status, _ in rows), rows  # no infra_error: retried elsewhere
    # the killed node was evaluating when it died: a scoring started there never finished ...
    assert in_flight(log_dir, victim), "no evaluation was in flight on the killed node"
    # ... and everything scored after the kill ran on the surviving nodes
    later = [f.read_text() for f in log_dir.iterdir() if int(f.name.split("-")[0]) > killed_at]
    assert later and not any(short(victim) in text for text in later)
    assert {node.split("/")[1] for _, _, node in rows if node} >= {short(n) for n in cluster.nodes}


def test_nodes_that_cannot_evaluate_are_named_before_the_campaign(tmp_path: Path) -> None:
    support = tmp_path / "support"  # a module the evaluator needs, present on the head only
    support.mkdir()
    (support / "lab_simulator.py").write_text("VERSION = 1\n")
    shadow = tmp_path / "shadow"  # a node where `import adrs` fails: adrs is not installed there
    (shadow / "adrs").mkdir(parents=True)
    (shadow / "adrs" / "__init__.py").write_text("raise ImportError('adrs is not installed here')\n")
    problem, runs = sleepy_problem(tmp_path, cost_s=0.1, requires="lab_simulator"), tmp_path / "runs"
    with LocalCluster(nodes=1, env={"PYTHONPATH": f"{REPO}{os.pathsep}{support}"}) as small:
        lacks_module = small.add_node(env={"PYTHONPATH": str(REPO)})
        lacks_adrs = small.add_node(env={"PYTHONPATH": f"{shadow}{os.pathsep}{REPO}"})
        proc = campaign(problem, runs, small.address, budget=4, workers=3)
        out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 2, out
    flat = " ".join(out.split())
    assert "2 of 3 Ray node(s) cannot evaluate this problem" in flat
    assert f"{short(lacks_module)}" in flat and "No module named 'lab_simulator'" in flat
    assert f"{short(lacks_adrs)}" in flat and "adrs is not installed here" in flat
    assert short(small.nodes[0]) not in flat  # the head is fine and not accused
    assert programs(runs) == []  # nothing was evaluated on a half-working cluster
