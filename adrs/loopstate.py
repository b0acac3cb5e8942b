"""The driver's in-memory view of a run while the loop runs, and the Progress values it reports.

``LoopState`` mirrors the run's programs (loaded from the database on resume, then one ProgramView
per recorded outcome), the candidates finished, the time and dollars spent, and the evaluator
errors of this session. It decides which programs candidate ``seq`` may see (those at least
``window`` candidates older, so the lineage does not depend on completion order) and whether they
are all finished. It does no I/O and renders nothing.
"""

from __future__ import annotations

import dataclasses
import time
from bisect import bisect_right, insort
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from adrs.outcome import Outcome
from adrs.plan import SEED_SEQ
from adrs.program import ProgramView
from adrs.progress import first_line
from adrs.status import Fault, Status


@dataclass(frozen=True)
class Progress:
    done: int  # candidates finished (seed excluded)
    budget: int
    valid: int
    best_score: float | None
    baselines: dict[str, float | None]  # train scores of the problem's compare_with baselines
    elapsed_s: float
    cost_usd: float
    in_flight: int
    session_done: int = 0  # finished in this session (for the ETA)
    session_s: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)  # candidates by status
    last_failure: str = ""  # the latest failed candidate's reason, one line

    @property
    def eta_s(self) -> float | None:
        if self.session_done == 0:
            return None
        return (self.budget - self.done) * self.session_s / self.session_done


def in_flight_window(workers: int, concurrency: int) -> int:
    """Candidates in flight at once, and how much older than ``seq`` a program must be for
    candidate ``seq`` to see it: ``workers`` evaluations, ``concurrency`` LLM requests, and as many
    again planned and waiting for a request slot, so that when a wave of replies arrives the next
    wave of requests leaves at once instead of waiting for the first wave's evaluations (with 16
    requests at once and 3 s replies, ``workers + concurrency`` took 1.6 x the ideal time)."""
    return workers + 2 * concurrency


class LoopState:
    """Incremental: each finished program updates its structures once (programs kept sorted by
    seq, the longest finished prefix of seqs, counters for Progress), so the work per candidate
    does not grow with the run."""

    def __init__(self, programs: list[ProgramView], elapsed_s: float, cost_usd: float) -> None:
        self.programs: list[ProgramView] = []  # in the order they were recorded
        self.done: set[int] = set()
        self._by_seq: list[ProgramView] = []  # the same programs sorted by seq
        self._finished_to = SEED_SEQ - 1  # every seq up to this one is done
        self._seed: ProgramView | None = None
        self._counts: Counter[str] = Counter()  # candidates (seed excluded) by status
        self._valid = 0
        self._last_failure: ProgramView | None = None  # newest (by seq) failed candidate
        self._best: float | None = None  # best OK score folded over programs[:_best_upto]
        self._best_upto = 0  # ... under the ``better`` rule _best_rule
        self._best_rule: Callable[[float | None, float | None], bool] | None = None
        self._codes: dict[str, str] = {}  # one string per distinct program text (duplicates share)
        self.elapsed_base, self.cost_usd = elapsed_s, cost_usd
        self.started = time.perf_counter()
        self.session_done = 0
        self.trusted_errors = 0  # failures of trusted code or infrastructure in this session
        for program in programs:
            self._record(program)

    def elapsed_s(self) -> float:
        return self.elapsed_base + time.perf_counter() - self.started

    def visible(self, seq: int, window: int) -> list[ProgramView]:
        """The programs candidate ``seq`` may see, in candidate order (never completion order,
        which varies between runs)."""
        horizon = max(SEED_SEQ, seq - window)
        return self._by_seq[:bisect_right(self._by_seq, horizon, key=_seq)]

    def can_propose(self, seq: int, window: int) -> bool:
        if seq == SEED_SEQ:
            return True
        return max(SEED_SEQ, seq - window) <= self._finished_to

    def seed_program(self) -> ProgramView | None:
        return self._seed

    def add(self, program: ProgramView, outcome: Outcome) -> None:
        """Count a recorded outcome (``program`` is its stored row)."""
        self._record(program)
        self.session_done += program.seq != SEED_SEQ
        self.trusted_errors += outcome.status.fault is Fault.TRUSTED
        if outcome.proposal is not None:
            self.cost_usd += sum(usage.cost_usd for usage in outcome.proposal.calls)

    def _record(self, program: ProgramView) -> None:
        code = self._codes.setdefault(program.code, program.code)
        if code is not program.code:  # a repeated text: keep one copy of it, not one per program
            program = dataclasses.replace(program, code=code)
        self.programs.append(program)
        self.done.add(program.seq)
        if self._by_seq and program.seq < self._by_seq[-1].seq:
            insort(self._by_seq, program, key=_seq)
        else:
            self._by_seq.append(program)
        while self._finished_to + 1 in self.done:
            self._finished_to += 1
        if program.seq == SEED_SEQ:
            if self._seed is None:
                self._seed = program
            return
        self._counts[program.status] += 1
        self._valid += program.status == Status.OK
        if program.status != "ok" and (self._last_failure is None
                                       or program.seq > self._last_failure.seq):
            self._last_failure = program

    def progress(self, budget: int, better: Callable[[float | None, float | None], bool],
                 baselines: dict[str, float | None], in_flight: int) -> Progress:
        """A Progress snapshot; ``better(score, best)`` says whether a score beats the best."""
        if better != self._best_rule:  # a bound method is a new object at each access
            self._best, self._best_upto, self._best_rule = None, 0, better
        best = self._best
        for p in self.programs[self._best_upto:]:
            if p.status == Status.OK and better(p.score, best):
                best = p.score
        self._best, self._best_upto = best, len(self.programs)
        last = self._last_failure
        reason = f"#{last.seq} {last.status}: {first_line(last.feedback)}" if last else ""
        return Progress(done=sum(self._counts.values()), budget=budget, valid=self._valid,
                        best_score=best, baselines=baselines, elapsed_s=self.elapsed_s(),
                        cost_usd=self.cost_usd, in_flight=in_flight,
                        session_done=self.session_done,
                        session_s=time.perf_counter() - self.started,
                        counts=dict(self._counts), last_failure=reason)


def _seq(program: ProgramView) -> int:
    return program.seq
