"""The campaign driver's own CPU per candidate, by stage: store, dedup, sandbox driver side.

Each stage runs in this process on synthetic candidates (the code of a problem's seed, each one
changed a little, so no two are duplicates) and prints CPU milliseconds per candidate
(``time.process_time``: this process, every thread, kernel time included) next to the way it was
done before, in the same run:

- store: ``RunStore.add_outcome`` (SQLAlchemy Core, one commit, no read-back) against the ORM
  write it replaced (``orm_add_outcome`` below: session.add, Session.get of the run, commit, the
  row refreshed for its view), each into a fresh SQLite run;
- dedup: ``DuplicateIndex.claim`` + ``record`` (one key per candidate, one-pass normalizer) against
  the reference normalizer of ``tests/unit/test_dedup_reference.py`` asked three times per
  candidate, as the loop used to;
- call frames: the npz frames of smtt's and eplb's train calls, encoded for every candidate as
  before, against ``adrs.sandbox._call_frame`` (remembered by content);
- sandbox: ``run_program`` of the toy problem's seed, sequentially in the warm server: the
  driver's CPU per run and the wall time per run (no "before": see the git history).

Prints the load average: the machine may be shared.

    python benchmarks/driver_cpu.py [--candidates 300] [--runs 100] [--seed problems/smtt/seed.py]
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from adrs.db.models import LLMCall, Program, Run  # noqa: E402
from adrs.db.store import RunStore, create_run, create_sqlite, open_engine  # noqa: E402
from adrs.dedup import DuplicateIndex  # noqa: E402
from adrs.evaluation import EvalResult  # noqa: E402
from adrs.outcome import Outcome  # noqa: E402
from adrs.plan import Plan  # noqa: E402
from adrs.program import EVOLVE_END, EVOLVE_START, Candidate, ProgramView  # noqa: E402
from adrs.proposer import Proposal, Usage  # noqa: E402
from adrs.redact import redact  # noqa: E402
from adrs.status import Status  # noqa: E402
from tests.unit.test_dedup_reference import reference_tree  # noqa: E402

RUN = {"problem": "bench", "problem_root": "/x", "config": {}, "objective": "score",
       "direction": "minimize", "seed": 1, "proposer": "llm"}


def variants(code: str, n: int) -> list[str]:
    """``n`` programs: ``code`` with a different constant added to the block's first return."""
    head, sep, tail = code.partition("    return ")
    if not sep:
        raise SystemExit("the seed needs a 'return' in its EVOLVE-BLOCK")
    return [f"{head}    return {i} + {tail}" for i in range(n)]


def outcomes(codes: list[str], parent: ProgramView) -> list[Outcome]:
    call = Usage(model="gpt-x", prompt_tokens=900, completion_tokens=300, cost_usd=0.001,
                 latency_s=0.5, choice="bandit", finish_reason="stop", attempts=1)
    return [Outcome(Plan(i + 1, i % 2, "diff", parent),
                    Proposal(text="reply", kind="diff", proposer="llm", calls=(call,),
                             prompt="prompt " * 300, model="gpt-x"),
                    Candidate(code=code, parent_id=parent.id, diff="-a\n+b", kind="diff"),
                    EvalResult(Status.OK, float(i), metrics={"score": float(i), "time": 0.01},
                               feedback="fine"), 0.001, 0.01)
            for i, code in enumerate(codes)]


def orm_add_outcome(session: Session, run_id: str, outcome: Outcome, elapsed_s: float) -> ProgramView:
    """The ORM write ``RunStore.add_outcome`` did before (for comparison only)."""
    plan, proposal, result = outcome.plan, outcome.proposal, outcome.result
    parent = plan.parent
    row = Program(
        run_id=run_id, seq=plan.seq, parent_id=parent.id if parent else None, island=plan.island,
        generation=parent.generation + 1 if parent else 0, kind=plan.kind, code=outcome.code,
        diff=outcome.candidate.diff if outcome.candidate else "", status=result.status,
        score=result.score, metrics=dict(result.metrics), private_metrics=dict(result.private_metrics),
        feedback=redact(result.feedback), proposer=proposal.proposer if proposal else "seed",
        model=proposal.model if proposal else None, note=outcome.note,
        prompt=proposal.prompt if proposal else "", propose_s=outcome.propose_s,
        eval_s=outcome.eval_s, runtime_s=result.runtime_s, node=result.node or None)
    session.add(row)
    for usage in proposal.calls if proposal else ():
        session.add(LLMCall(run_id=run_id, seq=plan.seq, model=usage.model,
                            prompt_tokens=usage.prompt_tokens,
                            completion_tokens=usage.completion_tokens, cost_usd=usage.cost_usd,
                            latency_s=usage.latency_s, error=usage.error, kind=plan.kind,
                            choice=usage.choice, finish_reason=usage.finish_reason,
                            attempts=usage.attempts, cached=usage.cached))
    session.get(Run, run_id).elapsed_s = elapsed_s
    session.commit()
    return view(row)


def view(row: Program) -> ProgramView:
    """The view of an ORM row, as the ORM write path built it."""
    return ProgramView(id=row.id, code=row.code, status=row.status, score=row.score,
                       metrics=dict(row.metrics or {}), feedback=row.feedback,
                       generation=row.generation, island=row.island, seq=row.seq,
                       parent_id=row.parent_id)


