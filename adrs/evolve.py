"""The evolution loop: select, prompt, propose, patch, evaluate on Ray, store. The only DB writer.

One candidate number ``seq`` at a time (0 is the seed). At most ``window`` candidates are in flight
(being proposed or evaluated); results are stored in order of completion (``ray.wait``), so nothing
finished is ever lost. For reproducibility, candidate ``seq`` is built only from programs with
``seq' <= seq - window`` and its own seeded RNG: the same ``--seed`` gives the same lineage however
the evaluations interleave, and a resumed run re-creates exactly the candidates it lost.
This module does not render progress (it reports a Progress value) and does not parse configs.
"""

from __future__ import annotations

import asyncio
import random
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from adrs.config import RunConfig
from adrs.db import store
from adrs.db.models import Evaluation, LLMCall, Program, Run
from adrs.errors import CampaignError
from adrs.evaluation import EvalResult
from adrs.patch import PatchError, apply_proposal
from adrs.problem import ProblemSpec
from adrs.program import Candidate, ProgramView
from adrs.prompt import ProblemContext, Prompt, render_prompt
from adrs.proposer import Proposal, ProposalError, Proposer
from adrs.proposer.context import PromptTooLong, fit_prompt
from adrs.sandbox import Limits
from adrs.selection import island_pool, recent_failure, select_mate
from adrs.selection import select as select_parent

SEED_SEQ = 0


@dataclass(frozen=True)
class Progress:
    done: int  # candidates finished (seed excluded)
    budget: int
    valid: int
    best_score: float | None
    baselines: dict[str, float | None]  # train scores of the problem's compare_with baselines
    elapsed_s: float
    cost_usd: float
    in_flight: int
    session_done: int = 0  # finished in this session (for the ETA)
    session_s: float = 0.0

    @property
    def eta_s(self) -> float | None:
        if self.session_done == 0:
            return None
        return (self.budget - self.done) * self.session_s / self.session_done


@dataclass
class Campaign:
    """Everything one run of the loop needs (built by ``adrs.campaign``)."""

    spec: ProblemSpec
    config: RunConfig
    run_id: str
    engine: Engine
    proposer: Proposer
    limits: Limits
    on_progress: Callable[[Progress], None] = lambda progress: None


@dataclass
class Ticket:
    """One candidate on its way through the pipeline."""

    seq: int
    island: int
    parent: ProgramView | None
    kind: str
    prompt_text: str = ""
    proposal: Proposal | None = None
    candidate: Candidate | None = None
    failure: EvalResult | None = None
    propose_s: float = 0.0
    submitted_at: float = field(default_factory=time.perf_counter)
    mate_id: int | None = None  # the second parent of a crossover


class LoopState:
    """The driver's in-memory mirror of the run's programs (loaded from the DB on resume)."""

    def __init__(self, session: Session, campaign: Campaign) -> None:
        self.programs = store.program_views(session, campaign.run_id)
        self.done = {p.seq for p in self.programs}
        run = session.get(Run, campaign.run_id)
        assert run is not None
        self.elapsed_base = run.elapsed_s
        self.cost_usd = sum(session.scalars(
            select(LLMCall.cost_usd).where(LLMCall.run_id == campaign.run_id)))
        self.started = time.perf_counter()
        self.session_done = 0
        self.trusted_errors = 0  # evaluator_error / infra_error results in this session

    def elapsed_s(self) -> float:
        return self.elapsed_base + time.perf_counter() - self.started

    def visible(self, seq: int, window: int) -> list[ProgramView]:
        horizon = max(SEED_SEQ, seq - window)
        return [p for p in self.programs if p.seq <= horizon]

    def can_propose(self, seq: int, window: int) -> bool:
        if seq == SEED_SEQ:
            return True
        horizon = max(SEED_SEQ, seq - window)
        return all(s in self.done for s in range(horizon + 1))

    def seed_program(self) -> ProgramView | None:
        return next((p for p in self.programs if p.seq == SEED_SEQ), None)


