"""Trusted scheduling heuristics used for reference values: Shortest Makespan First (SMF).

SMF (Cheng et al.): start from a random transaction, then repeatedly sample k unscheduled
transactions and append the one whose append increases the makespan least (ties: the first
sampled). It is randomised, so references average it over several seeds. This module does not
cache anything (see ``reference``) or validate orders.
"""

from __future__ import annotations

import random

from .txn_sim import Workload

SMF_SAMPLE = 10


def smf_order(workload: Workload, seed: int, sample: int = SMF_SAMPLE) -> list[int]:
    """The SMF order for ``workload`` with random stream ``seed``."""
    rng = random.Random(seed)
    remaining = list(range(workload.n))
    first = remaining.pop(rng.randrange(len(remaining)))
    sched = workload.schedule([first])
    while remaining:
        picks = rng.sample(range(len(remaining)), min(sample, len(remaining)))
        best = min(picks, key=lambda i: sched.cost_if_appended(remaining[i]))
        remaining[best], remaining[-1] = remaining[-1], remaining[best]
        sched.append(remaining.pop())
    return sched.order


def smf_makespans(workload: Workload, seeds: range | list[int]) -> list[int]:
    """SMF makespan for each seed."""
    return [workload.makespan(smf_order(workload, seed)) for seed in seeds]
