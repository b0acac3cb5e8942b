"""Held–Karp dynamic program over job subsets for 1||sum Tj and 1||sum wjTj (exact, n <= ~20).

f[S] is the least (weighted) tardiness of the jobs in S scheduled first, ending at P(S), the sum of
their processing times: f[S] = min over j in S of f[S - j] + w_j max(0, P(S) - d_j). Subsets are
processed in layers of equal size, each layer in one numpy pass per job. Memory is O(2^n) int64
values plus one int8 choice per subset, so n is capped (``MAX_JOBS``). This module does not validate
inputs (see ``instances_io``) and knows nothing about time limits.
"""

from __future__ import annotations

import numpy as np

MAX_JOBS = 22


def held_karp(p: np.ndarray, d: np.ndarray, w: np.ndarray | None = None) -> tuple[int, np.ndarray]:
    """Optimal total (weighted) tardiness and an optimal job order, by DP over all subsets."""
    p = np.asarray(p, dtype=np.int64)
    d = np.asarray(d, dtype=np.int64)
    w = np.ones_like(p) if w is None else np.asarray(w, dtype=np.int64)
    n = len(p)
    if n > MAX_JOBS:
        raise ValueError(f"held_karp: {n} jobs; the subset DP is limited to {MAX_JOBS} jobs")
    if n == 0:
        return 0, np.zeros(0, dtype=np.int64)
    size = 1 << n
    masks = np.arange(size, dtype=np.int64)
    bits = (masks[:, None] >> np.arange(n)) & 1  # [mask, job]
    total_p = bits @ p
    popcount = bits.sum(axis=1)
    del bits
    best = np.full(size, np.iinfo(np.int64).max, dtype=np.int64)
    choice = np.full(size, -1, dtype=np.int8)
    best[0] = 0
    for layer in range(1, n + 1):
        layer_masks = masks[popcount == layer]
        end = total_p[layer_masks]
        layer_best = np.full(len(layer_masks), np.iinfo(np.int64).max, dtype=np.int64)
        layer_choice = np.full(len(layer_masks), -1, dtype=np.int8)
        for j in range(n):
            has = (layer_masks >> j) & 1 == 1
            subset = layer_masks[has] ^ (1 << j)
            cost = best[subset] + w[j] * np.maximum(end[has] - d[j], 0)
            better = cost < layer_best[has]
            idx = np.flatnonzero(has)[better]
            layer_best[idx] = cost[better]
            layer_choice[idx] = j
        best[layer_masks] = layer_best
        choice[layer_masks] = layer_choice
    order = np.empty(n, dtype=np.int64)
    mask = size - 1
    for position in range(n - 1, -1, -1):
        job = int(choice[mask])
        order[position] = job
        mask ^= 1 << job
    return int(best[size - 1]), order
