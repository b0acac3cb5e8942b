"""SMTT baseline: Baker & Bertrand's modified due date (MDD) rule. Needs only numpy.

At time t run the unscheduled job with the smallest max(p_j, d_j - t); ties by job index.
"""

import numpy as np


def schedule(p, d):
    p = np.asarray(p, dtype=np.int64)
    d = np.asarray(d, dtype=np.int64)
    unscheduled = np.arange(len(p))
    order = []
    t = 0
    while unscheduled.size:
        k = int(np.argmin(np.maximum(p[unscheduled], d[unscheduled] - t)))
        job = int(unscheduled[k])
        order.append(job)
        t += int(p[job])
        unscheduled = np.delete(unscheduled, k)
    return np.array(order, dtype=np.int64)
