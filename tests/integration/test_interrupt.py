"""Ctrl-C or SIGTERM on `adrs run`: the run is marked interrupted, finished work is kept, `resume`
continues; a SIGKILL loses nothing finished either (many more in test_crash_kill.py)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from adrs.campaign import resume_campaign
from adrs.db import store
from adrs.db.models import Program, Run
from adrs.evolve import evolve
from tests.conftest import TOY_PROBLEM


def program_count(runs_dir: Path) -> int:
    dirs = store.run_dirs(runs_dir)
    if not dirs:
        return 0
    try:
        with Session(store.open_engine(store.sqlite_url(runs_dir, dirs[0].name), create=False)) as s:
            return len(s.scalars(select(Program.id)).all())
    except Exception:  # tables not created yet
        return 0


@pytest.mark.parametrize("signum, exit_code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)],
                         ids=["ctrl-c", "sigterm"])
def test_ctrl_c_marks_the_run_interrupted_and_resume_finishes_it(ray_session, runs_dir: Path, signum,
                                                                 exit_code) -> None:
    command = [sys.executable, "-m", "adrs.cli.main", "run", str(TOY_PROBLEM), "--budget", "500",
               "--runs-dir", str(runs_dir)]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while program_count(runs_dir) < 6:
        assert child.poll() is None, child.stdout.read()
        assert time.monotonic() < deadline, "the campaign did not start"
        time.sleep(0.2)
    child.send_signal(signum)
    output, _ = child.communicate(timeout=60)
    assert child.returncode == exit_code, output
    assert "adrs resume" in output
    run_id = store.run_dirs(runs_dir)[0].name
    url = store.sqlite_url(runs_dir, run_id)
    with Session(store.open_engine(url)) as session:
        assert session.get(Run, run_id).status == "interrupted"
        kept = len(session.scalars(select(Program.id)).all())
    assert kept >= 6
    campaign = resume_campaign(run_id, runs_dir, None, budget=kept + 4)
    asyncio.run(evolve(campaign))
    with Session(campaign.engine) as session:
        seqs = sorted(session.scalars(select(Program.seq)))
        assert seqs == list(range(kept + 5))  # nothing lost, nothing twice
        assert session.get(Run, run_id).status == "finished"


@pytest.mark.skipif(os.name != "posix", reason="signals")
def test_sigkill_of_the_driver_loses_no_finished_work(ray_session, runs_dir: Path) -> None:
    command = [sys.executable, "-m", "adrs.cli.main", "run", str(TOY_PROBLEM), "--budget", "500",
               "--runs-dir", str(runs_dir)]
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while program_count(runs_dir) < 8:
        assert child.poll() is None and time.monotonic() < deadline
        time.sleep(0.2)
    child.kill()
    child.wait(timeout=30)
    before = program_count(runs_dir)
    run_id = store.run_dirs(runs_dir)[0].name
    campaign = resume_campaign(run_id, runs_dir, None, budget=before + 3)
    asyncio.run(evolve(campaign))
    with Session(campaign.engine) as session:
        rows = session.scalars(select(Program)).all()
        ids = {r.id for r in rows}
        assert sorted(r.seq for r in rows) == list(range(before + 4))
        assert all(r.parent_id is None or r.parent_id in ids for r in rows)
