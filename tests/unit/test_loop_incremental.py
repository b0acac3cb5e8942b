"""The driver's incremental structures against the scanning definitions they replace: LoopState
(visible programs, can_propose, Progress counters) over random completion orders, and
RunStore.llm_history (Core join) against the ORM rows it used to load."""

from __future__ import annotations

import random
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from adrs.db import store
from adrs.db.models import LLMCall, Program, Run
from adrs.loopstate import LoopState
from adrs.program import ProgramView
from adrs.progress import outcome_summary
from adrs.status import Status

STATUSES = ["ok", "ok", "ok", "invalid", "timeout", "error", "duplicate", "infra_error"]


def better(a: float | None, b: float | None) -> bool:
    return a is not None and (b is None or a < b)


def scanned_visible(programs: list[ProgramView], seq: int, window: int) -> list[ProgramView]:
    horizon = max(0, seq - window)
    return sorted((p for p in programs if p.seq <= horizon), key=lambda p: p.seq)


def scanned_can_propose(done: set[int], seq: int, window: int) -> bool:
    return seq == 0 or all(s in done for s in range(max(0, seq - window) + 1))


def scanned_progress(programs: list[ProgramView]) -> dict:
    candidates = [p for p in programs if p.seq != 0]
    best = None
    for p in programs:
        if p.status == Status.OK and better(p.score, best):
            best = p.score
    return dict(done=len(candidates), valid=sum(p.status == Status.OK for p in candidates),
                best_score=best, **outcome_summary(candidates))


def random_program(rng: random.Random, seq: int) -> ProgramView:
    status = rng.choice(STATUSES)
    score = round(rng.uniform(0, 10), 1) if status == "ok" and rng.random() < 0.9 else None
    return ProgramView(id=seq + 100, code=f"# {seq}", status=status, score=score,
                       feedback=rng.choice(["", "\n  line one\nline two", "x" * 300]),
                       island=seq % 3, seq=seq)


def completion_order(rng: random.Random, count: int, window: int) -> list[int]:
    """Seqs 0..count-1 finishing out of order, at most ``window`` apart, some never finishing."""
    order, pending = [], []
    for seq in range(count):
        pending.append(seq)
        while pending and (len(pending) > window or rng.random() < 0.4):
            order.append(pending.pop(rng.randrange(len(pending))))
    order += [s for s in pending if rng.random() < 0.5]
    return order


@pytest.mark.parametrize("case", range(12))
def test_loop_state_matches_the_scanning_definitions(case: int) -> None:
    rng = random.Random(case)
    window = rng.randint(1, 8)
    order = completion_order(rng, rng.randint(5, 120), window)
    resumed = rng.randint(0, len(order))  # programs loaded from the database, the rest added
    programs = [random_program(rng, s) for s in order]
    state = LoopState(list(programs[:resumed]), 1.0, 0.5)
    for i in range(resumed, len(programs) + 1):
        seen = programs[:i]
        done = {p.seq for p in seen}
        for seq in range(max(p.seq for p in programs) + window + 2):
            assert state.visible(seq, window) == scanned_visible(seen, seq, window)
            assert state.can_propose(seq, window) == scanned_can_propose(done, seq, window)
        progress = state.progress(100, better, {}, 0)
        got = dict(done=progress.done, valid=progress.valid, best_score=progress.best_score,
                   counts=progress.counts, last_failure=progress.last_failure)
        assert got == scanned_progress(seen)
        assert state.seed_program() == next((p for p in seen if p.seq == 0), None)
        assert state.programs == seen and state.done == done
        if i < len(programs):
            state.add(programs[i], SimpleNamespace(status=Status(programs[i].status), proposal=None))


def test_progress_best_follows_a_changed_rule() -> None:
    programs = [ProgramView(id=i, code="", status="ok", score=float(i), seq=i) for i in range(5)]
    state = LoopState(programs, 0.0, 0.0)
    assert state.progress(10, better, {}, 0).best_score == 0.0
    assert state.progress(10, lambda a, b: b is None or a > b, {}, 0).best_score == 4.0


def old_llm_history(session: Session, run_id: str) -> list[tuple]:
    """RunStore.llm_history as it was: every Program ORM row, then a lookup per call."""
    programs = {p.seq: p for p in session.scalars(select(Program).where(Program.run_id == run_id))}
    by_id = {p.id: p for p in programs.values()}
    history = []
    for call in session.scalars(select(LLMCall).where(LLMCall.run_id == run_id)
                                .order_by(LLMCall.id)):
        child = programs.get(call.seq)
        parent = by_id.get(child.parent_id) if child and child.parent_id is not None else None
        history.append((call, child, parent))
    return history


@pytest.mark.parametrize("case", range(4))
def test_llm_history_reads_what_the_orm_rows_gave(tmp_path: Path, case: int) -> None:
    rng = random.Random(case)
    engine = store.open_engine(store.sqlite_url(tmp_path, "r1").replace("/r1/", "/"))
    with Session(engine) as session:
        for run_id in ("r1", "r2"):
            session.add(Run(id=run_id, problem="toy", problem_root="/x", config={}, seed=1,
                            proposer="llm", objective="error", direction="minimize"))
            ids: list[int] = []
            for seq in range(60):
                status = rng.choice(STATUSES)
                row = Program(run_id=run_id, seq=seq, code=f"# {seq}", status=status,
                              score=rng.choice([None, 1.0, 2.5]) if status == "ok" else None,
                              parent_id=rng.choice(ids) if ids and rng.random() < 0.9 else None,
                              model=rng.choice([None, "a", "b"]), prompt="p" * 1000)
                session.add(row)
                session.flush()
                ids.append(row.id)
                for _ in range(rng.choice([0, 1, 1, 2])):  # some seqs have no program row
                    session.add(LLMCall(run_id=run_id, seq=seq + rng.choice([0, 0, 100]),
                                        model=rng.choice(["a", "b"]),
                                        cost_usd=rng.random(), error=rng.choice(["", "", "boom"])))
        session.commit()
        expected = old_llm_history(session, "r1")
    run_store = store.RunStore(engine, "r1")
    try:
        got = run_store.llm_history()
        assert len(got) == len(expected) > 0
        for (call, child, parent), (old_call, old_child, old_parent) in zip(got, expected, strict=True):
            assert (call.model, call.cost_usd, call.error) == \
                (old_call.model, old_call.cost_usd, old_call.error)
            assert (child is None) == (old_child is None) and (parent is None) == (old_parent is None)
            if child is not None:
                assert (child.model, child.status, child.score, child.parent_id) == \
                    (old_child.model, old_child.status, old_child.score, old_child.parent_id)
            if parent is not None:
                assert (parent.status, parent.score) == (old_parent.status, old_parent.score)
        assert run_store.spent()[1] == sum(c.cost_usd for c, _, _ in expected)
    finally:
        run_store.close()


def test_programs_with_the_same_text_share_one_string() -> None:
    texts = ["def f():\n    return 1\n" * 20, "def f():\n    return 2\n" * 20]
    programs = [ProgramView(id=i, code="".join(list(texts[i % 2])), status="ok", score=1.0, seq=i)
                for i in range(6)]
    state = LoopState(programs[:3], 0.0, 0.0)
    for p in programs[3:]:
        state.add(p, SimpleNamespace(status=Status.OK, proposal=None))
    assert state.programs == programs and state.visible(10, 1) == programs
    assert len({id(p.code) for p in state.programs}) == 2
