"""Real (tiny) campaigns on the toy problem through litellm against local servers on 127.0.0.1 that
speak the OpenAI chat-completions and the Anthropic messages protocols, scripted per test.

Toy problem: the seed returns ``x * 0.5`` for x = 1; the error is |answer - 3|. A scripted model
reads the current program from the prompt and answers with a SEARCH/REPLACE diff that moves the
constant towards 3 (its children improve) or away from it (they do not). Every reply's step is a
little different (a fresh number per request, shared by all servers of the module), so no two
children are equal: duplicates, which are recorded without evaluation, are not what these tests
are about.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from adrs.campaign import new_campaign, resume_campaign
from adrs.cli.main import app
from adrs.config import load_run_config
from adrs.db.models import LLMCall, Program, Run
from adrs.db.reader import open_reader
from adrs.evolve import evolve
from adrs.spend import spend_summary
from tests.conftest import TOY_PROBLEM
from tests.llm_server import FakeLLMServer, Reply

pytestmark = pytest.mark.usefixtures("ray_session")
CONSTANT = re.compile(r"return x \* (-?[\d.e+-]+)")
_REQUESTS = itertools.count(1)  # numbers every scripted reply in the module: its step is its own


@pytest.fixture(autouse=True)
def keys(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-not-a-real-key")


def user_text(body: dict[str, Any]) -> str:
    """The last user message of an OpenAI or Anthropic request body."""
    content = [m for m in body["messages"] if m["role"] == "user"][-1]["content"]
    if isinstance(content, list):  # Anthropic content blocks
        content = "".join(block.get("text", "") for block in content)
    return content


def scripted(step: Callable[[float, float], float], tokens: tuple[int, int] = (11, 7),
             delay_s: float = 0.0) -> Callable:
    """A responder that changes the current program's constant c to step(c, fresh), with a fresh
    number in (0, 0.2) for each request, so that no two replies give the same program."""
    def respond(body: dict[str, Any]) -> Reply:
        found = CONSTANT.search(user_text(body))
        assert found, "no current program in the prompt"
        old = found.group(1)
        fresh = next(_REQUESTS) * 1e-4
        assert fresh < 0.2, "more requests than this module's scripted steps keep distinct"
        new = step(float(old), fresh)
        return Reply(content=f"Move the constant.\n```python\n<<<<<<< SEARCH\n    return x * {old}\n"
                             f"=======\n    return x * {new!r}\n>>>>>>> REPLACE\n```\n",
                     prompt_tokens=tokens[0], completion_tokens=tokens[1], delay_s=delay_s)
    return respond


def towards_3(c: float, fresh: float) -> float:
    """Closes 50-70 % of the gap to 3: every child improves on its parent."""
    return c + (3.0 - c) * (0.5 + fresh)


def away_from_3(c: float, fresh: float) -> float:
    """Moves down by 0.25-0.45: below 3, every child is worse than its parent."""
    return c - 0.25 - fresh


def run_campaign(runs_dir: Path, llm: dict[str, Any], budget: int, workers: int = 1,
                 **evolution: Any):
    config = load_run_config(overrides={
        "llm": llm,
        "prompt": {"templates": {"diff": 0.6, "rewrite": 0.2, "crossover": 0.2}},
        "evolution": {"budget": budget, "workers": workers, "max_time_s": 120, **evolution},
        "db": {"runs_dir": str(runs_dir)}})
    campaign = new_campaign(str(TOY_PROBLEM), config)
    reason = asyncio.run(evolve(campaign))
    return campaign, reason


def rows(campaign) -> tuple[Run, list[Program], list[LLMCall]]:
    with Session(campaign.engine) as session:
        run = session.get(Run, campaign.run_id)
        programs = list(session.scalars(select(Program).order_by(Program.seq)))
        # in the order the calls were made: by candidate (calls for one candidate in insertion
        # order); ids follow the order in which evaluations finished
        calls = list(session.scalars(select(LLMCall).order_by(LLMCall.seq, LLMCall.id)))
        session.expunge_all()
    return run, programs, calls


@pytest.mark.parametrize("transport", ["auto", "litellm"])  # the SDKs directly, or litellm
def test_openai_and_anthropic_ensemble_campaign_records_tokens_and_costs(runs_dir: Path,
                                                                         transport: str):
    with FakeLLMServer(responder=scripted(towards_3, (2000, 300))) as oa, \
            FakeLLMServer(responder=scripted(towards_3, (1000, 200))) as an:
        campaign, reason = run_campaign(runs_dir, {"models": [
            {"model": "openai/local-coder", "api_base": oa.url, "weight": 1,
             "input_usd_per_mtok": 1.0, "output_usd_per_mtok": 4.0},
            {"model": "anthropic/claude-haiku-4-5", "api_base": an.root_url, "weight": 1}],
            "concurrency": 2, "max_retries": 0, "transport": transport}, budget=8, workers=2)
        assert oa.requests and an.requests  # both protocols were spoken
        assert set(oa.paths) == {"/v1/chat/completions"} and set(an.paths) == {"/v1/messages"}
    run, programs, calls = rows(campaign)
    assert reason.startswith("candidate budget") and run.status == "finished"
    assert run.proposer == "openai/local-coder + anthropic/claude-haiku-4-5"
    assert len(programs) == 9 and len(calls) == 8
    assert all(p.status == "ok" for p in programs)  # every scripted diff applied
    assert min(p.score for p in programs) < programs[0].score
    for call in calls:
        assert call.error == "" and call.attempts == 1 and call.finish_reason == "stop"
        assert call.latency_s > 0 and call.choice.startswith("weights: drawn with p=0.50")
        assert call.kind in {"diff", "rewrite", "crossover"}
        if call.model == "openai/local-coder":  # user prices: (2000 * 1 + 300 * 4) / 1e6
            assert (call.prompt_tokens, call.completion_tokens) == (2000, 300)
            assert call.cost_usd == pytest.approx(0.0032)
        else:  # litellm's offline price table: $1 in, $5 out per million tokens
            assert (call.prompt_tokens, call.completion_tokens) == (1000, 200)
            assert call.cost_usd == pytest.approx(0.002)
    spend = sum(c.cost_usd for c in calls)
    result = CliRunner().invoke(app, ["spend", campaign.run_id, "--json", "--runs-dir", str(runs_dir)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["cost_usd"] == pytest.approx(spend) and summary["calls"] == 8
    assert summary["improvements"] >= 1
    assert summary["cost_per_improvement"] == pytest.approx(spend / summary["improvements"])
    assert {m["model"] for m in summary["models"]} == {"openai/local-coder",
                                                        "anthropic/claude-haiku-4-5"}
    listing = CliRunner().invoke(app, ["runs", "--runs-dir", str(runs_dir)])
    assert f"${spend:.2f}" in listing.output


def test_budget_usd_stops_the_campaign_cleanly(runs_dir: Path):
    # litellm prices gpt-4o-mini; 100k tokens in and 10k out cost $0.021 per call
    with FakeLLMServer(responder=scripted(towards_3, (100_000, 10_000))) as server:
        campaign, reason = run_campaign(runs_dir, {
            "model": "openai/gpt-4o-mini", "api_base": server.url, "concurrency": 1,
            "max_retries": 0}, budget=50, budget_usd=0.05)
        requests = len(server.requests)
    run, programs, calls = rows(campaign)
    assert reason.startswith("dollar budget reached") and run.status == "finished"
    assert run.stop_reason == reason
    assert len(calls) == 3 and requests == 3  # the 3rd reaches $0.05; no call leaves after it
    assert all(c.cost_usd == pytest.approx(0.021) for c in calls)
    assert len(programs) == len(calls) + 1


def test_breaker_opens_and_closes_and_the_campaign_goes_on(runs_dir: Path):
    with FakeLLMServer([Reply(status=500)] * 2, responder=scripted(towards_3)) as flaky, \
            FakeLLMServer(responder=scripted(towards_3, delay_s=0.25)) as steady:
        campaign, reason = run_campaign(runs_dir, {"models": [
            {"model": "openai/flaky", "api_base": flaky.url, "weight": 50},
            {"model": "openai/steady", "api_base": steady.url, "weight": 1}],
            "concurrency": 1, "max_retries": 1, "breaker_failures": 2,
            "breaker_cooldown_s": 1.5}, budget=10)
    run, programs, calls = rows(campaign)
    assert reason.startswith("candidate budget") and run.status == "finished"
    assert all(p.status == "ok" for p in programs)  # no candidate was lost to the outage
    assert campaign.proposer.breakers[0].events == ["open", "half-open", "closed"]
    first_flaky = next(c for c in calls if c.model == "openai/flaky")
    assert first_flaky.attempts == 2 and "HTTP 500" in first_flaky.error
    paused = [c for c in calls if "paused: openai/flaky" in c.choice]
    assert paused and all(c.model == "openai/steady" for c in paused)
    recovered = [c for c in calls if c.model == "openai/flaky" and not c.error]
    assert recovered and recovered[0].seq > paused[-1].seq  # back after the cool-down


def test_bandit_moves_calls_to_the_model_whose_children_improve(runs_dir: Path):
    with FakeLLMServer(responder=scripted(away_from_3)) as worse, \
            FakeLLMServer(responder=scripted(towards_3)) as better:
        campaign, reason = run_campaign(runs_dir, {"models": [
            # the weights favour the model whose children get worse; the bandit ignores them
            {"model": "openai/worse", "api_base": worse.url, "weight": 3,
             "input_usd_per_mtok": 1.0, "output_usd_per_mtok": 1.0},
            {"model": "openai/better", "api_base": better.url, "weight": 1,
             "input_usd_per_mtok": 1.0, "output_usd_per_mtok": 1.0}],
            "bandit": True, "concurrency": 1, "max_retries": 0}, budget=14)
    run, programs, calls = rows(campaign)
    assert run.status == "finished" and len(calls) == 14
    assert all(c.choice.startswith("bandit:") for c in calls)
    late = [c.model for c in calls[6:]]
    assert late.count("openai/better") >= 3 * late.count("openai/worse")
    shares = campaign.proposer.ensemble.shares()
    assert shares[1] > 0.7
    with open_reader(campaign.engine.url.render_as_string(hide_password=False)) as reader:
        summary = spend_summary(reader, campaign.run_id, "minimize")
    by_model = {m.model: m for m in summary.models}
    assert by_model["openai/worse"].improved == 0
    assert by_model["openai/better"].improved == by_model["openai/better"].children >= 10
    # a resumed run's bandit starts from what the stored calls taught it
    resumed = resume_campaign(campaign.run_id, runs_dir, None, budget=14)
    asyncio.run(evolve(resumed))  # the budget is already reached: no new call
    arms = resumed.proposer.ensemble.arms
    assert (arms[0].started, arms[0].outcomes, arms[0].improved) == \
        (by_model["openai/worse"].calls, by_model["openai/worse"].children, 0)
    assert arms[1].improved == by_model["openai/better"].improved


def test_rate_limits_timeouts_and_bad_replies_become_recorded_outcomes(runs_dir: Path):
    good = scripted(towards_3)
    script = [
        Reply(status=429, headers=(("Retry-After", "1"),)), good,  # 1: rate limited, then a diff
        Reply(delay_s=30), Reply(content="```python\n<<<<<<< SEARCH\n", finish_reason="length"),
        Reply(status=500), Reply(content=None),                      # 3: a 500, then empty content
        Reply(content="The program is fine as it is; I would not change anything."),  # 4: prose
    ]
    replies = []

    def respond(body: dict[str, Any]) -> Reply:
        item = script[len(replies)]
        replies.append(item)
        return item(body) if callable(item) else item

    with FakeLLMServer(responder=respond) as server:
        campaign, reason = run_campaign(runs_dir, {
            "model": "openai/test-model", "api_base": server.url, "concurrency": 1,
            "max_retries": 1, "timeout_s": 0.5, "breaker_failures": 5}, budget=4)
        assert len(server.requests) == 7
    run, programs, calls = rows(campaign)
    assert run.status == "finished"
    statuses = [p.status for p in programs[1:]]
    assert statuses == ["ok", "patch_error", "patch_error", "patch_error"]
    feedback = [p.feedback for p in programs[2:]]
    assert "cut off" in feedback[0] and "finish_reason=length" in feedback[0]
    assert "empty" in feedback[1]
    assert "no SEARCH/REPLACE blocks" in feedback[2]
    assert [c.attempts for c in calls] == [2, 2, 2, 1]
    assert calls[0].latency_s >= 0.95  # waited for Retry-After
    assert [c.finish_reason for c in calls] == ["stop", "length", "stop", "stop"]


def test_seed_too_long_for_the_context_window_is_a_clear_error(runs_dir: Path):
    from adrs.errors import CampaignError

    with FakeLLMServer(responder=scripted(towards_3)) as server:
        with pytest.raises(CampaignError, match="seed program is too long.*never cut") as info:
            run_campaign(runs_dir, {"model": "openai/tiny-window", "api_base": server.url,
                                    "context_tokens": 600, "max_tokens": 200}, budget=3)
        assert server.requests == []  # nothing was sent
    assert "openai/tiny-window accepts 400" in str(info.value)


def test_adrs_run_with_a_local_server_config_prints_the_spend(runs_dir: Path, tmp_path: Path):
    with FakeLLMServer(responder=scripted(towards_3, (1_000_000, 0))) as server:
        config = tmp_path / "local.yaml"
        config.write_text(f"llm:\n  model: openai/local-coder\n  api_base: {server.url}\n"
                          f"  input_usd_per_mtok: 0.5\n  output_usd_per_mtok: 0\n"
                          f"evolution:\n  budget: 3\n  workers: 1\n")
        result = CliRunner().invoke(app, ["run", str(TOY_PROBLEM), "--config", str(config),
                                          "--runs-dir", str(runs_dir)])
    assert result.exit_code == 0, result.output
    assert "proposer openai/local-coder" in result.output
    assert "LLM spend of" in result.output and "spend $1.5000 on 3 calls" in result.output
    assert "cost per improvement $" in result.output
