"""Reference total tardiness per instance, computed once per instance set and cached as JSON.

The reference is a strong heuristic, not a proven optimum: the better of EDD and MDD, then an
iterated local search over insertion and interchange moves with a fixed, seeded iteration budget (on
the published instances with known optima it is 0.02% (n=100) / 0.07% (n=200) above the optimum on
average, MDD alone 1.8% / 2.0%).
A cache file records the generator version and spec, the method name and version, and a sha256 of
the instances; any mismatch means recompute. This module does not score candidates.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .generator import GENERATOR_VERSION, Instance, SetSpec, set_fingerprint
from .heuristics import iterated_local_search, mdd_order
from .tardiness import total_tardiness

REFERENCE_METHOD = "best(EDD,MDD)+ILS(insertion+interchange, 3 random moves)"
REFERENCE_VERSION = 1
ILS_ITERATIONS = 200

log = logging.getLogger(__name__)


def reference_order(instance: Instance) -> tuple[np.ndarray, int]:
    """Best job order the reference heuristic finds for ``instance`` and its total tardiness."""
    p, d = instance.p, instance.d
    starts = [np.argsort(d, kind="stable"), mdd_order(p, d)]
    start = min(starts, key=lambda order: total_tardiness(p, d, order))
    rng = np.random.default_rng(int(instance.fingerprint()[:16], 16))
    return iterated_local_search(p, d, start, ILS_ITERATIONS, rng)


def compute_references(instances: Sequence[Instance]) -> list[int]:
    return [reference_order(instance)[1] for instance in instances]


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


def cache_paths(split: str, header: dict[str, Any], dirs: Sequence[Path]) -> list[Path]:
    """Candidate cache files: ``<dir>/<split>.json`` in the problem's data folder (the first
    directory); in the others the name also carries the instance hash, as they may be shared."""
    paths = []
    for index, folder in enumerate(dirs):
        name = f"{split}.json" if index == 0 else f"{split}-{header['instances_sha256'][:16]}.json"
        paths.append(Path(folder) / name)
    return paths


def read_cached(path: Path, header: dict[str, Any], count: int) -> list[int] | None:
    """The references stored in ``path`` if its header matches exactly, else None."""
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(stored, dict) or any(stored.get(k) != v for k, v in header.items()):
        return None
    values = stored.get("references")
    if (not isinstance(values, list) or len(values) != count
            or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values)):
        return None
    return values


def write_cache(path: Path, header: dict[str, Any], values: Sequence[int], compute_s: float) -> bool:
    """Write atomically (temporary file + rename); False if the folder is not writable."""
    payload = {**header, "compute_s": round(compute_s, 2), "references": [int(v) for v in values]}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as err:
        log.info("cannot write SMTT reference cache %s: %s", path, err)
        return False
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(payload, handle, indent=1)
            handle.write("\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        return True
    except OSError as err:
        log.info("cannot write SMTT reference cache %s: %s", path, err)
        Path(tmp).unlink(missing_ok=True)
        return False


def load_references(split: str, spec: SetSpec, instances: Sequence[Instance],
                    cache_dirs: Sequence[Path]) -> list[int]:
    """References of a split: the first matching cache file, else computed and written to the first
    writable cache folder."""
    header = cache_header(split, spec, instances)
    paths = cache_paths(split, header, cache_dirs)
    for path in paths:
        values = read_cached(path, header, len(instances))
        if values is not None:
            return values
    started = time.perf_counter()
    values = compute_references(instances)
    elapsed = time.perf_counter() - started
    log.info("computed SMTT references for %s (%d instances) in %.1f s",
             split, len(instances), elapsed)
    for path in paths:
        if write_cache(path, header, values, elapsed):
            break
    return values
