"""Sandbox side of ``adrs.openevolve``: run one stage of an OpenEvolve ``evaluator.py`` on a program.

This file is the "candidate" the sandbox imports (its ``run_stage`` is the entry function); the real
candidate program arrives as text. It rebuilds the OpenEvolve problem folder inside the sandbox's
work directory (the files arrive as one byte array, so the evaluator can read its own data even
where the sandbox hides the host's file system), writes the program next to it, imports
``evaluator.py`` and calls ``evaluate(program_path)`` (stage 0) or ``evaluate_stageN(program_path)``.
The result (a dict, or an object with ``metrics`` and ``artifacts``) comes back as plain numbers and
text; the trusted side (``adrs.openevolve``) maps it to an EvalResult.

Standalone: stdlib only, never ``adrs``. If the ``openevolve`` package is not installed, a minimal
``openevolve.evaluation_result.EvaluationResult`` is provided so evaluators importing it still run.
"""

import dataclasses
import importlib.util
import os
import sys
import types

FOLDER = "openevolve_problem"
TEXT_LIMIT = 20000


def run_stage(stage, program, names, blob, sizes):
    root = os.path.join(os.getcwd(), FOLDER)
    unpack(root, names, blob, sizes)
    program_dir = os.path.join(os.getcwd(), "program")
    os.makedirs(program_dir, exist_ok=True)
    program_path = os.path.join(program_dir, "program.py")
    with open(program_path, "w", encoding="utf-8") as f:
        f.write(program)
    provide_openevolve_shim()
    sys.path.insert(0, root)
    os.chdir(root)
    spec = importlib.util.spec_from_file_location("evaluator", os.path.join(root, "evaluator.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules["evaluator"] = module
    spec.loader.exec_module(module)
    function = "evaluate" if int(stage) == 0 else f"evaluate_stage{int(stage)}"
    return normalize(getattr(module, function)(program_path))


def unpack(root, names, blob, sizes):
    offset = 0
    data = bytes(blob.tobytes()) if hasattr(blob, "tobytes") else bytes(blob)
    for name, size in zip(names.split("\n") if names else [], list(sizes), strict=True):
        path = os.path.normpath(os.path.join(root, name))
        if not path.startswith(root + os.sep):
            raise ValueError(f"refusing to write outside the problem folder: {name!r}")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data[offset:offset + int(size)])
        offset += int(size)


def provide_openevolve_shim():
    try:
        import openevolve.evaluation_result  # noqa: F401
        return
    except ImportError:
        pass

    @dataclasses.dataclass
    class EvaluationResult:
        metrics: dict
        artifacts: dict = dataclasses.field(default_factory=dict)

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
