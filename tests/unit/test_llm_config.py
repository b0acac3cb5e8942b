"""The llm section: one model or an ensemble, prices, bandit, breaker, cache; old configs still load."""

from __future__ import annotations

from pathlib import Path

import pytest

from adrs.config import ConfigError, LLMConfig, ModelConfig, load_run_config

ENSEMBLE = """
llm:
  models:
    - {model: openai/gpt-4o-mini, weight: 3}
    - {model: anthropic/claude-haiku-4-5, weight: 1}
    - model: openai/qwen2.5-coder
      api_base: http://127.0.0.1:8000/v1
      input_usd_per_mtok: 0
      output_usd_per_mtok: 0
      context_tokens: 32768
  bandit: true
  breaker_failures: 2
  breaker_cooldown_s: 30
  max_wait_s: 300
  cache_dir: runs/llm-cache
prompt:
  templates: {diff: 0.5, rewrite: 0.2, crossover: 0.2, fix: 0.1}
"""


def test_ensemble_config_loads_and_round_trips(tmp_path: Path):
    path = tmp_path / "ensemble.yaml"
    path.write_text(ENSEMBLE)
    config = load_run_config(path)
    llm = config.llm
    assert [m.model for m in llm.ensemble()] == ["openai/gpt-4o-mini", "anthropic/claude-haiku-4-5",
                                                 "openai/qwen2.5-coder"]
    local = llm.ensemble()[2]
    assert local.weight == 1.0 and local.input_usd_per_mtok == 0.0 and local.context_tokens == 32768
    assert llm.bandit and llm.breaker_failures == 2 and llm.cache_dir == "runs/llm-cache"
    assert llm.label == "openai/gpt-4o-mini + anthropic/claude-haiku-4-5 + openai/qwen2.5-coder"
    assert config.prompt.templates["crossover"] == 0.2
    assert load_run_config(base=config.to_dict()) == config  # as stored with the run


def test_single_model_config_still_works_and_replaces_the_ensemble(tmp_path: Path):
    path = tmp_path / "old.yaml"
    path.write_text("llm:\n  model: openai/qwen\n  api_base: http://127.0.0.1:8000/v1\n"
                    "  concurrency: 2\n")
    llm = load_run_config(path).llm
    assert llm.ensemble() == (ModelConfig("openai/qwen", api_base="http://127.0.0.1:8000/v1"),)
    assert llm.label == "openai/qwen"
    both = tmp_path / "both.yaml"
    both.write_text(ENSEMBLE)
    overridden = load_run_config(both, {"llm": {"model": "openai/gpt-x"}}).llm  # --model wins
    assert [m.model for m in overridden.ensemble()] == ["openai/gpt-x"]
    assert LLMConfig().ensemble() == () and LLMConfig().label == "mutator"


@pytest.mark.parametrize("text, message", [
    ("llm:\n  models: openai/a\n", "models: expected a list"),
    ("llm:\n  models: [{weight: 1}]\n", "models\\[0\\]: missing required field\\(s\\) model"),
    ("llm:\n  models: [{model: openai/a, wieght: 1}]\n", "unknown field\\(s\\) wieght"),
    ("llm:\n  models: [{model: openai/a, weight: -1}]\n", "weight must be >= 0"),
    ("llm:\n  models: [{model: openai/a, weight: 0}]\n", "positive weight"),
    ("llm:\n  model: openai/a\n  input_usd_per_mtok: -2\n", "input_usd_per_mtok must be >= 0"),
    ("llm:\n  timeout_s: 0\n", "timeout_s must be positive"),
    ("llm:\n  breaker_failures: 0\n", "breaker_failures must be positive"),
    ("llm:\n  bandit: maybe\n", "bandit: expected bool"),
    ("prompt:\n  templates: {diff: -1}\n", "probability >= 0"),
    ("prompt:\n  templates: {diff: 0, fix: 0}\n", "positive probability"),
])
def test_malformed_llm_sections_name_the_field(tmp_path: Path, text: str, message: str):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_run_config(path)
