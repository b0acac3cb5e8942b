"""SMTT baseline: MDD Challenger (MDDC), the LLM-discovered dispatching rule of Cetinkaya et al.,
"Discovering Heuristics with LLMs for MIPs: Single-Machine Scheduling" (arXiv 2510.24013). Numpy only.

Jobs are kept in EDD order (ties by shorter processing time, then index); at time t, with U the
unscheduled jobs, the next job minimises

    u_j = max(1.1 p_j + t, d_j) * (1 + m_j^2 / (1 + m_j^2)) + p_j / (t + mean_{k in U} p_k),
    m_j = min(p_j / (t + max_{k in U} p_k), 1),

ties broken by that EDD order. Source of the rule: the paper gives it in prose; the constants (1.1,
the squared "urgency bonus", the "impact on current time" term) were taken from the authors' code
release (github ibrahimoguzc/DiscoverHeuristics, testing/heuristics_comparison.ipynb). Our reading of
that release is the reference; where the paper's prose and the release differ, we follow the release.
"""

import numpy as np


def mddc_keys(p, d, remaining, t):
    """MDDC priority of each job in ``remaining`` at time t (smaller runs first)."""
    pr = p[remaining]
    urgency = np.maximum(1.1 * pr + t, d[remaining])
    ratio = np.minimum(pr / (t + pr.max()), 1.0)
    urgency = urgency * (1.0 + ratio**2 / (1.0 + ratio**2))
    return urgency + pr / (t + pr.mean())


def schedule(p, d):
    p = np.asarray(p, dtype=np.int64)
    d = np.asarray(d, dtype=np.int64)
    remaining = np.lexsort((p, d))  # EDD, ties by SPT, then index
    order = []
    t = 0
    while remaining.size:
        k = int(np.argmin(mddc_keys(p, d, remaining, t)))
        order.append(int(remaining[k]))
        t += int(p[remaining[k]])
        remaining = np.delete(remaining, k)
    return np.array(order, dtype=np.int64)
