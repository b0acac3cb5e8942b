"""The llm_call accounting columns: written per call, and added to databases made before them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from adrs.db import store
from adrs.db.models import LLMCall, Run


def test_old_database_gets_the_new_columns_and_keeps_its_rows(tmp_path: Path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:  # the llm_call table as it was before the accounting columns
        db.execute("CREATE TABLE llm_call (id INTEGER PRIMARY KEY, run_id VARCHAR(64), seq INTEGER "
                   "NOT NULL, model VARCHAR(200) NOT NULL, prompt_tokens INTEGER NOT NULL, "
                   "completion_tokens INTEGER NOT NULL, cost_usd FLOAT NOT NULL, latency_s FLOAT "
                   "NOT NULL, error TEXT NOT NULL, created_at DATETIME NOT NULL)")
        db.execute("INSERT INTO llm_call VALUES (1, 'r', 1, 'openai/a', 10, 5, 0.5, 1.0, '', "
                   "'2026-01-01 00:00:00')")
    engine = store.open_engine(f"sqlite:///{path}")
    with Session(engine) as session:
        session.add(Run(id="r", problem="toy", problem_root=".", config={}, objective="error",
                        direction="minimize", seed=0, proposer="openai/a"))
        session.add(LLMCall(run_id="r", seq=2, model="openai/b", prompt_tokens=3, completion_tokens=4,
                            cost_usd=0.25, latency_s=0.1, kind="crossover", choice="bandit: UCB 1.2",
                            finish_reason="length", attempts=2, cached=False))
        session.commit()
        old, new = session.scalars(select(LLMCall).order_by(LLMCall.id)).all()
    assert (old.model, old.cost_usd, old.kind, old.choice, old.attempts, old.cached) == \
        ("openai/a", 0.5, "", "", 0, False)
    assert (new.kind, new.choice, new.finish_reason, new.attempts) == \
        ("crossover", "bandit: UCB 1.2", "length", 2)
    store.open_engine(f"sqlite:///{path}")  # a second open changes nothing
