"""The scores the published ADRS transaction-scheduling evaluators give, for reporting beside ours.

Theirs, not ours (quoted from their evaluators; both take the self-reported total makespan over
the workloads, which adrs recomputes instead):

- ADRS leaderboard (github.com/UCB-ADRS/ADRS-Leaderboard, problems/txn_scheduling): 0-100,
  ``(seq - total) / (seq - eff) * 100`` clamped, where ``seq`` is the total makespan of index order,
  ``eff = opt + 0.1 * (seq - opt)`` and ``opt`` the total of the longest transaction per workload.
- SkyDiscover / OpenEvolve (github.com/skydiscover-ai/skydiscover, benchmarks/ADRS/txn_scheduling):
  ``combined_score = 1000 / (1 + total) * 1000``.

This module only does arithmetic on makespans.
"""

from __future__ import annotations

from collections.abc import Sequence

from .workloads import Batch

LEADERBOARD_SHIFT = 0.10  # their "optimal_shift_factor"


def leaderboard_score(total: float, batches: Sequence[Batch]) -> float:
    seq = float(sum(b.workload.makespan(range(b.n)) for b in batches))
    opt = float(sum(max(b.workload.lengths) for b in batches))
    effective = opt + LEADERBOARD_SHIFT * (seq - opt)
    if seq <= effective:
        return 0.0
    return max(0.0, min(100.0, (seq - total) / (seq - effective) * 100.0))


def skydiscover_score(total: float) -> float:
    return 1000.0 / (1.0 + total) * 1000.0
