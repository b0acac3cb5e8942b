"""GPU loads of a placement and its balancedness, recomputed from ``phy2log`` alone.

An expert's load is split evenly over its replicas; a GPU's load is the sum over its
``slots_per_gpu`` slots (slot s lives on GPU s // slots_per_gpu). Balancedness of a window is
sum over layers of the mean GPU load divided by the sum over layers of the largest GPU load (1 is
perfect). This module trusts its inputs: validate placements first (see ``placement``).
"""

from __future__ import annotations

import numpy as np


def gpu_loads(phy2log: np.ndarray, counts: np.ndarray, load: np.ndarray, slots_per_gpu: int) -> np.ndarray:
    """Load of every GPU ``[layers, gpus]`` when ``load`` [layers, experts] meets the placement
    ``phy2log`` [layers, slots] whose replica counts are ``counts`` [layers, experts]."""
    rows = np.arange(phy2log.shape[0])[:, None]
    per_slot = load[rows, phy2log] / counts[rows, phy2log]
    return per_slot.reshape(phy2log.shape[0], -1, slots_per_gpu).sum(axis=-1)


def balancedness(loads: np.ndarray) -> float:
    """Sum over layers of the mean GPU load / sum over layers of the largest (``loads``: [layers,
    gpus]); 1.0 when there is no load at all."""
    peak = float(loads.max(axis=-1).sum())
    return float(loads.mean(axis=-1).sum()) / peak if peak > 0 else 1.0


def layer_balancedness(loads: np.ndarray) -> np.ndarray:
    """Mean / max GPU load of each layer (1.0 for a layer without load)."""
    peak = loads.max(axis=-1)
    return np.divide(loads.mean(axis=-1), peak, out=np.ones_like(peak, dtype=float), where=peak > 0)


def group_spread(phy2log: np.ndarray, groups: int, experts: int, nodes: int) -> float:
    """Mean number of nodes holding replicas of one expert group (1.0: every group stays on one node,
    as the hierarchical policy keeps it; more means more inter-node traffic)."""
    layers, slots = phy2log.shape
    node = np.arange(slots) // (slots // nodes)
    group = phy2log // (experts // groups)
    present = np.zeros((layers, groups, nodes), dtype=bool)
    present[np.arange(layers)[:, None], group, node[None, :]] = True
    return float(present.sum(axis=-1).mean())
