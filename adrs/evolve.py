"""The evolution loop as a scheduler: plan -> propose -> patch -> evaluate -> record -> observe.

One candidate number ``seq`` at a time (0 is the seed). At most ``window`` candidates are in flight
(``in_flight_window``: workers + twice the proposer's concurrency), each an asyncio task running
``_candidate``; outcomes are recorded in order of completion, so nothing finished is lost. For
reproducibility, candidate ``seq`` is planned only from programs with ``seq' <= seq - window`` and
its own seeded RNG: the same ``--seed`` gives the same lineage however the evaluations interleave,
and a resumed run re-creates exactly the candidates it lost. Every decision belongs to a stage: the
Planner (parent, template), the Proposer (prompt, reply), ``adrs.patch``, the Executor (evaluation,
evaluator crashes), the RunStore (every write), the stop rules. This module only schedules them; it
renders no progress.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field, replace

from sqlalchemy import Engine

from adrs.config import RunConfig
from adrs.db.store import RunStore
from adrs.dedup import DuplicateIndex
from adrs.errors import CampaignError
from adrs.evaluation import seed_failure
from adrs.executor import Executor, RayExecutor
from adrs.feedback import observe, restore_proposer
from adrs.loopstate import LoopState, Progress, in_flight_window
from adrs.outcome import Failure, Outcome
from adrs.patch import PatchError, apply_proposal, check_entry
from adrs.plan import SEED_PLAN, SEED_SEQ, IslandPlanner, Plan, Planner
from adrs.problem import ProblemSpec
from adrs.program import Candidate
from adrs.proposer import Proposal, ProposalError, Proposer
from adrs.retry import with_retries
from adrs.sandbox import Limits
from adrs.status import Fault, Status
from adrs.stop_rules import STOPPED, DollarBudgetSpent, LLMWatch
from adrs.stopping import BUDGETS, StopRule, stop_reason

__all__ = ["Campaign", "Progress", "evolve"]


@dataclass
class Campaign:
    """Everything one run of the loop needs (built by ``adrs.campaign``); the stages are pluggable."""

    spec: ProblemSpec
    config: RunConfig
    run_id: str
    engine: Engine
    proposer: Proposer
    limits: Limits
    on_progress: Callable[[Progress], None] = lambda progress: None
    executor: Executor | None = None  # default: RayExecutor (Ray must be running)
    planner: Planner | None = None  # default: IslandPlanner (islands, tournaments, templates)
    stop_rules: tuple[StopRule, ...] = field(default=BUDGETS)


async def evolve(campaign: Campaign) -> str:
    """Run the loop until a stop rule fires; return the stop reason. Raises CampaignError."""
    config, spec, proposer = campaign.config, campaign.spec, campaign.proposer
    executor, planner = _stages(campaign)
    window = in_flight_window(config.evolution.workers, proposer.concurrency)
    with closing(RunStore(campaign.engine, campaign.run_id)) as store:
        state = LoopState(store.programs(), *store.spent())
        restore_proposer(campaign.proposer, store.llm_history(), spec.fitness)
        _check_seed(state)
        baselines: dict[str, float | None] = dict.fromkeys(spec.compare_with)
        baseline_task: asyncio.Task[dict[str, float | None]] | None = None  # after the seed is queued
        watch = LLMWatch(config.llm, proposer, budget_usd=config.evolution.budget_usd,
                         spent_usd=state.cost_usd)  # paces, gates dollars, stops when the LLM is gone
        running: dict[asyncio.Task[Outcome], int] = {}
        next_seq, reason = SEED_SEQ, ""
        duplicates = DuplicateIndex(state.programs)
        try:
            while True:
                reason = reason or stop_reason(campaign.stop_rules, config.evolution, state, next_seq) \
                    or _llm_stop(watch, running, duplicates)
                while not reason and len(running) < window and state.can_propose(next_seq, window):
                    if next_seq not in state.done:
                        plan = SEED_PLAN if next_seq == SEED_SEQ else \
                            planner.plan(state.visible(next_seq, window), next_seq)
                        duplicates.expect(next_seq)
                        running[asyncio.create_task(
                            _candidate(campaign, executor, plan, duplicates, watch))] = next_seq
                    next_seq += 1
                    reason = stop_reason(campaign.stop_rules, config.evolution, state, next_seq)
                if baseline_task is None:  # the seed goes first: nothing waits for the baselines
                    baseline_task = asyncio.create_task(_train_baselines(store, campaign, executor))
                if not running:
                    break
                awaited = {*running, baseline_task} if not baseline_task.done() else set(running)
                finished, _ = await asyncio.wait(awaited, timeout=watch.poll_s,
                                                 return_when=asyncio.FIRST_COMPLETED)
                if baseline_task.done():
                    baselines = baseline_task.result()
                for task in sorted(finished & running.keys(), key=running.__getitem__):
                    seq = running.pop(task)
                    outcome = task.result()
                    if outcome is None:  # dropped at the dollar gate: `adrs resume` re-creates it
                        duplicates.drop(seq)
                        continue
                    view = store.add_outcome(outcome, state.elapsed_s())  # record
                    state.add(view, outcome)
                    duplicates.record(view.code, view.seq, view.status, view.id)
                    _check_outcome(state, outcome, config.evolution.max_evaluator_errors)
                    observe(campaign.proposer, outcome, spec.fitness)
                    campaign.on_progress(state.progress(config.evolution.budget, spec.better,
                                                        baselines, len(running)))
        except BaseException as err:  # Ctrl-C / SIGTERM (interrupted), or a failure
            _abandon(executor, running, baseline_task)
            store.finish(*_ended_by(err), state.elapsed_s())
            raise
        if baseline_task is not None:
            await baseline_task  # stored for the report even when the loop ended first
        store.finish(STOPPED if watch.reason else "finished", reason or "budget reached",
                     state.elapsed_s())
        return reason or "budget reached"


def _llm_stop(watch: LLMWatch, running: dict[asyncio.Task[Outcome], int],
              duplicates: DuplicateIndex) -> str:
    """The LLM stop rule's reason; when it holds, candidates still waiting for a proposal are
    dropped (not stored: ``adrs resume`` re-creates them); evaluations in flight finish."""
    reason = watch.stop_reason()
    if reason:
        for task, seq in list(running.items()):
            if seq in watch.proposing:
                task.cancel()
                del running[task]
                duplicates.drop(seq)
    return reason


def _stages(campaign: Campaign) -> tuple[Executor, Planner]:
    """The campaign's executor (with infra retries) and planner, or the defaults."""
    config, spec = campaign.config, campaign.spec
    executor = with_retries(campaign.executor or RayExecutor(str(spec.root), campaign.limits),
                            config.evolution.infra_retries)
    planner = campaign.planner or IslandPlanner(config.evolution, spec.fitness,
                                                campaign.proposer.templates, spec.front)
    return executor, planner


