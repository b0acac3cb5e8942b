"""txn simulator: hand-computed makespans on crafted cases, agreement with a literal (slow)
implementation of the model on random batches, incremental use, and input checks."""

from __future__ import annotations

import importlib
import itertools

import numpy as np
import pytest

from adrs.resources import builtin_dir, import_package_from_dir

import_package_from_dir(builtin_dir("evaluators") / "txn", "adrs_evaluator_txn")
txn_sim = importlib.import_module("adrs_evaluator_txn.txn_sim")
workloads = importlib.import_module("adrs_evaluator_txn.workloads")

F, R, W = txn_sim.FILLER, txn_sim.READ, txn_sim.WRITE
A, B, C = 10, 20, 30  # keys


def make(*txns: list[tuple[int, int]]):
    return workloads.batch_from_txns("crafted", txns).workload


def f():
    return (F, -1)


# (transactions, order, start times, makespan), every one worked out by hand below.
CRAFTED = [
    # T0 = w(A) r(B), T1 = r(A).  [0, 1]: T0 at 0 (w(A) in slot 0); T1's read of A must follow
    # that write (ends at 1) -> T1 at 1, ends 2. Makespan 2.
    ([[(W, A), (R, B)], [(R, A)]], [0, 1], [0, 1], 2),
    # [1, 0]: T1 reads A in slot 0; T0's write of A must follow that read -> T0 at 1, ends 3.
    ([[(W, A), (R, B)], [(R, A)]], [1, 0], [0, 1], 3),
    # Three reads of A share slot 0: makespan 1.
    ([[(R, A)], [(R, A)], [(R, A)]], [0, 1, 2], [0, 0, 0], 1),
    # T0 = f f w(A), T1 = w(A) f f.  [0, 1]: T0's write in slot 2 (ends 3); T1's write at
    # position 0 must start at >= 3 -> T1 at 3, ends 6.
    ([[f(), f(), (W, A)], [(W, A), f(), f()]], [0, 1], [0, 3], 6),
    # [1, 0]: T1's write in slot 0 (ends 1); T0's write at position 2 needs slot >= 1 -> T0 at 0.
    ([[f(), f(), (W, A)], [(W, A), f(), f()]], [1, 0], [0, 0], 3),
    # No backfilling: T0 = f f f f w(A) writes A in slot 4; T1 = w(A) must come after it (slot 5)
    # although slot 0 of A is free. Makespan 6; the other order gives 5.
    ([[f(), f(), f(), f(), (W, A)], [(W, A)]], [0, 1], [0, 5], 6),
    ([[f(), f(), f(), f(), (W, A)], [(W, A)]], [1, 0], [0, 0], 5),
    # T0 = r(A), T1 = w(A), T2 = r(A). [0, 1, 2]: T0 slot 0; T1 after the read -> 1; T2 after
    # the write -> 2. Makespan 3.
    ([[(R, A)], [(W, A)], [(R, A)]], [0, 1, 2], [0, 1, 2], 3),
    # [0, 2, 1]: both reads share slot 0, then the write in slot 1. Makespan 2.
    ([[(R, A)], [(W, A)], [(R, A)]], [0, 2, 1], [0, 0, 1], 2),
    # Read-modify-write twice: T0 = r(A) w(A) at 0 (write in slot 1, ends 2). T1's read (position
    # 0) must be at >= 2, its write (position 1) at >= 2 -> T1 at 2, ends 4.
    ([[(R, A), (W, A)], [(R, A), (W, A)]], [0, 1], [0, 2], 4),
    # T0 = w(A) w(B), T1 = r(B) w(C), T2 = r(C) r(A). [0, 1, 2]: T0 at 0 (A ends 1, B ends 2);
    # T1's read of B at >= 2 -> 2 (C written in slot 3, ends 4); T2's read of C at >= 4 -> 4,
    # ends 6.
    ([[(W, A), (W, B)], [(R, B), (W, C)], [(R, C), (R, A)]], [0, 1, 2], [0, 2, 4], 6),
    # [2, 1, 0]: T2 at 0 (reads C in slot 0, A in slot 1); T1's write of C at position 1 needs
    # slot >= 1 -> T1 at 0; T0's write of A needs slot >= 2 (after T2's read) and its write of B
    # at position 1 slot >= 1 (after T1's read of B in slot 0) -> T0 at 2, ends 4.
    ([[(W, A), (W, B)], [(R, B), (W, C)], [(R, C), (R, A)]], [2, 1, 0], [0, 0, 2], 4),
    # Fillers conflict with nothing, and neither do keys touched by a single transaction.
    ([[f(), f(), f()], [(W, B), (W, B)], [f()]], [0, 1, 2], [0, 0, 0], 3),
]


