"""SMTT MIP (HiGHS): agrees with the Held–Karp DP on random small instances (plain and weighted), matches
published n=20 optima, and reports a time-limited run as not optimal with a valid dual bound."""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np

from adrs.resources import builtin_dir, import_package_from_dir

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"

import_package_from_dir(builtin_dir("evaluators") / "smtt", "adrs_evaluator_smtt")
dp = importlib.import_module("adrs_evaluator_smtt.dp")
mip = importlib.import_module("adrs_evaluator_smtt.mip")
exact = importlib.import_module("adrs_evaluator_smtt.exact")
instances_io = importlib.import_module("adrs_evaluator_smtt.instances_io")


def weighted_value(p, d, w, order) -> int:
    assert sorted(order.tolist()) == list(range(len(p)))
    return int((w[order] * np.maximum(np.cumsum(p[order]) - d[order], 0)).sum())


def test_mip_equals_dp_and_exact_solver_on_random_instances():
    rng = np.random.default_rng(3)
    for _ in range(3):
        n = int(rng.integers(8, 10))
        p = rng.integers(1, 101, n)
        total = int(p.sum())
        d = rng.integers(int(0.2 * total), int(0.9 * total), n)
        w = rng.integers(1, 11, n)
        plain = mip.solve_mip(p, d, time_limit_s=60)
        assert plain.optimal and plain.value == dp.held_karp(p, d)[0]
        assert plain.value == exact.solve_exact(p, d, time_limit_s=30).value
        assert weighted_value(p, d, np.ones_like(p), plain.order) == plain.value
        assert abs(plain.dual_bound - plain.value) < 1
        heavy = mip.solve_mip(p, d, w, time_limit_s=60)
        assert heavy.optimal and heavy.value == dp.held_karp(p, d, w)[0]
        assert weighted_value(p, d, w, heavy.order) == heavy.value


def test_mip_matches_published_n20_optima():
    data = instances_io.read_json_instances(SHARED / "smtt" / "data_20_800.json",
                                             allow_negative_due_dates=True)
    for index in (0, 1, 2, 3, 4):  # hard ones (e.g. #456) take the MIP about a minute
        result = mip.solve_mip(data[index].p, data[index].d, time_limit_s=60)
        assert result.optimal, f"n=20 instance {index}: {result.status}"
        assert result.value == data[index].opt
        assert result.mip_gap <= 1e-6 or result.value == 0


def test_mip_time_limit_is_not_reported_optimal():
    data = instances_io.read_json_instances(SHARED / "smtt" / "data_100_200.json")
    inst = data[20]
    result = mip.solve_mip(inst.p, inst.d, time_limit_s=1.0)
    assert result.status != "optimal" and not result.optimal
    assert result.dual_bound <= inst.opt + 1e-6
    if result.value is not None:
        assert result.value >= inst.opt
