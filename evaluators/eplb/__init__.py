"""Evaluator for Mixture-of-Experts expert-parallel load balancing: ``make_evaluator`` and ``bench``.

See ``evaluator`` for the calls and metrics, ``trace`` for the load traces (generated or the
published JSON layout), ``placement`` for what a valid placement is, ``simulator`` for GPU loads and
balancedness, ``reference`` for the upper bound and the exact MIP optimum, ``bench`` for
``adrs bench eplb``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .bench import bench
from .evaluator import EPLBEvaluator, parse_instances

__all__ = ["EPLBEvaluator", "bench", "make_evaluator"]


def make_evaluator(instances: Mapping[str, Any], problem_root: Path) -> EPLBEvaluator:
    """Build the evaluator from problem.yaml's ``instances:`` mapping (cluster, scoring, splits).
    Traces are generated lazily, per split, on first use."""
    cluster, specs, scoring = parse_instances(instances, Path(problem_root))
    return EPLBEvaluator(cluster, specs, scoring)
