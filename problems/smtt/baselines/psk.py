"""SMTT baseline: the PSK heuristic of Panwalkar, Smith & Koulamas (Naval Research Logistics 40,
1993). Numpy only.

Unscheduled jobs are kept in SPT order (ties by earlier due date, then index). To fill the next
position at time C, scan them in that order with an active job i (initially the first): the next job
j (p_j >= p_i) replaces i as the active job only if d_i > max(C + p_j, d_j), i.e. only if putting
the shorter job i first is not already justified by Emmons' adjacent-pair argument. The active job at
the end of the scan is scheduled next. O(n^2).
"""

import numpy as np


def schedule(p, d):
    p = np.asarray(p, dtype=np.int64)
    d = np.asarray(d, dtype=np.int64)
    pl, dl = p.tolist(), d.tolist()
    unscheduled = [int(j) for j in np.lexsort((d, p))]  # SPT, ties by EDD, then index
    order = []
    now = 0
    while unscheduled:
        active = 0
        for k in range(1, len(unscheduled)):
            i, j = unscheduled[active], unscheduled[k]
            if dl[i] > max(now + pl[j], dl[j]):
                active = k
        job = unscheduled.pop(active)
        order.append(job)
        now += pl[job]
    return np.array(order, dtype=np.int64)
