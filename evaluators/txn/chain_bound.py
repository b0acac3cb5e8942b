"""Conflict-chain lower bound on the makespan: pairwise separations along a clique, relaxed to an
assignment problem solved with HiGHS.

Separation: if transaction i is placed before j and they conflict (an operation of i and one of j
on the same key, at least one a write), every such pair of operations keeps its order, so
s_j >= s_i + d_ij with d_ij = max over those pairs of (position in i + 1 - position in j). Any
order's makespan is the longest path through these constraints (the simulator places each
transaction at its earliest start), and dropping transactions never lengthens it.

Chain bound: in a clique K of the conflict graph (every pair conflicts, e.g. the writers of one
key plus any transaction conflicting with all of them), consecutive members of any order are
separated, so makespan >= sum of d along the order of K + length of the last one. The cheapest
such Hamiltonian path is bounded below by its assignment relaxation (every member one successor
and one predecessor; a dummy node starts the path at cost 0 and ends it at cost L_last), an LP
with integral optimum. Each of the largest distinct cliques (one grown from the writers of every key)
gives a bound; the best one is returned. Tests check it never exceeds exact optima. This module
does not simulate orders or search for them.
"""

from __future__ import annotations

import math

import numpy as np

from .txn_sim import Workload

NO_CONFLICT = np.iinfo(np.int64).min
MAX_CLIQUE = 120  # members kept per clique (a subset of a clique is a clique: still valid)
MAX_CLIQUES = 8  # distinct cliques solved per workload, largest first


def separations(workload: Workload) -> np.ndarray:
    """[n, n] matrix of d_ij (NO_CONFLICT where i and j do not conflict)."""
    n = workload.n
    d = np.full((n, n), NO_CONFLICT, dtype=np.int64)
    per_key: dict[int, list[tuple[int, int, bool]]] = {}
    for j in range(n):
        for key, pos in workload._writes[j]:
            per_key.setdefault(key, []).append((j, pos, True))
        for key, pos in workload._reads[j]:
            per_key.setdefault(key, []).append((j, pos, False))
    for ops in per_key.values():
        txn = np.array([o[0] for o in ops])
        pos = np.array([o[1] for o in ops], dtype=np.int64)
        write = np.array([o[2] for o in ops])
        conflict = (write[:, None] | write[None, :]) & (txn[:, None] != txn[None, :])
        a, b = np.nonzero(conflict)
        if a.size:
            np.maximum.at(d, (txn[a], txn[b]), pos[a] + 1 - pos[b])
    return d


def conflict_cliques(workload: Workload, d: np.ndarray) -> list[list[int]]:
    """One clique per written key: its writers (a clique already), grown by the transactions of
    highest conflict degree that conflict with every member. Distinct cliques, largest first."""
    conflicts = (d != NO_CONFLICT) | (d.T != NO_CONFLICT)
    degree = conflicts.sum(axis=1)
    by_degree = sorted(range(workload.n), key=lambda j: (-int(degree[j]), j))
    writers: dict[int, set[int]] = {}
    for j in range(workload.n):
        for key, _ in workload._writes[j]:
            writers.setdefault(key, set()).add(j)
    seen, cliques = set(), []
    for members in writers.values():
        clique: list[int] = []
        open_ = np.ones(workload.n, dtype=bool)  # conflicts with every member so far
        for j in sorted(members, key=lambda j: (-int(degree[j]), j)) + by_degree:
            if len(clique) >= MAX_CLIQUE:
                break
            if open_[j]:
                clique.append(j)
                open_ &= conflicts[j]
                open_[j] = False
        key = frozenset(clique)
        if len(clique) >= 2 and key not in seen:
            seen.add(key)
            cliques.append(sorted(clique))
    cliques.sort(key=lambda c: (-len(c), c))
    return cliques[:MAX_CLIQUES]


def path_assignment_bound(d: np.ndarray, clique: list[int], lengths: tuple[int, ...]) -> int:
    """Assignment-relaxation bound on min over orders of the clique of (sum of consecutive
    separations + length of the last), rounded up (all data are integers)."""
    import highspy

    m = len(clique)
    sub = d[np.ix_(clique, clique)].astype(np.float64)
    arcs_from, arcs_to, cost = [], [], []
    for a in range(m):
        for b in range(m):
            if a != b:
                arcs_from.append(a)
                arcs_to.append(b)
                cost.append(sub[a, b])
    for b in range(m):  # dummy -> b: b starts the path
        arcs_from.append(m)
        arcs_to.append(b)
        cost.append(0.0)
    for a in range(m):  # a -> dummy: a ends it
        arcs_from.append(a)
        arcs_to.append(m)
        cost.append(float(lengths[clique[a]]))
    cols = len(cost)
    rows_out = [[] for _ in range(m + 1)]
    rows_in = [[] for _ in range(m + 1)]
    for c, (a, b) in enumerate(zip(arcs_from, arcs_to, strict=True)):
        rows_out[a].append(c)
        rows_in[b].append(c)
    rows = rows_out + rows_in
    lp = highspy.HighsLp()
    lp.num_col_ = cols
    lp.num_row_ = len(rows)
    lp.col_cost_ = np.asarray(cost)
    lp.col_lower_ = np.zeros(cols)
    lp.col_upper_ = np.ones(cols)
    lp.row_lower_ = np.ones(len(rows))
    lp.row_upper_ = np.ones(len(rows))
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.concatenate([[0], np.cumsum([len(r) for r in rows])]).astype(np.int32)
    lp.a_matrix_.index_ = np.concatenate(rows).astype(np.int32)
    lp.a_matrix_.value_ = np.ones(sum(len(r) for r in rows))
    solver = highspy.Highs()
    solver.setOptionValue("output_flag", False)
    solver.setOptionValue("threads", 1)
    solver.passModel(lp)
    solver.run()
    if solver.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return 0  # no proof: contributes nothing
    value = float(solver.getInfo().objective_function_value)
    return int(math.ceil(value - 1e-6))


def chain_bound(workload: Workload) -> int:
    """The best conflict-chain bound over the workload's largest key cliques (0 if none)."""
    if workload.n < 2 or workload.num_keys == 0:
        return 0
    d = separations(workload)
    return max((path_assignment_bound(d, c, workload.lengths) for c in conflict_cliques(workload, d)),
               default=0)
