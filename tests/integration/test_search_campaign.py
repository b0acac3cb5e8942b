"""Campaigns with the search features: duplicates never reach the sandbox, controls and MAP-Elites
run end to end, a front problem selects from and reports its Pareto front."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from adrs.campaign import new_campaign
from adrs.cli.main import app
from adrs.config import load_run_config
from adrs.db.models import Program
from adrs.evolve import evolve
from adrs.proposer import BaseProposer, Proposal
from tests.conftest import TOY_PROBLEM

pytestmark = pytest.mark.usefixtures("ray_session")


def campaign_for(runs_dir: Path, budget: int, problem: Path = TOY_PROBLEM, **evolution):
    config = load_run_config(overrides={
        "evolution": {"budget": budget, "seed": 0, "workers": 2, **evolution},
        "db": {"runs_dir": str(runs_dir)}})
    return new_campaign(str(problem), config)


def rows(campaign) -> list[Program]:
    with Session(campaign.engine) as session:
        found = session.scalars(select(Program).where(Program.run_id == campaign.run_id)
                                .order_by(Program.seq)).all()
        session.expunge_all()
        return list(found)


class Cycling(BaseProposer):
    """Proposes three programs in turn, each time formatted differently (comments, names)."""

    name = "cycling"

    def __init__(self) -> None:
        self.calls = 0

    async def propose(self, prompt):
        self.calls += 1
        factor = ("0.75", "1.5", "2.5")[self.calls % 3]
        code = prompt.parent.code
        code = code.split("# EVOLVE-BLOCK-START")[0] + (
            f"# EVOLVE-BLOCK-START\ndef guess(v{self.calls}):\n    # take {self.calls}\n"
            f"    return v{self.calls} * {factor}\n# EVOLVE-BLOCK-END\n"
            + code.split("# EVOLVE-BLOCK-END\n")[1])
        return Proposal(text=code, kind="rewrite", proposer=self.name)


def test_duplicates_are_recorded_with_their_original_and_never_evaluated(runs_dir: Path) -> None:
    campaign = campaign_for(runs_dir, budget=12)
    campaign.proposer = Cycling()
    asyncio.run(evolve(campaign))
    programs = rows(campaign)
    assert len(programs) == 13
    evaluated = [p for p in programs if p.status != "duplicate"]
    duplicates = [p for p in programs if p.status == "duplicate"]
    assert len(evaluated) == 4  # the seed and the three distinct programs
    assert len(duplicates) == 9
    by_seq = {p.seq: p for p in programs}
    for dup in duplicates:
        assert dup.eval_s == 0.0 and dup.runtime_s == 0.0 and dup.score is None
        original = by_seq[int(dup.private_metrics["duplicate_of_seq"])]
        assert original.status == "ok" and original.seq < dup.seq
        assert dup.code != original.code  # different text, same program
        assert "not evaluated" in dup.feedback
    # the report shows the share saved
    result = CliRunner().invoke(app, ["best", campaign.run_id, "--runs-dir", str(runs_dir), "--json"])
    assert result.exit_code == 0, result.output
    search = json.loads(result.output)["search"]
    assert search["duplicates"] == 9 and search["candidates"] == 12
    assert search["duplicate_share"] == pytest.approx(0.75) and search["sandbox_s_saved"] > 0


@pytest.mark.parametrize("strategy", ["best-of-n", "random-restart"])
def test_controls_run_with_the_same_budget(runs_dir: Path, strategy: str) -> None:
    campaign = campaign_for(runs_dir, budget=10, strategy=strategy, restart_every=5)
    asyncio.run(evolve(campaign))
    programs = rows(campaign)
    assert len(programs) == 11
    ids = {p.id: p for p in programs}
    for p in programs[1:]:
        parent = ids[p.parent_id]
        if strategy == "best-of-n":
            assert parent.seq == 0
        else:  # the seed or an earlier program of the same restart
            assert parent.seq == 0 or (parent.seq - 1) // 5 == (p.seq - 1) // 5


def test_map_elites_campaign(runs_dir: Path) -> None:
    campaign = campaign_for(runs_dir, budget=16, population="map-elites",
                            map_elites_axes="code_length", elite_probability=0.0)
    asyncio.run(evolve(campaign))
    programs = rows(campaign)
    assert len(programs) == 17
    parents = {p.parent_id for p in programs[1:]}
    assert len(parents) >= 2  # elites of several cells were parents, not only the best


def front_problem(tmp_path: Path) -> Path:
    """The toy problem with a second objective (|answer|, minimize) and a two-objective front."""
    root = tmp_path / "toyfront"
    shutil.copytree(TOY_PROBLEM, root)
    evaluator = root / "evaluator" / "__init__.py"
    evaluator.write_text(evaluator.read_text().replace(
        'metrics={"error": error}', 'metrics={"error": error, "size": abs(answer)}'))
    yaml = (root / "problem.yaml").read_text().replace(
        "objective: {metric: error, direction: minimize}",
        "objective: {metric: error, direction: minimize, front: {error: minimize, size: minimize}}")
    (root / "problem.yaml").write_text(yaml)
    return root


def test_front_problem_selects_from_and_shows_its_front(runs_dir: Path, tmp_path: Path) -> None:
    campaign = campaign_for(runs_dir, budget=16, problem=front_problem(tmp_path), islands=1)
    assert len(campaign.spec.front) == 2
    asyncio.run(evolve(campaign))
    result = CliRunner().invoke(app, ["best", campaign.run_id, "--runs-dir", str(runs_dir),
                                      "--front", "--json"])
    assert result.exit_code == 0, result.output
    front = json.loads(result.output)["front"]
    assert front
    points = [(r["error"], r["size"]) for r in front]
    for e, s in points:  # no front member is dominated by any correct program of the run
        for p in rows(campaign):
            if p.status == "ok":
                other = (p.metrics["error"], p.metrics["size"])
                assert not (other[0] <= e and other[1] <= s and other != (e, s))
    text = CliRunner().invoke(app, ["best", campaign.run_id, "--runs-dir", str(runs_dir), "--front"])
    assert "Pareto front" in text.output


RESUMED = {"map-elites": {"population": "map-elites", "map_elites_axes": "code_length"},
           "best-of-n": {"strategy": "best-of-n"},
           "random-restart": {"strategy": "random-restart", "restart_every": 4},
           "islands+front": {"islands": 2}}


@pytest.mark.parametrize("strategy", sorted(RESUMED))
def test_a_resumed_campaign_plans_as_an_uninterrupted_one(runs_dir: Path, tmp_path: Path,
                                                          strategy: str) -> None:
    """The strategy's index is built from the stored programs on resume: the candidates lost
    when the driver died are re-created with the same parents and code."""
    from adrs.campaign import resume_campaign
    from tests.integration.test_campaign import lose_candidates_after

    problem = front_problem(tmp_path) if strategy == "islands+front" else TOY_PROBLEM
    campaign = campaign_for(runs_dir, budget=16, problem=problem, **RESUMED[strategy])
    asyncio.run(evolve(campaign))
    complete = lineage(campaign)
    lose_candidates_after(campaign, 9)  # as if the driver died with 7 candidates unfinished
    resumed = resume_campaign(campaign.run_id, runs_dir, None, budget=None)
    asyncio.run(evolve(resumed))
    again = lineage(resumed)
    assert again == complete and len({parent for _, parent, _, _ in again}) >= 2


def lineage(campaign) -> list[tuple[int, int | None, str, str]]:
    """(seq, parent seq, status, code) of every program (ids depend on the completion order)."""
    programs = rows(campaign)
    seq_of = {p.id: p.seq for p in programs}
    return [(p.seq, seq_of.get(p.parent_id), p.status, p.code) for p in programs]
