"""A circuit breaker per model: pause a model that keeps failing, then let one trial call through.

Closed (normal) -> open after ``failures`` consecutive failed attempts -> half-open after
``cooldown_s`` (one trial call at a time) -> closed again on a success, open again on a failure.
The clock is injectable so tests need not sleep. It does not make calls or decide what a failure
is; the LLM proposer reports each attempt's outcome.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

State = Literal["closed", "open", "half-open"]


class CircuitBreaker:
    def __init__(self, failures: int, cooldown_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if failures < 1:
            raise ValueError(f"failures must be >= 1, got {failures}")
        self.failures = failures
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._state: State = "closed"
        self._consecutive = 0
        self._opened_at = 0.0
        self._trial_in_flight = False
        self._left_closed_at: float | None = None  # when it last moved away from "closed"
        self.events: list[str] = []  # "open", "half-open", "closed" transitions, in order

    @property
    def state(self) -> State:
        if self._state == "open" and self._clock() >= self._opened_at + self.cooldown_s:
            self._move("half-open")
        return self._state

    def reopens_in_s(self) -> float:
        """Seconds until an open breaker lets a trial call through (0 when it allows calls)."""
        if self.state != "open":
            return 0.0
        return max(0.0, self._opened_at + self.cooldown_s - self._clock())

    def allows(self) -> bool:
        """True if a call may start now (closed, or half-open with no trial call running)."""
        state = self.state
        return state == "closed" or (state == "half-open" and not self._trial_in_flight)

    def start(self) -> None:
        """A call starts (in the half-open state it is the one trial call)."""
        if self.state == "half-open":
            self._trial_in_flight = True

    def record_success(self) -> None:
        self._consecutive = 0
        self._trial_in_flight = False
        if self._state != "closed":
            self._move("closed")

    def record_failure(self) -> None:
        self._consecutive += 1
        self._trial_in_flight = False
        if self.state == "half-open" or (self._state == "closed"
                                         and self._consecutive >= self.failures):
            self._opened_at = self._clock()
            self._move("open")

    def not_closed_for_s(self) -> float:
        """Seconds since the breaker last left the closed state (0 while closed)."""
        if self._state == "closed" or self._left_closed_at is None:
            return 0.0
        return max(0.0, self._clock() - self._left_closed_at)

    def describe(self) -> str:
        state = self.state
        if state == "open":
            return f"paused (circuit open, trial call in {self.reopens_in_s():.1f} s)"
        if state == "half-open":
            return "half-open (trial call)"
        return f"closed ({self._consecutive} consecutive failures)"

    def _move(self, state: State) -> None:
        if state == "closed":
            self._left_closed_at = None
        elif self._state == "closed":
            self._left_closed_at = self._clock()
        self._state = state
        self.events.append(state)
