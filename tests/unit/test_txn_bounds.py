"""txn lower bound and exact optimum: the branch and bound equals brute force on tiny batches, and
the lower bound never exceeds the exact optimum on 100 random small batches."""

from __future__ import annotations

import importlib
import itertools

import numpy as np
import pytest

from adrs.resources import builtin_dir, import_package_from_dir

import_package_from_dir(builtin_dir("evaluators") / "txn", "adrs_evaluator_txn")
bounds = importlib.import_module("adrs_evaluator_txn.bounds")
chain_bound = importlib.import_module("adrs_evaluator_txn.chain_bound")
txn_sim = importlib.import_module("adrs_evaluator_txn.txn_sim")
workloads = importlib.import_module("adrs_evaluator_txn.workloads")

F, R, W = txn_sim.FILLER, txn_sim.READ, txn_sim.WRITE


def random_batch(rng: np.random.Generator, n: int):
    keys = int(rng.integers(1, 6))
    txns = [[(int(rng.integers(0, 3)), int(rng.integers(keys))) for _ in range(int(rng.integers(1, 7)))]
            for _ in range(n)]
    return workloads.batch_from_txns("random", txns)


def brute_force(w) -> int:
    return min(w.makespan(order) for order in itertools.permutations(range(w.n)))


def test_exact_optimum_equals_brute_force_on_tiny_batches() -> None:
    rng = np.random.default_rng(21)
    for _ in range(40):
        w = random_batch(rng, int(rng.integers(1, 7))).workload
        value, order = bounds.exact_optimum(w)
        assert sorted(order) == list(range(w.n))
        assert w.makespan(order) == value == brute_force(w)


def small_batches() -> list:
    """100 small batches: 60 random (n = 4..9, 1-5 keys), 40 from the five families (n = 6..9)."""
    rng = np.random.default_rng(2024)
    batches = [random_batch(rng, int(rng.integers(4, 10))) for _ in range(60)]
    for k in range(8):
        for family in workloads.FAMILIES:
            batches.append(workloads.generate_batch(77, family, 6 + k % 4, k))
    return batches


def test_lower_bound_never_exceeds_the_exact_optimum_on_100_small_batches() -> None:
    batches = small_batches()
    assert len(batches) == 100
    tight = 0
    for batch in batches:
        w = batch.workload
        lb = bounds.lower_bound(w)
        opt, order = bounds.exact_optimum(w)
        assert w.makespan(order) == opt
        assert max(w.lengths) <= lb <= opt, batch.label()
        tight += lb == opt
    assert 0 < tight < 100  # the bound is sometimes tight, and not trivially so


@pytest.mark.parametrize(("txns", "expected"), [
    # Three writes of A can never share a slot: 3 (the longest transaction is 1).
    ([[(W, 0)], [(W, 0)], [(W, 0)]], 3),
    # Reads share: 2 writes + 1 slot for all reads = 3.
    ([[(W, 0)], [(R, 0)], [(R, 0)], [(W, 0)]], 3),
    # Writes of A at position 2 of length-3 transactions: the first cannot run before time 2, and
    # the subset {k >= 2, tail >= 0} gives 2 + 0 + 2 = 4.
    ([[(F, -1), (F, -1), (W, 0)], [(F, -1), (F, -1), (W, 0)]], 4),
    # Writes with one op before and two after: 1 + 2 + 2 = 5.
    ([[(F, -1), (W, 0), (F, -1), (F, -1)], [(F, -1), (W, 0), (F, -1), (F, -1)]], 5),
    # No conflicts: the longest transaction.
    ([[(R, 0), (R, 0), (F, -1)], [(R, 0)]], 3),
])
def test_lower_bound_on_crafted_batches(txns, expected) -> None:
    w = workloads.batch_from_txns("crafted", txns).workload
    assert bounds.lower_bound(w) == expected
    assert bounds.exact_optimum(w)[0] == expected  # all of these are tight


def test_search_limit_is_reported() -> None:
    rng = np.random.default_rng(3)
    hard = next(b for b in (random_batch(rng, 9) for _ in range(50))
                if bounds.lower_bound(b.workload) < bounds.exact_optimum(b.workload)[0])
    with pytest.raises(bounds.SearchLimit):
        bounds.exact_optimum(hard.workload, node_limit=1)


def test_chain_bound_sees_what_the_key_bound_cannot() -> None:
    # A reads x then writes y 8 steps later; B the other way round: in either order the second
    # waits until the first's write (9 + 9), but each key alone only needs 2 slots.
    a = [(R, 0)] + [(F, -1)] * 7 + [(W, 1)]
    b = [(R, 1)] + [(F, -1)] * 7 + [(W, 0)]
    w = workloads.batch_from_txns("crafted", [a, b]).workload
    assert bounds.key_lower_bound(w) == 9
    assert chain_bound.chain_bound(w) == 18 == bounds.lower_bound(w) == bounds.exact_optimum(w)[0]


def test_chain_bound_never_exceeds_the_exact_optimum_on_random_small_batches() -> None:
    """300 batches, denser than above (more writes, fewer keys), where chains matter most."""
    rng = np.random.default_rng(4242)
    stronger = 0
    for _ in range(300):
        n = int(rng.integers(2, 9))
        keys = int(rng.integers(1, 5))
        txns = [[(int(rng.choice([F, R, W], p=[0.3, 0.35, 0.35])), int(rng.integers(keys)))
                 for _ in range(int(rng.integers(1, 9)))] for _ in range(n)]
        w = workloads.batch_from_txns("random", txns).workload
        opt = bounds.exact_optimum(w)[0]
        chain = chain_bound.chain_bound(w)
        assert chain <= opt, txns
        assert bounds.lower_bound(w) == max(chain, bounds.key_lower_bound(w)) <= opt
        stronger += chain > bounds.key_lower_bound(w)
    assert stronger >= 10  # the chain bound does tighten, not only on crafted cases
