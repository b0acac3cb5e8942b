"""How one LLM request travels: straight through the provider's SDK, or through litellm.

``Transport.send(messages, max_tokens, temperature, timeout_s) -> Reply`` makes exactly one HTTP
request (no retries: the SDK clients are made with ``max_retries=0``; retries, breakers and the
deadline belong to the LLM proposer) and raises the SDK's own exceptions, which
``adrs.proposer.faults`` and ``adrs.proposer.llm.is_retryable`` read (status codes, Retry-After,
connection errors, timeouts). Three implementations:

- ``DirectOpenAI``: the openai SDK's ``AsyncOpenAI`` for ``openai/...`` models (and bare names the
  price table gives to OpenAI) and for OpenAI-compatible servers at an ``api_base``
  (``hosted_vllm/``, ``custom_openai/``, ``lm_studio/``, ``llamafile/``);
- ``DirectAnthropic``: the anthropic SDK's ``AsyncAnthropic`` for ``anthropic/...``;
- ``LiteLLM``: ``litellm.acompletion`` for every other provider (gemini, ollama, bedrock, ...).

``llm.transport`` picks: ``auto`` (default: direct where available, litellm otherwise),
``direct`` (an error for a model without a direct transport), ``litellm`` (the old path for all).
The direct transports never import litellm (about 3 s) and skip its per-call bookkeeping (about
3 ms of CPU per call and four logging threads). One SDK client is kept per (base URL, key, event
loop): connections are reused and an HTTP client never crosses event loops. Keys come from the
environment only. This module imports no SDK until a transport first sends.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

from adrs.config import ConfigError, LLMConfig, ModelConfig
from adrs.proposer.model_table import model_info, provider_of, split_provider

TRANSPORTS = ("auto", "direct", "litellm")
# Placeholder key for OpenAI-compatible servers at ``api_base`` that need none (vLLM, Ollama, ...);
# the SDK clients refuse to send a request without some key.
KEYLESS_PLACEHOLDER = "no-key-needed"
# providers whose servers speak the OpenAI chat-completions protocol at their ``api_base``
OPENAI_COMPATIBLE = frozenset({"openai", "custom_openai", "hosted_vllm", "lm_studio", "llamafile"})
# the environment variable holding each direct provider's key (the SDKs read the same names)
KEY_VARIABLES = {"openai": ("OPENAI_API_KEY",), "anthropic": ("ANTHROPIC_API_KEY",
                                                              "ANTHROPIC_AUTH_TOKEN"),
                 "hosted_vllm": ("HOSTED_VLLM_API_KEY",)}
DEFAULT_BASES = {"openai": "https://api.openai.com/v1", "anthropic": "https://api.anthropic.com"}
# Anthropic stop_reason -> the OpenAI finish_reason adrs records (what litellm reports)
_FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length",
           "tool_use": "tool_calls", "pause_turn": "stop", "refusal": "content_filter"}
_REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")  # OpenAI models that take max_completion_tokens


@dataclass(frozen=True)
class Reply:
    text: str
    finish_reason: str  # "stop", "length" (cut off at max_tokens), ...
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None = None  # when the transport prices the call itself (litellm)


class Transport(Protocol):
    kind: str  # "openai" | "anthropic" | "litellm"
    model: ModelConfig

    async def send(self, messages: Sequence[dict[str, str]], *, max_tokens: int,
                   temperature: float | None, timeout_s: float) -> Reply:
        """One request; the SDK's exception when it fails."""

    def base_url(self) -> str:
        """Where requests go (unredacted: callers redact before showing it)."""

    async def ready(self) -> None:
        """Import what ``send`` needs (the SDK, or litellm) in a worker thread, so that neither a
        request's timeout nor the event loop pays for it (0.5 s for openai, 3 s for litellm)."""

    async def confirm_model(self, timeout_s: float) -> bool:
        """Ask the server about the model without generating (``GET .../models/{name}``): True
        when it describes the model; False when it cannot say (no such route, the name not found
        there, not JSON: the caller then asks a tiny question); the SDK's exception for a
        rejected key, a refusal, a rate limit or no answer."""


