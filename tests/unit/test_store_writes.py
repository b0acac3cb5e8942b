"""RunStore.add_outcome writes with SQLAlchemy Core and reads nothing back: the view it returns must
equal the stored row read back, the row (and its LLM calls, and the run's elapsed time, and a
crossover's second parent) must be committed before it returns, on SQLite and on a real PostgreSQL
server."""

from __future__ import annotations

import math
import sqlite3
import uuid
from dataclasses import replace
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from adrs.db import store
from adrs.db.models import LLMCall, Program, Run
from adrs.evaluation import EvalResult
from adrs.outcome import Failure, Outcome
from adrs.plan import Plan
from adrs.program import Candidate, ProgramView
from adrs.proposer import Proposal, Usage
from adrs.status import Status

RUN = {"problem": "toy", "problem_root": "/x", "config": {}, "objective": "error",
       "direction": "minimize", "seed": 1, "proposer": "mutator"}


SEED = Outcome(Plan(0, 0, "seed", None), None, Candidate(code="def f(x):\n    return 2 * x\n",
                                                         parent_id=None),
               EvalResult(Status.OK, 5, metrics={"error": 5, "t": (1, 2)}))


def outcomes(parent: ProgramView) -> list[Outcome]:
    """Children of every shape the loop stores: evaluated, failed proposal, odd values."""
    call = Usage(model="m1", prompt_tokens=10, completion_tokens=5, cost_usd=0.01, latency_s=0.2,
                 choice="bandit", finish_reason="stop", attempts=1)
    proposal = Proposal(text="reply", kind="diff", proposer="llm", calls=(call, call), prompt="p",
                        model="m1")
    child = Candidate(code="def f(x):\n    return x\n", parent_id=parent.id, diff="-a\n+b")
    return [
        Outcome(Plan(1, 1, "diff", parent), proposal, child,
                EvalResult("ok", np.float64(2.5), metrics={"error": np.float64(2.5)},
                           private_metrics={"ref": [1.0]}, feedback="fine", node="n1"),
                propose_s=0.5, eval_s=0.25),
        Outcome(Plan(2, 0, "rewrite", parent), proposal, None,
                Failure(Status.PROPOSAL_ERROR, "api key sk-abcdefghijklmnop was refused")),
        Outcome(Plan(3, 1, "fix", parent), None, child,
                EvalResult(Status.TIMEOUT, None, feedback="ran too long")),
        Outcome(Plan(4, 0, "diff", parent), None, child,
                EvalResult(Status.OK, float("nan"), metrics={"error": 1e308})),
        Outcome(Plan(5, 1, "diff", parent), None, child,  # PostgreSQL's JSON refuses inf and NaN
                EvalResult(Status.OK, 3.0, metrics={"error": float("inf"), "gap": [float("nan"), 1.0]},
                           private_metrics={"ref": -np.inf})),
    ]


def comparable(view: ProgramView) -> ProgramView:
    """``view`` with a NaN score (PostgreSQL keeps NaN; NaN != NaN) as a string."""
    nan = view.score is not None and math.isnan(view.score)
    return replace(view, score="nan" if nan else view.score)


def check_store(url: str) -> None:
    engine = store.open_engine(url)
    run_id = f"r-{uuid.uuid4().hex[:8]}"
    store.create_run(engine, run_id, RUN)
    runs = store.RunStore(engine, run_id)
    views = [runs.add_outcome(SEED, elapsed_s=10.0)]
    for i, outcome in enumerate(outcomes(views[0]), start=1):
        views.append(runs.add_outcome(outcome, elapsed_s=10.0 + i))
        with Session(engine) as other:  # committed: another connection sees it at once
            assert [v.seq for v in store.program_views(other, run_id)] == list(range(i + 1))
            assert other.get(Run, run_id).elapsed_s == 10.0 + i
    crossover = Outcome(Plan(6, 1, "crossover", views[1], mate=views[4]), None,
                        Candidate(code="def f(x):\n    return x + 1\n", parent_id=views[1].id),
                        EvalResult(Status.OK, 1.5))
    views.append(runs.add_outcome(crossover, elapsed_s=20.0))
    runs.close()
    with Session(engine) as session:
        stored = store.program_views(session, run_id)
        calls = list(session.scalars(select(LLMCall).where(LLMCall.run_id == run_id)))
        mates = session.execute(select(Program.seq, Program.parent_id, Program.mate_id, Program.note)
                                .where(Program.run_id == run_id).order_by(Program.seq)).all()
    # the second parent in its column; the note still names it, for people
    assert [tuple(m) for m in mates] == [(0, None, None, "")] + [(i, views[0].id, None, "")
                                                                  for i in range(1, 6)] \
        + [(6, views[1].id, views[4].id, f"crossover with program #{views[4].id}")]
    assert [comparable(v) for v in views] == [comparable(v) for v in stored]
    assert views[1].generation == 1 and views[0].generation == 0
    assert views[1].parent_id == views[0].id and views[0].parent_id is None
    assert views[0].metrics == {"error": 5, "t": [1, 2]} and type(views[1].score) is float
    assert views[5].metrics == {"error": None, "gap": [None, 1.0]}
    assert "sk-abcdefghijklmnop" not in views[2].feedback  # redacted before it is stored
    assert [(c.seq, c.model, c.prompt_tokens, c.kind) for c in calls] == [(1, "m1", 10, "diff")] * 2 \
        + [(2, "m1", 10, "rewrite")] * 2
    engine.dispose()


def test_add_outcome_view_equals_the_committed_row_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "adrs.sqlite"
    check_store(f"sqlite:///{path}")
    with sqlite3.connect(path) as raw:  # a plain reader of the file, as the browsing commands are
        assert raw.execute("SELECT count(*) FROM program").fetchone() == (7,)
        assert raw.execute("SELECT score FROM program WHERE seq = 4").fetchone() == (None,)


def test_add_outcome_view_equals_the_committed_row_postgres(postgres) -> None:
    check_store(postgres.create_database(f"store_{uuid.uuid4().hex[:8]}"))
