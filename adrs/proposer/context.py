"""Keep a prompt under the model's context window by trimming what may be trimmed.

``fit_prompt`` renders the prompt, counts its tokens and, while it is too long, drops inspirations
(the last one first), then shortens the evaluator feedback shown with the parent. The parent program
is never cut: if the prompt is still too long it raises ``PromptTooLong`` with a message saying how
many tokens the parent needs and what to change. ``PromptBudget`` (how many prompt tokens a model
accepts and how to count them) comes from the LLM proposer, which reads the context window from
litellm's bundled table (``adrs.proposer.model_table``); this module does not import litellm and
does not render templates itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from adrs.program import ProgramView

if TYPE_CHECKING:
    from adrs.prompt import Prompt

# characters of evaluator feedback shown with the parent: the first is the default
FEEDBACK_LIMITS = (3000, 1000, 300, 0)

Render = Callable[[tuple[ProgramView, ...], int], "Prompt"]  # (inspirations, feedback_limit)


class PromptTooLong(ValueError):
    """Even without inspirations and feedback the prompt exceeds the model's context window."""


@dataclass(frozen=True)
class PromptBudget:
    max_prompt_tokens: int  # the context window minus the tokens reserved for the reply
    context_tokens: int
    reply_tokens: int  # llm.max_tokens
    model: str  # the model whose window is the smallest
    count: Callable[[Sequence[dict[str, str]]], int]  # tokens of a list of messages


def fit_prompt(render: Render, inspirations: Sequence[ProgramView],
               budget: PromptBudget | None) -> Prompt:
    """The longest prompt that fits ``budget`` (the full prompt when ``budget`` is None)."""
    kept = tuple(inspirations)
    prompt = render(kept, FEEDBACK_LIMITS[0])
    if budget is None:
        return prompt
    tokens = budget.count(prompt.messages)
    while tokens > budget.max_prompt_tokens and kept:
        kept = kept[:-1]
        prompt = render(kept, FEEDBACK_LIMITS[0])
        tokens = budget.count(prompt.messages)
    for limit in FEEDBACK_LIMITS[1:]:
        if tokens <= budget.max_prompt_tokens:
            break
        prompt = render(kept, limit)
        tokens = budget.count(prompt.messages)
    if tokens > budget.max_prompt_tokens:
        parent = prompt.parent
        raise PromptTooLong(
            f"the prompt for parent program #{parent.id} (candidate {parent.seq}) needs {tokens} "
            f"tokens even without inspirations and evaluator feedback, but {budget.model} accepts "
            f"{budget.max_prompt_tokens} (context window {budget.context_tokens} minus "
            f"llm.max_tokens={budget.reply_tokens} for the reply). The parent program is never "
            f"cut: shorten the program (the seed's code), lower llm.max_tokens, or use a model "
            f"with a larger context window (llm.context_tokens sets it for local models).")
    return prompt
