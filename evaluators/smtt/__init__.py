"""Evaluator for single-machine total tardiness (1||sum Tj): ``make_evaluator`` for problem.yaml.

See ``evaluator`` for the metrics, ``generator`` for the instances, ``reference`` for the reference
values and their cache, ``validate`` for what a valid answer is. Exact methods: ``exact`` (Lawler
decomposition branch and bound, n = 100-200), ``dp`` (Held–Karp, n <= 20), ``mip`` (HiGHS),
``weighted`` (1||sum wjTj); ``instances_io`` reads published instance files.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .bench import bench
from .evaluator import SMTTEvaluator, parse_instance_specs, parse_max_call_s
from .reference import user_cache_dir

__all__ = ["SMTTEvaluator", "bench", "make_evaluator"]


def make_evaluator(instances: Mapping[str, Any], problem_root: Path) -> SMTTEvaluator:
    """Build the evaluator from problem.yaml's ``instances:`` mapping (the three splits, the
    per-instance time cap ``max_call_s`` and the ``bench`` options read by ``bench``).

    References are cached in ``<problem_root>/data/`` and, if that is not writable, in the user cache.
    """
    specs = parse_instance_specs(instances)
    return SMTTEvaluator(specs, cache_dirs=[Path(problem_root) / "data", user_cache_dir()],
                         max_call_s=parse_max_call_s(instances))
