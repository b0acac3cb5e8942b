"""Transaction workloads from a JSON file (the layout of the published ADRS benchmark): read, write.

Layout (``adrs bench txn --data FILE``)::

    {"workloads": [
        {"name": "WORKLOAD_1", "txns": {"txn0": "w-17 r-5 * w-3", "txn1": "r-17 w-10", ...}},
        ...
    ]}

Each transaction is a string of space-separated operations: ``r-KEY`` (read), ``w-KEY`` (write),
``*`` (a filler that conflicts with nothing); keys are non-negative integers. ``txns`` is an object
(its values in file order, as the published ``Workload`` reads them) or a list of strings. The
published benchmark keeps each workload as such an object, JSON-encoded in a Python string
(``WORKLOAD_1`` ... in its ``workloads.py``); problems/txn/README.md shows how to export them.
Errors name the workload, the transaction and the operation. This module does not score anything.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .txn_sim import FILLER, KIND_NAMES, READ, WRITE
from .workloads import Batch, batch_from_txns

_KINDS = {"r": READ, "w": WRITE}


class WorkloadFileError(ValueError):
    """A workload file that does not follow the layout (the message says where)."""


def parse_transaction(text: Any, where: str) -> list[tuple[int, int]]:
    """``"r-5 w-3 *"`` -> [(READ, 5), (WRITE, 3), (FILLER, -1)]."""
    if not isinstance(text, str) or not text.split():
        raise WorkloadFileError(f"{where}: expected a non-empty string of operations such as "
                                f"\"r-5 w-3 *\", got {text!r}")
    ops = []
    for op in text.split():
        if op == "*":
            ops.append((FILLER, -1))
            continue
        kind, sep, key = op.partition("-")
        if not sep or kind not in _KINDS or not key.isdigit():
            raise WorkloadFileError(f"{where}: operation {op!r} is not r-KEY, w-KEY or * "
                                    f"(KEY a non-negative integer)")
        ops.append((_KINDS[kind], int(key)))
    return ops


def parse_workloads(raw: Any, where: str = "workload file") -> list[Batch]:
    """The workloads of a decoded file, as batches whose family is the workload's name."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("workloads"), list) or not raw["workloads"]:
        raise WorkloadFileError(f"{where}: expected an object with a non-empty list 'workloads' of "
                                f"{{\"name\": ..., \"txns\": {{\"txn0\": \"r-1 w-2\", ...}}}}")
    batches, names = [], set()
    for i, item in enumerate(raw["workloads"]):
        at = f"{where}: workloads[{i}]"
        if not isinstance(item, Mapping) or "txns" not in item:
            raise WorkloadFileError(f"{at}: expected an object with 'name' and 'txns'")
        name = str(item.get("name", f"workload {i}"))
        if name in names:
            raise WorkloadFileError(f"{at}: duplicate name {name!r}")
        names.add(name)
        txns = item["txns"]
        if isinstance(txns, Mapping):
            labelled = [(str(k), v) for k, v in txns.items()]
        elif isinstance(txns, Sequence) and not isinstance(txns, str):
            labelled = [(str(j), v) for j, v in enumerate(txns)]
        else:
            raise WorkloadFileError(f"{at} ({name}): 'txns' must be an object or a list of strings")
        if len(labelled) < 2:
            raise WorkloadFileError(f"{at} ({name}): needs at least 2 transactions")
        batches.append(batch_from_txns(name, [parse_transaction(v, f"{at} ({name}), txn {k}")
                                              for k, v in labelled]))
    return batches


def read_workload_file(path: Path) -> list[Batch]:
    try:
        raw = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise WorkloadFileError(f"{path}: cannot read a JSON workload file: {err}") from None
    return parse_workloads(raw, str(path))


def transaction_text(batch: Batch, j: int) -> str:
    ops = []
    for i in range(int(batch.offsets[j]), int(batch.offsets[j + 1])):
        kind = int(batch.kinds[i])
        ops.append("*" if kind == FILLER else f"{KIND_NAMES[kind]}-{int(batch.keys[i])}")
    return " ".join(ops)


def workloads_document(batches: Sequence[Batch]) -> dict[str, Any]:
    """The file content for ``batches`` (names from their family)."""
    return {"workloads": [{"name": b.family, "txns": {f"txn{j}": transaction_text(b, j) for j in range(b.n)}}
                          for b in batches]}


def write_workload_file(path: Path, batches: Sequence[Batch]) -> None:
    Path(path).write_text(json.dumps(workloads_document(batches), indent=1) + "\n")
