"""Planning one candidate: a frozen Plan (who is the parent, which kind of change, with what).

``IslandPlanner`` is the default population strategy: island selection (``adrs.selection``), then,
for proposers that are asked with prompt templates, the template draw with its fallbacks: "fix"
takes a recent failed program of the island as the parent (else "diff"), "crossover" a second
parent (else "diff"). Everything is drawn from the candidate's own RNG, seeded by the run's seed and
``seq``, in a fixed order, so the same visible programs always give the same plan. Every strategy
(``adrs.strategy``) plans through its index (``new_index``), kept up to date as programs become
visible, with the draws ``plan_scanning`` makes over every visible program; a different planner is
another ``Planner``. Pure: no I/O, no proposer calls.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from adrs.config import EvolutionConfig
from adrs.control_index import BestOfNIndex, RestartIndex
from adrs.island_index import IslandIndex
from adrs.map_elites_index import MapElitesIndex
from adrs.pareto import FrontObjective
from adrs.program import ProgramView
from adrs.program_index import ProgramIndex
from adrs.selection import Fitness, recent_failure, select_mate
from adrs.strategy import choose

if TYPE_CHECKING:
    from adrs.prompt import Prompt

SEED_SEQ = 0


@dataclass(frozen=True)
class Plan:
    """What candidate ``seq`` is made from. The seed's plan has no parent."""

    seq: int
    island: int
    kind: str  # "seed", "mutation" (no templates) or a template: "diff", "rewrite", "fix", ...
    parent: ProgramView | None
    mate: ProgramView | None = None  # the second parent of a crossover
    inspirations: tuple[ProgramView, ...] = ()
    seed: int = 0  # the proposer's per-candidate seed

    def prompt(self) -> Prompt:
        """The (unrendered) prompt a proposer receives for this plan."""
        from adrs.prompt import Prompt

        assert self.parent is not None, "the seed is not proposed"
        return Prompt(self.kind, self.parent, self.inspirations, seed=self.seed, second=self.mate)


SEED_PLAN = Plan(seq=SEED_SEQ, island=0, kind="seed", parent=None)


class Planner(Protocol):
    """A population strategy: the plan of candidate ``seq`` from the programs it may see."""

    def plan(self, visible: Sequence[ProgramView], seq: int) -> Plan: ...


class IslandPlanner:
    """Islands, tournaments and inspirations (``adrs.selection``), plus the template draw."""

    def __init__(self, evolution: EvolutionConfig, fitness: Fitness,
                 templates: Mapping[str, float], front: Sequence[FrontObjective] = ()) -> None:
        self.evolution, self.fitness, self.templates = evolution, fitness, dict(templates)
        self.front = tuple(front)  # >= 2 objectives: parents from each island's Pareto front
        self.index: ProgramIndex | None = None  # the strategy's index, kept up to date

    def plan(self, visible: Sequence[ProgramView], seq: int) -> Plan:
        index = self._index(visible)
        if index is not None:
            return self._plan_indexed(index, visible, seq)
        return self.plan_scanning(visible, seq)

    def _index(self, visible: Sequence[ProgramView]) -> ProgramIndex | None:
        """The strategy's index over ``visible`` (a later candidate's visible programs extend an
        earlier one's: folded once each), or None when these programs scan (not in seq order, or
        NaN scores or objectives)."""
        if not visible or visible[0].seq != SEED_SEQ:
            return None
        if self.index is None or not self.index.extends(visible):
            self.index = new_index(self.evolution, self.fitness, self.front)
        self.index.update(visible)
        return self.index if self.index.usable else None

    def _plan_indexed(self, index: ProgramIndex, visible: Sequence[ProgramView], seq: int) -> Plan:
        """``plan_scanning`` through the strategy's index: the same draws in the same order."""
        rng = random.Random(f"{self.evolution.seed}:{seq}")
        chosen, others = index.select(seq, rng)
        parent, mate, inspirations = chosen.parent, None, chosen.inspirations
        kind = choose_template(rng, self.templates) if self.templates else "mutation"
        if kind == "fix":
            failed = index.recent_failure(chosen.island, rng)
            parent, kind = (failed, "fix") if failed else (parent, "diff")
        elif kind == "crossover":
            mate = index.mate(others, rng)
            kind = "crossover" if mate else "diff"
            inspirations = tuple(p for p in inspirations if mate is None or p.id != mate.id)
        return Plan(seq, chosen.island, kind, parent, mate, inspirations, seed=rng.getrandbits(32))

    def plan_scanning(self, visible: Sequence[ProgramView], seq: int) -> Plan:
        """The plan from every visible program (the definition the island index follows)."""
        rng = random.Random(f"{self.evolution.seed}:{seq}")
        # evolution.strategy / population (adrs.strategy): islands, MAP-Elites or a control
        chosen = choose(visible, seq, rng, self.evolution, self.fitness, self.front)
        parent, mate, inspirations = chosen.parent, None, chosen.inspirations
        kind = choose_template(rng, self.templates) if self.templates else "mutation"
        if kind == "fix":
            failed = recent_failure([p for p in visible if p.island == chosen.island], rng)
            parent, kind = (failed, "fix") if failed else (parent, "diff")
        elif kind == "crossover":
            mate = select_mate(chosen.pool, parent, rng, self.evolution.tournament_size, self.fitness)
            kind = "crossover" if mate else "diff"
            inspirations = tuple(p for p in inspirations if mate is None or p.id != mate.id)
        return Plan(seq, chosen.island, kind, parent, mate, inspirations, seed=rng.getrandbits(32))


def new_index(evolution: EvolutionConfig, fitness: Fitness,
              front: Sequence[FrontObjective]) -> ProgramIndex:
    """An empty index for the configured strategy and population."""
    if evolution.strategy == "best-of-n":
        return BestOfNIndex(evolution, fitness)
    if evolution.strategy == "random-restart":
        return RestartIndex(evolution, fitness)
    if evolution.population == "map-elites":
        return MapElitesIndex(evolution, fitness)
    return IslandIndex(evolution, fitness, front)


def choose_template(rng: random.Random, weights: Mapping[str, float]) -> str:
    names = sorted(weights)
    return rng.choices(names, weights=[weights[n] for n in names])[0]
