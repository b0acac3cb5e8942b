"""The one list of program statuses, and whose fault each one is.

A status is stored with every program and evaluation row (as its string value). ``Fault`` says who
is to blame: nobody (``ok``), the candidate program (it failed the trusted evaluator), the proposer
(no program came out of the proposal), or trusted code and infrastructure (the evaluator or Ray
broke: a bug to fix, never the candidate's score). Selection, fix prompts, the bandit and the stop
after repeated evaluator errors all ask ``fault`` instead of listing statuses. No imports, so
browsing commands can use it for free.
"""

from __future__ import annotations

from enum import StrEnum


class Fault(StrEnum):
    NONE = "none"
    CANDIDATE = "candidate"  # the program is wrong, slow or crashed
    PROPOSER = "proposer"  # no program to evaluate: the proposal or its patch failed
    TRUSTED = "trusted"  # the evaluator or the infrastructure failed


class Status(StrEnum):
    """Outcome of one candidate. Evaluators return the first ten; the loop adds the rest."""

    OK = "ok"  # ran and every answer was valid; score is set
    INVALID = "invalid"  # ran, but an answer failed validation
    SYNTAX_ERROR = "syntax_error"
    ERROR = "error"  # exception in the candidate (traceback in feedback)
    TIMEOUT = "timeout"
    MEMORY = "memory"
    CRASH = "crash"  # died by a signal or exited without a result
    BAD_OUTPUT = "bad_output"  # returned something that cannot be transported (unsupported type)
    BELOW_THRESHOLD = "below_threshold"  # valid, but a cheap cascade stage missed its threshold
    EVALUATOR_ERROR = "evaluator_error"  # the trusted evaluator itself failed
    INFRA_ERROR = "infra_error"  # the evaluation's worker or Ray died twice
    PATCH_ERROR = "patch_error"  # the proposal could not be turned into a program
    PROPOSAL_ERROR = "proposal_error"  # the proposer failed (e.g. the LLM call failed after retries)
    DUPLICATE = "duplicate"  # equivalent to a program already evaluated in the run (adrs.dedup)

    @property
    def fault(self) -> Fault:
        return _FAULTS.get(self, Fault.CANDIDATE)

    @property
    def candidates_fault(self) -> bool:
        """A failure of the program itself (what a fix prompt can repair)."""
        return self.fault is Fault.CANDIDATE

    @property
    def judges_proposer(self) -> bool:
        """The outcome says something about the proposer's reply (bandit feedback): anything but a
        failed proposal or a failure of trusted code."""
        return self is not Status.PROPOSAL_ERROR and self.fault is not Fault.TRUSTED


_FAULTS = {Status.OK: Fault.NONE, Status.EVALUATOR_ERROR: Fault.TRUSTED,
           Status.INFRA_ERROR: Fault.TRUSTED, Status.PATCH_ERROR: Fault.PROPOSER,
           Status.PROPOSAL_ERROR: Fault.PROPOSER, Status.DUPLICATE: Fault.PROPOSER}


def status_of(value: str) -> Status:
    """The Status named ``value``; raises ValueError naming the known ones otherwise."""
    try:
        return Status(value)
    except ValueError:
        raise ValueError(f"unknown status {value!r}; one of {', '.join(s.value for s in Status)}") \
            from None
