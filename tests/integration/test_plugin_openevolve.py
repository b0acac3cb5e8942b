"""OpenEvolve compatibility: an OpenEvolve-style folder (tests/fixtures/openevolve_example, written
for these tests) is imported without editing it, evaluated in the sandbox with its cascade, and a
short campaign runs on it through ``adrs run --openevolve``."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from adrs.cli.main import app
from adrs.evaluation import evaluate_program
from adrs.openevolve import import_openevolve, is_openevolve_dir
from adrs.problem import load_problem
from tests.conftest import REPO

EXAMPLE = REPO / "tests" / "fixtures" / "openevolve_example"
GRID = ("    return np.stack([t / k, 0.5 * t / k], axis=1)",
        "    g = int(np.ceil(np.sqrt(k)))\n"
        "    return np.stack([(t % g) / (g - 1), (t // g) / (g - 1)], axis=1)")


def fingerprint(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory):
    result = import_openevolve(EXAMPLE, tmp_path_factory.mktemp("oe"))
    spec = load_problem(str(result.problem_dir))
    return result, spec, spec.load_evaluator()


def test_the_importer_maps_config_yaml_and_leaves_the_folder_alone(imported) -> None:
    before = fingerprint(EXAMPLE)
    result, spec, evaluator = imported
    assert is_openevolve_dir(EXAMPLE) and not is_openevolve_dir(result.problem_dir)
    assert (result.budget, result.seed) == (6, 5)  # max_iterations, random_seed
    assert spec.seed_program == EXAMPLE / "initial_program.py"  # used in place, not copied
    assert (spec.objective, spec.direction) == ("combined_score", "maximize")
    assert spec.limits.timeout_s == 20 and spec.entry == "run_placement"
    assert spec.description.startswith("Place k points in the unit square")
    assert evaluator.stages_run == [1, 2] and evaluator.thresholds == [0.05]
    assert fingerprint(EXAMPLE) == before


def test_cascade_metrics_artifacts_and_failures_map_to_eval_results(imported) -> None:
    _, spec, evaluator = imported
    seed = evaluate_program(spec.seed_code, evaluator, "train", spec.limits)
    assert seed.correct and seed.score == pytest.approx(seed.metrics["ratio_k12"])  # the worst ratio
    assert set(seed.metrics) == {"ratio_k4", "ratio_k8", "ratio_k12", "combined_score"}
    assert seed.artifacts["summary"].startswith("worst ratio") and "[summary]" in seed.feedback
    grid = evaluate_program(spec.seed_code.replace(*GRID), evaluator, "train", spec.limits)
    assert grid.correct and grid.score > seed.score
    collapsed = spec.seed_code.replace(GRID[0], "    return np.zeros((k, 2))")
    stopped = evaluate_program(collapsed, evaluator, "train", spec.limits)
    assert stopped.correct and stopped.score == 0.0 and set(stopped.metrics) == {"ratio_k4", "combined_score"}
    assert "Cascade stopped after evaluate_stage1()" in stopped.feedback
    outside = spec.seed_code.replace(GRID[0], "    return np.full((k, 2), 2.0)")
    error = evaluate_program(outside, evaluator, "train", spec.limits)
    assert error.status == "error" and "[0, 1]" in error.feedback


def test_without_a_cascade_evaluate_is_called(tmp_path: Path) -> None:
    folder = tmp_path / "no_cascade"
    shutil.copytree(EXAMPLE, folder)
    config = yaml.safe_load((folder / "config.yaml").read_text())
    config["evaluator"]["cascade_evaluation"] = False
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    spec = load_problem(str(import_openevolve(folder, tmp_path / "imported").problem_dir))
    evaluator = spec.load_evaluator()
    assert evaluator.stages_run == [0]
    result = evaluate_program(spec.seed_code, evaluator, "train", spec.limits)
    assert result.correct and set(result.metrics) == {"ratio_k4", "ratio_k8", "ratio_k12", "combined_score"}


@pytest.mark.usefixtures("ray_session")
def test_adrs_run_openevolve_runs_a_campaign(runs_dir: Path) -> None:
    before = fingerprint(EXAMPLE)
    runner = CliRunner()
    out = runner.invoke(app, ["run", "--openevolve", str(EXAMPLE), "--budget", "3", "--workers", "2",
                              "--runs-dir", str(runs_dir)])
    assert out.exit_code == 0, out.output
    assert "problem openevolve_example" in out.output and "budget 3" in out.output
    best = runner.invoke(app, ["best", "--runs-dir", str(runs_dir), "--json"])
    assert best.exit_code == 0, best.output
    assert fingerprint(EXAMPLE) == before
