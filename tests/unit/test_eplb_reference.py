"""EPLB references: the replica-budget bound and the HiGHS MIP against brute force, and the MIP optimum
against every heuristic (baselines, seed, seed variants) on small clusters."""

from __future__ import annotations

import importlib
import itertools

import numpy as np
import pytest

from adrs.resources import builtin_dir, import_package_from_dir
from tests.unit.test_eplb_evaluator import PROBLEM, load_program

import_package_from_dir(builtin_dir("evaluators") / "eplb", "adrs_evaluator_eplb")
Cluster = importlib.import_module("adrs_evaluator_eplb.cluster").Cluster
placement_mod = importlib.import_module("adrs_evaluator_eplb.placement")
reference = importlib.import_module("adrs_evaluator_eplb.reference")
simulator = importlib.import_module("adrs_evaluator_eplb.simulator")
trace_mod = importlib.import_module("adrs_evaluator_eplb.trace")


def brute_force_max_load(load: np.ndarray, gpus: int, slots_per_gpu: int) -> float:
    """Smallest largest GPU load over every assignment of experts to slots (tiny cases only)."""
    experts = len(load)
    best = np.inf
    for slots in itertools.product(range(experts), repeat=gpus * slots_per_gpu):
        counts = np.bincount(slots, minlength=experts)
        if np.any((load > 0) & (counts == 0)):
            continue
        per_slot = load[list(slots)] / counts[list(slots)]
        best = min(best, per_slot.reshape(gpus, slots_per_gpu).sum(axis=1).max())
    return float(best)


def brute_force_min_max_replica_load(load: np.ndarray, replicas: int) -> float:
    loaded = load[load > 0]
    best = np.inf
    for counts in itertools.product(range(1, replicas + 1), repeat=len(loaded)):
        if sum(counts) <= replicas:
            best = min(best, float(np.max(loaded / np.array(counts))))
    return best


@pytest.mark.parametrize("seed", range(6))
def test_min_max_replica_load_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    load = rng.integers(0, 30, size=(1, 5)).astype(float)
    load[0, 0] = 25.0
    got = reference.min_max_replica_load(load, 8)[0]
    assert got == pytest.approx(brute_force_min_max_replica_load(load[0], 8))


@pytest.mark.parametrize("load", [[7, 1, 4, 2], [9, 0, 3, 3], [2.5, 1.25, 6.0, 0.5], [5, 5, 5, 5]])
def test_mip_matches_brute_force_on_tiny_layers(load) -> None:
    load = np.asarray(load, dtype=float)
    result = reference.optimal_max_load(load, gpus=2, slots_per_gpu=3, time_limit_s=30)
    assert result.optimal
    assert result.max_load == pytest.approx(brute_force_max_load(load, 2, 3), rel=1e-6)
    assert result.bound <= result.max_load + 1e-9


SMALL = Cluster(experts=8, replicas=10, groups=2, nodes=1, gpus=2)


def heuristics() -> dict[str, object]:
    seed_code = (PROBLEM / "seed.py").read_text()
    variants = {
        "seed, global policy": seed_code.replace("if num_groups % num_nodes == 0:", "if False:"),
        "seed, 5 refine passes": seed_code.replace("passes = 0", "passes = 5"),
    }
    programs = {name: load_program(PROBLEM / "baselines" / f"{name}.py")
                for name in ("deepseek", "vectorized")}
    programs["seed"] = load_program(PROBLEM / "seed.py")
    for name, code in variants.items():
        assert code != seed_code
        programs[name] = load_program(PROBLEM / "seed.py", code)
    return programs


