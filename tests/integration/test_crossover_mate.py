"""A crossover's second parent is stored in program.mate_id (its note still names it): a campaign
with the crossover template against the local fake LLM server, then `adrs show` on its rows."""

from __future__ import annotations

import asyncio
import hashlib
import re
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
from tests.conftest import TOY_PROBLEM
from tests.llm_server import FakeLLMServer, Reply

RETURN = re.compile(r"return x \* (\S+)")
NOTE = re.compile(r"crossover with program #(\d+)")


def respond(body: dict) -> Reply:
    """A patch of the prompt's first program (the parent) to a constant picked by hash."""
    text = [m for m in body["messages"] if m["role"] == "user"][-1]["content"]
    old = RETURN.findall(text)[0]
    new = round(0.1 + int(hashlib.sha256(text.encode()).hexdigest(), 16) % 1000 / 250, 3)
    return Reply(content=f"```python\n<<<<<<< SEARCH\n    return x * {old}\n=======\n"
                         f"    return x * {new}\n>>>>>>> REPLACE\n```\n")


@pytest.fixture(scope="module")
def crossover_run(ray_session, tmp_path_factory) -> tuple[Path, str, list[Program]]:
    runs = tmp_path_factory.mktemp("mate") / "runs"
    with pytest.MonkeyPatch.context() as patch, FakeLLMServer(responder=respond) as server:
        patch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
        config = load_run_config(overrides={
            "llm": {"model": "openai/fake-model", "api_base": server.url, "max_retries": 0,
                    "concurrency": 1},  # one island, a short window: mates are found early
            "prompt": {"templates": {"diff": 0.3, "crossover": 0.7}},
            "evolution": {"budget": 14, "workers": 2, "seed": 2, "islands": 1},
            "db": {"runs_dir": str(runs)}})
        campaign = new_campaign(str(TOY_PROBLEM), config)
        asyncio.run(evolve(campaign))
    with Session(campaign.engine) as session:
        rows = list(session.scalars(select(Program).order_by(Program.seq)))
        session.expunge_all()
    campaign.engine.dispose()
    return runs, campaign.run_id, rows


def test_every_crossover_stores_its_second_parent(crossover_run) -> None:
    _, run_id, rows = crossover_run
    ids = {r.id for r in rows}
    crossovers = [r for r in rows if r.kind == "crossover"]
    assert len(rows) == 15 and len(crossovers) >= 3  # the template was drawn and found mates
    for r in rows:
        named = NOTE.match(r.note)
        assert r.mate_id == (int(named.group(1)) if named else None), (r.seq, r.kind, r.note)
        assert (r.mate_id is not None) == (r.kind == "crossover")
    for r in crossovers:
        assert r.mate_id in ids and r.mate_id not in (r.id, r.parent_id) and r.run_id == run_id


def test_show_prints_both_parents_of_a_crossover(crossover_run) -> None:
    runs, run_id, rows = crossover_run
    crossover = next(r for r in rows if r.kind == "crossover")
    other = next(r for r in rows if r.kind == "diff")
    for row, expected in ((crossover, f"parent {crossover.parent_id}, crossover with #{crossover.mate_id}\n"),
                          (other, f"parent {other.parent_id}\n")):
        shown = CliRunner().invoke(app, ["show", str(row.id), "--run", run_id, "--runs-dir", str(runs)])
        assert shown.exit_code == 0, shown.output
        assert expected in shown.output
