"""Forged clocks gain nothing: call times are measured by the sandbox's parent process.

Each forgery is tried on txn (a per-call budget: the program searches past it while its clock says
otherwise), eplb (rebalance time in the score) and a timed objective added to the `adrs new`
scaffold: the harness's module-global clock replaced, the `time` module patched, `perf_counter`
replaced through `sys.modules`, a thread that freezes the harness's clock while the call runs, and a
program that is fast on its first call and slow after. txn answers are stopped by the parent at twice
budget + slack (timeout); eplb and the scaffold see at least the time the program really slept.
"""

from __future__ import annotations

import statistics
from dataclasses import replace

import numpy as np
import pytest

from adrs.evaluation import EvalResult, Objective, evaluate_program
from adrs.problem import load_problem
from adrs.resources import builtin_dir, import_package_from_dir
from adrs.sandbox import Limits
from adrs.scaffold import new_problem

LIMITS = Limits(timeout_s=30.0, cpu_s=30, memory_mb=1024)
SLEEP_S = 0.03  # what the slow programs really spend per call

FORGERIES = {
    "module_global_clock": """
import __main__ as _m, time as _t
_real, _t0 = _t.perf_counter, _t.perf_counter()
_m.perf_counter = lambda: _t0 + (_real() - _t0) / 50
""",
    "time_module_patched": """
import __main__ as _m, time as _t
_real, _t0 = _t.perf_counter, _t.perf_counter()
_t.perf_counter = _t.monotonic = _m.perf_counter = lambda: _t0 + (_real() - _t0) / 50
""",
    "perf_counter_through_sys_modules": """
import sys, types
_real_time = sys.modules["time"]
_fake = types.ModuleType("time")
_fake.__dict__.update(vars(_real_time))
_t0 = _real_time.perf_counter()
_fake.perf_counter = lambda: _t0 + (_real_time.perf_counter() - _t0) / 50
sys.modules["time"] = _fake
sys.modules["__main__"].perf_counter = _fake.perf_counter
""",
    "thread_freezes_the_clock": """
import threading, time as _t, __main__ as _m
def _freeze():
    while True:
        _m.perf_counter = lambda: 1.0
        _t.sleep(0.0005)
threading.Thread(target=_freeze, daemon=True).start()
""",
    "fast_first_call_slow_after": "",  # the program itself changes pace (see slow_wrapper)
}

SLOW_WRAPPER = """
import time as _time_for_sleep
_calls = [0]
_original_entry = {entry}
def {entry}(*args, **kwargs):
    _calls[0] += 1
    if _calls[0] > 1 or not {fast_first}:
        _time_for_sleep.sleep({sleep})
    return _original_entry(*args, **kwargs)
"""


def slowed(program: str, entry: str, forgery: str) -> str:
    fast_first = forgery == "fast_first_call_slow_after"
    return (FORGERIES[forgery] + "\n" + program + "\n"
            + SLOW_WRAPPER.format(entry=entry, fast_first=fast_first, sleep=SLEEP_S))


# --- txn: a per-call budget ---------------------------------------------------------------------

txn = import_package_from_dir(builtin_dir("evaluators") / "txn", "adrs_evaluator_txn")
TXN = {"budget": {"ms_per_txn": 1.0, "slack_s": 0.05}, "smf_seeds": 2,
       "train": {"seed": 1, "families": ["rxw", "ycsb"], "sizes": [60]},
       "validation": {"seed": 2, "families": ["hotkey"], "sizes": [12]},
       "holdout": {"seed": 3, "families": ["tpcc"], "sizes": [12]}}


def txn_program(search_factor: float) -> str:
    """Searches until its own clock says ``search_factor`` x the call's budget has passed."""
    return f"""
import time
def schedule(workload):
    start = time.perf_counter()
    order = list(range(workload.n))
    while time.perf_counter() < start + {search_factor} * workload.budget_s:
        pass
    return order
"""


@pytest.fixture(scope="module")
def txn_evaluator(tmp_path_factory: pytest.TempPathFactory):
    return txn.make_evaluator(TXN, problem_root=tmp_path_factory.mktemp("txn"))


def test_txn_honest_search_within_budget_is_valid(txn_evaluator) -> None:
    result = evaluate_program(txn_program(0.5), txn_evaluator, "train", LIMITS)
    assert result.status == "ok", result.feedback


