"""What happened to one candidate: a frozen Outcome, and Failure for what is not an evaluation.

A candidate either reaches the evaluator (``result``: an EvalResult on the train split) or stops
before it (``failure``: the proposer failed, or its reply could not be patched into a program).
Either way the Outcome carries the Plan, the Proposal (if any), the Candidate (if any) and the
timings; ``adrs.db.store`` turns it into a program row, the loop into bandit feedback. Pure values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from adrs.plan import Plan
from adrs.program import Candidate, ProgramView
from adrs.status import Status

if TYPE_CHECKING:
    from adrs.evaluation import EvalResult
    from adrs.proposer import Proposal
    from adrs.selection import Fitness


@dataclass(frozen=True)
class Failure:
    """A candidate that never reached the evaluator (PROPOSAL_ERROR or PATCH_ERROR)."""

    status: Status
    feedback: str
    score: None = field(default=None, init=False)
    metrics: dict[str, float] = field(default_factory=dict, init=False)
    private_metrics: dict[str, float] = field(default_factory=dict, init=False)
    runtime_s: float = field(default=0.0, init=False)
    node: str = field(default="", init=False)  # never evaluated anywhere

    @property
    def correct(self) -> bool:
        return False


@dataclass(frozen=True)
class Outcome:
    plan: Plan
    proposal: Proposal | None  # None for the seed
    candidate: Candidate | None  # None when the proposal or the patch failed
    result: EvalResult | Failure
    propose_s: float = 0.0
    eval_s: float = 0.0  # wall time of the evaluation (queueing included)

    @property
    def status(self) -> Status:
        return self.result.status

    @property
    def code(self) -> str:
        """What is stored as the program: the candidate, else the raw reply."""
        if self.candidate is not None:
            return self.candidate.code
        return self.proposal.text if self.proposal else ""

    @property
    def note(self) -> str:
        note = self.proposal.note if self.proposal else ""
        if self.plan.mate is not None:  # also stored as program.mate_id; the note is for people
            note = "; ".join(filter(None, [f"crossover with program #{self.plan.mate.id}", note]))
        return note

    def improved(self, fitness: Fitness) -> bool:
        """True when the candidate beats its parent (any correct child of a failed parent)."""
        return beats(self.status, self.result.score, self.plan.parent, fitness)


def beats(status: str, score: float | None, parent: ProgramView | None, fitness: Fitness) -> bool:
    """True when a child (status, score) beats ``parent`` (any correct child of a failed one)."""
    if status != Status.OK or score is None or parent is None:
        return False
    return parent.status != Status.OK or parent.score is None \
        or fitness(score) > fitness(parent.score)
