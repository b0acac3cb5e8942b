"""adrs.proposer.llm against a local fake OpenAI-compatible server (tests/llm_server.py).

No real API is called: every request goes to 127.0.0.1 with a dummy key. The tests that take the
``transport`` fixture run twice: through the default transport (the openai / anthropic SDK
directly) and through litellm (``llm.transport: litellm``), so both paths stay covered.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from typing import Any

import pytest

from adrs.config import ConfigError, LLMConfig
from adrs.program import ProgramView
from adrs.prompt import Prompt
from adrs.proposer import ProposalError
from adrs.proposer.llm import (
    KEYLESS_PLACEHOLDER,
    LLMProposer,
    check_llm_environment,
    is_retryable,
    retry_after_s,
)
from tests.llm_server import FakeLLMServer, Reply

MODEL = "openai/test-model"
PARENT = ProgramView(id=1, code="def f():\n    return 1\n", status="ok", score=1.0)


@pytest.fixture(autouse=True)
def offline_env(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "dummy-test-key")
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                 "all_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(params=["auto", "litellm"])
def transport(request) -> str:
    return request.param


def sent_key(headers: dict[str, str]) -> str:
    """The key a request carried (litellm sends Anthropic's as x-api-key, its SDK as a bearer)."""
    return headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ")


def make_prompt(template: str = "diff") -> Prompt:
    return Prompt(template=template, parent=PARENT, inspirations=(),
                  messages=({"role": "system", "content": "You write code."},
                            {"role": "user", "content": "Improve f."}))


def make_proposer(server: FakeLLMServer, **overrides) -> LLMProposer:
    values = {"model": MODEL, "api_base": server.url, "timeout_s": 5.0, "max_retries": 3,
              "concurrency": 4, "temperature": 0.3, "max_tokens": 256}
    return LLMProposer(LLMConfig(**{**values, **overrides}), backoff_s=0.01)


def test_returns_reply_text_and_usage(transport):
    with FakeLLMServer([Reply(content="<<<<<<< SEARCH\nx", prompt_tokens=120,
                              completion_tokens=30)]) as server:
        proposal = asyncio.run(make_proposer(server, transport=transport).propose(make_prompt()))
    assert proposal.text == "<<<<<<< SEARCH\nx"
    assert (proposal.kind, proposal.proposer, proposal.model) == ("diff", "llm", MODEL)
    assert proposal.note == ""
    usage = proposal.usage
    assert (usage.model, usage.prompt_tokens, usage.completion_tokens) == (MODEL, 120, 30)
    assert usage.cost_usd == 0.0 and usage.latency_s > 0 and usage.error == ""
    [body] = server.requests
    assert body["model"] == "test-model" and body["max_tokens"] == 256
    assert body["temperature"] == 0.3
    assert body["messages"] == [{"role": "system", "content": "You write code."},
                                {"role": "user", "content": "Improve f."}]
    assert server.paths == ["/v1/chat/completions"]
    assert server.headers[0]["authorization"] == "Bearer dummy-test-key"


def test_cost_comes_from_litellm_prices_for_known_models(transport):
    with FakeLLMServer([Reply(prompt_tokens=1000, completion_tokens=1000)]) as server:
        proposer = make_proposer(server, transport=transport, model="openai/gpt-4o-mini")
        usage = asyncio.run(proposer.propose(make_prompt())).usage
    assert 0 < usage.cost_usd < 0.01


@pytest.mark.parametrize("template, kind", [("diff", "diff"), ("fix", "diff"),
                                            ("rewrite", "rewrite")])
def test_kind_follows_template(template, kind):
    with FakeLLMServer([Reply()]) as server:
        assert asyncio.run(make_proposer(server).propose(make_prompt(template))).kind == kind


def test_truncated_reply_is_returned_with_a_note(transport):
    with FakeLLMServer([Reply(content="<<<<<<< SEARCH\nabc", finish_reason="length")]) as server:
        proposal = asyncio.run(make_proposer(server, transport=transport).propose(make_prompt()))
    assert proposal.text == "<<<<<<< SEARCH\nabc"
    assert "max_tokens=256" in proposal.note and "length" in proposal.note


def test_retries_after_500_and_429_then_succeeds(transport):
    with FakeLLMServer([Reply(status=500), Reply(status=429), Reply(content="done")]) as server:
        proposal = asyncio.run(make_proposer(server, transport=transport).propose(make_prompt()))
    assert proposal.text == "done"
    assert len(server.requests) == 3


def test_gives_up_after_max_retries(transport):
    with FakeLLMServer([Reply(status=503)] * 3 + [Reply(content="too late")]) as server:
        with pytest.raises(ProposalError) as info:
            asyncio.run(make_proposer(server, transport=transport, max_retries=2).propose(make_prompt()))
        assert len(server.requests) == 3
    err = info.value
    assert "after 3 attempts" in str(err) and "503" in str(err)
    assert err.usage is not None and err.usage.model == MODEL and err.usage.error == str(err)


def test_client_errors_are_not_retried(transport):
    with FakeLLMServer([Reply(status=400), Reply(content="never")]) as server:
        with pytest.raises(ProposalError, match="400"):
            asyncio.run(make_proposer(server, transport=transport).propose(make_prompt()))
        assert len(server.requests) == 1


def test_hanging_server_times_out_in_bounded_time(transport):
    with FakeLLMServer([Reply(delay_s=30)] * 2) as server:
        started = time.perf_counter()
        with pytest.raises(ProposalError, match="(?i)time"):
            asyncio.run(make_proposer(server, transport=transport, timeout_s=0.5,
                                      max_retries=1).propose(make_prompt()))
        elapsed = time.perf_counter() - started
        assert len(server.requests) == 2
    assert elapsed < 5


def test_concurrency_limit_is_respected(transport):
    async def many(proposer: LLMProposer) -> list[str]:
        proposals = await asyncio.gather(*(proposer.propose(make_prompt()) for _ in range(6)))
        return [p.text for p in proposals]

    with FakeLLMServer([Reply(content=str(i), delay_s=0.3) for i in range(6)]) as server:
        texts = asyncio.run(many(make_proposer(server, transport=transport, concurrency=2)))
    assert sorted(texts) == [str(i) for i in range(6)]
    assert server.max_in_flight == 2


def test_proposer_works_across_event_loops(transport):
    with FakeLLMServer([Reply(content="a"), Reply(content="b")]) as server:
        proposer = make_proposer(server, transport=transport, concurrency=1)
        assert asyncio.run(proposer.propose(make_prompt())).text == "a"
        assert asyncio.run(proposer.propose(make_prompt())).text == "b"


@pytest.mark.parametrize("model", [MODEL, "hosted_vllm/test-model"])
def test_keyless_server_gets_a_placeholder_key(monkeypatch, transport, model):
    monkeypatch.delenv("OPENAI_API_KEY")
    with FakeLLMServer([Reply(content="hi")]) as server:
        proposer = make_proposer(server, transport=transport, model=model)
        assert asyncio.run(proposer.propose(make_prompt())).text == "hi"
    if model == MODEL:  # litellm sends a key of its own to hosted_vllm servers
        assert server.headers[0]["authorization"] == f"Bearer {KEYLESS_PLACEHOLDER}"
    assert server.requests[0]["model"] == "test-model"


def test_a_vllm_server_never_gets_the_openai_key(transport):
    with FakeLLMServer([Reply(content="hi")]) as server:
        proposer = make_proposer(server, transport=transport, model="hosted_vllm/test-model")
        assert asyncio.run(proposer.propose(make_prompt())).text == "hi"
    assert "dummy-test-key" not in str(server.headers[0])


def test_missing_key_is_a_config_error_naming_the_variable(monkeypatch, transport):
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(ConfigError, match="OPENAI_API_KEY") as info:
        check_llm_environment(LLMConfig(model=MODEL, transport=transport))
    assert "offline mutator" in str(info.value) and "without --model" in str(info.value)
    check_llm_environment(LLMConfig(model=MODEL, api_base="http://127.0.0.1:9/v1",
                                    transport=transport))  # skipped
    check_llm_environment(LLMConfig(model=None))  # nothing to check


def test_missing_key_of_another_provider(monkeypatch, transport):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY"):
        check_llm_environment(LLMConfig(model="anthropic/claude-3-5-haiku-latest",
                                        transport=transport))
    monkeypatch.setenv("ANTHROPIC_API_KEY", "dummy-anthropic-key")
    check_llm_environment(LLMConfig(model="anthropic/claude-3-5-haiku-latest", transport=transport))


def test_key_present_and_unknown_provider(transport):
    check_llm_environment(LLMConfig(model=MODEL, transport=transport))
    with pytest.raises(ConfigError, match="provider"):
        check_llm_environment(LLMConfig(model="no-such-provider-model", transport=transport))


def test_no_model_is_a_config_error():
    with pytest.raises(ConfigError, match="offline mutator"):
        LLMProposer(LLMConfig(model=None))


def test_error_classification():
    class Status(Exception):
        def __init__(self, status_code: int) -> None:
            self.status_code = status_code

    assert is_retryable(TimeoutError()) and is_retryable(ConnectionResetError())
    assert all(is_retryable(Status(code)) for code in (408, 429, 500, 502, 503, 529))
    assert not any(is_retryable(Status(code)) for code in (400, 401, 403, 404, 422))
    assert not is_retryable(ValueError("a bug"))

    class Limited(Exception):
        response = type("Response", (), {"headers": {"retry-after": "7"}})()

    assert retry_after_s(Limited()) == 7.0 and retry_after_s(ValueError()) is None


def test_importing_the_module_does_not_import_litellm():
    code = "import sys, adrs.proposer.llm; sys.exit('litellm' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


# --------------------------------------------------------------------- protocols, ensembles, limits

# the SDK also takes a base ending in /v1 (litellm would post to /v1/v1/messages)
@pytest.mark.parametrize("transport, base", [("auto", "root"), ("auto", "v1"), ("litellm", "root")])
def test_anthropic_messages_protocol(monkeypatch, transport, base):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "dummy-anthropic-key")
    with FakeLLMServer([Reply(content="claude says", prompt_tokens=1000,
                              completion_tokens=200)]) as server:
        config = LLMConfig(model="anthropic/claude-haiku-4-5", max_retries=0, max_tokens=300,
                           api_base=server.root_url if base == "root" else server.url,
                           temperature=0.4, transport=transport)
        proposer = LLMProposer(config)
        proposal = asyncio.run(proposer.propose(make_prompt()))
    assert proposer.transports[0].kind == ("anthropic" if transport == "auto" else "litellm")
    assert server.paths == ["/v1/messages"]
    body = server.requests[0]
    assert body["system"][0]["text"] == "You write code." and body["max_tokens"] == 300
    [message] = body["messages"]  # litellm sends the content as text blocks, the SDK as it is
    content = message["content"]
    if isinstance(content, list):
        content = "".join(block["text"] for block in content)
    assert (message["role"], content) == ("user", "Improve f.")
    assert body["model"] == "claude-haiku-4-5" and body["temperature"] == 0.4
    assert sent_key(server.headers[0]) == "dummy-anthropic-key"
    assert proposal.text == "claude says" and proposal.usage.prompt_tokens == 1000
    assert proposal.usage.completion_tokens == 200 and proposal.usage.finish_reason == "stop"
    assert proposal.usage.cost_usd == pytest.approx(1000 * 1e-6 + 200 * 5e-6)  # litellm's table


