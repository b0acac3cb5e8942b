"""Typed SQLAlchemy 2.0 models: Run, Program (lineage by parent_id; a crossover's second parent in
mate_id), Evaluation, LLMCall.

A Program row is one proposed candidate after evaluation (or after a failed patch): its code, the
diff from its parent, status, score, metrics and feedback, and the prompt that produced it.
Evaluation rows hold extra scores on other splits (validation/holdout) for programs and baselines.
The schema is versioned: a change here needs a migration in ``adrs/db/migrations/versions``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON}


class Run(Base):
    __tablename__ = "run"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    problem: Mapped[str] = mapped_column(String(200))
    problem_root: Mapped[str] = mapped_column(Text)
    config: Mapped[dict[str, Any]]  # the RunConfig as a dict
    objective: Mapped[str] = mapped_column(String(200))
    direction: Mapped[str] = mapped_column(String(10))  # minimize / maximize
    seed: Mapped[int]
    proposer: Mapped[str] = mapped_column(String(200))  # "mutator" or the model string
    isolation: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="running")  # running/finished/interrupted/failed
    stop_reason: Mapped[str] = mapped_column(Text, default="")
    elapsed_s: Mapped[float] = mapped_column(default=0.0)  # accumulated over resumes
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    programs: Mapped[list[Program]] = relationship(back_populates="run", cascade="all, delete-orphan")


class Program(Base):
    __tablename__ = "program"
    __table_args__ = (
        UniqueConstraint("run_id", "seq"),
        # Covers the browsing queries (counts, best, curves, one node's children) so they never read
        # the large code/prompt columns: a 20,000-program SQLite run answers in milliseconds.
        Index("ix_program_outline", "run_id", "parent_id", "status", "score", "seq", "island", "created_at"),
        Index("ix_program_best", "run_id", "status", "score", "seq"),  # best programs without a sort
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("run.id"), index=True)
    seq: Mapped[int]  # candidate number within the run (0 = seed); fixes the deterministic order
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("program.id"), index=True)
    island: Mapped[int] = mapped_column(default=0)
    generation: Mapped[int] = mapped_column(default=0)
    kind: Mapped[str] = mapped_column(String(20), default="seed")  # seed/diff/rewrite/fix/mutation
    code: Mapped[str] = mapped_column(Text)
    diff: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20))
    score: Mapped[float | None]
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    private_metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    feedback: Mapped[str] = mapped_column(Text, default="")
    proposer: Mapped[str] = mapped_column(String(200), default="")
    model: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
    prompt: Mapped[str] = mapped_column(Text, default="")
    propose_s: Mapped[float] = mapped_column(default=0.0)
    eval_s: Mapped[float] = mapped_column(default=0.0)  # wall time of the evaluation task
    runtime_s: Mapped[float] = mapped_column(default=0.0)  # inside the candidate's calls only
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    node: Mapped[str | None] = mapped_column(String(200))  # the Ray node that evaluated it (last: 0003)
    # A crossover's second parent (0004). Not indexed: no query selects programs by their mate
    # (children, child counts and the lineage tree follow parent_id); it is read off the child's row.
    mate_id: Mapped[int | None] = mapped_column(ForeignKey("program.id"))

    run: Mapped[Run] = relationship(back_populates="programs")
    parent: Mapped[Program | None] = relationship(remote_side=[id], foreign_keys=[parent_id])


class Evaluation(Base):
    """A score on another split, for a program or a named baseline."""

    __tablename__ = "evaluation"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("run.id"), index=True)
    program_id: Mapped[int | None] = mapped_column(ForeignKey("program.id"))
    baseline: Mapped[str | None] = mapped_column(String(200))
    split: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    score: Mapped[float | None]
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    feedback: Mapped[str] = mapped_column(Text, default="")
    runtime_s: Mapped[float] = mapped_column(default=0.0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    node: Mapped[str | None] = mapped_column(String(200))  # the Ray node that evaluated it (last: 0003)


class LLMCall(Base):
    """One call to a model: tokens in/out, dollars, latency, and why that model was chosen."""

    __tablename__ = "llm_call"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("run.id"), index=True)
    seq: Mapped[int]  # the candidate it was made for
    model: Mapped[str] = mapped_column(String(200))
    prompt_tokens: Mapped[int] = mapped_column(default=0)
    completion_tokens: Mapped[int] = mapped_column(default=0)
    cost_usd: Mapped[float] = mapped_column(default=0.0)
    latency_s: Mapped[float] = mapped_column(default=0.0)  # first attempt to reply, retries included
    error: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(20), default="")  # diff/rewrite/crossover/fix
    choice: Mapped[str] = mapped_column(Text, default="")  # why this model was asked
    finish_reason: Mapped[str] = mapped_column(String(40), default="")
    attempts: Mapped[int] = mapped_column(default=0)  # 0: replayed from the response cache
    cached: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
