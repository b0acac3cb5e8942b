"""SMTT baseline: Augmented MDDC (Cetinkaya et al., arXiv 2510.24013). Numpy only.

MDDC dispatching (see mddc.py: same priority, same EDD-then-SPT tie order) where, after each job is
appended, the best single move of an earlier job of the partial sequence to its end is applied if it
lowers the partial total tardiness (ties: the earliest position), as in the authors' code release.
The file is standalone, so the two helpers are repeated here.
"""

import numpy as np


def mddc_keys(p, d, remaining, t):
    pr = p[remaining]
    urgency = np.maximum(1.1 * pr + t, d[remaining])
    ratio = np.minimum(pr / (t + pr.max()), 1.0)
    urgency = urgency * (1.0 + ratio**2 / (1.0 + ratio**2))
    return urgency + pr / (t + pr.mean())


def best_move_to_end(p, d, seq):
    k = len(seq)
    if k < 2:
        return seq
    ps = p[seq]
    completion = np.cumsum(ps)
    lateness = completion - d[seq]
    tard = np.maximum(lateness, 0)
    before = np.concatenate(([0], np.cumsum(tard)[:-1]))
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
    remaining = np.lexsort((p, d))
    seq = np.empty(0, dtype=np.int64)
    t = 0
    while remaining.size:
        k = int(np.argmin(mddc_keys(p, d, remaining, t)))
        seq = best_move_to_end(p, d, np.append(seq, remaining[k]))
        t += int(p[remaining[k]])
        remaining = np.delete(remaining, k)
    return seq
