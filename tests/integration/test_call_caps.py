"""Per-call caps hold at their promise: a call that never returns is stopped within its cap + 1 s
(measured from this process) and the feedback names the call and the cap: in campaign
evaluations and ``adrs check`` (both ``evaluate_program``; smtt's ``instances.max_call_s``), in
``adrs bench smtt`` (``instances.bench.max_call_s``) and in OpenEvolve-folder stages (each stage
is one call, capped by the folder's ``evaluator.timeout``)."""

from __future__ import annotations

import shutil
import time
from dataclasses import replace
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
    # the stage's sandbox stops it, or (first by a hair) the adapter's own sandbox for the program
    # call inside the stage, whose failure the OpenEvolve evaluator then reports as its error
    assert result.status in ("timeout", "error"), result.feedback
    assert "evaluate_stage1()" in result.feedback, result.feedback
    assert "Timed out after 3 s (wall-clock limit)" in result.feedback, result.feedback
    assert took <= 3 + 1 + 1.5, took  # the cap + 1 s, + the sandbox's start-up and teardown


NEVER_RETURNS = "import time\n\ndef schedule(p, d):\n    while True:\n        time.sleep(0.1)\n"
SLOW_THIRD = ("import time\nimport numpy as np\ncalls = []\n\ndef schedule(p, d):\n"
              "    calls.append(1)\n    if len(calls) == 3:\n        time.sleep(600)\n"
              "    return np.argsort(d, kind='stable')\n")


def smtt_with_caps(train_cap: float, bench_cap: float):
    spec = load_problem("smtt")
    instances = {**spec.instances, "max_call_s": train_cap,
                 "bench": {**spec.instances.get("bench", {}), "max_call_s": bench_cap}}
    return replace(spec, instances=instances)


def test_bench_quick_with_a_program_that_never_returns_ends_within_twice_the_cap() -> None:
    from adrs.bench import BenchRequest
    from adrs.resources import import_package_from_dir

    spec = smtt_with_caps(1.0, 4.0)
    module = import_package_from_dir(spec.evaluator_dir, f"adrs_evaluator_{spec.evaluator_dir.name}")
    request = BenchRequest(problem=spec, programs={"hang.py": NEVER_RETURNS}, quick=True)
    started = time.monotonic()
    summary = module.bench(request)[0]
    took = time.monotonic() - started
    assert took <= 2 * 4.0, took
    row = summary.rows[0]
    assert row[0] == "hang.py" and row[1].startswith("timeout: instance 0 (") \
        and row[1].endswith("stopped at the cap 4 s"), row


def test_a_slow_call_in_a_campaign_evaluation_is_stopped_at_the_cap() -> None:
    spec = smtt_with_caps(2.0, 60.0)
    evaluator = spec.load_evaluator()
    started = time.monotonic()
    result = evaluate_program(SLOW_THIRD, evaluator, "train", spec.limits)
    took = time.monotonic() - started
    assert result.status == "timeout", result.feedback
    assert "Call 3 of" in result.feedback and "2 s" in result.feedback, result.feedback
    assert took <= 2.0 + 1.0 + 3.0, took  # two quick calls, the cap + 1 s, start-up and teardown
