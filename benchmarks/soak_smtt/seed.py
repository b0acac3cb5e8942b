"""SMTT soak seed (benchmarks/soak.py): earliest-due-date dispatching; only the rule evolves.

Why not the smtt seed: its EVOLVE-BLOCK holds ``improve`` with the loop counts ``passes`` and
``window``, which the offline mutator's named-constant edits raise (jumps up to 200) and selection
keeps (more local search, lower tardiness): over a campaign a candidate's sandbox time grows from
about 0.05 s to the 2 s cap. Here the block holds ``priority`` (one vectorised expression, which
the mutator grows to at most 24 nodes) and an ``improve`` without loops, and ``schedule`` below is
fixed: n dispatch steps per instance whatever the mutator does, so the cost of a candidate stays
the same and a falling candidates/s means the driver slowed down.
"""

import numpy as np

# EVOLVE-BLOCK-START


def priority(p, d, t, remaining):
    """Dispatch key of each unscheduled job at time t; the smallest key goes next."""
    return d


def improve(p, d, seq):
    """The dispatched order, unchanged (no improvement pass in the soak)."""
    return seq


# EVOLVE-BLOCK-END


def schedule(p, d):
    """Job order (array of indices into p and d) for one machine, minimising total tardiness."""
    p = np.asarray(p, dtype=float)
    d = np.asarray(d, dtype=float)
    unscheduled = np.arange(len(p))
    seq = []
    t = 0.0
    remaining = float(p.sum())
    while unscheduled.size:
        key = np.asarray(priority(p[unscheduled], d[unscheduled], t, remaining), dtype=float)
        k = int(np.argmin(np.broadcast_to(key, unscheduled.shape)))
        job = int(unscheduled[k])
        seq.append(job)
        t += p[job]
        remaining -= p[job]
        unscheduled = np.delete(unscheduled, k)
    return np.asarray(improve(p, d, seq), dtype=np.int64)
