"""Exact (time-limited) solver for 1||sum wjTj: forward branch and bound over job subsets with memo.

A node is the set R of unscheduled jobs, starting at t = P - P(R) (no idle time). Its value is
memoised on (R, t); a cut node is remembered as a lower bound. Reductions: the EDD order of R
without tardiness is optimal; when every job of R is tardy wherever it goes, WSPT (weighted
shortest processing time) is optimal; a job due after the end goes last at no cost. A job j is not
tried first when a job i with p_i <= p_j, w_i >= w_j, d_i <= max(d_j, t + p_j) and a smaller
(p, -w, d, index) key exists (interchanging j and i never costs more; the key keeps the rule
acyclic). Lower bound: the larger of sum_j w_j max(0, t + p_j - d_j) and min(w) times the
unweighted bound pairing SPT completion times with sorted due dates. Upper bound: the best of EDD,
WSPT and a weighted modified-due-date rule, improved by interchange and insertion descent.

Results unproven within the time limit are "best_known" with the proven lower bound. This module
does not validate inputs (see ``instances_io``).
"""

from __future__ import annotations

import time

import numpy as np

from .exact import ExactResult, SearchTimeout, run_search

SOLVER_NAME = "weighted-subset-bnb"
SOLVER_VERSION = 1
_CHECK_EVERY = 1024


def weighted_tardiness(p: np.ndarray, w: np.ndarray, d: np.ndarray, order: np.ndarray) -> int:
    """Total weighted tardiness of ``order`` (no idle time, start 0)."""
    order = np.asarray(order, dtype=np.int64)
    completion = np.cumsum(p[order])
    return int((w[order] * np.maximum(completion - d[order], 0)).sum())


def weighted_heuristic(p: np.ndarray, w: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, int]:
    """Best of EDD, WSPT and weighted MDD (min max(p_j, d_j - t) / w_j), then swap/insert descent."""
    n = len(p)
    starts = [np.argsort(d, kind="stable"), np.argsort(p / w, kind="stable")]
    remaining = list(range(n))
    order, t = [], 0
    for _ in range(n):
        rem = np.array(remaining)
        pick = int(np.argmin(np.maximum(p[rem], d[rem] - t) / w[rem]))
        job = remaining.pop(pick)
        order.append(job)
        t += int(p[job])
    starts.append(np.array(order, dtype=np.int64))
    start = min(starts, key=lambda order: weighted_tardiness(p, w, d, order))
    seq, value = _swap_descent(p, w, d, np.asarray(start, dtype=np.int64))
    return seq, int(value)


def _swap_descent(p: np.ndarray, w: np.ndarray, d: np.ndarray, seq: np.ndarray,
                  max_passes: int = 50) -> tuple[np.ndarray, int]:
    """Best-improvement descent over all interchanges and insertions (each pass O(n^2) orders)."""
    n = len(seq)
    value = weighted_tardiness(p, w, d, seq)
    pairs = [(i, j) for i in range(n) for j in range(n) if i != j]
    for _ in range(max_passes):
        candidates = []
        for i, j in pairs:
            if i < j:
                swapped = seq.copy()
                swapped[i], swapped[j] = swapped[j], swapped[i]
                candidates.append(swapped)
            candidates.append(np.insert(np.delete(seq, i), j, seq[i]))
        if not candidates:
            return seq, value
        orders = np.array(candidates)
        completion = np.cumsum(p[orders], axis=1)
        values = (w[orders] * np.maximum(completion - d[orders], 0)).sum(axis=1)
        best = int(np.argmin(values))
        if values[best] >= value:
            return seq, value
        seq, value = orders[best], int(values[best])
    return seq, value


