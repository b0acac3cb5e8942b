"""txn evaluator: config parsing, forged and over-budget answers rejected, makespans recomputed by
the trusted simulator, cached references, and the sandbox path (support module + adapter) where a
candidate that tampers with its own simulator copy gains nothing."""

from __future__ import annotations

import importlib
import json
import statistics
from pathlib import Path

import numpy as np
import pytest

from adrs.config import ConfigError
from adrs.evaluation import evaluate_program
from adrs.problem import load_problem
from adrs.resources import builtin_dir, import_package_from_dir

txn = import_package_from_dir(builtin_dir("evaluators") / "txn", "adrs_evaluator_txn")
evaluator_mod = importlib.import_module("adrs_evaluator_txn.evaluator")
heuristics = importlib.import_module("adrs_evaluator_txn.heuristics")
reference = importlib.import_module("adrs_evaluator_txn.reference")

SMALL = {"budget": {"ms_per_txn": 5.0, "slack_s": 0.1}, "smf_seeds": 3,
         "train": {"seed": 1, "families": ["rxw", "ycsb"], "sizes": [12]},
         "validation": {"seed": 2, "families": ["hotkey"], "sizes": [12]},
         "holdout": {"seed": 3, "families": ["tpcc"], "sizes": [12]}}
PROBLEM = builtin_dir("problems") / "txn"


@pytest.fixture
def ev(tmp_path: Path):
    return txn.make_evaluator(SMALL, problem_root=tmp_path)


def sequential(ev, split: str = "train") -> list[list[int]]:
    return [list(range(b.n)) for b in ev.batches[split]]


def test_problem_config_loads_and_splits_differ() -> None:
    spec = load_problem("txn")
    assert spec.objective == "vs_smf_pct" and spec.direction == "minimize"
    settings = evaluator_mod.parse_settings(spec.instances)
    assert settings.budget.ms_per_txn > 0 and settings.smf_seeds >= 5
    assert "tpcc" not in settings.specs["train"].families  # a family the search never sees
    assert len({s.seed for s in settings.specs.values()}) == 3
    sizes = {n for s in settings.specs.values() for n in s.sizes}
    assert min(sizes) >= 50 and max(sizes) <= 500


@pytest.mark.parametrize(("change", "message"), [
    ({"train": None}, "missing: train"),
    ({"extra": 1}, "unknown: extra"),
    ({"budget": {"ms_per_txn": 0}}, "ms_per_txn must be > 0"),
    ({"budget": {"seconds": 1}}, "budget"),
    ({"smf_seeds": 0}, "smf_seeds"),
    ({"validation": {"seed": 2, "families": ["nope"], "sizes": [12]}}, "families"),
    ({"validation": {"seed": 2, "sizes": []}}, "sizes"),
])
def test_bad_settings_name_the_field(change, message) -> None:
    raw = {k: v for k, v in {**SMALL, **change}.items() if v is not None}
    with pytest.raises(ConfigError, match=message):
        evaluator_mod.parse_settings(raw)


def test_identical_workloads_in_two_splits_are_refused(tmp_path: Path) -> None:
    raw = {**SMALL, "validation": dict(SMALL["train"])}
    with pytest.raises(ConfigError, match="share an identical workload"):
        txn.make_evaluator(raw, problem_root=tmp_path)


def test_calls_carry_flat_arrays_and_the_budget(ev) -> None:
    calls = ev.calls("train")
    assert len(calls) == 2
    for call, batch in zip(calls, ev.batches["train"], strict=True):
        assert set(call) == {"kinds", "keys", "offsets", "budget_s"}
        assert call["offsets"][-1] == len(call["kinds"]) == len(call["keys"])
        assert float(call["budget_s"]) == pytest.approx(0.005 * batch.n)
    assert ev.adapter == "txn_sim:make_workload" and "txn_sim.py" in ev.support


FORGED = [
    ("duplicate index", lambda n: [0, 0] + list(range(2, n)), "not a permutation"),
    ("missing transaction", lambda n: list(range(n - 1)), f"indices for {12} transactions"),
    ("empty list", lambda n: [], "an empty list"),
    ("self-reported makespan", lambda n: 1, "the single integer 1"),
    ("dict with a makespan", lambda n: {"order": list(range(n)), "makespan": 0}, "a dict"),
    ("None", lambda n: None, "None"),
    ("floats", lambda n: [float(i) for i in range(n)], "the float"),
    ("booleans", lambda n: [True] * n, "boolean"),
    ("out of range", lambda n: list(range(1, n + 1)), "out of range"),
    ("negative index", lambda n: [-1] + list(range(1, n)), "out of range"),
    ("nested list", lambda n: [[i] for i in range(n)], "nested list"),
    ("2-D array", lambda n: np.arange(n).reshape(1, n), "2-D array"),
]