async def evolve(campaign: Campaign) -> str:
    """Run the loop until a budget is reached; return the stop reason. Raises CampaignError."""
    ray, remote = _ray_task()
    config, spec = campaign.config, campaign.spec
    evolution = config.evolution
    window = evolution.workers + (config.llm.concurrency if campaign.proposer.uses_prompt else 0)
    with Session(campaign.engine) as session:
        state = LoopState(session, campaign)
        _restore_proposer(session, campaign)
        seed = state.seed_program()
        if seed is not None and seed.status != "ok":
            raise CampaignError(f"the seed program failed on the training instances "
                                f"({seed.status}); fix it before resuming:\n{seed.feedback}")
        baselines = _train_baselines(session, campaign, ray, remote)
        proposals: dict[asyncio.Task[Ticket], int] = {}
        evaluations: dict[Any, Ticket] = {}
        next_seq = SEED_SEQ
        stop_reason = ""

        def submit(ticket: Ticket) -> None:
            assert ticket.candidate is not None
            ref = remote.remote(ticket.candidate.code, str(spec.root), "train", campaign.limits)
            evaluations[ref] = ticket

        def record(ticket: Ticket, result: EvalResult, eval_s: float) -> None:
            view = _store_program(session, campaign, ticket, result, eval_s, state)
            state.programs.append(view)
            state.done.add(ticket.seq)
            if ticket.seq != SEED_SEQ:
                state.session_done += 1
            if ticket.seq == SEED_SEQ and not result.correct:
                raise CampaignError(f"the seed program fails on the training instances "
                                    f"({result.status}):\n{result.feedback}")
            _check_trusted_errors(state, evolution.max_evaluator_errors, result)
            _report_outcome(campaign, ticket, result)
            campaign.on_progress(_progress(state, campaign, baselines, len(evaluations)))

        try:
            while True:
                stop_reason = stop_reason or _budget_reached(state, campaign, next_seq)
                while (not stop_reason and len(proposals) + len(evaluations) < window
                       and state.can_propose(next_seq, window)):
                    if next_seq in state.done:
                        next_seq += 1
                    elif next_seq == SEED_SEQ:
                        submit(_seed_ticket(spec))
                        next_seq += 1
                    else:
                        task = asyncio.create_task(_propose(campaign, state, next_seq, window))
                        proposals[task] = next_seq
                        next_seq += 1
                    stop_reason = _budget_reached(state, campaign, next_seq)
                if not proposals and not evaluations:
                    break
                await _wait_for_work(ray, proposals, evaluations)
                for task in [t for t in proposals if t.done()]:
                    del proposals[task]
                    ticket = task.result()
                    if ticket.failure is not None:
                        record(ticket, ticket.failure, 0.0)
                    else:
                        submit(ticket)
                if evaluations:
                    ready, _ = ray.wait(list(evaluations), num_returns=len(evaluations), timeout=0)
                    for ref in ready:
                        ticket = evaluations.pop(ref)
                        record(ticket, _result_of(ray, ref), time.perf_counter() - ticket.submitted_at)
        except (KeyboardInterrupt, asyncio.CancelledError):
            _abandon(ray, proposals, evaluations)
            _finish_run(session, campaign, state, "interrupted", "interrupted by the user")
            raise
        except BaseException as err:
            _abandon(ray, proposals, evaluations)
            _finish_run(session, campaign, state, "failed", f"{type(err).__name__}: {err}")
            raise
        _finish_run(session, campaign, state, "finished", stop_reason or "budget reached")
        return stop_reason or "budget reached"


def _ray_task() -> tuple[Any, Any]:
    """Import ray lazily (it must be running: adrs.campaign.start_ray) and wrap the worker task."""
    import ray

    from adrs.worker import evaluate_candidate

    if not ray.is_initialized():
        raise CampaignError("Ray is not initialized (call adrs.campaign.start_ray first)")
    return ray, ray.remote(num_cpus=1, max_retries=1)(evaluate_candidate)


def _budget_reached(state: LoopState, campaign: Campaign, next_seq: int) -> str:
    evolution = campaign.config.evolution
    if next_seq > evolution.budget:
        return f"candidate budget reached ({evolution.budget})"
    if evolution.max_time_s is not None and state.elapsed_s() >= evolution.max_time_s:
        return f"time budget reached ({evolution.max_time_s:.0f} s)"
    if evolution.budget_usd is not None and state.cost_usd >= evolution.budget_usd:
        return f"dollar budget reached (${state.cost_usd:.2f} of ${evolution.budget_usd:.2f})"
    return ""


