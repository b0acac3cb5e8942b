"""SMTT baseline: iterated local search (ILS), used as a best-known-solution source. Numpy only.

Start from the better of EDD and MDD; descend with best-improvement insertion moves (every job to
every position, all n^2 moves evaluated at once with numpy); then repeat ITERATIONS times: perturb
the incumbent with a few short random job moves, descend, keep the result if it is not worse. The random
stream has a fixed seed, so the result is deterministic. Stops early at total tardiness 0.
"""

import numpy as np

ITERATIONS = 20
MOVES = 3
REACH = 10  # a perturbation moves a job at most this many positions
SEED = 20251028


def total_tardiness(p, d, seq):
    return int(np.maximum(np.cumsum(p[seq]) - d[seq], 0).sum())


def mdd(p, d):
    remaining = np.arange(len(p))
    order = np.empty(len(p), dtype=np.int64)
    t = 0
    for step in range(len(p)):
        k = int(np.argmin(np.maximum(p[remaining], d[remaining] - t)))
        order[step] = remaining[k]
        t += int(p[remaining[k]])
        remaining = np.delete(remaining, k)
    return order


def insertion_deltas(p, d, seq):
    """[i, j]: change of total tardiness when the job at position i moves to position j."""
    n = len(seq)
    ps, ds = p[seq], d[seq]
    completion = np.cumsum(ps)
    lateness = completion - ds
    tard = np.maximum(lateness, 0)
    col = np.arange(n)
    # forward (j > i): jobs i+1..j finish p_i earlier; job i finishes at completion[j]
    early = np.cumsum(np.maximum(lateness[None, :] - ps[:, None], 0) - tard[None, :], axis=1)
    forward = early - np.diagonal(early)[:, None] + np.maximum(completion[None, :] - ds[:, None], 0)
    # backward (j < i): jobs j..i-1 finish p_i later; job i finishes at completion[j] - ps[j] + p_i
    late = np.maximum(lateness[None, :] + ps[:, None], 0) - tard[None, :]
    late_sum = np.cumsum(late, axis=1)
    upto = (np.diagonal(late_sum) - np.diagonal(late))[:, None]  # sum over k < i
    backward = upto - (late_sum - late) + np.maximum((completion - ps)[None, :] + (ps - ds)[:, None], 0)
    deltas = np.where(col[None, :] > col[:, None], forward, backward) - tard[:, None]
    np.fill_diagonal(deltas, 0)
    return deltas


def move(seq, i, j):
    return np.insert(np.delete(seq, i), j, seq[i])


def descend(p, d, seq):
    n = len(seq)
    while True:
        deltas = insertion_deltas(p, d, seq)
        best = int(np.argmin(deltas))
        if deltas.flat[best] >= 0:
            return seq
        seq = move(seq, *divmod(best, n))


def schedule(p, d):
    p = np.asarray(p, dtype=np.int64)
    d = np.asarray(d, dtype=np.int64)
    n = len(p)
    if n < 2:
        return np.arange(n, dtype=np.int64)
    starts = [np.argsort(d, kind="stable"), mdd(p, d)]
    best = descend(p, d, min(starts, key=lambda s: total_tardiness(p, d, s)))
    best_value = total_tardiness(p, d, best)
    rng = np.random.default_rng(SEED)
    for _ in range(ITERATIONS):
        if best_value == 0:
            break
        trial = best
        for _ in range(MOVES):
            i = int(rng.integers(n))
            j = min(max(i + int(rng.integers(-REACH, REACH + 1)), 0), n - 1)
            trial = move(trial, i, j)
        trial = descend(p, d, trial)
        value = total_tardiness(p, d, trial)
        if value <= best_value:
            best, best_value = trial, value
    return best
