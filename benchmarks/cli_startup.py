"""Start-up time of the browsing commands (`adrs runs / show / lineage / best / problems`).

Builds a small run database (a seed and 200 programs, stored validation rows) in a temporary
folder, then times each command as a fresh process, best of --repeat runs, and prints which of ray,
litellm and the SQLAlchemy ORM each command imported (none of them should). Usage:
    python benchmarks/cli_startup.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy.orm import Session

from adrs.db import store
from adrs.db.models import Evaluation, Program, Run

TOY = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "toy"
HEAVY = ("ray", "litellm", "sqlalchemy.orm", "sqlalchemy")


def build_run(runs_dir: Path, programs: int = 200) -> str:
    run_id = "toy-bench"
    (runs_dir / run_id).mkdir(parents=True)
    engine = store.open_engine(store.sqlite_url(runs_dir, run_id))
    with Session(engine) as session:
        session.add(Run(id=run_id, problem="toy", problem_root=str(TOY), config={}, seed=0,
                        proposer="mutator", objective="error", direction="minimize"))
        parent = None
        for seq in range(programs + 1):
            row = Program(run_id=run_id, seq=seq, parent_id=parent, code=f"def solve(x):\n    return {seq}\n",
                          status="ok", score=1000.0 - seq, metrics={"error": 1000.0 - seq}, diff="-a\n+b\n")
            session.add(row)
            session.flush()
            parent = row.id if seq % 3 == 0 else parent
        session.add(Evaluation(run_id=run_id, program_id=row.id, split="validation", status="ok", score=1.0))
        session.add(Evaluation(run_id=run_id, baseline="ZERO", split="validation", status="ok", score=3.0))
        session.commit()
    return run_id


def time_command(args: list[str], repeat: int) -> tuple[float, list[str]]:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "adrs.cli.main", *args], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - start)
    probe = ("import sys, runpy; sys.argv = ['adrs', *sys.argv[1:]]\n"
             "try:\n    runpy.run_module('adrs.cli.main', run_name='__main__')\n"
             "except SystemExit:\n    pass\n"
             f"print([m for m in {HEAVY!r} if m in sys.modules], file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, check=True)
    return best, eval(out.stderr.strip().splitlines()[-1])  # noqa: S307 - our own probe's list literal


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runs_dir = Path(tmp) / "runs"
        run_id = build_run(runs_dir)
        python_s, _ = time_command(["--help"], args.repeat)
        bare = min(_time([sys.executable, "-c", "pass"]) for _ in range(args.repeat))
        print(f"python -c pass: {bare:.3f} s;  adrs --help: {python_s:.3f} s")
        print(f"{'command':<40} {'best of ' + str(args.repeat):>10}  heavy modules imported")
        for command in (["runs"], ["show", "150"], ["lineage"], ["best"], ["problems"]):
            argv = [*command, "--runs-dir", str(runs_dir)] if command[0] != "problems" else command
            if command[0] == "best":
                argv = ["best", run_id, "--runs-dir", str(runs_dir)]
            seconds, heavy = time_command(argv, args.repeat)
            print(f"{' '.join(command):<40} {seconds:>9.3f}s  {', '.join(heavy) or 'none'}")


def _time(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
