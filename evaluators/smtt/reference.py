"""Reference total tardiness per instance, computed once per instance set and cached as JSON.

The reference is the exact solver's result (``exact``: Lawler decomposition, branch and bound with
memoised subproblems) under a per-instance time limit, started from a strong heuristic (the better of
EDD and MDD, then an iterated local search over insertion and interchange moves with a fixed, seeded
budget). Each instance gets a ``Reference``: its value, status "optimal" (proven) or "best_known"
(time limit reached: the best schedule found, with the proven lower bound), the solver and the
seconds spent. The cache file records the generator version and spec, the method name and version,
and a sha256 of the instances; any mismatch means recompute. Time-limited results depend on the
machine, so a cached file is the reference of record. This module does not score candidates.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from adrs.jsonfile import cache_paths, read_json_matching, write_json_atomic

from .exact import SOLVER_NAME, SOLVER_VERSION, solve_exact
from .generator import GENERATOR_VERSION, Instance, SetSpec, set_fingerprint
from .heuristics import iterated_local_search, mdd_order
from .tardiness import total_tardiness

REFERENCE_METHOD = (f"{SOLVER_NAME} v{SOLVER_VERSION} from best(EDD,MDD)+ILS(insertion+interchange, "
                    f"3 random moves); best-known + lower bound when not proven in the time limit")
REFERENCE_VERSION = 2
ILS_ITERATIONS = 200
REFERENCE_TIME_LIMIT_S = 60.0
STATUSES = ("optimal", "best_known")

log = logging.getLogger(__name__)


class HasJobs(Protocol):
    """Anything with processing times ``p`` and due dates ``d`` (generated or published instances)."""

    p: np.ndarray
    d: np.ndarray


@dataclass(frozen=True)
class Reference:
    """Reference of one instance: ``value`` is optimal when ``status == "optimal"``; otherwise it
    is the best known total tardiness and ``lower_bound`` what the solver proved."""

    value: int
    status: str
    lower_bound: int
    solver: str
    seconds: float

    @property
    def optimal(self) -> bool:
        return self.status == "optimal"

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "status": self.status, "lower_bound": self.lower_bound,
                "solver": self.solver, "seconds": round(self.seconds, 3)}

    @classmethod
    def from_dict(cls, raw: Any) -> Reference | None:
        """The record stored in a cache file, or None if it is malformed."""
        if not isinstance(raw, dict):
            return None
        value, bound = raw.get("value"), raw.get("lower_bound")
        ints = all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (value, bound))
        if (not ints or raw.get("status") not in STATUSES or bound > value
                or (raw.get("status") == "optimal" and bound != value)
                or not isinstance(raw.get("solver"), str)
                or not isinstance(raw.get("seconds"), int | float)):
            return None
        return cls(value=value, status=raw["status"], lower_bound=bound, solver=raw["solver"],
                   seconds=float(raw["seconds"]))


def reference_order(instance: HasJobs) -> tuple[np.ndarray, int]:
    """Best job order the reference heuristic finds for ``instance`` and its total tardiness."""
    p, d = np.asarray(instance.p, dtype=np.int64), np.asarray(instance.d, dtype=np.int64)
    starts = [np.argsort(d, kind="stable"), mdd_order(p, d)]
    start = min(starts, key=lambda order: total_tardiness(p, d, order))
    seed = int(_fingerprint(p, d)[:16], 16)
    return iterated_local_search(p, d, start, ILS_ITERATIONS, np.random.default_rng(seed))


def _fingerprint(p: np.ndarray, d: np.ndarray) -> str:
    return Instance(p=p, d=d, tf=0.0, rdd=0.0).fingerprint()


def reference_for(instance: HasJobs, time_limit_s: float = REFERENCE_TIME_LIMIT_S) -> Reference:
    """Reference of one instance: the exact solver's optimum, or best-known + lower bound."""
    started = time.perf_counter()
    order, _ = reference_order(instance)
    remaining = max(0.0, time_limit_s - (time.perf_counter() - started))
    result = solve_exact(instance.p, instance.d, time_limit_s=remaining, upper_order=order)
    return Reference(value=result.value, status=result.status, lower_bound=result.lower_bound,
                     solver=f"{SOLVER_NAME} v{SOLVER_VERSION}",
                     seconds=time.perf_counter() - started)


def references_for(instances: Sequence[HasJobs], time_limit_s: float = REFERENCE_TIME_LIMIT_S
                   ) -> list[Reference]:
    """``reference_for`` of every instance, in order (one core, ``time_limit_s`` each)."""
    return [reference_for(instance, time_limit_s) for instance in instances]


def compute_references(instances: Sequence[HasJobs]) -> list[Reference]:
    return references_for(instances, REFERENCE_TIME_LIMIT_S)


def user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/adrs/smtt`` (default ``~/.cache/adrs/smtt``)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "adrs" / "smtt"


def cache_header(split: str, spec: SetSpec, instances: Sequence[Instance]) -> dict[str, Any]:
    """Everything a cached file must match to be reused."""
    return {
        "split": split,
        "generator_version": GENERATOR_VERSION,
        "spec": spec.to_dict(),
        "instances_sha256": set_fingerprint(instances),
        "reference_method": REFERENCE_METHOD,
        "reference_version": REFERENCE_VERSION,
    }


def read_cached_records(path: Path, header: dict[str, Any], count: int) -> list[Reference] | None:
    """The reference records stored in ``path`` if its header matches exactly, else None."""
    stored = read_json_matching(path, header)
    if stored is None:
        return None
    values, details = stored.get("references"), stored.get("details")
    if not isinstance(values, list) or not isinstance(details, list) or len(details) != count:
        return None
    records = [Reference.from_dict(item) for item in details]
    if any(r is None for r in records) or values != [r.value for r in records]:
        return None
    return records


def read_cached(path: Path, header: dict[str, Any], count: int) -> list[int] | None:
    """The reference values stored in ``path`` if its header matches exactly, else None."""
    records = read_cached_records(path, header, count)
    return None if records is None else [r.value for r in records]


def write_cache(path: Path, header: dict[str, Any], records: Sequence[Reference],
                compute_s: float) -> bool:
    """Write atomically (temporary file + rename); False if the folder is not writable."""
    payload = {**header, "compute_s": round(compute_s, 2),
               "optimal": sum(r.optimal for r in records),
               "references": [int(r.value) for r in records],
               "details": [r.to_dict() for r in records]}
    return write_json_atomic(path, payload)


def load_reference_records(split: str, spec: SetSpec, instances: Sequence[Instance],
                           cache_dirs: Sequence[Path]) -> list[Reference]:
    """References of a split (value, status, lower bound, solver, seconds): the first matching
    cache file, else computed and written to the first writable cache folder."""
    header = cache_header(split, spec, instances)
    paths = cache_paths(split, header["instances_sha256"], cache_dirs)
    for path in paths:
        records = read_cached_records(path, header, len(instances))
        if records is not None:
            return records
    started = time.perf_counter()
    records = compute_references(instances)
    elapsed = time.perf_counter() - started
    log.info("computed SMTT references for %s (%d instances, %d proven optimal) in %.1f s",
             split, len(instances), sum(r.optimal for r in records), elapsed)
    for path in paths:
        if write_cache(path, header, records, elapsed):
            break
    return records


def load_references(split: str, spec: SetSpec, instances: Sequence[Instance],
                    cache_dirs: Sequence[Path]) -> list[int]:
    """Reference values of a split (see ``load_reference_records`` for statuses and bounds)."""
    return [r.value for r in load_reference_records(split, spec, instances, cache_dirs)]
