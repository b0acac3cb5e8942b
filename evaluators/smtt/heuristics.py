"""Trusted SMTT heuristics used to build reference values: MDD dispatching, a local search over
insertion and interchange moves, and an iterated local search (ILS) on top of it.

Each neighbourhood (every job moved to every position; every pair of jobs swapped) is evaluated in
one pass of O(n^2) numpy work, using prefix sums of the tardiness changes of the shifted jobs. These
functions take int64 arrays and return job orders; they do not validate inputs or cache anything
(see ``reference``).
"""

from __future__ import annotations

import numpy as np

from .tardiness import total_tardiness


def mdd_order(p: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Baker & Bertrand's modified due date rule: at time t run the job minimising max(p, d - t)."""
    n = len(p)
    remaining = np.arange(n)
    order = np.empty(n, dtype=np.int64)
    t = 0
    for step in range(n):
        pick = int(np.argmin(np.maximum(p[remaining], d[remaining] - t)))
        job = remaining[pick]
        order[step] = job
        t += int(p[job])
        remaining = np.delete(remaining, pick)
    return order


class Neighbourhood:
    """Tardiness change of every insertion and every interchange move of one instance's sequences.

    Work buffers are allocated once per instance (re-allocating n x n arrays on every call costs
    more than the arithmetic). Arrays returned by the methods are overwritten by the next call.
    The interchange table has one row per possible processing-time difference, so it suits the
    small integer processing times of the benchmark instances (p in 1..100).
    """

    def __init__(self, p: np.ndarray, d: np.ndarray) -> None:
        self.p = np.asarray(p, dtype=np.int64)
        self.d = np.asarray(d, dtype=np.int64)
        n = len(self.p)
        self.n = n
        self.upper = np.triu(np.ones((n, n), dtype=bool), k=1)  # [i, j]: j > i
        self.not_upper = ~self.upper
        self.positions = np.arange(n)
        self.previous = np.maximum(self.positions - 1, 0)
        self.max_shift = int(self.p.max() - self.p.min()) if n else 0
        self.shifts = np.arange(-self.max_shift, self.max_shift + 1)
        self._a = np.empty((n, n), dtype=np.int64)
        self._b = np.empty((n, n), dtype=np.int64)
        self._c = np.empty((n, n), dtype=np.int64)
        self._rows = np.empty((n, n), dtype=np.int64)
        self._table = np.empty((len(self.shifts), n), dtype=np.int64)

    def _state(self, seq: np.ndarray) -> tuple[np.ndarray, ...]:
        ps, ds = self.p[seq], self.d[seq]
        completion = np.cumsum(ps)
        lateness = completion - ds
        return ps, ds, completion, lateness, np.maximum(lateness, 0)

    def insertion_deltas(self, seq: np.ndarray) -> np.ndarray:
        """[i, j]: change of total tardiness when the job at position i moves to position j.

        Forward (j > i): jobs i+1..j finish p_i earlier, the moved job at the old C_j. Backward
        (j < i): jobs j..i-1 finish p_i later, the moved job at S_j + p_i. The diagonal is 0.
        """
        ps, ds, completion, lateness, tard = self._state(seq)
        fw, bw, tmp = self._a, self._b, self._c
        # Forward: prefix sums over k of the change of job k when advanced by p_i, from k = i + 1.
        np.add.outer(-ps, lateness, out=fw)
        np.maximum(fw, 0, out=fw)
        fw -= tard
        np.cumsum(fw, axis=1, out=fw)
        fw -= np.diagonal(fw).copy()[:, None]
        np.add.outer(-ds, completion, out=tmp)
        np.maximum(tmp, 0, out=tmp)
        fw += tmp
        # Backward: sums over k in [j, i) of the change of job k when delayed by p_i.
        np.add.outer(ps, lateness, out=bw)
        np.maximum(bw, 0, out=bw)
        bw -= tard
        own = np.diagonal(bw).copy()
        np.cumsum(bw, axis=1, out=tmp)
        bw -= tmp
        bw += (np.diagonal(tmp) - own)[:, None]
        np.add.outer(ps - ds, completion - ps, out=tmp)
        np.maximum(tmp, 0, out=tmp)
        bw += tmp
        np.copyto(bw, fw, where=self.upper)
        bw -= tard[:, None]
        return bw

    def interchange_deltas(self, seq: np.ndarray) -> np.ndarray:
        """[i, j], i < j: change of total tardiness when the jobs at positions i and j swap places.

        Jobs strictly between them shift by s = p_j - p_i; a table of prefix sums over k of the
        change of job k under every possible shift s turns each middle sum into two look-ups.
        Entries with j <= i are 0.
        """
        ps, ds, completion, lateness, tard = self._state(seq)
        n, table, rows, out, tmp = self.n, self._table, self._rows, self._a, self._c
        np.add.outer(self.shifts, lateness, out=table)
        np.maximum(table, 0, out=table)
        table -= tard
        np.cumsum(table, axis=1, out=table)
        flat = table.ravel()
        np.subtract.outer(-ps, -ps, out=tmp)  # [i, j]: s = p_j - p_i
        np.add(tmp, self.max_shift, out=rows)
        rows *= n
        # middle sum over k in (i, j): prefix(j - 1) - prefix(i)
        np.take(flat, rows + self.previous[None, :], out=out)
        out -= np.take(flat, rows + self.positions[:, None])
        # old job j now finishes at C_i + s; old job i at C_j.
        tmp += completion[:, None]
        tmp -= ds[None, :]
        np.maximum(tmp, 0, out=tmp)
        out += tmp
        np.add.outer(-ds, completion, out=tmp)
        np.maximum(tmp, 0, out=tmp)
        out += tmp
        out -= tard[None, :]
        out -= tard[:, None]
        np.copyto(out, 0, where=self.not_upper)
        return out


def move_job(seq: np.ndarray, i: int, j: int) -> np.ndarray:
    """Copy of ``seq`` with the job at position i moved to position j."""
    return np.insert(np.delete(seq, i), j, seq[i])


def swap_jobs(seq: np.ndarray, i: int, j: int) -> np.ndarray:
    """Copy of ``seq`` with the jobs at positions i and j interchanged."""
    seq = seq.copy()
    seq[i], seq[j] = seq[j], seq[i]
    return seq


def local_search(nb: Neighbourhood, seq: np.ndarray) -> np.ndarray:
    """Best-improvement descent: insertion moves until none helps, then the best interchange.

    Stops at a sequence that no single insertion or interchange improves.
    """
    n = len(seq)
    while True:
        deltas = nb.insertion_deltas(seq)
        best = int(np.argmin(deltas))
        if deltas.flat[best] < 0:
            seq = move_job(seq, *divmod(best, n))
            continue
        deltas = nb.interchange_deltas(seq)
        best = int(np.argmin(deltas))
        if deltas.flat[best] >= 0:
            return seq
        seq = swap_jobs(seq, *divmod(best, n))


def perturb(seq: np.ndarray, rng: np.random.Generator, moves: int, reach: int) -> np.ndarray:
    """Copy of ``seq`` after ``moves`` random job moves of at most ``reach`` positions each."""
    n = len(seq)
    for _ in range(moves):
        i = int(rng.integers(n))
        j = int(np.clip(i + rng.integers(-reach, reach + 1), 0, n - 1))
        seq = move_job(seq, i, j)
    return seq


def iterated_local_search(p: np.ndarray, d: np.ndarray, start: np.ndarray, iterations: int,
                          rng: np.random.Generator, moves: int = 3, reach: int = 50
                          ) -> tuple[np.ndarray, int]:
    """ILS from ``start``: perturb the incumbent, descend, keep the result when not worse.

    Returns the best order found and its total tardiness; stops early at tardiness 0.
    """
    nb = Neighbourhood(p, d)
    best = local_search(nb, np.asarray(start, dtype=np.int64))
    best_value = total_tardiness(nb.p, nb.d, best)
    for _ in range(iterations):
        if best_value == 0:
            break
        trial = local_search(nb, perturb(best, rng, moves, reach))
        value = total_tardiness(nb.p, nb.d, trial)
        if value <= best_value:
            best, best_value = trial, value
    return best, best_value
