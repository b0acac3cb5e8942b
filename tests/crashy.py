"""Test helper: a copy of the crashy fixture problem, whose evaluations die on request.

Each ``kill-*`` file in the copy's control folder kills the Ray worker of one evaluation attempt.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

CRASHY = Path(__file__).resolve().parent / "fixtures" / "crashy"


def crashy_copy(tmp_path: Path, baselines: bool = True) -> tuple[Path, Path]:
    """(problem, control folder) of a fresh copy; ``baselines=False`` drops its compare_with (so
    the seed is the first evaluation)."""
    problem = tmp_path / "crashy"
    shutil.copytree(CRASHY, problem)
    control = tmp_path / "control"
    control.mkdir()
    raw = yaml.safe_load((problem / "problem.yaml").read_text())
    raw["instances"]["control_dir"] = str(control)
    if not baselines:
        raw["compare_with"] = []
    (problem / "problem.yaml").write_text(yaml.safe_dump(raw))
    return problem, control


def kill_tokens(control: Path, n: int) -> None:
    """Make the next ``n`` evaluation attempts kill their worker."""
    for i in range(n):
        (control / f"kill-{i}").touch()
