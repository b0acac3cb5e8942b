"""``adrs check``: does a problem's evaluator judge programs the way the loop relies on?

Runs the seed and the baselines, scores the seed twice (determinism) and builds the evaluator twice
(same instances), feeds deliberately bad programs (one that raises, one that does not compile, one
that hangs, several that return garbage) and expects each to be scored as a failure, checks that no
holdout instance is handed to the candidate with the training or validation calls, runs a probe
program in the sandbox that tries to read the problem's and the evaluator's files (reporting what
actually happens on this host), and compares the evaluation time with the configured limits.
Every check is one ``CheckRow`` with a fix. This module prints nothing (see ``adrs.cli.author``).
"""

from __future__ import annotations

import ast
import dataclasses
import math
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from adrs.config import ConfigError
from adrs.evaluation import EvalResult, objectives_of, selection_objective, splits_of
from adrs.executor import LocalExecutor, evaluate_all
from adrs.problem import ProblemSpec, load_problem
from adrs.sandbox import Limits, isolation_level, run_program
from adrs.sandbox_packages import sandbox_runtime

Verdict = Literal["pass", "fail", "warn"]

GARBAGE = {"None": "None", "NaN": "float('nan')", "a string": "'garbage'", "-1": "-1",
           "an empty list": "[]", "a dict": "{'answer': 1}"}
HEADROOM = 0.5  # the seed's evaluation should take at most this share of the time limit
MAX_PROBED_FILES = 400

_PROBE = '''
def probe(paths):
    """Try to read each file; return those that could be read (the sandbox should allow none)."""
    readable = []
    for path in paths.split("\\n"):
        try:
            with open(path, "rb") as f:
                f.read(16)
            readable.append(path)
        except OSError:
            pass
    return readable
'''


@dataclass(frozen=True)
class CheckRow:
    name: str
    verdict: Verdict
    detail: str
    fix: str = ""


@dataclass
class _Context:
    spec: ProblemSpec
    evaluator: Any
    limits: Limits
    workers: int
    seed_results: dict[str, tuple[EvalResult, float]] = dataclasses.field(default_factory=dict)


def check_problem(problem: str, *, hang_timeout_s: float = 5.0, workers: int = 2) -> list[CheckRow]:
    """Run every check on ``problem`` (a name or a folder); later checks are skipped if it cannot load."""
    rows: list[CheckRow] = []
    try:
        spec = load_problem(problem)
        sandbox_runtime(spec.limits.packages, spec.limits.python)  # declared packages installed?
        evaluator = spec.load_evaluator()
    except Exception as err:  # noqa: BLE001 - any failure to load is the first finding
        detail = str(err) if isinstance(err, ConfigError) else traceback.format_exc(limit=-4)
        return [CheckRow("problem loads", "fail", detail, "fix problem.yaml or the evaluator package")]
    ctx = _Context(spec, evaluator, spec.limits, workers)
    rows.append(CheckRow("problem loads", "pass", f"{spec.name}: evaluator {spec.evaluator_dir}"))
    for check in (_declarations, _contract, _seed, _baselines, _determinism, _bad_programs(hang_timeout_s),
                  _holdout_calls, _holdout_files, _timing):
        rows.extend(check(ctx))
    return rows


def failed(rows: Sequence[CheckRow]) -> list[CheckRow]:
    return [r for r in rows if r.verdict == "fail"]


# --- individual checks ----------------------------------------------------------------------------


def _declarations(ctx: _Context) -> Iterator[CheckRow]:
    try:
        objectives = objectives_of(ctx.evaluator)
    except ValueError as err:
        yield CheckRow("objectives", "fail", str(err), "declare exactly one Objective(selection=True)")
        return
    if not objectives:
        yield CheckRow("objectives", "warn", "the evaluator declares no objectives",
                       "declare `objectives` (see adrs.sdk.Objective) so that adrs can check them")
        return
    selection = selection_objective(ctx.evaluator)
    assert selection is not None
    if (selection.name, selection.direction) != (ctx.spec.objective, ctx.spec.direction):
        yield CheckRow("objectives", "fail", f"problem.yaml says {ctx.spec.objective} "
                       f"({ctx.spec.direction}), the evaluator selects {selection.name} "
                       f"({selection.direction})",
                       "make problem.yaml's objective match the evaluator's selection objective")
        return
    private = [o.name for o in objectives if o.private]
    yield CheckRow("objectives", "pass", f"selection {selection.name} ({selection.direction}); "
                   f"private: {', '.join(private) or 'none'}")


