"""The LLM proposer: send a rendered Prompt to any litellm model and return the reply as a Proposal.

One ``acompletion`` call per proposal, at most ``concurrency`` in flight, each bounded by
``timeout_s``. Rate limits (429), server errors (5xx), timeouts and connection errors are retried
here (litellm's and the OpenAI client's own retries are switched off) with exponential backoff and
jitter, honouring a ``Retry-After`` header. Tokens, cost (0.0 for models litellm cannot price) and
latency go into ``Usage``. API keys come only from the environment, as litellm reads them; the model
string is passed to litellm unchanged, so every provider works the same way.

It does not parse or apply the reply (``adrs.patch`` does) and does not retry a reply that is
merely bad. Importing this module does not import litellm (that takes seconds); the first call does.
"""

from __future__ import annotations

import asyncio
import email.utils
import os
import random
import time
from typing import Any

from adrs.config import ConfigError, LLMConfig
from adrs.prompt import Prompt
from adrs.proposer import Proposal, ProposalError, Usage

# Status codes worth another attempt: timeout, conflict, too early, rate limit, and any 5xx.
RETRY_STATUS = frozenset({408, 409, 425, 429})
MAX_BACKOFF_S = 60.0
# Placeholder key for OpenAI-compatible servers at ``api_base`` that need none (vLLM, Ollama, ...);
# the OpenAI client refuses to send a request without some key.
KEYLESS_PLACEHOLDER = "no-key-needed"


def load_litellm() -> Any:
    """Import litellm quietly, with the bundled model cost map (no download at import)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True  # no "Give Feedback / Get Help" banner on every error
    litellm.telemetry = False
    return litellm


class LLMProposer:
    """Proposer backed by ``litellm.acompletion``; see the module docstring."""

    name = "llm"
    uses_prompt = True

    def __init__(self, config: LLMConfig, *, backoff_s: float = 1.0,
                 rng: random.Random | None = None) -> None:
        if not config.model:
            raise ConfigError("llm.model: no model given; without a model adrs uses the built-in "
                              "offline mutator")
        self.config = config
        self.backoff_s = backoff_s  # first retry waits about this long, then doubles
        self._rng = rng or random.Random()
        self._semaphore: asyncio.Semaphore | None = None
        self._semaphore_loop: asyncio.AbstractEventLoop | None = None
        self._api_key: str | None = None
        self._api_key_checked = False

    async def propose(self, prompt: Prompt) -> Proposal:
        """Ask the model; return its reply, or raise ProposalError after the last retry."""
        if not prompt.messages:
            raise ProposalError("the prompt has no messages to send",
                                Usage(model=self.config.model or "", error="empty prompt"))
        async with self._limit():
            text, finish_reason, usage = await self._complete(list(prompt.messages))
        note = ""
        if finish_reason == "length":
            note = (f"the reply was cut off at max_tokens={self.config.max_tokens} "
                    "(finish_reason=length)")
        return Proposal(text=text, kind="rewrite" if prompt.template == "rewrite" else "diff",
                        proposer=self.name, model=self.config.model, usage=usage, note=note)

    def _limit(self) -> asyncio.Semaphore:
        """The concurrency semaphore of the running event loop (a new loop gets a new one)."""
        loop = asyncio.get_running_loop()
        if self._semaphore is None or self._semaphore_loop is not loop:
            self._semaphore = asyncio.Semaphore(max(1, self.config.concurrency))
            self._semaphore_loop = loop
        return self._semaphore

    async def _complete(self, messages: list[dict[str, str]]) -> tuple[str, str, Usage]:
        config = self.config
        model = config.model or ""
        litellm = load_litellm()
        kwargs: dict[str, Any] = {
            "model": model, "messages": messages, "temperature": config.temperature,
            "max_tokens": config.max_tokens, "timeout": config.timeout_s,
            "num_retries": 0, "max_retries": 0,
        }
        if config.api_base:
            kwargs["api_base"] = config.api_base
            api_key = self._keyless_placeholder(litellm)
            if api_key:
                kwargs["api_key"] = api_key
        started = time.perf_counter()
        attempts = max(0, config.max_retries) + 1
        for attempt in range(1, attempts + 1):
            try:
                response = await asyncio.wait_for(litellm.acompletion(**kwargs),
                                                  timeout=config.timeout_s)
                break
            except Exception as err:  # classified by is_retryable; the rest fail at once
                reason = describe_error(err, config.timeout_s)
                if not is_retryable(err) or attempt == attempts:
                    tried = f" after {attempt} attempts" if attempt > 1 else ""
                    message = f"LLM call to {model} failed{tried}: {reason}"
                    usage = Usage(model=model, latency_s=time.perf_counter() - started,
                                  error=message)
                    raise ProposalError(message, usage) from err
                await asyncio.sleep(self._backoff(attempt, err))
        latency = time.perf_counter() - started
        choice = response.choices[0]
        text = getattr(choice.message, "content", None) or ""
        tokens = getattr(response, "usage", None)
        usage = Usage(
            model=model,
            prompt_tokens=int(getattr(tokens, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(tokens, "completion_tokens", 0) or 0),
            cost_usd=cost_of(litellm, response),
            latency_s=latency,
        )
        return text, str(choice.finish_reason or ""), usage

    def _backoff(self, attempt: int, err: BaseException) -> float:
        """Seconds before attempt ``attempt + 1``: Retry-After if given, else 2^k with jitter."""
        delay = self.backoff_s * 2 ** (attempt - 1)
        delay *= 0.5 + self._rng.random()  # jitter in [0.5, 1.5)
        hinted = retry_after_s(err)
        if hinted is not None:
            delay = max(delay, hinted)
        return min(delay, MAX_BACKOFF_S)

    def _keyless_placeholder(self, litellm: Any) -> str | None:
        """A placeholder key when ``api_base`` is set and the provider's key is not in the env."""
        if not self._api_key_checked:
            missing = litellm.validate_environment(model=self.config.model).get("missing_keys")
            self._api_key = KEYLESS_PLACEHOLDER if missing else None
            self._api_key_checked = True
        return self._api_key


