"""Prices, context windows and providers of hosted models, read from litellm's bundled table.

litellm ships its price and context-window table as a JSON file
(``model_prices_and_context_window_backup.json``, the same data ``LITELLM_LOCAL_MODEL_COST_MAP``
makes it use). This module finds that file with ``importlib.util.find_spec`` (which does not import
litellm: that takes seconds), parses it once, when a model it may hold is first asked about (3.4 MB:
about 0.1 s), and answers per model from a cache: dollars for a call, the context window, the
provider of a bare model name. A model the table does not hold (local models, new names) has no
price (0 $) and no known window, as with litellm; when its name appears nowhere in the file (a
substring search, a few ms) the file is not parsed at all: a campaign on a local model starts 0.1 s
sooner. It does not download anything and does not count tokens.
"""

from __future__ import annotations

import importlib.util
import json
import re
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

TABLE_FILE = "model_prices_and_context_window_backup.json"
_TIER = re.compile(r"^input_cost_per_token_above_(\d+)k_tokens$")
_lock = threading.Lock()
_table: dict[str, dict[str, Any]] | None = None


def table_path() -> Path | None:
    """The bundled JSON file of the installed litellm (None when litellm is not installed)."""
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / TABLE_FILE
    return path if path.is_file() else None


def _table_text() -> str:
    """The table file's text ("" when there is no file to read)."""
    path = table_path()
    try:
        return path.read_text() if path is not None else ""
    except OSError:
        return ""


def _may_hold(text: str, keys: tuple[str, ...]) -> bool:
    """False only when none of ``keys`` can be a key of the table of ``text``: the JSON spelling
    of each appears nowhere in it. A key the file might spell with escapes (non-ASCII, quotes,
    backslashes, a ``\\/`` anywhere in the file) counts as possibly there."""
    for key in keys:
        if not key.isascii() or not key.isprintable() or '"' in key or "\\" in key:
            return True
        if json.dumps(key) in text or ("/" in key and "\\/" in text):
            return True
    return False


def _load() -> dict[str, dict[str, Any]]:
    global _table
    with _lock:
        if _table is None:
            path = table_path()
            try:
                raw = json.loads(path.read_text()) if path is not None else {}
            except (OSError, ValueError):  # a broken install: no prices, no windows
                raw = {}
            _table = {k: v for k, v in raw.items() if isinstance(v, dict)}
        return _table


def split_provider(model: str) -> tuple[str, str]:
    """``("openai", "gpt-4o-mini")`` for ``openai/gpt-4o-mini``; ``("", name)`` without a prefix."""
    provider, sep, name = model.partition("/")
    return (provider, name) if sep else ("", model)


@lru_cache(maxsize=256)
def model_info(model: str) -> dict[str, Any] | None:
    """The table's entry for a litellm model string (``provider/name`` or a bare name), or None.

    Looked up like litellm does: the whole string first, then the name without the provider
    prefix when the entry belongs to that provider."""
    provider, name = split_provider(model)
    if _table is None and not _may_hold(_table_text(), (model, name)):
        return None
    table = _load()
    entry = _resolve(table, model)
    if entry is not None:
        return entry
    entry = _resolve(table, name) if provider else None
    if entry is not None and _same_provider(provider, str(entry.get("litellm_provider", ""))):
        return entry
    return None


def _resolve(table: dict[str, dict[str, Any]], key: str) -> dict[str, Any] | None:
    """The entry of ``key``, following ``alias_of`` links (``claude-sonnet-latest``)."""
    entry = table.get(key)
    for _ in range(8):
        if entry is None or "alias_of" not in entry:
            return entry
        entry = table.get(str(entry["alias_of"]))
    return None


def _same_provider(prefix: str, provider: str) -> bool:
    return prefix == provider or (prefix == "openai" and provider.endswith("openai"))


def provider_of(model: str) -> str:
    """The provider: the prefix of ``provider/name``, else the table's provider of a bare name."""
    provider, _ = split_provider(model)
    if provider:
        return provider
    entry = model_info(model)
    return str(entry.get("litellm_provider", "")) if entry else ""


def context_window(model: str) -> int | None:
    """Prompt tokens the model accepts (``max_input_tokens``), None when the table has no value."""
    entry = model_info(model)
    if not entry:
        return None
    window = entry.get("max_input_tokens") or entry.get("max_tokens")
    return int(window) if isinstance(window, int | float) and window > 0 else None


def table_price_usd(model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
    """USD for a call at the table's prices (None when the table cannot price the model).

    A prompt longer than a tier's threshold (``input_cost_per_token_above_272k_tokens``) pays that
    tier's rates for all its tokens, as litellm computes it."""
    entry = model_info(model)
    if not entry:
        return None
    cost_in, cost_out = entry.get("input_cost_per_token"), entry.get("output_cost_per_token")
    if cost_in is None and cost_out is None:
        return None
    cost_in, cost_out = float(cost_in or 0.0), float(cost_out or 0.0)
    tiers = sorted((int(m.group(1)), key) for key in entry if (m := _TIER.match(key)))
    for threshold, key in tiers:
        if prompt_tokens > threshold * 1000:
            cost_in = float(entry[key])
            cost_out = float(entry.get(f"output_cost_per_token_above_{threshold}k_tokens", cost_out))
    return prompt_tokens * cost_in + completion_tokens * cost_out