def _contract(ctx: _Context) -> Iterator[CheckRow]:
    spec, evaluator = ctx.spec, ctx.evaluator
    entry = getattr(evaluator, "entry", spec.entry)
    if hasattr(evaluator, "evaluate_code"):
        yield CheckRow("contract", "warn", "the evaluator runs programs itself; no entry function to check")
        return
    if entry != spec.entry:
        yield CheckRow("contract", "fail", f"problem.yaml entry {spec.entry!r}, evaluator entry {entry!r}",
                       "use the same entry function name in both")
        return
    try:
        tree = ast.parse(spec.seed_code)
    except SyntaxError as err:
        yield CheckRow("contract", "fail", f"the seed does not compile: {err}", "fix seed.py")
        return
    defs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    if entry not in defs:
        yield CheckRow("contract", "fail", f"the seed defines no top-level {entry}()",
                       f"define {entry} in seed.py")
        return
    contract = getattr(evaluator, "contract", None)
    params = tuple(getattr(contract, "params", ()) or ())
    args = defs[entry].args
    names = {a.arg for a in args.args + args.kwonlyargs}
    missing = [p for p in params if p not in names] if args.kwarg is None else []
    if missing:
        yield CheckRow("contract", "fail", f"the seed's {entry}() lacks parameter(s) {missing}",
                       "match the seed's signature to the evaluator's contract")
        return
    if params and not getattr(evaluator, "adapter", None):
        keys = set(evaluator.calls("train")[0]) if evaluator.calls("train") else set()
        if keys != set(params):
            yield CheckRow("contract", "fail", f"calls pass {sorted(keys)}, the contract says {list(params)}",
                           "make build_calls produce exactly the contract's parameters")
            return
    yield CheckRow("contract", "pass", f"{entry}({', '.join(params) or '...'})")


def _seed(ctx: _Context) -> Iterator[CheckRow]:
    for split in splits_of(ctx.evaluator):
        result, wall = _timed(ctx, ctx.spec.seed_code, split)
        ctx.seed_results[split] = (result, wall)
    bad = {s: r for s, (r, _) in ctx.seed_results.items() if not r.correct}
    if bad:
        split, result = next(iter(bad.items()))
        yield CheckRow("seed runs", "fail", f"on {split}: {result.status}: {_first_lines(result.feedback)}",
                       "the seed must be correct on every split: fix seed.py or the evaluator")
        return
    scores = ", ".join(f"{s} {r.score:.6g}" for s, (r, _) in ctx.seed_results.items())
    yield CheckRow("seed runs", "pass", scores)


def _baselines(ctx: _Context) -> Iterator[CheckRow]:
    if not ctx.spec.baselines:
        yield CheckRow("baselines run", "warn", "no baselines", "add at least one baseline to compare with")
        return
    results = _parallel(ctx, {n: (p.read_text(), "train") for n, p in ctx.spec.baselines.items()})
    bad = {n: r for n, r in results.items() if not r.correct}
    if bad:
        name, result = next(iter(bad.items()))
        yield CheckRow("baselines run", "fail", f"{name}: {result.status}: {_first_lines(result.feedback)}",
                       "every baseline must be correct on the training split")
        return
    yield CheckRow("baselines run", "pass", ", ".join(f"{n} {r.score:.6g}" for n, r in results.items()))


