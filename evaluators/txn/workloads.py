"""Seeded transaction workloads (batches) in five families, and the split specs of problem.yaml.

Families (each transaction is a list of (kind, key) operations, kind 0 filler / 1 read / 2 write):

- ``hotkey``: long transactions (8-20 operations) on a large cold key space, where each operation
  hits one of 4 hot keys with probability 0.15 (hot-key skew, as in Cheng et al.).
- ``mixed``: 30 % long read-mostly transactions (12-24 operations, 90 % reads) and 70 % short
  read-modify-write transactions (1-2 pairs r(x) w(x)), keys Zipf-distributed over 200 keys.
- ``rxw``: read x, 0-6 fillers, write y, with x and y uniform over max(8, n/10) keys.
- ``ycsb``: YCSB-like, 4-16 operations, 70 % reads, keys Zipf(0.99) over 1000 keys.
- ``tpcc``: TPC-C-like mix on one warehouse and 10 districts: New-Order 45 %, Payment 43 %,
  Order-Status, Delivery and Stock-Level 4 % each.

Each workload draws from its own random stream keyed by (seed, family, n, k), so growing a spec
keeps the workloads it already had. This module builds and fingerprints workloads; it does not
simulate (see ``txn_sim``) or score.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from adrs.config import ConfigError

from .txn_sim import FILLER, READ, WRITE, Workload

GENERATOR_VERSION = 1
Txn = list[tuple[int, int]]


def _zipf_probs(count: int, theta: float) -> np.ndarray:
    weights = 1.0 / np.arange(1, count + 1) ** theta
    return weights / weights.sum()


def _hotkey(rng: np.random.Generator, n: int) -> list[Txn]:
    txns = []
    for _ in range(n):
        ops = []
        for _ in range(int(rng.integers(8, 21))):
            if rng.random() < 0.15:
                ops.append((WRITE if rng.random() < 0.5 else READ, int(rng.integers(0, 4))))
            elif rng.random() < 0.2:
                ops.append((FILLER, -1))
            else:
                ops.append((WRITE if rng.random() < 0.3 else READ, int(rng.integers(4, 100_000))))
        txns.append(ops)
    return txns


def _mixed(rng: np.random.Generator, n: int) -> list[Txn]:
    probs = _zipf_probs(200, 0.8)
    txns = []
    for _ in range(n):
        if rng.random() < 0.3:
            length = int(rng.integers(12, 25))
            keys = rng.choice(200, size=length, p=probs)
            txns.append([(WRITE if rng.random() < 0.1 else READ, int(k)) for k in keys])
        else:
            ops = []
            for k in rng.choice(200, size=int(rng.integers(1, 3)), p=probs):
                ops += [(READ, int(k)), (WRITE, int(k))]
            txns.append(ops)
    return txns


def _rxw(rng: np.random.Generator, n: int) -> list[Txn]:
    keys = max(8, n // 10)
    return [[(READ, int(rng.integers(keys)))] + [(FILLER, -1)] * int(rng.integers(0, 7))
            + [(WRITE, int(rng.integers(keys)))] for _ in range(n)]


def _ycsb(rng: np.random.Generator, n: int) -> list[Txn]:
    probs = _zipf_probs(1000, 0.99)
    txns = []
    for _ in range(n):
        keys = rng.choice(1000, size=int(rng.integers(4, 17)), p=probs)
        txns.append([(READ if rng.random() < 0.7 else WRITE, int(k)) for k in keys])
    return txns


# TPC-C-like key spaces (one warehouse): disjoint integer ranges.
_WAREHOUSE, _DISTRICT, _CUSTOMER, _ITEM, _STOCK, _ORDER = 0, 10, 1_000, 100_000, 200_000, 300_000


def _tpcc(rng: np.random.Generator, n: int) -> list[Txn]:
    txns = []
    for _ in range(n):
        u = rng.random()
        d = int(rng.integers(10))
        customer = _CUSTOMER + d * 300 + int(rng.integers(300))
        if u < 0.45:  # New-Order
            ops = [(READ, _WAREHOUSE), (READ, _DISTRICT + d), (WRITE, _DISTRICT + d), (READ, customer)]
            for item in rng.integers(1000, size=int(rng.integers(5, 11))):
                ops += [(READ, _ITEM + int(item)), (READ, _STOCK + int(item)), (WRITE, _STOCK + int(item))]
            ops.append((WRITE, _ORDER + int(rng.integers(1_000_000))))
        elif u < 0.88:  # Payment
            ops = [(READ, _WAREHOUSE), (WRITE, _WAREHOUSE), (READ, _DISTRICT + d),
                   (WRITE, _DISTRICT + d), (READ, customer), (WRITE, customer)]
        elif u < 0.92:  # Order-Status (read-only)
            ops = [(READ, customer)] + [(READ, _ORDER + int(o)) for o in rng.integers(1_000_000, size=3)]
        elif u < 0.96:  # Delivery: one write per district
            ops = [(WRITE, _DISTRICT + dd) for dd in range(10)]
        else:  # Stock-Level (read-only)
            ops = [(READ, _DISTRICT + d)] + [(READ, _STOCK + int(i)) for i in rng.integers(1000, size=10)]
        txns.append(ops)
    return txns


FAMILIES: dict[str, Callable[[np.random.Generator, int], list[Txn]]] = {
    "hotkey": _hotkey, "mixed": _mixed, "rxw": _rxw, "ycsb": _ycsb, "tpcc": _tpcc}
_FAMILY_IDS = {"hotkey": 1, "mixed": 2, "rxw": 3, "ycsb": 4, "tpcc": 5}


@dataclass(frozen=True, eq=False)
class Batch:
    """One workload: flat operation arrays (read-only) plus where it came from."""

    family: str
    kinds: np.ndarray  # int8, 0 filler / 1 read / 2 write, all transactions concatenated
    keys: np.ndarray  # int64, -1 for fillers
    offsets: np.ndarray  # int64, n + 1 entries: transaction j is ops offsets[j]:offsets[j+1]

    @property
    def n(self) -> int:
        return int(self.offsets.shape[0] - 1)

    def label(self) -> str:
        return f"{self.family}, n={self.n}"

    @cached_property
    def workload(self) -> Workload:
        """The trusted simulator for this batch (built once)."""
        return Workload(self.kinds.tolist(), self.keys.tolist(), self.offsets.tolist())

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for array in (self.kinds.astype("<i1"), self.keys.astype("<i8"), self.offsets.astype("<i8")):
            digest.update(np.int64(array.size).tobytes())
            digest.update(array.tobytes())
        return digest.hexdigest()


def batch_from_txns(family: str, txns: Sequence[Sequence[tuple[int, int]]]) -> Batch:
    """Pack lists of (kind, key) operations into a Batch (every transaction needs an operation)."""
    kinds = np.array([k for t in txns for k, _ in t], dtype=np.int8)
    keys = np.array([key if kind != FILLER else -1 for t in txns for kind, key in t], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum([len(t) for t in txns])]).astype(np.int64)
    for array in (kinds, keys, offsets):
        array.flags.writeable = False
    return Batch(family, kinds, keys, offsets)


def generate_batch(seed: int, family: str, n: int, k: int) -> Batch:
    """The k-th workload of ``family`` with n transactions under ``seed``."""
    rng = np.random.default_rng([seed, _FAMILY_IDS[family], n, k])
    return batch_from_txns(family, FAMILIES[family](rng, n))


@dataclass(frozen=True)
class SetSpec:
    """One split: ``per_combo`` workloads for every (family, size)."""

    seed: int
    families: tuple[str, ...]
    sizes: tuple[int, ...]
    per_combo: int

    def to_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "families": list(self.families), "sizes": list(self.sizes),
                "per_combo": self.per_combo}


def generate_set(spec: SetSpec) -> list[Batch]:
    """All workloads of a split, ordered by family, size, then k."""
    return [generate_batch(spec.seed, family, n, k)
            for family in spec.families for n in spec.sizes for k in range(spec.per_combo)]


def set_fingerprint(batches: Sequence[Batch]) -> str:
    digest = hashlib.sha256()
    for batch in batches:
        digest.update(batch.fingerprint().encode())
    return digest.hexdigest()


def parse_set_spec(raw: Any, where: str) -> SetSpec:
    """Read ``{seed, families, sizes, per_combo}``; errors name the bad field."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a mapping {{seed, families, sizes, per_combo}}, "
                          f"not {type(raw).__name__}")
    unknown = sorted(set(raw) - {"seed", "families", "sizes", "per_combo"})
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(map(str, unknown))}; "
                          f"allowed: families, per_combo, seed, sizes")
    seed = _int_at_least(raw.get("seed"), f"{where}: seed", 0)
    families = raw.get("families", list(FAMILIES))
    if (not isinstance(families, Sequence) or isinstance(families, str) or not families
            or any(f not in FAMILIES for f in families) or len(set(families)) != len(families)):
        raise ConfigError(f"{where}: families must be a non-empty list of distinct names from "
                          f"{', '.join(FAMILIES)}, got {families!r}")
    sizes = raw.get("sizes")
    if not isinstance(sizes, Sequence) or isinstance(sizes, str) or not sizes:
        raise ConfigError(f"{where}: sizes must be a non-empty list of transaction counts, got {sizes!r}")
    sizes = tuple(_int_at_least(s, f"{where}: sizes", 2) for s in sizes)
    if len(set(sizes)) != len(sizes):
        raise ConfigError(f"{where}: sizes has duplicates: {list(sizes)}")
    per_combo = _int_at_least(raw.get("per_combo", 1), f"{where}: per_combo", 1)
    return SetSpec(seed, tuple(families), sizes, per_combo)


def _int_at_least(value: Any, where: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{where}: expected an integer >= {minimum}, got {value!r}")
    return value