def route(model: ModelConfig, choice: str = "auto") -> str:
    """The transport kind for ``model`` under ``llm.transport = choice``; ConfigError when
    ``direct`` is asked for a model no direct transport serves."""
    if choice not in TRANSPORTS:
        raise ConfigError(f"llm.transport: expected one of {', '.join(TRANSPORTS)}, got {choice!r}")
    if choice == "litellm":
        return "litellm"
    provider = provider_of(model.model)
    kind = "litellm"
    if provider == "anthropic":
        kind = "anthropic"
    elif provider == "openai" or (model.api_base and provider in OPENAI_COMPATIBLE):
        kind = "openai"
    if kind == "litellm" and choice == "direct":
        raise ConfigError(f"llm.transport: direct: no direct transport for {model.model!r} (direct "
                          f"serves openai/..., anthropic/... and OpenAI-compatible servers at an "
                          f"api_base); use llm.transport: auto or litellm")
    return kind


def needs_litellm(llm: LLMConfig) -> bool:
    """True when a model of ``llm`` goes through litellm (then its import is worth starting early)."""
    try:
        return any(route(m, llm.transport) == "litellm" for m in llm.ensemble())
    except ConfigError:
        return False  # reported with its message when the proposer is made


def make_transport(model: ModelConfig, choice: str = "auto") -> Transport:
    kind = route(model, choice)
    if kind == "openai":
        return DirectOpenAI(model)
    if kind == "anthropic":
        return DirectAnthropic(model)
    return LiteLLM(model)


def missing_keys(model: ModelConfig, kind: str) -> list[str]:
    """Key variables a direct model needs and the environment lacks (none with an ``api_base``,
    whose servers often need no key; none for providers without a key variable)."""
    if model.api_base:
        return []
    names = KEY_VARIABLES.get(split_provider(model.model)[0] or kind, ())
    return [] if not names or any(os.environ.get(n) for n in names) else [names[0]]


def _env_key(provider: str) -> str | None:
    for name in KEY_VARIABLES.get(provider, ()):
        if os.environ.get(name):
            return os.environ[name]
    return None


# ------------------------------------------------------------------------------ SDK client cache

_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple, Any]] = \
    weakref.WeakKeyDictionary()
_clients_lock = threading.Lock()


def _client(factory: Any, **kwargs: Any) -> Any:
    """The SDK client of the running loop for these arguments (made once per loop)."""
    loop = asyncio.get_running_loop()
    key = (factory, *sorted(kwargs.items()))
    with _clients_lock:
        per_loop = _clients.setdefault(loop, {})
        client = per_loop.get(key)
        if client is None:
            client = per_loop[key] = factory(**kwargs, max_retries=0)
    return client


_IMPORTED: set[str] = set()  # modules ``_imported`` has seen through
DIRECT_KINDS = ("openai", "anthropic")  # each direct transport kind is the name of its SDK module


def import_direct_sdks(llm: LLMConfig) -> None:
    """Import, in this thread, the SDKs of the direct transports ``llm`` uses (never litellm)."""
    for kind in sorted({route(m, llm.transport) for m in llm.ensemble()} & set(DIRECT_KINDS)):
        importlib.import_module(kind)


async def _imported(name: str) -> None:
    """Import ``name`` in a worker thread unless done already (callers that arrive during the
    import wait for it in their own threads, never in the event loop)."""
    if name not in _IMPORTED:
        await asyncio.to_thread(importlib.import_module, name)
        _IMPORTED.add(name)


# ------------------------------------------------------------------------------ implementations

