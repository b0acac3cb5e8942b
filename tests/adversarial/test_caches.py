"""Programs that cache answers by their input gain nothing: no input is ever run twice, rescaled or
permuted, so a scale-free cache, a permutation-invariant cache (with relabelling on a hit) and a
cache keyed by a hash of the sorted input never hit; a program fast on its first call and slow
after is timed on every call. On eplb (timed objective), txn (per-call budget) and a timed
objective of the `adrs new` scaffold (the per-call times its score receives).

Every hostile program sleeps SLOW seconds on a cache miss, so "gains nothing" is a lower bound
that machine load cannot fake: each timed call took at least SLOW.
"""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path

import numpy as np
import pytest

from adrs.evaluation import evaluate_program, sandbox_options
from adrs.problem import load_problem
from adrs.resources import builtin_dir, import_package_from_dir
from adrs.sandbox import run_program
from adrs.scaffold import new_problem

SLOW = 0.15  # seconds slept on every cache miss
import_package_from_dir(builtin_dir("evaluators") / "eplb", "adrs_evaluator_eplb")
eplb_evaluator = importlib.import_module("adrs_evaluator_eplb.evaluator")

# --- eplb ------------------------------------------------------------------------------------------

EPLB_CACHE = '''

import hashlib as _hashlib
import time as _time

_CACHE = {}
_honest = rebalance_experts


def _relabel(cached, weight):
    """The cached placement for an input whose experts are a permutation of the cached one's."""
    old_order, (phy2log, log2phy, logcnt) = cached
    new_order = np.argsort(weight, axis=-1, kind="stable")
    rank = np.argsort(old_order, axis=-1, kind="stable")
    rows = np.arange(weight.shape[0])[:, None]
    mapped = new_order[rows, rank[rows, phy2log]]
    counts = np.zeros_like(logcnt)
    counts[rows, new_order] = logcnt[rows, old_order]
    table = np.full_like(log2phy, -1)
    table[rows, new_order] = log2phy[rows, old_order]
    return mapped, table, counts


def rebalance_experts(weight, num_replicas, num_groups, num_nodes, num_gpus):
    key = KEY(weight)
    if key in _CACHE:
        return _relabel(_CACHE[key], weight) if RELABEL else _CACHE[key][1]
    _time.sleep(SLOW)
    out = _honest(weight, num_replicas, num_groups, num_nodes, num_gpus)
    _CACHE[key] = (np.argsort(weight, axis=-1, kind="stable"), out)
    return out
'''

EPLB_KEYS = {
    "scale-free": ("lambda w: np.round(w / np.maximum(w.sum(axis=-1, keepdims=True), 1), 9).tobytes()",
                   False),
    "permutation-invariant": ("lambda w: np.sort(w, axis=-1).tobytes()", True),
    "hash of sorted input": ("lambda w: _hashlib.sha256(np.sort(w, axis=None).tobytes()).hexdigest()", False),
}

FIRST_FAST = '''

import time as _time

_calls = [0]
_honest = rebalance_experts


def rebalance_experts(*args, **kwargs):
    _calls[0] += 1
    if _calls[0] > 1:
        _time.sleep(SLOW)
    return _honest(*args, **kwargs)
'''

EPLB_SMALL = {
    "cluster": {"experts": 32, "replicas": 40, "groups": 4, "nodes": 2, "gpus": 4},
    "scoring": {"time_weight": 1.0, "time_floor_ms": 1.0},
    "train": {"seed": 1, "layers": 3, "windows": 4, "window_steps": 5, "tokens_per_step": 256,
              "mixes": ["chat", "math"]},
    "validation": {"seed": 2, "layers": 3, "windows": 3, "window_steps": 5, "mixes": ["code"]},
    "holdout": {"seed": 3, "layers": 4, "windows": 2, "window_steps": 5, "mixes": ["mixed"]},
}


