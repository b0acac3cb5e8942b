"""Crashes outside the candidate: a Ray worker dying mid-evaluation, the sandbox's parent dying, and an
evaluator that raises. None may be scored as a bad program, none may lose a candidate."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from adrs.campaign import new_campaign
from adrs.config import load_run_config
from adrs.db.models import Program, Run
from adrs.dedup import program_key
from adrs.errors import CampaignError
from adrs.evolve import evolve
from adrs.executor import RayExecutor, evaluate_all
from adrs.sandbox import Limits
from tests.crashy import crashy_copy, kill_tokens
from tests.processes import processes_with_arg

LIMITS = Limits(timeout_s=10, cpu_s=10, memory_mb=1024)


@pytest.fixture
def crashy(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the crashy problem whose control folder is ``control``."""
    return crashy_copy(tmp_path)


def evaluate_on_ray(problem: Path, code: str):
    return evaluate_all(RayExecutor(str(problem), LIMITS), {"one": (code, "train")})["one"]


def test_worker_killed_once_is_retried(ray_session, crashy) -> None:
    problem, control = crashy
    kill_tokens(control, 1)
    result = evaluate_on_ray(problem, "def solve(x):\n    return 2.5\n")
    assert result.status == "ok" and result.score == 0.5
    assert sorted(p.name for p in control.iterdir()) == ["used-kill-0"]  # one worker did die


def test_worker_killed_twice_is_an_infrastructure_failure(ray_session, crashy) -> None:
    problem, control = crashy
    kill_tokens(control, 2)
    result = evaluate_on_ray(problem, "def solve(x):\n    return 2.5\n")
    assert result.status == "infra_error" and result.score is None
    assert "Ray worker failed" in result.feedback
    assert sorted(p.name for p in control.iterdir()) == ["used-kill-0", "used-kill-1"]


def test_campaign_records_worker_deaths_and_loses_nothing(ray_session, crashy, runs_dir: Path) -> None:
    problem, control = crashy
    config = load_run_config(overrides={"evolution": {"budget": 12, "workers": 2},
                                        "db": {"runs_dir": str(runs_dir)}})
    campaign = new_campaign(str(problem), config)

    def kill_workers_once_running(progress) -> None:  # two worker deaths among the candidates
        if progress.done == 3:
            kill_tokens(control, 2)

    campaign.on_progress = kill_workers_once_running
    asyncio.run(evolve(campaign))
    assert len(list(control.glob("used-kill-*"))) == 2
    with Session(campaign.engine) as session:
        rows = session.scalars(select(Program)).all()
        assert sorted(r.seq for r in rows) == list(range(13))
        statuses = {r.status for r in rows}
        assert statuses <= {"ok", "invalid", "error", "infra_error", "duplicate"}, statuses
        by_seq = {r.seq: r for r in rows}
        for dup in (r for r in rows if r.status == "duplicate"):  # the mutator may repeat itself
            original = by_seq[dup.private_metrics["duplicate_of_seq"]]
            assert original.seq < dup.seq and original.status not in {"duplicate", "infra_error"}
            assert program_key(original.code) == program_key(dup.code)
            assert dup.score is None and dup.eval_s == 0 and dup.node is None  # never evaluated
        assert sum(r.status == "infra_error" for r in rows) == 0  # a candidate killed twice is retried
        assert session.get(Run, campaign.run_id).status == "finished"


def test_evaluator_errors_stop_the_campaign(ray_session, crashy, runs_dir: Path) -> None:
    problem, control = crashy
    (control / "raise").touch()
    config = load_run_config(overrides={"evolution": {"budget": 200, "workers": 2, "max_evaluator_errors": 4},
                                        "db": {"runs_dir": str(runs_dir)}})
    campaign = new_campaign(str(problem), config)
    with pytest.raises(CampaignError, match="max_evaluator_errors = 4") as caught:
        asyncio.run(evolve(campaign))
    assert "ZeroDivisionError" in str(caught.value)
    with Session(campaign.engine) as session:
        rows = session.scalars(select(Program)).all()
        errors = [r for r in rows if r.status == "evaluator_error"]
        assert len(errors) == 4 and len(rows) < 40
        assert all("ZeroDivisionError: a bug in the evaluator" in r.feedback for r in errors)
        assert all("Traceback" in r.feedback for r in errors)
        run = session.get(Run, campaign.run_id)
        assert run.status == "failed" and "max_evaluator_errors" in run.stop_reason


def test_sandbox_dies_with_the_process_that_started_it(tmp_path: Path) -> None:
    """The Ray worker (here: a plain process) is SIGKILLed mid-run: the candidate must not live on."""
    marker = f"{uuid.uuid4().int % 10**6 + 10**6}.75"
    candidate = f"import subprocess, time\ndef f(x):\n    subprocess.Popen(['sleep', '{marker}'])\n" \
                f"    time.sleep(600)\n"
    script = textwrap.dedent(f"""
        import numpy as np
        from adrs.sandbox import Limits, run_program
        run_program({candidate!r}, "f", [{{"x": np.arange(2)}}], Limits(timeout_s=600, cpu_s=600))
    """)
    worker = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.monotonic() + 60
    while not processes_with_arg(marker):
        assert worker.poll() is None and time.monotonic() < deadline, "the candidate did not start"
        time.sleep(0.1)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=30)
    deadline = time.monotonic() + 10
    while processes_with_arg(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_with_arg(marker) == []
