"""Prompt size control: trim inspirations, then feedback, never the parent (adrs.proposer.context)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from adrs.config import LLMConfig, ModelConfig
from adrs.program import ProgramView
from adrs.prompt import ProblemContext, render_prompt
from adrs.proposer.context import PromptBudget, PromptTooLong, fit_prompt
from adrs.proposer.llm import LLMProposer

PROBLEM = ProblemContext(name="toy", description="Return 3.", entry="solve", signature="solve(x)",
                         objective="error", direction="minimize")
CODE = "# EVOLVE-BLOCK-START\ndef solve(x):\n    return x\n# EVOLVE-BLOCK-END\n"
PARENT = ProgramView(id=5, code=CODE, status="ok", score=2.0, feedback="FEEDBACK " * 400, seq=4)
INSPIRATIONS = tuple(ProgramView(id=10 + k, code=CODE.replace("x\n", f"x + {k}  # {'i' * 800}\n"),
                                 status="ok", score=1.0 + k) for k in range(3))


def chars(messages) -> int:
    return sum(len(m["content"]) for m in messages)


def render(kept, feedback_limit):
    return render_prompt("diff", PROBLEM, PARENT, kept, feedback_limit=feedback_limit)


def budget(limit: int) -> PromptBudget:
    return PromptBudget(max_prompt_tokens=limit, context_tokens=limit + 100, reply_tokens=100,
                        model="openai/small", count=chars)


def test_no_budget_or_enough_room_keeps_everything():
    full = render(INSPIRATIONS, 3000)
    assert fit_prompt(render, INSPIRATIONS, None) == full
    assert fit_prompt(render, INSPIRATIONS, budget(chars(full.messages))) == full


def test_inspirations_go_first_then_feedback_never_the_parent():
    full = chars(render(INSPIRATIONS, 3000).messages)
    one_fewer = fit_prompt(render, INSPIRATIONS, budget(full - 1))
    assert one_fewer.inspirations == INSPIRATIONS[:2]
    bare = render((), 3000)
    no_inspirations = fit_prompt(render, INSPIRATIONS, budget(chars(bare.messages)))
    assert no_inspirations.inspirations == () and "FEEDBACK" in no_inspirations.text
    tight = fit_prompt(render, INSPIRATIONS, budget(chars(render((), 0).messages)))
    assert "FEEDBACK" not in tight.text and CODE.strip() in tight.text


def test_over_long_parent_is_a_clear_error():
    minimum = chars(render((), 0).messages)
    with pytest.raises(PromptTooLong) as info:
        fit_prompt(render, INSPIRATIONS, budget(minimum - 1))
    message = str(info.value)
    assert f"needs {minimum} tokens" in message and "parent program #5" in message
    assert "never cut" in message and "openai/small" in message


def test_budget_from_litellm_context_windows_and_user_values():
    known = LLMProposer(LLMConfig(model="openai/gpt-4o-mini", max_tokens=1000)).prompt_budget()
    assert known.context_tokens == 128_000 and known.max_prompt_tokens == 127_000
    # far below the window: an upper bound (bytes + a few per message) is enough
    hello = [{"role": "user", "content": "hello world " * 10}]
    assert known.count(hello) == len("hello world " * 10) + len("user") + 16
    assert LLMProposer(LLMConfig(model="openai/my-local-model")).prompt_budget() is None
    ensemble = LLMConfig(models=(ModelConfig("openai/gpt-4o-mini"),
                                 ModelConfig("openai/local", context_tokens=8192)), max_tokens=1000)
    smallest = LLMProposer(ensemble).prompt_budget()
    assert (smallest.model, smallest.max_prompt_tokens) == ("openai/local", 7192)


def test_the_llm_proposer_renders_fits_and_refuses_what_cannot_fit():
    import asyncio

    from adrs.config import PromptConfig
    from adrs.errors import CampaignError
    from adrs.prompt import Prompt
    from adrs.proposer.llm import PromptNotSent

    def proposer(window: int) -> LLMProposer:
        config = LLMConfig(model="openai/local", context_tokens=window, max_tokens=100)
        return LLMProposer(config, prompt=PromptConfig(), problem=PROBLEM)

    planned = Prompt("diff", PARENT, INSPIRATIONS, seed=3)
    fitted = proposer(100_000).render(planned)
    assert fitted.messages and fitted.inspirations == INSPIRATIONS and fitted.seed == 3
    trimmed = proposer(1400).render(planned)  # ~1000 prompt tokens: inspirations go first
    assert len(trimmed.inspirations) < len(INSPIRATIONS) and "solve" in trimmed.text
    with pytest.raises(PromptNotSent) as info:
        asyncio.run(proposer(150).propose(planned))
    assert info.value.feedback.startswith("not sent: ") and not info.value.calls
    seed = Prompt("diff", ProgramView(id=1, code=CODE, status="ok", score=2.0, seq=0), (), seed=1)
    with pytest.raises(CampaignError, match="seed program is too long"):
        proposer(150).render(seed)


def test_a_prompt_near_the_window_is_counted_exactly_by_litellm():
    from adrs.proposer.llm import load_litellm

    config = LLMConfig(model="openai/gpt-4o-mini", context_tokens=300, max_tokens=100)
    budget = LLMProposer(config).prompt_budget()
    near = [{"role": "system", "content": "You write code."},
            {"role": "user", "content": "def solve(x):\n    return x * 0.5\n" * 8}]
    exact = load_litellm().token_counter(model="openai/gpt-4o-mini", messages=near)
    assert budget.count(near) == exact < budget.max_prompt_tokens  # the bound (over 200) did not fit
    short = [{"role": "user", "content": "hi"}]
    assert load_litellm().token_counter(model="openai/gpt-4o-mini", messages=short) <= budget.count(short)


def test_the_budget_of_a_known_model_needs_no_litellm_import():
    code = ("import sys\nfrom adrs.config import LLMConfig\nfrom adrs.proposer.llm import LLMProposer\n"
            "b = LLMProposer(LLMConfig(model='anthropic/claude-haiku-4-5')).prompt_budget()\n"
            "assert b.context_tokens == 200000 and b.count([{'role': 'user', 'content': 'x' * 5000}])\n"
            "sys.exit('litellm' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0
