"""Run config and problem.yaml validation: defaults, overrides, and errors that name the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from adrs.config import ConfigError, RunConfig, load_run_config
from adrs.problem import load_problem, parse_problem


def test_defaults_overrides_and_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text("evolution:\n  budget: 50\n  islands: 2\nllm:\n  temperature: 1\n")
    config = load_run_config(path, {"evolution": {"budget": 70, "seed": None}})
    assert config.evolution.budget == 70 and config.evolution.islands == 2
    assert config.llm.temperature == 1.0 and config.evolution.seed == 0
    assert load_run_config(base=config.to_dict()) == config
    assert load_run_config() == RunConfig()


@pytest.mark.parametrize("text, message", [
    ("evolution:\n  budgte: 3\n", "evolution: unknown field(s) budgte"),
    ("evolution:\n  budget: lots\n", "evolution: budget: expected int"),
    ("llm: 3\n", "llm: expected a mapping"),
    ("- a\n- b\n", "expected a mapping of sections"),
    ("evolution: [\n", "cannot read config"),
])
def test_malformed_run_config_names_the_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_run_config(path)


def test_builtin_smtt_problem_loads() -> None:
    spec = load_problem("smtt")
    assert spec.entry == "schedule" and spec.direction == "minimize"
    assert {"EDD", "SPT", "MDD"} <= set(spec.baselines)
    assert "# EVOLVE-BLOCK-START" in spec.seed_code


def test_malformed_problem_yaml_names_the_field(tmp_path: Path) -> None:
    (tmp_path / "seed.py").write_text("# EVOLVE-BLOCK-START\nx = 1\n# EVOLVE-BLOCK-END\n")
    base = ("name: t\ndescription: d\nsignature: s\nentry: f\nevaluator: e\nseed_program: seed.py\n"
            "instances: {}\n")
    (tmp_path / "problem.yaml").write_text(base + "objective: {metric: m, direction: down}\n")
    with pytest.raises(ConfigError, match="objective.direction"):
        parse_problem(tmp_path)
    (tmp_path / "problem.yaml").write_text(base.replace("entry: f\n", "") +
                                           "objective: {metric: m, direction: minimize}\n")
    with pytest.raises(ConfigError, match="missing required field 'entry'"):
        parse_problem(tmp_path)
    with pytest.raises(ConfigError, match="unknown problem"):
        load_problem("definitely-not-a-problem")


def test_bad_mutator_vocabulary_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "seed.py").write_text("# EVOLVE-BLOCK-START\nx = 1\n# EVOLVE-BLOCK-END\n")
    (tmp_path / "problem.yaml").write_text(
        "name: t\ndescription: d\nsignature: s\nentry: f\nevaluator: e\nseed_program: seed.py\n"
        "instances: {}\nobjective: {metric: m, direction: minimize}\nmutator: {operators: ['@@']}\n")
    with pytest.raises(ConfigError, match="mutator: .*unknown operators"):
        parse_problem(tmp_path)
