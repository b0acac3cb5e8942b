"""The LLM path through the whole loop, against a local OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from adrs.campaign import new_campaign
from adrs.config import load_run_config
from adrs.db.models import LLMCall, Program
from adrs.evolve import evolve
from tests.conftest import TOY_PROBLEM
from tests.llm_server import FakeLLMServer, Reply


def diff(new: str) -> str:
    return ("Scale differently.\n```\n<<<<<<< SEARCH\n    return x * 0.5\n=======\n"
            f"    return x * {new}\n>>>>>>> REPLACE\n```\n")


def test_llm_campaign_records_calls_prompts_and_patch_failures(ray_session, runs_dir: Path,
                                                               monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    replies = [Reply(diff("3.0")), Reply("I would rather not change anything."), Reply(diff("2.0")),
               Reply("```\n<<<<<<< SEARCH\n# EVOLVE-BLOCK-END\n=======\n\n>>>>>>> REPLACE\n```")]
    with FakeLLMServer(replies) as server:
        config = load_run_config(overrides={
            "llm": {"model": "openai/test-model", "api_base": server.url, "max_retries": 0},
            "evolution": {"budget": 4, "workers": 2},
            "db": {"runs_dir": str(runs_dir)}})
        campaign = new_campaign(str(TOY_PROBLEM), config)
        asyncio.run(evolve(campaign))
        assert len(server.requests) == 4
    with Session(campaign.engine) as session:
        rows = session.scalars(select(Program).where(Program.seq > 0).order_by(Program.seq)).all()
        assert sorted(r.status for r in rows) == ["ok", "ok", "patch_error", "patch_error"]
        assert sorted(r.score for r in rows if r.status == "ok") == [0.0, 1.0]
        assert all(r.prompt and "EVOLVE-BLOCK" in r.prompt for r in rows)
        assert all(r.model == "openai/test-model" for r in rows)
        failures = [r.feedback for r in rows if r.status == "patch_error"]
        assert all(failures) and any("marker" in f.lower() for f in failures)
        calls = session.scalars(select(LLMCall)).all()
        assert len(calls) == 4 and all(c.prompt_tokens == 11 and c.completion_tokens == 7 for c in calls)


@pytest.mark.usefixtures("ray_session")
def test_llm_failure_is_recorded_and_the_campaign_goes_on(runs_dir: Path, monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    with FakeLLMServer([Reply(status=500), Reply(diff("2.5"))]) as server:
        config = load_run_config(overrides={
            "llm": {"model": "openai/test-model", "api_base": server.url, "max_retries": 0,
                    "concurrency": 1},
            "evolution": {"budget": 2, "workers": 1},
            "db": {"runs_dir": str(runs_dir)}})
        campaign = new_campaign(str(TOY_PROBLEM), config)
        asyncio.run(evolve(campaign))
    with Session(campaign.engine) as session:
        statuses = [r.status for r in session.scalars(select(Program).order_by(Program.seq))]
        assert statuses[0] == "ok" and sorted(statuses[1:]) == ["ok", "proposal_error"]
        errors = [c.error for c in session.scalars(select(LLMCall))]
        assert len(errors) == 2 and sum(bool(e) for e in errors) == 1
