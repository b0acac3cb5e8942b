"""Exact solver for 1||sum Tj: Lawler's decomposition, searched depth-first with memoised subproblems.

Jobs are renumbered in EDD order (due date, then processing time, then index). A subproblem is a
set of jobs (kept in EDD order) that starts at time t. Its longest job k (largest EDD rank among
ties) goes after exactly an EDD prefix of the set (Lawler 1977); a position is tried only if the
last predecessor is due no later than max(d_k, C_k) and the first successor no earlier (the
position conditions of Potts & Van Wassenhove 1982, ties kept; checked against Held–Karp and brute
force in tests/unit/test_smtt_exact.py). Each position splits the set into two independent
subproblems. Reductions applied before branching: EDD without tardiness is optimal; when every job
is tardy wherever it goes, SPT is optimal; a job due after the set's end goes last. Subproblem
results are memoised on (job set, start time); every branch is also cut against an upper bound
(incumbent of the caller) with a lower bound that pairs SPT completion times with sorted due dates,
and a cut result is remembered as a lower bound for that subproblem.

On a time limit the solver returns the starting schedule (given, or EDD/MDD + local search) as best
known, with the root lower bound, labelled ``best_known``; it never calls such a result optimal. It
does not handle weights (see ``weighted``) and does not validate input arrays (see
``instances_io``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

import numpy as np

from .heuristics import iterated_local_search, mdd_order
from .tardiness import total_tardiness

SOLVER_NAME = "lawler-decomposition-bnb"
SOLVER_VERSION = 1
_CHECK_EVERY = 2048


@dataclass(frozen=True)
class ExactResult:
    """Outcome of an exact solve: ``status`` is "optimal" (value proven) or "best_known"."""

    value: int
    order: np.ndarray
    status: str
    lower_bound: int
    seconds: float
    nodes: int

    @property
    def optimal(self) -> bool:
        return self.status == "optimal"


class SearchTimeout(Exception):
    pass


class _Search:
    """Memoised decomposition search over subsets of EDD-ranked jobs."""

    def __init__(self, p: list[int], d: list[int], deadline: float) -> None:
        self.p, self.d = p, d
        self.deadline = deadline
        self.exact: dict[tuple[tuple[int, ...], int], tuple[int, tuple]] = {}
        self.bound: dict[tuple[tuple[int, ...], int], int] = {}
        self.nodes = 0

    def lower_bound(self, jobs: tuple[int, ...], t: int) -> int:
        """sum_i max(0, C_i^SPT - d_(i)): i-th completion at least the SPT one, due dates sorted."""
        completions = accumulate(sorted(map(self.p.__getitem__, jobs)), initial=t)
        next(completions)
        due = map(self.d.__getitem__, jobs)
        return sum(c - dj for c, dj in zip(completions, due, strict=True) if c > dj)

    def solve(self, jobs: tuple[int, ...], t: int, upper: int) -> int:
        """Optimal total tardiness of ``jobs`` (EDD order) from time t, if it is below ``upper``.

        Returns a value >= ``upper`` (a lower bound, not the optimum) when the optimum is not below
        ``upper``; exact values are memoised in ``self.exact``.
        """
        key = (jobs, t)
        hit = self.exact.get(key)
        if hit is not None:
            return hit[0]
        known = self.bound.get(key, 0)
        if known >= upper:
            return known
        self.nodes += 1
        if self.nodes % _CHECK_EVERY == 0 and time.perf_counter() > self.deadline:
            raise SearchTimeout
        p, d = self.p, self.d
        m = len(jobs)
        if m == 1:
            j = jobs[0]
            value = max(0, t + p[j] - d[j])
            self.exact[key] = (value, ("seq", jobs))
            return value
        # EDD order without tardiness is optimal.
        c = t
        edd_value = 0
        all_tardy = True
        for j in jobs:
            c += p[j]
            if c > d[j]:
                edd_value += c - d[j]
            if d[j] > t + p[j]:
                all_tardy = False
        if edd_value == 0:
            self.exact[key] = (0, ("seq", jobs))
            return 0
        if all_tardy:  # T_j = C_j - d_j in every order: SPT (ties EDD) is optimal
            order = tuple(sorted(jobs, key=lambda j: (p[j], j)))
            c, value = t, 0
            for j in order:
                c += p[j]
                value += c - d[j]
            self.exact[key] = (value, ("seq", order))
            return value
        end = c
        last = jobs[-1]
        if d[last] >= end:  # the latest-due job finishes on time when last: put it last
            value = self.solve(jobs[:-1], t, upper)
            if value < upper:
                self.exact[key] = (value, ("last", jobs[:-1], t, last))
            else:
                self._remember_bound(key, value)
            return value
        lb = self.lower_bound(jobs, t)
        if lb >= upper:
            self._remember_bound(key, lb)
            return lb
        # Lawler: the longest job k follows exactly an EDD prefix of the set.
        r = 0
        for i in range(1, m):
            if p[jobs[i]] >= p[jobs[r]]:
                r = i
        k = jobs[r]
        pk, dk = p[k], d[k]
        positions = []
        c = t
        for i in range(m):
            if i != r:
                c += p[jobs[i]]
            if i < r:
                continue
            ck = c + pk
            # Last predecessor due no later than max(d_k, C_k); first successor due no earlier.
            if i > r and d[jobs[i]] > max(dk, ck):
                continue
            if i + 1 < m and d[jobs[i + 1]] < max(dk, ck):
                continue
            positions.append((i, ck))
        if not positions:
            raise AssertionError("decomposition eliminated every position of the longest job")
        # Positions from the earliest; a branch whose bound reaches the incumbent is cut.
        best = upper
        best_choice = None
        branch_lb = None
        for i, ck in positions:
            before = jobs[:r] + jobs[r + 1:i + 1]
            after = jobs[i + 1:]
            tk = max(0, ck - dk)
            bound_after = self.lower_bound(after, ck) if after else 0
            est = tk + bound_after + (self.lower_bound(before, t) if before else 0)
            if est >= best:
                branch_lb = est if branch_lb is None else min(branch_lb, est)
                continue
            v_before = self.solve(before, t, best - tk - bound_after) if before else 0
            if v_before + tk + bound_after >= best:
                total = v_before + tk + bound_after
                branch_lb = total if branch_lb is None else min(branch_lb, total)
                continue
            v_after = self.solve(after, ck, best - tk - v_before) if after else 0
            total = v_before + tk + v_after
            if total < best:
                best = total
                best_choice = (before, t, k, after, ck)
            else:
                branch_lb = total if branch_lb is None else min(branch_lb, total)
        if best_choice is not None:
            self.exact[key] = (best, ("split",) + best_choice)
            return best
        # Every branch is >= upper: the subproblem's optimum is the smallest branch bound.
        value = max(branch_lb, lb, upper)
        self._remember_bound(key, value)
        return value

    def _remember_bound(self, key: tuple[tuple[int, ...], int], value: int) -> None:
        if value > self.bound.get(key, 0):
            self.bound[key] = value

    def sequence(self, jobs: tuple[int, ...], t: int) -> list[int]:
        """Job order achieving the memoised optimum of a solved subproblem."""
        out: list[int] = []
        stack = [(jobs, t)]
        while stack:
            item = stack.pop()
            if isinstance(item, int):
                out.append(item)
                continue
            sub, start = item
            if not sub:
                continue
            _, how = self.exact[(sub, start)]
            if how[0] == "seq":
                out.extend(how[1])
            elif how[0] == "last":
                stack.append(how[3])
                stack.append((how[1], how[2]))
            else:
                _, before, tb, k, after, ca = how
                stack.append((after, ca))
                stack.append(k)
                stack.append((before, tb))
        return out


def heuristic_order(p: np.ndarray, d: np.ndarray, iterations: int = 30, seed: int = 0
                    ) -> tuple[np.ndarray, int]:
    """Upper bound: the better of EDD and MDD, improved by a short iterated local search."""
    starts = [np.argsort(d, kind="stable"), mdd_order(p, d)]
    start = min(starts, key=lambda order: total_tardiness(p, d, order))
    return iterated_local_search(p, d, start, iterations, np.random.default_rng(seed))


def solve_exact(p: np.ndarray, d: np.ndarray, time_limit_s: float = 60.0,
                upper_order: np.ndarray | None = None) -> ExactResult:
    """Minimise total tardiness exactly, within ``time_limit_s`` seconds of wall time.

    ``upper_order`` (optional) is a known good order used as the first incumbent; otherwise a short
    EDD/MDD + local-search run provides it. The result is "optimal" only when the search finished.
    """
    started = time.perf_counter()
    p = np.asarray(p, dtype=np.int64)
    d = np.asarray(d, dtype=np.int64)
    n = len(p)
    if n == 0:
        return ExactResult(0, np.zeros(0, dtype=np.int64), "optimal", 0, 0.0, 0)
    if upper_order is None:
        upper_order, upper = heuristic_order(p, d)
    else:
        upper_order = np.asarray(upper_order, dtype=np.int64)
        upper = total_tardiness(p, d, upper_order)
    rank = np.lexsort((np.arange(n), p, d))  # EDD rank -> original job
    search = _Search([int(x) for x in p[rank]], [int(x) for x in d[rank]], started + time_limit_s)
    return run_search(search, rank, upper, upper_order, started,
                      lambda order: total_tardiness(p, d, order))


def run_search(search: Any, rank: np.ndarray, upper: int, upper_order: np.ndarray, started: float,
               value_of: Callable[[np.ndarray], int]) -> ExactResult:
    """Solve all jobs (in EDD ``rank`` order) from time 0 with incumbent ``upper``; check the schedule.

    ``search`` offers ``lower_bound(jobs, t)``, ``solve(jobs, t, cap)`` (raises SearchTimeout at its
    deadline), ``sequence(jobs, t)``, ``bound`` and ``nodes``. On a timeout the result is the
    incumbent, labelled best-known with the best lower bound proven so far.
    """
    jobs = tuple(range(len(rank)))
    lower = search.lower_bound(jobs, 0)
    old_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old_limit, 20 * len(rank) + 1000))
    try:
        value = search.solve(jobs, 0, upper + 1)
    except SearchTimeout:
        value = None
    finally:
        sys.setrecursionlimit(old_limit)
    seconds = time.perf_counter() - started
    if value is None:
        known = search.bound.get((jobs, 0), 0)
        return ExactResult(int(upper), upper_order, "best_known", int(max(lower, known)), seconds,
                           search.nodes)
    if value > upper:
        raise AssertionError("exact search returned no schedule although the upper bound is "
                             "feasible; this is a solver bug")
    order = rank[np.asarray(search.sequence(jobs, 0), dtype=np.int64)]
    found = value_of(order)
    if found != value:
        raise AssertionError(f"exact search value {value} differs from its schedule's {found}")
    return ExactResult(int(value), order, "optimal", int(value), seconds, search.nodes)
