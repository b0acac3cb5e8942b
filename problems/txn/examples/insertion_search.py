"""txn program: greedy best insertion, then a local search on the order within the time budget.

1. Insertion (up to 60 % of ``workload.budget_s``): transactions longest first, each inserted
   where the makespan (then the sum of start times) is smallest. A trial re-simulates only the
   suffix after the insertion point from a stored state, and stops early when its makespan exceeds
   the best trial's, or when its state becomes equal to the old order's state there (the rest is
   then unchanged). Past the time share, the current insertion takes the best position tried so
   far and the remaining transactions are appended greedily.
2. Local search until 85 % of the budget has passed: take one transaction and reinsert
   it up to 30 positions away. The simulator states before every position of the current order are
   kept, so a move re-simulates only from its first changed position. The simulator is monotone in
   its state (per-key end times of the last write and read, and the makespan): once the new state
   at some position is no larger in every component than the old state there, the move cannot
   increase the makespan and is kept (plateau moves included); once it is no smaller everywhere,
   it is dropped; if neither happens before the end, it is kept only when the makespan shrinks.

Uses only the simulator the evaluator hands over; runs outside adrs with ``from txn_sim import
Workload`` (copy evaluators/txn/txn_sim.py next to it, or ``from evaluators.txn.txn_sim import
Workload`` from the repository root). Stdlib only.
"""

import random
import time
from operator import ge, le

REACH = 30
INSERT_SHARE = 0.6
TIME_SHARE = 0.85


def insertion(workload, deadline):
    """Greedy best insertion, longest transaction first; appends the rest after ``deadline``."""
    todo = sorted(range(workload.n), key=lambda j: (-workload.lengths[j], j))
    order = []
    states = [workload.schedule()]  # states[p]: simulator state before position p of `order`
    prefix = [0]  # prefix[p]: sum of the start times of positions < p
    latest = [0]  # latest[p]: largest finish time of positions >= p
    for count, j in enumerate(todo):
        if time.perf_counter() > deadline:
            return append_rest(workload, order, todo[count:], 64)
        best, best_pos = None, len(order)
        for pos in range(len(order), -1, -1):
            if best is not None and time.perf_counter() > deadline:
                break  # out of time: keep the best position found so far
            sched = states[pos].copy()
            total = prefix[pos] + sched.append(j)
            value = None
            for p in range(pos, len(order)):
                if best is not None and sched.makespan > best[0]:
                    break
                old = states[p]
                if (old.last_write == sched.last_write and old.last_read == sched.last_read):
                    value = (max(sched.makespan, latest[p]), total + prefix[-1] - prefix[p])
                    break
                total += sched.append(order[p])
            else:
                value = (sched.makespan, total)
            if value is not None and (best is None or value <= best):
                best, best_pos = value, pos
        order.insert(best_pos, j)
        del states[best_pos + 1:]
        del prefix[best_pos + 1:]
        sched = states[best_pos].copy()
        for t in order[best_pos:]:
            prefix.append(prefix[-1] + sched.append(t))
            states.append(sched.copy())
        latest = [0] * (len(order) + 1)
        for p in range(len(order) - 1, -1, -1):
            latest[p] = max(latest[p + 1], prefix[p + 1] - prefix[p] + workload.lengths[order[p]])
    return order


def append_rest(workload, order, rest, sample=16):
    """Append ``rest``: each time the cheapest of up to ``sample`` of them (evenly spread)."""
    sched = workload.schedule(order)
    rest = list(rest)
    while rest:
        step = max(1, len(rest) // sample)
        i = min(range(0, len(rest), step), key=lambda i: sched.cost_if_appended(rest[i]))
        sched.append(rest.pop(i))
    return sched.order


def no_larger(a, b):
    return (a.makespan <= b.makespan and all(map(le, a.last_write, b.last_write))
            and all(map(le, a.last_read, b.last_read)))


def no_smaller(a, b):
    return (a.makespan >= b.makespan and all(map(ge, a.last_write, b.last_write))
            and all(map(ge, a.last_read, b.last_read)))


def race(sched, order, states, p):
    """Continue a changed order (state ``sched`` before position p) and compare with the old states."""
    n = len(order)
    while p < n:
        old = states[p]
        if no_larger(sched, old):
            return True
        if no_smaller(sched, old):
            return False
        sched.append(order[p])
        p += 1
    return sched.makespan < states[n].makespan


def refresh(order, states, first, last):
    """Recompute states after position ``first``; stop past ``last`` once they match the old ones."""
    sched = states[first].copy()
    for p in range(first, len(order)):
        sched.append(order[p])
        old = states[p + 1]
        if (p > last and old.makespan == sched.makespan and old.last_write == sched.last_write
                and old.last_read == sched.last_read):
            return
        states[p + 1] = sched.copy()


def schedule(workload):
    started = time.perf_counter()
    budget = workload.budget_s or 0.2
    deadline = started + TIME_SHARE * budget
    rng = random.Random(12345)
    n = workload.n
    order = insertion(workload, started + INSERT_SHARE * budget)
    if n < 3:
        return order
    states = [workload.schedule()]
    for j in order:
        states.append(states[-1].copy())
        states[-1].append(j)
    while time.perf_counter() < deadline:
        i = rng.randrange(n)
        j = min(n - 1, max(0, i + rng.randint(-REACH, REACH)))
        if i == j:
            continue
        a, b = min(i, j), max(i, j)
        window = order[a:b + 1]
        if i < j:
            window.append(window.pop(0))
        else:
            window.insert(0, window.pop())
        sched = states[a].copy()
        for t in window:
            sched.append(t)
        if race(sched, order, states, b + 1):
            order[a:b + 1] = window
            refresh(order, states, a, b)
    return order