def _ended_by(err: BaseException) -> tuple[str, str]:
    """(run status, stop reason) for a loop that ended with ``err``."""
    if isinstance(err, KeyboardInterrupt | asyncio.CancelledError):
        return "interrupted", "interrupted by the user"
    return "failed", f"{type(err).__name__}: {err}"


async def _candidate(campaign: Campaign, executor: Executor, plan: Plan,
                     duplicates: DuplicateIndex, watch: LLMWatch | None = None) -> Outcome | None:
    """One candidate's path: propose, patch, evaluate unless it duplicates an evaluated program.
    Failures before evaluation are Outcomes; None when the dollar budget was spent before the
    proposal could ask a model (nothing to store)."""
    if plan.parent is None:  # the seed: nothing to propose
        seed = Candidate(code=campaign.spec.seed_code, parent_id=None, kind="seed")
        await duplicates.claim_in_turn(seed.code, plan.seq)
        return await _evaluate(executor, plan, None, seed, 0.0)
    started = time.perf_counter()
    if watch is None:
        proposal = await _propose(campaign.proposer, plan)
    else:
        try:
            async with watch.turn(plan.seq):
                proposal = await _propose(campaign.proposer, plan)
                failed = isinstance(proposal, Outcome)
                asked = proposal.proposal if isinstance(proposal, Outcome) else proposal
                calls = asked.calls if asked is not None else ()
                watch.record(proposal.result.status if failed else Status.OK,
                             proposal.result.feedback if failed else "",
                             sum(usage.cost_usd for usage in calls))
        except DollarBudgetSpent:
            return None
    propose_s = time.perf_counter() - started
    if isinstance(proposal, Outcome):
        return replace(proposal, propose_s=propose_s)
    try:
        patched = apply_proposal(plan.parent.code, proposal.text, proposal.kind,
                                 truncated=proposal.truncated)
        check_entry(patched.code, campaign.spec.entry)
    except PatchError as err:
        return Outcome(plan, proposal, None, Failure(Status.PATCH_ERROR, str(err)), propose_s)
    candidate = Candidate(code=patched.code, parent_id=plan.parent.id, diff=patched.diff,
                          kind=plan.kind)
    duplicate = await duplicates.claim_in_turn(candidate.code, plan.seq)  # in seq order
    if duplicate is not None:  # costs no sandbox time
        return Outcome(plan, proposal, candidate, duplicate, propose_s)
    return await _evaluate(executor, plan, proposal, candidate, propose_s)


