"""Per-call caps hold at their promise: a call that never returns is stopped within its cap + 1 s
(measured from this process) and the feedback names the call and the cap; in OpenEvolve-folder
stages (each stage is one call, capped by the folder's ``evaluator.timeout``)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import yaml

from adrs.evaluation import evaluate_program
from adrs.openevolve import import_openevolve
from adrs.problem import load_problem
from tests.conftest import REPO

OE_EXAMPLE = REPO / "tests" / "fixtures" / "openevolve_example"
HANG = "import time\n\ndef run_placement(k):\n    while True:\n        time.sleep(1)\n"


def test_a_hanging_openevolve_stage_is_stopped_at_its_timeout(tmp_path: Path) -> None:
    folder = tmp_path / "oe"
    shutil.copytree(OE_EXAMPLE, folder)
    config = yaml.safe_load((folder / "config.yaml").read_text())
    config["evaluator"]["timeout"] = 3
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    spec = load_problem(str(import_openevolve(folder, tmp_path / "imported").problem_dir))
    evaluator = spec.load_evaluator()
    started = time.monotonic()
    result = evaluate_program(HANG, evaluator, "train", spec.limits)
    took = time.monotonic() - started
    assert result.status == "timeout", result.feedback
    assert "evaluate_stage1()" in result.feedback and "3 s" in result.feedback, result.feedback
    assert took <= 3 + 1 + 1.5, took  # the cap + 1 s, + the sandbox's start-up and teardown
