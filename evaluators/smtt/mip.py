"""Mixed-integer programs for 1||sum Tj and 1||sum wjTj, solved with HiGHS (``highspy``).

Positional assignment: x[j,k] = 1 when job j is in position k, C_k the completion time of position
k (the processing times of positions 0..k). Unweighted, the tardiness of position k is
U_k >= C_k - sum_j d_j x[j,k] (no big-M). Weighted, the tardiness of job j is
T_j >= C_k - d_j - M_jk (1 - x[j,k]) with M_jk = max(0, Cmax_k - d_j) and Cmax_k the sum of the
k+1 longest jobs. Meant to certify small instances (n <= 20-30); the result records HiGHS' model
status, the proven dual bound and gap. Whether the result is optimal is read from HiGHS, never
assumed. This module does not validate inputs (see ``instances_io``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

SOLVER_NAME = "highs-positional-mip"
SOLVER_VERSION = 1


@dataclass(frozen=True)
class MipResult:
    """HiGHS outcome: ``value`` and ``order`` of the best schedule found (None when none)."""

    value: int | None
    order: np.ndarray | None
    status: str  # "optimal", "time_limit", "infeasible", ... (HiGHS model status, lower case)
    dual_bound: float
    mip_gap: float
    seconds: float

    @property
    def optimal(self) -> bool:
        return self.status == "optimal"


def solve_mip(p: np.ndarray, d: np.ndarray, w: np.ndarray | None = None, time_limit_s: float = 60.0,
              threads: int = 1) -> MipResult:
    """Solve the positional MIP (weighted when ``w`` is given) within ``time_limit_s`` seconds."""
    import highspy  # lazily: only reference computations need HiGHS

    started = time.perf_counter()
    p = np.asarray(p, dtype=np.int64)
    d = np.asarray(d, dtype=np.int64)
    n = len(p)
    if n == 0:
        return MipResult(0, np.zeros(0, dtype=np.int64), "optimal", 0.0, 0.0, 0.0)
    weighted = w is not None
    # Columns: x[j,k] at j*n+k, then C_k, then U_k (unweighted) or T_j (weighted).
    nx = n * n
    col_c = nx
    col_t = nx + n
    ncols = nx + 2 * n
    cost = np.zeros(ncols)
    cost[col_t:] = 1.0 if not weighted else np.asarray(w, dtype=float)
    lower = np.zeros(ncols)
    upper = np.full(ncols, highspy.kHighsInf)
    upper[:nx] = 1.0
    # C_k lies between the k+1 shortest and the k+1 longest processing times (valid, tightens the LP).
    lower[col_c:col_c + n] = np.cumsum(np.sort(p))
    upper[col_c:col_c + n] = np.cumsum(np.sort(p)[::-1])
    rows: list[tuple[list[int], list[float], float, float]] = []
    for j in range(n):  # each job in one position
        rows.append(([j * n + k for k in range(n)], [1.0] * n, 1.0, 1.0))
    for k in range(n):  # each position holds one job
        rows.append(([j * n + k for j in range(n)], [1.0] * n, 1.0, 1.0))
    for k in range(n):  # C_k = sum_{i<=k} sum_j p_j x[j,i]
        idx = [j * n + i for i in range(k + 1) for j in range(n)]
        val = [-float(p[j]) for i in range(k + 1) for j in range(n)]
        rows.append((idx + [col_c + k], val + [1.0], 0.0, 0.0))
    if not weighted:
        for k in range(n):  # U_k - C_k + sum_j d_j x[j,k] >= 0
            rows.append(([col_t + k, col_c + k] + [j * n + k for j in range(n)],
                         [1.0, -1.0] + [float(d[j]) for j in range(n)], 0.0, highspy.kHighsInf))
    else:
        cmax = np.cumsum(np.sort(p)[::-1])
        for j in range(n):
            for k in range(n):
                big = float(max(0, cmax[k] - d[j]))
                if big <= 0:
                    continue
                # T_j - C_k - M x[j,k] >= -d_j - M
                rows.append(([col_t + j, col_c + k, j * n + k], [1.0, -1.0, -big],
                             float(-d[j] - big), highspy.kHighsInf))
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("threads", int(threads))
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("mip_abs_gap", 0.999)  # objective values are integers
    h.addVars(ncols, lower, upper)
    h.changeColsCost(ncols, np.arange(ncols, dtype=np.int32), cost)
    starts, indices, values, row_lo, row_hi = [], [], [], [], []
    for idx, val, lo, hi in rows:
        starts.append(len(indices))
        indices.extend(idx)
        values.extend(val)
        row_lo.append(lo)
        row_hi.append(hi)
    h.addRows(len(rows), np.array(row_lo), np.array(row_hi), len(indices),
              np.array(starts, dtype=np.int32), np.array(indices, dtype=np.int32),
              np.array(values))
    h.changeColsIntegrality(nx, np.arange(nx, dtype=np.int32),
                            np.array([highspy.HighsVarType.kInteger] * nx))
    h.run()
    status_text = h.modelStatusToString(h.getModelStatus()).lower()
    status = "optimal" if status_text == "optimal" else status_text.replace(" ", "_")
    info = h.getInfo()
    seconds = time.perf_counter() - started
    order = None
    value = None
    if info.primal_solution_status == 2:  # feasible point available
        x = np.asarray(h.getSolution().col_value[:nx]).reshape(n, n)
        order = np.argmax(x, axis=0).astype(np.int64)  # job in each position
        if len(set(order.tolist())) == n:
            completion = np.cumsum(p[order])
            tard = np.maximum(completion - d[order], 0)
            value = int((tard * (1 if w is None else np.asarray(w, dtype=np.int64)[order])).sum())
        else:
            order = None
    return MipResult(value, order, status, float(info.mip_dual_bound), float(info.mip_gap), seconds)
