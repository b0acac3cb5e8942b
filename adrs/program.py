"""Plain values passed along the pipeline: a Candidate (not yet evaluated) and a ProgramView
(an immutable snapshot of a stored program row, as selection, prompts and proposers see it)."""

from __future__ import annotations

from dataclasses import dataclass, field

EVOLVE_START = "# EVOLVE-BLOCK-START"  # the evolvable code of a program lies between these lines
EVOLVE_END = "# EVOLVE-BLOCK-END"


@dataclass(frozen=True)
class Candidate:
    """A program produced by a proposer and a patch, waiting for evaluation."""

    code: str
    parent_id: int | None
    diff: str = ""  # unified diff against the parent (empty for the seed)
    kind: str = "seed"  # "seed" | "diff" | "rewrite" | "mutation" | "fix" ...


@dataclass(frozen=True)
class ProgramView:
    """What selection hands to prompt rendering and proposers. Private metrics are not included."""

    id: int
    code: str
    status: str
    score: float | None
    metrics: dict[str, float] = field(default_factory=dict)
    feedback: str = ""
    generation: int = 0
    island: int = 0
    seq: int = 0  # candidate number in the run (0 = seed)
    parent_id: int | None = None