@pytest.mark.parametrize(("name", "forge", "message"), FORGED, ids=[f[0] for f in FORGED])
def test_forged_answers_are_rejected(ev, name, forge, message) -> None:
    outputs = sequential(ev)
    outputs[1] = forge(12)
    result = ev.score("train", outputs, [0.01, 0.01])
    assert result.status == "invalid" and result.score is None
    assert "workload 1" in result.feedback and message in result.feedback


def test_missing_answers_are_rejected(ev) -> None:
    result = ev.score("train", sequential(ev)[:1], [0.01])
    assert result.status == "invalid" and "expected 2 results" in result.feedback


def test_a_call_over_its_budget_is_invalid(ev) -> None:
    budget = ev.budget.seconds(12)
    ok = ev.score("train", sequential(ev), [budget + 0.09, 0.0])
    assert ok.status == "ok"  # within the slack
    late = ev.score("train", sequential(ev), [0.0, budget + 0.11])
    assert late.status == "invalid" and "over the budget" in late.feedback


def test_score_recomputes_makespans_against_the_smf_mean(ev) -> None:
    batches = ev.batches["train"]
    rng = np.random.default_rng(0)
    orders = [rng.permutation(b.n) for b in batches]  # int arrays are accepted too
    result = ev.score("train", orders, [0.01, 0.02])
    assert result.status == "ok"
    expected = []
    for batch, order in zip(batches, orders, strict=True):
        smf = statistics.fmean(heuristics.smf_makespans(batch.workload, range(3)))
        expected.append(100 * (batch.workload.makespan(order.tolist()) / smf - 1))
    assert result.score == pytest.approx(float(np.mean(expected)))
    assert result.metrics["vs_smf_pct"] == result.score
    assert result.metrics["gap_to_lb_pct"] >= 0
    assert set(result.metrics) >= {"vs_smf_pct_rxw", "vs_smf_pct_ycsb", "mean_call_ms"}
    assert "total_makespan" in result.private_metrics and "total_makespan" not in result.metrics


def test_holdout_feedback_has_aggregates_only(ev) -> None:
    result = ev.score("holdout", sequential(ev, "holdout"), [0.01])
    assert result.status == "ok" and "Worst workloads" not in result.feedback


def test_references_are_cached_and_reused(tmp_path: Path, monkeypatch) -> None:
    first = txn.make_evaluator(SMALL, problem_root=tmp_path)
    refs = first.references("train")
    stored = json.loads((tmp_path / "data" / "train.json").read_text())
    assert stored["smf_mean"] == list(refs.smf_mean) and stored["smf_seeds"] == 3

    def fail(*args, **kwargs):
        raise AssertionError("recomputed although cached")

    monkeypatch.setattr(reference, "compute_references", fail)
    second = txn.make_evaluator(SMALL, problem_root=tmp_path)
    assert second.references("train") == refs
    changed = txn.make_evaluator({**SMALL, "smf_seeds": 4}, problem_root=tmp_path)
    with pytest.raises(AssertionError, match="recomputed"):
        changed.references("train")  # other settings: the cache does not match


TAMPERING = '''
import txn_sim

def schedule(workload):
    # Patch the candidate's own simulator copy and rewrite the file: the evaluator must not care.
    txn_sim.Workload.makespan = lambda self, order: 0
    txn_sim.Schedule.append = lambda self, j: 0
    with open(txn_sim.__file__, "w") as handle:
        handle.write("raise SystemExit")
    return list(range(workload.n))
'''


def test_tampering_with_the_candidate_simulator_gains_nothing(ev) -> None:
    from adrs.sandbox import Limits

    limits = Limits(timeout_s=30, cpu_s=30, memory_mb=1024)
    tampered = evaluate_program(TAMPERING, ev, "train", limits)
    honest = ev.score("train", sequential(ev), [0.0, 0.0])
    assert tampered.status == "ok"
    assert tampered.score == pytest.approx(honest.score) and tampered.score > 0


def test_seed_and_smf_baseline_equal_smf_with_seed_zero(ev) -> None:
    from adrs.sandbox import Limits

    limits = Limits(timeout_s=30, cpu_s=30, memory_mb=1024)
    expected = [b.workload.makespan(heuristics.smf_order(b.workload, 0)) for b in ev.batches["train"]]
    for program in (PROBLEM / "seed.py", PROBLEM / "baselines" / "smf.py"):
        result = evaluate_program(program.read_text(), ev, "train", limits)
        assert result.status == "ok", result.feedback
        assert result.private_metrics["total_makespan"] == sum(expected)
