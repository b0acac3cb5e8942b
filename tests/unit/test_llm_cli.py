"""``adrs run`` with a model whose key is missing fails at once, naming the environment variable."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from adrs.cli.main import app


def test_missing_key_fails_before_anything_starts(monkeypatch, tmp_path: Path):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    runs = tmp_path / "runs"
    result = CliRunner().invoke(app, ["run", "smtt", "--model", "openai/gpt-x",
                                      "--runs-dir", str(runs)])
    assert result.exit_code == 2
    assert "OPENAI_API_KEY" in result.output and "openai/gpt-x" in result.output
    assert "starting Ray" not in result.output and not runs.exists()


def test_missing_key_of_one_ensemble_model_is_named(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    config = tmp_path / "ensemble.yaml"
    config.write_text("llm:\n  models:\n    - {model: openai/gpt-4o-mini}\n"
                      "    - {model: anthropic/claude-haiku-4-5}\n"
                      "    - {model: openai/local, api_base: 'http://127.0.0.1:9/v1'}\n")
    result = CliRunner().invoke(app, ["run", "smtt", "--config", str(config),
                                      "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 2
    assert "ANTHROPIC_API_KEY" in result.output and "claude-haiku-4-5" in result.output
