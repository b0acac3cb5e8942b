"""Check that a candidate's return value is a transaction order: a permutation of 0..n-1.

Accepted: a list or tuple of Python / numpy integers, or a 1-D integer numpy array. Rejected with a
reason an LLM can act on: anything else (None, a dict such as {"order": ..., "makespan": ...}, a
number such as a self-reported makespan, strings, booleans, floats even when integral, nested
sequences), an empty or short list, out-of-range, repeated or missing indices. This module does not
simulate anything (see ``txn_sim``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

_SHOWN = 5


class InvalidOrder(ValueError):
    """The return value is not a valid order; ``str(err)`` says what is wrong."""


def parse_order(output: Any, n: int) -> list[int]:
    """Return ``output`` as a list of ints forming a permutation of 0..n-1, or raise InvalidOrder."""
    if isinstance(output, np.ndarray):
        if output.ndim != 1:
            raise InvalidOrder(f"returned a {output.ndim}-D array; expected a 1-D order of {n} "
                               f"transaction indices")
        if output.dtype.kind not in "iuO":
            raise InvalidOrder(f"returned an array of dtype {output.dtype}; transaction indices "
                               f"must be integers")
        items = output.tolist()
    elif isinstance(output, list | tuple):
        items = list(output)
    else:
        raise InvalidOrder(f"returned {_describe(output)}; expected a list of the {n} transaction "
                           f"indices in execution order (a permutation of 0..{n - 1}); the "
                           f"evaluator computes the makespan itself")
    if len(items) != n:
        what = "an empty list" if not items else f"{len(items)} indices"
        raise InvalidOrder(f"returned {what} for {n} transactions; every transaction must appear "
                           f"exactly once")
    for position, item in enumerate(items):
        if isinstance(item, bool | np.bool_) or not isinstance(item, int | np.integer):
            raise InvalidOrder(f"element {position} is {_describe(item)}; every element must be an "
                               f"integer transaction index in 0..{n - 1}")
    values = [int(v) for v in items]
    bad = [(i, v) for i, v in enumerate(values) if not 0 <= v < n]
    if bad:
        listed = ", ".join(f"{v} at position {i}" for i, v in bad[:_SHOWN])
        raise InvalidOrder(f"{len(bad)} index(es) out of range ({listed}); indices must be in 0..{n - 1}")
    counts = np.bincount(np.asarray(values, dtype=np.int64), minlength=n)
    if not np.all(counts == 1):
        repeated = np.flatnonzero(counts > 1)[:_SHOWN].tolist()
        missing = np.flatnonzero(counts == 0)
        more = f" and {len(missing) - _SHOWN} more" if len(missing) > _SHOWN else ""
        raise InvalidOrder(f"not a permutation: transaction(s) {repeated} repeated, "
                           f"{missing[:_SHOWN].tolist()}{more} missing; every transaction "
                           f"0..{n - 1} must appear exactly once")
    return values


def _describe(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, bool | np.bool_):
        return f"the boolean {bool(value)}"
    if isinstance(value, int | np.integer):
        return f"the single integer {int(value)}"
    if isinstance(value, float | np.floating):
        return f"the float {float(value)!r}"
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    if isinstance(value, dict):
        keys = ", ".join(repr(k) for k in list(value)[:_SHOWN])
        return f"a dict (keys {keys})" if value else "an empty dict"
    if isinstance(value, list | tuple):
        return f"a nested {type(value).__name__} of length {len(value)}"
    return f"a value of type {type(value).__name__}"
