"""Golden lineages: a fixed ``--seed`` and budget with the offline mutator must give exactly the
lineage recorded before the loop was restructured (issue 13): seq, parent seq, kind, status and
score of every program, on smtt, on the ``adrs new`` scaffold and on the toy problem with a
deterministic fake LLM (which exercises template choice and the fix/crossover fallbacks).

History: recorded before issue 13's restructuring, which left all three unchanged; re-recorded
when duplicates stopped being evaluated (adrs.dedup): in each case the first difference was the
first ``duplicate``. The fake LLM then became five models (the candidate's seed picks one), so
equal prompts get different replies instead of a run of duplicates. The llm lineage was re-recorded
when the window became workers + 2 x concurrency (issue 15, latency hiding: a candidate sees
programs 6 instead of 4 candidates older); smtt and scaffold (offline, concurrency 0) are unchanged.

Re-record (only after a deliberate change of the search itself) with
``ADRS_RECORD_GOLDEN=1 pytest tests/integration/test_golden_lineage.py``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from adrs.campaign import new_campaign
from adrs.config import load_run_config
from adrs.db.models import Program
from adrs.evolve import evolve
from adrs.scaffold import new_problem
from tests.conftest import REPO, TOY_PROBLEM
from tests.llm_server import FakeLLMServer, Reply

pytestmark = pytest.mark.usefixtures("ray_session")

GOLDEN = REPO / "tests" / "golden"
CASES = {"smtt": {"budget": 30, "seed": 11}, "scaffold": {"budget": 40, "seed": 5},
         "llm": {"budget": 40, "seed": 4}}
RETURN = re.compile(r"return x \* (\S+)")


def respond(body: dict) -> Reply:
    """Five deterministic fake models for the toy problem: from the model's name and the programs in
    the prompt (the current one first) each picks, by hash, a new constant, a reply without a
    patch, or a broken program. The candidate's seed picks the model, so equal prompts still get
    different replies."""
    text = [m for m in body["messages"] if m["role"] == "user"][-1]["content"]
    found = RETURN.findall(text)
    assert found, "no program in the prompt"
    # the programs' constants, not the wording: a changed template must not change the lineage
    pick = int(hashlib.sha256(" ".join([body["model"], *found]).encode()).hexdigest(), 16)
    if pick % 10 == 0:
        return Reply(content="I would not change anything.")
    new = "oops" if pick % 10 in (1, 2, 3) else repr(round(0.1 + pick % 1000 / 200, 3))
    return Reply(content=f"```python\n<<<<<<< SEARCH\n    return x * {found[0]}\n=======\n"
                         f"    return x * {new}\n>>>>>>> REPLACE\n```\n")


def lineage(problem: str, runs_dir: Path, budget: int, seed: int, llm: dict | None = None
            ) -> list[dict]:
    templates = {"diff": 0.3, "rewrite": 0.2, "crossover": 0.2, "fix": 0.3}
    config = load_run_config(overrides={"evolution": {"budget": budget, "seed": seed, "workers": 2},
                                        "llm": llm or {}, "prompt": {"templates": templates},
                                        "db": {"runs_dir": str(runs_dir)}})
    campaign = new_campaign(problem, config)
    asyncio.run(evolve(campaign))
    with Session(campaign.engine) as session:
        rows = session.scalars(select(Program).where(Program.run_id == campaign.run_id)
                               .order_by(Program.seq)).all()
        seq_of = {r.id: r.seq for r in rows}
        return [{"seq": r.seq, "parent": seq_of.get(r.parent_id), "kind": r.kind,
                 "status": r.status, "score": r.score} for r in rows]


@pytest.mark.parametrize("case", sorted(CASES))
def test_same_seed_gives_the_recorded_lineage(case: str, runs_dir: Path, tmp_path: Path) -> None:
    if case == "llm":
        with FakeLLMServer(responder=respond) as server:
            models = [{"model": f"openai/fake-{k}", "api_base": server.url} for k in range(5)]
            llm = {"models": models, "max_retries": 0, "concurrency": 2}
            got = lineage(str(TOY_PROBLEM), runs_dir, **CASES[case], llm=llm)
    else:
        problem = "smtt" if case == "smtt" else str(new_problem("golden_pack", tmp_path))
        got = lineage(problem, runs_dir, **CASES[case])
    path = GOLDEN / f"lineage_{case}.json"
    if os.environ.get("ADRS_RECORD_GOLDEN"):
        path.write_text(json.dumps(got, indent=1) + "\n")
    expected = json.loads(path.read_text())
    assert [{**p, "score": None} for p in got] == [{**p, "score": None} for p in expected]
    for mine, recorded in zip(got, expected, strict=True):
        assert (mine["score"] is None) == (recorded["score"] is None)
        if recorded["score"] is not None:
            assert mine["score"] == pytest.approx(recorded["score"], rel=1e-12), mine
