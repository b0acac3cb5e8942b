"""When the LLM is gone, stop the campaign instead of burning its budget, and pace failures.

``LLMWatch`` sees every finished proposal (its status) and the LLM proposer's breakers:
- **stop rule**: ``llm.stop_after_failed_proposals`` failed proposals in a row, or every model's
  circuit breaker open (not closed) for ``llm.stop_after_unavailable_s``, gives the stop reason
  ``LLM unavailable: ...`` (the run is marked ``stopped``, and ``adrs resume`` continues it);
- **pacing**: while proposals fail, one proposal at a time, and the next starts no sooner than
  ``llm.timeout_s`` after the previous failed one started, so failures never spend the candidate
  budget faster than one per timeout;
- **the dollar gate**: a proposal takes one of ``llm.concurrency`` slots before it asks the model,
  and once the dollars of the proposals returned so far (stored or not) reach
  ``evolution.budget_usd`` it is dropped instead (``DollarBudgetSpent``): candidates planned ahead
  of the replies cannot overspend (only calls already under way can).
A proposer without an LLM (the offline mutator) is never paced or stopped. The loop asks; this
module makes no calls, stores nothing and cancels nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from adrs.config import LLMConfig

STOPPED = "stopped"
UNAVAILABLE = "LLM unavailable"
FAILED_PROPOSAL = "proposal_error"


class DollarBudgetSpent(Exception):
    """The dollar budget was reached before this proposal asked a model: drop the candidate."""


class LLMWatch:
    poll_s = 0.25  # how often the loop asks ``stop_reason`` while every candidate waits

    def __init__(self, llm: LLMConfig, proposer: Any,
                 clock: Callable[[], float] = time.monotonic, budget_usd: float | None = None,
                 spent_usd: float = 0.0) -> None:
        """``spent_usd``: dollars of the calls stored before this session."""
        self.active = bool(llm.ensemble()) and hasattr(proposer, "health")
        self.budget_usd, self.spent_usd = budget_usd, spent_usd
        self._slots = asyncio.Semaphore(max(1, llm.concurrency))
        self.poll_s = self.poll_s if self.active else None  # type: ignore[assignment]
        self.llm = llm
        self.proposer = proposer
        self._clock = clock
        self.consecutive_failures = 0
        self.last_failure = ""
        self._next_start = 0.0
        self._lock = asyncio.Lock()
        self.proposing: set[int] = set()  # candidates waiting for or in a proposal
        self.reason = ""

    @asynccontextmanager
    async def turn(self, seq: int) -> AsyncIterator[None]:
        """Around one proposal, holding one of ``llm.concurrency`` slots. While proposals fail,
        one at a time, each starting no sooner than ``llm.timeout_s`` after the previous failed
        one started. Raises DollarBudgetSpent when the dollar budget is already spent."""
        self.proposing.add(seq)
        try:
            if not self.active:
                yield
                return
            async with self._slots:
                if self.budget_usd is not None and self.spent_usd >= self.budget_usd:
                    raise DollarBudgetSpent(f"${self.spent_usd:.2f} of ${self.budget_usd:.2f} spent")
                async with self._paced():
                    yield
        finally:
            self.proposing.discard(seq)

    @asynccontextmanager
    async def _paced(self) -> AsyncIterator[None]:
        """While proposals fail: one at a time, paced by ``llm.timeout_s``."""
        while self.consecutive_failures:
            async with self._lock:
                if not self.consecutive_failures:
                    break
                wait = self._next_start - self._clock()
                if wait > 0:
                    await asyncio.sleep(wait)
                self._started = self._clock()
                yield  # the one proposal of the streak
                return
        self._started = self._clock()
        yield

    def record(self, status: str, feedback: str, cost_usd: float = 0.0) -> None:
        """A proposal finished: ``proposal_error`` when no model answered, else anything;
        ``cost_usd``: the dollars its calls cost."""
        if not self.active:
            return
        self.spent_usd += cost_usd
        if status != FAILED_PROPOSAL:
            self.consecutive_failures = 0
            return
        self.consecutive_failures += 1
        self.last_failure = _first_line(feedback)
        started = getattr(self, "_started", self._clock())
        self._next_start = max(self._next_start, started + self.llm.timeout_s)

    def stop_reason(self) -> str:
        """``LLM unavailable: ...`` when a stop rule holds, else ""."""
        if not self.active:
            return ""
        if not self.reason:
            limit = self.llm.stop_after_failed_proposals
            paused = self.proposer.all_paused_s()
            if self.consecutive_failures >= limit:
                self.reason = (f"{UNAVAILABLE}: {self.consecutive_failures} proposals in a row "
                               f"failed (llm.stop_after_failed_proposals = {limit})")
            elif paused >= self.llm.stop_after_unavailable_s:
                self.reason = (f"{UNAVAILABLE}: every model paused by its circuit breaker for "
                               f"{paused:.0f} s (llm.stop_after_unavailable_s = "
                               f"{self.llm.stop_after_unavailable_s:g})")
            if self.reason:
                health = self.proposer.health
                last = self.last_failure or (health.last_error if health is not None else "")
                self.reason += f"; last error: {last}" if last else ""
        return self.reason


def _first_line(text: str) -> str:
    text = text.removeprefix("the proposer failed: ").strip()
    return text.splitlines()[0][:300] if text else ""
