"""Constant tuning: how much of a program's gain is only better constants?

``tune_constants`` searches the numeric literals of a program's EVOLVE-BLOCKs with Optuna (TPE),
scoring each trial on the **training** instances only (through the sandbox, like any candidate);
the first trial is the program as written, so tuning never returns something worse on train.
Tuned literals: named constants (``window = 0``) and float literals other than 0.0 and 1.0;
integer literals inside expressions (``n - 1``, ``k + 1``) and 0.0 / 1.0 are structure, not
tunables, and stay. Integer tunables range over [0, max(4|v|, 200)] (sign kept), floats over
[v/10, 10v] (log scale; [-1, 1] for 0). ``gain_report`` tunes a program and the seed the same way
and says how much of the program's gain over the seed survives; its trials time out after 4x the
slower of the two as written (at least 10 s), so constants that make a program crawl fail fast.
Optuna is imported lazily; this module writes no database.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from adrs.program import EVOLVE_END, EVOLVE_START

if TYPE_CHECKING:
    from adrs.problem import ProblemSpec

INT_SPAN = 200


@dataclass(frozen=True)
class Literal:
    line: int  # 1-based
    col: int
    end_col: int
    value: int | float
    named: bool  # the whole right-hand side of ``name = <number>``

    @property
    def key(self) -> str:
        return f"L{self.line}C{self.col}"


def block_lines(code: str) -> list[tuple[int, int]]:
    """(first, last) 1-based line numbers inside each EVOLVE-BLOCK."""
    spans, start = [], None
    for i, line in enumerate(code.splitlines(), start=1):
        text = line.strip()
        if text.startswith(EVOLVE_START):
            start = i + 1
        elif text.startswith(EVOLVE_END) and start is not None:
            spans.append((start, i - 1))
            start = None
    return spans


def tunable_literals(code: str) -> list[Literal]:
    """The literals ``tune_constants`` may change, in source order."""
    tree = ast.parse(code)
    spans = block_lines(code)
    named = {id(n.value) for n in ast.walk(tree)
             if isinstance(n, (ast.Assign, ast.AnnAssign)) and n.value is not None}
    negated = {id(n.operand): n for n in ast.walk(tree) if isinstance(n, ast.UnaryOp)
               and isinstance(n.op, ast.USub) and _number(n.operand)}
    found = []
    for node in ast.walk(tree):
        if not _number(node):
            continue
        outer = negated.get(id(node), node)  # -0.5 is one literal
        value = -node.value if outer is not node else node.value
        if outer.lineno != outer.end_lineno or not any(a <= outer.lineno <= b for a, b in spans):
            continue
        is_named = id(outer) in named
        if is_named or (isinstance(value, float) and value not in (0.0, 1.0)):
            found.append(Literal(outer.lineno, outer.col_offset, outer.end_col_offset, value,
                                 is_named))
    return sorted(found, key=lambda lit: (lit.line, lit.col))


def _number(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) in (int, float)


def with_values(code: str, literals: list[Literal], values: dict[str, int | float]) -> str:
    """``code`` with each literal replaced by ``values[literal.key]`` (negative ones parenthesized)."""
    lines = code.splitlines(keepends=True)
    for lit in sorted(literals, key=lambda lit: (lit.line, -lit.col)):
        new = values.get(lit.key, lit.value)
        text = repr(new) if new >= 0 else f"({new!r})"
        row = lines[lit.line - 1]
        encoded = row.encode()
        lines[lit.line - 1] = (encoded[:lit.col] + text.encode() + encoded[lit.end_col:]).decode()
    return "".join(lines)


def suggest(trial: Any, lit: Literal) -> int | float:
    v = lit.value
    if isinstance(v, int):
        top = max(4 * abs(v), INT_SPAN)
        return trial.suggest_int(lit.key, -top if v < 0 else 0, top)
    if v == 0:
        return trial.suggest_float(lit.key, -1.0, 1.0)
    low, high = sorted((v / 10, v * 10), key=abs)
    if v > 0:
        return trial.suggest_float(lit.key, low, high, log=True)
    return -trial.suggest_float(lit.key, -low, -high, log=True)


@dataclass(frozen=True)
class TuneResult:
    code: str  # the tuned program
    score: float | None  # its train score
    original_score: float | None  # the program as written, on train
    literals: int  # how many literals were tuned
    trials: int
    changed: dict[str, tuple[float, float]]  # literal key -> (old, new)


Score = Callable[[str], float | None]  # train score of a program (None: not correct)


def tune_constants(code: str, score: Score, direction: str, trials: int = 40,
                   seed: int = 0) -> TuneResult:
    """Tune ``code``'s literals to optimize ``score`` (train instances only)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    literals = tunable_literals(code)
    worst = math.inf if direction == "minimize" else -math.inf
    original = score(code)
    if not literals or trials <= 1:
        return TuneResult(code, original, original, len(literals), 1, {})
    study = optuna.create_study(direction=direction, sampler=optuna.samplers.TPESampler(seed=seed))
    study.enqueue_trial({lit.key: lit.value for lit in literals})
    scores: dict[int, float | None] = {}

    def objective(trial: Any) -> float:
        values = {lit.key: suggest(trial, lit) for lit in literals}
        result = original if trial.number == 0 else score(with_values(code, literals, values))
        scores[trial.number] = result
        return worst if result is None else result

    study.optimize(objective, n_trials=trials)
    best = study.best_trial
    if scores.get(best.number) is None:  # nothing was correct: keep the program as written
        return TuneResult(code, original, original, len(literals), trials, {})
    tuned = with_values(code, literals, best.params)
    changed = {lit.key: (lit.value, best.params[lit.key]) for lit in literals
               if best.params[lit.key] != lit.value}
    return TuneResult(tuned, scores[best.number], original, len(literals), trials, changed)


