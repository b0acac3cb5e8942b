"""Seeded SMTT instance sets in the style of Potts & Van Wassenhove.

Processing times p ~ U{1..100}; with P = sum(p), due dates d ~ U{P(1-TF-RDD/2) .. P(1-TF+RDD/2)}
clamped at 0, for tardiness factor TF in {0.2..0.8} and range of due dates RDD in {0.2..1.0}. Each
instance draws from its own random stream keyed by (seed, n, TF, RDD, k), so growing ``sizes`` or
``per_combo`` keeps the instances a set already had. This module builds and fingerprints instances;
it does not compute references (see ``reference``) or score programs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from adrs.config import ConfigError

GENERATOR_VERSION = 1

# Tenths, so that the due-date window is computed in exact integer arithmetic.
TF_TENTHS = (2, 4, 6, 8)
RDD_TENTHS = (2, 4, 6, 8, 10)
P_MAX = 100


@dataclass(frozen=True)
class Instance:
    """One instance: processing times and due dates (read-only int64 arrays) and its parameters."""

    p: np.ndarray
    d: np.ndarray
    tf: float
    rdd: float

    @property
    def n(self) -> int:
        return int(self.p.shape[0])

    def label(self) -> str:
        return f"n={self.n}, TF={self.tf:.1f}, RDD={self.rdd:.1f}"

    def fingerprint(self) -> str:
        """sha256 of the job data; equal instances have equal fingerprints."""
        digest = hashlib.sha256()
        digest.update(np.int64(self.n).tobytes())
        digest.update(self.p.astype("<i8").tobytes())
        digest.update(self.d.astype("<i8").tobytes())
        return digest.hexdigest()


@dataclass(frozen=True)
class SetSpec:
    """Which instances make up one split: ``per_combo`` instances per (size, TF, RDD)."""

    seed: int
    sizes: tuple[int, ...]
    per_combo: int

    def to_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "sizes": list(self.sizes), "per_combo": self.per_combo}


def parse_set_spec(raw: Any, where: str) -> SetSpec:
    """Read ``{seed: int, sizes: [int, ...], per_combo: int}``; errors name the bad field."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a mapping {{seed, sizes, per_combo}}, "
                         f"not {type(raw).__name__}")
    unknown = sorted(set(raw) - {"seed", "sizes", "per_combo"})
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(map(str, unknown))}; "
                         f"allowed: per_combo, seed, sizes")
    seed = _int_at_least(raw.get("seed"), f"{where}: seed", minimum=0)
    sizes_raw = raw.get("sizes")
    if not isinstance(sizes_raw, Sequence) or isinstance(sizes_raw, str) or not sizes_raw:
        raise ConfigError(f"{where}: sizes must be a non-empty list of job counts, got {sizes_raw!r}")
    sizes = tuple(_int_at_least(s, f"{where}: sizes", minimum=2) for s in sizes_raw)
    if len(set(sizes)) != len(sizes):
        raise ConfigError(f"{where}: sizes has duplicates: {list(sizes)}")
    per_combo = _int_at_least(raw.get("per_combo", 1), f"{where}: per_combo", minimum=1)
    return SetSpec(seed=seed, sizes=sizes, per_combo=per_combo)


def _int_at_least(value: Any, where: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{where}: expected an integer >= {minimum}, got {value!r}")
    return value


def generate_instance(seed: int, n: int, tf_tenths: int, rdd_tenths: int, k: int) -> Instance:
    """The k-th instance of size n for (TF, RDD) = (tf_tenths/10, rdd_tenths/10) under ``seed``."""
    rng = np.random.default_rng([seed, n, tf_tenths, rdd_tenths, k])
    p = rng.integers(1, P_MAX + 1, size=n, dtype=np.int64)
    total = int(p.sum())
    # 1 - TF -/+ RDD/2 == (20 - 2*TF10 -/+ RDD10) / 20, kept exact with integers.
    low = -(-total * (20 - 2 * tf_tenths - rdd_tenths) // 20)  # ceil
    high = total * (20 - 2 * tf_tenths + rdd_tenths) // 20  # floor
    d = np.maximum(rng.integers(low, high + 1, size=n, dtype=np.int64), 0)
    p.flags.writeable = False
    d.flags.writeable = False
    return Instance(p=p, d=d, tf=tf_tenths / 10, rdd=rdd_tenths / 10)


def generate_set(spec: SetSpec) -> list[Instance]:
    """All instances of a split, ordered by size, TF, RDD, then k."""
    return [generate_instance(spec.seed, n, tf, rdd, k)
            for n in spec.sizes for tf in TF_TENTHS for rdd in RDD_TENTHS
            for k in range(spec.per_combo)]


def set_fingerprint(instances: Sequence[Instance]) -> str:
    """sha256 over the fingerprints of all instances, in order."""
    digest = hashlib.sha256()
    for instance in instances:
        digest.update(instance.fingerprint().encode())
    return digest.hexdigest()