class _WeightedSearch:
    def __init__(self, p: list[int], w: list[int], d: list[int], deadline: float) -> None:
        self.p, self.w, self.d = p, w, d
        self.deadline = deadline
        self.key = [(p[j], -w[j], d[j], j) for j in range(len(p))]
        self.w_min = min(w)
        self.exact: dict[tuple[tuple[int, ...], int], tuple[int, tuple]] = {}
        self.bound: dict[tuple[tuple[int, ...], int], int] = {}
        self.nodes = 0

    def lower_bound(self, jobs: tuple[int, ...], t: int) -> int:
        p, w, d = self.p, self.w, self.d
        alone = 0
        for j in jobs:
            if t + p[j] > d[j]:
                alone += w[j] * (t + p[j] - d[j])
        c, paired = t, 0
        for pj, dj in zip(sorted(p[j] for j in jobs), sorted(d[j] for j in jobs), strict=True):
            c += pj
            if c > dj:
                paired += c - dj
        return max(alone, self.w_min * paired)

    def solve(self, jobs: tuple[int, ...], t: int, upper: int) -> int:
        """Optimum of ``jobs`` (sorted by due date) from t if below ``upper``, else a bound >= upper."""
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
        p, w, d = self.p, self.w, self.d
        m = len(jobs)
        if m == 0:
            return 0
        c, edd_value, all_tardy = t, 0, True
        for j in jobs:
            c += p[j]
            if c > d[j]:
                edd_value += w[j] * (c - d[j])
            if d[j] > t + p[j]:
                all_tardy = False
        if edd_value == 0:
            self.exact[key] = (0, ("seq", jobs))
            return 0
        if all_tardy:
            order = tuple(sorted(jobs, key=lambda j: (p[j] * 1.0 / w[j], j)))
            c, value = t, 0
            for j in order:
                c += p[j]
                value += w[j] * (c - d[j])
            self.exact[key] = (value, ("seq", order))
            return value
        end = c
        if d[jobs[-1]] >= end:
            value = self.solve(jobs[:-1], t, upper)
            if value < upper:
                self.exact[key] = (value, ("last", jobs[:-1], t, jobs[-1]))
            else:
                self._remember(key, value)
            return value
        lb = self.lower_bound(jobs, t)
        if lb >= upper:
            self._remember(key, lb)
            return lb
        firsts = []
        for j in jobs:
            cj = t + p[j]
            limit = max(d[j], cj)
            kj = self.key[j]
            if any(p[i] <= p[j] and w[i] >= w[j] and d[i] <= limit and self.key[i] < kj
                   for i in jobs if i != j):
                continue
            cost = w[j] * max(0, cj - d[j])
            firsts.append((cost, j, cj))
        firsts.sort()
        best, best_choice, branch_lb = upper, None, None
        for cost, j, cj in firsts:
            rest = tuple(i for i in jobs if i != j)
            if cost >= best:
                branch_lb = cost if branch_lb is None else min(branch_lb, cost)
                continue
            v = self.solve(rest, cj, best - cost)
            total = cost + v
            if total < best:
                best, best_choice = total, (j, rest, cj)
            else:
                branch_lb = total if branch_lb is None else min(branch_lb, total)
        if best_choice is not None:
            self.exact[key] = (best, ("first",) + best_choice)
            return best
        value = max(lb, upper, branch_lb if branch_lb is not None else upper)
        self._remember(key, value)
        return value

    def _remember(self, key: tuple[tuple[int, ...], int], value: int) -> None:
        if value > self.bound.get(key, 0):
            self.bound[key] = value

    def sequence(self, jobs: tuple[int, ...], t: int) -> list[int]:
        out: list[int] = []
        tail: list[int] = []
        while jobs:
            _, how = self.exact[(jobs, t)]
            if how[0] == "seq":
                out.extend(how[1])
                break
            if how[0] == "last":
                tail.append(how[3])
                jobs = how[1]
            else:
                _, j, rest, cj = how
                out.append(j)
                jobs, t = rest, cj
        return out + tail[::-1]


def solve_weighted(p: np.ndarray, w: np.ndarray, d: np.ndarray, time_limit_s: float = 60.0
                   ) -> ExactResult:
    """Minimise total weighted tardiness; "optimal" only when the search finished in time."""
    started = time.perf_counter()
    p = np.asarray(p, dtype=np.int64)
    w = np.asarray(w, dtype=np.int64)
    d = np.asarray(d, dtype=np.int64)
    n = len(p)
    if n == 0:
        return ExactResult(0, np.zeros(0, dtype=np.int64), "optimal", 0, 0.0, 0)
    edd = np.lexsort((np.arange(n), p, d))
    if weighted_tardiness(p, w, d, edd) == 0:
        return ExactResult(0, edd, "optimal", 0, time.perf_counter() - started, 0)
    upper_order, upper = weighted_heuristic(p, w, d)
    rank = np.lexsort((np.arange(n), p, d))
    search = _WeightedSearch([int(x) for x in p[rank]], [int(x) for x in w[rank]],
                             [int(x) for x in d[rank]], started + time_limit_s)
    return run_search(search, rank, upper, upper_order, started,
                      lambda order: weighted_tardiness(p, w, d, order))
