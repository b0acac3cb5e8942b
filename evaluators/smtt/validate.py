"""What a valid SMTT answer is: a job order, i.e. a permutation of 0..n-1 given as integers.

The checks and their LLM-readable messages live in ``adrs.permutation`` (shared with other order
problems); this module names them for SMTT. It does not compute tardiness (see ``tardiness``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from adrs.permutation import InvalidPermutation, parse_permutation

InvalidSchedule = InvalidPermutation  # the answer is not a valid job order


def parse_schedule(output: Any, n: int) -> np.ndarray:
    """Return ``output`` as an int64 permutation of the n jobs, or raise InvalidSchedule."""
    return parse_permutation(output, n, noun="job")
