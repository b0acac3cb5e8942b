"""What a running campaign shows: candidates by status, the latest failure's reason, LLM health.

``outcome_summary`` condenses the programs of a run (for ``adrs.evolve.Progress``);
``progress_line`` renders a Progress (plus the LLM proposer's health, read live) as the one plain
line printed every few seconds when stdout is not a terminal (CI, ``nohup``, a log file), and as
the detail lines of the live terminal display. ``PlainTicker`` is the thread that prints those
lines. Nothing here touches the database or the loop; it only formats what it is given.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import IO, Any

# display order; any other status is shown after these
STATUS_ORDER = ("ok", "invalid", "error", "timeout", "memory", "syntax_error", "bad_output",
                "below_threshold", "duplicate", "patch_error", "proposal_error", "evaluator_error",
                "infra_error")
SHORT = {"patch_error": "patch-fail", "proposal_error": "proposal-fail", "syntax_error": "syntax",
         "bad_output": "bad-output", "evaluator_error": "evaluator-error",
         "infra_error": "infra-error", "below_threshold": "below-threshold"}
DEFAULT_EVERY_S = 5.0


def outcome_summary(programs: Iterable[Any]) -> dict[str, Any]:
    """``counts`` by status and ``last_failure`` (the newest non-ok candidate's reason)."""
    counts: Counter[str] = Counter()
    last = None
    for p in programs:
        counts[p.status] += 1
        if p.status != "ok" and (last is None or p.seq > last.seq):
            last = p
    reason = f"#{last.seq} {last.status}: {first_line(last.feedback)}" if last is not None else ""
    return {"counts": dict(counts), "last_failure": reason}


def first_line(text: str, limit: int = 160) -> str:
    for line in (text or "").splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= limit else line[: limit - 1] + "…"
    return ""


def counts_text(counts: dict[str, int]) -> str:
    order = [s for s in STATUS_ORDER if counts.get(s)] + sorted(set(counts) - set(STATUS_ORDER))
    return " ".join(f"{SHORT.get(s, s)} {counts[s]}" for s in order) or "none yet"


def health_text(proposer: Any) -> str:
    """The LLM proposer's health line, or "" for the offline mutator."""
    health = proposer.health
    return health.summary() if health is not None else ""


def last_llm_error(proposer: Any) -> str:
    health = proposer.health
    return first_line(health.last_error, 200) if health is not None and health.last_error else ""


def progress_line(p: Any, proposer: Any, objective: str, fmt: Callable[[float | None], str],
                  elapsed_s: float | None = None) -> str:
    """One plain line: done/budget, counts, best train score, elapsed, LLM health, last failure."""
    elapsed = p.elapsed_s if elapsed_s is None else elapsed_s
    parts = [f"[{_clock(elapsed)}] candidates {p.done}/{p.budget}",
             counts_text(p.counts), f"best train {objective} {fmt(p.best_score)}"]
    if p.in_flight:
        parts.append(f"in flight {p.in_flight}")
    health = health_text(proposer)
    if health:
        parts.append(health)
    line = " | ".join(parts)
    error = last_llm_error(proposer)
    if error:
        line += f" | last LLM error: {error}"
    if p.last_failure:
        line += f" | last failure {p.last_failure}"
    return line


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:d}:{minutes:02d}:{secs:02d}"


class PlainTicker:
    """Prints ``render()`` to ``out`` every ``every_s`` seconds from a background thread (and once
    more on ``stop``), for output that is not a terminal."""

    def __init__(self, render: Callable[[], str | None], every_s: float = DEFAULT_EVERY_S,
                 out: IO[str] | None = None) -> None:
        self.render = render
        self.every_s = every_s
        self.out = out or sys.stdout
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="adrs-progress", daemon=True)
        self._started = time.monotonic()

    def start(self) -> PlainTicker:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._print()

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self._print()

    def _print(self) -> None:
        try:
            line = self.render()
        except Exception as err:  # a display bug must not end a campaign
            line = f"(progress unavailable: {type(err).__name__}: {err})"
        if line:
            print(line, file=self.out, flush=True)
