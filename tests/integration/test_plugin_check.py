"""``adrs check`` passes a sound problem and catches each planted defect: a nondeterministic
evaluator, one that scores garbage as correct, one that hands holdout data to the candidate, and an
evaluation too slow for the configured limits."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from adrs.check import GARBAGE, check_problem
from adrs.cli.main import app
from adrs.scaffold import new_problem


def scaffold(tmp_path: Path, name: str, replacements: dict[str, dict[str, str]] | None = None) -> Path:
    """A fresh `adrs new` problem with text replacements applied to some of its files."""
    folder = new_problem(name, tmp_path)
    for rel, changes in (replacements or {}).items():
        path = folder / rel
        text = path.read_text()
        for old, new in changes.items():
            assert old in text, f"{rel}: {old!r} not found"
            text = text.replace(old, new)
        path.write_text(text)
    return folder


def verdicts(folder: Path) -> dict[str, str]:
    return {row.name: row.verdict for row in check_problem(str(folder), hang_timeout_s=2.0)}


EVALUATOR = "evaluator/__init__.py"
DEFECTS = {
    # noise in the score: the same program gets different scores
    "nondeterministic": ({EVALUATOR: {
        "        used = int(np.count_nonzero(loads))":
        "        used = int(np.count_nonzero(loads)) + float(np.random.default_rng().random())"}},
        ["same program, same score"]),
    # anything that is not a proper answer counts as one bin per item: garbage scores as correct
    "accepts_garbage": ({EVALUATOR: {
        "        if bins is None or bins.dtype.kind not in \"iu\":":
        "        if bins is None or bins.dtype.kind not in \"iu\" or bins.shape != sizes.shape:\n"
        "            return {\"bins_ratio\": 1.0, \"bins\": float(len(sizes)), \"lower_bound\": 1.0}\n"
        "        if False:"}},
        [f"program that returns {label}" for label in GARBAGE]),
    # the training calls also carry the holdout instances (an easy slip when building the calls)
    "holdout_in_calls": ({EVALUATOR: {
        "        return generate(self.specs[split], f\"instances.{split}\")":
        "        calls = generate(self.specs[split], f\"instances.{split}\")\n"
        "        if split == \"train\":\n"
        "            calls += generate(self.specs[\"holdout\"], \"instances.holdout\")\n"
        "        return calls"}},
        ["holdout not in calls"]),
    # scoring sleeps: the seed's evaluation takes most of the time limit
    "too_slow": ({EVALUATOR: {"        used = int(np.count_nonzero(loads))":
                              "        __import__('time').sleep(0.2)\n"
                              "        used = int(np.count_nonzero(loads))"},
                  "problem.yaml": {"limits: {timeout_s: 10,": "limits: {timeout_s: 3,"}},
                 ["evaluation time"]),
}


@pytest.mark.parametrize("defect", [d for d in DEFECTS if d != "nondeterministic"])
def test_check_catches_a_planted_defect(tmp_path: Path, defect: str) -> None:
    replacements, expected_failures = DEFECTS[defect]
    result = verdicts(scaffold(tmp_path, defect, replacements))
    failures = sorted(name for name, verdict in result.items() if verdict == "fail")
    assert failures == sorted(expected_failures), result


def test_check_command_catches_a_nondeterministic_evaluator(tmp_path: Path) -> None:
    """Through the CLI: a pass/fail table with fixes, exit code 1. (A sound problem passing every
    check is shown by tests/integration/test_authoring.py.)"""
    folder = scaffold(tmp_path, "noisy", DEFECTS["nondeterministic"][0])
    out = CliRunner().invoke(app, ["check", str(folder), "--hang-timeout", "2"])
    assert out.exit_code == 1, out.output
    failing = [line for line in out.output.splitlines() if "FAIL" in line]
    assert len(failing) == 1 and "same program, same score" in failing[0], out.output
    assert "1 of 19 checks failed" in out.output
    assert "seed every random generator" in out.output  # the fix is printed
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "problem.yaml").write_text("name: broken\n")
    out = CliRunner().invoke(app, ["check", str(broken)])
    assert out.exit_code == 1 and "problem loads" in out.output and "missing required field" in out.output
