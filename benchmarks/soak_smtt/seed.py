"""SMTT soak seed (benchmarks/soak.py): earliest-due-date order; only the rule evolves.

Why not the smtt seed: its EVOLVE-BLOCK holds ``improve`` with the loop counts ``passes`` and
``window``, which the offline mutator's named-constant edits raise (jumps up to 200) and selection
keeps (more local search, lower tardiness): over a campaign a candidate's sandbox time grows from
about 0.1 s to the 2 s cap. Here the block holds ``priority`` and an ``improve`` without loops, and
``schedule`` below is fixed: it calls ``priority`` once per instance (a static rule: t = 0) and
sorts. Crossover lets the rule's expression grow past the mutator's size limit (bloat), so a
dispatch loop calling it n times per instance would still slow down over the campaign; one call
per instance keeps a candidate's cost the same however big the rule gets, and a falling
candidates/s then means the driver slowed down.
"""

import numpy as np

# EVOLVE-BLOCK-START


def priority(p, d, t, remaining):
    """Sort key of each job (smallest first); t: start time (0), remaining: total processing time."""
    return d


def improve(p, d, seq):
    """The dispatched order, unchanged (no improvement pass in the soak)."""
    return seq


# EVOLVE-BLOCK-END


def schedule(p, d):
    """Job order (array of indices into p and d) for one machine, minimising total tardiness."""
    p = np.asarray(p, dtype=float)
    d = np.asarray(d, dtype=float)
    key = np.asarray(priority(p, d, 0.0, float(p.sum())), dtype=float)
    seq = np.argsort(np.broadcast_to(key, p.shape), kind="stable").tolist()
    return np.asarray(improve(p, d, seq), dtype=np.int64)
