"""The evaluator contract and the glue that scores one candidate program.

An evaluator is trusted code: it hands the sandbox the inputs for each call of the candidate's entry
function, then validates every returned decision and recomputes every metric itself. Nothing the
candidate reports is believed. This module defines the types and ``evaluate_program``; it does not
start processes itself (see ``adrs.sandbox``) and knows nothing of Ray or the database.

The public authoring API (see docs/authoring.md and ``adrs.sdk``): besides the required ``entry``,
``calls`` and ``score``, an evaluator may declare its instance sets (``splits``), the program
contract (``contract``), its objectives (``objectives``: names, directions, the selection score,
private ones) and cascade ``stages`` run cheap to expensive, each only if the previous one passed
its threshold. An evaluator that runs programs itself (e.g. an OpenEvolve ``evaluator.py``, see
``adrs.openevolve``) implements ``evaluate_code`` instead and must sandbox what it runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

import numpy as np

from adrs.sandbox import Limits, RunOutcome, run_program
from adrs.status import Status, status_of

SPLITS: tuple[str, ...] = ("train", "validation", "holdout")
ARTIFACT_FEEDBACK_CHARS = 2000  # each artifact is clipped to this many characters in the feedback

# ``Status`` (adrs.status) is the one status enum; evaluators return OK ... EVALUATOR_ERROR
# (plain strings work too), the loop adds PATCH_ERROR / PROPOSAL_ERROR as Failure values.

Split = Literal["train", "validation", "holdout"]


@dataclass(frozen=True)
class EvalResult:
    """Outcome of evaluating one program on one instance split."""

    status: Status
    score: float | None  # the selection objective (see ProblemSpec.objective); None unless correct
    metrics: dict[str, float] = field(default_factory=dict)  # shown to the LLM
    private_metrics: dict[str, float] = field(default_factory=dict)  # never shown to the LLM
    feedback: str = ""  # LLM-readable explanation (traceback, validation error, ...)
    runtime_s: float = 0.0  # time spent inside the candidate's calls only
    artifacts: dict[str, str] = field(default_factory=dict)  # named text (stderr, a trace, ...) for the LLM
    node: str = ""  # where it was evaluated: set by the Ray worker (adrs.worker), never by the evaluator

    def __post_init__(self) -> None:
        if not isinstance(self.status, Status):  # an evaluator may pass the status's string
            object.__setattr__(self, "status", status_of(self.status))

    @property
    def correct(self) -> bool:
        return self.status is Status.OK

    @classmethod
    def failure(cls, status: Status, feedback: str, runtime_s: float = 0.0,
                artifacts: Mapping[str, str] | None = None) -> EvalResult:
        return cls(status=status, score=None, feedback=feedback, runtime_s=runtime_s,
                   artifacts=dict(artifacts or {}))


@dataclass(frozen=True)
class Objective:
    """One metric an evaluator reports. Exactly one objective of an evaluator is the selection score;
    private ones are moved to ``private_metrics`` (never shown to the LLM)."""

    name: str
    direction: Literal["minimize", "maximize"] = "minimize"
    selection: bool = False  # the score used for selection (EvalResult.score)
    private: bool = False
    description: str = ""
    timed: bool = False  # depends on measured time, so it varies between runs of the same program

    def __post_init__(self) -> None:
        if self.direction not in ("minimize", "maximize"):
            raise ValueError(f"objective {self.name!r}: direction must be 'minimize' or 'maximize'")
        if self.selection and self.private:
            raise ValueError(f"objective {self.name!r}: the selection score cannot be private")

    def passes(self, score: float | None, threshold: float | None) -> bool:
        """True when ``score`` is at least as good as ``threshold`` (None thresholds always pass)."""
        if threshold is None:
            return True
        if score is None:
            return False
        return score <= threshold if self.direction == "minimize" else score >= threshold


@dataclass(frozen=True)
class Stage:
    """One step of a cascade: the first ``calls`` calls of a split (None: all of them).

    Stages run cheap to expensive: stage k+1 runs only the calls stage k did not, and only if stage
    k's result was correct and its score passed ``threshold`` (judged by the selection objective's
    direction). ``score`` then receives the outputs of all calls run so far (a prefix of
    ``calls(split)``), so an evaluator declaring stages must score prefixes.
    """

    name: str
    calls: int | None = None
    threshold: float | None = None


@dataclass(frozen=True)
class Contract:
    """The program contract: the entry function the candidate defines and its signature."""

    entry: str
    params: tuple[str, ...] = ()  # keyword parameters the entry receives (empty: not checked)
    signature: str = ""  # shown to the LLM, e.g. "pack(sizes, capacity) -> bin of each item"


Call = Mapping[str, np.ndarray]


class Evaluator(Protocol):
    """What every problem's evaluator provides.

    ``calls(split)`` returns one keyword-argument mapping per call of the entry function (copies are
    made by the sandbox; the candidate never sees references or other splits). ``score`` receives the
    decoded return values in the same order and must validate each one and recompute the objective.

    Optional attributes (read with defaults by ``sandbox_options``): ``support`` (module file name
    -> source, copied next to the candidate, e.g. a simulator it may call) and ``adapter``
    (``"module:function"`` of a support module building the entry's arguments from a call's arrays).
    Each call runs once: an input run again (even transformed) lets a program answer from a cache,
    so an evaluator wanting more timed runs gives more distinct calls (``timing_repeats`` is refused).
    ``call_time_limits(split)``, if defined, gives each call's time limit in seconds (e.g. its
    budget plus slack): the sandbox stops a call that runs longer (status timeout). Call times are
    measured by the sandbox's parent process, never inside the candidate's.
    """

    entry: str

    def calls(self, split: Split) -> Sequence[Call]: ...

    def score(self, split: Split, outputs: Sequence[Any], call_times_s: Sequence[float]) -> EvalResult: ...


def objectives_of(evaluator: Any) -> tuple[Objective, ...]:
    """The evaluator's declared objectives (empty if it declares none). Raises ValueError if the
    declaration is inconsistent (no or several selection objectives, duplicate names)."""
    objectives = tuple(getattr(evaluator, "objectives", ()) or ())
    if not objectives:
        return ()
    names = [o.name for o in objectives]
    if len(set(names)) != len(names):
        raise ValueError(f"objectives: duplicate names in {names}")
    selected = [o.name for o in objectives if o.selection]
    if len(selected) != 1:
        raise ValueError(f"objectives: exactly one must be the selection score, got {selected or 'none'}")
    return objectives


def selection_objective(evaluator: Any) -> Objective | None:
    return next((o for o in objectives_of(evaluator) if o.selection), None)


def stages_of(evaluator: Any) -> tuple[Stage, ...]:
    """The evaluator's cascade (one stage over every call if it declares none)."""
    stages = tuple(getattr(evaluator, "stages", ()) or ())
    return stages or (Stage("all"),)


