"""Weighted SMTT (1||sum wj Tj) baseline: the Apparent Tardiness Cost rule (Vepsalainen & Morton,
1987). Numpy only.

At time t, run the unscheduled job with the largest index

    I_j(t) = (w_j / p_j) * exp(-max(d_j - p_j - t, 0) / (k * pbar)),

pbar = mean processing time of the unscheduled jobs, k = look-ahead parameter (default 2; smaller k
weighs slack more). Ties by job index. Computed in log space so that large slacks do not underflow
into ties. Contract: ``schedule(p, d, w, k=2.0)``.
"""

import numpy as np


def schedule(p, d, w, k=2.0):
    p = np.asarray(p, dtype=np.int64)
    d = np.asarray(d, dtype=np.int64)
    w = np.asarray(w, dtype=np.int64)
    if not k > 0:
        raise ValueError(f"look-ahead parameter k must be positive, got {k!r}")
    remaining = np.arange(len(p))
    order = []
    t = 0
    while remaining.size:
        pr = p[remaining]
        slack = np.maximum(d[remaining] - pr - t, 0)
        log_index = np.log(w[remaining] / pr) - slack / (k * pr.mean())
        pick = int(np.argmax(log_index))
        order.append(int(remaining[pick]))
        t += int(pr[pick])
        remaining = np.delete(remaining, pick)
    return np.array(order, dtype=np.int64)
