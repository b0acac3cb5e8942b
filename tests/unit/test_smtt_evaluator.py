"""SMTT evaluator: instance generation, answer validation, tardiness, references and their cache,
scoring of the baselines and the seed (in-process, no sandbox)."""

from __future__ import annotations

import importlib
import importlib.util
import itertools
import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from adrs.config import ConfigError
from adrs.problem import load_problem
from adrs.resources import builtin_dir, import_package_from_dir

SHARED_SMTT = Path(__file__).resolve().parents[3] / "shared" / "data" / "smtt"

smtt = import_package_from_dir(builtin_dir("evaluators") / "smtt", "adrs_evaluator_smtt")
generator = importlib.import_module("adrs_evaluator_smtt.generator")
heuristics = importlib.import_module("adrs_evaluator_smtt.heuristics")
reference = importlib.import_module("adrs_evaluator_smtt.reference")
tardiness = importlib.import_module("adrs_evaluator_smtt.tardiness")
validate = importlib.import_module("adrs_evaluator_smtt.validate")
evaluator_mod = importlib.import_module("adrs_evaluator_smtt.evaluator")

SMALL = {"train": {"seed": 11, "sizes": [7], "per_combo": 1},
         "validation": {"seed": 12, "sizes": [7], "per_combo": 1},
         "holdout": {"seed": 13, "sizes": [7, 8], "per_combo": 1}}


@pytest.fixture
def quick_reference(monkeypatch):
    """A short ILS: these tests check plumbing, not reference quality."""
    monkeypatch.setattr(reference, "ILS_ITERATIONS", 10)


@pytest.fixture(scope="module")
def problem():
    return load_problem("smtt")


@pytest.fixture(scope="module")
def evaluator(problem):
    return problem.load_evaluator()


def load_program(path: Path, code: str | None = None) -> ModuleType:
    """Import a program file (or ``code``) as a fresh module, as a candidate would be."""
    spec = importlib.util.spec_from_loader(f"program_{path.stem}", loader=None)
    module = importlib.util.module_from_spec(spec)
    exec(compile(code if code is not None else path.read_text(), str(path), "exec"),
         module.__dict__)
    return module


def run_in_process(module: ModuleType, evaluator, split: str):
    outputs = [module.schedule(**{k: v.copy() for k, v in call.items()})
               for call in evaluator.calls(split)]
    return evaluator.score(split, outputs, [0.001] * len(outputs))


def brute_force_optimum(p: np.ndarray, d: np.ndarray) -> int:
    orders = np.array(list(itertools.permutations(range(len(p)))))
    completion = np.cumsum(p[orders], axis=1)
    return int(np.maximum(completion - d[orders], 0).sum(axis=1).min())


# --- generator -------------------------------------------------------------------------------------

def test_generator_is_seeded_and_in_range():
    spec = generator.parse_set_spec({"seed": 5, "sizes": [30, 50], "per_combo": 2}, "t")
    first, again = generator.generate_set(spec), generator.generate_set(spec)
    assert len(first) == 2 * 20 * 2
    assert [i.fingerprint() for i in first] == [i.fingerprint() for i in again]
    other = generator.generate_set(generator.SetSpec(seed=6, sizes=(30, 50), per_combo=2))
    assert not {i.fingerprint() for i in first} & {i.fingerprint() for i in other}
    assert {(i.tf, i.rdd) for i in first} == {(tf / 10, rdd / 10) for tf in (2, 4, 6, 8)
                                               for rdd in (2, 4, 6, 8, 10)}
    for inst in first:
        assert inst.p.dtype == np.int64 and inst.d.dtype == np.int64
        assert inst.p.min() >= 1 and inst.p.max() <= 100
        total = int(inst.p.sum())
        low = max(np.ceil(total * (1 - inst.tf - inst.rdd / 2) - 1e-6), 0)
        high = np.floor(total * (1 - inst.tf + inst.rdd / 2) + 1e-6)
        assert inst.d.min() >= low and inst.d.max() <= high
        assert not inst.p.flags.writeable


def test_growing_a_set_keeps_its_instances():
    small = generator.generate_set(generator.SetSpec(seed=3, sizes=(20,), per_combo=1))
    big = generator.generate_set(generator.SetSpec(seed=3, sizes=(10, 20), per_combo=2))
    assert {i.fingerprint() for i in small} <= {i.fingerprint() for i in big}


