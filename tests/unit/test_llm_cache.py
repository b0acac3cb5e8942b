"""adrs.proposer.cache and replay through the LLM proposer: a cached reply needs no server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from adrs.config import LLMConfig
from adrs.program import ProgramView
from adrs.prompt import Prompt
from adrs.proposer.cache import CachedReply, ResponseCache, cache_key
from adrs.proposer.llm import LLMProposer
from tests.llm_server import FakeLLMServer, Reply

MESSAGES = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
PARAMS = {"temperature": 0.7, "max_tokens": 100, "seed": 1}


def test_key_depends_on_model_messages_and_params():
    key = cache_key("openai/a", MESSAGES, PARAMS)
    assert key == cache_key("openai/a", [dict(m) for m in MESSAGES], dict(reversed(PARAMS.items())))
    assert key != cache_key("openai/b", MESSAGES, PARAMS)
    assert key != cache_key("openai/a", MESSAGES[:1], PARAMS)
    assert key != cache_key("openai/a", MESSAGES, {**PARAMS, "seed": 2})
    assert key != cache_key("openai/a", MESSAGES, {**PARAMS, "temperature": 0.0})


def test_round_trip_and_corrupt_entries_are_misses(tmp_path: Path):
    cache = ResponseCache(tmp_path)
    key = cache_key("openai/a", MESSAGES, PARAMS)
    assert cache.get(key) is None
    reply = CachedReply("text", "stop", 3, 4)
    cache.put(key, reply)
    assert cache.get(key) == reply
    path = next(tmp_path.rglob("*.json"))
    path.write_text("{not json")
    assert cache.get(key) is None
    assert not list(tmp_path.rglob("*.tmp"))


@pytest.fixture(autouse=True)
def offline_env(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "dummy-test-key")


def prompt(seed: int) -> Prompt:
    parent = ProgramView(id=1, code="x = 1\n", status="ok", score=1.0)
    return Prompt("diff", parent, (), messages=tuple(MESSAGES), seed=seed)


def test_replay_from_the_cache_makes_no_request(tmp_path: Path):
    with FakeLLMServer([Reply("first"), Reply("second")]) as server:
        config = LLMConfig(model="openai/test-model", api_base=server.url, cache_dir=str(tmp_path),
                           max_retries=0)
        live = asyncio.run(LLMProposer(config).propose(prompt(1)))
        other_seed = asyncio.run(LLMProposer(config).propose(prompt(2)))
        assert len(server.requests) == 2
    assert (live.text, other_seed.text) == ("first", "second")
    assert not live.usage.cached and live.usage.attempts == 1
    with FakeLLMServer([]) as server:  # answers 500 to anything: replay must not ask
        config = LLMConfig(model="openai/test-model", api_base=server.url, cache_dir=str(tmp_path),
                           max_retries=0)
        replayed = asyncio.run(LLMProposer(config).propose(prompt(1)))
        assert server.requests == []
    assert replayed.text == "first" and replayed.usage.cached and replayed.usage.attempts == 0
    assert replayed.usage.cost_usd == 0.0 and replayed.usage.prompt_tokens == 11
    assert "replayed from the response cache" in replayed.usage.choice


def test_failed_calls_are_not_cached(tmp_path: Path):
    with FakeLLMServer([Reply(status=400), Reply("later")]) as server:
        config = LLMConfig(model="openai/test-model", api_base=server.url, cache_dir=str(tmp_path),
                           max_retries=0)
        proposer = LLMProposer(config)
        with pytest.raises(Exception, match="400"):
            asyncio.run(proposer.propose(prompt(1)))
        assert asyncio.run(proposer.propose(prompt(1))).text == "later"
        assert len(server.requests) == 2