def _determinism(ctx: _Context) -> Iterator[CheckRow]:
    first = ctx.seed_results.get("train", (None, 0.0))[0]
    again = _parallel(ctx, {"a": (ctx.spec.seed_code, "train"), "b": (ctx.spec.seed_code, "train")})
    results = [r for r in (first, again["a"], again["b"]) if r is not None]
    statuses = {r.status for r in results}
    timed = _timed_selection(ctx.evaluator)
    if timed:  # the score includes measured time: compare the objectives that do not
        stable = [o.name for o in objectives_of(ctx.evaluator) if not o.timed]
        scores = [tuple((r.metrics | r.private_metrics).get(name) for name in stable) for r in results]
        what = f"the untimed objectives {', '.join(stable)} of the seed"
    else:
        scores = [r.score for r in results]
        what = "the seed"
    if len(statuses) > 1 or len(set(scores)) > 1:
        yield CheckRow("same program, same score", "fail",
                       f"{what} scored {scores} ({', '.join(sorted(statuses))}) on the same instances",
                       "seed every random generator in the evaluator; mark objectives that include "
                       "wall-clock time as Objective(timed=True)")
    else:
        spread = (f"; timed score {', '.join(f'{r.score:.4g}' for r in results if r.score is not None)}"
                  if timed else "")
        yield CheckRow("same program, same score", "pass", f"{scores[0]!r} three times{spread}")
    if hasattr(ctx.evaluator, "evaluate_code"):
        return
    try:
        rebuilt = ctx.spec.load_evaluator()  # make_evaluator again: a second, independent build
    except Exception as err:  # noqa: BLE001
        yield CheckRow("same instances", "fail", f"building the evaluator again failed: {err}", "")
        return
    differs = [s for s in splits_of(ctx.evaluator)
               if not _same_calls(ctx.evaluator.calls(s), rebuilt.calls(s))]
    if differs:
        yield CheckRow("same instances", "fail",
                       f"building the evaluator twice gives different {differs} calls",
                       "generate instances from fixed seeds (numpy.random.default_rng(seed))")
    else:
        yield CheckRow("same instances", "pass", "building the evaluator twice gives identical calls")


def _timed_selection(evaluator: Any) -> bool:
    try:
        return any(o.selection and o.timed for o in objectives_of(evaluator))
    except ValueError:  # reported by the declarations check
        return False


def _bad_programs(hang_timeout_s: float) -> Callable[[_Context], Iterator[CheckRow]]:
    def check(ctx: _Context) -> Iterator[CheckRow]:
        seed = ctx.spec.seed_code
        programs = {"raises": _with_bodies(seed, "raise RuntimeError('deliberately broken')"),
                    "does not compile": seed + "\ndef broken(:\n",
                    "hangs": _with_bodies(seed, "while True:\n    pass")}
        programs |= {f"returns {label}": _with_bodies(seed, f"return {value}")
                     for label, value in GARBAGE.items()}
        short = dataclasses.replace(ctx.limits, timeout_s=min(ctx.limits.timeout_s, hang_timeout_s),
                                    cpu_s=max(1, min(ctx.limits.cpu_s, math.ceil(hang_timeout_s) + 1)))
        results = _parallel(ctx, {n: (code, "train") for n, code in programs.items()}, short)
        for name, result in results.items():
            title = f"program that {name}"
            if result.correct:
                yield CheckRow(title, "fail", f"scored as correct (score {result.score})",
                               "validate every answer (type, shape, range) before scoring; raise "
                               "InvalidOutput for anything else")
            elif result.status == "evaluator_error":
                yield CheckRow(title, "fail", f"the evaluator crashed on it: {_first_lines(result.feedback)}",
                               "validate the answer before using it and reject it with InvalidOutput")
            else:
                yield CheckRow(title, "pass", f"{result.status}: {_first_lines(result.feedback, 1)}")

    return check


def _holdout_calls(ctx: _Context) -> Iterator[CheckRow]:
    name = "holdout not in calls"
    if hasattr(ctx.evaluator, "evaluate_code"):
        yield CheckRow(name, "warn", "the evaluator runs programs itself; adrs cannot see what it hands them",
                       "make sure evaluate() never gives the candidate held-out data")
        return
    if "holdout" not in splits_of(ctx.evaluator):
        yield CheckRow(name, "warn", "the evaluator declares no holdout split", "declare a holdout split")
        return
    held = [a for call in ctx.evaluator.calls("holdout") for a in call.values() if np.asarray(a).size >= 4]
    leaks = []
    for split in (s for s in splits_of(ctx.evaluator) if s != "holdout"):
        for i, call in enumerate(ctx.evaluator.calls(split)):
            for key, value in call.items():
                if any(_contains(np.asarray(value), h) for h in held):
                    leaks.append(f"{split} call {i + 1} argument {key!r}")
    if leaks:
        yield CheckRow(name, "fail", f"holdout data is handed to the candidate: {', '.join(leaks[:3])}",
                       "build each split's calls from that split's instances only")
    else:
        yield CheckRow(name, "pass", f"none of {len(held)} holdout arrays appears in the other splits' calls")