@pytest.fixture(scope="module")
def eplb_setup(tmp_path_factory):
    spec = load_problem("eplb")
    package = import_package_from_dir(spec.evaluator_dir, "adrs_evaluator_eplb")
    evaluator = package.make_evaluator(EPLB_SMALL, tmp_path_factory.mktemp("eplb"))
    deepseek = spec.baselines["DeepSeek"].read_text()
    honest = deepseek + FIRST_FAST.replace("if _calls[0] > 1:", "if True:").replace("SLOW", repr(SLOW))
    return spec, evaluator, deepseek, evaluate_program(honest, evaluator, "train", spec.limits)


@pytest.mark.parametrize("cache", list(EPLB_KEYS))
def test_eplb_cache_gains_nothing(eplb_setup, cache: str) -> None:
    spec, evaluator, deepseek, honest = eplb_setup
    key, relabel = EPLB_KEYS[cache]
    code = deepseek + EPLB_CACHE.replace("KEY(", f"({key})(").replace("RELABEL", repr(relabel)).replace(
        "SLOW", repr(SLOW))
    result = evaluate_program(code, evaluator, "train", spec.limits)
    assert result.status == "ok", result.feedback
    assert result.metrics["rebalance_ms"] >= 1000 * SLOW  # every timed call missed the cache
    assert result.metrics["balancedness_pct"] == pytest.approx(honest.metrics["balancedness_pct"], abs=1e-9)


def test_eplb_permutation_cache_would_hit_a_permuted_input(eplb_setup) -> None:
    """The permutation-invariant cache is a real threat, not a strawman: fed a permuted window in
    the same process it answers from the cache, with a valid placement exactly as balanced."""
    spec, evaluator, deepseek, _ = eplb_setup
    key, _ = EPLB_KEYS["permutation-invariant"]
    code = deepseek + EPLB_CACHE.replace("KEY(", f"({key})(").replace("RELABEL", "True").replace(
        "SLOW", repr(SLOW))
    call = evaluator.split_calls("train")[0]
    perm = np.random.default_rng(0).permutation(call.weight.shape[1])
    permuted = dataclasses.replace(call, weight=call.weight[:, perm], scored=call.scored[:, perm])
    kwargs = [eplb_evaluator.call_kwargs(c, evaluator.cluster) for c in (call, permuted)]
    outcome = run_program(code, "rebalance_experts", kwargs, spec.limits)
    assert outcome.status == "ok", outcome.feedback()
    assert outcome.call_times_s[0] >= SLOW > outcome.call_times_s[1]  # the second call hit
    found, errors = eplb_evaluator.assess([call, permuted], evaluator.cluster, outcome.outputs, [0.0, 0.0])
    assert found is not None, errors
    assert found.balancedness[1] == pytest.approx(found.balancedness[0])


def test_eplb_fast_first_call_slow_after_is_timed_on_every_call(eplb_setup) -> None:
    spec, evaluator, deepseek, _ = eplb_setup
    code = deepseek + FIRST_FAST.replace("SLOW", repr(SLOW))
    result = evaluate_program(code, evaluator, "train", spec.limits)
    assert result.status == "ok", result.feedback
    assert result.metrics["rebalance_ms"] >= 1000 * SLOW  # the first call is the untimed warm-up


# --- txn -------------------------------------------------------------------------------------------

TXN_CACHE = '''

import hashlib as _hashlib
import time as _time

_CACHE = {}
_honest = schedule


def _relabel_keys(workload):
    names = {}
    return tuple(tuple((kind, names.setdefault(key, len(names)) if key >= 0 else -1) for kind, key in t)
                 for t in workload.txns)


def rebalance(order, old_txns, workload):
    """Map the cached order onto this workload's transaction indices (same multiset of txns)."""
    where = {}
    for j, t in enumerate(workload.txns):
        where.setdefault(t, []).append(j)
    return [where[old_txns[j]].pop() for j in order]


def schedule(workload):
    key = KEY(workload)
    if key in _CACHE:
        order, old_txns = _CACHE[key]
        return rebalance(order, old_txns, workload) if REMAP else order
    _time.sleep(SLOW)
    order = _honest(workload)
    _CACHE[key] = (order, workload.txns)
    return order
'''

