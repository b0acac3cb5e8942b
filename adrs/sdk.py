"""The evaluator SDK: everything a problem author imports, and a base class for the common case.

``CallEvaluator`` is for problems where each call of the candidate's entry function gets one instance
and its answer can be judged on its own (a schedule, a placement, a packing): subclass it, list the
objectives, build the calls of each split in ``build_calls`` and judge one answer in ``measure``
(validate it, raise ``InvalidOutput`` if it breaks the contract, and recompute every metric from the
instance — never trust a number the candidate returns). The base class averages the per-call
metrics, picks the selection score, scores prefixes (so cascade ``stages`` work) and writes the
feedback. Evaluators may also implement the protocol of ``adrs.evaluation`` directly.

This module holds no problem; ``adrs new`` writes a working example (see docs/authoring.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from adrs.evaluation import (
    SPLITS,
    Call,
    Contract,
    EvalResult,
    Objective,
    Split,
    Stage,
    objectives_of,
    with_private_hidden,
)

__all__ = ["SPLITS", "Call", "CallEvaluator", "Contract", "EvalResult", "InvalidOutput", "Objective",
           "Split", "Stage", "check_disjoint"]

_ERRORS_SHOWN = 3


class Fingerprinted(Protocol):
    def fingerprint(self) -> str: ...

    def label(self) -> str: ...


def check_disjoint(splits: Mapping[str, Sequence[Fingerprinted]], noun: str = "instance") -> None:
    """Raise ConfigError if two splits share an instance (same ``fingerprint()``): a holdout
    instance seen in training would make held-out scores meaningless."""
    from adrs.errors import ConfigError

    owner: dict[str, str] = {}
    for split, items in splits.items():
        for item in items:
            key = item.fingerprint()
            if key in owner and owner[key] != split:
                raise ConfigError(f"instances: splits {owner[key]!r} and {split!r} share an identical "
                                  f"{noun} ({item.label()}); give them different seeds")
            owner[key] = split


class InvalidOutput(ValueError):
    """Raised by ``CallEvaluator.measure`` when an answer breaks the contract (the message is shown
    to the LLM, so say what was expected and what came back)."""


class CallEvaluator:
    """Base class: one call per instance, per-call metrics averaged over the split.

    Subclasses set ``entry`` and ``objectives`` (optionally ``contract``, ``stages``, ``splits``,
    ``support``, ``adapter``) and implement ``build_calls`` and ``measure``.
    """

    entry: str = ""
    objectives: tuple[Objective, ...] = ()
    stages: tuple[Stage, ...] = ()
    splits: tuple[str, ...] = SPLITS
    contract: Contract | None = None

    def build_calls(self, split: Split) -> Sequence[Call]:
        """Keyword arguments (numpy arrays) of each call of the entry function on ``split``."""
        raise NotImplementedError

    def measure(self, split: Split, index: int, call: Call, output: Any) -> Mapping[str, float]:
        """Validate one answer and return its metrics (recomputed here); raise InvalidOutput."""
        raise NotImplementedError

    def calls(self, split: Split) -> list[Call]:
        """``build_calls(split)``, computed once per split."""
        cache: dict[str, list[Call]] = self.__dict__.setdefault("_calls_cache", {})
        if split not in cache:
            if split not in self.splits:
                raise KeyError(f"unknown split {split!r}; this evaluator has {', '.join(self.splits)}")
            cache[split] = list(self.build_calls(split))
        return cache[split]

    def aggregate(self, split: Split, per_call: Sequence[Mapping[str, float]]) -> dict[str, float]:
        """Split metrics from per-call metrics (default: the mean of each)."""
        names = sorted({name for metrics in per_call for name in metrics})
        return {name: float(np.mean([m[name] for m in per_call if name in m])) for name in names}

    def describe(self, split: Split, metrics: Mapping[str, float], per_call: Sequence[Mapping[str, float]],
                 call_times_s: Sequence[float]) -> str:
        """Feedback text for a correct program (default: the public metrics; no per-call detail on
        the holdout split)."""
        hidden = {o.name for o in objectives_of(self) if o.private}
        shown = ", ".join(f"{k} = {v:.6g}" for k, v in metrics.items() if k not in hidden)
        text = f"All {len(per_call)} answers valid. {shown}."
        if split != "holdout" and call_times_s:
            text += f" Mean time per call: {1000 * float(np.mean(call_times_s)):.2f} ms."
        return text

    def score(self, split: Split, outputs: Sequence[Any], call_times_s: Sequence[float]) -> EvalResult:
        """Judge every answer (a prefix of the split's calls when a cascade stage stops early)."""
        calls = self.calls(split)
        runtime_s = float(sum(call_times_s))
        if len(outputs) > len(calls) or not outputs:
            return EvalResult.failure("invalid", f"expected up to {len(calls)} answers, got {len(outputs)}",
                                      runtime_s)
        per_call: list[Mapping[str, float]] = []
        errors: list[str] = []
        for index, (call, output) in enumerate(zip(calls, outputs, strict=False)):
            try:
                metrics = {k: float(v) for k, v in self.measure(split, index, call, output).items()}
            except InvalidOutput as err:
                errors.append(f"call {index + 1}: {err}")
                continue
            per_call.append(metrics)
        if errors:
            more = f"\n({len(errors) - _ERRORS_SHOWN} more)" if len(errors) > _ERRORS_SHOWN else ""
            return EvalResult.failure("invalid", f"{len(errors)} of {len(outputs)} answers are invalid:\n"
                                      + "\n".join(errors[:_ERRORS_SHOWN]) + more, runtime_s)
        metrics = self.aggregate(split, per_call)
        selection = next(o for o in objectives_of(self) if o.selection) if self.objectives else None
        if selection is None or selection.name not in metrics:
            name = selection.name if selection else "(no selection objective declared)"
            return EvalResult.failure("evaluator_error", f"the evaluator reported no {name} metric; "
                                      f"it has {sorted(metrics)}", runtime_s)
        score = metrics[selection.name]
        if not math.isfinite(score):
            return EvalResult.failure("evaluator_error", f"{selection.name} is {score}", runtime_s)
        if len(outputs) < len(calls):
            metrics["calls_scored"] = float(len(outputs))
        feedback = self.describe(split, metrics, per_call, call_times_s)
        result = EvalResult(status="ok", score=score, metrics=metrics, feedback=feedback,
                            runtime_s=runtime_s)
        return with_private_hidden(result, self.objectives)
