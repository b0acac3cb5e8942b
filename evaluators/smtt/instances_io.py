"""Readers for published tardiness instance files, with errors that name the file, instance and fault.

* JSON (the published unweighted sets): a list of ``{"p": [...], "d": [...], "opt": int}``; ``opt``
  is optional when ``require_opt`` is False.
* OR-Library weighted tardiness (wt40/wt50/wt100): whitespace-separated integers, per instance n
  processing times, n weights, n due dates; optimal/best-known values one integer per instance.

Accepted: non-empty instances of integers (JSON numbers without a fractional part), processing times
>= 1, weights >= 1, due dates >= 0 (``allow_negative_due_dates`` admits negative ones: the published
n=20 sets were generated without clamping), equal lengths. Everything else raises
``InstanceFileError``. This module reads files; it does not generate or solve instances.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


class InstanceFileError(ValueError):
    """An instance file is unreadable or malformed; the message names file, instance and problem."""


@dataclass(frozen=True)
class PublishedInstance:
    """One instance read from a file; ``w`` is None for unweighted sets, ``opt`` None if absent."""

    p: np.ndarray
    d: np.ndarray
    w: np.ndarray | None = None
    opt: int | None = None

    @property
    def n(self) -> int:
        return int(self.p.shape[0])


def _int_vector(values: Any, name: str, where: str, minimum: int | None) -> np.ndarray:
    if not isinstance(values, list):
        raise InstanceFileError(f"{where}: {name!r} must be a list of integers, "
                                f"got {type(values).__name__}")
    if not values:
        raise InstanceFileError(f"{where}: {name!r} is empty (an instance needs at least one job)")
    out = []
    for index, value in enumerate(values):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InstanceFileError(f"{where}: {name}[{index}] = {value!r} is not an integer")
        if isinstance(value, float):
            if not value.is_integer():
                raise InstanceFileError(f"{where}: {name}[{index}] = {value!r} is not an integer")
            value = int(value)
        if minimum is not None and value < minimum:
            kind = "negative" if value < 0 else f"below {minimum}"
            raise InstanceFileError(f"{where}: {name}[{index}] = {value} is {kind}; "
                                    f"{name} values must be >= {minimum}")
        out.append(value)
    return np.array(out, dtype=np.int64)


def check_instance(raw: Any, where: str, require_opt: bool = True,
                   allow_negative_due_dates: bool = False) -> PublishedInstance:
    """Validate one ``{"p", "d", ["w"], "opt"}`` mapping; ``where`` prefixes every error."""
    if not isinstance(raw, dict):
        raise InstanceFileError(f"{where}: expected an object with keys p, d, opt; "
                                f"got {type(raw).__name__}")
    required = ["p", "d"] + (["opt"] if require_opt else [])
    missing = [k for k in required if k not in raw]
    if missing:
        raise InstanceFileError(f"{where}: missing key(s) {', '.join(missing)}")
    p = _int_vector(raw["p"], "p", where, 1)
    d = _int_vector(raw["d"], "d", where, None if allow_negative_due_dates else 0)
    w = _int_vector(raw["w"], "w", where, 1) if "w" in raw else None
    lengths = {"p": len(p), "d": len(d)} | ({"w": len(w)} if w is not None else {})
    if len(set(lengths.values())) != 1:
        shown = ", ".join(f"{k} has {v}" for k, v in lengths.items())
        raise InstanceFileError(f"{where}: mismatched lengths ({shown} values)")
    opt = raw.get("opt")
    if opt is not None:
        if isinstance(opt, float) and opt.is_integer():
            opt = int(opt)
        if isinstance(opt, bool) or not isinstance(opt, int) or opt < 0:
            raise InstanceFileError(f"{where}: opt = {opt!r} must be a non-negative integer")
    for array in (p, d) + ((w,) if w is not None else ()):
        array.flags.writeable = False
    return PublishedInstance(p=p, d=d, w=w, opt=opt)


def read_json_instances(path: str | Path, require_opt: bool = True,
                        allow_negative_due_dates: bool = False) -> list[PublishedInstance]:
    """Read a published JSON instance list (see the module docstring)."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text())
    except OSError as err:
        raise InstanceFileError(f"{path}: cannot read: {err.strerror or err}") from err
    except ValueError as err:
        raise InstanceFileError(f"{path}: not valid JSON: {err}") from err
    if not isinstance(raw, list):
        raise InstanceFileError(f"{path}: expected a JSON list of instances, "
                                f"got {type(raw).__name__}")
    if not raw:
        raise InstanceFileError(f"{path}: the file holds no instances")
    return [check_instance(item, f"{path}: instance {index}", require_opt, allow_negative_due_dates)
            for index, item in enumerate(raw)]


def _read_integers(path: Path) -> list[int]:
    try:
        text = path.read_text()
    except OSError as err:
        raise InstanceFileError(f"{path}: cannot read: {err.strerror or err}") from err
    values = []
    for number, token in enumerate(text.split()):
        try:
            values.append(int(token))
        except ValueError:
            raise InstanceFileError(f"{path}: token {number} ({token!r}) is not an integer") from None
    return values


def read_orlib_weighted(path: str | Path, n: int, values_path: str | Path | None = None
                        ) -> list[PublishedInstance]:
    """Read an OR-Library weighted tardiness file of ``n``-job instances (and optional values file)."""
    path = Path(path)
    if n < 1:
        raise InstanceFileError(f"{path}: n must be >= 1, got {n}")
    numbers = _read_integers(path)
    if not numbers:
        raise InstanceFileError(f"{path}: the file holds no instances")
    if len(numbers) % (3 * n):
        raise InstanceFileError(f"{path}: {len(numbers)} integers is not a multiple of 3*n = {3 * n} "
                                f"(n processing times, n weights, n due dates per instance)")
    count = len(numbers) // (3 * n)
    opts: Sequence[int | None] = [None] * count
    if values_path is not None:
        values_path = Path(values_path)
        opts = _read_integers(values_path)
        if len(opts) != count:
            raise InstanceFileError(f"{values_path}: {len(opts)} values for the {count} instances "
                                    f"of {path}")
    out = []
    for index in range(count):
        block = numbers[3 * n * index: 3 * n * (index + 1)]
        raw = {"p": block[:n], "w": block[n:2 * n], "d": block[2 * n:], "opt": opts[index]}
        out.append(check_instance(raw, f"{path}: instance {index}", require_opt=False))
    return out
