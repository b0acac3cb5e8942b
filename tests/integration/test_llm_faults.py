"""LLM faults during a campaign, against local fake servers on 127.0.0.1: a 429 storm, a 500 storm,
replies just inside the timeout, and an outage in mid-campaign followed by a recovery and
``resume``. For each: how long until the reason is visible (the LLM health the progress display
shows), candidates spent, the run's final state. Each test prints a MEASURE line. The storms and
the outage run through both transports: the default (the openai SDK directly) and litellm."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from adrs.campaign import new_campaign, resume_campaign
from adrs.config import load_run_config
from adrs.db.models import Program, Run
from adrs.evolve import evolve
from tests.conftest import TOY_PROBLEM
from tests.llm_server import FakeLLMServer, Reply

pytestmark = pytest.mark.usefixtures("ray_session")
CONSTANT = re.compile(r"return x \* (-?[\d.e+-]+)")
# small but consistent limits: a call may take 1 s, a paused model gets a trial call after 1 s
FAST = {"model": "openai/test-model", "timeout_s": 1.0, "max_retries": 1, "max_wait_s": 3.0,
        "breaker_failures": 2, "breaker_cooldown_s": 1.0, "concurrency": 2,
        "stop_after_failed_proposals": 4, "stop_after_unavailable_s": 6.0}


@pytest.fixture(autouse=True)
def key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")


def towards_3(body: dict[str, Any], delay_s: float = 0.0) -> Reply:
    text = [m for m in body["messages"] if m["role"] == "user"][-1]["content"]
    old = CONSTANT.search(text).group(1)
    new = float(old) + (3.0 - float(old)) / 2
    return Reply(f"```\n<<<<<<< SEARCH\n    return x * {old}\n=======\n    return x * {new!r}\n"
                 f">>>>>>> REPLACE\n```\n", delay_s=delay_s)


class Watch:
    """Polls the proposer's health (what the progress display shows) for the first failure."""

    def __init__(self, campaign, words: str) -> None:
        self.campaign, self.words = campaign, words
        self.seen_after: float | None = None  # seconds after the watch started
        self.seen_at: float | None = None  # time.perf_counter()
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Watch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            if self.seen_after is None and self.words in self.campaign.proposer.health.last_error:
                self.seen_at = time.perf_counter()
                self.seen_after = time.monotonic() - self.started


def start(runs_dir: Path, budget: int, server: FakeLLMServer, **llm: Any):
    config = load_run_config(overrides={
        "llm": {**FAST, "api_base": server.url, **llm},
        "prompt": {"templates": {"diff": 1.0}},
        "evolution": {"budget": budget, "workers": 1, "max_time_s": 300},
        "db": {"runs_dir": str(runs_dir)}})
    return new_campaign(str(TOY_PROBLEM), config)


def outcome(campaign) -> tuple[Run, list[Program]]:
    with Session(campaign.engine) as session:
        run = session.get(Run, campaign.run_id)
        programs = list(session.scalars(select(Program).where(Program.run_id == campaign.run_id)
                                        .order_by(Program.seq)))
        session.expunge_all()
    return run, programs


@pytest.mark.parametrize("transport", ["auto", "litellm"])
@pytest.mark.parametrize("status, words", [(429, "rate limited (HTTP 429)"),
                                           (500, "server error (HTTP 500)")],
                         ids=["429-storm", "500-storm"])
def test_error_storm_stops_the_campaign_without_burning_the_budget(runs_dir: Path, status: int,
                                                                    words: str, transport: str):
    with FakeLLMServer(responder=lambda body: Reply(status=status)) as server:
        campaign = start(runs_dir, 200, server, transport=transport)
        started = time.monotonic()
        with Watch(campaign, words) as watch:
            reason = asyncio.run(evolve(campaign))
        seconds = time.monotonic() - started
    run, programs = outcome(campaign)
    spent = len(programs) - 1
    seen = watch.seen_at - server.arrived_at[0]  # from the first call the model failed
    print(f"\nMEASURE {status} storm ({transport}): reason visible {seen:.2f} s after the first "
          f"failed call, stopped after {seconds:.1f} s, candidates spent {spent} of 200, "
          f"final state {run.status}: {reason}")
    assert run.status == "stopped" and reason.startswith("LLM unavailable")
    assert words in run.stop_reason  # the last error, in words
    assert seen < 2
    assert all(p.status == "proposal_error" for p in programs[1:])
    assert 1 <= spent <= FAST["stop_after_failed_proposals"] + FAST["concurrency"]
    # failed proposals are paced: never more than one per timeout_s (plus those already started)
    assert spent <= seconds / FAST["timeout_s"] + FAST["concurrency"]
    assert seconds < 60


