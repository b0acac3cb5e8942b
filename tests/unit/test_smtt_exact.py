"""SMTT exact methods: Held–Karp DP, the Lawler-decomposition solver and the weighted subset search agree
with brute force and with each other, and match published optima (read from ../shared, never copied).

Speed on the full published n=100 set is measured by benchmarks/smtt_exact.py, not here.
"""

from __future__ import annotations

import importlib
import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from adrs.resources import builtin_dir, import_package_from_dir

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"

import_package_from_dir(builtin_dir("evaluators") / "smtt", "adrs_evaluator_smtt")
dp = importlib.import_module("adrs_evaluator_smtt.dp")
exact = importlib.import_module("adrs_evaluator_smtt.exact")
weighted = importlib.import_module("adrs_evaluator_smtt.weighted")
instances_io = importlib.import_module("adrs_evaluator_smtt.instances_io")
reference = importlib.import_module("adrs_evaluator_smtt.reference")
tardiness = importlib.import_module("adrs_evaluator_smtt.tardiness")


def brute_force(p: np.ndarray, d: np.ndarray, w: np.ndarray) -> int:
    orders = np.array(list(itertools.permutations(range(len(p)))))
    completion = np.cumsum(p[orders], axis=1)
    return int((w[orders] * np.maximum(completion - d[orders], 0)).sum(axis=1).min())


