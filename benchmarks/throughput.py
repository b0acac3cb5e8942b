"""Candidates per second of the whole loop with an instant proposer and a trivial evaluator.

Runs the toy problem (tests/fixtures/toy: one call, one number) with the offline mutator, whose
proposals take well under a millisecond, so the figure measures adrs itself: selection, patching,
the evaluation (local threads as `adrs run` does, or Ray tasks with --executor ray), the sandboxed
run in the warm fork server and the database write. It also times bare sandbox runs in this
process (the first one starts the server) and the residual of the parent's call timing (the time
it measures for an entry that returns at once: pipe transfer, decoding and encoding), and prints
the loop's efficiency against workers x the bare rate and the CPU it spent per candidate in this
process and in the sandbox (the warm servers with the jobs they reaped; kernel work done on no
process's behalf, such as tearing down namespaces, is in neither). Prints the load average: the
machine may be shared.

    python benchmarks/throughput.py [--budget 200] [--workers 2] [--executor local|ray]
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

from adrs.campaign import local_executor, new_campaign, start_ray
from adrs.config import load_run_config
from adrs.db.models import Program
from adrs.evolve import evolve
from adrs.problem import load_problem
from adrs.sandbox import isolation_level, run_program

TOY = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "toy"


def bare_sandbox_rate(runs: int) -> tuple[float, float]:
    """Seconds of the first sandbox run (starts the warm server) and sequential runs per second
    of the toy seed after it (no Ray, no database)."""
    spec = load_problem(str(TOY))
    evaluator = spec.load_evaluator()
    calls = evaluator.calls("train")
    started = time.perf_counter()
    run_program(spec.seed_code, spec.entry, calls, spec.limits)
    first = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(runs):
        outcome = run_program(spec.seed_code, spec.entry, calls, spec.limits)
        assert outcome.status == "ok", outcome
    return first, runs / (time.perf_counter() - started)


def timing_residual(runs: int) -> list[float]:
    """Call times the parent measures for an entry that returns at once (toy inputs)."""
    spec = load_problem(str(TOY))
    calls = spec.load_evaluator().calls("train")
    times = []
    for _ in range(runs):
        outcome = run_program("def f(**kwargs):\n    return None\n", "f", calls, spec.limits)
        times += outcome.call_times_s
    return sorted(times)


def sandbox_cpu_s() -> float:
    """CPU seconds of this process's warm sandbox servers and the jobs they have reaped."""
    from adrs import fork_server

    total = 0.0
    for server in list(fork_server._servers.values()):
        for pid in [server.pid, *fork_server._children(server.pid)]:  # unshare, then the harness
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            total += sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    return total


def loop_rate(budget: int, workers: int, executor: str) -> tuple[float, int, float, float]:
    """(candidates per second, candidates, driver CPU ms and local sandbox CPU ms per candidate)."""
    with tempfile.TemporaryDirectory() as runs_dir:
        config = load_run_config(overrides={"evolution": {"budget": budget, "workers": workers,
                                                          "executor": executor},
                                            "db": {"runs_dir": runs_dir}})
        campaign = new_campaign(str(TOY), config)
        if executor == "local":
            campaign.executor = local_executor(campaign)
        started, cpu, sandbox = time.perf_counter(), time.process_time(), sandbox_cpu_s()
        asyncio.run(evolve(campaign))
        elapsed = time.perf_counter() - started
        cpu, sandbox = time.process_time() - cpu, sandbox_cpu_s() - sandbox
        with Session(campaign.engine) as session:
            count = session.scalar(select(func.count()).select_from(Program)) or 0
        count -= 1
        return count / elapsed, count, 1000 * cpu / count, 1000 * sandbox / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--executor", default="local", choices=["local", "ray"])
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"sandbox isolation: {isolation_level()}")
    first, bare = bare_sandbox_rate(30)
    print(f"bare sandboxed runs (sequential, warm server, no Ray): {bare:.1f}/s ({1000 / bare:.1f} ms "
          f"each); the first, which starts the server: {1000 * first:.0f} ms  ({load()})")
    residual = timing_residual(10)
    print(f"call time the parent measures for an entry returning at once: median "
          f"{1e6 * residual[len(residual) // 2]:.0f} us, max {1e6 * residual[-1]:.0f} us  ({load()})")
    if args.executor == "ray":
        started = time.perf_counter()
        start_ray(args.workers)
        print(f"ray.init: {time.perf_counter() - started:.1f} s (paid once per campaign)")
    rate, count, driver_ms, sandbox_ms = loop_rate(args.budget, args.workers, args.executor)
    ceiling = bare * args.workers
    print(f"loop ({args.executor} executor): {count} candidates, {rate:.1f} candidates/s with "
          f"{args.workers} workers  ({load()})")
    print(f"CPU per candidate: driver process {driver_ms:.1f} ms (every thread; Ray workers not "
          f"included), sandbox servers and their jobs {sandbox_ms:.1f} ms")
    print(f"efficiency vs {args.workers} x bare sandbox ({ceiling:.1f}/s): {rate / ceiling:.0%}")


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


if __name__ == "__main__":
    main()
