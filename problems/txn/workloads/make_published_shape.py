"""Write ``published_shape.json``: three workloads of 100 transactions in the layout and the shape of
the published ADRS transaction-scheduling benchmark (our own random draws, not its data).

- ``dense``: 16 operations per transaction on distinct keys: keys 1-4 in every transaction, 12
  more Zipf-like over 5..6000; every key has a preferred position, so the hot keys sit at similar
  places in every transaction; 45 % reads.
- ``pairs``: 50 of ``r-a r-b w-b`` + 18 fillers (a in 1..4, b in 10..50) and 50 of
  ``r-a w-a r-b w-b *``.
- ``rxw``: ``r-x``, 7 fillers, ``w-y`` with x, y in 1..10.

Run from the repository root: ``python problems/txn/workloads/make_published_shape.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from evaluators.txn.txn_sim import FILLER, READ, WRITE  # noqa: E402
from evaluators.txn.workload_file import write_workload_file  # noqa: E402
from evaluators.txn.workloads import batch_from_txns  # noqa: E402

SEED = 2026


def dense(rng: np.random.Generator) -> list:
    keys = np.arange(5, 6001)
    weights = 1.0 / (keys - 3.0) ** 1.2
    weights /= weights.sum()
    preferred = rng.uniform(0.0, 16.0, size=6001)
    txns = []
    for _ in range(100):
        chosen = np.concatenate([[1, 2, 3, 4], rng.choice(keys, size=12, replace=False, p=weights)])
        chosen = chosen[np.argsort(preferred[chosen] + rng.normal(0.0, 2.0, size=16))]
        txns.append([(READ if rng.random() < 0.45 else WRITE, int(k)) for k in chosen])
    return txns


def pairs(rng: np.random.Generator) -> list:
    txns = []
    for i in range(100):
        a, b = int(rng.integers(1, 5)), int(rng.integers(10, 51))
        if i < 50:
            txns.append([(READ, a), (READ, b), (WRITE, b)] + [(FILLER, -1)] * 18)
        else:
            txns.append([(READ, a), (WRITE, a), (READ, b), (WRITE, b), (FILLER, -1)])
    return txns


def rxw(rng: np.random.Generator) -> list:
    return [[(READ, int(rng.integers(1, 11)))] + [(FILLER, -1)] * 7 + [(WRITE, int(rng.integers(1, 11)))]
            for _ in range(100)]


def main() -> None:
    rng = np.random.default_rng(SEED)
    batches = [batch_from_txns(name, make(rng)) for name, make in (("dense", dense), ("pairs", pairs),
                                                                    ("rxw", rxw))]
    out = Path(__file__).with_name("published_shape.json")
    write_workload_file(out, batches)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