def train_scorer(spec: ProblemSpec, timeout_s: float | None = None) -> Score:
    """Score programs on the training instances through the sandbox; ``timeout_s`` (if given)
    replaces the problem's wall-time limit, so a trial with slow constants fails fast."""
    import dataclasses

    from adrs.evaluation import evaluate_program

    evaluator = spec.load_evaluator()
    limits = spec.limits
    if timeout_s is not None and timeout_s < limits.timeout_s:
        limits = dataclasses.replace(limits, timeout_s=timeout_s,
                                     cpu_s=max(1, min(limits.cpu_s, int(math.ceil(timeout_s)))))

    def score(code: str) -> float | None:
        result = evaluate_program(code, evaluator, "train", limits)
        return result.score if result.correct else None

    return score


def capped_scorer(spec: ProblemSpec, codes: list[str], factor: float = 4.0,
                  floor_s: float = 10.0) -> Score:
    """A train scorer whose trials may take at most ``factor`` times the slowest of ``codes`` as
    written (at least ``floor_s``): tuned loop counts must not make every trial hit the limit."""
    import time

    score = train_scorer(spec)
    slowest = 0.0
    for code in codes:
        started = time.perf_counter()
        score(code)
        slowest = max(slowest, time.perf_counter() - started)
    return train_scorer(spec, max(floor_s, factor * slowest))


@dataclass(frozen=True)
class GainReport:
    seed: float  # train scores
    seed_tuned: float
    program: float
    program_tuned: float
    direction: str

    def gain(self, base: float, better: float) -> float:
        return base - better if self.direction == "minimize" else better - base

    @property
    def raw_gain(self) -> float:
        """The program's gain over the seed as written."""
        return self.gain(self.seed, self.program)

    @property
    def surviving_gain(self) -> float:
        """The tuned program's gain over the tuned seed."""
        return self.gain(self.seed_tuned, self.program_tuned)

    @property
    def surviving_share(self) -> float | None:
        return self.surviving_gain / self.raw_gain if self.raw_gain else None


def gain_report(spec: ProblemSpec, program_code: str, trials: int = 40,
                seed: int = 0) -> tuple[GainReport, TuneResult, TuneResult]:
    """Tune the seed and the program the same way (train only) and compare their gains."""
    score = capped_scorer(spec, [spec.seed_code, program_code])
    seed_result = tune_constants(spec.seed_code, score, spec.direction, trials, seed)
    program_result = tune_constants(program_code, score, spec.direction, trials, seed)
    values = (seed_result.original_score, seed_result.score, program_result.original_score,
              program_result.score)
    if any(v is None for v in values):
        raise ValueError("the seed or the program is not correct on the training instances")
    report = GainReport(*values, direction=spec.direction)  # type: ignore[arg-type]
    return report, seed_result, program_result