def random_instance(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Processing times from a small or wide range (ties are common), due dates around P."""
    p = rng.integers(1, int(rng.choice([4, 12, 100])) + 1, n)
    total = int(p.sum())
    if rng.random() < 0.25:  # few distinct due dates: many ties
        d = rng.integers(0, 4, n) * max(1, total // 4)
    else:
        d = rng.integers(0, max(1, int(total * rng.uniform(0.3, 1.2))) + 1, n)
    w = rng.integers(1, int(rng.choice([2, 5, 10])) + 1, n)
    return p.astype(np.int64), d.astype(np.int64), w.astype(np.int64)


def weighted_value(p: np.ndarray, d: np.ndarray, w: np.ndarray, order: np.ndarray) -> int:
    assert sorted(order.tolist()) == list(range(len(p)))
    return int((w[order] * np.maximum(np.cumsum(p[order]) - d[order], 0)).sum())


def published(name: str) -> list:
    path = SHARED / "smtt" / name
    assert path.is_file(), f"published data missing: {path}"
    return instances_io.read_json_instances(path, allow_negative_due_dates=True)  # n=20 has d < 0


# --- agreement with brute force on tiny instances ----------------------------------------------------

def test_dp_and_solvers_equal_brute_force_on_tiny_instances():
    rng = np.random.default_rng(7)
    for _ in range(150):
        p, d, w = random_instance(rng, int(rng.integers(1, 8)))
        ones = np.ones_like(p)
        plain, weighted_opt = brute_force(p, d, ones), brute_force(p, d, w)
        value, order = dp.held_karp(p, d)
        assert value == plain == tardiness.total_tardiness(p, d, order)
        value, order = dp.held_karp(p, d, w)
        assert value == weighted_opt == weighted_value(p, d, w, order)
        result = exact.solve_exact(p, d, time_limit_s=30)
        assert result.optimal and result.value == plain == result.lower_bound
        assert tardiness.total_tardiness(p, d, result.order) == plain
        result = weighted.solve_weighted(p, w, d, time_limit_s=30)
        assert result.optimal and result.value == weighted_opt
        assert weighted_value(p, d, w, result.order) == weighted_opt


def test_dp_equals_solvers_on_random_instances_of_8_to_14_jobs():
    rng = np.random.default_rng(8)
    for _ in range(40):
        p, d, w = random_instance(rng, int(rng.integers(8, 15)))
        value, _ = dp.held_karp(p, d)
        result = exact.solve_exact(p, d, time_limit_s=30)
        assert result.optimal and result.value == value
        value, _ = dp.held_karp(p, d, w)
        result = weighted.solve_weighted(p, w, d, time_limit_s=30)
        assert result.optimal and result.value == value
        assert weighted_value(p, d, w, result.order) == value


def test_held_karp_rejects_too_many_jobs():
    with pytest.raises(ValueError, match="limited to"):
        dp.held_karp(np.ones(dp.MAX_JOBS + 1, dtype=np.int64), np.zeros(dp.MAX_JOBS + 1, np.int64))


# --- published optima ---------------------------------------------------------------------------------

def test_exact_solver_matches_published_n20_optima():
    """Every 8th of the 800 published n=20 instances (Held–Karp optima): all proven, all equal.
    (All 800 were checked once: 800 proven, 800 equal.)"""
    data = published("data_20_800.json")[::8]
    for index, inst in enumerate(data):
        result = exact.solve_exact(inst.p, inst.d, time_limit_s=30)
        assert result.optimal, f"n=20 instance {8 * index} not proven"
        assert result.value == inst.opt, f"n=20 instance {8 * index}"
        assert tardiness.total_tardiness(inst.p, inst.d, result.order) == inst.opt


def test_held_karp_matches_published_n20_optima():
    data = published("data_20_800.json")
    for index in (37, 799):
        value, order = dp.held_karp(data[index].p, data[index].d)
        assert value == data[index].opt == tardiness.total_tardiness(data[index].p, data[index].d,
                                                                        order)


def test_exact_solver_proves_published_n100_optima():
    """A seeded sample of 12 of the 200 published n=100 instances, 60 s each at most: at least 90 %
    proven, every proven value equal to the published optimum, never "optimal" when unproven."""
    data = published("data_100_200.json")
    sample = np.random.default_rng(100).choice(len(data), size=12, replace=False)
    proven = 0
    for index in sample.tolist():
        inst = data[index]
        result = exact.solve_exact(inst.p, inst.d, time_limit_s=60)
        assert tardiness.total_tardiness(inst.p, inst.d, result.order) == result.value
        assert result.lower_bound <= inst.opt <= result.value
        if result.optimal:
            proven += 1
            assert result.value == inst.opt, f"n=100 instance {index}"
    assert proven >= 0.9 * len(sample)


def test_time_limit_gives_best_known_with_lower_bound():
    inst = published("data_100_200.json")[20]  # a hard one (TF high, RDD small)
    assert inst.opt > 0
    result = exact.solve_exact(inst.p, inst.d, time_limit_s=0.0)
    assert result.status == "best_known" and not result.optimal
    assert result.lower_bound <= inst.opt <= result.value
    assert tardiness.total_tardiness(inst.p, inst.d, result.order) == result.value


def test_weighted_solver_matches_orlib_wt40_optima_it_proves():
    folder = SHARED / "orlib_wt"
    data = instances_io.read_orlib_weighted(folder / "wt40.txt", 40, folder / "wtopt40.txt")
    assert len(data) == 125
    proven = 0
    # High-TF (#22, #23, #46), zero-optimum (#51, #101), #107, and two it does not prove in 5 s.
    for index in (21, 22, 45, 50, 100, 106, 0, 25):
        inst = data[index]
        result = weighted.solve_weighted(inst.p, inst.w, inst.d, time_limit_s=5)
        assert weighted_value(inst.p, inst.d, inst.w, result.order) == result.value
        assert result.lower_bound <= inst.opt <= result.value, f"wt40 #{index + 1}"
        if result.optimal:
            proven += 1
            assert result.value == inst.opt, f"wt40 #{index + 1}"
    assert proven >= 5


# --- reference records -----------------------------------------------------------------------------

def test_reference_records_are_labelled():
    data = published("data_100_200.json")
    [ref] = reference.references_for([data[3]], time_limit_s=60)
    assert ref.status == "optimal" and ref.value == ref.lower_bound == data[3].opt
    assert reference.Reference.from_dict(ref.to_dict()) == reference.Reference(
        ref.value, ref.status, ref.lower_bound, ref.solver, round(ref.seconds, 3))
    hard = data[20]
    [ref] = reference.references_for([hard], time_limit_s=0.0)
    assert ref.status == "best_known" and ref.lower_bound <= hard.opt <= ref.value
    for bad in ({**ref.to_dict(), "status": "optimal"},  # optimal needs lower_bound == value
                {**ref.to_dict(), "lower_bound": ref.value + 1},
                {**ref.to_dict(), "status": "guess"}, {**ref.to_dict(), "value": 1.5}):
        assert reference.Reference.from_dict(bad) is None


def test_cached_problem_references_are_exact_results(tmp_path):
    """The shipped cache files carry one record per instance; n=100 ones are all proven."""
    root = builtin_dir("problems") / "smtt" / "data"
    for split in ("train", "validation", "holdout"):
        stored = json.loads((root / f"{split}.json").read_text())
        assert stored["reference_version"] == reference.REFERENCE_VERSION
        records = [reference.Reference.from_dict(item) for item in stored["details"]]
        assert all(r is not None for r in records)
        assert stored["references"] == [r.value for r in records]
        if stored["spec"]["sizes"] == [100]:
            assert all(r.optimal for r in records), split
