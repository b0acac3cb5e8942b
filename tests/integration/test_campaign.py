"""End-to-end campaigns on local Ray (one shared session): lineage, reproducibility, resume."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from adrs.campaign import new_campaign, resume_campaign
from adrs.config import load_run_config
from adrs.db.models import Evaluation, Program, Run
from adrs.evolve import evolve
from tests.conftest import TOY_PROBLEM

pytestmark = pytest.mark.usefixtures("ray_session")


def toy_campaign(runs_dir: Path, budget: int, seed: int = 0, problem: str = str(TOY_PROBLEM)):
    config = load_run_config(overrides={"evolution": {"budget": budget, "seed": seed, "workers": 2},
                                        "db": {"runs_dir": str(runs_dir)}})
    return new_campaign(problem, config)


def lineage_of(campaign) -> list[tuple[int, int | None, str, str]]:
    """(seq, parent seq, status, code) for every program, in candidate order."""
    with Session(campaign.engine) as session:
        rows = session.scalars(select(Program).where(Program.run_id == campaign.run_id)
                               .order_by(Program.seq)).all()
        seq_of = {r.id: r.seq for r in rows}
        return [(r.seq, seq_of.get(r.parent_id), r.status, r.code) for r in rows]


def test_toy_campaign_improves_and_keeps_a_consistent_lineage(runs_dir: Path) -> None:
    campaign = toy_campaign(runs_dir, budget=24)
    reason = asyncio.run(evolve(campaign))
    assert "budget" in reason
    programs = lineage_of(campaign)
    assert [p[0] for p in programs] == list(range(25))  # the seed + 24 candidates, each once
    seqs = {p[0] for p in programs}
    assert all(parent is None or parent in seqs for _, parent, _, _ in programs)
    with Session(campaign.engine) as session:
        run = session.get(Run, campaign.run_id)
        assert run.status == "finished" and run.isolation
        seed = session.scalars(select(Program).where(Program.seq == 0)).one()
        best = session.scalars(select(Program).where(Program.status == "ok")
                               .order_by(Program.score, Program.seq)).first()
        assert seed.score == pytest.approx(2.5)
        assert best.score < seed.score  # the mutator found a better constant
        baseline = session.scalars(select(Evaluation).where(Evaluation.baseline == "ZERO")).one()
        assert baseline.score == pytest.approx(3.0)


def test_same_seed_gives_the_same_lineage(runs_dir: Path) -> None:
    first = toy_campaign(runs_dir, budget=12, seed=7)
    asyncio.run(evolve(first))
    second = toy_campaign(runs_dir, budget=12, seed=7)
    asyncio.run(evolve(second))
    other = toy_campaign(runs_dir, budget=12, seed=8)
    asyncio.run(evolve(other))
    assert lineage_of(first) == lineage_of(second)
    assert lineage_of(first) != lineage_of(other)


def lose_candidates_after(campaign, seq: int) -> None:
    """The run as a driver killed mid-campaign leaves it: programs after ``seq`` not stored, the
    run still marked running."""
    with Session(campaign.engine) as session:
        session.execute(delete(Program).where(Program.run_id == campaign.run_id, Program.seq > seq))
        session.get(Run, campaign.run_id).status = "running"
        session.commit()


def test_resume_recreates_lost_candidates_exactly_once(runs_dir: Path) -> None:
    campaign = toy_campaign(runs_dir, budget=14, seed=3)
    asyncio.run(evolve(campaign))
    complete = lineage_of(campaign)
    lose_candidates_after(campaign, 8)  # as if the driver died with 6 candidates unfinished
    resumed = resume_campaign(campaign.run_id, runs_dir, None, budget=None)
    asyncio.run(evolve(resumed))
    assert lineage_of(resumed) == complete


def test_resume_with_a_larger_budget_continues(runs_dir: Path) -> None:
    campaign = toy_campaign(runs_dir, budget=6)
    asyncio.run(evolve(campaign))
    resumed = resume_campaign(None, runs_dir, None, budget=10)
    assert resumed.run_id == campaign.run_id
    asyncio.run(evolve(resumed))
    assert [p[0] for p in lineage_of(resumed)] == list(range(11))


def test_failing_seed_stops_with_a_clear_error(runs_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("problem.yaml", "zero.py"):
        (broken / name).write_text((TOY_PROBLEM / name).read_text())
    toy_yaml = (TOY_PROBLEM / "problem.yaml").read_text()
    evaluator = f"evaluator: {TOY_PROBLEM / 'evaluator'}"
    (broken / "problem.yaml").write_text(toy_yaml.replace("evaluator: evaluator", evaluator))
    (broken / "seed.py").write_text("# EVOLVE-BLOCK-START\ndef solve(x):\n    raise RuntimeError('boom')\n"
                                    "# EVOLVE-BLOCK-END\n")
    from adrs.errors import CampaignError

    campaign = toy_campaign(runs_dir, budget=4, problem=str(broken))
    with pytest.raises(CampaignError, match="boom"):
        asyncio.run(evolve(campaign))
    with Session(campaign.engine) as session:
        assert session.get(Run, campaign.run_id).status == "failed"
        assert session.scalars(select(Program)).one().status == "error"


def test_a_crashing_proposer_is_recorded_and_the_campaign_goes_on(runs_dir: Path) -> None:
    from adrs.proposer import BaseProposer, Proposal

    class Flaky(BaseProposer):
        name = "flaky"

        def __init__(self) -> None:
            self.calls = 0

        async def propose(self, prompt):
            self.calls += 1
            if self.calls % 2:
                raise ZeroDivisionError("bug in the proposer")
            return Proposal(text=prompt.parent.code.replace("0.5", "0.75"), kind="rewrite",
                            proposer="flaky")

    campaign = toy_campaign(runs_dir, budget=4)
    campaign.proposer = Flaky()
    asyncio.run(evolve(campaign))
    statuses = [status for _, _, status, _ in lineage_of(campaign)]
    assert len(statuses) == 5 and statuses.count("proposal_error") >= 1 and "ok" in statuses[1:]
    with Session(campaign.engine) as session:
        failed = session.scalars(select(Program).where(Program.status == "proposal_error")).first()
        assert "ZeroDivisionError" in failed.feedback
        assert session.get(Run, campaign.run_id).status == "finished"
