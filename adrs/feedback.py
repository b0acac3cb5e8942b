"""What the proposer learns from outcomes: after each recorded candidate (``observe``) and, when a
run resumes, from the stored LLM calls and their children (``restore_proposer``). Only outcomes
that judge the model's reply count (``Status.judges_proposer``): not failed calls, not evaluator
or infrastructure failures. No I/O: the loop passes the stored history in.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from adrs.outcome import Outcome, beats
from adrs.proposer import Proposer
from adrs.selection import Fitness
from adrs.status import Status


def observe(proposer: Proposer, outcome: Outcome, fitness: Fitness) -> None:
    """Tell the proposer whether the child of its model's reply beat its parent (for the bandit)."""
    proposal = outcome.proposal
    if proposal is not None and proposal.model and outcome.status.judges_proposer:
        proposer.observe(proposal.model, outcome.improved(fitness))


def restore_proposer(proposer: Proposer, history: Iterable[tuple[Any, Any, Any]],
                     fitness: Fitness) -> None:
    """Replay stored (LLM call, child program, its parent) rows into the proposer, so a bandit
    continues from what it had learned."""
    for call, child, parent in history:
        judged = child is not None and not call.error and child.model == call.model \
            and Status(child.status).judges_proposer
        improved = beats(child.status, child.score, parent, fitness) \
            if judged and child.parent_id is not None else None
        proposer.restore(call.model, call.cost_usd, bool(call.error), improved)
