"""Validation of a returned placement ``(phy2log, log2phy, logcnt)`` against the cluster's rules.

``parse_placement`` checks, for every layer: the answer is three integer numpy arrays of the right
shapes; every slot holds a logical expert (so each GPU holds exactly ``slots_per_gpu`` experts);
``logcnt[e]`` equals the number of slots holding e; ``log2phy[e, :logcnt[e]]`` lists exactly those
slots, each once, and the rest of the row is -1; every expert that has load (in the window the
placement was computed from or the one it is scored on) has at least one replica. The first
violation of a rule raises ``InvalidPlacement`` naming the rule, the layer, the expert or slot and how
many entries break it. Replica counts are recomputed from ``phy2log``; nothing else is trusted. This
module does not compute loads (see ``simulator``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .cluster import Cluster


class InvalidPlacement(ValueError):
    """A placement that breaks a rule; the message says which, where, and how often."""


@dataclass(frozen=True)
class Placement:
    phy2log: np.ndarray  # [layers, replicas] int64: the logical expert in each slot
    counts: np.ndarray  # [layers, experts] int64: replicas per expert, recomputed from phy2log


def replica_counts(phy2log: np.ndarray, experts: int) -> np.ndarray:
    """Slots holding each expert, per layer ``[layers, experts]`` (phy2log values in 0..experts-1)."""
    layers = phy2log.shape[0]
    flat = (phy2log + np.arange(layers)[:, None] * experts).ravel()
    return np.bincount(flat, minlength=layers * experts).reshape(layers, experts)


def _where(mask: np.ndarray, names: tuple[str, ...]) -> tuple[str, tuple[int, ...], int]:
    """Description of the first True entry of ``mask`` ("layer 2, expert 5"), its index, the count."""
    hits = np.argwhere(mask)
    first = tuple(int(i) for i in hits[0])
    return ", ".join(f"{n} {i}" for n, i in zip(names, first, strict=False)), first, len(hits)


def _times(count: int) -> str:
    return "" if count == 1 else f" ({count} such entries in all)"


def _integer_array(value: Any, name: str, shape: str) -> np.ndarray:
    if not isinstance(value, np.ndarray):
        raise InvalidPlacement(f"{name} must be a numpy integer array {shape}, got {type(value).__name__}")
    if value.dtype.kind not in "iu":
        raise InvalidPlacement(f"{name} has dtype {value.dtype}; expected an integer dtype (e.g. int64)")
    return value.astype(np.int64, copy=False)


def parse_placement(output: Any, cluster: Cluster, layers: int, has_load: np.ndarray) -> Placement:
    """Check a returned placement for ``layers`` layers; ``has_load`` [layers, experts] marks experts
    that need a replica. Raises InvalidPlacement for the first broken rule."""
    if not isinstance(output, list | tuple) or len(output) != 3:
        got = f"a sequence of {len(output)}" if isinstance(output, list | tuple) else type(output).__name__
        raise InvalidPlacement(f"expected a tuple (phy2log, log2phy, logcnt), got {got}")
    experts, replicas = cluster.experts, cluster.replicas
    phy2log = _integer_array(output[0], "phy2log", f"[layers={layers}, replicas={replicas}]")
    log2phy = _integer_array(output[1], "log2phy", f"[layers={layers}, experts={experts}, max_replicas]")
    logcnt = _integer_array(output[2], "logcnt", f"[layers={layers}, experts={experts}]")
    if phy2log.shape != (layers, replicas):
        raise InvalidPlacement(f"phy2log has shape {phy2log.shape}; expected ({layers}, {replicas}) "
                               f"= (layers, num_replicas)")
    if logcnt.shape != (layers, experts):
        raise InvalidPlacement(f"logcnt has shape {logcnt.shape}; expected ({layers}, {experts}) "
                               f"= (layers, experts)")
    if log2phy.ndim != 3 or log2phy.shape[:2] != (layers, experts) or log2phy.shape[2] < 1:
        raise InvalidPlacement(f"log2phy has shape {log2phy.shape}; expected ({layers}, {experts}, "
                               f"max_replicas) with max_replicas >= 1")
    spg = cluster.slots_per_gpu
    if (phy2log < 0).any():
        text, (layer, slot), n = _where(phy2log < 0, ("layer", "slot"))
        raise InvalidPlacement(f"phy2log: {text} (GPU {slot // spg}) holds no expert "
                               f"({int(phy2log[layer, slot])}); every slot must hold one, so that each GPU "
                               f"holds exactly {spg} experts{_times(n)}")
    if (phy2log >= experts).any():
        text, (layer, slot), n = _where(phy2log >= experts, ("layer", "slot"))
        raise InvalidPlacement(f"phy2log: {text} holds expert {int(phy2log[layer, slot])}, outside "
                               f"0..{experts - 1}{_times(n)}")
    counts = replica_counts(phy2log, experts)
    if (logcnt != counts).any():
        text, (layer, e), n = _where(logcnt != counts, ("layer", "expert"))
        raise InvalidPlacement(f"logcnt: {text} says {int(logcnt[layer, e])} replicas but phy2log puts it "
                               f"in {int(counts[layer, e])} slots{_times(n)}")
    missing = has_load & (counts == 0)
    if missing.any():
        text, _, n = _where(missing, ("layer", "expert"))
        raise InvalidPlacement(f"{text} has load but no replica: every expert that receives tokens "
                               f"needs at least one slot{_times(n)}")
    width = log2phy.shape[2]
    if (counts > width).any():
        text, (layer, e), n = _where(counts > width, ("layer", "expert"))
        raise InvalidPlacement(f"log2phy: {text} has {int(counts[layer, e])} replicas but log2phy has room "
                               f"for {width} per expert{_times(n)}")
    listed = np.arange(width) < counts[:, :, None]  # the first logcnt entries of every row
    padding = ~listed & (log2phy != -1)
    if padding.any():
        text, index, n = _where(padding, ("layer", "expert", "entry"))
        raise InvalidPlacement(f"log2phy: {text} is {int(log2phy[index])}; entries after the first "
                               f"logcnt must be -1{_times(n)}")
    bad_slot = listed & ((log2phy < 0) | (log2phy >= replicas))
    if bad_slot.any():
        text, index, n = _where(bad_slot, ("layer", "expert", "entry"))
        raise InvalidPlacement(f"log2phy: {text} is {int(log2phy[index])}, not a slot in 0..{replicas - 1} "
                               f"(the first logcnt entries must list the expert's slots){_times(n)}")
    layer_ids = np.arange(layers)[:, None, None]
    owner = phy2log[layer_ids, np.where(listed, log2phy, 0)]
    wrong = listed & (owner != np.arange(experts)[None, :, None])
    if wrong.any():
        text, index, n = _where(wrong, ("layer", "expert", "entry"))
        raise InvalidPlacement(f"log2phy: {text} lists slot {int(log2phy[index])}, which holds expert "
                               f"{int(owner[index])} in phy2log{_times(n)}")
    flat = (log2phy + layer_ids * replicas)[listed]
    seen = np.bincount(flat, minlength=layers * replicas).reshape(layers, replicas)
    if (seen > 1).any():
        text, (layer, slot), n = _where(seen > 1, ("layer", "slot"))
        raise InvalidPlacement(f"log2phy: layer {layer} lists slot {slot} {int(seen[layer, slot])} times for "
                               f"expert {int(phy2log[layer, slot])}; each slot must appear once{_times(n)}")
    return Placement(phy2log=phy2log, counts=counts)
