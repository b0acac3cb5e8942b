"""txn seed program: Shortest Makespan First (SMF) with an evolvable choice rule and an improvement
pass (switched off).

``schedule(workload)`` starts from a random transaction, then repeatedly samples ``SAMPLE``
unscheduled transactions and appends the one with the smallest ``priority``; the finished order
goes through ``improve``, which may use the rest of the time budget. ``workload`` is a
``txn_sim.Workload``: ``workload.n``, ``workload.txns[j]`` (tuple of (kind, key), kind "r"/"w"/"f"),
``workload.lengths[j]``, ``workload.budget_s``, ``workload.makespan(order)`` and
``workload.schedule(order)`` (an incremental ``Schedule``: ``start_of(j)``, ``cost_if_appended(j)``,
``append(j)``, ``copy()``, ``makespan``, ``order``). Stdlib only.
"""

import random
import time

# EVOLVE-BLOCK-START
SAMPLE = 10  # transactions sampled per step


def priority(increase, start, length, makespan):
    """Key of appending a transaction now; the smallest key among the sampled goes next.

    increase: how much the makespan would grow; start: its earliest start time; length: its
    number of operations; makespan: the makespan of the order so far.
    """
    return increase


def improve(workload, order, deadline):
    """Improve the finished order (a list of transaction indices) until time.perf_counter()
    reaches `deadline`, and return it. `passes` = 0: switched off. Each pass tries moving every
    transaction up to `reach` positions later and keeps a move when the makespan does not grow.
    """
    passes = 0
    reach = 3
    best = workload.makespan(order)
    for _ in range(int(passes)):
        for i in range(len(order)):
            if time.perf_counter() > deadline:
                return order
            for j in range(i + 1, min(i + 1 + int(reach), len(order))):
                trial = order[:i] + order[i + 1:j + 1] + [order[i]] + order[j + 1:]
                value = workload.makespan(trial)
                if value <= best:
                    order, best = trial, value
                    break
    return order


# EVOLVE-BLOCK-END


def schedule(workload):
    """An order of the transactions 0..n-1 (a list) for the evaluator's simulator."""
    started = time.perf_counter()
    budget = workload.budget_s if workload.budget_s else 1.0
    rng = random.Random(0)
    remaining = list(range(workload.n))
    sched = workload.schedule([remaining.pop(rng.randrange(len(remaining)))])
    while remaining:
        picks = rng.sample(range(len(remaining)), min(max(int(SAMPLE), 1), len(remaining)))
        best, best_key = picks[0], None
        for i in picks:
            j = remaining[i]
            start = sched.start_of(j)
            end = start + workload.lengths[j]
            key = priority(max(end - sched.makespan, 0), start, workload.lengths[j], sched.makespan)
            if best_key is None or key < best_key:
                best, best_key = i, key
        remaining[best], remaining[-1] = remaining[-1], remaining[best]
        sched.append(remaining.pop())
    return improve(workload, sched.order, started + 0.8 * budget)