def test_default_splits_are_disjoint(evaluator):
    seen = {split: {i.fingerprint() for i in evaluator.instances[split]} for split in
            ("train", "validation", "holdout")}
    assert [len(seen[s]) for s in seen] == [20, 60, 80]
    assert not seen["train"] & seen["validation"]
    assert not seen["train"] & seen["holdout"]
    assert not seen["validation"] & seen["holdout"]


def test_overlapping_splits_are_refused(tmp_path):
    same = {"seed": 1, "sizes": [10], "per_combo": 1}
    with pytest.raises(ConfigError, match="share an identical instance"):
        smtt.make_evaluator({"train": same, "validation": same,
                             "holdout": {"seed": 2, "sizes": [10], "per_combo": 1}}, tmp_path)


@pytest.mark.parametrize("instances, message", [
    ({"train": {"seed": 1, "sizes": [10]}}, "missing: validation, holdout"),
    ({**SMALL, "test": SMALL["train"]}, "unknown: test"),
    ({**SMALL, "train": {"seed": 1, "sizes": [10], "colour": 3}}, "instances.train: unknown"),
    ({**SMALL, "train": {"seed": 1, "sizes": []}}, "instances.train: sizes"),
    ({**SMALL, "train": {"seed": -1, "sizes": [10]}}, "instances.train: seed"),
    ({**SMALL, "train": {"seed": 1, "sizes": [10], "per_combo": 1.5}}, "per_combo"),
])
def test_bad_instance_specs_name_the_field(tmp_path, instances, message):
    with pytest.raises(ConfigError, match=message):
        smtt.make_evaluator(instances, tmp_path)


# --- validation ------------------------------------------------------------------------------------

N = 6
VALID = [3, 0, 5, 1, 4, 2]


@pytest.mark.parametrize("output", [
    VALID, tuple(VALID), np.array(VALID), np.array(VALID, dtype=np.int32),
    np.array(VALID, dtype=np.uint16), [np.int64(v) for v in VALID],
    np.array(VALID, dtype=object),
])
def test_valid_orders_are_accepted(output):
    assert validate.parse_schedule(output, N).tolist() == VALID


@pytest.mark.parametrize("output, message", [
    ([3, 0, 5, 1, 4], "5 job indices for 6 jobs"),
    (VALID + [0], "7 job indices for 6 jobs"),
    ([3, 0, 5, 1, 4, 4], "job 4 appears 2 times.*missing job.* 2"),
    ([-1, 0, 1, 2, 3, 4], "negative"),  # -1 would silently mean job 5 with Python indexing
    ([3, 0, 5, 1, -2, 2], "negative"),
    (np.array([-1, 0, 1, 2, 3, 4]), "negative"),
    ([3, 0, 6, 1, 4, 2], "out of range"),
    (np.array([3, 0, 6, 1, 4, 2]), "out of range"),
    ([3, 0, 5, 1, 4, 2 ** 70], "out of range"),
    ([3.0, 0, 5, 1, 4, 2], "float 3.0"),
    (np.array(VALID, dtype=float), "float64 array"),
    (np.array([3, 0, 5, 1, 4, np.nan]), "NaN or inf"),
    ([3, 0, 5, 1, 4, float("nan")], "float nan"),
    ([3, 0, 5, 1, 4, float("inf")], "float inf"),
    ([True, 0, 5, 1, 4, 2], "boolean"),
    (np.ones(N, dtype=bool), "boolean array"),
    (["3", "0", "5", "1", "4", "2"], "string '3'"),
    ("305142", "string"),
    (np.array([str(v) for v in VALID]), "dtype <U1"),
    ([[3, 0], [5, 1], [4, 2], [0], [1], [2]], "nested list"),
    (np.array(VALID).reshape(2, 3), "2-D array"),
    ({"order": VALID}, "dict"),
    ({}, "empty dict"),
    (None, "None"),
    (3, "single integer"),
    ([3, 0, 5, 1, 4, None], "element 5 is None"),
])
def test_invalid_orders_are_rejected(output, message):
    with pytest.raises(validate.InvalidSchedule, match=message):
        validate.parse_schedule(output, N)


def test_score_reports_invalid_instance_with_its_parameters(tmp_path, quick_reference):
    ev = smtt.make_evaluator(SMALL, tmp_path)
    calls = ev.calls("train")
    outputs = [np.argsort(c["d"]) for c in calls]
    outputs[3] = [-1] + list(range(6))
    result = ev.score("train", outputs, [0.0] * len(outputs))
    assert result.status == "invalid" and result.score is None
    inst = ev.instances["train"][3]
    assert f"instance 3 (n=7, TF={inst.tf:.1f}, RDD={inst.rdd:.1f})" in result.feedback
    assert "negative" in result.feedback
    short = ev.score("train", outputs[:5], [0.0] * 5)
    assert short.status == "invalid" and "expected 20 results" in short.feedback


