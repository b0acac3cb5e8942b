"""Total tardiness of a job sequence on one machine (1||sum Tj), vectorized with numpy.

It assumes the sequence has already been validated as a permutation (see ``validate``); it does not
check it again.
"""

from __future__ import annotations

import numpy as np


def tardiness_per_job(p: np.ndarray, d: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """Tardiness max(C_j - d_j, 0) of each job in sequence order (int64)."""
    completion = np.cumsum(p[seq], dtype=np.int64)
    return np.maximum(completion - d[seq], 0)


def total_tardiness(p: np.ndarray, d: np.ndarray, seq: np.ndarray) -> int:
    """Sum of tardiness when the jobs are processed without idle time in the order ``seq``."""
    return int(tardiness_per_job(p, d, seq).sum())
