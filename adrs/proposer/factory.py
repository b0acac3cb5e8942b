"""Which proposer a run uses: the LLM proposer when a model (or an ensemble) is configured, else
the built-in offline mutator. Kept apart from ``adrs.proposer`` so the implementations can import
the protocol's types without an import cycle; importing this module loads neither of them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from adrs.config import LLMConfig, PromptConfig
from adrs.proposer import Proposer

if TYPE_CHECKING:
    from adrs.prompt import ProblemContext


def make_proposer(llm: LLMConfig, vocabulary: dict[str, Any], prompt: PromptConfig | None = None,
                  problem: ProblemContext | None = None) -> Proposer:
    """The LLM proposer when a model (or an ensemble) is configured, else the offline mutator.
    The LLM proposer renders ``prompt``'s templates about ``problem`` (both checked here)."""
    if llm.ensemble():
        from adrs.proposer.llm import LLMProposer, check_llm_environment

        check_llm_environment(llm)
        return LLMProposer(llm, prompt=prompt, problem=problem)
    from adrs.proposer.mutator import MutatorProposer

    return MutatorProposer(vocabulary)
