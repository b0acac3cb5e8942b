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
    latency_s: float = 0.0
    error: str = ""  # set when the call failed after retries


@dataclass(frozen=True)
class Proposal:
    text: str  # LLM reply (SEARCH/REPLACE blocks or a fenced program), or the mutator's full program
    kind: Literal["diff", "rewrite"]  # how adrs.patch should read ``text``
    proposer: str  # "llm" | "mutator"
    model: str | None = None
    usage: Usage | None = None
    note: str = ""  # short description (mutator: which edits it made)


class Proposer(Protocol):
    name: str
    uses_prompt: bool  # False: the loop skips rendering messages (the mutator reads code, not text)

    async def propose(self, prompt: Prompt) -> Proposal: ...


class ProposalError(RuntimeError):
    """The proposer could not produce a proposal (e.g. the LLM call failed after retries).

    ``usage`` carries the accounting of the failed attempt(s), so the loop can still record the call.
    """

    def __init__(self, message: str, usage: Usage | None = None) -> None:
        super().__init__(message)
        self.usage = usage


def make_proposer(llm: LLMConfig, vocabulary: dict[str, Any]) -> Proposer:
    """The LLM proposer when a model is configured, else the built-in offline mutator."""
    if llm.model:
        from adrs.proposer.llm import LLMProposer, check_llm_environment

        check_llm_environment(llm)
        return LLMProposer(llm)
    from adrs.proposer.mutator import MutatorProposer

    return MutatorProposer(vocabulary)
