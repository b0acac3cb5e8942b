"""Conformance of every built-in problem and of the ``adrs new`` scaffold: what the loop relies on.

For each problem, ``adrs check`` runs once (module fixture) and each property below is asserted on
its rows: the seed is correct on every split, the same program gets the same score and the same
instances (except declared timed objectives), every baseline is correct, deliberately bad programs
(raising, not compiling, hanging, returning garbage) are rejected without crashing the evaluator,
no holdout instance is handed to the candidate and the problem's files are unreadable from the
sandbox. ``adrs bench --quick`` must produce tables naming every baseline.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from adrs.check import GARBAGE, CheckRow, check_problem
from adrs.cli.main import app
from adrs.problem import load_problem, problem_dirs
from adrs.scaffold import new_problem

PROBLEMS = ("smtt", "eplb", "txn", "scaffold")
BENCH_OPTIONS = {"smtt": ["--sizes", "20"], "eplb": ["--sizes", "8"]}


def test_every_builtin_problem_is_covered() -> None:
    assert set(problem_dirs()) <= set(PROBLEMS), "add the new problem to PROBLEMS"


@pytest.fixture(scope="module", params=PROBLEMS)
def problem(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "scaffold":
        return str(new_problem("conform", tmp_path_factory.mktemp("scaffold")))
    return request.param


@pytest.fixture(scope="module")
def rows(problem: str) -> dict[str, CheckRow]:
    found = {row.name: row for row in check_problem(problem, hang_timeout_s=3.0)}
    assert found["problem loads"].verdict == "pass", found["problem loads"]
    return found


def passes(rows: dict[str, CheckRow], name: str) -> None:
    row = rows[name]
    assert row.verdict == "pass", f"{name}: {row.verdict}: {row.detail}"


def test_seed_is_valid_on_every_split(rows: dict[str, CheckRow]) -> None:
    passes(rows, "seed runs")


def test_same_program_same_score_and_same_instances(rows: dict[str, CheckRow]) -> None:
    passes(rows, "same program, same score")
    passes(rows, "same instances")


def test_every_baseline_is_valid(rows: dict[str, CheckRow]) -> None:
    passes(rows, "baselines run")


def test_bad_and_garbage_programs_are_rejected(rows: dict[str, CheckRow]) -> None:
    names = ["raises", "does not compile", "hangs", *(f"returns {label}" for label in GARBAGE)]
    for name in names:
        passes(rows, f"program that {name}")


def test_holdout_is_unreachable(rows: dict[str, CheckRow]) -> None:
    passes(rows, "holdout not in calls")
    passes(rows, "holdout files unreadable")


def test_check_finds_nothing_to_fix(rows: dict[str, CheckRow]) -> None:
    assert [r for r in rows.values() if r.verdict == "fail"] == []


def test_bench_runs(problem: str) -> None:
    options = BENCH_OPTIONS.get(problem, [])
    result = CliRunner().invoke(app, ["bench", problem, "--quick", "--json", *options])
    assert result.exit_code == 0, result.output
    tables = json.loads(result.stdout)
    assert tables and all(table["rows"] for table in tables)
    text = json.dumps(tables)
    for name in load_problem(problem).baselines:
        assert name in text, f"baseline {name} missing from the bench tables"
