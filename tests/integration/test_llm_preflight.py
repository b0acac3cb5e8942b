"""Pre-flight through the real CLI (a fresh process, so import time counts): an unreachable or
misconfigured model is reported in words, naming the model and the URL, within 15 s, and no run
(no candidate) is created. Each test prints a MEASURE line: time until the reason, candidates."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import TOY_PROBLEM
from tests.llm_server import BlackHoleServer, FakeLLMServer, Reply, refused_url

FAKE_KEY = "sk-test-preflight-0123456789abcdef"


def adrs(runs_dir: Path, *args: str, timeout: float = 60) -> tuple[int, str, float]:
    env = {**os.environ, "OPENAI_API_KEY": FAKE_KEY, "COLUMNS": "200"}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "adrs.cli.main", *args, "--runs-dir", str(runs_dir)],
                          capture_output=True, text=True, env=env, timeout=timeout)
    return done.returncode, done.stdout + done.stderr, time.monotonic() - started


def run_toy(runs_dir: Path, tmp_path: Path, llm: str, *extra: str) -> tuple[int, str, float]:
    config = tmp_path / "llm.yaml"
    config.write_text(f"llm:\n{llm}\nevolution:\n  budget: 3\n  workers: 1\n")
    return adrs(runs_dir, "run", str(TOY_PROBLEM), "--config", str(config), *extra)


def spent(runs_dir: Path) -> int:
    """Run folders created (each would hold candidates): pre-flight failures create none."""
    return len([p for p in runs_dir.iterdir() if p.is_dir()])


# the default transport asks with the openai SDK; the same faults through litellm, too; "via
# models": the server also describes models (GET /v1/models/{name}, as OpenAI does)
@pytest.mark.parametrize("scenario, transport", [
    ("refused", "auto"), ("dns", "auto"), ("black hole", "auto"), ("401", "auto"), ("403", "auto"),
    ("404 model", "auto"), ("401", "litellm"), ("404 model", "litellm"), ("401 via models", "auto"),
    ("404 model via models", "auto")])
def test_preflight_stops_before_anything_starts(scenario: str, transport: str, runs_dir: Path,
                                                tmp_path: Path):
    expected = {"refused": "connection refused", "dns": "DNS lookup failed",
                "black hole": "accepted the connection but sent no reply within 5 s",
                "401": "API key was rejected (HTTP 401)", "403": "access denied (HTTP 403)",
                "404 model": "unknown model or wrong URL (HTTP 404)"}[scenario.removesuffix(" via models")]
    model = "openai/test-model"
    described = scenario.endswith("via models")
    with FakeLLMServer(api_key="sk-the-right-key-000000", models_route=described) as wrong_key, \
            FakeLLMServer([Reply(status=403)]) as forbidden, \
            FakeLLMServer(models=["openai/other-model", "other-model"],
                          models_route=described) as no_such_model, \
            BlackHoleServer() as hole:
        url = {"refused": refused_url(), "dns": "http://no-such-host.invalid/v1",
               "black hole": hole.url, "401": wrong_key.url, "403": forbidden.url,
               "404 model": no_such_model.url}[scenario.removesuffix(" via models")]
        code, output, seconds = run_toy(runs_dir, tmp_path, f"  model: {model}\n  api_base: {url}\n"
                                                            f"  transport: {transport}")
    print(f"\nMEASURE preflight {scenario} ({transport}): reason after {seconds:.1f} s, candidates "
          f"{spent(runs_dir)}, exit {code}")
    assert code == 2, output
    assert expected in output and model in output and url.split("//")[1].split("/")[0] in output
    assert "no candidate was spent" in output and "--no-preflight" in output
    assert "HTTP 500" not in output and FAKE_KEY not in output
    # unreachable endpoints are found before any SDK is imported; a rejected key or model needs
    # one real request (through litellm: its import takes 3 s idle, 12 s on a loaded machine)
    limit = 15 if scenario in ("refused", "dns", "black hole") else 60
    assert seconds <= limit, f"the reason took {seconds:.1f} s"
    assert spent(runs_dir) == 0
    if scenario == "404 model via models":  # the server did not know the name: the question settled it
        assert no_such_model.paths == ["/v1/models/test-model", "/v1/chat/completions"]
    if scenario == "401 via models":
        assert wrong_key.paths == ["/v1/models/test-model"]


def toy_diff(body: dict) -> Reply:
    return Reply("```\n<<<<<<< SEARCH\n    return x * 0.5\n=======\n    return x * 1.5\n"
                 ">>>>>>> REPLACE\n```\n")


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_the_preflight_asks_for_the_model_and_generates_nothing(provider: str, runs_dir: Path,
                                                                tmp_path: Path, monkeypatch):
    """A server that describes its models (OpenAI, Anthropic, Ollama) is asked for the model's
    description: the key and the name are checked, no token is generated or billed."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", FAKE_KEY)
    model, name = ("openai/test-model", "test-model") if provider == "openai" else \
        ("anthropic/claude-test", "claude-test")
    with FakeLLMServer(responder=toy_diff, models_route=True, api_key=FAKE_KEY,
                       models=[name]) as server:
        url = server.url if provider == "openai" else server.root_url
        code, output, _ = run_toy(runs_dir, tmp_path, f"  model: {model}\n  api_base: {url}")
    assert code == 0, output
    assert f"pre-flight: {model} at" in output and "knows the model" in output
    assert "nothing generated" in output
    chats = [p for p in server.paths if "/models/" not in p]
    assert server.paths[0] == f"/v1/models/{name}" and len(chats) == 3  # one per candidate
    assert all("messages" in body for body in server.requests[1:])


