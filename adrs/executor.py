"""One way to evaluate: ``Executor.evaluate(code, split)`` returns an awaitable EvalResult.

``RayExecutor`` (campaigns) runs ``adrs.worker.evaluate_candidate`` as a Ray task and awaits the
task's ObjectRef directly (no polling); a task whose worker died twice becomes an ``infra_error``.
``LocalExecutor`` (``adrs check``, ``adrs best``, the end-of-run report) runs the same
``adrs.worker.evaluate_safely`` in threads of this process (each candidate still runs in its own
sandboxed subprocess). Either way an evaluator that fails yields an ``evaluator_error`` result, never
an exception. ``evaluate_all`` is the synchronous helper for callers without an event loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

from adrs.errors import CampaignError
from adrs.evaluation import EvalResult
from adrs.status import Status
from adrs.worker import evaluate_safely

if TYPE_CHECKING:
    from adrs.evaluation import Evaluator, Split
    from adrs.sandbox import Limits


class Executor(Protocol):
    def evaluate(self, code: str, split: Split) -> Awaitable[EvalResult]: ...

    def cancel(self) -> None:
        """Stop every evaluation still running (best effort)."""


class RayExecutor:
    """Evaluations as Ray tasks (Ray must be running: ``adrs.campaign.start_ray``)."""

    def __init__(self, problem_root: str, limits: Limits) -> None:
        import ray

        from adrs.worker import evaluate_candidate

        if not ray.is_initialized():
            raise CampaignError("Ray is not initialized (call adrs.campaign.start_ray first)")
        self._ray = ray
        self._task = ray.remote(num_cpus=1, max_retries=1)(evaluate_candidate)
        self.problem_root, self.limits = problem_root, limits
        self._running: set[Any] = set()

    async def evaluate(self, code: str, split: Split) -> EvalResult:
        ref = self._task.remote(code, self.problem_root, split, self.limits)
        self._running.add(ref)
        try:
            return await ref
        except asyncio.CancelledError:
            raise
        except Exception as err:  # the worker died twice, the raylet is gone, ...
            return EvalResult.failure(Status.INFRA_ERROR, f"the evaluation's Ray worker failed "
                                      f"(retried once): {type(err).__name__}: {str(err)[:2000]}")
        finally:
            self._running.discard(ref)

    def cancel(self) -> None:
        for ref in list(self._running):
            try:
                self._ray.cancel(ref, force=True)
            except Exception:  # already finished or the cluster is gone: nothing left to stop
                pass


class LocalExecutor:
    """Evaluations in ``workers`` threads of this process, with the evaluator ``load()`` returns."""

    def __init__(self, load: Callable[[], Evaluator], limits: Limits, workers: int = 2,
                 ready: Mapping[tuple[str, str], Future[EvalResult]] | None = None) -> None:
        self.limits = limits
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers))
        self._load, self._loaded, self._lock = load, None, threading.Lock()
        self._ready = dict(ready or {})  # (code, split) -> an evaluation already under way (adrs.warm_start)

    def load(self) -> Evaluator:
        """The evaluator, loaded once (a load that raises is tried again next time)."""
        with self._lock:
            if self._loaded is None:
                self._loaded = self._load()
            return self._loaded

    def evaluate(self, code: str, split: Split) -> Awaitable[EvalResult]:
        future = self._ready.pop((code, split), None)
        if future is None:
            future = self._pool.submit(evaluate_safely, self.load, code, split, self.limits)
        return asyncio.wrap_future(future)

    def cancel(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def evaluate_all(executor: Executor, jobs: Mapping[str, tuple[str, Split]]) -> dict[str, EvalResult]:
    """Evaluate every named (code, split) job and wait for all of them (no event loop needed)."""
    async def gather() -> dict[str, EvalResult]:
        results = await asyncio.gather(*(executor.evaluate(code, split)
                                         for code, split in jobs.values()))
        return dict(zip(jobs, results, strict=True))

    return asyncio.run(gather()) if jobs else {}