def test_anthropic_faults_are_classified_and_retried(monkeypatch, transport):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "dummy-anthropic-key")
    with FakeLLMServer([Reply(status=529, message="Overloaded"),
                        Reply(status=429, headers=(("retry-after", "1"),)),
                        Reply(content="finally")]) as server:
        config = LLMConfig(model="anthropic/claude-haiku-4-5", api_base=server.root_url,
                           max_retries=2, transport=transport)
        started = time.perf_counter()
        proposal = asyncio.run(LLMProposer(config, backoff_s=0.01).propose(make_prompt()))
        assert time.perf_counter() - started >= 0.95  # Retry-After: 1
    assert proposal.text == "finally" and proposal.usage.attempts == 3
    with FakeLLMServer(api_key="the-right-key") as server:
        config = LLMConfig(model="anthropic/claude-haiku-4-5", api_base=server.root_url,
                           max_retries=3, transport=transport)
        with pytest.raises(ProposalError, match=r"API key was rejected \(HTTP 401\)") as info:
            asyncio.run(LLMProposer(config, backoff_s=0.01).propose(make_prompt()))
        assert len(server.requests) == 1 and "dummy-anthropic-key" not in str(info.value)


@pytest.mark.parametrize("path_kind", ["openai", "anthropic"])
def test_empty_and_truncated_replies_are_returned_for_the_patch_step(path_kind, monkeypatch,
                                                                      transport):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "dummy-anthropic-key")
    with FakeLLMServer([Reply(content=None), Reply(content="<<<", finish_reason="length")]) as server:
        model, base = (MODEL, server.url) if path_kind == "openai" else \
            ("anthropic/claude-haiku-4-5", server.root_url)
        proposer = LLMProposer(LLMConfig(model=model, api_base=base, max_retries=0,
                                         transport=transport))
        empty = asyncio.run(proposer.propose(make_prompt()))
        cut = asyncio.run(proposer.propose(make_prompt()))
    assert empty.text == "" and not empty.truncated
    assert cut.truncated and cut.usage.finish_reason == "length"


