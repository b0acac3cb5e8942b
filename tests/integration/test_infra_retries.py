"""Infrastructure failures (``infra_error``: a dead Ray worker, a dead sandbox server) are retried a
bounded number of times (``evolution.infra_retries``) before anything is blamed: the seed no longer
stops the campaign on the first one, a candidate is not recorded as failed on the first one."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from adrs.campaign import new_campaign
from adrs.config import load_run_config
from adrs.db.models import Program, Run
from adrs.errors import CampaignError, ConfigError
from adrs.evaluation import EvalResult
from adrs.evolve import evolve
from adrs.executor import LocalExecutor
from adrs.retry import RetryingExecutor
from adrs.status import Fault, Status
from tests.crashy import crashy_copy, kill_tokens


@pytest.fixture
def crashy(tmp_path: Path) -> tuple[Path, Path]:
    """The crashy problem without baselines (so the seed is the first evaluation), and its control
    folder: each ``kill-*`` file there kills the Ray worker of one evaluation attempt."""
    return crashy_copy(tmp_path, baselines=False)


def config_for(runs_dir: Path, budget: int, retries: int | None = None):
    evolution = {"budget": budget, "workers": 1} | ({} if retries is None else {"infra_retries": retries})
    return load_run_config(overrides={"evolution": evolution, "db": {"runs_dir": str(runs_dir)}})


def test_a_seed_whose_worker_dies_twice_is_retried(ray_session, crashy, runs_dir: Path) -> None:
    problem, control = crashy
    kill_tokens(control, 2)  # Ray's own retry takes one, then the attempt is an infra_error
    campaign = new_campaign(str(problem), config_for(runs_dir, budget=3))
    asyncio.run(evolve(campaign))
    assert len(list(control.glob("used-kill-*"))) == 2
    with Session(campaign.engine) as session:
        rows = session.scalars(select(Program).order_by(Program.seq)).all()
        assert [r.seq for r in rows] == [0, 1, 2, 3]
        assert rows[0].status == "ok" and rows[0].score == 2.5
        assert session.get(Run, campaign.run_id).status == "finished"


def test_retries_are_bounded_then_the_seed_is_blamed_on_the_infrastructure(
        ray_session, crashy, runs_dir: Path) -> None:
    problem, control = crashy
    kill_tokens(control, 4)  # two attempts (infra_retries = 1), each killed twice
    campaign = new_campaign(str(problem), config_for(runs_dir, budget=3, retries=1))
    with pytest.raises(CampaignError, match="infra_error") as caught:
        asyncio.run(evolve(campaign))
    assert "all 2 attempts" in str(caught.value) and "infra_retries = 1" in str(caught.value)
    assert len(list(control.glob("used-kill-*"))) == 4


class Flaky:
    """A LocalExecutor whose first ``failures`` attempts at each program are infra_errors (as if the
    sandbox server had died); programs containing ``doomed`` always fail that way."""

    def __init__(self, inner: LocalExecutor, failures: int) -> None:
        self.inner, self.failures, self.attempts = inner, failures, Counter()

    async def evaluate(self, code: str, split):
        self.attempts[code] += 1
        if "doomed" in code or self.attempts[code] <= self.failures:
            return EvalResult.failure(Status.INFRA_ERROR, f"the sandbox server died (attempt "
                                      f"{self.attempts[code]})")
        return await self.inner.evaluate(code, split)

    def cancel(self) -> None:
        self.inner.cancel()


def flaky_campaign(problem: Path, runs_dir: Path, failures: int, retries: int | None = None):
    campaign = new_campaign(str(problem), config_for(runs_dir, budget=8, retries=retries))
    flaky = Flaky(LocalExecutor(campaign.spec.load_evaluator, campaign.limits), failures)
    campaign.executor = flaky
    return campaign, flaky


def test_candidates_are_retried_until_the_infrastructure_works(crashy, runs_dir: Path) -> None:
    problem, _ = crashy
    campaign, flaky = flaky_campaign(problem, runs_dir, failures=2)  # default: 2 retries
    asyncio.run(evolve(campaign))
    with Session(campaign.engine) as session:
        rows = session.scalars(select(Program)).all()
        assert sorted(r.seq for r in rows) == list(range(9))
        assert not [r for r in rows if r.status == "infra_error"]
        evaluated = [r for r in rows if Status(r.status).fault is not Fault.PROPOSER]  # not duplicates
        assert all(flaky.attempts[r.code] >= 3 for r in evaluated)
    assert max(flaky.attempts.values()) <= 3 * 9  # the same code proposed again counts again


def test_a_candidate_failing_every_attempt_is_recorded_as_infra_error(tmp_path: Path) -> None:
    async def run() -> tuple[EvalResult, int]:
        flaky = Flaky(None, failures=0)  # type: ignore[arg-type]
        result = await RetryingExecutor(flaky, attempts=3).evaluate("doomed = 1", "train")
        return result, flaky.attempts["doomed = 1"]

    result, attempts = asyncio.run(run())
    assert attempts == 3 and result.status == "infra_error" and result.score is None
    assert "all 3 attempts" in result.feedback and "infra_retries = 2" in result.feedback
    assert "attempt 3: the sandbox server died (attempt 3)" in result.feedback


def test_infra_retries_must_be_a_small_count() -> None:
    for bad in (-1, 11, 1.5, True):
        with pytest.raises(ConfigError, match="infra_retries"):
            load_run_config(overrides={"evolution": {"infra_retries": bad}})
    assert load_run_config(overrides={"evolution": {"infra_retries": 0}}).evolution.infra_retries == 0


def test_a_sandbox_that_fails_is_an_infra_error_and_is_retried(crashy) -> None:
    """The sandbox itself failing (here: limits that leave the interpreter no room to start) is
    the infrastructure's fault: infra_error, tried again, never blamed on the candidate."""
    from dataclasses import replace

    from adrs.problem import load_problem
    from adrs.worker import evaluate_safely

    problem, _ = crashy
    spec = load_problem(str(problem))
    starved = replace(spec.limits, memory_mb=1)
    result = evaluate_safely(spec.load_evaluator, spec.seed_code, "train", starved)
    assert result.status == "infra_error" and "the sandbox failed" in result.feedback, result.feedback

    async def retried() -> EvalResult:
        executor = LocalExecutor(spec.load_evaluator, starved)
        return await RetryingExecutor(executor, attempts=2).evaluate(spec.seed_code, "train")

    result = asyncio.run(retried())
    assert result.status == "infra_error" and "all 2 attempts" in result.feedback