def fresh_run(folder: Path, seed_code: str) -> tuple[object, ProgramView]:
    """A new SQLite run with its seed stored; (engine, the seed's view)."""
    path = folder / "adrs.sqlite"
    create_sqlite(path)
    engine = open_engine(f"sqlite:///{path}")
    create_run(engine, "r", RUN)
    with Session(engine) as session:
        seed = Program(run_id="r", seq=0, code=seed_code, status="ok", score=1.0)
        session.add(seed)
        session.commit()
        return engine, view(seed)


def cpu_ms(work: Callable[[], None], count: int) -> float:
    started = time.process_time()
    work()
    return 1000 * (time.process_time() - started) / count


def store_stage(codes: list[str], seed_code: str) -> tuple[float, float]:
    """(ms before, ms now) per outcome, each into a fresh SQLite run."""
    return store_cpu_ms(codes, seed_code, orm=True), store_cpu_ms(codes, seed_code, orm=False)


def store_cpu_ms(codes: list[str], seed_code: str, orm: bool) -> float:
    with tempfile.TemporaryDirectory() as folder:
        engine, seed = fresh_run(Path(folder), seed_code)
        batch = outcomes(codes, seed)
        if orm:
            with Session(engine) as session:
                session.get(Run, "r")
                ms = cpu_ms(lambda: [orm_add_outcome(session, "r", o, 1.0) for o in batch], len(batch))
        else:
            store = RunStore(engine, "r")
            ms = cpu_ms(lambda: [store.add_outcome(o, 1.0) for o in batch], len(batch))
            store.close()
        engine.dispose()
        return ms


def reference_key(code: str) -> str:
    """program_key with the reference normalizer (tests/unit/test_dedup_reference.py)."""
    parts, block = [], None
    for line in code.splitlines():
        text = line.strip()
        if text.startswith(EVOLVE_START):
            block = []
        elif text.startswith(EVOLVE_END) and block is not None:
            source = "\n".join(block)
            try:
                parts.append("B:" + ast.dump(reference_tree(source), annotate_fields=False))
            except SyntaxError:
                parts.append("B:" + source)
            block = None
        elif block is not None:
            block.append(line)
        elif text and not text.startswith("#"):
            parts.append("O:" + text)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def dedup_stage(codes: list[str]) -> tuple[float, float]:
    """(ms before, ms now) per candidate: claim + record."""
    before = cpu_ms(lambda: [reference_key(c) for c in codes for _ in range(3)], len(codes))
    index = DuplicateIndex()

    def now() -> None:
        for seq, code in enumerate(codes, start=1):
            assert index.claim(code, seq) is None
            index.record(code, seq, "ok", seq)

    return before, cpu_ms(now, len(codes))


def frames_stage(problem: Path, reps: int = 20) -> tuple[int, float, float]:
    """(calls, ms before, ms now) per candidate to frame the train calls of ``problem``."""
    import io

    import numpy as np

    from adrs.problem import load_problem
    from adrs.sandbox import _call_frame

    calls = load_problem(str(problem)).load_evaluator().calls("train")

    def npz_each_time() -> None:
        for call in calls:
            buffer = io.BytesIO()
            np.savez(buffer, **{name: np.asarray(value) for name, value in call.items()})

    before = cpu_ms(lambda: [npz_each_time() for _ in range(reps)], reps)
    now = cpu_ms(lambda: [[_call_frame(i, c) for i, c in enumerate(calls)] for _ in range(reps)], reps)
    return len(calls), before, now


def sandbox_stage(runs: int) -> tuple[float, float]:
    """(driver CPU ms, wall ms) per sequential sandboxed run of the toy seed (warm server)."""
    from adrs.problem import load_problem
    from adrs.sandbox import run_program

    spec = load_problem(str(REPO / "tests" / "fixtures" / "toy"))
    calls = spec.load_evaluator().calls("train")
    run_program(spec.seed_code, spec.entry, calls, spec.limits)  # starts the server
    wall = time.perf_counter()

    def work() -> None:
        for _ in range(runs):
            assert run_program(spec.seed_code, spec.entry, calls, spec.limits).status == "ok"

    cpu = cpu_ms(work, runs)
    return cpu, 1000 * (time.perf_counter() - wall) / runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=300)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--seed", type=Path, default=REPO / "problems" / "smtt" / "seed.py")
    args = parser.parse_args()
    seed_code = args.seed.read_text()
    codes = variants(seed_code, args.candidates)
    print(f"{args.candidates} candidates of {args.seed} ({len(seed_code)} chars); "
          f"CPU ms per candidate, before -> now  ({load()})")
    before, now = store_stage(codes, seed_code)
    print(f"store  (add_outcome, SQLite): {before:6.2f} -> {now:5.2f} ms  ({before / now:.1f}x)")
    before, now = dedup_stage(codes)
    print(f"dedup  (claim + record):      {before:6.2f} -> {now:5.2f} ms  ({before / now:.1f}x)")
    for problem in ("smtt", "eplb"):
        n, before, now = frames_stage(REPO / "problems" / problem)
        print(f"call frames ({problem}, {n} train calls): {before:5.2f} -> {now:5.2f} ms  "
              f"({before / now:.1f}x)")
    cpu, wall = sandbox_stage(args.runs)
    print(f"sandbox driver side (toy seed, {args.runs} sequential runs): {cpu:.2f} ms CPU, "
          f"{wall:.1f} ms wall per run  ({load()})")


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


if __name__ == "__main__":
    main()