def test_replies_just_inside_the_timeout_are_not_failures(runs_dir: Path):
    with FakeLLMServer(responder=lambda body: towards_3(body, delay_s=0.7)) as server:
        campaign = start(runs_dir, 4, server)
        started = time.monotonic()
        reason = asyncio.run(evolve(campaign))
        seconds = time.monotonic() - started
    run, programs = outcome(campaign)
    print(f"\nMEASURE slow replies (0.7 s, timeout 1 s): {seconds:.1f} s, candidates spent "
          f"{len(programs) - 1}, final state {run.status}, "
          f"failed calls {campaign.proposer.health.calls_failed}")
    assert run.status == "finished" and reason.startswith("candidate budget")
    # two candidates of the same parent get the same reply: the second is a duplicate, not a failure
    assert {p.status for p in programs[1:]} <= {"ok", "duplicate"} and len(programs) == 5
    assert campaign.proposer.health.calls_failed == 0


def test_replies_just_past_the_timeout_stop_the_campaign(runs_dir: Path):
    with FakeLLMServer(responder=lambda body: towards_3(body, delay_s=1.3)) as server:
        campaign = start(runs_dir, 100, server)
        started = time.monotonic()
        with Watch(campaign, "no reply within timeout_s=1") as watch:
            reason = asyncio.run(evolve(campaign))
        seconds = time.monotonic() - started
    run, programs = outcome(campaign)
    seen = watch.seen_at - server.arrived_at[0]
    print(f"\nMEASURE slow replies (1.3 s, timeout 1 s): reason visible {seen:.2f} s after the "
          f"first call, stopped after {seconds:.1f} s, candidates spent "
          f"{len(programs) - 1} of 100, final state {run.status}")
    assert run.status == "stopped" and "no reply within timeout_s=1" in run.stop_reason
    assert reason == run.stop_reason
    assert seen < 3  # the 1 s timeout, then the reason
    assert len(programs) - 1 <= FAST["stop_after_failed_proposals"] + FAST["concurrency"]


@pytest.mark.parametrize("transport", ["auto", "litellm"])
def test_outage_stops_the_campaign_and_resume_continues_after_recovery(runs_dir: Path,
                                                                      transport: str):
    served = []

    def respond(body: dict[str, Any]) -> Reply:
        served.append(1)
        return towards_3(body)

    with FakeLLMServer(responder=respond) as server:
        campaign = start(runs_dir, 30, server, transport=transport)
        went_down = {}

        def outage() -> None:  # after 5 answered calls, stop listening
            while len(served) < 5:
                time.sleep(0.01)
            server.go_down()
            went_down["at"] = time.monotonic()

        killer = threading.Thread(target=outage, daemon=True)
        killer.start()
        with Watch(campaign, "connection refused") as watch:
            reason = asyncio.run(evolve(campaign))
        stopped_after = time.monotonic() - went_down["at"]
        run, before = outcome(campaign)
        seen = watch.seen_after - (went_down["at"] - watch.started)
        print(f"\nMEASURE outage (connection refused, {transport}): reason visible {seen:.2f} s after the "
              f"outage, stopped {stopped_after:.1f} s after it (limit: "
              f"{FAST['stop_after_unavailable_s']:g} s paused or "
              f"{FAST['stop_after_failed_proposals']} failed proposals), candidates spent "
              f"{len(before) - 1} of 30, final state {run.status}")
        assert run.status == "stopped" and "connection refused" in run.stop_reason
        assert reason.startswith("LLM unavailable")
        assert seen < 3
        assert stopped_after < FAST["stop_after_unavailable_s"] + 4 * FAST["max_wait_s"]
        # the programs made from the 5 answered calls (some may be duplicates of each other)
        ok_before = {p.seq: (p.status, p.code) for p in before if p.status != "proposal_error"}
        assert len(ok_before) >= 5
        server.come_back()
        resumed = resume_campaign(campaign.run_id, runs_dir, None, budget=None)
        reason = asyncio.run(evolve(resumed))
    run, after = outcome(resumed)
    print(f"MEASURE outage recovery: resumed to {len(after) - 1} candidates, final state "
          f"{run.status}")
    assert run.status == "finished" and reason.startswith("candidate budget")
    assert [p.seq for p in after] == list(range(31))  # every candidate, once
    assert {p.seq: (p.status, p.code) for p in after if p.seq in ok_before} == ok_before


def test_adrs_run_says_stopped_and_exits_3_when_the_llm_is_gone(runs_dir: Path, tmp_path: Path):
    from typer.testing import CliRunner

    from adrs.cli.main import app

    config = tmp_path / "fast.yaml"
    with FakeLLMServer(responder=lambda body: Reply(status=503)) as server:
        lines = "".join(f"  {k}: {v}\n" for k, v in {**FAST, "api_base": server.url}.items())
        config.write_text(f"llm:\n{lines}evolution:\n  budget: 50\n  workers: 1\n")
        result = CliRunner().invoke(app, ["run", str(TOY_PROBLEM), "--config", str(config),
                                          "--runs-dir", str(runs_dir), "--progress-every", "0.5"])
    assert result.exit_code == 3, result.output
    assert "pre-flight: openai/test-model at" in result.output  # a 503 is only a warning
    assert "stopped: LLM unavailable" in result.output and "server error (HTTP 503)" in result.output
    assert "the run is stopped, not finished" in result.output and "adrs resume" in result.output
    assert "last LLM error: openai/test-model: server error (HTTP 503)" in result.output
    assert re.search(r"proposal-fail \d+", result.output)
