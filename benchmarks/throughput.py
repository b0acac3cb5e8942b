"""Candidates per second of the whole loop with an instant proposer and a trivial evaluator.

Runs the toy problem (tests/fixtures/toy: one call, one number) with the offline mutator, whose
proposals take well under a millisecond, so the figure measures adrs itself: selection, patching,
the Ray task, the sandboxed subprocess and the database write. It also times bare sandbox runs
in this process and prints the loop's efficiency against that ceiling (workers x bare rate).

    python benchmarks/throughput.py [--budget 200] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from adrs.campaign import new_campaign, start_ray
from adrs.config import load_run_config
from adrs.db.models import Program
from adrs.evolve import evolve
from adrs.problem import load_problem
from adrs.sandbox import isolation_level, run_program

TOY = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "toy"


def bare_sandbox_rate(runs: int) -> float:
    """Sequential sandbox runs per second of the toy seed (no Ray, no database)."""
    spec = load_problem(str(TOY))
    evaluator = spec.load_evaluator()
    calls = evaluator.calls("train")
    started = time.perf_counter()
    for _ in range(runs):
        outcome = run_program(spec.seed_code, spec.entry, calls, spec.limits)
        assert outcome.status == "ok", outcome
    return runs / (time.perf_counter() - started)


def loop_rate(budget: int, workers: int) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as runs_dir:
        config = load_run_config(overrides={"evolution": {"budget": budget, "workers": workers},
                                            "db": {"runs_dir": runs_dir}})
        campaign = new_campaign(str(TOY), config)
        started = time.perf_counter()
        asyncio.run(evolve(campaign))
        elapsed = time.perf_counter() - started
        with Session(campaign.engine) as session:
            count = session.scalar(select(func.count()).select_from(Program)) or 0
        return (count - 1) / elapsed, count - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"sandbox isolation: {isolation_level()}")
    bare = bare_sandbox_rate(30)
    print(f"bare sandbox runs (sequential, no Ray): {bare:.1f}/s ({1000 / bare:.0f} ms each)")
    started = time.perf_counter()
    start_ray(args.workers)
    print(f"ray.init: {time.perf_counter() - started:.1f} s (paid once per campaign)")
    rate, count = loop_rate(args.budget, args.workers)
    ceiling = bare * args.workers
    print(f"loop: {count} candidates, {rate:.1f} candidates/s with {args.workers} workers")
    print(f"efficiency vs {args.workers} x bare sandbox ({ceiling:.1f}/s): {rate / ceiling:.0%}")


if __name__ == "__main__":
    main()