async def _wait_for_work(ray: Any, proposals: dict[asyncio.Task[Ticket], int],
                         evaluations: dict[Any, Ticket]) -> None:
    """Sleep until a proposal or an evaluation finishes (polling Ray briefly)."""
    if proposals:
        await asyncio.wait(list(proposals), timeout=0.02, return_when=asyncio.FIRST_COMPLETED)
        if any(t.done() for t in proposals):
            return
    if evaluations:
        await asyncio.to_thread(ray.wait, list(evaluations), num_returns=1, timeout=0.05)


def _result_of(ray: Any, ref: Any) -> EvalResult:
    """The task's EvalResult; a task that died (worker killed twice, raylet lost, ...) becomes an
    ``infra_error``: stored, never scored as a bad program (the worker itself catches evaluator bugs)."""
    try:
        return ray.get(ref)
    except Exception as err:
        return EvalResult.failure("infra_error", f"the evaluation's Ray worker failed (retried once): "
                                  f"{type(err).__name__}: {str(err)[:2000]}")


TRUSTED_ERRORS = ("evaluator_error", "infra_error")


def _check_trusted_errors(state: LoopState, limit: int, result: EvalResult) -> None:
    """Stop the campaign after ``limit`` failures of trusted code or infrastructure in a session,
    rather than scoring every later candidate as bad."""
    if result.status not in TRUSTED_ERRORS:
        return
    state.trusted_errors += 1
    if state.trusted_errors >= limit:
        raise CampaignError(
            f"stopped after {state.trusted_errors} evaluator or infrastructure errors in this session "
            f"(evolution.max_evaluator_errors = {limit}); this is a bug in the evaluator or a broken "
            f"Ray cluster, not in the candidates. Fix it, then `adrs resume`. The last one "
            f"({result.status}):\n{result.feedback[-3000:]}")


def _seed_ticket(spec: ProblemSpec) -> Ticket:
    return Ticket(seq=SEED_SEQ, island=0, parent=None, kind="seed",
                  candidate=Candidate(code=spec.seed_code, parent_id=None, kind="seed"))


def problem_context(spec: ProblemSpec) -> ProblemContext:
    return ProblemContext(name=spec.name, description=spec.description, entry=spec.entry,
                          signature=spec.signature, objective=spec.objective,
                          direction=spec.direction)


def _choose_template(rng: random.Random, weights: dict[str, float]) -> str:
    names = sorted(weights)
    return rng.choices(names, weights=[weights[n] for n in names])[0]


