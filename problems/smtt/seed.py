"""SMTT (1||sum Tj) seed program: earliest-due-date dispatching, improvement pass switched off.

``schedule(p, d)`` dispatches jobs one at a time, always taking the unscheduled job with the
smallest ``priority``, then hands the finished order to ``improve``. Both functions are evolvable.
Needs only numpy.
"""

import numpy as np

# EVOLVE-BLOCK-START


def priority(p, d, t, remaining):
    """Dispatch key of each unscheduled job at time t; the smallest key goes next.

    p, d: float arrays (processing times, due dates) of the unscheduled jobs only; t: current time
    (work already scheduled); remaining: total processing time of the unscheduled jobs.
    Returns an array shaped like p (a scalar means: keep the input order).
    """
    return d


def total_tardiness(p, d, seq):
    """Total tardiness of the order seq (list or array of job indices) without idle time."""
    order = np.asarray(seq, dtype=np.int64)
    return float(np.maximum(np.cumsum(p[order]) - d[order], 0.0).sum())


def moved(order, k, targets):
    """One row per position j in targets: order with the job at position k moved to position j."""
    col = np.arange(len(order))[None, :]
    j = np.asarray(targets)[:, None]
    source = col + ((col >= k) & (col < j)) - ((col > j) & (col <= k))
    return order[np.where(col == j, k, source)]


def improve(p, d, seq):
    """Improve the dispatched order seq (a list of job indices) and return it.

    Up to `passes` sweeps; each sweep tries every adjacent pairwise interchange (kept when it
    lowers total tardiness) and, when `window` > 0, moving each job up to `window` positions
    earlier or later (the best move is kept when it lowers total tardiness). Stops early when a
    sweep changes nothing.
    """
    passes = 0
    window = 0
    n = len(seq)
    for _ in range(int(passes)):
        changed = False
        start = 0.0  # start time of the job at position k
        for k in range(n - 1):
            a, b = seq[k], seq[k + 1]
            now = max(start + p[a] - d[a], 0.0) + max(start + p[a] + p[b] - d[b], 0.0)
            swapped = max(start + p[b] - d[b], 0.0) + max(start + p[b] + p[a] - d[a], 0.0)
            if swapped < now:
                seq[k], seq[k + 1] = b, a
                changed = True
            start += p[seq[k]]
        reach = int(window)
        if reach > 0:
            order = np.asarray(seq, dtype=np.int64)
            current = total_tardiness(p, d, order)
            for k in range(n):
                trials = moved(order, k, range(max(k - reach, 0), min(k + reach, n - 1) + 1))
                values = np.maximum(np.cumsum(p[trials], axis=1) - d[trials], 0.0).sum(axis=1)
                best = int(np.argmin(values))
                if values[best] < current:
                    order, current, changed = trials[best], values[best], True
            seq = order.tolist()
        if not changed:
            break
    return seq


# EVOLVE-BLOCK-END


def schedule(p, d):
    """Job order (array of indices into p and d) for one machine, minimising total tardiness."""
    p = np.asarray(p, dtype=float)
    d = np.asarray(d, dtype=float)
    unscheduled = np.arange(len(p))
    seq = []
    t = 0.0
    remaining = float(p.sum())
    while unscheduled.size:
        key = np.asarray(priority(p[unscheduled], d[unscheduled], t, remaining), dtype=float)
        k = int(np.argmin(np.broadcast_to(key, unscheduled.shape)))
        job = int(unscheduled[k])
        seq.append(job)
        t += p[job]
        remaining -= p[job]
        unscheduled = np.delete(unscheduled, k)
    return np.asarray(improve(p, d, seq), dtype=np.int64)