class DirectOpenAI:
    """Chat completions through ``openai.AsyncOpenAI``."""

    kind = "openai"

    def __init__(self, model: ModelConfig) -> None:
        self.model = model
        self.provider, name = split_provider(model.model)
        self.name = name if self.provider else model.model
        self.provider = self.provider or "openai"
        # a vLLM / LM Studio / llamafile server never gets the OpenAI key (as with litellm)
        key = _env_key(self.provider) if self.provider in KEY_VARIABLES else None
        self.api_key = key or (KEYLESS_PLACEHOLDER if model.api_base else None)
        reasoning = not model.api_base and self.name.startswith(_REASONING_PREFIXES)
        self._tokens_field = "max_completion_tokens" if reasoning else "max_tokens"

    async def ready(self) -> None:
        await _imported(self.kind)

    def base_url(self) -> str:
        return (self.model.api_base or os.environ.get("OPENAI_API_BASE")
                or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASES["openai"])

    async def send(self, messages: Sequence[dict[str, str]], *, max_tokens: int,
                   temperature: float | None, timeout_s: float) -> Reply:
        from openai import AsyncOpenAI

        client = _client(AsyncOpenAI, api_key=self.api_key, base_url=self.base_url())
        body: dict[str, Any] = {"model": self.name, "messages": list(messages),
                                self._tokens_field: max_tokens}
        if temperature is not None:
            body["temperature"] = temperature
        data = await _post_json(client, "/chat/completions", body, timeout_s)
        choice = (data.get("choices") or [{}])[0]
        usage = data.get("usage") or {}
        return Reply(text=(choice.get("message") or {}).get("content") or "",
                     finish_reason=str(choice.get("finish_reason") or ""),
                     prompt_tokens=int(usage.get("prompt_tokens") or 0),
                     completion_tokens=int(usage.get("completion_tokens") or 0))

    async def confirm_model(self, timeout_s: float) -> bool:
        from openai import AsyncOpenAI

        client = _client(AsyncOpenAI, api_key=self.api_key, base_url=self.base_url())
        return await _describes_model(client, f"/models/{quote(self.name, safe='')}", timeout_s)


class DirectAnthropic:
    """The Messages API through ``anthropic.AsyncAnthropic``; system messages become ``system``."""

    kind = "anthropic"

    def __init__(self, model: ModelConfig) -> None:
        self.model = model
        provider, name = split_provider(model.model)
        self.name = name if provider else model.model
        self.api_key = os.environ.get("ANTHROPIC_API_KEY") or None
        self.auth_token = None if self.api_key else os.environ.get("ANTHROPIC_AUTH_TOKEN") or None
        if self.api_key is None and self.auth_token is None and model.api_base:
            self.api_key = KEYLESS_PLACEHOLDER
        # Claude 4.7+ models reject any temperature but 1 (the table says so); it is not sent
        entry = model_info(model.model)
        self._sampling = not (entry and entry.get("supports_sampling_params") is False)

    async def ready(self) -> None:
        await _imported(self.kind)

    def base_url(self) -> str:
        base = (self.model.api_base or os.environ.get("ANTHROPIC_API_BASE")
                or os.environ.get("ANTHROPIC_BASE_URL") or DEFAULT_BASES["anthropic"])
        # litellm also takes the full endpoint or a ``/v1`` base; the SDK appends ``/v1/messages``
        for suffix in ("/v1/messages", "/v1"):
            base = base.rstrip("/").removesuffix(suffix)
        return base

    async def send(self, messages: Sequence[dict[str, str]], *, max_tokens: int,
                   temperature: float | None, timeout_s: float) -> Reply:
        from anthropic import AsyncAnthropic

        client = _client(AsyncAnthropic, api_key=self.api_key, auth_token=self.auth_token,
                         base_url=self.base_url())
        system = [{"type": "text", "text": m["content"]} for m in messages if m["role"] == "system"]
        chat = [{"role": m["role"], "content": m["content"]} for m in messages
                if m["role"] != "system"]
        body: dict[str, Any] = {"model": self.name, "messages": chat, "max_tokens": max_tokens}
        if system:
            body["system"] = system
        if temperature is not None and self._sampling:
            body["temperature"] = temperature
        data = await _post_json(client, "/v1/messages", body, timeout_s)
        text = "".join(block.get("text", "") for block in data.get("content") or ()
                       if block.get("type") == "text")
        stop = str(data.get("stop_reason") or "")
        usage = data.get("usage") or {}
        return Reply(text=text, finish_reason=_FINISH.get(stop, stop),
                     prompt_tokens=int(usage.get("input_tokens") or 0),
                     completion_tokens=int(usage.get("output_tokens") or 0))

    async def confirm_model(self, timeout_s: float) -> bool:
        from anthropic import AsyncAnthropic

        client = _client(AsyncAnthropic, api_key=self.api_key, auth_token=self.auth_token,
                         base_url=self.base_url())
        return await _describes_model(client, f"/v1/models/{quote(self.name, safe='')}", timeout_s)


