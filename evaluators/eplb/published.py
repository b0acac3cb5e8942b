"""The scores the published ADRS EPLB evaluators give, for reporting beside ours (``adrs bench``).

Theirs, not ours (quoted from their evaluators; both time the call in the candidate's own process,
adrs passes its sandbox-measured time instead):

- ADRS leaderboard (github.com/UCB-ADRS/ADRS-Leaderboard, problems/eplb): ``90 * balancedness_gpu
  + 5 * min(0.002 / t, 2) - (min(20 * t, 20) if t > 0.01 else 0)``, t the mean rebalance time in
  seconds; balancedness_gpu is the same next-window GPU balancedness as ours (a fraction).
- SkyDiscover / OpenEvolve (github.com/skydiscover-ai/skydiscover, benchmarks/ADRS/eplb):
  ``combined_score = (balancedness_expert + 0.002 / t) / 2``, where balancedness_expert is computed
  per physical slot instead of per GPU, and their t also includes their own simulation of the
  placement (adrs passes the rebalance time alone, so its figure is an upper estimate of theirs).

This module only does arithmetic; ``expert_balancedness`` recomputes slot loads from ``phy2log``.
"""

from __future__ import annotations

import numpy as np


def leaderboard_score(balancedness_gpu: float, seconds: float) -> float:
    speed = 0.002 / seconds if seconds > 0 else 2.0
    penalty = min(seconds * 20.0, 20.0) if seconds > 0.01 else 0.0
    return 90.0 * balancedness_gpu + 5.0 * min(speed, 2.0) - penalty


def skydiscover_score(balancedness_expert: float, seconds: float) -> float:
    return (balancedness_expert + (0.002 / seconds if seconds > 0 else float("inf"))) / 2.0


def expert_balancedness(phy2log: np.ndarray, counts: np.ndarray, load: np.ndarray) -> float:
    """Sum over layers of the mean slot load / sum over layers of the largest (an expert's load is
    split evenly over its replicas)."""
    rows = np.arange(phy2log.shape[0])[:, None]
    per_slot = load[rows, phy2log] / counts[rows, phy2log]
    peak = float(per_slot.max(axis=-1).sum())
    return float(per_slot.mean(axis=-1).sum()) / peak if peak > 0 else 0.0