def test_retry_after_header_is_honoured(transport):
    with FakeLLMServer([Reply(status=429, headers=(("Retry-After", "1"),)),
                        Reply(content="ok now")]) as server:
        started = time.perf_counter()
        proposal = asyncio.run(make_proposer(server, transport=transport).propose(make_prompt()))
        elapsed = time.perf_counter() - started
    assert proposal.text == "ok now" and proposal.usage.attempts == 2
    assert elapsed >= 0.95  # the backoff alone would be ~0.01 s


def ensemble_proposer(bad: FakeLLMServer, good: FakeLLMServer, **overrides: Any) -> LLMProposer:
    from adrs.config import ModelConfig

    values = {"models": (ModelConfig("openai/flaky", weight=100.0, api_base=bad.url),
                         ModelConfig("openai/steady", weight=1.0, api_base=good.url)),
              "max_retries": 1, "breaker_failures": 2, "breaker_cooldown_s": 0.4,
              "timeout_s": 5.0}
    return LLMProposer(LLMConfig(**{**values, **overrides}), backoff_s=0.01)


def test_breaker_pauses_a_failing_model_and_the_others_answer_then_it_recovers(transport):
    with FakeLLMServer([Reply(status=500)] * 2 + [Reply(content="flaky is back")]) as bad, \
            FakeLLMServer([Reply(content=f"steady {i}") for i in range(3)]) as good:
        proposer = ensemble_proposer(bad, good, transport=transport)
        first = asyncio.run(proposer.propose(make_prompt()))
        # two failed attempts opened flaky's breaker; the same proposal moved on to steady
        assert first.text == "steady 0" and [u.model for u in first.calls] == ["openai/flaky",
                                                                            "openai/steady"]
        assert "after 2 attempts" in first.calls[0].error and "paused" in first.calls[0].error
        assert "after failures of openai/flaky" in first.calls[1].choice
        second = asyncio.run(proposer.propose(make_prompt()))
        assert second.text == "steady 1" and "paused: openai/flaky" in second.usage.choice
        assert len(bad.requests) == 2  # a paused model gets no request
        time.sleep(0.45)  # the cool-down passes: one trial call, it succeeds, the circuit closes
        third = asyncio.run(proposer.propose(make_prompt()))
        assert third.text == "flaky is back"
    assert proposer.breakers[0].events == ["open", "half-open", "closed"]