async def _describes_model(client: Any, path: str, timeout_s: float) -> bool:
    """GET ``path`` (a model's description) with the SDK client: True for a JSON object with an
    ``id``; False for statuses that mean "this server cannot say" (400, 404, 405, 422, 501: the
    route is missing, or the name is unknown there, which the tiny question then settles) and for
    a reply that is not such an object; other failures raise the SDK's exception."""
    try:
        text = await client.get(path, cast_to=str, options={"timeout": timeout_s})
    except Exception as err:
        if getattr(err, "status_code", None) in (400, 404, 405, 422, 501):
            return False
        raise
    try:
        data = json.loads(text)
    except (TypeError, ValueError):
        return False
    return isinstance(data, dict) and isinstance(data.get("id"), str)


async def _post_json(client: Any, path: str, body: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    """POST ``body`` with the SDK client (its HTTP pool, headers, auth and error types: a status
    >= 400 raises the SDK's ``APIStatusError`` subclass) and read the JSON reply here: the typed
    ``create`` methods run a parameter transform and build models that cost about 1-2 ms of CPU
    per call for fields adrs never reads."""
    text = await client.post(path, cast_to=str, body=body, options={"timeout": timeout_s})
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"the server's reply is not a JSON object: {text[:200]!r}")
    return data


_litellm: Any = None  # the module once imported (adrs.proposer.llm.load_litellm)


class LiteLLM:
    """``litellm.acompletion`` with the model string unchanged (any provider litellm knows)."""

    kind = "litellm"

    def __init__(self, model: ModelConfig) -> None:
        self.model = model
        self._api_key: str | None | bool = False  # False: not looked up yet

    def base_url(self) -> str:
        if self.model.api_base:
            return self.model.api_base
        try:
            _, provider, _, base = _load().get_llm_provider(model=self.model.model)
        except Exception:  # unknown provider: checked with a clear message elsewhere
            return "the provider's default URL"
        return base or f"the {provider} default URL"

    async def ready(self) -> None:
        if _litellm is None:
            await asyncio.to_thread(_load)

    async def confirm_model(self, timeout_s: float) -> bool:
        return False  # providers differ: the tiny question is the one check that fits them all

    async def send(self, messages: Sequence[dict[str, str]], *, max_tokens: int,
                   temperature: float | None, timeout_s: float) -> Reply:
        litellm = _litellm or await asyncio.to_thread(_load)
        kwargs: dict[str, Any] = {"model": self.model.model, "messages": list(messages),
                                  "max_tokens": max_tokens, "num_retries": 0, "max_retries": 0}
        if temperature is not None:
            kwargs["temperature"] = temperature
        if self.model.api_base:
            kwargs["api_base"] = self.model.api_base
            if self._api_key is False:
                self._api_key = litellm_keyless_placeholder(litellm, self.model)
            if self._api_key:
                kwargs["api_key"] = self._api_key
        response = await litellm.acompletion(**kwargs, timeout=timeout_s)
        choice = response.choices[0]
        usage = getattr(response, "usage", None)
        cost = None
        if self.model.input_usd_per_mtok is None and self.model.output_usd_per_mtok is None:
            try:
                cost = float(litellm.completion_cost(completion_response=response) or 0.0)
            except Exception:  # litellm raises for models it cannot price: the table decides
                cost = None
        return Reply(text=getattr(choice.message, "content", None) or "",
                     finish_reason=str(choice.finish_reason or ""),
                     prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
                     completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
                     cost_usd=cost)


def load_litellm() -> Any:
    """Import litellm quietly, with the bundled model cost map (no download at import)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True  # no "Give Feedback / Get Help" banner on every error
    litellm.telemetry = False
    return litellm


def _load() -> Any:
    global _litellm
    _litellm = load_litellm()
    return _litellm


def litellm_keyless_placeholder(litellm: Any, model: ModelConfig) -> str | None:
    """KEYLESS_PLACEHOLDER for a model at ``api_base`` whose provider key litellm does not find."""
    missing = litellm.validate_environment(model=model.model).get("missing_keys")
    return KEYLESS_PLACEHOLDER if missing else None

