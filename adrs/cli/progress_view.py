"""The live progress of ``adrs run`` / ``adrs resume``: a rich bar with detail lines (candidates by
status, LLM health, the latest failure) on a terminal; a plain line every few seconds otherwise
(CI, ``nohup``, a log file), so a stalled campaign is never silent. Formatting is in
``adrs.progress``; this module only picks the display and feeds it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from adrs.cli.common import console, fmt_score, fmt_seconds
from adrs.progress import (
    DEFAULT_EVERY_S,
    PlainTicker,
    counts_text,
    health_text,
    last_llm_error,
    progress_line,
)

if TYPE_CHECKING:
    from adrs.evolve import Campaign
    from adrs.evolve import Progress as LoopProgress


class _Bar(Progress):
    """A rich progress bar followed by detail lines computed at each refresh."""

    detail: Any = None

    def get_renderables(self):  # noqa: ANN201 - rich's API
        yield self.make_tasks_table(self.tasks)
        if self.detail is not None:
            text = self.detail()
            if text:
                yield Text(text, overflow="ellipsis", no_wrap=True)


class LiveProgress:
    """Context manager yielding the loop's ``on_progress`` callback."""

    def __init__(self, campaign: Campaign, every_s: float = DEFAULT_EVERY_S) -> None:
        import time

        self.campaign = campaign
        self.latest: LoopProgress | None = None
        self.terminal = console.is_terminal
        self._t0 = self._emitted_at = time.monotonic()
        self._clock = time.monotonic
        if self.terminal:
            self.bar = _Bar(TextColumn("[bold]candidates"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("{task.fields[stats]}"), TimeElapsedColumn(),
                            TextColumn("ETA {task.fields[eta]}"), console=console)
            self.bar.detail = self._detail
        else:
            self.ticker = PlainTicker(self._plain, every_s)

    def __enter__(self):  # noqa: ANN204 - returns the callback
        if self.terminal:
            self.bar.start()
            budget = self.campaign.config.evolution.budget
            self.task = self.bar.add_task("evolve", total=budget, stats="", eta="—")
        else:
            self.ticker.start()
        return self.update

    def update(self, p: LoopProgress) -> None:
        self.latest = p
        self._emitted_at = self._clock()
        if not self.terminal:
            return
        valid = f"valid {100 * p.valid / p.done:.0f}%" if p.done else "valid —"
        spec = self.campaign.spec
        baselines = "  ".join(f"{name} {fmt_score(score)}" for name, score in p.baselines.items())
        cost = f"  ${p.cost_usd:.2f}" if p.cost_usd else ""
        stats = (f"{valid}  best train {spec.objective} {fmt_score(p.best_score)}  vs "
                 f"{baselines}{cost}")
        self.bar.update(self.task, completed=p.done, total=p.budget, stats=stats,
                        eta=fmt_seconds(p.eta_s))

    def _detail(self) -> str:
        proposer = self.campaign.proposer
        lines = []
        if self.latest is not None:
            lines.append(counts_text(self.latest.counts))
        health = health_text(proposer)
        if health:
            lines.append(health)
        error = last_llm_error(proposer)
        if error:
            lines.append(f"last LLM error: {error}")
        if self.latest is not None and self.latest.last_failure:
            lines.append(f"last failure {self.latest.last_failure}")
        return "\n".join(lines)

    def _plain(self) -> str:
        p = self.latest
        elapsed = self._clock() - self._t0
        if p is None:
            budget = self.campaign.config.evolution.budget
            line = f"[starting, {elapsed:.0f} s] candidates 0/{budget}"
            health = health_text(self.campaign.proposer)
            error = last_llm_error(self.campaign.proposer)
            return line + (f" | {health}" if health else "") + \
                (f" | last LLM error: {error}" if error else "")
        return progress_line(p, self.campaign.proposer, self.campaign.spec.objective, fmt_score,
                             p.elapsed_s + self._clock() - self._emitted_at)

    def __exit__(self, *exc: object) -> None:
        if self.terminal:
            self.bar.stop()
        else:
            self.ticker.stop()