# --- tardiness and heuristics ------------------------------------------------------------------------

def test_total_tardiness_matches_a_plain_loop():
    rng = np.random.default_rng(7)
    for _ in range(50):
        n = int(rng.integers(1, 40))
        p = rng.integers(1, 100, n)
        d = rng.integers(0, int(p.sum()) + 1, n)
        seq = rng.permutation(n)
        time, expected = 0, 0
        for job in seq:
            time += int(p[job])
            expected += max(time - int(d[job]), 0)
        assert tardiness.total_tardiness(p, d, seq) == expected


def test_move_deltas_match_recomputation():
    rng = np.random.default_rng(8)
    for n in (2, 3, 9, 25):
        p = rng.integers(1, 100, n)
        d = rng.integers(0, int(p.sum()), n)
        seq = rng.permutation(n)
        nb = heuristics.Neighbourhood(p, d)
        base = tardiness.total_tardiness(p, d, seq)
        insert = nb.insertion_deltas(seq).copy()
        swap = nb.interchange_deltas(seq).copy()
        for i, j in itertools.product(range(n), repeat=2):
            moved = tardiness.total_tardiness(p, d, heuristics.move_job(seq, i, j))
            assert insert[i, j] == moved - base
            swapped = tardiness.total_tardiness(p, d, heuristics.swap_jobs(seq, i, j))
            assert swap[i, j] == (swapped - base if j > i else 0)


def test_reference_is_optimal_on_small_instances():
    for inst in generator.generate_set(generator.SetSpec(seed=21, sizes=(7,), per_combo=1)):
        order, value = reference.reference_order(inst)
        assert sorted(order.tolist()) == list(range(7))
        assert value == tardiness.total_tardiness(inst.p, inst.d, order)
        assert value == brute_force_optimum(inst.p, inst.d)


# --- reference cache --------------------------------------------------------------------------------

def test_reference_cache_is_reused_and_invalidated(tmp_path, monkeypatch, quick_reference):
    computed = []
    real = reference.compute_references

    def counting(instances):
        computed.append(len(instances))
        return real(instances)

    monkeypatch.setattr(reference, "compute_references", counting)
    data, user = tmp_path / "problem" / "data", tmp_path / "user"
    spec = generator.SetSpec(seed=31, sizes=(8,), per_combo=1)
    instances = generator.generate_set(spec)

    first = reference.load_references("train", spec, instances, [data, user])
    assert computed == [20] and (data / "train.json").is_file()
    stored = json.loads((data / "train.json").read_text())
    assert stored["spec"] == spec.to_dict() and stored["references"] == first
    assert stored["generator_version"] == generator.GENERATOR_VERSION
    assert stored["reference_version"] == reference.REFERENCE_VERSION
    assert stored["instances_sha256"] == generator.set_fingerprint(instances)

    assert reference.load_references("train", spec, instances, [data, user]) == first
    assert computed == [20]  # reused

    other = generator.SetSpec(seed=32, sizes=(8,), per_combo=1)
    reference.load_references("train", other, generator.generate_set(other), [data, user])
    assert computed == [20, 20]  # spec changed: recomputed, file replaced
    assert json.loads((data / "train.json").read_text())["spec"]["seed"] == 32

    monkeypatch.setattr(reference, "REFERENCE_VERSION", reference.REFERENCE_VERSION + 1)
    reference.load_references("train", other, generator.generate_set(other), [data, user])
    assert computed == [20, 20, 20]  # method version changed


def test_reference_cache_falls_back_to_user_cache(tmp_path, monkeypatch, quick_reference):
    blocked = tmp_path / "site-packages-data"
    blocked.write_text("a file, so no folder can be created here")
    user = tmp_path / "user"
    spec = generator.SetSpec(seed=41, sizes=(6,), per_combo=1)
    instances = generator.generate_set(spec)
    values = reference.load_references("validation", spec, instances, [blocked, user])
    [cached] = list(user.glob("validation-*.json"))
    monkeypatch.setattr(reference, "compute_references", lambda _: pytest.fail("recomputed"))
    assert reference.load_references("validation", spec, instances, [blocked, user]) == values
    assert cached.is_file()


