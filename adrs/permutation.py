"""Validate that an answer is a permutation of 0..n-1 given as integers (job orders, schedules).

Accepted: a 1-D numpy array of an integer dtype, or a list/tuple of Python or numpy integers.
Rejected with a reason an LLM can act on: anything else (None, dicts, strings, scalars, bools,
floats even when integral, NaN/inf, nested sequences, wrong length, negative or out-of-range
indices, repeated or missing items). Shared by the evaluators whose answer is an order; this module
computes no objective.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_SHOWN = 5  # how many offending items a message lists


class InvalidPermutation(ValueError):
    """The return value is not a permutation of 0..n-1; ``str(err)`` says what is wrong."""


def parse_permutation(output: Any, n: int, noun: str = "job", hint: str = "") -> np.ndarray:
    """Return ``output`` as an int64 permutation of 0..n-1, or raise InvalidPermutation.

    ``noun`` names the items in messages ("job", "transaction"); ``hint`` is appended when the
    answer is not a sequence at all.
    """
    if isinstance(output, np.ndarray):
        values = _array_values(output, n, noun)
    elif isinstance(output, list | tuple):
        _check_length(len(output), n, noun, "an empty list")
        values = _list_values(output, n, noun)
    else:
        raise InvalidPermutation(f"returned {describe_value(output)}; expected a sequence of {n} "
                                 f"{noun} indices (a permutation of 0..{n - 1}), e.g. a list or int "
                                 f"array{hint}")
    _check_permutation(values, n, noun)
    return values


def _array_values(array: np.ndarray, n: int, noun: str) -> np.ndarray:
    if array.ndim != 1:
        raise InvalidPermutation(f"returned a {array.ndim}-D array of shape {array.shape}; "
                                 f"expected a 1-D sequence of {n} {noun} indices")
    kind = array.dtype.kind
    if kind == "O":
        _check_length(len(array), n, noun, "an empty array")
        return _list_values(array.tolist(), n, noun)
    if kind == "b":
        raise InvalidPermutation(f"returned a boolean array; expected integer {noun} indices")
    if kind in "fc":
        hint = " (it contains NaN or inf)" if not np.all(np.isfinite(array)) else ""
        raise InvalidPermutation(f"returned a {array.dtype} array{hint}; {noun} indices must be "
                                 f"integers (use an integer dtype, e.g. np.argsort(...) or "
                                 f".astype(np.int64))")
    if kind not in "iu":
        raise InvalidPermutation(f"returned an array of dtype {array.dtype}; expected integer "
                                 f"{noun} indices")
    _check_length(len(array), n, noun, "an empty array")
    negative = np.flatnonzero(array < 0) if kind == "i" else np.empty(0, dtype=np.int64)
    too_big = np.flatnonzero(array >= n)
    _check_range([(int(i), int(array[i])) for i in negative[:_SHOWN]], negative.size,
                 [(int(i), int(array[i])) for i in too_big[:_SHOWN]], too_big.size, n, noun)
    return array.astype(np.int64)


def _list_values(items: list[Any] | tuple[Any, ...], n: int, noun: str) -> np.ndarray:
    for position, item in enumerate(items):
        if isinstance(item, bool | np.bool_) or not isinstance(item, int | np.integer):
            raise InvalidPermutation(f"element {position} is {describe_value(item)}; every element "
                                     f"must be an integer {noun} index in 0..{n - 1}")
    negative = [(i, int(v)) for i, v in enumerate(items) if v < 0]
    too_big = [(i, int(v)) for i, v in enumerate(items) if v >= n]
    _check_range(negative[:_SHOWN], len(negative), too_big[:_SHOWN], len(too_big), n, noun)
    return np.array([int(v) for v in items], dtype=np.int64)


def _check_length(length: int, n: int, noun: str, empty: str) -> None:
    if length != n:
        got = empty if length == 0 else f"{length} {noun} indices"
        raise InvalidPermutation(f"returned {got} for {n} {noun}s; every {noun} must appear "
                                 f"exactly once")


def _check_range(negative: list[tuple[int, int]], negatives: int, too_big: list[tuple[int, int]],
                 too_bigs: int, n: int, noun: str) -> None:
    """Negative indices first (Python's wrap-around would silently mean another item)."""
    if negatives:
        listed = ", ".join(f"{v} at position {i}" for i, v in negative)
        raise InvalidPermutation(f"{negatives} negative {noun} index(es) out of range ({listed}); "
                                 f"indices must be in 0..{n - 1} (negative indices are not allowed)")
    if too_bigs:
        listed = ", ".join(f"{v} at position {i}" for i, v in too_big)
        raise InvalidPermutation(f"{too_bigs} {noun} index(es) out of range ({listed}); indices "
                                 f"must be in 0..{n - 1}")


def _check_permutation(values: np.ndarray, n: int, noun: str) -> None:
    counts = np.bincount(values, minlength=n)
    if np.all(counts == 1):
        return
    repeated = np.flatnonzero(counts > 1)
    missing = np.flatnonzero(counts == 0)
    parts = []
    for item in repeated[:_SHOWN]:
        positions = np.flatnonzero(values == item)[:_SHOWN].tolist()
        parts.append(f"{noun} {item} appears {counts[item]} times (positions {positions})")
    if len(repeated) > _SHOWN:
        parts.append(f"{len(repeated) - _SHOWN} more {noun}s repeated")
    shown_missing = ", ".join(str(j) for j in missing[:_SHOWN])
    more = f" and {len(missing) - _SHOWN} more" if len(missing) > _SHOWN else ""
    parts.append(f"missing {noun}(s) {shown_missing}{more}")
    raise InvalidPermutation("not a permutation: " + "; ".join(parts)
                             + f"; every {noun} 0..{n - 1} must appear exactly once")


def describe_value(value: Any) -> str:
    """A short phrase for an unexpected value, e.g. \"the float 3.0\" or \"a dict (keys 'a')\"."""
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
