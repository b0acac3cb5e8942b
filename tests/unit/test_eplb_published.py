"""The published EPLB scores (theirs) reported by `adrs bench eplb`: their arithmetic, and slot
balancedness recomputed from phy2log against a loop."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from adrs.resources import builtin_dir, import_package_from_dir

import_package_from_dir(builtin_dir("evaluators") / "eplb", "adrs_evaluator_eplb")
published = importlib.import_module("adrs_evaluator_eplb.published")


def test_leaderboard_score_points() -> None:
    assert published.leaderboard_score(1.0, 0.001) == pytest.approx(100.0)  # <= 1 ms: 10 speed points
    assert published.leaderboard_score(0.5, 0.002) == pytest.approx(45.0 + 5.0)
    assert published.leaderboard_score(0.8, 0.1) == pytest.approx(72.0 + 0.1 - 2.0)  # slow penalty
    assert published.leaderboard_score(0.8, 5.0) == pytest.approx(72.0 + 0.002 - 20.0)  # capped


def test_skydiscover_score() -> None:
    assert published.skydiscover_score(0.6, 0.002) == pytest.approx(0.8)


def test_expert_balancedness_matches_a_loop() -> None:
    rng = np.random.default_rng(5)
    load = rng.integers(0, 50, size=(3, 6)).astype(float)
    phy2log = np.array([[0, 1, 2, 3, 4, 5, 0, 1], [5, 4, 3, 2, 1, 0, 5, 5], [0, 1, 2, 3, 4, 5, 2, 2]])
    counts = np.stack([np.bincount(row, minlength=6) for row in phy2log])
    means, peaks = 0.0, 0.0
    for layer in range(3):
        slots = [load[layer, e] / counts[layer, e] for e in phy2log[layer]]
        means += sum(slots) / len(slots)
        peaks += max(slots)
    assert published.expert_balancedness(phy2log, counts, load) == pytest.approx(means / peaks)
