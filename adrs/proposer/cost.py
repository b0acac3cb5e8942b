"""Dollar cost of one LLM call: user prices when the config gives them, else litellm's offline
price table (``LITELLM_LOCAL_MODEL_COST_MAP``), else 0.0 for models litellm cannot price.

Prices are USD per million tokens. It does not import litellm itself; callers pass the module.
"""

from __future__ import annotations

from typing import Any

from adrs.config import ModelConfig


def call_cost(litellm: Any, model: ModelConfig, prompt_tokens: int, completion_tokens: int,
              response: Any = None) -> float:
    """USD for ``prompt_tokens`` in and ``completion_tokens`` out on ``model``."""
    if model.input_usd_per_mtok is not None or model.output_usd_per_mtok is not None:
        return (prompt_tokens * (model.input_usd_per_mtok or 0.0)
                + completion_tokens * (model.output_usd_per_mtok or 0.0)) / 1e6
    try:
        if response is not None:
            return float(litellm.completion_cost(completion_response=response) or 0.0)
        cost_in, cost_out = litellm.cost_per_token(model=model.model, prompt_tokens=prompt_tokens,
                                                   completion_tokens=completion_tokens)
        return float(cost_in + cost_out)
    except Exception:  # litellm raises for models it cannot price; the cost is then unknown: 0
        return 0.0


def is_priced(litellm: Any, model: ModelConfig) -> bool:
    """True when the cost of ``model`` is known (user prices, or litellm's table has it)."""
    if model.input_usd_per_mtok is not None or model.output_usd_per_mtok is not None:
        return True
    try:
        info = litellm.get_model_info(model.model)
    except Exception:  # not in the table
        return False
    return bool(info.get("input_cost_per_token") or info.get("output_cost_per_token"))
