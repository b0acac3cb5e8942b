"""Constant tuning: which literals are tunable, how they are rewritten, and that Optuna improves a
program on the given (training) scorer without ever returning something worse."""

import ast

import pytest

from adrs.tuning import GainReport, tunable_literals, tune_constants, with_values

CODE = '''import numpy as np

LIMIT = 5  # outside the block: never tuned

# EVOLVE-BLOCK-START
def key(p, d, t):
    window = 3
    alpha = 0.25
    return d - alpha * t + 2.5 * p[0:window] + (t - 1) * 1.0
# EVOLVE-BLOCK-END
'''


def namespace(code: str) -> dict:
    scope: dict = {}
    exec(compile(code, "<tuned>", "exec"), scope)
    return scope


def test_named_constants_and_float_coefficients_are_tunable_structure_is_not():
    found = tunable_literals(CODE)
    assert [(lit.value, lit.named) for lit in found] == [(3, True), (0.25, True), (2.5, False)]


def test_values_are_written_back_in_place():
    found = tunable_literals(CODE)
    keys = [lit.key for lit in found]
    new = with_values(CODE, found, {keys[0]: 40, keys[1]: -0.5, keys[2]: 7.0})
    assert "window = 40" in new and "alpha = (-0.5)" in new and "7.0 * p[0:window]" in new
    assert "LIMIT = 5" in new and "(t - 1) * 1.0" in new
    ast.parse(new)
    again = tunable_literals(new)  # a negative value is one literal, the sign included
    assert [(lit.value, lit.named) for lit in again] == [(40, True), (-0.5, True), (7.0, False)]
    assert tunable_literals(with_values(new, again, {again[1].key: -0.125}))[1].value == -0.125


def target_scorer(code: str) -> float | None:
    """Train score of the toy: distance of window from 37 and alpha from -0.3 (window 0: invalid)."""
    scope = namespace(code)
    consts = [lit.value for lit in tunable_literals(code)]
    window, alpha = consts[0], consts[1]
    if window == 0:
        return None
    assert callable(scope["key"])
    return abs(window - 37) + 10 * abs(alpha + 0.3)


def test_tuning_improves_the_training_score_and_never_returns_worse():
    result = tune_constants(CODE, target_scorer, "minimize", trials=60, seed=1)
    assert result.original_score == pytest.approx(34 + 5.5)
    assert result.score < result.original_score / 3
    assert result.score == pytest.approx(target_scorer(result.code))
    assert result.literals == 3 and result.trials == 60 and result.changed
    # a scorer under which the original is already best: tuning keeps it
    kept = tune_constants(CODE, lambda code: 0.0 if code == CODE else 1.0, "minimize", trials=10)
    assert kept.score == 0.0 and kept.code == CODE and not kept.changed


def test_gain_report_says_how_much_gain_survives_tuning():
    report = GainReport(seed=50.0, seed_tuned=2.0, program=2.5, program_tuned=1.5, direction="minimize")
    assert report.raw_gain == 47.5 and report.surviving_gain == 0.5
    assert report.surviving_share == pytest.approx(0.5 / 47.5)
    up = GainReport(seed=1.0, seed_tuned=2.0, program=3.0, program_tuned=4.0, direction="maximize")
    assert up.raw_gain == 2.0 and up.surviving_gain == 2.0 and up.surviving_share == 1.0


def test_trials_run_in_the_sandbox_with_a_tighter_time_limit():
    from adrs.problem import load_problem
    from adrs.tuning import train_scorer
    from tests.conftest import TOY_PROBLEM

    spec = load_problem(str(TOY_PROBLEM))
    fast = spec.seed_code
    slow = fast.replace("    return x * 0.5", "    import time\n    time.sleep(8)\n    return x * 0.5")
    capped = train_scorer(spec, timeout_s=3.0)
    assert capped(fast) == pytest.approx(2.5)
    assert capped(slow) is None  # timed out at 3 s, not the problem's 10 s
