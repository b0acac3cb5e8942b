"""SMTT soak seed (benchmarks/soak.py): earliest-due-date order; only the rule evolves.

Why not the smtt seed: its EVOLVE-BLOCK holds ``improve`` with the loop counts ``passes`` and
``window``, which the offline mutator's named-constant edits raise (jumps up to 200) and selection
keeps (more local search, lower tardiness): over a campaign a candidate's sandbox time grows from
about 0.1 s to the 2 s cap. Here the block holds ``priority`` and an ``improve`` without loops, and
``schedule`` below is fixed: it calls ``priority`` once per instance (a static rule: t = 0) and
sorts. The rule itself would still grow: crossover (graft) copies subexpressions past the
mutator's size limit, and in a 5,000-candidate soak the median rule went from 9 to 137 expression
nodes, the mutator's time per proposal from 3.7 to 13 ms (it runs on the driver's loop). So
``schedule`` refuses a rule whose bytecode exceeds ``MAX_RULE_BYTES`` (about 20 nodes; status
error, cheap): a parsimony limit outside the block, which the mutator cannot edit. Then a
candidate costs the same all campaign long, and a falling candidates/s means the driver slowed.
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


MAX_RULE_BYTES = 128  # parsimony limit on priority's bytecode (see the module docstring)


def schedule(p, d):
    """Job order (array of indices into p and d) for one machine, minimising total tardiness."""
    size = len(priority.__code__.co_code)
    if size > MAX_RULE_BYTES:
        raise ValueError(f"priority() compiles to {size} bytes of bytecode, over the soak's limit of "
                         f"{MAX_RULE_BYTES}: write a shorter rule")
    p = np.asarray(p, dtype=float)
    d = np.asarray(d, dtype=float)
    key = np.asarray(priority(p, d, 0.0, float(p.sum())), dtype=float)
    seq = np.argsort(np.broadcast_to(key, p.shape), kind="stable").tolist()
    return np.asarray(improve(p, d, seq), dtype=np.int64)
