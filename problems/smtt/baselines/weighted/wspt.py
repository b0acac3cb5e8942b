"""Weighted SMTT (1||sum wj Tj) baseline: weighted shortest processing time (WSPT). Numpy only.

Jobs in non-increasing order of w_j / p_j (ties by job index). Optimal when every job is tardy;
ignores due dates otherwise. Contract: ``schedule(p, d, w)``.
"""

import numpy as np


def schedule(p, d, w):
    p = np.asarray(p, dtype=np.int64)
    w = np.asarray(w, dtype=np.int64)
    return np.argsort(p / w, kind="stable")
