"""SMTT baseline: Augmented MDD, i.e. MDD dispatching with a move-to-end improvement step. Numpy only.

Dispatch by Baker & Bertrand's modified due date max(p_j, d_j - t) (ties by job index); after each
job is appended, try moving every earlier job of the partial sequence to its end and keep the best
move if it lowers the partial total tardiness (ties: the earliest position). This is the
"augmentation" Cetinkaya et al. (arXiv 2510.24013) apply to MDD and MDDC, as in their code release;
the move-to-end step is applied inside the dispatching loop, not once at the end.
"""

import numpy as np


def best_move_to_end(p, d, seq):
    """seq (array of jobs) with the single best move of one job to the end, if it helps."""
    k = len(seq)
    if k < 2:
        return seq
    ps = p[seq]
    completion = np.cumsum(ps)
    lateness = completion - d[seq]
    tard = np.maximum(lateness, 0)
    before = np.concatenate(([0], np.cumsum(tard)[:-1]))  # tardiness of the jobs ahead of i
    # jobs after i finish p_i earlier; job i finishes last, at completion[-1]
    shifted = np.maximum(lateness[None, :] - ps[:-1, None], 0)
    shifted = np.where(np.arange(k)[None, :] > np.arange(k - 1)[:, None], shifted, 0).sum(axis=1)
    values = before[:-1] + shifted + np.maximum(completion[-1] - d[seq[:-1]], 0)
    best = int(np.argmin(values))
    if values[best] < tard.sum():
        return np.concatenate((seq[:best], seq[best + 1:], seq[best:best + 1]))
    return seq


def schedule(p, d):
    p = np.asarray(p, dtype=np.int64)
    d = np.asarray(d, dtype=np.int64)
    remaining = np.arange(len(p))
    seq = np.empty(0, dtype=np.int64)
    t = 0
    while remaining.size:
        k = int(np.argmin(np.maximum(p[remaining], d[remaining] - t)))
        seq = best_move_to_end(p, d, np.append(seq, remaining[k]))
        t += int(p[remaining[k]])
        remaining = np.delete(remaining, k)
    return seq
