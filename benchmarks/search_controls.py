"""Does evolution beat simple controls at equal budget? smtt, offline mutator, 3 seeds each.

Runs `adrs run smtt --strategy S --seed K --budget B` for S in evolve, best-of-n, random-restart
(each run stores its best program's validation score), then prints, per strategy, the mean ± sd
of the validation gap over the seeds and whether evolve beats each control by more than the sum
of the two spreads (the same figures `adrs controls RUN` shows). The wall-time cap is lifted so
that the budget alone decides; on a loaded machine this only makes the runs slower. Usage:
    python benchmarks/search_controls.py [--budget 300] [--seeds 0 1 2] [--runs-dir DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from adrs import controls as ctl
from adrs.db import reader as rd

STRATEGIES = ("evolve", "best-of-n", "random-restart")


def run_one(strategy: str, seed: int, budget: int, runs_dir: Path) -> float:
    started = time.perf_counter()
    cmd = [sys.executable, "-m", "adrs.cli.main", "run", "smtt", "--strategy", strategy,
           "--seed", str(seed), "--budget", str(budget), "--max-time", "1000000",
           "--runs-dir", str(runs_dir)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=os.environ | {"COLUMNS": "100"})
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return time.perf_counter() - started


def outcomes(runs_dir: Path) -> list[ctl.RunOutcome]:
    found = []
    for path in rd.run_dirs(runs_dir):
        with rd.open_reader(rd.sqlite_url(runs_dir, path.name)) as reader:
            found.extend(ctl.outcome(reader, run) for run in rd.runs(reader))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=300)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--runs-dir", type=Path, default=None,
                        help="keep the runs here (default: a temporary folder)")
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=STRATEGIES)
    parser.add_argument("--report-only", action="store_true",
                        help="only print the table for the runs already in --runs-dir (e.g. after "
                             "running strategies in parallel)")
    args = parser.parse_args()
    runs_dir = args.runs_dir or Path(tempfile.mkdtemp(prefix="adrs-controls-"))
    runs_dir.mkdir(parents=True, exist_ok=True)
    print(f"smtt, offline mutator, budget {args.budget} candidates, seeds {args.seeds}, "
          f"runs in {runs_dir}; load average before: {os.getloadavg()[0]:.2f}")
    for strategy in [] if args.report_only else args.strategies:
        for seed in args.seeds:
            seconds = run_one(strategy, seed, args.budget, runs_dir)
            print(f"  {strategy:15s} seed {seed}: {seconds:6.0f} s", flush=True)
    found = [o for o in outcomes(runs_dir) if o.budget == args.budget and o.seed in args.seeds]
    target = next(o for o in found if o.strategy == "evolve")
    groups = ctl.controls_of(target, found)
    print(f"\nvalidation mean gap to the optimum (%), {len(args.seeds)} seeds each:")
    print(f"{'strategy':15s} {'mean':>7s} {'± sd':>7s} {'best':>7s}  per seed")
    for g in groups:
        seeds = ", ".join(f"{g.value(r):.3f}" for r in g.runs)
        print(f"{g.strategy:15s} {g.mean:7.3f} {g.sd:7.3f} {g.best:7.3f}  {seeds}  ({g.split})")
    print(ctl.verdict(groups))
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
