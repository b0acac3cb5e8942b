"""The LLM proposer: send a rendered Prompt to a model of the ensemble and return its reply.

Every model is reached through a transport (``adrs.proposer.transport``): the openai or anthropic
SDK directly for those providers and OpenAI-compatible ``api_base`` servers, ``litellm.acompletion``
for the others (Gemini, Ollama, Bedrock, ...); no code here depends on the provider. Per proposal:
- the ensemble (``adrs.proposer.ensemble``) picks a model among those whose circuit breaker
  (``adrs.proposer.breaker``) allows a call, by weight or by the cost-aware bandit, and says why;
- with ``cache_dir`` set, a cached reply for (model, messages, params) is replayed instead;
- each attempt is bounded by ``timeout_s``; rate limits (429), 5xx, timeouts and connection errors
  are retried (the SDKs' and litellm's own retries are off) with exponential backoff and
  jitter, honouring ``Retry-After``; every failed attempt counts against the model's breaker, and
  when it opens the proposal moves on to another model;
- the whole proposal (attempts, backoff, waiting for a paused model) never takes longer than
  ``max_wait_s``, so a stalled provider cannot wedge a run;
- tokens, dollars (``adrs.proposer.cost``), latency, attempts and the choice's reason go into one
  ``Usage`` per model asked.
It does not parse or apply the reply (``adrs.patch`` does) and does not retry a reply that is
merely bad. Importing this module imports neither litellm (that takes seconds) nor an SDK; a
direct transport never imports litellm, except to count a prompt's tokens exactly when an upper
bound of its size does not fit the context window (see ``_prompt_budget``).
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from adrs.config import ConfigError, LLMConfig, ModelConfig, PromptConfig
from adrs.errors import CampaignError
from adrs.plan import SEED_SEQ
from adrs.program import ProgramView
from adrs.prompt import ProblemContext, Prompt, check_templates, render_prompt
from adrs.proposer import Proposal, ProposalError, Usage
from adrs.proposer.breaker import CircuitBreaker
from adrs.proposer.cache import CachedReply, ResponseCache, cache_key
from adrs.proposer.context import PromptBudget, PromptTooLong, fit_prompt
from adrs.proposer.cost import call_cost
from adrs.proposer.ensemble import Ensemble
from adrs.proposer.faults import classify, first_line
from adrs.proposer.health import LLMHealth
from adrs.proposer.model_table import context_window
from adrs.proposer.transport import (
    KEYLESS_PLACEHOLDER,
    load_litellm,
    make_transport,
    missing_keys,
    route,
)
from adrs.redact import redact

# Status codes worth another attempt: timeout, conflict, too early, rate limit, and any 5xx.
RETRY_STATUS = frozenset({408, 409, 425, 429})
MAX_BACKOFF_S = 60.0
__all__ = ["KEYLESS_PLACEHOLDER", "LLMProposer", "PromptNotSent", "check_llm_environment",
           "describe_error", "is_retryable", "load_litellm", "retry_after_s"]
# templates whose reply is a complete program; the others answer with SEARCH/REPLACE blocks
REWRITE_TEMPLATES = frozenset({"rewrite", "crossover"})
_POLL_S = 0.05  # how often to look again while a paused model's trial call is running


class PromptNotSent(ProposalError):
    """The prompt does not fit the model's context window even without inspirations."""

    @property
    def feedback(self) -> str:
        return f"not sent: {self}"


class _ModelFailed(Exception):
    """One model could not answer this proposal (after its retries, or its breaker opened)."""


