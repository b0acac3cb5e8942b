"""EPLB evaluator: placement validation (one crafted violation per rule), the simulator against a
plain loop, the DeepSeek baseline on hand-computed cases, seed == baseline, the vectorized program,
traces (generator, published JSON layout) and problem.yaml parsing. In-process, no sandbox."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from adrs.config import ConfigError
from adrs.problem import load_problem
from adrs.resources import builtin_dir, import_package_from_dir

eplb = import_package_from_dir(builtin_dir("evaluators") / "eplb", "adrs_evaluator_eplb")
cluster_mod = importlib.import_module("adrs_evaluator_eplb.cluster")
placement_mod = importlib.import_module("adrs_evaluator_eplb.placement")
simulator = importlib.import_module("adrs_evaluator_eplb.simulator")
trace_mod = importlib.import_module("adrs_evaluator_eplb.trace")
evaluator_mod = importlib.import_module("adrs_evaluator_eplb.evaluator")

Cluster = cluster_mod.Cluster
InvalidPlacement = placement_mod.InvalidPlacement
PROBLEM = builtin_dir("problems") / "eplb"
TINY = Cluster(experts=4, replicas=6, groups=2, nodes=1, gpus=2)


def load_program(path: Path, code: str | None = None) -> ModuleType:
    module = ModuleType(f"program_{path.stem}")
    exec(compile(code if code is not None else path.read_text(), str(path), "exec"), module.__dict__)
    return module


@pytest.fixture(scope="module")
def deepseek() -> ModuleType:
    return load_program(PROBLEM / "baselines" / "deepseek.py")


@pytest.fixture(scope="module")
def vectorized() -> ModuleType:
    return load_program(PROBLEM / "baselines" / "vectorized.py")


def rebalance(module: ModuleType, weight, cluster: Cluster):
    return module.rebalance_experts(np.asarray(weight), cluster.replicas, cluster.groups, cluster.nodes,
                                    cluster.gpus)


# --- the baseline on hand-computed cases --------------------------------------------------------


def test_deepseek_hierarchical_tiny_case_matches_hand_computation(deepseek) -> None:
    # Groups {0,1} (load 12) and {2,3} (10) share the one node. Replicas: expert 0 (10 -> 5 per
    # replica), then expert 2 (6 -> 3). Replica loads [5,2,3,4,5,3] packed heaviest first onto the
    # lighter of two GPUs with 3 slots each: GPU 0 gets experts 0,3,1 and GPU 1 gets 0,2,2.
    phy2log, log2phy, logcnt = rebalance(deepseek, [[10, 2, 6, 4]], TINY)
    assert phy2log.tolist() == [[0, 3, 1, 0, 2, 2]]
    assert logcnt.tolist() == [[2, 1, 2, 1]]
    assert log2phy.tolist() == [[[0, 3, -1], [2, -1, -1], [4, 5, -1], [1, -1, -1]]]
    placement = placement_mod.parse_placement((phy2log, log2phy, logcnt), TINY, 1, np.ones((1, 4), bool))
    fit = simulator.gpu_loads(placement.phy2log, placement.counts, np.array([[10, 2, 6, 4]]), 3)
    assert fit.tolist() == [[11.0, 11.0]]
    nxt = simulator.gpu_loads(placement.phy2log, placement.counts, np.array([[4, 4, 4, 4]]), 3)
    assert nxt.tolist() == [[10.0, 6.0]] and simulator.balancedness(nxt) == pytest.approx(0.8)


def test_deepseek_global_policy_tiny_case_matches_hand_computation(deepseek) -> None:
    # 3 groups do not divide over 2 nodes: global policy. Expert 0 (load 9) gets both extra replicas
    # (9/1 > 3, then 9/2 = 4.5 > 3); replica loads [3,1,1,1,1,3,3,3] alternate between the GPUs,
    # ties to the lower GPU: GPU 0 gets replicas 0, 6, 1, 3 and GPU 1 gets 5, 7, 2, 4.
    cluster = Cluster(experts=6, replicas=8, groups=3, nodes=2, gpus=2)
    phy2log, log2phy, logcnt = rebalance(deepseek, [[9, 1, 1, 1, 1, 3]], cluster)
    assert phy2log.tolist() == [[0, 0, 1, 3, 5, 0, 2, 4]]
    assert logcnt.tolist() == [[3, 1, 1, 1, 1, 1]]
    assert log2phy[0, 0].tolist() == [0, 1, 5]  # replicas in order of creation: slots 0, 1 (GPU 0), 5


def test_seed_is_the_deepseek_baseline(deepseek) -> None:
    spec = load_problem("eplb")
    seed = load_program(spec.seed_program)
    weights = trace_mod.generate_trace(5, "mixed", 6, 256, 8, 3, 5, 512).windows
    for weight in weights:
        for cluster in (Cluster(256, 288, 8, 4, 32), Cluster(256, 288, 8, 3, 24)):
            got, want = rebalance(seed, weight, cluster), rebalance(deepseek, weight, cluster)
            for a, b in zip(got, want, strict=True):
                np.testing.assert_array_equal(a, b)


def test_vectorized_program_is_valid_and_as_balanced_as_the_baseline(deepseek, vectorized) -> None:
    cluster = Cluster(256, 288, 8, 4, 32)
    trace = trace_mod.generate_trace(9, "code", 8, 256, 8, 4, 10, 2048)
    calls = evaluator_mod.traces_calls([trace])
    results = {}
    for name, module in (("deepseek", deepseek), ("vectorized", vectorized)):
        outputs = [rebalance(module, call.weight, cluster) for call in calls]
        found, errors = evaluator_mod.assess(calls, cluster, outputs, [0.01] * len(calls))
        assert errors == []
        results[name] = found.balancedness
    np.testing.assert_allclose(results["vectorized"], results["deepseek"], atol=2e-3)
    global_cluster = Cluster(256, 288, 8, 3, 24)  # 8 groups over 3 nodes: global policy
    outputs = [rebalance(vectorized, call.weight, global_cluster) for call in calls]
    assert evaluator_mod.assess(calls, global_cluster, outputs, [0.01] * len(calls))[1] == []


# --- validation: every rule rejects a crafted placement ----------------------------------------


def valid_tiny(deepseek):
    return [np.array(a) for a in rebalance(deepseek, [[10, 2, 6, 4]], TINY)]


def corrupt(kind: str, phy2log, log2phy, logcnt):
    p, q, c = phy2log.copy(), log2phy.copy(), logcnt.copy()
    if kind == "not a triple":
        return (p, q)
    if kind == "list":
        return (p.tolist(), q, c)
    if kind == "float":
        return (p.astype(float), q, c)
    if kind == "bool":
        return (p, q, c > 0)
    if kind == "phy2log shape":
        return (p[:, :5], q, c)
    if kind == "logcnt shape":
        return (p, q, c[:, :3])
    if kind == "log2phy shape":
        return (p, q[:, :, 0], c)
    if kind == "empty slot":
        p[0, 4] = -1
        return (p, q, c)
    if kind == "expert out of range":
        p[0, 2] = 4
        return (p, q, c)
    if kind == "logcnt mismatch":
        c[0, 1] = 2
        return (p, q, c)
    if kind == "expert without replica":  # slot 2 held expert 1 (load 2); give it to expert 0
        p[0, 2] = 0
        c[0] = [3, 0, 2, 1]
        q[0, 0] = [0, 3, 2]
        q[0, 1] = [-1, -1, -1]
        return (p, q, c)
    if kind == "too narrow":  # experts 0 and 2 have 2 replicas each
        return (p, q[:, :, :1], c)
    if kind == "padding":
        q[0, 1, 2] = 5
        return (p, q, c)
    if kind == "listed -1":
        q[0, 0, 1] = -1
        return (p, q, c)
    if kind == "slot out of range":
        q[0, 0, 1] = 6
        return (p, q, c)
    if kind == "wrong slot":
        q[0, 0, 1] = 1  # slot 1 holds expert 3
        return (p, q, c)
    if kind == "duplicate slot":
        q[0, 2] = [4, 4, -1]
        return (p, q, c)
    raise AssertionError(kind)


VIOLATIONS = {
    "not a triple": "expected a tuple (phy2log, log2phy, logcnt), got a sequence of 2",
    "list": "phy2log must be a numpy integer array",
    "float": "phy2log has dtype float64; expected an integer dtype",
    "bool": "logcnt has dtype bool",
    "phy2log shape": "phy2log has shape (1, 5); expected (1, 6)",
    "logcnt shape": "logcnt has shape (1, 3); expected (1, 4)",
    "log2phy shape": "log2phy has shape (1, 4); expected (1, 4, max_replicas)",
    "empty slot": "layer 0, slot 4 (GPU 1) holds no expert (-1); every slot must hold one, so that each "
                  "GPU holds exactly 3 experts",
    "expert out of range": "layer 0, slot 2 holds expert 4, outside 0..3",
    "logcnt mismatch": "logcnt: layer 0, expert 1 says 2 replicas but phy2log puts it in 1 slots",
    "expert without replica": "layer 0, expert 1 has load but no replica",
    "too narrow": "layer 0, expert 0 has 2 replicas but log2phy has room for 1 per expert (2 such entries",
    "padding": "log2phy: layer 0, expert 1, entry 2 is 5; entries after the first logcnt must be -1",
    "listed -1": "log2phy: layer 0, expert 0, entry 1 is -1, not a slot in 0..5",
    "slot out of range": "log2phy: layer 0, expert 0, entry 1 is 6, not a slot in 0..5",
    "wrong slot": "log2phy: layer 0, expert 0, entry 1 lists slot 1, which holds expert 3 in phy2log",
    "duplicate slot": "log2phy: layer 0 lists slot 4 2 times for expert 2; each slot must appear once",
}


@pytest.mark.parametrize("kind", list(VIOLATIONS))
def test_each_rule_rejects_a_crafted_placement(kind: str, deepseek) -> None:
    bad = corrupt(kind, *valid_tiny(deepseek))
    with pytest.raises(InvalidPlacement) as err:
        placement_mod.parse_placement(bad, TINY, 1, np.ones((1, 4), dtype=bool))
    assert VIOLATIONS[kind] in str(err.value)


def test_the_messages_are_distinct() -> None:
    assert len(set(VIOLATIONS.values())) == len(VIOLATIONS) >= 8


def test_unloaded_expert_may_go_without_replica_but_a_loaded_one_may_not(deepseek) -> None:
    bad = corrupt("expert without replica", *valid_tiny(deepseek))
    idle = np.array([[True, False, True, True]])  # expert 1 has no load in either window
    placement = placement_mod.parse_placement(bad, TINY, 1, idle)
    assert placement.counts.tolist() == [[3, 0, 2, 1]]
    calls = [evaluator_mod.Call("t", 0, np.array([[10, 0, 6, 4]]), np.array([[9, 1, 6, 4]]))]
    found, errors = evaluator_mod.assess(calls, TINY, [bad], [0.001])
    assert found is None and "expert 1 has load but no replica" in errors[0]  # load next window


def test_many_violations_are_counted(deepseek) -> None:
    phy2log, log2phy, logcnt = valid_tiny(deepseek)
    phy2log[0, :] = 9
    with pytest.raises(InvalidPlacement, match=r"outside 0\.\.3 \(6 such entries in all\)"):
        placement_mod.parse_placement((phy2log, log2phy, logcnt), TINY, 1, np.ones((1, 4), dtype=bool))


# --- simulator ---------------------------------------------------------------------------------


def loop_balancedness(phy2log: np.ndarray, load: np.ndarray, slots_per_gpu: int) -> float:
    """GPU balancedness written as plain loops (independent of the simulator's numpy code)."""
    mean_sum = max_sum = 0.0
    for layer in range(phy2log.shape[0]):
        counts: dict[int, int] = {}
        for expert in phy2log[layer].tolist():
            counts[expert] = counts.get(expert, 0) + 1
        gpus = [0.0] * (phy2log.shape[1] // slots_per_gpu)
        for slot, expert in enumerate(phy2log[layer].tolist()):
            gpus[slot // slots_per_gpu] += float(load[layer, expert]) / counts[expert]
        mean_sum += sum(gpus) / len(gpus)
        max_sum += max(gpus)
    return mean_sum / max_sum


def test_simulator_matches_a_plain_loop(vectorized) -> None:
    cluster = Cluster(64, 80, 8, 2, 8)
    windows = trace_mod.generate_trace(3, "math", 5, 64, 8, 2, 5, 256).windows
    phy2log, _, logcnt = rebalance(vectorized, windows[0], cluster)
    loads = simulator.gpu_loads(phy2log, logcnt, windows[1], cluster.slots_per_gpu)
    assert simulator.balancedness(loads) == pytest.approx(loop_balancedness(phy2log, windows[1], 10))
    assert np.all(simulator.layer_balancedness(loads) <= 1.0)
    assert loads.sum() == pytest.approx(windows[1].sum())  # every token lands on some GPU


def test_group_spread_counts_nodes_per_group() -> None:
    phy2log = np.array([[0, 1, 2, 3], [0, 2, 1, 3]])  # 2 groups {0,1} {2,3}, 2 nodes of 2 slots
    assert simulator.group_spread(phy2log, groups=2, experts=4, nodes=2) == pytest.approx(1.5)


# --- evaluator ---------------------------------------------------------------------------------


SMALL_INSTANCES = {
    "cluster": {"experts": 32, "replicas": 40, "groups": 4, "nodes": 2, "gpus": 4},
    "scoring": {"time_weight": 1.0, "time_floor_ms": 1.0},
    "train": {"seed": 1, "layers": 3, "windows": 3, "window_steps": 5, "tokens_per_step": 256,
              "mixes": ["chat", "math"]},
    "validation": {"seed": 2, "layers": 3, "windows": 3, "window_steps": 5, "mixes": ["code"]},
    "holdout": {"seed": 3, "layers": 4, "windows": 2, "window_steps": 5, "mixes": ["mixed"]},
}


def test_evaluator_calls_and_score(deepseek, tmp_path: Path) -> None:
    evaluator = eplb.make_evaluator(SMALL_INSTANCES, tmp_path)
    assert evaluator.entry == "rebalance_experts" and not hasattr(evaluator, "timing_repeats")
    calls = evaluator.calls("train")
    assert len(calls) == 1 + 4  # the warm-up, then 2 traces x (3 windows - 1)
    assert calls[1]["weight"].shape == (3, 32) and calls[1]["weight"].dtype == np.int64
    assert {k: int(v) for k, v in calls[1].items() if k != "weight"} == {
        "num_replicas": 40, "num_groups": 4, "num_nodes": 2, "num_gpus": 4}
    outputs = [deepseek.rebalance_experts(**c) for c in calls]
    result = evaluator.score("train", outputs, [9.0] + [0.004] * 4)  # the warm-up's time is not counted
    assert result.status == "ok"
    expected = np.mean([loop_balancedness(o[0], evaluator.split_calls("train")[i].scored, 10)
                        for i, o in enumerate(outputs[1:])])
    assert result.metrics["balancedness_pct"] == pytest.approx(100 * expected)
    assert result.metrics["rebalance_ms"] == pytest.approx(4.0)
    assert result.score == pytest.approx(100 * expected - 2.0)  # log2(4 ms / 1 ms)
    assert result.private_metrics["bound_pct"] >= result.metrics["balancedness_pct"]
    assert "bound" not in result.feedback and "chat (seed 1)" in result.feedback
    assert evaluator.score("holdout", [deepseek.rebalance_experts(**c) for c in evaluator.calls("holdout")],
                           [0.5, 0.001]).metrics["group_nodes"] == 1.0


def test_no_input_is_repeated_and_the_warmup_is_unrelated(tmp_path: Path) -> None:
    """Every call is its own window, run once; the warm-up differs from every scored call and
    between splits (so `adrs check` sees no holdout data elsewhere)."""
    evaluator = eplb.make_evaluator(SMALL_INSTANCES, tmp_path)
    weights = {split: [c["weight"] for c in evaluator.calls(split)]
               for split in ("train", "validation", "holdout")}
    every = [w.tobytes() for ws in weights.values() for w in ws]
    assert len(set(every)) == len(every)
    for ws in weights.values():
        scored = ws[1:]
        sorted_rows = {np.sort(w, axis=None).tobytes() for w in scored}  # no permutation of another
        assert len(sorted_rows) == len(scored)
        shares = {np.round(w / w.sum(), 9).tobytes() for w in scored}  # no rescaling of another
        assert len(shares) == len(scored)
    assert eplb.make_evaluator(SMALL_INSTANCES, tmp_path).calls("train")[0]["weight"].tobytes() == every[0]


def test_timing_repeats_is_refused_with_a_reason(tmp_path: Path) -> None:
    raw = {**SMALL_INSTANCES, "scoring": {"time_weight": 1.0, "timing_repeats": 3}}
    with pytest.raises(ConfigError, match="timing_repeats is no longer supported.*cache"):
        eplb.make_evaluator(raw, tmp_path)



def test_evaluator_reports_invalid_calls(deepseek, tmp_path: Path) -> None:
    evaluator = eplb.make_evaluator(SMALL_INSTANCES, tmp_path)
    calls = evaluator.calls("validation")
    outputs = [deepseek.rebalance_experts(**c) for c in calls]
    outputs[2] = (outputs[2][0], outputs[2][1], outputs[2][2] + 1)  # [0] is the warm-up
    result = evaluator.score("validation", outputs, [0.1, 0.001, 0.001])
    assert result.status == "invalid" and result.score is None
    assert "1 of 2 placements are invalid" in result.feedback and "call 1 (trace code" in result.feedback
    short = evaluator.score("validation", outputs[:2], [0.1, 0.001])
    assert short.feedback.startswith("expected 2 results (one per call), got 1")


def test_splits_come_from_different_seeds_and_mixes(tmp_path: Path) -> None:
    evaluator = eplb.make_evaluator(SMALL_INSTANCES, tmp_path)
    weights = {s: [c.weight for c in evaluator.split_calls(s)] for s in ("train", "validation", "holdout")}
    fingerprints = {s: {w.tobytes() for w in ws} for s, ws in weights.items()}
    assert not (fingerprints["train"] & fingerprints["validation"])
    assert not (fingerprints["validation"] & fingerprints["holdout"])


def test_problem_yaml_builds_the_published_cluster() -> None:
    spec = load_problem("eplb")
    evaluator = spec.load_evaluator()
    assert evaluator.cluster == Cluster(256, 288, 8, 4, 32)
    assert spec.objective == "score" and spec.direction == "maximize"
    assert evaluator.specs["validation"].layers == 58 and evaluator.specs["train"].layers < 58


@pytest.mark.parametrize("change, message", [
    ({"train": {**SMALL_INSTANCES["train"], "seed": 2}}, "must use different seeds"),
    ({"train": {**SMALL_INSTANCES["train"], "mixes": ["poetry"]}}, "mixes must be a list of chat"),
    ({"cluster": {"replicas": 290}}, "replicas (290) must split evenly over gpus (32)"),
    ({"cluster": {"experts": 300}}, "replicas (288) must be at least experts (300)"),
    ({"scoring": {"time_weight": -1}}, "time_weight must be a number >= 0"),
    ({"holdout": {"seed": 9, "windows": 1, "mixes": ["chat"]}}, "windows must be an integer >= 2"),
    ({"holdout": {"seed": 9, "files": ["missing.json"]}}, "trace file"),
    ({"extra": 1}, "unknown field(s) extra"),
])
def test_bad_instances_are_clear_errors(change, message, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=None) as err:
        eplb.make_evaluator({**SMALL_INSTANCES, **change}, tmp_path)
    assert message in str(err.value)


# --- traces ------------------------------------------------------------------------------------


def test_generator_is_seeded_skewed_drifting_and_layer_correlated() -> None:
    a = trace_mod.generate_trace(11, "math", 8, 256, 8, 6, 20, 2048).windows
    b = trace_mod.generate_trace(11, "math", 8, 256, 8, 6, 20, 2048).windows
    c = trace_mod.generate_trace(12, "math", 8, 256, 8, 6, 20, 2048).windows
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.shape == (6, 8, 256) and a.dtype == np.int64
    assert np.all(a.sum(axis=-1) > 0.95 * 20 * 2048 * 8)  # tokens x top-8, Poisson noise aside
    share = a / a.sum(axis=-1, keepdims=True)
    assert np.median(share.max(axis=-1)) > 5 / 256  # skewed: the hottest expert >5x the mean
    top = [set(np.argsort(-a[w, 0])[:8].tolist()) for w in (0, 5)]
    assert top[0] != top[1]  # the hot experts drift
    latent_corr = np.mean([np.corrcoef(np.log1p(a[0, k]), np.log1p(a[0, k + 1]))[0, 1] for k in range(7)])
    assert latent_corr > 0.1  # adjacent layers agree on popular experts
    chat = trace_mod.generate_trace(11, "chat", 8, 256, 8, 2, 20, 2048).windows
    assert not np.array_equal(chat, a[:2])


def test_trace_file_round_trip_and_windows(tmp_path: Path) -> None:
    steps = trace_mod.generate_steps(4, trace_mod.PROFILES["chat"], 3, 16, 4, 7, 100)
    path = tmp_path / "expert-load.json"
    trace_mod.write_trace_file(path, steps)
    np.testing.assert_array_equal(trace_mod.read_trace_file(path), steps)
    trace = trace_mod.file_trace(path, window_steps=3)  # 7 steps: 2 whole windows, tail dropped
    np.testing.assert_array_equal(trace.windows[1], steps[3:6].sum(axis=0))
    assert trace.windows.shape == (2, 3, 16)


def test_trace_file_in_a_split(tmp_path: Path, deepseek) -> None:
    steps = trace_mod.generate_steps(4, trace_mod.PROFILES["code"], 2, 32, 4, 6, 100)
    trace_mod.write_trace_file(tmp_path / "real.json", steps)
    instances = {**SMALL_INSTANCES, "holdout": {"files": ["real.json"], "window_steps": 2}}
    evaluator = eplb.make_evaluator(instances, tmp_path)
    calls = evaluator.calls("holdout")
    assert len(calls) == 1 + 2  # the warm-up, then 3 windows - 1
    np.testing.assert_array_equal(calls[2]["weight"], steps[2:4].sum(axis=0))
    outputs = [deepseek.rebalance_experts(**c) for c in calls]
    assert evaluator.score("holdout", outputs, [0.1, 0.001, 0.001]).status == "ok"


@pytest.mark.parametrize("text, message", [
    ("{", "cannot read a JSON trace"),
    ('{"steps": []}', "expected an object with a list 'load_history'"),
    ('{"load_history": []}', "'load_history' is empty"),
    ('{"load_history": [{"load": [[1]]}]}', "load_history[0] has no 'logical_expert_load'"),
    ('{"load_history": [{"logical_expert_load": [1, 2]}]}', "has shape (2,); expected [layers, experts]"),
    ('{"load_history": [{"logical_expert_load": [[1, 2]]}, {"logical_expert_load": [[1, 2, 3]]}]}',
     "load_history[1] has shape (1, 3), step 0 has (1, 2)"),
    ('{"load_history": [{"logical_expert_load": [[1, -2]]}]}', "negative or non-finite"),
    ('{"load_history": [{"logical_expert_load": [[1, "x"]]}]}', "not a [layers, experts] table"),
])
def test_malformed_trace_files_are_clear_errors(text: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(trace_mod.TraceError) as err:
        trace_mod.read_trace_file(path)
    assert message in str(err.value)


def test_fractional_file_loads_stay_floats(tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    path.write_text('{"load_history": [{"logical_expert_load": [[1.5, 2]]}]}')
    assert trace_mod.read_trace_file(path).dtype == np.float64
