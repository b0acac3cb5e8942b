"""SMTT baseline: the heuristic of Wilkerson & Irwin (AIIE Transactions 3, 1971). Numpy only.

Two jobs x before y with d_x <= d_y (ties by index) "fit" at start time s if p_x <= p_y or
s + max(p_x, p_y) <= d_y: the EDD order of the pair is then at least as good as the swap. With
d_x > d_y, x before y fits exactly when y before x does not.

The textbook statement keeps a scheduled list, a pivot and the unscheduled jobs in EDD order: the
next EDD job joins behind the pivot if they fit; if not, the pivot returns to the unscheduled list and
the scheduled jobs that do not fit before the new pivot are returned one by one (backtracking).
Implemented literally, the returned jobs are drawn and re-inserted again and again: on tight
instances (TF = 0.8, RDD = 0.2) one n = 100 instance takes over a million steps. This file uses the
insertion form: take jobs in EDD order, append each one and move it forward past every predecessor it
fits before, at that predecessor's start time. On all 800 published n = 20 instances and 3000 random
instances with n <= 24 both forms return identical sequences (tests/unit/test_smtt_baselines.py
keeps that check). O(n^2).
"""

import numpy as np


def schedule(p, d):
    p = np.asarray(p, dtype=np.int64)
    d = np.asarray(d, dtype=np.int64)
    pl, dl = p.tolist(), d.tolist()

    def fit(x, y, start):
        """x directly before y, starting at ``start``, is at least as good as the swap."""
        if (dl[x], x) > (dl[y], y):
            x, y = y, x
            return not (pl[x] <= pl[y] or start + max(pl[x], pl[y]) <= dl[y])
        return pl[x] <= pl[y] or start + max(pl[x], pl[y]) <= dl[y]

    seq = []
    total = 0
    for job in sorted(range(len(pl)), key=lambda j: (dl[j], j)):
        seq.append(job)
        k = len(seq) - 1
        start = total  # start time of position k, where the new job sits
        total += pl[job]
        while k > 0:
            prev = seq[k - 1]
            before = start - pl[prev]
            if fit(prev, job, before):
                break
            seq[k - 1], seq[k] = job, prev
            start = before
            k -= 1
    return np.array(seq, dtype=np.int64)