def test_default_references_are_cached_in_the_problem_folder(problem, evaluator):
    for split in ("train", "validation", "holdout"):
        header = reference.cache_header(split, evaluator.specs[split], evaluator.instances[split])
        values = reference.read_cached(problem.root / "data" / f"{split}.json", header,
                                       len(evaluator.instances[split]))
        assert values is not None, f"problems/smtt/data/{split}.json missing or stale"


# --- scoring -----------------------------------------------------------------------------------------

def test_scores_of_baselines_and_seed(problem, evaluator):
    results = {name: run_in_process(load_program(path), evaluator, "train")
               for name, path in problem.baselines.items()}
    results["seed"] = run_in_process(load_program(problem.seed_program), evaluator, "train")
    assert all(r.status == "ok" for r in results.values())
    assert results["seed"].score == pytest.approx(results["EDD"].score)
    assert results["MDD"].score < 5 < results["EDD"].score < results["SPT"].score
    mdd = results["MDD"]
    assert set(mdd.metrics) >= {"mean_gap_pct", "max_gap_pct", "instances", "zero_ref_instances",
                                "zero_ref_missed", "zero_ref_mean_tardiness", "mean_call_ms"}
    assert mdd.metrics["instances"] == 20 and mdd.score == mdd.metrics["mean_gap_pct"]
    assert not set(mdd.private_metrics) & set(mdd.metrics)
    assert results["SPT"].metrics["zero_ref_missed"] > 0
    refs = evaluator.references("train")
    assert not any(str(r) in mdd.feedback for r in refs if r > 999)
    assert "TF=" in mdd.feedback and mdd.runtime_s == pytest.approx(0.02)


@pytest.mark.parametrize("edit, bound", [
    ({"    return d\n": "    return np.maximum(p, d - t)\n"}, 5.0),  # MDD priority
    ({"passes = 0": "passes = 10", "window = 0": "window = 2"}, 5.0),
])
def test_small_edits_of_the_seed_reach_the_target(problem, evaluator, edit, bound):
    code = problem.seed_code
    for old, new in edit.items():
        assert old in code
        code = code.replace(old, new, 1)
    result = run_in_process(load_program(problem.seed_program, code), evaluator, "train")
    assert result.status == "ok" and result.score < bound


def test_gap_metrics_on_reference_quality_answers(tmp_path, quick_reference):
    ev = smtt.make_evaluator(SMALL, tmp_path)
    optimal = [reference.reference_order(inst)[0] for inst in ev.instances["holdout"]]
    result = ev.score("holdout", optimal, [0.002] * len(optimal))
    assert result.status == "ok" and result.score == pytest.approx(0.0)
    assert result.metrics["zero_ref_missed"] == 0 and result.metrics["mean_call_ms"] == 2.0
    assert {"mean_gap_pct_n7", "mean_gap_pct_n8"} <= set(result.metrics)
    assert "instance " not in result.feedback  # holdout: aggregates only
    refs = ev.references("holdout")
    # One instance with a positive reference scheduled worse: the gap follows 100 (T - R) / R.
    worse = list(optimal)
    k = int(np.flatnonzero(refs > 0)[0])
    inst = ev.instances["holdout"][k]
    worse[k] = np.argsort(-inst.d)  # latest due date first
    value = tardiness.total_tardiness(inst.p, inst.d, worse[k])
    result = ev.score("holdout", worse, [0.0] * len(worse))
    expected = 100 * (value - refs[k]) / refs[k] / int(np.sum(refs > 0))
    assert result.score == pytest.approx(expected)


def test_mdd_reproduces_the_published_gap(problem):
    path = SHARED_SMTT / "data_100_200.json"
    if not path.is_file():
        pytest.skip(f"published SMTT instances not found at {path} (the ../shared data folder)")
    mdd = load_program(problem.baselines["MDD"])
    gaps = []
    for item in json.loads(path.read_text()):
        p, d = np.array(item["p"]), np.array(item["d"])
        order = validate.parse_schedule(mdd.schedule(p, d), len(p))
        assert order.tolist() == heuristics.mdd_order(p, d).tolist()
        value = tardiness.total_tardiness(p, d, order)
        assert value >= item["opt"]
        if item["opt"] > 0:
            gaps.append(100 * (value - item["opt"]) / item["opt"])
    assert abs(np.mean(gaps) - 1.81) < 0.1  # Cetinkaya et al. report 1.81% for MDD at n=100
