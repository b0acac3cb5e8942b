"""Candidates per second against the number of Ray nodes (1, 2, 4 on this machine).

Each node is a separate raylet with 1 CPU (tests/ray_cluster.py: Ray's own cluster_utils); the
problem is tests/fixtures/sleepy, whose trusted evaluator sleeps ``--cost`` seconds (1 s), so CPU
is not the limit and a perfect cluster evaluates ``nodes / cost`` candidates per second. Each
configuration runs a real campaign through the CLI (``adrs run --ray-address``, ``--workers`` =
nodes, ``--budget`` = ``--per-node`` x nodes). The steady-state rate is taken from the stored
programs' creation times (first to last candidate: Ray start-up, node probes and the end-of-run
report excluded); also the mean wall time of one evaluation (queueing, the sandboxed run, the
1 s of scoring) and how busy the nodes were (evaluation seconds per node-second: below 100 % the
driver kept nodes waiting, a longer evaluation means the machine's CPUs were the limit); the
end-to-end wall time of the command is printed too. Target: every
evaluation rate at least 0.8 x linear (nodes x the 1-node rate). Usage:
    python benchmarks/scale_out.py [--nodes 1,2,4] [--cost 1.0] [--per-node 10]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.ray_cluster import LocalCluster  # noqa: E402

SLEEPY = REPO / "tests" / "fixtures" / "sleepy"
TARGET = 0.8


def campaign(nodes: int, cost_s: float, per_node: int, work: Path) -> dict[str, float]:
    """Steady candidates/s and evaluations/s, mean evaluation wall time, how busy the nodes were,
    end-to-end seconds and the distinct nodes used, for one cluster size. Evaluations exclude
    candidates that never reached a node (duplicates of an earlier program, patch failures): the
    cluster's own throughput, judged against the target."""
    import yaml

    problem = work / f"sleepy-{nodes}"
    shutil.copytree(SLEEPY, problem)
    raw = yaml.safe_load((problem / "problem.yaml").read_text())
    raw["instances"]["cost_s"] = cost_s
    (problem / "problem.yaml").write_text(yaml.safe_dump(raw))
    runs = work / f"runs-{nodes}"
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    with LocalCluster(nodes=nodes) as cluster:
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "adrs.cli.main", "run", str(problem), "--budget",
                               str(per_node * nodes), "--workers", str(nodes), "--runs-dir", str(runs),
                               "--max-time", "3600", "--ray-address", cluster.address],
                              capture_output=True, text=True, env=env, cwd=work)
        wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"campaign on {nodes} node(s) failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    database = next(runs.glob("*/adrs.sqlite"))
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT created_at, node, eval_s FROM program WHERE seq > 0 "
                                  "ORDER BY created_at").fetchall()
    times = [datetime.fromisoformat(t) for t, _, _ in rows]
    evaluated = [(datetime.fromisoformat(t), e) for t, node, e in rows if node]
    span = (evaluated[-1][0] - evaluated[0][0]).total_seconds()
    busy = sum(e for _, e in evaluated[1:]) / (span * nodes)  # evaluation time per node-second
    return {"cand": (len(times) - 1) / (times[-1] - times[0]).total_seconds(),
            "eval": (len(evaluated) - 1) / span, "eval_s": sum(e for _, e in evaluated) / len(evaluated),
            "busy": busy, "wall": wall, "used": len({n for _, n, _ in rows if n})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", default="1,2,4")
    parser.add_argument("--cost", type=float, default=1.0, help="evaluator sleep per candidate, s")
    parser.add_argument("--per-node", type=int, default=10, help="candidates per node")
    args = parser.parse_args()
    sizes = [int(n) for n in args.nodes.split(",")]
    print(f"load average before: {os.getloadavg()[0]:.2f} (cores: {os.cpu_count()})")
    print(f"{'nodes':>5} {'candidates':>10} {'cand/s':>8} {'evals/s':>8} {'ideal':>7} {'x linear':>9} "
          f"{'eval s':>7} {'busy':>5} {'nodes used':>10} {'wall s':>7}")
    results = {}
    with tempfile.TemporaryDirectory(prefix="adrs-scale-") as tmp:
        for n in sizes:
            m = campaign(n, args.cost, args.per_node, Path(tmp))
            results[n] = m["eval"]
            base = results[sizes[0]] / sizes[0]
            print(f"{n:>5} {args.per_node * n:>10} {m['cand']:>8.3f} {m['eval']:>8.3f} {n / args.cost:>7.2f} "
                  f"{m['eval'] / (n * base):>9.2f} {m['eval_s']:>7.2f} {m['busy']:>5.0%} {m['used']:>10} "
                  f"{m['wall']:>7.1f}", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    base = results[sizes[0]] / sizes[0]
    worst = min(results[n] / (n * base) for n in sizes)
    verdict = "meets" if worst >= TARGET else "MISSES"
    print(f"scaling: worst {worst:.2f} x linear (vs the {sizes[0]}-node rate per node); "
          f"{verdict} the {TARGET} x target")


if __name__ == "__main__":
    main()
