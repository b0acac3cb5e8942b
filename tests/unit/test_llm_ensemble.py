"""adrs.proposer.ensemble: weighted draws (seeded) and the cost-aware UCB bandit, with reasons."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from adrs.config import ModelConfig
from adrs.proposer.ensemble import Ensemble

A, B, C = ModelConfig("openai/a", weight=3.0), ModelConfig("openai/b", weight=1.0), \
    ModelConfig("openai/c", weight=0.0)


def test_weighted_draws_follow_weights_and_the_seed():
    ensemble = Ensemble([A, B, C])
    counts = Counter(ensemble.choose([0, 1, 2], random.Random(seed)).index for seed in range(4000))
    assert counts[2] == 0 and 0.70 < counts[0] / 4000 < 0.80
    first = [ensemble.choose([0, 1, 2], random.Random(s)).index for s in range(50)]
    assert first == [ensemble.choose([0, 1, 2], random.Random(s)).index for s in range(50)]
    choice = ensemble.choose([0, 1, 2], random.Random(1))
    assert choice.reason.startswith("weights: drawn with p=")


def test_weighted_draw_among_available_models_only():
    ensemble = Ensemble([A, B, C])
    assert {ensemble.choose([1], random.Random(s)).index for s in range(20)} == {1}
    # only zero-weight models left: uniform among them rather than nothing
    assert ensemble.choose([2], random.Random(0)).index == 2


def test_single_model_reason():
    assert Ensemble([A]).choose([0], random.Random(0)).reason == "the only model"


def play(ensemble: Ensemble, rates: list[float], costs: list[float], rounds: int,
         seed: int = 0) -> Counter[int]:
    """Run the bandit against models that improve with probability ``rates[i]``."""
    rng = random.Random(seed)
    picks: Counter[int] = Counter()
    for _ in range(rounds):
        index = ensemble.choose(list(range(len(rates))), rng).index
        picks[index] += 1
        ensemble.started(index)
        ensemble.record_call(index, costs[index])
        ensemble.record_outcome(index, rng.random() < rates[index])
    return picks


def test_bandit_moves_calls_to_the_model_whose_children_improve():
    ensemble = Ensemble([B, A], bandit=True)  # weights favour nothing here: B first, A second
    picks = play(ensemble, rates=[0.05, 0.5], costs=[0.01, 0.01], rounds=200)
    assert picks[1] > 3 * picks[0]
    assert ensemble.shares()[1] == picks[1] / 200


def test_bandit_is_cost_aware():
    # the same improvement rate, ten times cheaper: the cheap model gets most calls
    ensemble = Ensemble([A, B], bandit=True)
    picks = play(ensemble, rates=[0.3, 0.3], costs=[0.10, 0.01], rounds=200)
    assert picks[1] > 3 * picks[0]


def test_bandit_tries_every_model_first_and_explains_its_choice():
    ensemble = Ensemble([A, B, C], bandit=True)
    tried = []
    for _ in range(3):
        choice = ensemble.choose([0, 1, 2], random.Random(0))
        assert choice.reason == "bandit: not tried yet"
        tried.append(choice.index)
        ensemble.started(choice.index)
        ensemble.record_call(choice.index, 0.001)
        ensemble.record_outcome(choice.index, choice.index == 1)
    assert sorted(tried) == [0, 1, 2]
    choice = ensemble.choose([0, 1, 2], random.Random(0))
    assert choice.index == 1
    assert choice.reason.startswith("bandit: UCB") and "1/1 improved" in choice.reason
    assert "next openai/" in choice.reason


def test_empty_inputs_are_errors():
    with pytest.raises(ValueError):
        Ensemble([])
    with pytest.raises(ValueError):
        Ensemble([A]).choose([], random.Random(0))
