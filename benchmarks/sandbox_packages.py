"""Start-up cost of declared sandbox packages and of the candidate proxy.

Times, in one process and interleaved (so machine load hits every variant alike), the median wall
(and best) time of a sandboxed run of a trivial program with no declared package, with ``scipy`` declared
(its folder bound read-only; not imported), with ``scipy`` and ``matplotlib`` declared (matplotlib
brings several dependencies), and with scipy declared *and* imported; then one OpenEvolve-style
evaluation (tests/fixtures/byop/oe_tamper) with the candidate in the evaluator's process ("shared")
against the candidate behind the proxy in its own sandboxed process. Prints each figure and its
ratio to the baseline. Usage:
    python benchmarks/sandbox_packages.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from adrs.evaluation import evaluate_program
from adrs.fork_server import stop_all
from adrs.openevolve import import_openevolve
from adrs.problem import load_problem
from adrs.sandbox import Limits, isolation_level, run_program
from adrs.sandbox_packages import sandbox_runtime

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "byop" / "oe_tamper"
TRIVIAL = "def f():\n    return 1\n"
IMPORTS = "import scipy.optimize\ndef f():\n    return 1\n"


def timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    print(f"isolation: {isolation_level()}")
    start = time.perf_counter()
    runtime = sandbox_runtime(("scipy", "matplotlib"))
    print(f"resolving scipy + matplotlib (once per process, cached): {time.perf_counter() - start:.3f} s, "
          f"{len(runtime.binds)} read-only binds for {len(runtime.packages)} distributions")
    variants = {
        "no package declared": (TRIVIAL, Limits()),
        "scipy declared": (TRIVIAL, Limits(packages=("scipy",))),
        "scipy + matplotlib declared": (TRIVIAL, Limits(packages=("scipy", "matplotlib"))),
        "scipy declared and imported": (IMPORTS, Limits(packages=("scipy",))),
    }
    cold: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(max(3, args.repeat // 3)):  # a fresh server each time, variants interleaved
        for name, (code, limits) in variants.items():
            stop_all()
            cold[name].append(timed(lambda c=code, lim=limits: run_program(c, "f", [{}], lim)))
    warm: dict[str, list[float]] = {}
    for name, (code, limits) in variants.items():  # the warm server of each configuration
        stop_all()
        assert run_program(code, "f", [{}], limits).status == "ok", name
        warm[name] = [timed(lambda c=code, lim=limits: run_program(c, "f", [{}], lim))
                      for _ in range(args.repeat)]
    report("cold (server start + run)", cold)
    report("warm (run in a warm server)", warm)
    with tempfile.TemporaryDirectory() as tmp:
        specs = {mode: load_problem(str(import_openevolve(FIXTURE, Path(tmp), candidate_process=mode)
                                        .problem_dir)) for mode in ("shared", "proxy")}
        evaluators = {mode: spec.load_evaluator() for mode, spec in specs.items()}
        evaluations: dict[str, list[float]] = {"shared": [], "proxy": []}
        for _ in range(args.repeat + 1):
            for mode, spec in specs.items():
                evaluations[mode].append(timed(lambda s=spec, m=mode: evaluate_program(
                    s.seed_code, evaluators[m], "train", s.limits)))
    report("OpenEvolve evaluation (oe_tamper seed)", {m: v[1:] for m, v in evaluations.items()})


def report(title: str, times: dict[str, list[float]]) -> None:
    base = statistics.median(next(iter(times.values())))
    print(title)
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:30s} median {1000 * median:7.1f} ms ({median / base:.2f}x, "
              f"{1000 * (median - base):+.1f} ms)  best {1000 * min(values):7.1f} ms")


if __name__ == "__main__":
    main()
