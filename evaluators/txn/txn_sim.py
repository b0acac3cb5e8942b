"""Transaction-scheduling simulator: the makespan of an order of transactions. Standalone (stdlib only).

Model (Cheng et al., "Towards Optimal Transaction Scheduling", PVLDB 2024): a transaction is a
sequence of operations, each a read ("r") or write ("w") of an integer key, or a filler ("f") that
conflicts with nothing. Every operation takes one time unit; the k-th operation (k = 0, 1, ...) of a
transaction that starts at time s occupies [s + k, s + k + 1). Transactions are placed one by one in
the given order, each at the earliest start s >= 0 such that every one of its operations on a key
comes after the last conflicting operation already placed on that key: a write after the last read
and the last write, a read after the last write (reads may share a time unit). The makespan is the
finish time of the last operation.

The simulator keeps, per key, the end time of the last placed write and of the last placed read, so
appending one transaction costs O(its operations) (``Schedule``); ``Workload.makespan`` evaluates a
whole (or partial) order. Keys that only one transaction touches never constrain anything and are
dropped from the state. This file is copied next to candidate programs (``from txn_sim import
Workload``) and is also the evaluator's trusted simulator; it does not validate orders (the
evaluator does) and does not enforce any compute budget (``budget_s`` is informational: the
evaluator checks each call's time).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

FILLER, READ, WRITE = 0, 1, 2
KIND_NAMES = {FILLER: "f", READ: "r", WRITE: "w"}


class Workload:
    """A batch of transactions and its simulator.

    Attributes: ``n`` (number of transactions), ``txns`` (per transaction, a tuple of (kind, key)
    with kind "r", "w" or "f"; key -1 for fillers), ``lengths`` (operations per transaction),
    ``budget_s`` (wall time the evaluator allows for one ``schedule`` call, or None).
    """

    def __init__(self, kinds: Sequence[int], keys: Sequence[int], offsets: Sequence[int],
                 budget_s: float | None = None) -> None:
        kinds = [int(k) for k in kinds]
        keys = [int(k) for k in keys]
        offsets = [int(o) for o in offsets]
        if len(kinds) != len(keys):
            raise ValueError(f"kinds and keys differ in length ({len(kinds)} != {len(keys)})")
        if not offsets or offsets[0] != 0 or offsets[-1] != len(kinds):
            raise ValueError("offsets must start at 0 and end at the number of operations")
        if any(b <= a for a, b in zip(offsets, offsets[1:], strict=False)):
            raise ValueError("offsets must be strictly increasing (every transaction has an operation)")
        if any(k not in KIND_NAMES for k in kinds):
            raise ValueError("kinds must be 0 (filler), 1 (read) or 2 (write)")
        if any(key < 0 for kind, key in zip(kinds, keys, strict=True) if kind != FILLER):
            raise ValueError("reads and writes need a key >= 0")
        self.n = len(offsets) - 1
        self.budget_s = None if budget_s is None else float(budget_s)
        self.kinds, self.keys, self.offsets = kinds, keys, offsets
        self.txns = tuple(
            tuple((KIND_NAMES[kinds[i]], keys[i] if kinds[i] != FILLER else -1)
                  for i in range(offsets[j], offsets[j + 1]))
            for j in range(self.n))
        self.lengths = tuple(offsets[j + 1] - offsets[j] for j in range(self.n))
        owners: dict[int, set[int]] = {}
        for j in range(self.n):
            for i in range(offsets[j], offsets[j + 1]):
                if kinds[i] != FILLER:
                    owners.setdefault(keys[i], set()).add(j)
        shared = sorted(k for k, who in owners.items() if len(who) > 1)
        dense = {k: d for d, k in enumerate(shared)}
        self.num_keys = len(shared)  # keys touched by two or more transactions
        reads, writes = [], []
        for j in range(self.n):
            r, w = [], []
            for pos, i in enumerate(range(offsets[j], offsets[j + 1])):
                if kinds[i] != FILLER and keys[i] in dense:
                    (w if kinds[i] == WRITE else r).append((dense[keys[i]], pos))
            reads.append(tuple(r))
            writes.append(tuple(w))
        self._reads, self._writes = tuple(reads), tuple(writes)

    def schedule(self, order: Iterable[int] = ()) -> Schedule:
        """A new incremental schedule with the transactions of ``order`` appended."""
        sched = Schedule(self)
        for j in order:
            sched.append(j)
        return sched

    def makespan(self, order: Iterable[int]) -> int:
        """Makespan of the transactions of ``order`` placed in that order (a prefix is fine)."""
        return self.schedule(order).makespan

    def start_times(self, order: Iterable[int]) -> list[int]:
        """Start time of each transaction of ``order``, in order."""
        sched = Schedule(self)
        return [sched.append(j) for j in order]


class Schedule:
    """An order being built: append transactions one at a time, O(operations) each.

    ``makespan`` is the finish time so far, ``order`` the transactions appended (a new list on each
    access); per shared key, ``last_write`` / ``last_read`` hold the end time of the last placed
    write / read (the state). ``start_of(j)`` and ``cost_if_appended(j)`` look ahead without
    changing anything; ``copy()`` branches in O(shared keys) (the order is shared, not copied).
    """

    __slots__ = ("w", "last_write", "last_read", "_busy", "makespan", "_tail", "count")

    def __init__(self, workload: Workload) -> None:
        self.w = workload
        self.last_write = [0] * workload.num_keys
        self.last_read = [0] * workload.num_keys
        self._busy = [0] * workload.num_keys  # max(last_write, last_read): where a write may go
        self.makespan = 0
        self._tail: tuple | None = None  # (previous tail, last transaction): the order, shared by copies
        self.count = 0  # transactions appended

    @property
    def order(self) -> list[int]:
        out = []
        node = self._tail
        while node is not None:
            node, j = node
            out.append(j)
        out.reverse()
        return out

    def copy(self) -> Schedule:
        other = Schedule.__new__(Schedule)
        other.w = self.w
        other.last_write = self.last_write[:]
        other.last_read = self.last_read[:]
        other._busy = self._busy[:]
        other.makespan = self.makespan
        other._tail = self._tail
        other.count = self.count
        return other

    def start_of(self, j: int) -> int:
        """Earliest start of transaction ``j`` if it were appended now."""
        s = 0
        busy = self._busy
        for key, pos in self.w._writes[j]:
            t = busy[key] - pos
            if t > s:
                s = t
        lw = self.last_write
        for key, pos in self.w._reads[j]:
            t = lw[key] - pos
            if t > s:
                s = t
        return s

    def cost_if_appended(self, j: int) -> int:
        """Makespan after appending transaction ``j`` (nothing changes)."""
        end = self.start_of(j) + self.w.lengths[j]
        return end if end > self.makespan else self.makespan

    def append(self, j: int) -> int:
        """Append transaction ``j`` at its earliest start; returns that start time."""
        w = self.w
        writes, reads = w._writes[j], w._reads[j]
        busy, lw, lr = self._busy, self.last_write, self.last_read
        s = 0
        for key, pos in writes:
            t = busy[key] - pos
            if t > s:
                s = t
        for key, pos in reads:
            t = lw[key] - pos
            if t > s:
                s = t
        s1 = s + 1
        for key, pos in writes:  # a write ends after every placed read and write of its key
            t = s1 + pos
            lw[key] = t
            busy[key] = t
        for key, pos in reads:
            t = s1 + pos
            if t > lr[key]:
                lr[key] = t
                if t > busy[key]:
                    busy[key] = t
        end = s + w.lengths[j]
        if end > self.makespan:
            self.makespan = end
        self._tail = (self._tail, j)
        self.count += 1
        return s


def make_workload(kinds, keys, offsets, budget_s=None) -> dict:
    """Sandbox adapter: a call's flat arrays -> the ``schedule`` keyword arguments."""
    return {"workload": Workload(kinds, keys, offsets, budget_s)}