@pytest.mark.parametrize("forgery", sorted(set(FORGERIES) - {"fast_first_call_slow_after"}))
def test_txn_search_past_the_budget_is_stopped_whatever_the_clock_says(txn_evaluator, forgery: str) -> None:
    result = evaluate_program(FORGERIES[forgery] + txn_program(4.0), txn_evaluator, "train", LIMITS)
    assert result.status == "timeout", result.feedback
    assert "time limit" in result.feedback and result.score is None


def test_txn_fast_first_call_then_slow_is_stopped(txn_evaluator) -> None:
    code = txn_program(0.1) + """
_calls = [0]
_search = schedule
def schedule(workload):
    _calls[0] += 1
    if _calls[0] > 1:
        time.sleep(8 * workload.budget_s)
    return _search(workload)
"""
    result = evaluate_program(code, txn_evaluator, "train", LIMITS)
    assert result.status == "timeout" and "Call 2 of 2" in result.feedback, result.feedback


# --- eplb: time in the score ---------------------------------------------------------------------

eplb = import_package_from_dir(builtin_dir("evaluators") / "eplb", "adrs_evaluator_eplb")
EPLB = {
    "cluster": {"experts": 32, "replicas": 40, "groups": 4, "nodes": 2, "gpus": 4},
    "scoring": {"time_weight": 1.0, "time_floor_ms": 1.0},
    "train": {"seed": 1, "layers": 3, "windows": 3, "window_steps": 5, "tokens_per_step": 256,
              "mixes": ["chat"]},
    "validation": {"seed": 2, "layers": 3, "windows": 3, "window_steps": 5, "mixes": ["code"]},
    "holdout": {"seed": 3, "layers": 4, "windows": 2, "window_steps": 5, "mixes": ["mixed"]},
}
DEEPSEEK = (builtin_dir("problems") / "eplb" / "baselines" / "deepseek.py").read_text()


@pytest.fixture(scope="module")
def eplb_evaluator(tmp_path_factory: pytest.TempPathFactory):
    return eplb.make_evaluator(EPLB, tmp_path_factory.mktemp("eplb"))


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
def test_eplb_rebalance_time_is_the_real_one(eplb_evaluator, forgery: str) -> None:
    result = evaluate_program(slowed(DEEPSEEK, "rebalance_experts", forgery), eplb_evaluator, "train", LIMITS)
    assert result.status == "ok", result.feedback
    assert result.metrics["rebalance_ms"] >= 1000 * SLEEP_S
    honest = evaluate_program(DEEPSEEK, eplb_evaluator, "train", LIMITS)
    assert result.metrics["balancedness_pct"] == honest.metrics["balancedness_pct"]
    assert result.score < honest.score  # slower, and the forged clock did not hide it


# --- the `adrs new` scaffold with a timed objective ----------------------------------------------


class TimedScaffold:
    """The scaffold's evaluator plus a timed objective: mean milliseconds per call."""

    def __init__(self, base) -> None:
        self.base, self.entry = base, base.entry
        self.objectives = (*base.objectives, Objective("call_ms", "minimize", timed=True))

    def calls(self, split: str):
        return self.base.calls(split)

    def score(self, split: str, outputs, call_times_s) -> EvalResult:
        result = self.base.score(split, outputs, call_times_s)
        return replace(result, metrics={**result.metrics,
                                        "call_ms": 1000 * statistics.mean(call_times_s)})


@pytest.fixture(scope="module")
def scaffold(tmp_path_factory: pytest.TempPathFactory):
    root = new_problem("clockpack", tmp_path_factory.mktemp("scaffold"))
    spec = load_problem(str(root))
    return spec, TimedScaffold(spec.load_evaluator())


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
def test_scaffold_timed_objective_is_the_real_time(scaffold, forgery: str) -> None:
    spec, evaluator = scaffold
    result = evaluate_program(slowed(spec.seed_code, spec.entry, forgery), evaluator, "train", LIMITS)
    assert result.status == "ok", result.feedback
    calls = len(evaluator.calls("train"))
    slept = SLEEP_S * (calls - 1 if forgery == "fast_first_call_slow_after" else calls) / calls
    assert result.metrics["call_ms"] >= 1000 * slept


def test_the_reported_time_is_never_below_what_the_harness_measured() -> None:
    """The harness's own measurement must fit inside the parent's: a clock running backwards is
    rejected as inconsistent (the hostile suite's forge_call_times), one running slow is ignored."""
    from adrs.sandbox import run_program

    code = FORGERIES["module_global_clock"] + "import time\ndef f(x):\n    time.sleep(0.05)\n    return 0\n"
    outcome = run_program(code, "f", [{"x": np.arange(2)}] * 3, LIMITS)
    assert outcome.status == "ok" and min(outcome.call_times_s) >= 0.05