def test_all_models_paused_fails_within_max_wait():
    with FakeLLMServer([Reply(status=503)] * 4) as bad, FakeLLMServer([Reply(status=503)] * 4) as good:
        proposer = ensemble_proposer(bad, good, breaker_cooldown_s=60.0, max_wait_s=1.0)
        with pytest.raises(ProposalError, match="no model could answer"):
            asyncio.run(proposer.propose(make_prompt()))
        started = time.perf_counter()
        with pytest.raises(ProposalError, match="no model available within llm.max_wait_s=1") as info:
            asyncio.run(proposer.propose(make_prompt()))
        assert time.perf_counter() - started < 5  # the 60 s pause outlasts max_wait_s: give up at once
        assert len(bad.requests) == len(good.requests) == 2
    assert "circuit open" in str(info.value)


def test_max_wait_caps_a_stalled_provider(transport):
    with FakeLLMServer([Reply(delay_s=30)] * 5) as server:
        started = time.perf_counter()
        with pytest.raises(ProposalError, match="max_wait_s|time") as info:
            asyncio.run(make_proposer(server, transport=transport, timeout_s=20.0, max_retries=5,
                                      max_wait_s=0.8).propose(make_prompt()))
        elapsed = time.perf_counter() - started
    assert elapsed < 3 and info.value.usage.error


def test_crossover_and_rewrite_replies_are_read_as_programs():
    with FakeLLMServer([Reply(), Reply()]) as server:
        proposer = make_proposer(server)
        assert asyncio.run(proposer.propose(make_prompt("crossover"))).kind == "rewrite"
        assert asyncio.run(proposer.propose(make_prompt("fix"))).kind == "diff"


# --------------------------------------------------------------------------------- transports

@pytest.mark.parametrize("scenario, words", [
    ("refused", "connection refused"), ("401", "API key was rejected (HTTP 401)"),
    ("404", "unknown model or wrong URL (HTTP 404)"), ("500", "server error (HTTP 500): boom"),
    ("dns", "DNS lookup failed")])
