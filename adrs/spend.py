"""What a campaign's LLM calls cost and bought: spend per model and cost per improvement.

Reads the ``llm_call`` and ``program`` rows of one run through ``adrs.db.reader`` (never writes).
An improvement is a program that beat every earlier program of the run (a new best, the seed
excluded); a model's "improved" count is its children that beat their own parent. It does not import
litellm, Ray or SQLAlchemy's ORM.
"""

from __future__ import annotations

from dataclasses import dataclass

from adrs.db.reader import Reader


@dataclass(frozen=True)
class ModelSpend:
    model: str
    calls: int
    failed: int  # calls that ended in an error
    cached: int  # replies replayed from the response cache
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    mean_latency_s: float
    children: int  # programs made from its replies (patch errors included)
    improved: int  # children better than their parent

    @property
    def cost_per_improved(self) -> float | None:
        return self.cost_usd / self.improved if self.improved else None


@dataclass(frozen=True)
class SpendSummary:
    run_id: str
    cost_usd: float
    calls: int
    improvements: int  # new bests after the seed
    models: list[ModelSpend]

    @property
    def cost_per_improvement(self) -> float | None:
        return self.cost_usd / self.improvements if self.improvements else None


def spend_summary(reader: Reader, run_id: str, direction: str) -> SpendSummary:
    programs = reader.rows("SELECT id, seq, parent_id, status, score, model FROM program "
                           "WHERE run_id = :run ORDER BY seq", run=run_id)
    calls = reader.rows("SELECT * FROM llm_call WHERE run_id = :run ORDER BY id", run=run_id)
    sign = 1.0 if direction == "maximize" else -1.0
    by_id = {p["id"]: p for p in programs}

    def better(a: float | None, b: float | None) -> bool:
        return a is not None and (b is None or sign * a > sign * b)

    improvements, best = 0, None
    for p in programs:
        if p["status"] == "ok" and better(p["score"], best):
            improvements += p["seq"] > 0
            best = p["score"]
    models = []
    for model in sorted({c["model"] for c in calls}):
        mine = [c for c in calls if c["model"] == model]
        children = [p for p in programs if p["model"] == model and p["seq"] > 0]
        improved = 0
        for p in children:
            parent = by_id.get(p["parent_id"])
            if p["status"] == "ok" and parent is not None and (
                    parent["status"] != "ok" or better(p["score"], parent["score"])):
                improved += 1
        models.append(ModelSpend(
            model=model, calls=len(mine), failed=sum(bool(c["error"]) for c in mine),
            cached=sum(bool(c.get("cached")) for c in mine),  # older databases lack the column
            prompt_tokens=sum(c["prompt_tokens"] for c in mine),
            completion_tokens=sum(c["completion_tokens"] for c in mine),
            cost_usd=sum(c["cost_usd"] for c in mine),
            mean_latency_s=sum(c["latency_s"] for c in mine) / len(mine),
            children=len(children), improved=improved))
    return SpendSummary(run_id, sum(c["cost_usd"] for c in calls), len(calls), improvements, models)
