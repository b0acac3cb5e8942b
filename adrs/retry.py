"""Retry evaluations that failed for reasons outside the candidate (``infra_error``).

A dead Ray worker, a lost node or a sandbox server that died says nothing about the program, so
``RetryingExecutor`` evaluates the same code again, up to ``attempts`` times in all, before the
``infra_error`` is recorded (and counted against ``evolution.max_evaluator_errors``). Only
``infra_error`` is retried: an ``evaluator_error`` is a bug in trusted code that another try would
only repeat, and a candidate's own failure is its result.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from adrs.status import Status

if TYPE_CHECKING:
    from adrs.evaluation import EvalResult, Split
    from adrs.executor import Executor


class RetryingExecutor:
    """``executor`` whose ``infra_error`` results are tried again, ``attempts`` times in all."""

    def __init__(self, executor: Executor, attempts: int) -> None:
        if attempts < 1:
            raise ValueError(f"attempts must be >= 1, got {attempts}")
        self.executor, self.attempts = executor, attempts

    async def evaluate(self, code: str, split: Split) -> EvalResult:
        failures: list[str] = []
        for _ in range(self.attempts):
            result = await self.executor.evaluate(code, split)
            if result.status is not Status.INFRA_ERROR:
                return result
            failures.append(result.feedback.partition("\n")[0][:300])
        return replace(result, feedback=_feedback(self.attempts, failures, result.feedback))

    def cancel(self) -> None:
        self.executor.cancel()

    def __getattr__(self, name: str) -> object:  # e.g. LocalExecutor.load, .limits
        return getattr(self.executor, name)


def _feedback(attempts: int, failures: list[str], last: str) -> str:
    if attempts == 1:
        return last
    tries = "\n".join(f"  attempt {i}: {line}" for i, line in enumerate(failures, 1))
    return (f"The infrastructure failed on all {attempts} attempts "
            f"(evolution.infra_retries = {attempts - 1}):\n{tries}\nThe last failure:\n{last}")


def with_retries(executor: Executor, retries: int) -> Executor | RetryingExecutor:
    """``executor`` retried ``retries`` times after an ``infra_error`` (unchanged for 0)."""
    return RetryingExecutor(executor, retries + 1) if retries > 0 else executor


