"""Running health of an LLM proposer for people watching a campaign: calls that answered or
failed, tokens, dollars, the latest failure in words, and every model's breaker state.

The LLM proposer updates it on every attempt; the progress display and the stop rules
(``adrs.stop_rules``) read it. It makes no calls and decides nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class LLMHealth:
    calls_ok: int = 0
    calls_failed: int = 0  # failed attempts (each retry counts)
    tokens: int = 0
    cost_usd: float = 0.0
    last_error: str = ""  # the latest failed attempt, in words, with the model's name
    last_error_at: float = 0.0  # time.monotonic() of it
    last_ok_at: float = 0.0
    breakers: dict[str, str] = field(default_factory=dict)  # model -> "closed" / "open" / ...

    def ok(self, tokens: int, cost_usd: float) -> None:
        self.calls_ok += 1
        self.tokens += tokens
        self.cost_usd += cost_usd
        self.last_ok_at = time.monotonic()

    def failed(self, model: str, why: str) -> None:
        self.calls_failed += 1
        self.last_error = f"{model}: {why}"
        self.last_error_at = time.monotonic()

    def summary(self) -> str:
        """One line: ``LLM 12 ok / 3 failed, 18.2k tokens, $0.0123, breakers: m closed``."""
        tokens = f"{self.tokens / 1000:.1f}k" if self.tokens >= 1000 else str(self.tokens)
        states = ", ".join(f"{m} {s}" for m, s in self.breakers.items())
        return (f"LLM {self.calls_ok} ok / {self.calls_failed} failed, {tokens} tokens, "
                f"${self.cost_usd:.4f}" + (f", breaker: {states}" if states else ""))
