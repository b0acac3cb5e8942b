"""Check that a candidate's return value is a job order: a permutation of 0..n-1 given as integers.

Accepted: a 1-D numpy array of an integer dtype, or a list/tuple of Python or numpy integers.
Rejected with a reason an LLM can act on: anything else (None, dicts, strings, scalars, bools,
floats even when integral, NaN/inf, nested sequences, wrong length, negative or out-of-range
indices, repeated or missing jobs). This module does not compute tardiness (see ``tardiness``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

_SHOWN = 5  # how many offending items a message lists


class InvalidSchedule(ValueError):
    """The return value is not a valid job order; ``str(err)`` says what is wrong."""


def parse_schedule(output: Any, n: int) -> np.ndarray:
    """Return ``output`` as an int64 permutation of 0..n-1, or raise InvalidSchedule."""
    if isinstance(output, np.ndarray):
        values = _array_values(output, n)
    elif isinstance(output, list | tuple):
        _check_length(len(output), n)
        values = _list_values(output, n)
    else:
        raise InvalidSchedule(f"returned {_describe(output)}; expected a sequence of {n} job "
                              f"indices (a permutation of 0..{n - 1}), e.g. a list or int array")
    _check_permutation(values, n)
    return values


def _array_values(array: np.ndarray, n: int) -> np.ndarray:
    if array.ndim != 1:
        raise InvalidSchedule(f"returned a {array.ndim}-D array of shape {array.shape}; "
                              f"expected a 1-D sequence of {n} job indices")
    kind = array.dtype.kind
    if kind == "O":
        _check_length(len(array), n)
        return _list_values(array.tolist(), n)
    if kind == "b":
        raise InvalidSchedule("returned a boolean array; expected integer job indices")
    if kind in "fc":
        hint = " (it contains NaN or inf)" if not np.all(np.isfinite(array)) else ""
        raise InvalidSchedule(f"returned a {array.dtype} array{hint}; job indices must be "
                              f"integers (use an integer dtype, e.g. np.argsort(...) or "
                              f".astype(np.int64))")
    if kind not in "iu":
        raise InvalidSchedule(f"returned an array of dtype {array.dtype}; expected integer "
                              f"job indices")
    _check_length(len(array), n)
    negative = np.flatnonzero(array < 0) if kind == "i" else np.empty(0, dtype=np.int64)
    if negative.size:
        _raise_negative([(int(i), int(array[i])) for i in negative[:_SHOWN]], negative.size, n)
    too_big = np.flatnonzero(array >= n)
    if too_big.size:
        _raise_too_big([(int(i), int(array[i])) for i in too_big[:_SHOWN]], too_big.size, n)
    return array.astype(np.int64)


def _list_values(items: list[Any] | tuple[Any, ...], n: int) -> np.ndarray:
    for position, item in enumerate(items):
        if isinstance(item, bool | np.bool_) or not isinstance(item, int | np.integer):
            raise InvalidSchedule(f"element {position} is {_describe(item)}; every element must "
                                  f"be an integer job index in 0..{n - 1}")
    negative = [(i, int(v)) for i, v in enumerate(items) if v < 0]
    if negative:
        _raise_negative(negative[:_SHOWN], len(negative), n)
    too_big = [(i, int(v)) for i, v in enumerate(items) if v >= n]
    if too_big:
        _raise_too_big(too_big[:_SHOWN], len(too_big), n)
    return np.array([int(v) for v in items], dtype=np.int64)


def _check_length(length: int, n: int) -> None:
    if length != n:
        raise InvalidSchedule(f"returned {length} job indices for {n} jobs; every job must appear "
                              f"exactly once")


def _raise_negative(shown: list[tuple[int, int]], count: int, n: int) -> None:
    listed = ", ".join(f"{v} at position {i}" for i, v in shown)
    raise InvalidSchedule(f"{count} negative job index(es) ({listed}); indices must be in "
                          f"0..{n - 1} (negative indices are not allowed)")


def _raise_too_big(shown: list[tuple[int, int]], count: int, n: int) -> None:
    listed = ", ".join(f"{v} at position {i}" for i, v in shown)
    raise InvalidSchedule(f"{count} job index(es) out of range ({listed}); indices must be in "
                          f"0..{n - 1}")


def _check_permutation(values: np.ndarray, n: int) -> None:
    counts = np.bincount(values, minlength=n)
    if np.all(counts == 1):
        return
    repeated = np.flatnonzero(counts > 1)
    missing = np.flatnonzero(counts == 0)
    parts = []
    for job in repeated[:_SHOWN]:
        positions = np.flatnonzero(values == job)[:_SHOWN].tolist()
        parts.append(f"job {job} appears {counts[job]} times (positions {positions})")
    if len(repeated) > _SHOWN:
        parts.append(f"{len(repeated) - _SHOWN} more jobs repeated")
    shown_missing = ", ".join(str(j) for j in missing[:_SHOWN])
    more = f" and {len(missing) - _SHOWN} more" if len(missing) > _SHOWN else ""
    parts.append(f"missing job(s) {shown_missing}{more}")
    raise InvalidSchedule("not a permutation: " + "; ".join(parts)
                          + f"; every job 0..{n - 1} must appear exactly once")


def _describe(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, bool | np.bool_):
        return f"the boolean {bool(value)}"
    if isinstance(value, float | np.floating):
        return f"the float {float(value)!r}"
    if isinstance(value, int | np.integer):
        return f"the single integer {int(value)}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {shown!r}"
    if isinstance(value, dict):
        keys = ", ".join(repr(k) for k in list(value)[:_SHOWN])
        return f"a dict (keys {keys})" if value else "an empty dict"
    if isinstance(value, list | tuple):
        return f"a nested {type(value).__name__} of length {len(value)}"
    if isinstance(value, np.ndarray):
        return f"a nested array of shape {value.shape}"
    return f"a value of type {type(value).__name__}"