def splits_of(evaluator: Any) -> tuple[str, ...]:
    """The instance sets the evaluator declares (default: train, validation, holdout)."""
    return tuple(getattr(evaluator, "splits", SPLITS) or SPLITS)


def with_private_hidden(result: EvalResult, objectives: Sequence[Objective]) -> EvalResult:
    """Move metrics named by private objectives from ``metrics`` to ``private_metrics``."""
    private = {o.name for o in objectives if o.private} & set(result.metrics)
    if not private:
        return result
    metrics = {k: v for k, v in result.metrics.items() if k not in private}
    hidden = dict(result.private_metrics) | {k: result.metrics[k] for k in private}
    return replace(result, metrics=metrics, private_metrics=hidden)


def with_artifacts_in_feedback(result: EvalResult, limit: int = ARTIFACT_FEEDBACK_CHARS) -> EvalResult:
    """Append the artifacts (each clipped to ``limit`` characters) to the feedback text, which is
    what the database stores, ``adrs show`` prints and the next prompt shows."""
    if not result.artifacts:
        return result
    parts = [result.feedback.rstrip()] if result.feedback.strip() else []
    for name, text in result.artifacts.items():
        text = str(text)
        if len(text) > limit:
            omitted = f"\n... [{len(text) - limit} characters omitted] ...\n"
            text = text[: limit // 2] + omitted + text[-limit // 2:]
        parts.append(f"[{name}]\n{text.rstrip()}")
    return replace(result, feedback="\n".join(parts))


def sandbox_options(evaluator: Evaluator) -> dict[str, Any]:
    """The evaluator's optional sandbox settings as keyword arguments for ``run_program``."""
    if getattr(evaluator, "timing_repeats", 1) != 1:
        raise ValueError("timing_repeats is not supported: running one input several times lets a "
                         "program answer the repeats from a cache; give distinct calls instead and "
                         "average their times (docs/authoring.md)")
    return {"support": getattr(evaluator, "support", None), "adapter": getattr(evaluator, "adapter", None)}


def seed_failure(status: str, feedback: str) -> str:
    """Why a campaign cannot start, blaming the right thing: the evaluator for its own failures."""
    if status in ("evaluator_error", "infra_error"):
        who = "the evaluator" if status == "evaluator_error" else "the evaluation infrastructure"
        return f"{who} failed on the seed program ({status}; not the program's fault):\n{feedback}"
    return f"the seed program fails on the training instances ({status}):\n{feedback}"


def evaluate_program(code: str, evaluator: Evaluator, split: Split, limits: Limits) -> EvalResult:
    """Run ``code`` in the sandbox on the calls of ``split`` and let the evaluator score it.

    Stages (if declared) run in order, each in its own sandboxed run; a failed or below-threshold
    stage ends the evaluation. Private objectives are moved out of ``metrics`` and artifacts are
    appended to the feedback. An evaluator with ``evaluate_code`` is called instead of the sandbox.
    """
    objectives = objectives_of(evaluator)
    if hasattr(evaluator, "evaluate_code"):
        result = evaluator.evaluate_code(code, split, limits)
    else:
        result = _run_stages(code, evaluator, split, limits, objectives)
    return with_artifacts_in_feedback(with_private_hidden(result, objectives))


def _run_stages(code: str, evaluator: Evaluator, split: Split, limits: Limits,
                objectives: Sequence[Objective]) -> EvalResult:
    calls = list(evaluator.calls(split))
    time_limits = getattr(evaluator, "call_time_limits", None)
    call_limits = list(time_limits(split)) if time_limits is not None else None
    stages = stages_of(evaluator)
    selection = next((o for o in objectives if o.selection), None)
    if selection is None and any(s.threshold is not None for s in stages):
        raise ValueError("stages with a threshold need objectives with a selection objective "
                         "(to know whether lower or higher is better)")
    outputs: list[Any] = []
    times: list[float] = []
    for index, stage in enumerate(stages):
        last = index == len(stages) - 1
        end = len(calls) if stage.calls is None or last else min(stage.calls, len(calls))
        if end > len(outputs):
            stage_limits = call_limits[len(outputs):end] if call_limits is not None else None
            outcome: RunOutcome = run_program(code, evaluator.entry, calls[len(outputs):end], limits,
                                              call_limits_s=stage_limits, **sandbox_options(evaluator))
            times += outcome.call_times_s
            if outcome.status != "ok":
                where = f" (stage {stage.name})" if len(stages) > 1 else ""
                return EvalResult.failure(outcome.status, outcome.feedback() + where, float(sum(times)))
            assert outcome.outputs is not None
            outputs += outcome.outputs
        result = evaluator.score(split, list(outputs), list(times))
        if last or not result.correct:
            return result
        assert selection is not None or stage.threshold is None
        if stage.threshold is not None and not selection.passes(result.score, stage.threshold):
            better = "at most" if selection.direction == "minimize" else "at least"
            return replace(result, status="below_threshold", score=None, feedback=(
                f"Stage {stage.name} ({end} of {len(calls)} calls): {selection.name} = {result.score!r}"
                f", needs {better} {stage.threshold:.6g} to continue; later stages were not run.\n"
                + result.feedback).rstrip())
    raise AssertionError("unreachable: the last stage always returns")
