"""The search-oriented operators of the offline mutator: one edit per proposal, named tunables
(``window = 0``) get their own chance and can jump far, and parameters a function never reads get
used. Measured on the SMTT seed, whose dispatch rule reads only ``d`` and whose improvement pass is
switched off by two named constants."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import yaml

from adrs.program import ProgramView
from adrs.prompt import Prompt
from adrs.proposer.edits import JUMP_LIMIT, step_int
from adrs.proposer.mutator import EDIT_COUNT_WEIGHTS, MutatorProposer

SMTT = Path(__file__).resolve().parents[2] / "problems" / "smtt"


def mutants(count: int) -> list[tuple[str, str]]:
    seed = (SMTT / "seed.py").read_text()
    vocabulary = yaml.safe_load((SMTT / "problem.yaml").read_text())["mutator"]
    mutator = MutatorProposer(vocabulary)
    parent = ProgramView(id=1, code=seed, status="ok", score=1.0)
    out = []
    for s in range(count):
        proposal = mutator.mutate(Prompt("mutation", parent, (), seed=s))
        out.append((proposal.note, proposal.text))
    return out


def test_one_edit_per_proposal():
    """A child differs from its parent by one edit, so a kept child never carries a neutral edit
    along (e.g. one that breaks code the parent does not run yet)."""
    assert EDIT_COUNT_WEIGHTS[0] == 1.0
    assert all(";" not in note for note, _ in mutants(60))


def test_named_tunables_change_often_and_sometimes_far():
    found = mutants(300)
    window = [text for _, text in found if "    window = 0\n" not in text]
    passes = [text for _, text in found if "    passes = 0\n" not in text]
    assert len(window) >= 15 and len(passes) >= 15  # 5 % each; ~1 % without the param operator
    values = [int(t.split("    window = ")[1].split("\n")[0]) for t in window]
    assert max(values) >= 20  # a far jump, not only +-1..5
    rng = random.Random(0)
    jumps = [step_int(0, rng) for _ in range(2000)]
    assert max(jumps) <= JUMP_LIMIT and sum(v >= 20 for v in jumps) > 100


def test_parameters_the_function_does_not_read_get_used():
    """priority(p, d, t, remaining) reads only d: the 'use' operator brings in p, t or remaining,
    the ingredients of the modified due date rule max(p, d - t)."""
    used = Counter()
    for note, text in mutants(300):
        if note.startswith("use "):
            name = note.split(":")[0].split()[1]
            used[name] += 1
            body = text.split("def priority")[1].split("def total_tardiness")[0]
            assert name in body.split("    return ")[-1]  # the dispatch key now reads it
    assert set(used) == {"p", "t", "remaining"}
    assert sum(used.values()) >= 20