async def _propose(campaign: Campaign, state: LoopState, seq: int, window: int) -> Ticket:
    """Select, render, propose and patch candidate ``seq``; failures land in ``ticket.failure``."""
    config, spec, proposer = campaign.config, campaign.spec, campaign.proposer
    rng = random.Random(f"{config.evolution.seed}:{seq}")
    visible = state.visible(seq, window)
    chosen = select_parent(visible, seq, rng, config.evolution, spec.fitness)
    parent, kind, mate, inspirations = chosen.parent, "mutation", None, chosen.inspirations
    if proposer.uses_prompt:
        kind = _choose_template(rng, config.prompt.templates)
        if kind == "fix":
            failed = recent_failure([p for p in visible if p.island == chosen.island], rng)
            parent, kind = (failed, "fix") if failed else (parent, "diff")
        elif kind == "crossover":
            evolution = config.evolution
            pool = island_pool(visible, chosen.island, evolution.islands, seq,
                               evolution.migration_interval, spec.fitness)
            mate = select_mate(pool, parent, rng, evolution.tournament_size, spec.fitness)
            kind = "crossover" if mate else "diff"
            inspirations = tuple(p for p in inspirations if mate is None or p.id != mate.id)
    ticket = Ticket(seq=seq, island=chosen.island, parent=parent, kind=kind,
                    mate_id=mate.id if mate else None)
    prompt = Prompt(kind, parent, inspirations, seed=rng.getrandbits(32), second=mate)
    if proposer.uses_prompt:
        template_dir = Path(config.prompt.template_dir) if config.prompt.template_dir else None

        def render(kept: tuple[ProgramView, ...], feedback_limit: int) -> Prompt:
            return render_prompt(kind, problem_context(spec), parent, kept, seed=prompt.seed,
                                 template_dir=template_dir, second=mate,
                                 feedback_limit=feedback_limit)

        budget = getattr(proposer, "prompt_budget", lambda: None)()
        try:
            prompt = fit_prompt(render, inspirations, budget)
        except PromptTooLong as err:
            if parent.seq == SEED_SEQ:
                raise CampaignError(f"the seed program is too long for the model: {err}") from None
            ticket.proposal = Proposal(text="", kind="diff", proposer=proposer.name)
            ticket.failure = EvalResult.failure("proposal_error", f"not sent: {err}")
            return ticket
        ticket.prompt_text = prompt.text
    started = time.perf_counter()
    try:
        ticket.proposal = await proposer.propose(prompt)
    except ProposalError as err:
        ticket.proposal = Proposal(text="", kind="diff", proposer=proposer.name, calls=err.calls,
                                   model=err.usage.model if err.usage else None)
        ticket.failure = EvalResult.failure("proposal_error", f"the proposer failed: {err}")
        return ticket
    except Exception as err:  # a bug in a proposer must not end a campaign: record it
        ticket.proposal = Proposal(text="", kind="diff", proposer=proposer.name)
        ticket.failure = EvalResult.failure(
            "proposal_error", f"the proposer crashed: {type(err).__name__}: {err}\n"
            + traceback.format_exc(limit=-5))
        return ticket
    finally:
        ticket.propose_s = time.perf_counter() - started
    try:
        patched = apply_proposal(parent.code, ticket.proposal.text, ticket.proposal.kind,
                                 truncated=ticket.proposal.truncated)
    except PatchError as err:
        ticket.failure = EvalResult.failure("patch_error", str(err))
        return ticket
    ticket.candidate = Candidate(code=patched.code, parent_id=parent.id, diff=patched.diff,
                                 kind=kind)
    ticket.submitted_at = time.perf_counter()
    return ticket


def _store_program(session: Session, campaign: Campaign, ticket: Ticket, result: EvalResult,
                   eval_s: float, state: LoopState) -> ProgramView:
    proposal, parent = ticket.proposal, ticket.parent
    code = ticket.candidate.code if ticket.candidate else (proposal.text if proposal else "")
    row = Program(
        run_id=campaign.run_id, seq=ticket.seq, parent_id=parent.id if parent else None,
        island=ticket.island, generation=parent.generation + 1 if parent else 0, kind=ticket.kind,
        code=code, diff=ticket.candidate.diff if ticket.candidate else "",
        status=result.status, score=result.score, metrics=dict(result.metrics),
        private_metrics=dict(result.private_metrics), feedback=result.feedback,
        proposer=proposal.proposer if proposal else "seed",
        model=proposal.model if proposal else None, note=_note(ticket),
        prompt=ticket.prompt_text, propose_s=ticket.propose_s, eval_s=eval_s,
        runtime_s=result.runtime_s)
    session.add(row)
    for usage in proposal.calls if proposal else ():
        session.add(LLMCall(run_id=campaign.run_id, seq=ticket.seq, model=usage.model,
                            prompt_tokens=usage.prompt_tokens,
                            completion_tokens=usage.completion_tokens, cost_usd=usage.cost_usd,
                            latency_s=usage.latency_s, error=usage.error, kind=ticket.kind,
                            choice=usage.choice, finish_reason=usage.finish_reason,
                            attempts=usage.attempts, cached=usage.cached))
        state.cost_usd += usage.cost_usd
    run = session.get(Run, campaign.run_id)
    assert run is not None
    run.elapsed_s = state.elapsed_s()
    session.commit()
    return store.view(row)


def _note(ticket: Ticket) -> str:
    proposal = ticket.proposal
    note = proposal.note if proposal else ""
    if ticket.mate_id is not None:
        note = "; ".join(filter(None, [f"crossover with program #{ticket.mate_id}", note]))
    return note


def _improved(spec: ProblemSpec, status: str, score: float | None,
              parent: ProgramView | Program | None) -> bool:
    """True when a child (status, score) beats its parent (any correct child of a failed one)."""
    if status != "ok" or score is None or parent is None:
        return False
    return parent.status != "ok" or parent.score is None or spec.fitness(score) > spec.fitness(parent.score)