def test_preflight_can_be_skipped_and_a_rate_limit_only_warns(runs_dir: Path, tmp_path: Path,
                                                               ray_session, monkeypatch):
    from typer.testing import CliRunner

    from adrs.cli.main import app

    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)

    def diff(body):
        return Reply("```\n<<<<<<< SEARCH\n    return x * 0.5\n=======\n    return x * 1.5\n"
                     ">>>>>>> REPLACE\n```\n")

    config = tmp_path / "llm.yaml"
    for extra in ([], ["--no-preflight"]):
        with FakeLLMServer([Reply(status=429)] if not extra else [], responder=diff) as server:
            config.write_text(f"llm:\n  model: openai/test-model\n  api_base: {server.url}\n"
                              f"  max_retries: 0\nevolution:\n  budget: 3\n  workers: 1\n")
            result = CliRunner().invoke(app, ["run", str(TOY_PROBLEM), "--config", str(config),
                                              "--runs-dir", str(runs_dir), *extra])
            assert result.exit_code == 0, result.output
            if extra:
                assert "pre-flight" not in result.output and len(server.requests) == 3
            else:  # the server is there: a 429 is a warning; then one call per candidate
                assert "pre-flight: openai/test-model at" in result.output
                assert "rate limited (HTTP 429)" in result.output
                assert len(server.requests) == 1 + 3


@pytest.mark.parametrize("transport, imported", [("auto", False), ("litellm", True)])
def test_a_direct_campaign_from_the_cli_never_imports_litellm(runs_dir: Path, tmp_path: Path,
                                                              transport: str, imported: bool):
    """``adrs run`` with an OpenAI-compatible model: pre-flight, proposals, costs and the spend
    summary all work without litellm (its import is 3 s of the start-up), unless asked for."""
    def diff(body):
        return Reply("```\n<<<<<<< SEARCH\n    return x * 0.5\n=======\n    return x * 1.5\n"
                     ">>>>>>> REPLACE\n```\n")

    config = tmp_path / "llm.yaml"
    code = ("import sys\nfrom adrs.cli.main import app\ntry:\n    app(sys.argv[1:])\n"
            "except SystemExit as done:\n    code = done.code\n"
            "print('LITELLM', 'litellm' in sys.modules, 'EXIT', code)\n")
    with FakeLLMServer(responder=diff) as server:
        config.write_text(f"llm:\n  model: openai/gpt-4o-mini\n  api_base: {server.url}\n"
                          f"  transport: {transport}\nevolution:\n  budget: 2\n  workers: 1\n")
        env = {**os.environ, "OPENAI_API_KEY": FAKE_KEY, "COLUMNS": "200"}
        done = subprocess.run([sys.executable, "-c", code, "run", str(TOY_PROBLEM), "--config",
                               str(config), "--runs-dir", str(runs_dir)],
                              capture_output=True, text=True, env=env, timeout=120)
        assert len(server.requests) == 1 + 2  # the pre-flight, then one call per candidate
    assert f"LITELLM {imported} EXIT 0" in done.stdout, done.stdout + done.stderr
    assert "pre-flight: openai/gpt-4o-mini at" in done.stdout and "LLM spend of" in done.stdout