@pytest.mark.parametrize(("txns", "order", "starts", "makespan"), CRAFTED)
def test_crafted_cases_match_hand_computed_makespans(txns, order, starts, makespan) -> None:
    w = make(*txns)
    assert w.start_times(order) == starts
    assert w.makespan(order) == makespan


def literal_makespan(txns: list[list[tuple[int, int]]], order: list[int]) -> int:
    """The model written as stated: every placed operation is kept, and each new operation must
    occupy a later slot than every conflicting operation already placed on its key."""
    placed: dict[int, list[tuple[int, int]]] = {}  # key -> [(slot, kind)]
    makespan = 0
    for j in order:
        start = 0
        for pos, (kind, key) in enumerate(txns[j]):
            if kind == F:
                continue
            for slot, other in placed.get(key, []):
                if kind == W or other == W:
                    start = max(start, slot + 1 - pos)
        for pos, (kind, key) in enumerate(txns[j]):
            if kind != F:
                placed.setdefault(key, []).append((start + pos, kind))
        makespan = max(makespan, start + len(txns[j]))
    return makespan


def random_txns(rng: np.random.Generator, n: int, keys: int) -> list[list[tuple[int, int]]]:
    return [[(int(rng.integers(0, 3)), int(rng.integers(keys))) for _ in range(int(rng.integers(1, 7)))]
            for _ in range(n)]


def test_simulator_agrees_with_the_literal_model_on_random_batches() -> None:
    rng = np.random.default_rng(5)
    for _ in range(200):
        txns = random_txns(rng, int(rng.integers(1, 12)), int(rng.integers(1, 6)))
        w = make(*txns)
        order = rng.permutation(len(txns)).tolist()
        assert w.makespan(order) == literal_makespan(txns, order)


def test_generated_families_agree_with_the_literal_model() -> None:
    for family in workloads.FAMILIES:
        batch = workloads.generate_batch(1, family, 40, 0)
        w = batch.workload
        txns = [[(txn_sim.READ if k == "r" else txn_sim.WRITE if k == "w" else F, key) for k, key in t]
                for t in w.txns]
        order = np.random.default_rng(2).permutation(w.n).tolist()
        assert w.makespan(order) == literal_makespan(txns, order)


def test_incremental_schedule_matches_full_evaluation_and_copies_are_independent() -> None:
    rng = np.random.default_rng(9)
    w = make(*random_txns(rng, 10, 3))
    order = rng.permutation(10).tolist()
    sched = w.schedule()
    for count, j in enumerate(order, start=1):
        before = sched.copy()
        predicted = sched.cost_if_appended(j)
        start = sched.start_of(j)
        assert sched.append(j) == start
        assert sched.makespan == predicted == w.makespan(order[:count])
        assert before.makespan == w.makespan(order[:count - 1])  # the copy did not move
        assert before.order == order[:count - 1]
    assert sched.order == order


def test_makespan_is_monotone_under_appending() -> None:
    rng = np.random.default_rng(4)
    for _ in range(30):
        w = make(*random_txns(rng, 6, 3))
        for order in itertools.islice(itertools.permutations(range(6)), 20):
            values = [w.makespan(order[:k]) for k in range(7)]
            assert values == sorted(values)


@pytest.mark.parametrize(("kinds", "keys", "offsets", "message"), [
    ([1, 2], [0], [0, 2], "differ in length"),
    ([1, 2], [0, 0], [0, 1], "start at 0 and end"),
    ([1, 2], [0, 0], [0, 0, 2], "strictly increasing"),
    ([3], [0], [0, 1], "kinds must be"),
    ([1], [-1], [0, 1], "key >= 0"),
])
def test_malformed_workloads_are_rejected(kinds, keys, offsets, message) -> None:
    with pytest.raises(ValueError, match=message):
        txn_sim.Workload(kinds, keys, offsets)


def test_adapter_builds_the_workload_with_its_budget() -> None:
    batch = workloads.generate_batch(3, "rxw", 20, 0)
    made = txn_sim.make_workload(batch.kinds, batch.keys, batch.offsets, 0.25)
    assert set(made) == {"workload"}
    w = made["workload"]
    assert w.n == 20 and w.budget_s == 0.25
    assert w.makespan(range(20)) == batch.workload.makespan(range(20))
