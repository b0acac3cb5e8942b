"""Sandbox side of ``adrs.openevolve``: run one stage of an OpenEvolve / ADRS evaluator on a program.

This file is the "candidate" the sandbox imports (its ``run_stage`` is the entry function). The
problem folder is bound read-only at its own path (nothing is copied, so data files of any size
work); the evaluator's folder (the folder itself, or ``evaluator/`` in the ADRS-benchmark layout) is
the working directory and first on sys.path, so its helper modules and relative data paths work as
when it is run as ``python evaluator.py``. The program text arrives as an argument and is written to
``program/program.py`` in the writable sandbox directory: the real candidate (evaluator and
candidate share this process) or the proxy module of ``adrs.proxy`` (the candidate runs in its own
sandboxed process). Then the evaluator is imported, and ``evaluate(program_path)`` (stage 0) or
``evaluate_stageN(program_path)`` called. The reply is plain numbers and text plus ``failure``:
"" (it returned), "evaluator_import" (the evaluator failed to import: not the program's fault),
"evaluator" (it raised from its own code) or "candidate" (it raised from the program's code).

Standalone: stdlib only, never ``adrs``. If the ``openevolve`` package is not installed, a minimal
``openevolve.evaluation_result.EvaluationResult`` is provided so evaluators importing it still run.
"""

import importlib.util
import os
import sys
import traceback
import types

TEXT_LIMIT = 20000
TRACEBACK_LINES = 40


def run_stage(stage, program, folder, evaluator_dir, evaluator_file):
    program_dir = os.path.join(os.getcwd(), "program")
    os.makedirs(program_dir, exist_ok=True)
    program_path = os.path.join(program_dir, "program.py")
    with open(program_path, "w", encoding="utf-8") as f:
        f.write(str(program))
    write_bytecode = getattr(sys.modules.get("__main__"), "write_proxy_bytecode", None)
    if write_bytecode is not None:  # the sandbox harness: the proxy module's code, not compiled again
        try:
            write_bytecode(program_path, str(program))
        except Exception:  # noqa: BLE001 - the import compiles the text as usual
            pass
    provide_openevolve_shim()
    for path in (str(folder), str(evaluator_dir)):  # evaluator_dir ends up first
        sys.path.insert(0, path)
    os.chdir(str(evaluator_dir))
    try:
        spec = importlib.util.spec_from_file_location("evaluator", str(evaluator_file))
        module = importlib.util.module_from_spec(spec)
        sys.modules["evaluator"] = module
        spec.loader.exec_module(module)
    except BaseException as e:  # noqa: BLE001 - reported as the evaluator's failure
        return failure("evaluator_import", e)
    function = "evaluate" if int(stage) == 0 else f"evaluate_stage{int(stage)}"
    try:
        result = getattr(module, function)(program_path)
    except Exception as e:
        return failure(origin(e, program_path), e)
    return dict(normalize(result), failure="")


def failure(kind, exc):
    lines = "".join(traceback.format_exception(exc)).rstrip().splitlines()
    if len(lines) > TRACEBACK_LINES:
        lines = ["  ... (earlier lines omitted)"] + lines[-TRACEBACK_LINES:]
    return {"metrics": {}, "artifacts": {"traceback": "\n".join(lines)}, "failure": kind,
            "exception": f"{type(exc).__name__}: {exc}"[:2000]}


def origin(exc, program_path):
    """"candidate" if the exception came from the program (its frames, or the proxy's
    CandidateError), else "evaluator"."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if any(type(exc).__name__ == "CandidateError" or c.__name__ == "CandidateError"
               for c in type(exc).__mro__):
            return "candidate"
        frames = traceback.extract_tb(exc.__traceback__)
        if frames and os.path.abspath(frames[-1].filename) == os.path.abspath(program_path):
            return "candidate"
        exc = exc.__cause__ or exc.__context__
    return "evaluator"


def provide_openevolve_shim():
    try:
        import openevolve.evaluation_result  # noqa: F401
        return
    except ImportError:
        pass

    class EvaluationResult:  # written out: a dataclass compiles three methods in every job
        def __init__(self, metrics, artifacts=None):
            self.metrics = metrics
            self.artifacts = {} if artifacts is None else artifacts

        def __repr__(self):
            return f"EvaluationResult(metrics={self.metrics!r}, artifacts={self.artifacts!r})"

        def __eq__(self, other):
            if type(other) is not type(self):
                return NotImplemented
            return (self.metrics, self.artifacts) == (other.metrics, other.artifacts)

        @classmethod
        def from_dict(cls, metrics):
            return cls(metrics=metrics)

        def to_dict(self):
            return self.metrics

        def has_artifacts(self):
            return bool(self.artifacts)

    package = types.ModuleType("openevolve")
    package.__path__ = []
    module = types.ModuleType("openevolve.evaluation_result")
    module.EvaluationResult = EvaluationResult
    package.evaluation_result = module
    sys.modules["openevolve"] = package
    sys.modules["openevolve.evaluation_result"] = module


def normalize(result):
    """{"metrics": {name: float}, "artifacts": {name: str}} from whatever evaluate returned."""
    if hasattr(result, "metrics"):
        metrics, artifacts = result.metrics, getattr(result, "artifacts", None) or {}
    elif isinstance(result, dict):
        metrics, artifacts = result, {}
    else:
        return {"metrics": {}, "artifacts": {"error": f"evaluate returned {type(result).__name__}, "
                                                      "expected a dict or an EvaluationResult"}}
    numbers, texts = {}, {}
    for key, value in dict(metrics).items():
        number = as_number(value)
        if number is None:
            texts[str(key)] = text(value)
        else:
            numbers[str(key)] = number
    for key, value in dict(artifacts).items():
        texts[str(key)] = text(value)
    return {"metrics": numbers, "artifacts": texts}


def as_number(value):
    if isinstance(value, str | bytes):
        return None
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return None


def text(value):
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    value = value if isinstance(value, str) else repr(value)
    return value if len(value) <= TEXT_LIMIT else value[:TEXT_LIMIT] + "\n... (truncated)"
