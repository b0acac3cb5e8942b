"""Dollar cost of one LLM call: user prices when the config gives them, else what the transport
reported (litellm prices the calls it makes), else litellm's bundled price table read without
importing litellm (``adrs.proposer.model_table``), else 0.0 for models nobody can price.

Prices are USD per million tokens in the config and per token in the table.
"""

from __future__ import annotations

from adrs.config import ModelConfig
from adrs.proposer.model_table import table_price_usd


def has_user_prices(model: ModelConfig) -> bool:
    return model.input_usd_per_mtok is not None or model.output_usd_per_mtok is not None


def call_cost(model: ModelConfig, prompt_tokens: int, completion_tokens: int,
              reported: float | None = None) -> float:
    """USD for ``prompt_tokens`` in and ``completion_tokens`` out on ``model``."""
    if has_user_prices(model):
        return (prompt_tokens * (model.input_usd_per_mtok or 0.0)
                + completion_tokens * (model.output_usd_per_mtok or 0.0)) / 1e6
    if reported is not None:
        return reported
    return table_price_usd(model.model, prompt_tokens, completion_tokens) or 0.0


def is_priced(model: ModelConfig) -> bool:
    """True when the cost of ``model`` is known (user prices, or the price table has it)."""
    return has_user_prices(model) or bool(table_price_usd(model.model, 1000, 1000))
