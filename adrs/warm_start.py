"""What ``adrs run`` starts before it imports the database layer: the seed's evaluation, and for
LLM campaigns the litellm import (seconds) that the first proposal will need, and the models'
pre-flight check (``EarlyPreflight``), answered while the run's database is built aside.

The seed is evaluated on the training instances in a background thread (loading the evaluator and
starting the warm sandbox server on the way) while the CLI imports SQLAlchemy and creates the run;
the loop's local executor then hands out that result instead of evaluating the seed again. Same
code, split, limits and evaluator: only the order of work changes. Does nothing for Ray runs.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future

from adrs.config import LLMConfig
from adrs.evaluation import EvalResult, Evaluator
from adrs.executor import LocalExecutor
from adrs.problem import ProblemSpec
from adrs.sandbox import Limits
from adrs.worker import evaluate_safely


def preload_litellm() -> None:
    """Import litellm in a daemon thread (the LLM proposer imports it on its first call)."""
    from adrs.proposer.llm import load_litellm

    threading.Thread(target=_quietly, args=(load_litellm,), name="adrs-litellm-import", daemon=True).start()


def _quietly(function) -> None:  # noqa: ANN001
    try:
        function()
    except Exception:  # the first proposal imports it again and reports the error
        pass


class EarlyPreflight:
    """``adrs.preflight.check_models`` started now in a daemon thread; ``lines`` waits for its
    lines (or raises its CampaignError)."""

    def __init__(self, llm: LLMConfig, patience_s: float = 10.0) -> None:
        self.result: Future[list[str]] = Future()
        ready = threading.Event()
        threading.Thread(target=self._run, args=(llm, ready), name="adrs-preflight",
                         daemon=True).start()
        ready.wait(patience_s)  # the SDKs imported without competing imports: the question leaves now

    def _run(self, llm: LLMConfig, ready: threading.Event) -> None:
        from adrs.preflight import check_models
        from adrs.proposer.transport import import_direct_sdks

        try:
            import_direct_sdks(llm)  # not litellm: seconds
            ready.set()
            self.result.set_result([check.line() for check in check_models(llm)])
        except BaseException as err:  # noqa: BLE001 - raised again by ``lines``
            ready.set()
            self.result.set_exception(err)

    def lines(self) -> list[str]:
        return self.result.result()


class SeedFirst:
    """The seed's train evaluation, started now in a daemon thread."""

    def __init__(self, spec: ProblemSpec, limits: Limits) -> None:
        self.spec, self.limits = spec, limits
        self.result: Future[EvalResult] = Future()
        self._evaluator: Evaluator | None = None
        self._lock = threading.Lock()
        threading.Thread(target=self._run, name="adrs-seed-first", daemon=True).start()

    def load(self) -> Evaluator:
        with self._lock:
            if self._evaluator is None:
                self._evaluator = self.spec.load_evaluator()
            return self._evaluator

    def _run(self) -> None:
        try:
            self.result.set_result(evaluate_safely(self.load, self.spec.seed_code, "train", self.limits))
        except BaseException as err:  # noqa: BLE001 - handed to whoever awaits the seed
            self.result.set_exception(err)

    def executor(self, limits: Limits, workers: int) -> LocalExecutor:
        """A local executor that answers the seed's train evaluation with the result started here
        (only if the campaign's limits are the ones it ran with)."""
        ready = {(self.spec.seed_code, "train"): self.result} if limits == self.limits else {}
        return LocalExecutor(self.load, limits, workers, ready=ready)
