"""SIGKILL of the driver at random moments (a short version of benchmarks/kill_trials.py, which runs
20 trials): after `adrs resume` nothing stored is lost or duplicated and the run reaches its budget."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from tests.conftest import REPO


def load_kill_trials():
    spec = importlib.util.spec_from_file_location("kill_trials", REPO / "benchmarks" / "kill_trials.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["kill_trials"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_random_sigkills_lose_no_finished_evaluation(runs_dir: Path) -> None:
    figures = load_kill_trials().kill_trials(trials=2, budget=30, runs_dir=runs_dir, seed=3)
    assert figures.problems == []
    assert figures.kills == 2
    assert figures.lost == figures.duplicates == figures.orphans == 0
    assert figures.final_programs == 31 and figures.final_status == "finished"