def check_llm_environment(config: LLMConfig) -> None:
    """Raise ConfigError if ``config.model`` cannot be called: unknown provider or missing key.

    Keys are looked up in the environment only. With ``api_base`` set (an OpenAI-compatible server
    such as vLLM or Ollama) the key check is skipped: such servers often need none.
    """
    if not config.model:
        return
    litellm = load_litellm()
    try:
        litellm.get_llm_provider(model=config.model, api_base=config.api_base)
    except Exception as err:  # litellm raises several types here
        raise ConfigError(f"llm.model: litellm does not know the provider of {config.model!r} "
                          f"(write it as 'provider/model', e.g. 'openai/gpt-4o-mini'): "
                          f"{_first_line(err)}") from err
    if config.api_base:
        return
    missing = litellm.validate_environment(model=config.model).get("missing_keys") or []
    if missing:
        names = ", ".join(missing)
        raise ConfigError(f"llm.model {config.model!r} needs the environment variable(s) {names}, "
                          f"which are not set. Export them (keys are never read from config "
                          f"files), or set llm.api_base for an OpenAI-compatible server. Without "
                          f"a model adrs uses the built-in offline mutator (run without --model).")


def is_retryable(err: BaseException) -> bool:
    """True for rate limits, 5xx, timeouts and connection errors; False for everything else."""
    if isinstance(err, asyncio.TimeoutError | TimeoutError | ConnectionError):
        return True
    names = {cls.__name__ for cls in type(err).__mro__}
    if names & {"Timeout", "APITimeoutError", "APIConnectionError", "RateLimitError",
                "ServiceUnavailableError", "InternalServerError", "BadGatewayError"}:
        return True
    status = getattr(err, "status_code", None)
    return isinstance(status, int) and (status in RETRY_STATUS or status >= 500)


def retry_after_s(err: BaseException) -> float | None:
    """Seconds from the ``Retry-After`` header of the error's HTTP response, if any."""
    response = getattr(err, "response", None)
    headers = getattr(response, "headers", None)
    value = headers.get("retry-after") if headers is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def describe_error(err: BaseException, timeout_s: float) -> str:
    if isinstance(err, asyncio.TimeoutError | TimeoutError):
        return f"no reply within timeout_s={timeout_s:g}"
    status = getattr(err, "status_code", None)
    prefix = f"{type(err).__name__}" + (f" (HTTP {status})" if status else "")
    return f"{prefix}: {_first_line(err)}"


def cost_of(litellm: Any, response: Any) -> float:
    """USD cost of ``response`` by litellm's price table; 0.0 when the model is not priced."""
    try:
        return float(litellm.completion_cost(completion_response=response) or 0.0)
    except Exception:  # unpriced models raise; the cost is informative only
        return 0.0


def _first_line(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0][:500]
