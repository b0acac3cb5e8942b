"""txn baseline: Shortest Makespan First (Cheng et al., PVLDB 2024), k = 10, one fixed seed.

Start from a random transaction, then repeatedly sample 10 unscheduled transactions and append the
one that increases the makespan least (ties: the first sampled). The evaluator's reference is the
mean of the same rule over several seeds.
"""

import random


def schedule(workload):
    rng = random.Random(0)
    remaining = list(range(workload.n))
    sched = workload.schedule([remaining.pop(rng.randrange(len(remaining)))])
    while remaining:
        picks = rng.sample(range(len(remaining)), min(10, len(remaining)))
        best = min(picks, key=lambda i: sched.cost_if_appended(remaining[i]))
        remaining[best], remaining[-1] = remaining[-1], remaining[best]
        sched.append(remaining.pop())
    return sched.order