def test_mip_optimum_beats_every_heuristic_on_small_instances() -> None:
    windows = np.concatenate([trace_mod.generate_trace(40 + i, mix, 3, 8, 2, 2, 10, 64).windows
                              for i, mix in enumerate(("math", "chat"))])  # [4 windows, 3 layers, 8]
    pairs = [(windows[0], windows[1]), (windows[2], windows[3])]
    programs = heuristics()
    for planned, scored in pairs:
        results = [reference.optimal_max_load(row, SMALL.gpus, SMALL.slots_per_gpu, 60) for row in scored]
        assert all(r.optimal for r in results)
        mip_phy2log = np.stack([r.phy2log for r in results])
        placement = placement_mod.parse_placement(_full_placement(mip_phy2log, 8), SMALL, 3, scored > 0)
        loads = simulator.gpu_loads(placement.phy2log, placement.counts, scored, SMALL.slots_per_gpu)
        np.testing.assert_allclose(loads.max(axis=1), [r.max_load for r in results], rtol=1e-9)
        optimum = simulator.balancedness(loads)
        assert optimum <= reference.balancedness_bound(scored, SMALL) + 1e-12
        for name, program in programs.items():
            for source in (planned, scored):  # predicted from the window before, and the oracle case
                out = program.rebalance_experts(source, SMALL.replicas, SMALL.groups, SMALL.nodes, SMALL.gpus)
                found = placement_mod.parse_placement(out, SMALL, 3, scored > 0)
                heuristic = simulator.balancedness(
                    simulator.gpu_loads(found.phy2log, found.counts, scored, SMALL.slots_per_gpu))
                assert heuristic <= optimum * (1 + reference.MIP_REL_GAP), name


def _full_placement(phy2log: np.ndarray, experts: int):
    """(phy2log, log2phy, logcnt) built from phy2log alone."""
    counts = placement_mod.replica_counts(phy2log, experts)
    log2phy = np.full((phy2log.shape[0], experts, int(counts.max())), -1)
    for layer, row in enumerate(phy2log):
        for e in range(experts):
            slots = np.flatnonzero(row == e)
            log2phy[layer, e, :len(slots)] = slots
    return phy2log, log2phy, counts


def test_mip_with_a_time_limit_still_returns_a_valid_placement_and_a_true_bound() -> None:
    cluster = Cluster(experts=16, replicas=20, groups=4, nodes=2, gpus=4)
    load = trace_mod.generate_trace(3, "mixed", 1, 16, 4, 1, 10, 64).windows[0]
    result = reference.optimal_max_load(load[0], cluster.gpus, cluster.slots_per_gpu, time_limit_s=3)
    phy2log = result.phy2log[None, :]
    placement = placement_mod.parse_placement(_full_placement(phy2log, 16), cluster, 1, load > 0)
    loads = simulator.gpu_loads(placement.phy2log, placement.counts, load, cluster.slots_per_gpu)
    assert loads.max() == pytest.approx(result.max_load)
    assert result.bound <= result.max_load + 1e-9
    assert result.bound >= reference.max_load_lower_bound(load, cluster)[0] - 1e-6
    deepseek = load_program(PROBLEM / "baselines" / "deepseek.py")
    out = deepseek.rebalance_experts(load, cluster.replicas, cluster.groups, cluster.nodes, cluster.gpus)
    found = placement_mod.parse_placement(out, cluster, 1, load > 0)
    heuristic_max = simulator.gpu_loads(found.phy2log, found.counts, load, cluster.slots_per_gpu).max()
    assert result.bound <= heuristic_max + 1e-9  # no heuristic beats a proven bound


@pytest.mark.parametrize("gpus", [4, 8])
def test_bound_is_tight_when_one_expert_dominates(gpus: int) -> None:
    # One slot per GPU: the GPU holding a replica of expert 0 carries 100 / (its replicas), which
    # exceeds the mean; the bound and the MIP optimum agree.
    cluster = Cluster(experts=4, replicas=gpus, groups=1, nodes=1, gpus=gpus)
    load = np.array([[100.0, 1.0, 1.0, 1.0]])
    replicas_of_hot = gpus - 3
    assert reference.max_load_lower_bound(load, cluster)[0] == pytest.approx(100.0 / replicas_of_hot)
    optimum = reference.optimal_max_load(load[0], gpus, 1, 30)
    assert optimum.optimal and optimum.max_load == pytest.approx(100.0 / replicas_of_hot)
    assert reference.balancedness_bound(load, cluster) == pytest.approx((103.0 / gpus) / optimum.max_load)
