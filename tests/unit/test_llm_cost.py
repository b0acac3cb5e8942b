"""adrs.proposer.cost: user prices for local models, litellm's bundled price table otherwise (read
without importing litellm, and agreeing with litellm's own arithmetic)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from adrs.config import ModelConfig
from adrs.proposer import model_table
from adrs.proposer.cost import call_cost, is_priced
from adrs.proposer.llm import load_litellm
from adrs.proposer.model_table import context_window, model_info, provider_of


@pytest.fixture(scope="module")
def litellm():
    return load_litellm()


def test_user_prices_per_million_tokens():
    local = ModelConfig("openai/qwen2.5-coder", api_base="http://127.0.0.1:8000/v1",
                        input_usd_per_mtok=0.5, output_usd_per_mtok=2.0)
    assert call_cost(local, 2_000_000, 1_000_000) == pytest.approx(3.0)
    free = ModelConfig("openai/gpt-4o-mini", input_usd_per_mtok=0.0, output_usd_per_mtok=0.0)
    assert call_cost(free, 10**6, 10**6) == 0.0  # user prices win over the table
    assert call_cost(free, 10**6, 10**6, reported=1.0) == 0.0  # ... and over litellm's figure
    assert is_priced(local) and is_priced(free)


@pytest.mark.parametrize("model", ["openai/gpt-4o-mini", "gpt-4o-mini", "anthropic/claude-haiku-4-5",
                                   "openai/gpt-5", "openai/o3-mini"])
def test_table_prices_agree_with_litellm(litellm, model):
    for prompt_tokens, completion_tokens in ((1000, 500), (0, 1000), (300_000, 2000)):
        expected = sum(litellm.cost_per_token(model=model, prompt_tokens=prompt_tokens,
                                              completion_tokens=completion_tokens))
        assert call_cost(ModelConfig(model), prompt_tokens, completion_tokens) == \
            pytest.approx(expected, rel=1e-9)
    assert is_priced(ModelConfig(model)) and call_cost(ModelConfig(model), 1000, 1000) > 0
    assert context_window(model) == litellm.get_model_info(model)["max_input_tokens"]


def test_tiered_prices_apply_above_the_threshold(litellm):
    tiered = [name for name, entry in litellm.model_cost.items()
              if entry.get("litellm_provider") in ("openai", "anthropic") and entry.get("mode") == "chat"
              and any(k.startswith("input_cost_per_token_above_") and k.endswith("k_tokens")
                      for k in entry)]
    assert tiered, "litellm's table has no tiered chat model any more"
    for name in tiered[:5]:
        below = call_cost(ModelConfig(name), 1000, 100)
        above = call_cost(ModelConfig(name), 400_000, 100)
        assert above == pytest.approx(sum(litellm.cost_per_token(
            model=name, prompt_tokens=400_000, completion_tokens=100)), rel=1e-9)
        assert above > below * 400


def test_reported_cost_is_used_when_there_are_no_user_prices():
    assert call_cost(ModelConfig("gemini/gemini-2.0-flash"), 10, 10, reported=0.25) == 0.25


def test_unknown_model_costs_nothing():
    model = ModelConfig("openai/my-local-model")
    assert call_cost(model, 1000, 1000) == 0.0 and not is_priced(model)
    assert model_info("openai/my-local-model") is None and context_window("openai/my-local-model") is None
    # a bare name belongs to the provider the table gives it; a prefix must match the entry's
    assert provider_of("gpt-4o-mini") == "openai" and provider_of("anthropic/x") == "anthropic"
    assert model_info("anthropic/gpt-4o-mini") is None


def test_pricing_does_not_import_litellm():
    code = ("import sys\nfrom adrs.config import ModelConfig\nfrom adrs.proposer.cost import call_cost\n"
            "assert call_cost(ModelConfig('openai/gpt-4o-mini'), 1000, 1000) > 0\n"
            "sys.exit('litellm' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


def test_a_model_named_nowhere_in_the_table_is_answered_without_parsing_it() -> None:
    """A local model's campaign does not pay for parsing 3.4 MB of JSON before its first prompt."""
    code = ("from adrs.proposer import model_table as t\n"
            "assert t.model_info('openai/bench-model-17') is None\n"
            "assert t.context_window('vllm-local') is None\n"
            "print('parsed before', t._table is not None)\n"
            "assert t.model_info('openai/gpt-4o-mini') is not None\n"
            "print('parsed after', t._table is not None)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "parsed before False" in done.stdout and "parsed after True" in done.stdout, done.stderr


def test_keys_of_the_table_are_found_by_the_text_search() -> None:
    """The substring search may only skip the parse for names the table cannot hold: keys of the
    table (every 20th, and every one with a character outside letters, digits and ``._/:@+-``),
    bare and under their provider's prefix, are all possibly there."""
    table, text = model_table._load(), model_table._table_text()
    assert len(table) > 500
    unusual = [key for key in table if not re.fullmatch(r"[\w./:@+-]*", key)]
    for key in [*sorted(table)[::20], *unusual]:
        entry = table[key]
        provider = str(entry.get("litellm_provider", ""))
        assert model_table._may_hold(text, (key,)), key
        assert model_table._may_hold(text, (f"{provider}/{key}", key)), key
    assert not model_table._may_hold(text, ("openai/bench-model-17", "bench-model-17"))
