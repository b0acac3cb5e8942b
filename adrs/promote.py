"""Which program a run hands over: the best of its top-k training programs *on validation*.

The training-best program is the one most fitted to the training instances; among the ``k`` best
by training score, the one with the best validation score is promoted (ties: the better training
rank), and the report says so. The seed is scored on validation too, so the report can say plainly
when the promoted program is worse than the seed there. Scores are computed through the sandbox
(``adrs.executor.LocalExecutor``), reusing stored validation rows; this module reads the database
and never writes it (the campaign driver stores the new rows it returns).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from adrs.db import reader as rd

if TYPE_CHECKING:
    from adrs.evaluation import EvalResult
    from adrs.problem import ProblemSpec

TOP_K = 3
SPLIT = "validation"


@dataclass(frozen=True)
class Candidate:
    program: rd.ProgramRecord
    train_rank: int  # 1 = best on training (0 = the seed, when not among the top k)
    validation: float | None
    status: str


@dataclass
class Promotion:
    chosen: rd.ProgramRecord
    candidates: list[Candidate]
    seed: Candidate | None
    new: dict[int, Any] = field(default_factory=dict)  # program id -> EvalResult computed now

    def lines(self, direction: str, fmt: Any) -> list[str]:
        """What the report says about the choice, in words."""
        train_best = self.candidates[0]
        chosen = next(c for c in self.candidates if c.program.id == self.chosen.id)
        k = len(self.candidates)
        if k == 1:
            out = [f"promoted program #{self.chosen.id}: the best on train (the only correct "
                   f"candidate), {SPLIT} score {fmt(chosen.validation)}"]
        elif chosen is train_best:
            out = [f"promoted program #{self.chosen.id}: the best on {SPLIT} of the top-{k} "
                   f"training programs, and also the best on train ({SPLIT} "
                   f"{fmt(chosen.validation)})"]
        else:
            out = [f"promoted program #{self.chosen.id}: the best on {SPLIT} of the top-{k} "
                   f"training programs (train rank {chosen.train_rank}, {SPLIT} "
                   f"{fmt(chosen.validation)}); the train-best #{train_best.program.id} scores "
                   f"{fmt(train_best.validation)} on {SPLIT}"]
        seed = self.seed
        if seed is not None and seed.program.id != self.chosen.id and seed.validation is not None:
            if chosen.validation is None or _better(seed.validation, chosen.validation, direction):
                out.append(f"the promoted program is WORSE than the seed on {SPLIT} "
                           f"({fmt(chosen.validation)} vs the seed's {fmt(seed.validation)}): "
                           f"the campaign overfitted the training instances or found nothing")
        return out


def _better(a: float, b: float, direction: str) -> bool:
    return a < b if direction == "minimize" else a > b


def promote(reader: rd.Reader, run: rd.RunRecord, spec: ProblemSpec, k: int = TOP_K,
            threads: int = 2) -> Promotion | None:
    """Score the top-``k`` training programs and the seed on validation; promote the best."""
    top = rd.top_programs(reader, run, k)
    if not top:
        return None
    seed = rd.program_at(reader, run.id, 0)
    programs = {p.id: p for p in top}
    if seed is not None and seed.status == "ok":
        programs.setdefault(seed.id, seed)
    stored = {e.program_id: e for e in rd.evaluations(reader, run.id, SPLIT)
              if e.program_id is not None and not e.baseline}
    todo = {pid: p.code for pid, p in programs.items() if pid not in stored}
    new = _score(todo, run, spec, threads) if todo else {}
    scores = {pid: (e.status, e.score) for pid, e in stored.items()}
    scores.update({pid: (r.status, r.score) for pid, r in new.items()})
    candidates = [Candidate(p, rank, scores[p.id][1] if scores[p.id][0] == "ok" else None,
                            scores[p.id][0]) for rank, p in enumerate(top, start=1)]
    chosen = min(candidates, key=lambda c: (c.validation is None,
                                            _key(c.validation, run.direction), c.train_rank))
    seed_candidate = None
    if seed is not None and seed.id in scores:
        rank = next((c.train_rank for c in candidates if c.program.id == seed.id), 0)
        status, score = scores[seed.id]
        seed_candidate = Candidate(seed, rank, score if status == "ok" else None, status)
    return Promotion(chosen.program, candidates, seed_candidate, new)


def _key(score: float | None, direction: str) -> float:
    if score is None:
        return 0.0
    return score if direction == "minimize" else -score


def _score(codes: dict[int, str], run: rd.RunRecord, spec: ProblemSpec,
           threads: int) -> dict[int, EvalResult]:
    from adrs.config import load_run_config
    from adrs.executor import LocalExecutor, evaluate_all

    limits = spec.limits_with(load_run_config(base=run.config).sandbox)
    executor = LocalExecutor(spec.load_evaluator, limits, max(1, threads))
    try:
        results = evaluate_all(executor, {str(pid): (code, SPLIT) for pid, code in codes.items()})
    finally:
        executor.cancel()
    return {int(pid): result for pid, result in results.items()}