def _restore_proposer(session: Session, campaign: Campaign) -> None:
    """On resume, replay the run's stored LLM calls and their children's outcomes into an LLM
    proposer, so the bandit continues from what it had learned."""
    restore = getattr(campaign.proposer, "restore", None)
    if restore is None:
        return
    programs = {p.seq: p for p in session.scalars(
        select(Program).where(Program.run_id == campaign.run_id))}
    by_id = {p.id: p for p in programs.values()}
    for call in session.scalars(select(LLMCall).where(LLMCall.run_id == campaign.run_id)
                                .order_by(LLMCall.id)):
        child = programs.get(call.seq)
        judged = child is not None and not call.error and child.model == call.model \
            and child.status not in ("proposal_error", *TRUSTED_ERRORS)
        improved = _improved(campaign.spec, child.status, child.score, by_id.get(child.parent_id)) \
            if judged and child.parent_id is not None else None
        restore(call.model, call.cost_usd, bool(call.error), improved)


def _report_outcome(campaign: Campaign, ticket: Ticket, result: EvalResult) -> None:
    """Tell an LLM proposer whether the child of its reply beat its parent (for the bandit)."""
    observe = getattr(campaign.proposer, "observe", None)
    proposal, parent = ticket.proposal, ticket.parent
    if observe is None or proposal is None or not proposal.model or parent is None \
            or result.status in ("proposal_error", *TRUSTED_ERRORS):  # not the model's doing
        return
    observe(proposal.model, result.correct and _improved(campaign.spec, result.status,
                                                         result.score, parent))


def _train_baselines(session: Session, campaign: Campaign, ray: Any,
                     remote: Any) -> dict[str, float | None]:
    """Train scores of the compare_with baselines (evaluated once per run, stored)."""
    spec = campaign.spec
    stored = {e.baseline: e.score for e in store.evaluations(session, campaign.run_id, "train")
              if e.baseline}
    missing = [name for name in spec.compare_with if name not in stored]
    refs = {name: remote.remote(spec.baselines[name].read_text(), str(spec.root), "train",
                                campaign.limits) for name in missing}
    for name, ref in refs.items():
        result = _result_of(ray, ref)
        session.add(Evaluation(run_id=campaign.run_id, baseline=name, split="train",
                               status=result.status, score=result.score,
                               metrics=dict(result.metrics), feedback=result.feedback,
                               runtime_s=result.runtime_s))
        stored[name] = result.score
    session.commit()
    return {name: stored.get(name) for name in spec.compare_with}


def _progress(state: LoopState, campaign: Campaign, baselines: dict[str, float | None],
              in_flight: int) -> Progress:
    candidates = [p for p in state.programs if p.seq != SEED_SEQ]
    valid = [p for p in candidates if p.status == "ok"]
    best = None
    for p in state.programs:
        if p.status == "ok" and campaign.spec.better(p.score, best):
            best = p.score
    return Progress(done=len(candidates), budget=campaign.config.evolution.budget,
                    valid=len(valid), best_score=best, baselines=baselines,
                    elapsed_s=state.elapsed_s(), cost_usd=state.cost_usd, in_flight=in_flight,
                    session_done=state.session_done,
                    session_s=time.perf_counter() - state.started)


def _abandon(ray: Any, proposals: dict[asyncio.Task[Ticket], int],
             evaluations: dict[Any, Ticket]) -> None:
    for task in proposals:
        task.cancel()
    for ref in evaluations:
        try:
            ray.cancel(ref, force=True)
        except Exception:  # already finished or the cluster is gone: nothing left to stop
            pass


def _finish_run(session: Session, campaign: Campaign, state: LoopState, status: str,
                reason: str) -> None:
    session.rollback()
    run = session.get(Run, campaign.run_id)
    if run is None:
        return
    run.status, run.stop_reason, run.elapsed_s = status, reason, state.elapsed_s()
    session.commit()


def with_budget(config: RunConfig, budget: int | None, max_time_s: float | None) -> RunConfig:
    """``config`` with new candidate / wall-time budgets where given (``adrs resume``)."""
    evolution = config.evolution
    if budget is not None:
        evolution = replace(evolution, budget=budget)
    if max_time_s is not None:
        evolution = replace(evolution, max_time_s=max_time_s)
    return replace(config, evolution=evolution)