def _holdout_files(ctx: _Context) -> Iterator[CheckRow]:
    if hasattr(ctx.evaluator, "evaluate_code"):
        yield CheckRow("holdout files unreadable", "warn", "the evaluator runs programs itself (e.g. an "
                       "OpenEvolve evaluator, its folder bound read-only in the sandbox): the candidate "
                       "can read what the evaluator can", "keep held-out data out of that folder")
        return
    files = sorted({p for root in (ctx.spec.root, ctx.spec.evaluator_dir) for p in _files(root)})
    if not files:
        yield CheckRow("holdout files unreadable", "pass", "the problem folder holds no files to probe")
        return
    outcome = run_program(_PROBE, "probe", [{"paths": np.array("\n".join(map(str, files)))}], ctx.limits)
    if outcome.status != "ok" or not isinstance(outcome.outputs[0], list):
        yield CheckRow("holdout files unreadable", "warn", f"the probe did not finish ({outcome.status})", "")
        return
    readable = outcome.outputs[0]
    if readable:
        shown = ", ".join(str(Path(p).relative_to(ctx.spec.root)) if Path(p).is_relative_to(ctx.spec.root)
                          else p for p in readable[:3])
        yield CheckRow("holdout files unreadable", "fail",
                       f"a candidate read {len(readable)} of {len(files)} files of the problem and its "
                       f"evaluator (e.g. {shown}); isolation here: {isolation_level()}",
                       "run adrs where the sandbox confines the file system, or as a user that cannot "
                       "read the problem folder")
    else:
        yield CheckRow("holdout files unreadable", "pass",
                       f"a candidate could read none of {len(files)} files")


def _timing(ctx: _Context) -> Iterator[CheckRow]:
    """Time a second evaluation of the seed per split: the first one may fill caches (references)."""
    if not ctx.seed_results or any(not r.correct for r, _ in ctx.seed_results.values()):
        yield CheckRow("evaluation time", "warn", "skipped: the seed is not correct on every split")
        return
    warm = {split: _timed(ctx, ctx.spec.seed_code, split) for split in ctx.seed_results}
    split, (result, wall) = max(warm.items(), key=lambda item: item[1][1])
    limit = ctx.limits.timeout_s
    cold = ctx.seed_results[split][1]
    detail = f"slowest split {split}: {wall:.2f} s for the seed (limit {limit:g} s)"
    if cold > 2 * wall + 1:
        detail += f"; the first evaluation took {cold:.1f} s (filling caches)"
    if result.status == "timeout" or wall > HEADROOM * limit:
        yield CheckRow("evaluation time", "fail", detail,
                       f"evolved programs get slower: keep the seed under {HEADROOM:.0%} of the limit "
                       "(fewer or smaller instances, or raise limits.timeout_s)")
    else:
        yield CheckRow("evaluation time", "pass", detail)


# --- helpers --------------------------------------------------------------------------------------


def _evaluate(ctx: _Context, code: str, split: str, limits: Limits | None = None) -> EvalResult:
    """An evaluator crash is an ``evaluator_error`` result: a finding, not a check failure."""
    return _parallel(ctx, {"one": (code, split)}, limits)["one"]


def _timed(ctx: _Context, code: str, split: str) -> tuple[EvalResult, float]:
    start = time.perf_counter()
    result = _evaluate(ctx, code, split)
    return result, time.perf_counter() - start


def _parallel(ctx: _Context, jobs: Mapping[str, tuple[str, str]], limits: Limits | None = None
              ) -> dict[str, EvalResult]:
    executor = LocalExecutor(lambda: ctx.evaluator, limits or ctx.limits, ctx.workers)
    try:
        return evaluate_all(executor, jobs)  # type: ignore[arg-type]
    finally:
        executor.cancel()


def _with_bodies(code: str, body: str) -> str:
    """``code`` with the body of every function replaced by ``body`` (a broken / garbage variant)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code
    statements = ast.parse(body).body
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            node.body = statements
    return ast.unparse(tree)


def _same_calls(a: Sequence[Mapping[str, Any]], b: Sequence[Mapping[str, Any]]) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if set(x) != set(y) or not all(np.array_equal(np.asarray(x[k]), np.asarray(y[k])) for k in x):
            return False
    return True


def _contains(haystack: np.ndarray, needle: np.ndarray) -> bool:
    """True if ``needle``'s values appear, contiguously, in ``haystack`` (any shape, same dtype)."""
    if haystack.dtype != needle.dtype or haystack.size < needle.size:
        return False
    return needle.tobytes() in haystack.tobytes()


def _files(root: Path) -> list[Path]:
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            found.append(path.resolve())
            if len(found) >= MAX_PROBED_FILES:
                break
    return found


def _first_lines(text: str, lines: int = 2) -> str:
    return " | ".join(text.strip().splitlines()[:lines])[:300]
