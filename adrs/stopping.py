"""Stop rules: each looks at the run before candidate ``next_seq`` is started and returns why the
campaign should stop, or "" to go on. The loop asks ``Campaign.stop_rules`` in order (default:
the candidate, time and dollar budgets); a rule that fires lets the candidates in flight finish.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from adrs.config import EvolutionConfig
from adrs.loopstate import LoopState

StopRule = Callable[[EvolutionConfig, LoopState, int], str]


def candidate_budget(evolution: EvolutionConfig, state: LoopState, next_seq: int) -> str:
    return f"candidate budget reached ({evolution.budget})" if next_seq > evolution.budget else ""


def time_budget(evolution: EvolutionConfig, state: LoopState, next_seq: int) -> str:
    if evolution.max_time_s is not None and state.elapsed_s() >= evolution.max_time_s:
        return f"time budget reached ({evolution.max_time_s:.0f} s)"
    return ""


def dollar_budget(evolution: EvolutionConfig, state: LoopState, next_seq: int) -> str:
    if evolution.budget_usd is not None and state.cost_usd >= evolution.budget_usd:
        return f"dollar budget reached (${state.cost_usd:.2f} of ${evolution.budget_usd:.2f})"
    return ""


BUDGETS: tuple[StopRule, ...] = (candidate_budget, time_budget, dollar_budget)


def stop_reason(rules: Sequence[StopRule], evolution: EvolutionConfig, state: LoopState,
                next_seq: int) -> str:
    """The first reason a rule gives, or ""."""
    for rule in rules:
        reason = rule(evolution, state, next_seq)
        if reason:
            return reason
    return ""
