"""An evaluator that raises while scoring the best program for the end-of-run report or for
``adrs best`` gives an ``evaluator_error`` row with its traceback (stored by the run), never a
traceback out of the command."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from adrs.cli.main import app
from adrs.db import store
from adrs.db.models import Evaluation
from tests.conftest import TOY_PROBLEM

runner = CliRunner()
BREAK = '''
    def calls(self, split: str) -> list[dict[str, np.ndarray]]:
        if split != "train":
            raise RuntimeError(f"the {split} instances are broken")
'''


@pytest.fixture
def broken_beyond_train(tmp_path: Path) -> Path:
    """The toy problem with an evaluator that raises on every split but train."""
    problem = tmp_path / "toy_broken"
    shutil.copytree(TOY_PROBLEM, problem)
    init = problem / "evaluator" / "__init__.py"
    text = init.read_text()
    head = "\n    def calls(self, split: str) -> list[dict[str, np.ndarray]]:\n"
    assert head in text
    init.write_text(text.replace(head, BREAK))
    return problem


def test_evaluator_raising_in_the_final_report_and_in_best(ray_session, broken_beyond_train: Path,
                                                            runs_dir: Path) -> None:
    ran = runner.invoke(app, ["run", str(broken_beyond_train), "--budget", "3",
                              "--runs-dir", str(runs_dir)])
    assert ran.exit_code == 0, ran.output
    assert "evaluator_error" in ran.output and "the validation instances are broken" in ran.output
    run_id = store.run_dirs(runs_dir)[0].name
    with Session(store.open_engine(store.sqlite_url(runs_dir, run_id))) as session:
        rows = session.scalars(select(Evaluation).where(Evaluation.split == "validation")).all()
        assert {(r.baseline, r.status) for r in rows} == {(None, "evaluator_error"),
                                                          ("ZERO", "evaluator_error")}
        assert all("RuntimeError" in r.feedback for r in rows)
    best = runner.invoke(app, ["best", "--holdout", "--runs-dir", str(runs_dir)])
    assert best.exit_code == 0, best.output
    assert "evaluator_error" in best.output and "the holdout instances are broken" in best.output
