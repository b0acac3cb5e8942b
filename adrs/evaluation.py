"""The evaluator contract and the glue that scores one candidate program.

An evaluator is trusted code: it hands the sandbox the inputs for each call of the candidate's entry
function, then validates every returned decision and recomputes every metric itself. Nothing the
candidate reports is believed. This module defines the types and ``evaluate_program``; it does not
start processes itself (see ``adrs.sandbox``) and knows nothing of Ray or the database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np

from adrs.sandbox import Limits, RunOutcome, run_program

Status = Literal[
    "ok",  # ran and every answer was valid; score is set
    "invalid",  # ran, but an answer failed validation
    "syntax_error",
    "error",  # exception in the candidate (traceback in feedback)
    "timeout",
    "memory",
    "crash",  # died by a signal or exited without a result
    "bad_output",  # returned something that cannot be transported (unsupported type)
    "patch_error",  # the proposal could not be turned into a program
    "proposal_error",  # the proposer failed (e.g. the LLM call failed after retries)
    "evaluator_error",  # the trusted evaluator itself failed (a bug to fix, not the candidate's)
]

Split = Literal["train", "validation", "holdout"]


@dataclass(frozen=True)
class EvalResult:
    """Outcome of evaluating one program on one instance split."""

    status: Status
    score: float | None  # the selection objective (see ProblemSpec.objective); None unless correct
    metrics: dict[str, float] = field(default_factory=dict)  # shown to the LLM
    private_metrics: dict[str, float] = field(default_factory=dict)  # never shown to the LLM
    feedback: str = ""  # LLM-readable explanation (traceback, validation error, ...)
    runtime_s: float = 0.0  # time spent inside the candidate's calls only

    @property
    def correct(self) -> bool:
        return self.status == "ok"

    @classmethod
    def failure(cls, status: Status, feedback: str, runtime_s: float = 0.0) -> EvalResult:
        return cls(status=status, score=None, feedback=feedback, runtime_s=runtime_s)


Call = Mapping[str, np.ndarray]


class Evaluator(Protocol):
    """What every problem's evaluator provides.

    ``calls(split)`` returns one keyword-argument mapping per call of the entry function (copies are
    made by the sandbox; the candidate never sees references or other splits). ``score`` receives the
    decoded return values in the same order and must validate each one and recompute the objective.

    Optional attributes (read with defaults by ``sandbox_options``): ``support`` (module file name
    -> source, copied next to the candidate, e.g. a simulator it may call), ``adapter``
    (``"module:function"`` of a support module building the entry's arguments from a call's arrays)
    and ``timing_repeats`` (time each call as the median of that many runs after a warm-up).
    """

    entry: str

    def calls(self, split: Split) -> Sequence[Call]: ...

    def score(self, split: Split, outputs: Sequence[Any], call_times_s: Sequence[float]) -> EvalResult: ...


def sandbox_options(evaluator: Evaluator) -> dict[str, Any]:
    """The evaluator's optional sandbox settings as keyword arguments for ``run_program``."""
    return {"support": getattr(evaluator, "support", None), "adapter": getattr(evaluator, "adapter", None),
            "repeats": getattr(evaluator, "timing_repeats", 1)}


def evaluate_program(code: str, evaluator: Evaluator, split: Split, limits: Limits) -> EvalResult:
    """Run ``code`` in the sandbox on every call of ``split`` and let the evaluator score it."""
    outcome: RunOutcome = run_program(code, evaluator.entry, evaluator.calls(split), limits,
                                      **sandbox_options(evaluator))
    runtime_s = float(sum(outcome.call_times_s))
    if outcome.status != "ok":
        return EvalResult.failure(outcome.status, outcome.feedback(), runtime_s)
    assert outcome.outputs is not None
    return evaluator.score(split, outcome.outputs, outcome.call_times_s)
