"""Lower bound on the makespan of any order, and the exact optimum of small batches.

Lower bound (``lower_bound``): the larger of the key bound below and the conflict-chain bound of
``chain_bound`` (pairwise separations along a clique of conflicting transactions, HiGHS LP).

Key bound (``key_lower_bound``): the longest transaction, and for every key a one-machine bound.
Conflicting operations on a key never share a time unit, so the operations on key x occupy at least
(number of writes) + (1 if x has reads) distinct units. An operation at position k of a transaction
of length L cannot run before time k and leaves L - 1 - k units after it; so for any subset S of
x's operations, makespan >= min_{S} k + slots(S) + min_{S} (L - 1 - k). We take the best S of the
form {k >= a, L - 1 - k >= b} over all thresholds a, b.

Exact optimum (``exact_optimum``): depth-first branch and bound over orders. Appending never lowers
the makespan and the simulator is monotone in its state (per-key last write/read end times and the
makespan), so a prefix is pruned when (1) a bound on its completions reaches the best makespan
known, or (2) another prefix of the same set of transactions had a state no larger in every
component. Meant for n <= 10; it raises when it explores more than ``node_limit`` prefixes.
This module does not score programs.
"""

from __future__ import annotations

from .chain_bound import chain_bound
from .txn_sim import FILLER, WRITE, Schedule, Workload


def key_operations(workload: Workload) -> dict[int, list[tuple[int, int, bool]]]:
    """Per key, its operations as (release k, tail L-1-k, is_write)."""
    ops: dict[int, list[tuple[int, int, bool]]] = {}
    for j in range(workload.n):
        start, length = workload.offsets[j], workload.lengths[j]
        for pos in range(length):
            kind = workload.kinds[start + pos]
            if kind != FILLER:
                ops.setdefault(workload.keys[start + pos], []).append(
                    (pos, length - 1 - pos, kind == WRITE))
    return ops


def key_bound(ops: list[tuple[int, int, bool]]) -> int:
    """max over thresholds (a, b) of a + b + slots({ops with k >= a and tail >= b})."""
    best = 0
    for a in sorted({r for r, _, _ in ops}):
        chosen = sorted(((q, w) for r, q, w in ops if r >= a), reverse=True)
        writes, read = 0, False
        for i, (q, w) in enumerate(chosen):
            writes += w
            read = read or not w
            if i + 1 == len(chosen) or chosen[i + 1][0] != q:  # all ops with tail >= q included
                best = max(best, a + q + writes + read)
    return best


def lower_bound(workload: Workload) -> int:
    """A makespan no order can beat: max(key bound, conflict-chain bound)."""
    return max(key_lower_bound(workload), chain_bound(workload))


def key_lower_bound(workload: Workload) -> int:
    """The longest transaction and the per-key one-machine bounds (see the module docstring)."""
    bound = max(workload.lengths)
    for ops in key_operations(workload).values():
        if len(ops) > 1:
            bound = max(bound, key_bound(ops))
    return bound


class SearchLimit(RuntimeError):
    """The branch and bound explored more prefixes than allowed."""


def exact_optimum(workload: Workload, node_limit: int = 2_000_000) -> tuple[int, list[int]]:
    """The minimum makespan over all orders and one order reaching it."""
    n = workload.n
    static = lower_bound(workload)
    best_order = _greedy_order(workload)
    best = [workload.makespan(best_order), best_order]
    if best[0] == static:
        return best[0], best_order
    seen: dict[int, list[tuple[int, ...]]] = {}
    nodes = [0]
    remaining_ops = _remaining_ops(workload)

    def prefix_bound(sched: Schedule, mask: int) -> int:
        bound = sched.makespan
        for j in range(n):
            if not mask >> j & 1:
                bound = max(bound, sched.start_of(j) + workload.lengths[j])
        lw, lr = sched.last_write, sched.last_read
        for key, per_txn in remaining_ops.items():
            writes = reads = 0
            tail_w = tail_any = None
            for j, w_count, r_count, min_tail_w, min_tail in per_txn:
                if mask >> j & 1:
                    continue
                writes += w_count
                reads += r_count
                if w_count:
                    tail_w = min_tail_w if tail_w is None else min(tail_w, min_tail_w)
                tail_any = min_tail if tail_any is None else min(tail_any, min_tail)
            if writes:
                bound = max(bound, max(lw[key], lr[key]) + writes + tail_w)
            if reads and tail_any is not None:
                bound = max(bound, lw[key] + writes + 1 + tail_any)
        return bound

    def dominated(mask: int, sched: Schedule) -> bool:
        state = (sched.makespan, *sched.last_write, *sched.last_read)
        states = seen.setdefault(mask, [])
        for other in states:
            if all(a <= b for a, b in zip(other, state, strict=True)):
                return True
        states[:] = [s for s in states if not all(a <= b for a, b in zip(state, s, strict=True))]
        states.append(state)
        return False

    def search(sched: Schedule, mask: int) -> None:
        nodes[0] += 1
        if nodes[0] > node_limit:
            raise SearchLimit(f"exact search stopped after {node_limit} prefixes (n={n})")
        if mask == (1 << n) - 1:
            if sched.makespan < best[0]:
                best[0], best[1] = sched.makespan, sched.order[:]
            return
        if prefix_bound(sched, mask) >= best[0] or dominated(mask, sched):
            return
        children = sorted((sched.cost_if_appended(j), j) for j in range(n) if not mask >> j & 1)
        for cost, j in children:
            if cost >= best[0]:
                break
            child = sched.copy()
            child.append(j)
            search(child, mask | 1 << j)
            if best[0] == static:
                return

    search(workload.schedule(), 0)
    return best[0], best[1]


def _remaining_ops(workload: Workload) -> dict[int, list[tuple[int, int, int, int, int]]]:
    """Per dense key: (txn, writes, reads, min tail of its writes, min tail of its ops on the key)."""
    out: dict[int, list[tuple[int, int, int, int, int]]] = {}
    for j in range(workload.n):
        length = workload.lengths[j]
        per_key: dict[int, list[tuple[int, bool]]] = {}
        for key, pos in workload._writes[j]:
            per_key.setdefault(key, []).append((length - 1 - pos, True))
        for key, pos in workload._reads[j]:
            per_key.setdefault(key, []).append((length - 1 - pos, False))
        for key, items in per_key.items():
            tails_w = [t for t, w in items if w]
            out.setdefault(key, []).append((j, len(tails_w), len(items) - len(tails_w),
                                            min(tails_w) if tails_w else 0, min(t for t, _ in items)))
    return out


def _greedy_order(workload: Workload) -> list[int]:
    """Full greedy (append the transaction that increases the makespan least): the first upper bound."""
    sched = workload.schedule()
    remaining = set(range(workload.n))
    while remaining:
        j = min(remaining, key=lambda t: (sched.cost_if_appended(t), t))
        sched.append(j)
        remaining.remove(j)
    return sched.order
