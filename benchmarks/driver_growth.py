"""Does the campaign driver's work per candidate grow with the run? CPU per candidate of the
loop's state operations at 1,000 and at 10,000 programs, and the driver's memory after resuming a
run of 1,000 and of 10,000 stored programs.

- CPU: a LoopState holding ``n`` synthetic programs (smtt-sized code, a mix of statuses, scores
  with ties, two islands) takes ``--candidates`` more, one at a time, as the loop does: for each,
  ``can_propose``, ``visible``, ``IslandPlanner.plan`` (offline: no templates; and with the LLM
  templates diff/rewrite/fix/crossover), ``add`` and ``progress``. Prints CPU milliseconds per
  candidate (``time.process_time``) of each at both sizes and their ratio.
- plan per strategy: the same, timing only ``plan`` (LLM templates) for every population strategy:
  islands, islands with a two-objective Pareto front, MAP-Elites, best-of-n and random-restart.
- RSS: a synthetic SQLite run of ``n`` programs (each with an 8 kB prompt, a third of them with an
  LLM call) is resumed in a fresh interpreter as ``adrs.evolve`` does (``RunStore.programs``,
  ``spent``, ``llm_history``, ``DuplicateIndex``); prints the process's peak RSS before and after,
  and the bytes one retained ProgramView holds (tracemalloc).

Prints the load average: the machine may be shared.

    python benchmarks/driver_growth.py [--candidates 300] [--sizes 1000,10000] [--plans-only]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from adrs.config import EvolutionConfig  # noqa: E402
from adrs.loopstate import LoopState, in_flight_window  # noqa: E402
from adrs.pareto import FrontObjective  # noqa: E402
from adrs.plan import IslandPlanner  # noqa: E402
from adrs.program import ProgramView  # noqa: E402
from adrs.status import Status  # noqa: E402

SEED_CODE = (REPO / "benchmarks" / "soak_smtt" / "seed.py").read_text()
STATUSES = ["ok"] * 6 + ["duplicate"] * 2 + ["invalid", "timeout", "error", "memory"]
LLM_TEMPLATES = {"diff": 0.5, "rewrite": 0.2, "fix": 0.15, "crossover": 0.15}
FRONT = (FrontObjective("mean_gap_pct", "minimize"), FrontObjective("mean_call_ms", "minimize"))
STRATEGIES = {  # name -> (evolution config, front objectives)
    "islands": (EvolutionConfig(), ()),
    "islands+front": (EvolutionConfig(), FRONT),
    "map-elites": (EvolutionConfig(population="map-elites"), ()),
    # an axis every new program extends (the worst case: the grid moves at each candidate)
    "map-elites drift": (EvolutionConfig(population="map-elites", map_elites_axes="growing"), ()),
    "best-of-n": (EvolutionConfig(strategy="best-of-n"), ()),
    "random-restart": (EvolutionConfig(strategy="random-restart"), ()),
}


def synthetic(seq: int, rng: random.Random) -> ProgramView:
    status = "ok" if seq == 0 else rng.choice(STATUSES)
    score = round(rng.uniform(0.0, 30.0), 2) if status == "ok" else None
    code = SEED_CODE.replace("EVOLVE-BLOCK-END", f"EVOLVE-BLOCK-END\n# variant {seq}")
    return ProgramView(id=seq + 1, code=code, status=status, score=score,
                       metrics={"mean_gap_pct": score, "mean_call_ms": rng.uniform(0.5, 2.0)}
                       if score is not None else {},
                       feedback="" if status == "ok" else f"candidate {seq} failed: " + "x" * 400,
                       generation=seq // 10, island=seq % 2, seq=seq,
                       parent_id=rng.randrange(1, seq + 1) if seq else None)


def better(a: float | None, b: float | None) -> bool:
    return a is not None and (b is None or a < b)


class _Outcome:
    proposal = None
    status = Status.OK


def cpu_per_candidate(size: int, candidates: int, templates: dict[str, float]) -> dict[str, float]:
    rng = random.Random(size)
    window = in_flight_window(2, 1)
    programs = [synthetic(s, rng) for s in range(size + candidates)]
    state = LoopState(programs[:size], 0.0, 0.0)
    planner = IslandPlanner(EvolutionConfig(), lambda s: -s, templates)
    planner.plan(state.visible(size + window - 1, window), size + window - 1)  # warm
    spent = dict.fromkeys(("can_propose", "visible", "plan", "add+progress"), 0.0)
    for i in range(candidates):
        seq = size + window + i
        t0 = time.process_time()
        for _ in range(10):
            state.can_propose(seq, window)
        t1 = time.process_time()
        for _ in range(10):
            visible = state.visible(seq, window)
        t2 = time.process_time()
        planner.plan(visible, seq)
        t3 = time.process_time()
        state.add(programs[size + i], _Outcome())
        state.progress(1000, better, {}, 3)
        t4 = time.process_time()
        spent["can_propose"] += (t1 - t0) / 10
        spent["visible"] += (t2 - t1) / 10
        spent["plan"] += t3 - t2
        spent["add+progress"] += t4 - t3
    return {k: 1000 * v / candidates for k, v in spent.items()}


def plan_per_candidate(size: int, candidates: int, evolution: EvolutionConfig,
                       front: tuple[FrontObjective, ...]) -> tuple[float, float]:
    """CPU milliseconds of ``plan`` per candidate after ``size`` programs (LLM templates), and of
    the first plan (a resumed run: the strategy's index is built from the stored programs)."""
    rng = random.Random(size)
    window = in_flight_window(2, 1)
    programs = [synthetic(s, rng) for s in range(size + candidates)]
    programs = [replace(p, metrics={**p.metrics, "growing": float(p.seq)}) if p.metrics else p
                for p in programs]
    state = LoopState(programs[:size], 0.0, 0.0)
    planner = IslandPlanner(evolution, lambda s: -s, LLM_TEMPLATES, front)
    t0 = time.process_time()
    planner.plan(state.visible(size + window - 1, window), size + window - 1)  # warm
    first = time.process_time() - t0
    spent = 0.0
    for i in range(candidates):
        seq = size + window + i
        visible = state.visible(seq, window)
        t0 = time.process_time()
        planner.plan(visible, seq)
        spent += time.process_time() - t0
        state.add(programs[size + i], _Outcome())
    return 1000 * spent / candidates, 1000 * first


RESUME = r"""
import json, sys, tracemalloc
sys.path.insert(0, sys.argv[2])
from adrs.db.store import RunStore, open_engine
from adrs.dedup import DuplicateIndex
from adrs.program import ProgramView
def peak_mb():  # this process's peak RSS (VmHWM: ru_maxrss would carry the parent's over exec)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
engine = open_engine(sys.argv[1])
before = peak_mb()
store = RunStore(engine, "r1")
tracemalloc.start()
programs = store.programs()
held = tracemalloc.get_traced_memory()[0]
tracemalloc.stop()
elapsed, cost = store.spent()
history = store.llm_history()
duplicates = DuplicateIndex(programs)
after = peak_mb()
print(json.dumps({"before_mb": before, "after_mb": after, "programs": len(programs),
                  "calls": len(history), "bytes_per_program": held / len(programs)}))
"""


def resume_rss(size: int, folder: Path) -> dict[str, float]:
    from sqlalchemy import insert

    from adrs.db.models import LLMCall, Program, Run
    from adrs.db.store import open_engine

    url = f"sqlite:///{folder / f'run{size}.sqlite'}"
    engine = open_engine(url)
    rng = random.Random(size)
    with engine.begin() as connection:
        connection.execute(insert(Run.__table__), [dict(
            id="r1", problem="smtt-soak", problem_root="/x", config={}, seed=0, proposer="llm",
            objective="mean_gap_pct", direction="minimize")])
        rows, calls = [], []
        for seq in range(size):
            p = synthetic(seq, rng)
            rows.append(dict(run_id="r1", seq=seq, parent_id=p.parent_id, island=p.island,
                             generation=p.generation, kind="diff", code=p.code, diff="-a\n+b" * 40,
                             status=p.status, score=p.score, metrics=p.metrics, private_metrics={},
                             feedback=p.feedback, proposer="llm", model="m", note="",
                             prompt="prompt text " * 700))
            if seq % 3 == 0:
                calls.append(dict(run_id="r1", seq=seq, model="m", cost_usd=0.001))
        connection.execute(insert(Program.__table__), rows)
        connection.execute(insert(LLMCall.__table__), calls)
    engine.dispose()
    out = subprocess.run([sys.executable, "-c", RESUME, url, str(REPO)], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=300)
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--plans-only", action="store_true", help="only the plan per strategy")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}; "
          f"{args.candidates} candidates after each size")
    for label, templates in () if args.plans_only else (("offline", {}), ("llm templates", LLM_TEMPLATES)):
        figures = {size: cpu_per_candidate(size, args.candidates, templates) for size in sizes}
        for op in figures[sizes[0]]:
            cells = "  ".join(f"{figures[s][op]:7.3f} ms @ {s}" for s in sizes)
            ratio = figures[sizes[-1]][op] / max(figures[sizes[0]][op], 1e-9)
            print(f"  cpu/candidate {label:14s} {op:13s} {cells}  ratio {ratio:5.2f}")
    for name, (evolution, front) in STRATEGIES.items():
        plan = {size: plan_per_candidate(size, args.candidates, evolution, front) for size in sizes}
        cells = "  ".join(f"{plan[s][0]:7.3f} ms @ {s}" for s in sizes)
        ratio = plan[sizes[-1]][0] / max(plan[sizes[0]][0], 1e-9)
        firsts = "  ".join(f"{plan[s][1]:6.1f} ms @ {s}" for s in sizes)
        print(f"  plan/candidate {name:17s} {cells}  ratio {ratio:5.2f}; first plan {firsts}")
    if args.plans_only:
        return
    with tempfile.TemporaryDirectory() as folder:
        for size in sizes:
            r = resume_rss(size, Path(folder))
            print(f"  resume {size:6d} programs ({r['calls']} LLM calls): peak RSS "
                  f"{r['before_mb']:.1f} -> {r['after_mb']:.1f} MB (+{r['after_mb'] - r['before_mb']:.1f}); "
                  f"{r['bytes_per_program']:.0f} bytes per retained program")
    print(f"load average after {os.getloadavg()[0]:.2f}; driver max RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB (this process)")


if __name__ == "__main__":
    main()