TXN_KEYS = {
    "key-relabelling-invariant": ("_relabel_keys", False),
    "permutation-invariant": ("lambda w: tuple(sorted(w.txns))", True),
    "hash of sorted input": ("lambda w: _hashlib.sha256(repr(sorted(w.txns)).encode()).hexdigest()", True),
}


@pytest.fixture(scope="module")
def txn_setup():
    spec = load_problem("txn")
    evaluator = spec.load_evaluator()
    smf = spec.baselines["SMF"].read_text()
    honest = smf + FIRST_FAST.replace("rebalance_experts", "schedule").replace(
        "if _calls[0] > 1:", "if True:").replace("SLOW", repr(SLOW))
    return spec, evaluator, smf, evaluate_program(honest, evaluator, "train", spec.limits)


@pytest.mark.parametrize("cache", list(TXN_KEYS))
def test_txn_cache_gains_nothing(txn_setup, cache: str) -> None:
    spec, evaluator, smf, honest = txn_setup
    key, remap = TXN_KEYS[cache]
    code = smf + TXN_CACHE.replace("KEY(", f"({key})(").replace("REMAP", repr(remap)).replace(
        "SLOW", repr(SLOW))
    result = evaluate_program(code, evaluator, "train", spec.limits)
    assert result.status == "ok", result.feedback
    assert result.metrics["mean_call_ms"] >= 1000 * SLOW
    assert result.metrics["vs_smf_pct"] == pytest.approx(honest.metrics["vs_smf_pct"], abs=1e-9)


def test_txn_fast_first_call_then_over_budget_is_rejected(txn_setup) -> None:
    spec, evaluator, smf, _ = txn_setup
    over = evaluator.budget.allowed(60) + 0.1  # train workloads have 60 transactions
    code = smf + FIRST_FAST.replace("rebalance_experts", "schedule").replace("SLOW", repr(over))
    result = evaluate_program(code, evaluator, "train", spec.limits)
    assert result.status == "invalid"
    assert "3 of 4 answers are invalid" in result.feedback and "over the budget" in result.feedback


# --- the `adrs new` scaffold with a timed objective ----------------------------------------------

SCAFFOLD_CACHE = '''

import hashlib as _hashlib
import time as _time

_CACHE = {}
_honest = pack


def pack(sizes, capacity):
    key = _hashlib.sha256(np.sort(sizes).tobytes() + bytes([capacity % 256])).hexdigest()
    if key not in _CACHE:
        _time.sleep(SLOW)
        _CACHE[key] = _honest(sizes, capacity)
    return _CACHE[key]
'''


def test_scaffold_timed_objective_gains_nothing_from_a_cache(tmp_path: Path) -> None:
    """A problem written by `adrs new`: the per-call times a timed objective of it would use (the
    `call_times_s` its `score` receives) come from calls run once each, so the hash-of-sorted-input
    cache never hits."""
    spec = load_problem(str(new_problem("toy_timed", tmp_path)))
    evaluator = spec.load_evaluator()
    code = spec.seed_code + SCAFFOLD_CACHE.replace("SLOW", repr(SLOW))
    calls = evaluator.calls("train")
    outcome = run_program(code, evaluator.entry, calls, spec.limits, **sandbox_options(evaluator))
    assert outcome.status == "ok", outcome.feedback()
    assert len(outcome.call_times_s) == len(calls) >= 2
    assert min(outcome.call_times_s) >= SLOW  # no call was answered from the cache
    assert evaluator.score("train", outcome.outputs, outcome.call_times_s).status == "ok"


def test_evaluators_cannot_ask_for_repeated_runs_of_one_input() -> None:
    class Repeating:
        entry = "f"
        timing_repeats = 3

    with pytest.raises(ValueError, match="timing_repeats is not supported.*cache"):
        sandbox_options(Repeating())
    assert "repeats" not in sandbox_options(type("Plain", (), {"entry": "f"})())
