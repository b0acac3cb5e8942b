"""Proposers turn a Prompt into a Proposal: the text of a changed program.

Two implementations: ``llm`` (litellm, any provider) and ``mutator`` (the built-in offline program
mutator). Both satisfy the small ``Proposer`` protocol below; the loop does not know which it has.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from adrs.config import LLMConfig

if TYPE_CHECKING:  # importing adrs.prompt loads jinja2; browsing commands do not need it
    from adrs.prompt import Prompt


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

    @property
    def usage(self) -> Usage | None:
        """The call that produced the text (the last one)."""
        return self.calls[-1] if self.calls else None


class Proposer(Protocol):
    """What the loop calls. LLM proposers also have ``observe(model, improved)`` (the outcome of a
    child, for the bandit) and ``prompt_budget()`` (the prompt size limit, or None)."""

    name: str
    uses_prompt: bool  # False: the loop skips rendering messages (the mutator reads code, not text)

    async def propose(self, prompt: Prompt) -> Proposal: ...


class ProposalError(RuntimeError):
    """The proposer could not produce a proposal (e.g. the LLM call failed after retries).

    ``calls`` carries the accounting of the failed call(s), so the loop can still record them.
    """

    def __init__(self, message: str, usage: Usage | None = None,
                 calls: tuple[Usage, ...] = ()) -> None:
        super().__init__(message)
        self.calls = tuple(calls) or ((usage,) if usage is not None else ())

    @property
    def usage(self) -> Usage | None:
        return self.calls[-1] if self.calls else None


def make_proposer(llm: LLMConfig, vocabulary: dict[str, Any]) -> Proposer:
    """The LLM proposer when a model (or an ensemble) is configured, else the offline mutator."""
    if llm.ensemble():
        from adrs.proposer.llm import LLMProposer, check_llm_environment

        check_llm_environment(llm)
        return LLMProposer(llm)
    from adrs.proposer.mutator import MutatorProposer

    return MutatorProposer(vocabulary)
