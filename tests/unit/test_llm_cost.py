"""adrs.proposer.cost: user prices for local models, litellm's offline price table otherwise."""

from __future__ import annotations

import pytest

from adrs.config import ModelConfig
from adrs.proposer.cost import call_cost, is_priced
from adrs.proposer.llm import load_litellm


@pytest.fixture(scope="module")
def litellm():
    return load_litellm()


def test_user_prices_per_million_tokens(litellm):
    local = ModelConfig("openai/qwen2.5-coder", api_base="http://127.0.0.1:8000/v1",
                        input_usd_per_mtok=0.5, output_usd_per_mtok=2.0)
    assert call_cost(litellm, local, 2_000_000, 1_000_000) == pytest.approx(3.0)
    free = ModelConfig("openai/gpt-4o-mini", input_usd_per_mtok=0.0, output_usd_per_mtok=0.0)
    assert call_cost(litellm, free, 10**6, 10**6) == 0.0  # user prices win over litellm's table
    assert is_priced(litellm, local) and is_priced(litellm, free)


def test_litellm_offline_price_table(litellm):
    model = ModelConfig("openai/gpt-4o-mini")
    expected = sum(litellm.cost_per_token(model="openai/gpt-4o-mini", prompt_tokens=1000,
                                          completion_tokens=500))
    assert call_cost(litellm, model, 1000, 500) == pytest.approx(expected) and expected > 0
    assert is_priced(litellm, model)
    claude = ModelConfig("anthropic/claude-haiku-4-5")
    assert call_cost(litellm, claude, 1000, 1000) > call_cost(litellm, claude, 1000, 0) > 0


def test_unknown_model_costs_nothing(litellm):
    model = ModelConfig("openai/my-local-model")
    assert call_cost(litellm, model, 1000, 1000) == 0.0 and not is_priced(litellm, model)
