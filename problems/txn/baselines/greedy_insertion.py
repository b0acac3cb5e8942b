"""txn baseline: greedy best insertion within the time budget.

Transactions are taken longest first; each is inserted at the position of the current partial
order that gives the smallest makespan (ties: the smallest sum of start times, then the earliest
position). The simulator states before every position are kept, so a trial re-simulates only the
suffix after the insertion point and stops as soon as it is worse than the best trial so far. When
70 % of ``workload.budget_s`` has passed, the current insertion takes the best position tried so
far and the remaining transactions are appended (each time the cheapest of up to 16) instead.
"""

import time


def schedule(workload):
    started = time.perf_counter()
    deadline = started + 0.7 * (workload.budget_s or 1.0)
    todo = sorted(range(workload.n), key=lambda j: (-workload.lengths[j], j))
    order = []
    states = [workload.schedule()]  # states[p]: simulator state before position p of `order`
    prefix = [0]  # prefix[p]: sum of the start times of positions < p
    for count, j in enumerate(todo):
        if time.perf_counter() > deadline:
            return append_rest(workload, order, todo[count:])
        best, best_pos = None, len(order)
        for pos in range(len(order), -1, -1):
            if best is not None and time.perf_counter() > deadline:
                break  # out of time: keep the best position found so far
            sched = states[pos].copy()
            total = prefix[pos] + sched.append(j)
            for t in order[pos:]:
                total += sched.append(t)
                if best is not None and sched.makespan > best[0]:
                    break
            else:
                value = (sched.makespan, total)
                if best is None or value <= best:
                    best, best_pos = value, pos
        order.insert(best_pos, j)
        del states[best_pos + 1:]
        del prefix[best_pos + 1:]
        sched = states[best_pos].copy()
        for t in order[best_pos:]:
            prefix.append(prefix[-1] + sched.append(t))
            states.append(sched.copy())
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
