"""Reference values per workload, computed once per split and cached as JSON: the SMF makespan
averaged over several seeds (and its standard deviation), and the lower bound of ``bounds``.

A cache file records the generator version, the split spec, the SMF settings and a sha256 of the
workloads; any mismatch means recompute. This module does not score candidates.
"""

from __future__ import annotations

import logging
import os
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adrs.jsonfile import cache_paths, read_json_matching, write_json_atomic

from .bounds import lower_bound
from .heuristics import SMF_SAMPLE, smf_makespans
from .workloads import GENERATOR_VERSION, Batch, SetSpec, set_fingerprint

REFERENCE_VERSION = 2  # 2: lower bound includes the conflict-chain bound
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class References:
    """Per workload of a split: SMF mean and std over seeds, and the lower bound."""

    smf_mean: tuple[float, ...]
    smf_std: tuple[float, ...]
    lower_bound: tuple[int, ...]


def compute_references(batches: Sequence[Batch], smf_seeds: int) -> References:
    means, stds, bounds = [], [], []
    for batch in batches:
        values = smf_makespans(batch.workload, range(smf_seeds))
        means.append(float(statistics.fmean(values)))
        stds.append(float(statistics.pstdev(values)))
        bounds.append(lower_bound(batch.workload))
    return References(tuple(means), tuple(stds), tuple(bounds))


def user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/adrs/txn`` (default ``~/.cache/adrs/txn``)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "adrs" / "txn"


def cache_header(split: str, spec: SetSpec, batches: Sequence[Batch], smf_seeds: int) -> dict[str, Any]:
    return {"split": split, "generator_version": GENERATOR_VERSION, "spec": spec.to_dict(),
            "workloads_sha256": set_fingerprint(batches), "smf_sample": SMF_SAMPLE,
            "smf_seeds": smf_seeds, "reference_version": REFERENCE_VERSION}


def read_cached(path: Path, header: dict[str, Any], count: int) -> References | None:
    stored = read_json_matching(path, header)
    if stored is None:
        return None
    try:
        refs = References(tuple(float(v) for v in stored["smf_mean"]),
                          tuple(float(v) for v in stored["smf_std"]),
                          tuple(int(v) for v in stored["lower_bound"]))
    except (KeyError, TypeError, ValueError):
        return None
    if not len(refs.smf_mean) == len(refs.smf_std) == len(refs.lower_bound) == count:
        return None
    return refs


def write_cache(path: Path, header: dict[str, Any], refs: References, compute_s: float) -> bool:
    """Write atomically (temporary file + rename); False if the folder is not writable."""
    payload = {**header, "compute_s": round(compute_s, 2), "smf_mean": list(refs.smf_mean),
               "smf_std": list(refs.smf_std), "lower_bound": list(refs.lower_bound)}
    return write_json_atomic(path, payload)


def load_references(split: str, spec: SetSpec, batches: Sequence[Batch], smf_seeds: int,
                    cache_dirs: Sequence[Path]) -> References:
    """References of a split: the first matching cache file, else computed and written to the first
    writable folder (``<dir>/<split>.json`` in the first, the name carries the workload hash in
    the others)."""
    header = cache_header(split, spec, batches, smf_seeds)
    paths = cache_paths(split, header["workloads_sha256"], cache_dirs)
    for path in paths:
        refs = read_cached(path, header, len(batches))
        if refs is not None:
            return refs
    started = time.perf_counter()
    refs = compute_references(batches, smf_seeds)
    elapsed = time.perf_counter() - started
    log.info("computed txn references for %s (%d workloads) in %.1f s", split, len(batches), elapsed)
    for path in paths:
        if write_cache(path, header, refs, elapsed):
            break
    return refs
