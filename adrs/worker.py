"""Score one candidate on one split, safely: the only place where a failure of the trusted
evaluator (it cannot be loaded, or it raises while scoring) becomes an ``evaluator_error`` result
instead of an exception, and a failure of the sandbox itself an ``infra_error`` (retried by
``adrs.retry``). Runs inside a Ray worker (``evaluate_candidate``) or a local thread
(``adrs.executor.LocalExecutor``). Never touches the database; returns an EvalResult value,
stamped in a Ray worker with the node that produced it (``EvalResult.node``)."""

from __future__ import annotations

import functools
import traceback
from collections.abc import Callable
from dataclasses import replace

from adrs.evaluation import EvalResult, Evaluator, Split, evaluate_program
from adrs.problem import load_problem
from adrs.sandbox import Limits, SandboxError
from adrs.status import Status


@functools.lru_cache(maxsize=8)
def evaluator_for(problem_root: str) -> Evaluator:
    return load_problem(problem_root).load_evaluator()


def evaluate_safely(load: Callable[[], Evaluator], code: str, split: Split,
                    limits: Limits) -> EvalResult:
    """Evaluate ``code`` with the evaluator ``load()`` returns; evaluator failures become results."""
    try:
        evaluator = load()
    except Exception:
        where = f" on Ray node {node_label()}" if node_label() else ""
        return EvalResult.failure(Status.EVALUATOR_ERROR, f"the evaluator failed to load{where}:\n"
                                  + traceback.format_exc(limit=-8))
    try:
        return evaluate_program(code, evaluator, split, limits)
    except SandboxError as err:  # the sandbox itself failed (e.g. its server died): infrastructure
        return EvalResult.failure(Status.INFRA_ERROR, f"the sandbox failed: {err}")
    except Exception:
        return EvalResult.failure(Status.EVALUATOR_ERROR, "the evaluator raised while scoring:\n"
                                  + traceback.format_exc(limit=-8))


def evaluate_candidate(code: str, problem_root: str, split: Split, limits: Limits) -> EvalResult:
    """The Ray task: ``evaluate_safely`` with the problem's evaluator, loaded once per process,
    stamped with the node that ran it."""
    result = evaluate_safely(functools.partial(evaluator_for, problem_root), code, split, limits)
    return replace(result, node=node_label())


@functools.cache
def node_label() -> str:
    """This process's Ray node as ``<ip>/<first 12 hex digits of the node id>`` ("" outside Ray)."""
    import sys

    ray = sys.modules.get("ray")  # never import Ray just to ask
    if ray is None or not ray.is_initialized():
        return ""
    return f"{ray.util.get_node_ip_address()}/{ray.get_runtime_context().get_node_id()[:12]}"
