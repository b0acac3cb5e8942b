"""The public evaluator API: cascade stages, objectives (private ones hidden), artifacts, and that an
evaluator written against the original protocol (entry, calls, score) still works unchanged."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest

from adrs.evaluation import (
    EvalResult,
    Objective,
    Stage,
    evaluate_program,
    objectives_of,
    with_artifacts_in_feedback,
    with_private_hidden,
)
from adrs.problem import load_problem
from adrs.sandbox import Limits
from adrs.sdk import CallEvaluator, InvalidOutput
from tests.conftest import TOY_PROBLEM

LIMITS = Limits(timeout_s=10, cpu_s=10, memory_mb=1024)

# The candidate returns x * w for each call's x; the evaluator's error is |answer - 2x| per call.
PROGRAM = "def solve(x):\n    return float(x) * {w}\n"


class Doubling(CallEvaluator):
    entry = "solve"
    objectives = (Objective("error", "minimize", selection=True),
                  Objective("secret", "minimize", private=True))

    def __init__(self, stages: tuple[Stage, ...] = ()) -> None:
        self.stages = stages
        self.scored_prefixes: list[int] = []

    def build_calls(self, split: str) -> list[dict[str, np.ndarray]]:
        return [{"x": np.array(float(i + 1))} for i in range(6)]

    def measure(self, split: str, index: int, call: Mapping[str, np.ndarray],
                output: Any) -> dict[str, float]:
        if isinstance(output, bool) or not isinstance(output, int | float):
            raise InvalidOutput(f"expected a number, got {output!r}")
        return {"error": abs(output - 2 * float(call["x"])), "secret": 42.0}

    def score(self, split, outputs, call_times_s):
        self.scored_prefixes.append(len(outputs))
        return super().score(split, outputs, call_times_s)


def test_call_evaluator_scores_validates_and_hides_private_objectives() -> None:
    evaluator = Doubling()
    exact = evaluate_program(PROGRAM.format(w=2.0), evaluator, "train", LIMITS)
    assert exact.correct and exact.score == 0.0
    assert "secret" not in exact.metrics and exact.private_metrics == {"secret": 42.0}
    assert "42" not in exact.feedback  # the default feedback leaves private objectives out
    off = evaluate_program(PROGRAM.format(w=3.0), evaluator, "train", LIMITS)
    assert off.score == pytest.approx(np.mean([1, 2, 3, 4, 5, 6]))  # |3x - 2x| = x, averaged
    bad = evaluate_program("def solve(x):\n    return 'two'\n", evaluator, "train", LIMITS)
    assert bad.status == "invalid" and "expected a number, got 'two'" in bad.feedback


def test_cascade_runs_the_expensive_stage_only_after_the_cheap_one_passes() -> None:
    stages = (Stage("quick", calls=2, threshold=0.5), Stage("full"))
    good = Doubling(stages)
    result = evaluate_program(PROGRAM.format(w=2.0), good, "train", LIMITS)
    assert result.correct and good.scored_prefixes == [2, 6]  # stage 2 added the 4 remaining calls
    poor = Doubling(stages)
    stopped = evaluate_program(PROGRAM.format(w=2.5), poor, "train", LIMITS)  # error 0.75 on stage 1
    assert poor.scored_prefixes == [2]
    assert stopped.status == "below_threshold" and stopped.score is None and not stopped.correct
    assert "Stage quick" in stopped.feedback and "at most 0.5" in stopped.feedback
    crash = Doubling(stages)
    failed = evaluate_program("def solve(x):\n    raise ValueError('no')\n", crash, "train", LIMITS)
    assert failed.status == "error" and crash.scored_prefixes == [] and "stage quick" in failed.feedback


def test_a_threshold_needs_a_selection_objective() -> None:
    class NoObjectives(Doubling):
        objectives = ()

    with pytest.raises(ValueError, match="selection objective"):
        evaluate_program(PROGRAM.format(w=2.0), NoObjectives((Stage("a", 1, 0.1), Stage("b"))),
                         "train", LIMITS)


def test_objective_declarations_are_validated() -> None:
    class Two:
        objectives = (Objective("a", selection=True), Objective("b", selection=True))

    with pytest.raises(ValueError, match="exactly one"):
        objectives_of(Two())
    with pytest.raises(ValueError, match="cannot be private"):
        Objective("a", selection=True, private=True)
    with pytest.raises(ValueError, match="direction"):
        Objective("a", direction="up")  # type: ignore[arg-type]
    assert Objective("m", "maximize").passes(3.0, 2.0) and not Objective("m").passes(3.0, 2.0)


def test_artifacts_are_kept_and_appended_to_the_feedback_clipped() -> None:
    result = EvalResult(status="ok", score=1.0, feedback="fine", artifacts={"stderr": "x" * 5000,
                                                                            "trace": "t1"})
    shown = with_artifacts_in_feedback(result, limit=100)
    assert shown.artifacts == result.artifacts
    assert shown.feedback.startswith("fine\n[stderr]\n") and "[trace]\nt1" in shown.feedback
    assert "characters omitted" in shown.feedback and len(shown.feedback) < 400
    hidden = with_private_hidden(EvalResult("ok", 1.0, metrics={"a": 1.0, "p": 2.0}),
                                 [Objective("a", selection=True), Objective("p", private=True)])
    assert hidden.metrics == {"a": 1.0} and hidden.private_metrics == {"p": 2.0}


def test_an_evaluator_on_the_original_protocol_still_works_unchanged() -> None:
    spec = load_problem(str(TOY_PROBLEM))
    evaluator = spec.load_evaluator()
    assert not hasattr(evaluator, "objectives") and not hasattr(evaluator, "stages")
    result = evaluate_program(spec.seed_code, evaluator, "train", spec.limits)
    assert result.correct and result.score == pytest.approx(2.5) and result.artifacts == {}
