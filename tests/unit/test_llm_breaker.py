"""adrs.proposer.breaker: closed -> open after K failures -> half-open after the cool-down -> closed."""

from __future__ import annotations

import pytest

from adrs.proposer.breaker import CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_k_consecutive_failures_only():
    clock = Clock()
    breaker = CircuitBreaker(failures=3, cooldown_s=10, clock=clock)
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()  # resets the count
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state == "closed" and breaker.allows()
    breaker.record_failure()
    assert breaker.state == "open" and not breaker.allows()
    assert breaker.reopens_in_s() == pytest.approx(10.0)
    assert "paused" in breaker.describe()


def test_half_open_lets_one_trial_through_then_closes_on_success():
    clock = Clock()
    breaker = CircuitBreaker(failures=1, cooldown_s=5, clock=clock)
    breaker.record_failure()
    clock.now += 4.9
    assert not breaker.allows() and breaker.reopens_in_s() == pytest.approx(0.1)
    clock.now += 0.2
    assert breaker.state == "half-open" and breaker.allows()
    breaker.start()  # the trial call
    assert not breaker.allows()  # a second call waits for the trial's outcome
    breaker.record_success()
    assert breaker.state == "closed" and breaker.allows()
    assert breaker.events == ["open", "half-open", "closed"]


def test_failed_trial_reopens_for_a_full_cooldown():
    clock = Clock()
    breaker = CircuitBreaker(failures=2, cooldown_s=5, clock=clock)
    breaker.record_failure()
    breaker.record_failure()
    clock.now += 6
    breaker.start()
    breaker.record_failure()  # one failure in half-open is enough
    assert breaker.state == "open" and breaker.reopens_in_s() == pytest.approx(5.0)
    assert breaker.events == ["open", "half-open", "open"]


def test_invalid_threshold():
    with pytest.raises(ValueError):
        CircuitBreaker(failures=0, cooldown_s=1)
