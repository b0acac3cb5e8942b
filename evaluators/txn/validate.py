"""What a valid txn answer is: a transaction order, i.e. a permutation of 0..n-1 given as integers.

The checks and their LLM-readable messages live in ``adrs.permutation`` (shared with smtt); a dict
such as {"order": ..., "makespan": ...} or a self-reported makespan is rejected like any non-order.
This module does not simulate anything (see ``txn_sim``).
"""

from __future__ import annotations

from typing import Any

from adrs.permutation import InvalidPermutation, parse_permutation

InvalidOrder = InvalidPermutation  # the answer is not a valid transaction order


def parse_order(output: Any, n: int) -> list[int]:
    """Return ``output`` as a list of ints forming a permutation of 0..n-1, or raise InvalidOrder."""
    return parse_permutation(output, n, noun="transaction",
                             hint="; the evaluator computes the makespan itself").tolist()
