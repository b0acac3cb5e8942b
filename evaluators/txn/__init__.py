"""Evaluator for transaction scheduling (minimise makespan): ``make_evaluator`` and ``bench``.

See ``txn_sim`` for the model and the simulator (also handed to candidates), ``workloads`` for the
generators, ``validate`` for what a valid answer is, ``bounds`` for the lower bound and the exact
optimum of small batches, ``reference`` for the cached SMF references, ``evaluator`` for the metrics
and ``bench`` for ``adrs bench txn``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .bench import bench
from .evaluator import TxnEvaluator, parse_settings
from .reference import user_cache_dir

__all__ = ["TxnEvaluator", "bench", "make_evaluator"]


def make_evaluator(instances: Mapping[str, Any], problem_root: Path) -> TxnEvaluator:
    """Build the evaluator from problem.yaml's ``instances:`` mapping (splits, budget, smf_seeds).

    References are cached in ``<problem_root>/data/`` and, if that is not writable, in the user cache.
    """
    return TxnEvaluator(parse_settings(instances), cache_dirs=[Path(problem_root) / "data", user_cache_dir()])
