"""Lineage database round trip: runs, programs with parents, evaluations, LLM calls, and the
read-only queries of the browsing commands (through sqlite3 and through SQLAlchemy Core)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from adrs.db import reader as rd
from adrs.db import store
from adrs.db.models import Evaluation, LLMCall, Program, Run


@pytest.fixture
def session(tmp_path: Path):
    engine = store.open_engine(store.sqlite_url(tmp_path, "r1").replace("/r1/", "/"))
    with Session(engine) as session:
        session.add(Run(id="r1", problem="toy", problem_root="/x", config={"evolution": {"seed": 1}},
                        seed=1, proposer="mutator", objective="error", direction="minimize"))
        session.commit()
        yield session


def add(session: Session, seq: int, parent: Program | None, score: float | None, status: str = "ok"):
    row = Program(run_id="r1", seq=seq, parent_id=parent.id if parent else None, code=f"# {seq}",
                  status=status, score=score, metrics={"error": score} if score is not None else {},
                  generation=parent.generation + 1 if parent else 0)
    session.add(row)
    session.commit()
    return row


@pytest.fixture(params=[False, True], ids=["sqlite3", "sqlalchemy-core"])
def reader(request, session: Session):
    with rd.open_reader(str(session.get_bind().url), core=request.param) as reader:
        yield reader


def test_round_trip_and_lineage(session: Session, reader: rd.Reader) -> None:
    seed = add(session, 0, None, 5.0)
    child = add(session, 1, seed, 3.0)
    add(session, 2, seed, None, status="timeout")
    grandchild = add(session, 3, child, 1.0)
    add(session, 4, child, 1.0)  # ties with the grandchild: the earlier one is the best
    run = rd.get_run(reader, "r1")
    assert run.config == {"evolution": {"seed": 1}} and run.direction == "minimize"
    assert [p.seq for p in rd.lineage(reader, grandchild.id)] == [0, 1, 3]
    assert rd.best_program(reader, run).id == grandchild.id
    maximize = rd.RunRecord(**{**run.__dict__, "direction": "maximize"})
    assert rd.best_program(reader, maximize).id == seed.id
    assert rd.get_program(reader, grandchild.id).metrics == {"error": 1.0}
    views = store.program_views(session, "r1")
    assert [v.seq for v in views] == [0, 1, 2, 3, 4]
    assert views[3].parent_id == child.id and views[3].metrics == {"error": 1.0}
    assert views[3].generation == 2


def test_summary_counts_valid_programs_and_spend(session: Session, reader: rd.Reader) -> None:
    seed = add(session, 0, None, 5.0)
    add(session, 1, seed, None, status="patch_error")
    session.add_all([LLMCall(run_id="r1", seq=1, model="m", cost_usd=0.25),
                     LLMCall(run_id="r1", seq=2, model="m", cost_usd=0.5),
                     Evaluation(run_id="r1", baseline="EDD", split="validation", status="ok", score=9.0)])
    session.commit()
    summary = rd.summarize_run(reader, rd.get_run(reader, "r1"))
    assert (summary.programs, summary.valid, summary.best_score) == (2, 1, 5.0)
    assert summary.cost_usd == pytest.approx(0.75)
    assert [e.baseline for e in rd.evaluations(reader, "r1", "validation")] == ["EDD"]
    assert [e.baseline for e in store.evaluations(session, "r1", "validation")] == ["EDD"]


def test_missing_program_and_run_errors(reader: rd.Reader, tmp_path: Path) -> None:
    with pytest.raises(store.DatabaseError, match="no program 42"):
        rd.get_program(reader, 42)
    with pytest.raises(store.DatabaseError, match="no run nope"):
        rd.get_run(reader, "nope")
    with pytest.raises(store.DatabaseError, match="no run 'nope'"):
        rd.locate_run(tmp_path / "runs", None, "nope")
    with pytest.raises(store.DatabaseError, match="no such file"):
        rd.Reader(f"sqlite:///{tmp_path / 'missing.sqlite'}")
    with pytest.raises(store.DatabaseError, match="cannot open database"):
        store.open_engine("sqlite:////nonexistent/dir/x.sqlite")
    with pytest.raises(store.DatabaseError, match="invalid database URL"):
        store.open_engine("notadialect://x")


def test_sqlite_uses_wal(tmp_path: Path) -> None:
    engine = store.open_engine(f"sqlite:///{tmp_path / 'w.sqlite'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
