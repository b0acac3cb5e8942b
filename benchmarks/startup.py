"""Start-up of a campaign: seconds from launching `adrs run` to the seed and to the first proposed
candidate being evaluated and stored (offline mutator).

Launches `adrs run PROBLEM --budget 5` as a fresh process (best of --repeat runs, each in its own
runs folder) and watches its SQLite database for the rows of seq 0 (the seed) and seq 1. Prints the
load average next to the figures: on a shared machine they grow with the load.

    python benchmarks/startup.py [--problem smtt] [--repeat 3] [--executor local|ray]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def first_rows(problem: str, executor: str) -> tuple[float, float]:
    """Seconds until the seed's row and the first candidate's row were stored."""
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.yaml"
        config.write_text(f"evolution:\n  executor: {executor}\n")
        runs = Path(tmp) / "runs"
        command = [sys.executable, "-m", "adrs.cli.main", "run", problem, "--budget", "5",
                   "--runs-dir", str(runs), "--config", str(config)]
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        seed_s = first_s = None
        try:
            while first_s is None:
                if process.poll() is not None and first_s is None:
                    _, err = process.communicate()
                    if not _max_seq(runs) >= 1:
                        raise RuntimeError(f"adrs run ended early: {err.decode()[-2000:]}")
                seq = _max_seq(runs)
                now = time.perf_counter() - started
                if seq >= 0 and seed_s is None:
                    seed_s = now
                if seq >= 1:
                    first_s = now
                time.sleep(0.005)
        finally:
            process.kill()
            process.wait()
        return seed_s or first_s, first_s


def _max_seq(runs: Path) -> int:
    for path in runs.glob("*/adrs.sqlite"):
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0.01) as db:
                value = db.execute("select max(seq) from program").fetchone()[0]
            return -1 if value is None else int(value)
        except sqlite3.Error:
            return -1
    return -1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problem", default="smtt")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--executor", default="local", choices=["local", "ray"])
    args = parser.parse_args()
    runs = [first_rows(args.problem, args.executor) for _ in range(args.repeat)]
    seed = min(r[0] for r in runs)
    first = min(r[1] for r in runs)
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")
    print(f"adrs run {args.problem} (executor {args.executor}), best of {args.repeat}: seed stored after "
          f"{seed:.2f} s, first candidate proposed, evaluated and stored after {first:.2f} s "
          f"(all: {', '.join(f'{r[1]:.2f}' for r in runs)})")


if __name__ == "__main__":
    main()
