"""The loop's values: one status enum and whose fault each status is, frozen plans drawn from a
candidate's own RNG, Failure for what never reached the evaluator, the order programs are seen in."""

from __future__ import annotations

import dataclasses

import pytest

from adrs.config import EvolutionConfig
from adrs.evaluation import EvalResult
from adrs.loopstate import LoopState
from adrs.outcome import Failure, Outcome
from adrs.plan import SEED_PLAN, IslandPlanner, Plan
from adrs.program import Candidate, ProgramView
from adrs.proposer import Proposal
from adrs.status import Fault, Status

EVOLUTION = EvolutionConfig(islands=1, seed=4)


def fitness(score: float) -> float:
    return -score


def program(seq: int, status: str = "ok", score: float | None = None) -> ProgramView:
    return ProgramView(id=100 + seq, code=f"x = {seq}\n", status=status,
                       score=float(seq) if score is None and status == "ok" else score, seq=seq)


def test_every_status_knows_whose_fault_it_is() -> None:
    assert Status.OK.fault is Fault.NONE
    assert {s for s in Status if s.fault is Fault.TRUSTED} == {Status.EVALUATOR_ERROR,
                                                               Status.INFRA_ERROR}
    assert {s for s in Status if s.fault is Fault.PROPOSER} == {Status.PATCH_ERROR,
                                                                Status.PROPOSAL_ERROR,
                                                                Status.DUPLICATE}
    assert Status.TIMEOUT.candidates_fault and not Status.PATCH_ERROR.candidates_fault
    # the bandit hears about bad patches (the model's reply) but not failed calls or evaluator bugs
    assert Status.PATCH_ERROR.judges_proposer and Status.INVALID.judges_proposer
    assert Status.DUPLICATE.judges_proposer and not Status.DUPLICATE.candidates_fault
    assert not Status.PROPOSAL_ERROR.judges_proposer and not Status.INFRA_ERROR.judges_proposer


def test_eval_results_carry_the_enum_and_refuse_unknown_statuses() -> None:
    result = EvalResult(status="timeout", score=None)
    assert result.status is Status.TIMEOUT and result.status == "timeout"
    with pytest.raises(ValueError, match="unknown status 'great'"):
        EvalResult(status="great", score=1.0)  # type: ignore[arg-type]


def test_failures_are_not_evaluations_and_outcomes_are_frozen() -> None:
    failure = Failure(Status.PATCH_ERROR, "SEARCH text not found")
    assert not isinstance(failure, EvalResult) and not failure.correct and failure.score is None
    plan = Plan(seq=3, island=0, kind="crossover", parent=program(1), mate=program(2))
    reply = Proposal(text="raw reply", kind="diff", proposer="llm", note="cut off")
    outcome = Outcome(plan, reply, None, failure)
    assert outcome.code == "raw reply" and outcome.status is Status.PATCH_ERROR
    assert outcome.note == "crossover with program #102; cut off"
    with pytest.raises(dataclasses.FrozenInstanceError):
        outcome.propose_s = 1.0  # type: ignore[misc]
    child = Outcome(plan, reply, Candidate("x = 0\n", 101), EvalResult("ok", 0.5))
    assert child.improved(fitness) and not Outcome(plan, reply, None, failure).improved(fitness)


def test_plans_depend_only_on_the_visible_programs_and_the_seed() -> None:
    visible = [program(0, score=5.0), program(1), program(2, "error"), program(3)]
    mutator = IslandPlanner(EVOLUTION, fitness, {})
    first = mutator.plan(visible, 7)
    assert first == mutator.plan(list(visible), 7) and first.kind == "mutation"
    other_run = IslandPlanner(dataclasses.replace(EVOLUTION, seed=5), fitness, {})
    assert other_run.plan(visible, 7).seed != first.seed != mutator.plan(visible, 8).seed
    fix = IslandPlanner(EVOLUTION, fitness, {"fix": 1.0}).plan(visible, 7)
    assert (fix.kind, fix.parent.seq) == ("fix", 2)  # the failed program is the parent
    no_failure = IslandPlanner(EVOLUTION, fitness, {"fix": 1.0}).plan(visible[:2], 7)
    assert no_failure.kind == "diff" and no_failure.parent.status == "ok"
    crossover = IslandPlanner(EVOLUTION, fitness, {"crossover": 1.0}).plan(visible, 7)
    assert crossover.kind == "crossover" and crossover.mate not in (None, crossover.parent)
    assert crossover.mate not in crossover.inspirations
    alone = IslandPlanner(EVOLUTION, fitness, {"crossover": 1.0}).plan(visible[:1], 7)
    assert (alone.kind, alone.mate) == ("diff", None)
    assert SEED_PLAN.parent is None and SEED_PLAN.kind == "seed"


def test_candidates_see_older_programs_in_candidate_order_not_completion_order() -> None:
    state = LoopState([program(0), program(2), program(1)], elapsed_s=0.0, cost_usd=0.0)
    assert [p.seq for p in state.visible(5, window=2)] == [0, 1, 2]
    assert state.can_propose(4, window=2) and not state.can_propose(6, window=2)
