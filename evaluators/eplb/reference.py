"""Reference values for placements: an upper bound on balancedness and, for small clusters, the optimum.

Both are oracle values for a given load: no placement evaluated on that load can do better, whatever
window it was computed from. Per layer, the largest GPU load is at least

- the mean GPU load (total load / GPUs), and
- the smallest achievable largest load per replica: with ``replicas`` slots and at least one replica
  per loaded expert, giving each further replica to the expert with the largest load per replica is
  optimal (it hands out the largest quotients load / k), and the GPU holding that replica carries at
  least that much.

``balancedness_bound`` turns these into an upper bound on balancedness. ``optimal_max_load`` solves the
replicate-and-pack problem of one layer exactly as a mixed-integer program with HiGHS (choose each
expert's replica count k, spread the replicas over GPUs with exactly ``slots_per_gpu`` slots each,
minimise the largest GPU load); it is meant for small clusters (e.g. 16 experts on 4 GPUs). Groups and
nodes do not constrain placements, so they play no part here. This module does not validate or run
programs.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from .cluster import Cluster

MIP_REL_GAP = 1e-4


def min_max_replica_load(load: np.ndarray, replicas: int) -> np.ndarray:
    """Per row of ``load`` [layers, experts]: the smallest possible largest load per replica when
    ``replicas`` slots are shared out and every expert with load gets at least one."""
    load = np.asarray(load, dtype=np.float64)
    loaded = (load > 0).sum(axis=-1)
    if (loaded > replicas).any():
        raise ValueError(f"more loaded experts ({int(loaded.max())}) than slots ({replicas})")
    depth = int(replicas - loaded.min()) + 1  # at most this many replicas for one expert
    quotients = (load[:, :, None] / np.arange(1, depth + 1)).reshape(load.shape[0], -1)
    ordered = -np.sort(-quotients, axis=-1)
    # With extra = replicas - loaded, the extra largest quotients become further replicas; the
    # next one is the largest load per replica that is left.
    pick = np.minimum(replicas - loaded, ordered.shape[1] - 1)
    return ordered[np.arange(load.shape[0]), pick]


def max_load_lower_bound(load: np.ndarray, cluster: Cluster) -> np.ndarray:
    """Lower bound on the largest GPU load of each layer ``[layers]`` for any valid placement."""
    mean = np.asarray(load, dtype=np.float64).sum(axis=-1) / cluster.gpus
    return np.maximum(mean, min_max_replica_load(load, cluster.replicas))


def balancedness_bound(load: np.ndarray, cluster: Cluster) -> float:
    """Upper bound on the balancedness any placement can reach on ``load`` [layers, experts]."""
    mean = np.asarray(load, dtype=np.float64).sum(axis=-1) / cluster.gpus
    peak = float(max_load_lower_bound(load, cluster).sum())
    return float(mean.sum()) / peak if peak > 0 else 1.0


@dataclass(frozen=True)
class MipResult:
    max_load: float  # largest GPU load of the best placement found
    bound: float  # proven lower bound on the largest GPU load (equals max_load when optimal)
    optimal: bool
    seconds: float
    phy2log: np.ndarray  # [gpus * slots_per_gpu]: the expert in each slot of the best placement found


def optimal_max_load(load: np.ndarray, gpus: int, slots_per_gpu: int, time_limit_s: float = 60.0,
                     ) -> MipResult:
    """Exact smallest largest GPU load for one layer's ``load`` [experts] (HiGHS MIP).

    Variables: y[e, k] = 1 if loaded expert e gets k replicas; z[e, g, k] = replicas of e on GPU g
    when it has k; f[g] = slots of GPU g given to experts without load; T = the largest GPU load.
    """
    import highspy

    start = time.perf_counter()
    load = np.asarray(load, dtype=np.float64)
    if load.ndim != 1:
        raise ValueError("optimal_max_load takes the load of one layer, shape [experts]")
    replicas = gpus * slots_per_gpu
    n = int((load > 0).sum())
    if n == 0:
        slots = np.arange(replicas) % len(load)
        return MipResult(0.0, 0.0, True, time.perf_counter() - start, slots)
    if n > replicas:
        raise ValueError(f"more loaded experts ({n}) than slots ({replicas})")
    depth = replicas - n + 1
    # Integer loads times lcm(1..depth) make every load per replica, hence every GPU load, an
    # integer: T can then be integral, which closes the gap to the bound far sooner.
    multiple = math.lcm(*range(1, depth + 1))
    integral = bool(np.all(load == np.round(load))) and float(load.max()) * multiple < 2.0 ** 40
    scale = 1.0 / multiple if integral else float(load.max())
    w = load[load > 0] / scale
    fillers = len(load) > n
    ks = np.arange(1, depth + 1)
    y0, z0 = 1, 1 + n * depth
    f0 = z0 + n * gpus * depth
    num_col = f0 + gpus

    def y(e: int, k: int) -> int:
        return y0 + e * depth + (k - 1)

    def z(e: int, g: int, k: int) -> int:
        return z0 + (e * gpus + g) * depth + (k - 1)

    lower = np.zeros(num_col)
    upper = np.empty(num_col)
    upper[0] = highspy.kHighsInf
    lower[0] = float(max(w.sum() / gpus, min_max_replica_load(w[None, :], replicas)[0]))
    if integral:
        w = np.round(w)
        lower[0] = math.ceil(lower[0] - 1e-9)
    upper[y0:z0] = 1.0
    upper[z0:f0] = np.tile(np.minimum(ks, slots_per_gpu), n * gpus)
    upper[f0:] = slots_per_gpu if fillers else 0.0
    cost = np.zeros(num_col)
    cost[0] = 1.0
    rows: list[tuple[list[int], list[float], float, float]] = []
    for e in range(n):
        rows.append(([y(e, k) for k in ks], [1.0] * depth, 1.0, 1.0))  # one replica count
        for k in ks:  # k replicas in all when y[e, k] = 1, none otherwise
            rows.append(([z(e, g, k) for g in range(gpus)] + [y(e, k)], [1.0] * gpus + [-float(k)],
                         0.0, 0.0))
        # the GPU holding a replica of e carries at least w[e] / k
        rows.append(([y(e, k) for k in ks] + [0], [w[e] / k for k in ks] + [-1.0], -highspy.kHighsInf, 0.0))
    for g in range(gpus):  # exactly slots_per_gpu slots; load at most T
        cols = [z(e, g, k) for e in range(n) for k in ks]
        rows.append((cols + [f0 + g], [1.0] * len(cols) + [1.0], slots_per_gpu, slots_per_gpu))
        rows.append((cols + [0], [w[e] / k for e in range(n) for k in ks] + [-1.0], -highspy.kHighsInf, 0.0))
    lp = highspy.HighsLp()
    lp.num_col_ = num_col
    lp.num_row_ = len(rows)
    lp.col_cost_ = cost
    lp.col_lower_ = lower
    lp.col_upper_ = upper
    lp.row_lower_ = np.array([r[2] for r in rows], dtype=float)
    lp.row_upper_ = np.array([r[3] for r in rows], dtype=float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.concatenate([[0], np.cumsum([len(r[0]) for r in rows])]).astype(np.int32)
    lp.a_matrix_.index_ = np.concatenate([r[0] for r in rows]).astype(np.int32)
    lp.a_matrix_.value_ = np.concatenate([r[1] for r in rows]).astype(float)
    first = highspy.HighsVarType.kInteger if integral else highspy.HighsVarType.kContinuous
    lp.integrality_ = [first] + [highspy.HighsVarType.kInteger] * (num_col - 1)
    solver = highspy.Highs()
    solver.setOptionValue("output_flag", False)
    solver.setOptionValue("time_limit", float(time_limit_s))
    solver.setOptionValue("mip_rel_gap", MIP_REL_GAP)
    solver.setOptionValue("threads", 1)
    solver.passModel(lp)
    solver.run()
    status = solver.getModelStatus()
    info = solver.getInfo()
    if info.primal_solution_status != highspy.SolutionStatus.kSolutionStatusFeasible:
        raise RuntimeError(f"HiGHS found no placement ({solver.modelStatusToString(status)})")
    optimal = status == highspy.HighsModelStatus.kOptimal
    primal = float(info.objective_function_value)
    bound = float(info.mip_dual_bound) if math.isfinite(info.mip_dual_bound) else float(lower[0])
    counts = np.rint(np.asarray(solver.getSolution().col_value)).astype(np.int64)
    loaded, idle = np.flatnonzero(load > 0), np.flatnonzero(load <= 0)
    slots = []
    for g in range(gpus):
        gpu = [int(loaded[e]) for e in range(n) for k in ks for _ in range(counts[z(e, g, k)])]
        gpu += [int(idle[i % max(len(idle), 1)]) for i in range(counts[f0 + g])]
        slots.extend(gpu)
    return MipResult(max_load=primal * scale, bound=min(bound, primal) * scale, optimal=optimal,
                     seconds=time.perf_counter() - start, phy2log=np.asarray(slots, dtype=np.int64))


def optimal_balancedness(load: np.ndarray, cluster: Cluster, time_limit_s: float = 60.0,
                         ) -> tuple[float, bool]:
    """Upper bound on balancedness on ``load`` [layers, experts] from the MIP's proven bounds (the
    exact optimum when every layer solved to optimality, reported as the second value)."""
    load = np.asarray(load, dtype=np.float64)
    results = [optimal_max_load(row, cluster.gpus, cluster.slots_per_gpu, time_limit_s) for row in load]
    peak = sum(r.bound for r in results)
    mean = float(load.sum()) / cluster.gpus
    return (mean / peak if peak > 0 else 1.0), all(r.optimal for r in results)