def test_faults_are_described_in_words_by_both_transports(transport, scenario, words):
    from tests.llm_server import refused_url

    with FakeLLMServer(api_key="sk-the-right-key") as wrong_key, \
            FakeLLMServer(models=["other-model"]) as no_model, \
            FakeLLMServer([Reply(status=500, message="boom")]) as broken:
        url = {"refused": refused_url(), "401": wrong_key.url, "404": no_model.url,
               "500": broken.url, "dns": "http://no-such-host.invalid/v1"}[scenario]
        config = LLMConfig(model=MODEL, api_base=url, max_retries=0, timeout_s=10,
                           transport=transport)
        with pytest.raises(ProposalError) as info:
            asyncio.run(LLMProposer(config).propose(make_prompt()))
    assert words in str(info.value) and "dummy-test-key" not in str(info.value)


def test_transport_choice_per_provider():
    from adrs.config import ModelConfig
    from adrs.proposer.transport import route

    local = "http://127.0.0.1:8000/v1"
    cases = {("openai/gpt-4o-mini", None): "openai", ("gpt-4o-mini", None): "openai",
             ("openai/qwen", local): "openai", ("hosted_vllm/qwen", local): "openai",
             ("anthropic/claude-haiku-4-5", None): "anthropic",
             ("claude-haiku-4-5", None): "anthropic",
             ("gemini/gemini-2.0-flash", None): "litellm", ("ollama/qwen", local): "litellm",
             ("hosted_vllm/qwen", None): "litellm", ("bedrock/anthropic.claude", None): "litellm"}
    for (model, base), kind in cases.items():
        assert route(ModelConfig(model, api_base=base)) == kind, model
        assert route(ModelConfig(model, api_base=base), "litellm") == "litellm"
    with pytest.raises(ConfigError, match="no direct transport for 'gemini/gemini-2.0-flash'"):
        LLMProposer(LLMConfig(model="gemini/gemini-2.0-flash", transport="direct"))
    with pytest.raises(ConfigError, match="transport must be one of auto, direct, litellm"):
        LLMConfig(model=MODEL, transport="grpc")


def test_a_direct_campaign_never_imports_litellm():
    code = """
import asyncio, os, sys
os.environ["OPENAI_API_KEY"] = "dummy-test-key"
from adrs.config import LLMConfig
from adrs.proposer.llm import LLMProposer, check_llm_environment
from tests.llm_server import FakeLLMServer, Reply
from tests.unit.test_llm_proposer import make_prompt
with FakeLLMServer([Reply(content="a", prompt_tokens=10**5, completion_tokens=10**4)]) as server:
    config = LLMConfig(model="openai/gpt-4o-mini", api_base=server.url)
    check_llm_environment(config)
    proposal = asyncio.run(LLMProposer(config).propose(make_prompt()))
assert proposal.text == "a" and abs(proposal.usage.cost_usd - 0.021) < 1e-9, proposal
sys.exit('litellm' in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", code], timeout=60, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_one_sdk_client_per_event_loop_and_server():
    from adrs.proposer import transport as transport_module

    with FakeLLMServer([Reply(content=str(i)) for i in range(4)]) as server:
        proposer = make_proposer(server)

        async def twice() -> int:
            await proposer.propose(make_prompt())
            await proposer.propose(make_prompt())
            return len(transport_module._clients[asyncio.get_running_loop()])

        assert asyncio.run(twice()) == 1
        assert asyncio.run(twice()) == 1  # a new loop gets its own client


@pytest.mark.parametrize("protocol", ["openai", "anthropic"])
def test_an_error_body_that_echoes_the_key_is_redacted(monkeypatch, transport, protocol):
    key = "sk-live-0123456789abcdefXYZ"  # as OpenAI's 401 quotes the key it was given
    monkeypatch.setenv("OPENAI_API_KEY", key)
    monkeypatch.setenv("ANTHROPIC_API_KEY", key)
    echo = Reply(status=401, message=f"Incorrect API key provided: {key}. Find yours at ...")
    with FakeLLMServer([echo]) as server:
        model, base = (MODEL, server.url) if protocol == "openai" else \
            ("anthropic/claude-haiku-4-5", server.root_url)
        proposer = LLMProposer(LLMConfig(model=model, api_base=base, transport=transport))
        with pytest.raises(ProposalError) as info:
            asyncio.run(proposer.propose(make_prompt()))
        assert sent_key(server.headers[0]) == key
    words = str(info.value) + proposer.health.last_error + info.value.usage.error
    assert "HTTP 401" in words and "Incorrect API key provided" in words and key not in words
