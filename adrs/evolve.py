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
from adrs.sandbox import Limits
from adrs.selection import recent_failure
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
    try:
        return ray.get(ref)
    except Exception as err:  # worker died twice, raylet lost, ...
        return EvalResult.failure("crash", f"the evaluation worker failed: {type(err).__name__}: "
                                  f"{str(err)[:2000]}")


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
    parent, kind = chosen.parent, "mutation"
    if proposer.uses_prompt:
        kind = _choose_template(rng, config.prompt.templates)
        if kind == "fix":
            failed = recent_failure([p for p in visible if p.island == chosen.island], rng)
            parent, kind = (failed, "fix") if failed else (parent, "diff")
    ticket = Ticket(seq=seq, island=chosen.island, parent=parent, kind=kind)
    prompt = Prompt(kind, parent, chosen.inspirations, seed=rng.getrandbits(32))
    if proposer.uses_prompt:
        template_dir = config.prompt.template_dir
        prompt = render_prompt(kind, problem_context(spec), parent, chosen.inspirations,
                               seed=prompt.seed, template_dir=Path(template_dir) if template_dir else None)
        ticket.prompt_text = prompt.text
    started = time.perf_counter()
    try:
        ticket.proposal = await proposer.propose(prompt)
    except ProposalError as err:
        ticket.proposal = Proposal(text="", kind="diff", proposer=proposer.name, usage=err.usage)
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
        patched = apply_proposal(parent.code, ticket.proposal.text, ticket.proposal.kind)
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
        model=proposal.model if proposal else None, note=proposal.note if proposal else "",
        prompt=ticket.prompt_text, propose_s=ticket.propose_s, eval_s=eval_s,
        runtime_s=result.runtime_s)
    session.add(row)
    usage = proposal.usage if proposal else None
    if usage is not None:
        session.add(LLMCall(run_id=campaign.run_id, seq=ticket.seq, model=usage.model,
                            prompt_tokens=usage.prompt_tokens,
                            completion_tokens=usage.completion_tokens, cost_usd=usage.cost_usd,
                            latency_s=usage.latency_s, error=usage.error))
        state.cost_usd += usage.cost_usd
    run = session.get(Run, campaign.run_id)
    assert run is not None
    run.elapsed_s = state.elapsed_s()
    session.commit()
    return store.view(row)


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
