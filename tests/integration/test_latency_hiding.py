"""LLM latency hiding: when a wave of ``llm.concurrency`` replies arrives, the next wave of requests
leaves at once; it does not wait for the first wave's evaluations (``evolve`` plans that many
candidates ahead, ``loopstate.in_flight_window``). A scripted proposer that answers after a fixed
delay and an executor that evaluates one program at a time, slowly, make the timeline exact."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from adrs.campaign import new_campaign
from adrs.config import load_run_config
from adrs.evaluation import EvalResult
from adrs.evolve import evolve
from adrs.proposer import BaseProposer, Proposal
from adrs.status import Status
from tests.conftest import TOY_PROBLEM

CONCURRENCY, REPLY_S, EVAL_S = 4, 0.4, 0.06  # the evaluations keep up: 4 x 0.06 < 0.4


class SlowLLM(BaseProposer):
    """Answers every prompt after REPLY_S, at most CONCURRENCY at once; records when each started
    and replied."""

    name = "llm"
    concurrency = CONCURRENCY

    def __init__(self) -> None:
        self.started: list[float] = []
        self.replied: list[float] = []
        self._limit: asyncio.Semaphore | None = None

    async def propose(self, prompt) -> Proposal:  # noqa: ANN001
        self._limit = self._limit or asyncio.Semaphore(CONCURRENCY)
        async with self._limit:
            self.started.append(time.perf_counter())
            n = len(self.started)  # a new program each time: no duplicates
            await asyncio.sleep(REPLY_S)
            self.replied.append(time.perf_counter())
            return Proposal(text=f"<<<<<<< SEARCH\n    return x * 0.5\n=======\n    return x * {n}.5\n"
                                 f">>>>>>> REPLACE\n", kind="diff", proposer="llm")


class OneSlowWorker:
    """One evaluation at a time, EVAL_S each; records when each program's ended."""

    def __init__(self) -> None:
        self.ended: list[float] = []
        self._one: asyncio.Lock | None = None

    async def evaluate(self, code: str, split: str) -> EvalResult:
        self._one = self._one or asyncio.Lock()
        async with self._one:
            await asyncio.sleep(EVAL_S)
            if "guess" in code:  # the seed or a candidate (not the baseline)
                self.ended.append(time.perf_counter())
        return EvalResult(Status.OK, 1.0)

    def cancel(self) -> None:
        pass


def test_the_next_wave_of_requests_does_not_wait_for_the_evaluations(runs_dir: Path) -> None:
    config = load_run_config(overrides={"evolution": {"budget": 3 * CONCURRENCY, "workers": 1},
                                        "db": {"runs_dir": str(runs_dir)}})
    campaign = new_campaign(str(TOY_PROBLEM), config)
    llm, worker = SlowLLM(), OneSlowWorker()
    campaign.proposer, campaign.executor = llm, worker
    asyncio.run(evolve(campaign))
    assert len(llm.started) == 3 * CONCURRENCY
    for wave in (1, 2):
        # each wave leaves as soon as the previous one replied, before any of its evaluations
        # ended; the old window, workers + concurrency, started one request per evaluation
        replied = max(llm.replied[(wave - 1) * CONCURRENCY:wave * CONCURRENCY])
        left = max(llm.started[wave * CONCURRENCY:(wave + 1) * CONCURRENCY])
        assert not [t for t in worker.ended if replied < t < left], (wave, llm.started, worker.ended)