async def _propose(proposer: Proposer, plan: Plan) -> Proposal | Outcome:
    """The proposer's reply, or the Outcome of a failed proposal (a crash is recorded too)."""
    try:
        return await proposer.propose(plan.prompt())
    except ProposalError as err:
        feedback, calls, prompt = err.feedback, err.calls, err.prompt
    except CampaignError:
        raise
    except Exception as err:  # a bug in a proposer must not end a campaign: record it
        feedback = (f"the proposer crashed: {type(err).__name__}: {err}\n"
                    + traceback.format_exc(limit=-5))
        calls, prompt = (), ""
    failed = Proposal(text="", kind="diff", proposer=proposer.name, calls=calls, prompt=prompt,
                      model=calls[-1].model if calls else None)
    return Outcome(plan, failed, None, Failure(Status.PROPOSAL_ERROR, feedback))


async def _evaluate(executor: Executor, plan: Plan, proposal: Proposal | None,
                    candidate: Candidate, propose_s: float) -> Outcome:
    started = time.perf_counter()
    result = await executor.evaluate(candidate.code, "train")
    return Outcome(plan, proposal, candidate, result, propose_s, time.perf_counter() - started)


def _check_seed(state: LoopState) -> None:
    seed = state.seed_program()
    if seed is not None and seed.status != Status.OK:
        raise CampaignError(seed_failure(seed.status, seed.feedback) + "\n(fix it before resuming)")


def _check_outcome(state: LoopState, outcome: Outcome, limit: int) -> None:
    """Stop when the seed fails, or after ``limit`` failures of trusted code or infrastructure in a
    session (rather than scoring every later candidate as bad)."""
    result = outcome.result
    if outcome.plan.seq == SEED_SEQ and not result.correct:
        raise CampaignError(seed_failure(result.status, result.feedback))
    if result.status.fault is Fault.TRUSTED and state.trusted_errors >= limit:
        raise CampaignError(
            f"stopped after {state.trusted_errors} evaluator or infrastructure errors in this session "
            f"(evolution.max_evaluator_errors = {limit}); this is a bug in the evaluator or a broken "
            f"Ray cluster, not in the candidates. Fix it, then `adrs resume`. The last one "
            f"({result.status}):\n{result.feedback[-3000:]}")


async def _train_baselines(store: RunStore, campaign: Campaign,
                           executor: Executor) -> dict[str, float | None]:
    """Train scores of the compare_with baselines (evaluated once per run, stored)."""
    spec = campaign.spec
    stored = store.baseline_scores("train")
    missing = [name for name in spec.compare_with if name not in stored]
    results = await asyncio.gather(*(executor.evaluate(spec.baselines[name].read_text(), "train")
                                     for name in missing))
    store.add_baselines("train", dict(zip(missing, results, strict=True)))
    stored |= {name: result.score for name, result in zip(missing, results, strict=True)}
    return {name: stored.get(name) for name in spec.compare_with}


def _abandon(executor: Executor, running: dict[asyncio.Task[Outcome], int],
             baselines: asyncio.Task | None) -> None:
    """Stop the evaluations in flight (first, while their Ray refs are still known), then the
    candidates' and the baselines' tasks."""
    executor.cancel()
    for task in [*running, *([baselines] if baselines is not None else [])]:
        task.cancel()