class LLMProposer:
    """Proposer over an ensemble of models, each behind its transport; see the module docstring."""

    name = "llm"

    def __init__(self, config: LLMConfig, *, prompt: PromptConfig | None = None,
                 problem: ProblemContext | None = None, backoff_s: float = 1.0,
                 rng: random.Random | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """``prompt`` (templates, their weights and folder; checked here) and ``problem`` are what
        unrendered prompts are rendered with; prompts that come rendered are sent as they are."""
        models = config.ensemble()
        if not models:
            raise ConfigError("llm.model: no model given; without a model adrs uses the built-in "
                              "offline mutator")
        self.config = config
        self.prompt_config = prompt or PromptConfig()
        if prompt is not None:
            check_templates(prompt.templates, prompt.template_dir)
        self.problem = problem
        self.templates = MappingProxyType(dict(self.prompt_config.templates))
        self.concurrency = config.concurrency
        self.models: tuple[ModelConfig, ...] = models
        self.backoff_s = backoff_s  # first retry waits about this long, then doubles
        self._rng = rng or random.Random()  # jitter only; model draws use the prompt's seed
        self._clock = clock
        # ConfigError here for llm.transport: direct with a model no direct transport serves
        self.transports = [make_transport(m, config.transport) for m in models]
        self.ensemble = Ensemble(models, bandit=config.bandit, exploration=config.bandit_exploration)
        self.breakers = [CircuitBreaker(config.breaker_failures, config.breaker_cooldown_s, clock)
                         for _ in models]
        self.cache = ResponseCache(config.cache_dir) if config.cache_dir else None
        self._semaphore: asyncio.Semaphore | None = None
        self._semaphore_loop: asyncio.AbstractEventLoop | None = None
        self._budget: PromptBudget | None = None
        self._budget_known = False
        self.health = LLMHealth()  # read by the progress display and the stop rules
        self._note_breakers()

    async def propose(self, prompt: Prompt) -> Proposal:
        """Render the prompt if needed and ask a model; return its reply, or raise ProposalError
        when no model could answer (or the prompt cannot fit the model: PromptNotSent)."""
        if not prompt.messages and self.problem is not None:
            prompt = self.render(prompt)
        if not prompt.messages:
            raise ProposalError("the prompt has no messages to send",
                                Usage(model=self.models[0].model, error="empty prompt"))
        async with self._limit():
            try:
                proposal = await self._propose(prompt)
            except ProposalError as err:
                err.prompt = prompt.text
                raise
        return replace(proposal, prompt=prompt.text)

    def render(self, prompt: Prompt) -> Prompt:
        """``prompt`` rendered with the templates, inspirations and feedback trimmed to fit the
        smallest context window of the ensemble. Raises PromptNotSent when even the bare parent
        does not fit, or CampaignError when that parent is the seed (nothing could ever fit)."""
        assert self.problem is not None
        template_dir = self.prompt_config.template_dir
        problem = self.problem

        def render(kept: tuple[ProgramView, ...], feedback_limit: int) -> Prompt:
            return render_prompt(prompt.template, problem, prompt.parent, kept, seed=prompt.seed,
                                 template_dir=Path(template_dir) if template_dir else None,
                                 second=prompt.second, feedback_limit=feedback_limit)

        try:
            return fit_prompt(render, prompt.inspirations, self.prompt_budget())
        except PromptTooLong as err:
            if prompt.parent.seq == SEED_SEQ:
                raise CampaignError(f"the seed program is too long for the model: {err}") from None
            raise PromptNotSent(str(err)) from None

    def observe(self, model: str, improved: bool) -> None:
        """The outcome of a child of ``model``'s reply (for the bandit)."""
        index = self.ensemble.index_of(model)
        if index is not None:
            self.ensemble.record_outcome(index, improved)

    def restore(self, model: str, cost_usd: float, failed: bool, improved: bool | None) -> None:
        """Replay one stored call (and its child's outcome, if judged) when a run resumes."""
        index = self.ensemble.index_of(model)
        if index is None:
            return
        self.ensemble.started(index)
        if not failed:
            self.ensemble.record_call(index, cost_usd)
        if improved is not None:
            self.ensemble.record_outcome(index, improved)

    def prompt_budget(self) -> PromptBudget | None:
        """Prompt tokens every model of the ensemble accepts (None when no window is known)."""
        if not self._budget_known:
            self._budget = _prompt_budget(self.models, self.config.max_tokens)
            self._budget_known = True
        return self._budget

    def _limit(self) -> asyncio.Semaphore:
        """The concurrency semaphore of the running event loop (a new loop gets a new one)."""
        loop = asyncio.get_running_loop()
        if self._semaphore is None or self._semaphore_loop is not loop:
            self._semaphore = asyncio.Semaphore(max(1, self.config.concurrency))
            self._semaphore_loop = loop
        return self._semaphore

    async def _propose(self, prompt: Prompt) -> Proposal:
        deadline = self._clock() + self.config.max_wait_s
        rng = random.Random(prompt.seed)
        calls: list[Usage] = []
        errors: list[str] = []
        failed: set[int] = set()
        while True:
            left = [i for i in range(len(self.models)) if i not in failed]
            if not left:
                message = errors[0] if len(errors) == 1 else "no model could answer: " + "; ".join(errors)
                raise ProposalError(message, calls=tuple(calls))
            available = [i for i in left if self.breakers[i].allows()]
            if not available:
                wait = max(_POLL_S, min(self.breakers[i].reopens_in_s() for i in left))
                if self._clock() + wait > deadline:
                    states = ", ".join(f"{self.models[i].model} {self.breakers[i].describe()}"
                                       for i in left)
                    raise ProposalError(f"no model available within llm.max_wait_s="
                                        f"{self.config.max_wait_s:g}: {states}"
                                        + ("; " + "; ".join(errors) if errors else ""),
                                        calls=tuple(calls))
                await asyncio.sleep(wait)
                continue
            choice = self.ensemble.choose(available, rng)
            paused = [self.models[i].model for i in left if i not in available]
            reason = choice.reason + (f"; paused: {', '.join(paused)}" if paused else "") \
                + (f"; after failures of {', '.join(self.models[i].model for i in sorted(failed))}"
                   if failed else "")
            try:
                return await self._ask(choice.index, prompt, reason, deadline, calls)
            except _ModelFailed as err:
                failed.add(choice.index)
                errors.append(str(err))
                if self._clock() >= deadline:
                    raise ProposalError(f"gave up after llm.max_wait_s={self.config.max_wait_s:g}: "
                                        + "; ".join(errors), calls=tuple(calls)) from None

    async def _ask(self, index: int, prompt: Prompt, reason: str, deadline: float,
                   calls: list[Usage]) -> Proposal:
        """One model's answer (with retries), appended to ``calls``; raises _ModelFailed."""
        model, config, breaker = self.models[index], self.config, self.breakers[index]
        messages = [dict(m) for m in prompt.messages]
        params = {"temperature": config.temperature, "max_tokens": config.max_tokens}
        self.ensemble.started(index)
        key = ""
        if self.cache is not None:
            key = cache_key(model.model, messages, {**params, "seed": prompt.seed})
            hit = self.cache.get(key)
            if hit is not None:
                calls.append(Usage(model=model.model, prompt_tokens=hit.prompt_tokens,
                                   completion_tokens=hit.completion_tokens,
                                   choice=reason + "; replayed from the response cache",
                                   finish_reason=hit.finish_reason, cached=True))
                self.ensemble.record_call(index, 0.0)
                return self._proposal(prompt, hit.text, hit.finish_reason, model.model, calls)
        transport = self.transports[index]
        await transport.ready()  # the SDK's first import is not a request: not timed
        started = time.perf_counter()
        attempts = max(0, config.max_retries) + 1
        for attempt in range(1, attempts + 1):
            timeout = min(config.timeout_s, deadline - self._clock())
            if timeout <= 0:
                raise self._failed(calls, model, reason, started, attempt - 1,
                                   f"llm.max_wait_s={config.max_wait_s:g} reached")
            breaker.start()
            try:
                reply = await asyncio.wait_for(
                    transport.send(messages, max_tokens=config.max_tokens,
                                   temperature=config.temperature, timeout_s=timeout),
                    timeout=timeout)
            except Exception as err:  # classified by is_retryable; the rest fail at once
                breaker.record_failure()
                why = describe_error(err, timeout)
                self.health.failed(model.model, why)
                self._note_breakers()
                if not is_retryable(err) or attempt == attempts or breaker.state == "open":
                    if breaker.state == "open":
                        why += f"; {model.model} is {breaker.describe()}"
                    raise self._failed(calls, model, reason, started, attempt, why) from None
                await asyncio.sleep(min(self._backoff(attempt, err),
                                        max(0.0, deadline - self._clock())))
                continue
            breaker.record_success()
            self._note_breakers()
            break
        text, finish_reason = reply.text, reply.finish_reason
        prompt_tokens, completion_tokens = reply.prompt_tokens, reply.completion_tokens
        cost = call_cost(model, prompt_tokens, completion_tokens, reply.cost_usd)
        calls.append(Usage(model=model.model, prompt_tokens=prompt_tokens,
                           completion_tokens=completion_tokens, cost_usd=cost,
                           latency_s=time.perf_counter() - started, choice=reason,
                           finish_reason=finish_reason, attempts=attempt))
        self.ensemble.record_call(index, cost)
        self.health.ok(prompt_tokens + completion_tokens, cost)
        if self.cache is not None:
            self.cache.put(key, CachedReply(text, finish_reason, prompt_tokens, completion_tokens))
        return self._proposal(prompt, text, finish_reason, model.model, calls)

    def _failed(self, calls: list[Usage], model: ModelConfig, reason: str, started: float,
                attempts: int, why: str) -> _ModelFailed:
        tried = f" after {attempts} attempts" if attempts > 1 else ""
        message = redact(f"LLM call to {model.model} failed{tried}: {why}")
        calls.append(Usage(model=model.model, latency_s=time.perf_counter() - started,
                           error=message, choice=reason, attempts=attempts))
        return _ModelFailed(message)

    def _proposal(self, prompt: Prompt, text: str, finish_reason: str, model: str,
                  calls: list[Usage]) -> Proposal:
        truncated = finish_reason == "length"
        note = (f"the reply was cut off at max_tokens={self.config.max_tokens} "
                "(finish_reason=length)") if truncated else ""
        kind = "rewrite" if prompt.template in REWRITE_TEMPLATES else "diff"
        return Proposal(text=text, kind=kind, proposer=self.name, model=model, calls=tuple(calls),
                        note=note, truncated=truncated)

    def _note_breakers(self) -> None:
        self.health.breakers = {m.model: b.state for m, b in zip(self.models, self.breakers,
                                                                   strict=True)}

    def all_paused_s(self) -> float:
        """Seconds since every model's breaker left the closed state (0 while one is closed)."""
        return min(b.not_closed_for_s() for b in self.breakers)

    def _backoff(self, attempt: int, err: BaseException) -> float:
        """Seconds before attempt ``attempt + 1``: Retry-After if given, else 2^k with jitter."""
        delay = self.backoff_s * 2 ** (attempt - 1)
        delay *= 0.5 + self._rng.random()  # jitter in [0.5, 1.5)
        hinted = retry_after_s(err)
        if hinted is not None:
            delay = max(delay, hinted)
        return min(delay, MAX_BACKOFF_S)



def _prompt_budget(models: Sequence[ModelConfig], reply_tokens: int) -> PromptBudget | None:
    """The smallest context window of ``models`` (user value, else litellm's bundled table, read
    without importing litellm), minus the reply.

    Counting: a message list of B UTF-8 bytes has at most B + 8 tokens per message + 8 for
    byte-level BPE tokenizers (every token is at least one byte; litellm adds 3-4 per message and
    3 for the reply). When that bound fits, it is the count (nothing needs trimming, and litellm is
    not imported); only a prompt whose bound exceeds the window is counted exactly with
    ``litellm.token_counter``, importing litellm the first time (seconds, once, only for prompts
    near the window), or at about 4 characters per token for a model it has no tokenizer for."""
    windows = []
    for m in models:
        window = m.context_tokens or context_window(m.model)  # None: not in the table, no limit
        if window:
            windows.append((int(window), m.model))
    if not windows:
        return None
    window, model = min(windows)
    limit = max(0, window - reply_tokens)

    def count(messages: Sequence[dict[str, str]]) -> int:
        bound = sum(len(m.get("content", "").encode()) + len(m.get("role", "").encode()) + 8
                    for m in messages) + 8
        if bound <= limit:
            return bound
        try:
            return int(load_litellm().token_counter(model=model, messages=list(messages)))
        except Exception:  # no tokenizer for this model: about 4 characters per token
            return sum(len(m.get("content", "")) for m in messages) // 4 + 4 * len(messages)

    return PromptBudget(max_prompt_tokens=limit, context_tokens=window,
                        reply_tokens=reply_tokens, model=model, count=count)


def check_llm_environment(config: LLMConfig) -> None:
    """Raise ConfigError if a model of ``config`` cannot be called: unknown provider or missing key.

    Keys are looked up in the environment only. A model with ``api_base`` (an OpenAI-compatible
    server such as vLLM or Ollama) skips the key check: such servers often need none. Models of a
    direct transport are checked without litellm (OPENAI_API_KEY, ANTHROPIC_API_KEY); the others
    by litellm (provider known, its key variables set).
    """
    for m in config.ensemble():
        kind = route(m, config.transport)
        if kind == "litellm":
            _check_litellm_model(load_litellm(), m)
        else:
            _require_keys(m, missing_keys(m, kind))


def _check_litellm_model(litellm: Any, model: ModelConfig) -> None:
    try:
        litellm.get_llm_provider(model=model.model, api_base=model.api_base)
    except Exception as err:  # litellm raises several types here
        raise ConfigError(f"llm.model: litellm does not know the provider of {model.model!r} "
                          f"(write it as 'provider/model', e.g. 'openai/gpt-4o-mini'): "
                          f"{first_line(err)}") from err
    if model.api_base:
        return
    _require_keys(model, litellm.validate_environment(model=model.model).get("missing_keys") or [])


def _require_keys(model: ModelConfig, missing: Sequence[str]) -> None:
    if missing:
        names = ", ".join(missing)
        raise ConfigError(f"llm.model {model.model!r} needs the environment variable(s) {names}, "
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
    value = None
    # litellm keeps the provider's headers in ``litellm_response_headers``; OpenAI errors in
    # ``response.headers``
    for headers in (getattr(err, "litellm_response_headers", None),
                    getattr(getattr(err, "response", None), "headers", None)):
        if headers is not None and headers.get("retry-after"):
            value = headers.get("retry-after")
            break
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
    """The failure in words ("connection refused", not "HTTP 500"), secrets masked."""
    fault = classify(err, timeout_s)
    if fault.kind == "timeout":
        return f"no reply within timeout_s={timeout_s:g}"
    return fault.words

