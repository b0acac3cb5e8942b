"""Proposers turn a Prompt into a Proposal: the text of a changed program.

Two implementations: ``llm`` (any provider: the openai / anthropic SDKs directly, litellm for the
others; ``adrs.proposer.transport``) and ``mutator`` (the built-in offline program mutator). Both
satisfy the ``Proposer`` protocol below; the loop does not know which it has
(``adrs.proposer.factory.make_proposer`` picks one from the config).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:  # importing adrs.prompt loads jinja2; browsing commands do not need it
    from adrs.prompt import Prompt
    from adrs.proposer.health import LLMHealth


@dataclass(frozen=True)
class Usage:
    """Accounting for one LLM call (stored as an llm_call row)."""

    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0  # from the first attempt to the reply, retries and backoff included
    error: str = ""  # set when the call failed after retries
    choice: str = ""  # why this model was asked (ensemble policy, paused models, cache)
    finish_reason: str = ""  # "stop", "length" (cut off at max_tokens), ...
    attempts: int = 0  # HTTP attempts made (0: replayed from the response cache)
    cached: bool = False  # replayed from the on-disk response cache (no money spent)


@dataclass(frozen=True)
class Proposal:
    text: str  # LLM reply (SEARCH/REPLACE blocks or a fenced program), or the mutator's full program
    kind: Literal["diff", "rewrite"]  # how adrs.patch should read ``text``
    proposer: str  # "llm" | "mutator"
    model: str | None = None
    calls: tuple[Usage, ...] = ()  # every LLM call made for it (failed ones on other models first)
    note: str = ""  # short description (mutator: which edits it made)
    truncated: bool = False  # the reply was cut off (finish_reason=length); adrs.patch rejects it
    prompt: str = ""  # the rendered prompt that was sent (stored with the program)

    @property
    def usage(self) -> Usage | None:
        """The call that produced the text (the last one)."""
        return self.calls[-1] if self.calls else None


class Proposer(Protocol):
    """Everything the loop asks of a proposer (it never probes for more).

    ``templates``: the prompt templates the planner draws from, with weights (empty: the proposer
    makes one kind of change itself, "mutation", and no template is drawn). ``concurrency``:
    proposals it can work on while the evaluators are busy (0 for an instant proposer).
    ``health`` / ``all_paused_s`` report on the models (live display, LLM stop rule).
    ``propose`` receives the planned, unrendered Prompt; a proposer that sends text renders it
    (and records it in ``Proposal.prompt``). ``observe`` hears whether the child of a model's reply
    beat its parent; ``restore`` replays one stored call when a run resumes.
    """

    name: str
    templates: Mapping[str, float]
    concurrency: int

    async def propose(self, prompt: Prompt) -> Proposal: ...

    def observe(self, model: str, improved: bool) -> None: ...

    def restore(self, model: str, cost_usd: float, failed: bool, improved: bool | None) -> None: ...

    @property
    def health(self) -> LLMHealth | None:
        """Model health for the live display and stop rules (None: nothing to report)."""

    def all_paused_s(self) -> float:
        """Seconds every model has been paused by its circuit breaker (0: one is available)."""


class BaseProposer:
    """Defaults for a proposer that learns nothing from outcomes and uses no templates."""

    name = "proposer"
    templates: Mapping[str, float] = MappingProxyType({})
    concurrency = 0

    def observe(self, model: str, improved: bool) -> None:
        """Nothing to learn."""

    def restore(self, model: str, cost_usd: float, failed: bool, improved: bool | None) -> None:
        """Nothing to replay."""

    health: LLMHealth | None = None

    def all_paused_s(self) -> float:
        return 0.0


class ProposalError(RuntimeError):
    """The proposer could not produce a proposal (e.g. the LLM call failed after retries).

    ``calls`` carries the accounting of the failed call(s), so the loop can still record them;
    ``feedback`` is what is stored with the failed candidate.
    """

    def __init__(self, message: str, usage: Usage | None = None,
                 calls: tuple[Usage, ...] = ()) -> None:
        super().__init__(message)
        self.calls = tuple(calls) or ((usage,) if usage is not None else ())
        self.prompt = ""  # the rendered prompt, if one was sent

    @property
    def feedback(self) -> str:
        return f"the proposer failed: {self}"

    @property
    def usage(self) -> Usage | None:
        return self.calls[-1] if self.calls else None
