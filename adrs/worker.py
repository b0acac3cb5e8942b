"""What runs inside a Ray worker: load the problem's evaluator once per process and score one
candidate on one split. Never touches the database; returns an EvalResult value."""

from __future__ import annotations

import functools
import traceback

from adrs.evaluation import EvalResult, Evaluator, Split, evaluate_program
from adrs.problem import load_problem
from adrs.sandbox import Limits


@functools.lru_cache(maxsize=8)
def evaluator_for(problem_root: str) -> Evaluator:
    return load_problem(problem_root).load_evaluator()


def evaluate_candidate(code: str, problem_root: str, split: Split, limits: Limits) -> EvalResult:
    """Evaluate ``code``; a failure of the evaluator itself becomes an ``evaluator_error`` result."""
    try:
        evaluator = evaluator_for(problem_root)
    except Exception:
        return EvalResult.failure("evaluator_error", "the evaluator failed to load:\n"
                                  + traceback.format_exc(limit=-8))
    try:
        return evaluate_program(code, evaluator, split, limits)
    except Exception:
        return EvalResult.failure("evaluator_error", "the evaluator raised while scoring:\n"
                                  + traceback.format_exc(limit=-8))
