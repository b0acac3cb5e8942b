"""What a campaign tells its user: progress lines in a log file, no secret anywhere, honest labels,
run state (stale when the driver died), ``resume --more`` and an already reached budget."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from adrs.campaign import new_campaign
from adrs.cli.main import app
from adrs.config import load_run_config
from adrs.db.models import Program, Run
from adrs.evolve import evolve
from tests.conftest import TOY_PROBLEM
from tests.llm_server import FakeLLMServer, Reply

PROGRESS = re.compile(r"^\[\d+:\d\d:\d\d\] candidates \d+/\d+ \| .*best train", re.MULTILINE)
FAKE_KEY = "sk-test-SECRET-key-7f3a9c1e5b"
PASSWORD = "hunter2-PW-91b7"


def adrs(*args: str, env: dict[str, str] | None = None, stdout=None, timeout: float = 240):
    return subprocess.run([sys.executable, "-m", "adrs.cli.main", *args], text=True,
                          stdout=stdout or subprocess.PIPE, stderr=subprocess.STDOUT,
                          env={**os.environ, "COLUMNS": "200", **(env or {})}, timeout=timeout)


def test_campaign_with_stdout_in_a_file_prints_progress_lines(runs_dir: Path, tmp_path: Path):
    log = tmp_path / "campaign.log"
    with log.open("w") as out:
        done = adrs("run", str(TOY_PROBLEM), "--budget", "150", "--workers", "1",
                    "--progress-every", "0.05", "--runs-dir", str(runs_dir), stdout=out)
    text = log.read_text()
    assert done.returncode == 0, text
    lines = PROGRESS.findall(text)
    assert len(lines) >= 2, text  # periodic lines, not only the last one
    last = [line for line in text.splitlines() if PROGRESS.match(line)][-1]
    assert "candidates 150/150" in last and re.search(r"\| ok \d+", last)
    assert "\x1b[" not in text  # no terminal escape codes in a log file
    # the final best program is printed exactly as stored, unwrapped
    run_id = next(p.name for p in runs_dir.iterdir())
    with sqlite3.connect(runs_dir / run_id / "adrs.sqlite") as db:
        promoted = re.search(r"promoted program #(\d+)", text)
        assert promoted, text
        code = db.execute("SELECT code FROM program WHERE id = ?",
                          (int(promoted.group(1)),)).fetchone()[0]
    assert code.strip() in text


def dump_everything(runs_dir: Path) -> str:
    """Every row of every table of every run database, and every file under runs_dir."""
    parts = []
    for path in runs_dir.rglob("*"):
        if path.is_file():
            parts.append(path.read_bytes().decode(errors="replace"))
        if path.name == "adrs.sqlite":
            with sqlite3.connect(path) as db:
                parts.extend(db.iterdump())
    return "\n".join(parts)


def test_no_password_or_key_in_any_output_or_stored_row(runs_dir: Path, tmp_path: Path,
                                                        ray_session):
    good = ("```\n<<<<<<< SEARCH\n    return x * 0.5\n=======\n    return x * 1.5\n"
            ">>>>>>> REPLACE\n```\n")
    # providers echo the key they were given in some errors; one answer here does so
    echoed = Reply(status=401, message=f"Incorrect API key provided: {FAKE_KEY}. You can find "
                                       f"your API key at https://platform.openai.com/account")
    leaky = Reply(status=500, message=f"upstream postgresql://app:{PASSWORD}@db:5432/x failed")
    with FakeLLMServer([Reply("OK"), echoed, leaky], responder=lambda body: Reply(good)) as server:
        config = tmp_path / "llm.yaml"
        config.write_text(f"llm:\n  model: openai/test-model\n  api_base: {server.url}\n"
                          f"  max_retries: 0\n  concurrency: 1\n  timeout_s: 2\n"
                          f"  breaker_cooldown_s: 2\n  max_wait_s: 10\n"
                          f"evolution:\n  budget: 5\n  workers: 1\n")
        log = tmp_path / "campaign.log"
        env = {"OPENAI_API_KEY": FAKE_KEY}
        with log.open("w") as out:
            done = adrs("run", str(TOY_PROBLEM), "--config", str(config), "--runs-dir",
                        str(runs_dir), "--progress-every", "0.5", env=env, stdout=out)
        assert done.returncode == 0, log.read_text()
        assert any(h.get("authorization") == f"Bearer {FAKE_KEY}" for h in server.headers)
    outputs = [log.read_text()]
    run_id = next(p.name for p in runs_dir.iterdir())
    for args in (["runs"], ["best", run_id], ["lineage", "--run", run_id], ["spend", run_id],
                 *(["show", str(i), "--run", run_id, "--prompt"] for i in range(1, 7))):
        outputs.append(adrs(*args, "--runs-dir", str(runs_dir), env=env).stdout)
    # a database URL with a password: the error (no such server) must not show it
    outputs.append(adrs("runs", "--db", f"postgresql://alice:{PASSWORD}@127.0.0.1:1/adrs",
                        env=env).stdout)
    everything = "\n".join(outputs) + dump_everything(runs_dir)
    assert "Incorrect API key provided: ***" in everything  # the echoed key was masked
    assert "postgresql://app:***@db" in everything and "alice:***@127.0.0.1" in everything
    assert PROGRESS.search(outputs[0])
    assert FAKE_KEY not in everything and PASSWORD not in everything
    assert FAKE_KEY[8:20] not in everything  # nor a recognizable part of it


def test_inconsistent_llm_timeouts_are_rejected_at_load(tmp_path: Path):
    from adrs.errors import ConfigError

    with pytest.raises(ConfigError, match="max_wait_s .5. is shorter than llm.breaker_cooldown_s"):
        load_run_config(overrides={"llm": {"model": "openai/x", "max_wait_s": 5,
                                           "breaker_cooldown_s": 60, "timeout_s": 2}})
    with pytest.raises(ConfigError, match="shorter than llm.timeout_s"):
        load_run_config(overrides={"llm": {"model": "openai/x", "max_wait_s": 30,
                                           "timeout_s": 120, "breaker_cooldown_s": 10}})
    load_run_config(overrides={"llm": {"max_wait_s": 5}})  # no model: the LLM is not used


@pytest.mark.usefixtures("ray_session")
def test_killed_driver_shows_stale_and_resume_more_and_reached_budget(runs_dir: Path):
    config = load_run_config(overrides={"evolution": {"budget": 4, "workers": 1},
                                        "db": {"runs_dir": str(runs_dir)}})
    campaign = new_campaign(str(TOY_PROBLEM), config)
    asyncio.run(evolve(campaign))
    runner = CliRunner()
    reached = runner.invoke(app, ["resume", campaign.run_id, "--runs-dir", str(runs_dir)])
    assert reached.exit_code == 0 and "already has 4 candidates" in reached.output
    assert "--more" in reached.output
    reached = runner.invoke(app, ["resume", campaign.run_id, "--budget", "3", "--runs-dir",
                                  str(runs_dir)])
    assert "--budget 3 is already reached" in reached.output
    # a driver that died (SIGKILL) leaves "running" with an old heartbeat: shown as stale
    with Session(campaign.engine) as session:
        session.execute(update(Run).where(Run.id == campaign.run_id).values(
            status="running", updated_at=datetime.now(UTC).replace(tzinfo=None)
            - timedelta(minutes=10)))
        session.commit()
    listing = runner.invoke(app, ["runs", "--runs-dir", str(runs_dir)])
    assert "stale (no heartbeat for 10 min; driver killed?)" in listing.output
    assert "best (train)" in listing.output
    more = runner.invoke(app, ["resume", campaign.run_id, "--more", "3", "--runs-dir",
                               str(runs_dir)])
    assert more.exit_code == 0, more.output
    assert "stopped: candidate budget reached (7)" in more.output
    with Session(campaign.engine) as session:
        assert session.query(Program).filter(Program.run_id == campaign.run_id).count() == 8
        assert session.get(Run, campaign.run_id).status == "finished"
    # a live driver (fresh heartbeat, its process alive) is not resumed twice; a killed one
    # (its pid gone) is shown as killed at once and may be resumed at once
    with Session(campaign.engine) as session:
        session.execute(update(Run).where(Run.id == campaign.run_id).values(
            status="running", updated_at=datetime.now(UTC).replace(tzinfo=None)))
        session.commit()
    pid_file = runs_dir / campaign.run_id / "driver.pid"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        pid_file.write_text(f"{socket.gethostname()} {sleeper.pid}\n")
        twice = runner.invoke(app, ["resume", campaign.run_id, "--more", "1", "--runs-dir",
                                    str(runs_dir)])
        assert twice.exit_code == 2 and "is running now" in twice.output
    finally:
        sleeper.kill()
        sleeper.wait()
    listing = runner.invoke(app, ["runs", "--runs-dir", str(runs_dir)])
    assert f"killed (driver pid {sleeper.pid} is gone)" in listing.output
    again = runner.invoke(app, ["resume", campaign.run_id, "--more", "1", "--runs-dir",
                                str(runs_dir)])
    assert again.exit_code == 0 and "candidate budget reached (8)" in again.output
    assert not pid_file.exists()  # the driver removes its pid file when it ends


def test_show_prompt_of_a_mutator_program_says_there_is_none(runs_dir: Path, ray_session):
    config = load_run_config(overrides={"evolution": {"budget": 2, "workers": 1},
                                        "db": {"runs_dir": str(runs_dir)}})
    campaign = new_campaign(str(TOY_PROBLEM), config)
    asyncio.run(evolve(campaign))
    with Session(campaign.engine) as session:
        child = session.query(Program).filter(Program.seq == 1).one()
        child_id = child.id
    shown = CliRunner().invoke(app, ["show", str(child_id), "--prompt", "--runs-dir",
                                     str(runs_dir)])
    assert shown.exit_code == 0
    assert "no prompt: program" in shown.output and "offline mutator" in shown.output


def test_local_folder_named_like_a_builtin_problem_is_announced(tmp_path: Path, monkeypatch):
    import shutil

    from adrs.problem import shadowing_note

    shutil.copytree(TOY_PROBLEM, tmp_path / "smtt")
    monkeypatch.chdir(tmp_path)
    assert shadowing_note("smtt") == "using ./smtt (a folder here), not the built-in smtt"
    assert shadowing_note(str(tmp_path / "smtt")) is None  # an explicit path is not ambiguous
    assert shadowing_note("eplb") is None  # no such folder here
