"""Run OpenEvolve-style problem folders unchanged: an importer and an evaluator adapter.

An OpenEvolve folder holds ``initial_program.py`` (with EVOLVE-BLOCK markers), ``evaluator.py`` with
``evaluate(program_path)`` returning a dict of metrics or an object with ``metrics`` and
``artifacts`` (optionally ``evaluate_stage1/2/3`` for a cascade) and optionally ``config.yaml``.
``import_openevolve`` writes an adrs problem folder that points at it (nothing in it is copied or
edited); its evaluator is ``OpenEvolveEvaluator``.

Trust model: ``evaluator.py`` is trusted code, but it runs the candidate program itself (usually in
its own process, sometimes by importing it). So adrs runs the whole evaluator inside the sandbox
(``adrs._openevolve_driver``), one sandboxed run per cascade stage, with the problem folder rebuilt
in the sandbox's work directory: a candidate cannot touch the host, but it can read the evaluator's
folder and, if the evaluator imports it in-process, tamper with the metrics the evaluator reports.
Scores are only as trustworthy as the evaluator's own isolation of the candidate; port the problem
to the native evaluator API (docs/authoring.md) for scores adrs can vouch for. OpenEvolve has no
instance splits: train, validation and holdout all run the same ``evaluate``.

Mapping: ``combined_score`` is the score (maximize; without it, the mean of the numeric metrics, as
OpenEvolve does); other numbers are metrics; text values and artifacts are appended to the feedback;
a text ``error`` metric or an exception makes the program an ``error``. With
``evaluator.cascade_evaluation`` (default true) and ``evaluate_stage1``, stages run in order and
stop when the score is below ``evaluator.cascade_thresholds[k]``; the program keeps the metrics of
the stages it passed, as in OpenEvolve.
"""

from __future__ import annotations

import ast
import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from adrs.config import ConfigError
from adrs.evaluation import EvalResult, Objective, Split
from adrs.program import EVOLVE_END, EVOLVE_START
from adrs.sandbox import Limits, run_program

DRIVER = Path(__file__).with_name("_openevolve_driver.py")
MAX_FOLDER_MB = 64
SKIPPED_PARTS = {"__pycache__", ".git", "openevolve_output", ".ipynb_checkpoints"}
DEFAULT_TIMEOUT_S = 300.0  # OpenEvolve's default evaluator timeout


def is_openevolve_dir(path: Path) -> bool:
    return (path / "evaluator.py").is_file() and (path / "initial_program.py").is_file() and \
        not (path / "problem.yaml").is_file()


@dataclass(frozen=True)
class OpenEvolveImport:
    problem_dir: Path  # the adrs problem folder written by the importer
    budget: int | None  # config.yaml max_iterations
    seed: int | None  # config.yaml random_seed


def import_openevolve(source: Path, dest_root: Path) -> OpenEvolveImport:
    """Write an adrs problem folder for the OpenEvolve folder ``source`` under ``dest_root``."""
    source = source.resolve()
    if not is_openevolve_dir(source):
        raise ConfigError(f"{source}: not an OpenEvolve folder (needs initial_program.py and evaluator.py)")
    seed_text = (source / "initial_program.py").read_text()
    if EVOLVE_START not in seed_text or EVOLVE_END not in seed_text:
        raise ConfigError(f"{source / 'initial_program.py'}: no {EVOLVE_START} / {EVOLVE_END} block")
    config = _read_config(source)
    evaluator_cfg = config.get("evaluator") or {}
    timeout_s = float(evaluator_cfg.get("timeout", DEFAULT_TIMEOUT_S))
    thresholds = [float(t) for t in evaluator_cfg.get("cascade_thresholds") or []]
    entry = _entry_function(seed_text)
    prompt_cfg = config.get("prompt") or {}
    description = (prompt_cfg.get("system_message") or _readme_summary(source)
                   or f"Improve the program {source.name}/initial_program.py.")
    name = _problem_name(source.name)
    target = dest_root / f"{name}-{hashlib.sha1(str(source).encode()).hexdigest()[:8]}"
    (target / "evaluator").mkdir(parents=True, exist_ok=True)
    problem = {
        "name": name,
        "description": f"{description.strip()}\n\n(Imported from the OpenEvolve folder {source}.)",
        "signature": f"{entry}(...), as the OpenEvolve evaluator (evaluator.py) uses it",
        "entry": entry,
        "evaluator": "evaluator",
        "objective": {"metric": "combined_score", "direction": "maximize"},
        "seed_program": str(source / "initial_program.py"),
        "instances": {"openevolve_dir": str(source),
                      "cascade": bool(evaluator_cfg.get("cascade_evaluation", True)),
                      "thresholds": thresholds},
        "limits": {"timeout_s": timeout_s, "cpu_s": int(math.ceil(2 * timeout_s)), "memory_mb": 4096},
    }
    (target / "problem.yaml").write_text(yaml.safe_dump(problem, sort_keys=False))
    (target / "evaluator" / "__init__.py").write_text(
        '"""Adapter written by adrs: runs the OpenEvolve evaluator.py unchanged."""\n\n'
        "from adrs.openevolve import make_evaluator\n\n__all__ = [\"make_evaluator\"]\n")
    budget = config.get("max_iterations")
    seed = config.get("random_seed")
    return OpenEvolveImport(target, int(budget) if budget is not None else None,
                            int(seed) if seed is not None else None)


def openevolve_problem(source: Path, runs_dir: Path) -> OpenEvolveImport:
    """Import ``source`` into ``<runs_dir>/openevolve/`` (what ``adrs run --openevolve`` does)."""
    return import_openevolve(source, runs_dir / "openevolve")


class OpenEvolveEvaluator:
    """Adapter: evaluates a program by running the OpenEvolve evaluator in the sandbox."""

    entry = "run_stage"  # the driver's function, not the candidate's
    objectives = (Objective("combined_score", "maximize", selection=True),)

    def __init__(self, folder: Path, cascade: bool, thresholds: list[float]) -> None:
        self.folder = folder
        functions = _top_level_functions(folder / "evaluator.py")
        if "evaluate" not in functions and "evaluate_stage1" not in functions:
            raise ConfigError(f"{folder / 'evaluator.py'} defines neither evaluate nor evaluate_stage1")
        stages = [k for k in (1, 2, 3) if f"evaluate_stage{k}" in functions]
        self.stages_run = stages if cascade and 1 in stages else [0]
        if self.stages_run == [0] and "evaluate" not in functions:
            raise ConfigError(f"{folder / 'evaluator.py'}: no evaluate() and the cascade is off")
        self.thresholds = thresholds
        self.files = _pack_folder(folder)

    def evaluate_code(self, code: str, split: Split, limits: Limits) -> EvalResult:
        metrics: dict[str, float] = {}
        artifacts: dict[str, str] = {}
        runtime_s = 0.0
        notes = []
        for index, stage in enumerate(self.stages_run):
            names, blob, sizes = self.files
            call = {"stage": np.array(stage), "program": np.array(code), "names": np.array(names),
                    "blob": blob, "sizes": sizes}
            outcome = run_program(DRIVER.read_text(), self.entry, [call], limits)
            runtime_s += float(sum(outcome.call_times_s))
            label = "evaluate()" if stage == 0 else f"evaluate_stage{stage}()"
            if outcome.status != "ok":
                return EvalResult.failure(outcome.status, f"{label} failed: {outcome.feedback()}",
                                          runtime_s, artifacts)
            reply = outcome.outputs[0] if outcome.outputs else None
            if not isinstance(reply, dict) or not isinstance(reply.get("metrics"), dict):
                return EvalResult.failure("evaluator_error", f"{label}: malformed reply", runtime_s)
            artifacts.update({str(k): str(v) for k, v in (reply.get("artifacts") or {}).items()})
            metrics.update({str(k): float(v) for k, v in reply["metrics"].items()
                            if isinstance(v, int | float)})
            if outcome.stdout.strip():
                artifacts[f"stdout ({label})"] = outcome.stdout
            error = artifacts.get("error", "").strip()
            if error and error != "None":
                return EvalResult.failure("error", f"{label} reported an error: {error}", runtime_s,
                                          {k: v for k, v in artifacts.items() if k != "error"})
            score = _combined_score(metrics)
            if score is None:
                return EvalResult.failure("invalid", f"{label} returned no usable metrics "
                                          f"(got {sorted(metrics)})", runtime_s, artifacts)
            if index < len(self.stages_run) - 1 and index < len(self.thresholds) \
                    and score < self.thresholds[index]:
                notes.append(f"Cascade stopped after {label}: score {score:.6g} < threshold "
                             f"{self.thresholds[index]:.6g}; later stages not run.")
                break
        score = _combined_score(metrics)
        assert score is not None
        if "combined_score" not in metrics:
            notes.insert(0, "No combined_score metric: the score is the mean of the numeric metrics.")
        if not math.isfinite(score):
            return EvalResult.failure("invalid", f"the score is {score}", runtime_s, artifacts)
        shown = ", ".join(f"{k} = {v:.6g}" for k, v in metrics.items())
        feedback = "\n".join([f"Metrics: {shown}.", *notes])
        return EvalResult(status="ok", score=score, metrics=metrics, feedback=feedback,
                          runtime_s=runtime_s, artifacts=artifacts)


def make_evaluator(instances: Mapping[str, Any], problem_root: Path) -> OpenEvolveEvaluator:
    folder = Path(str(instances["openevolve_dir"]))
    if not (folder / "evaluator.py").is_file():
        raise ConfigError(f"{problem_root / 'problem.yaml'}: no evaluator.py in {folder}")
    return OpenEvolveEvaluator(folder, bool(instances.get("cascade", True)),
                               [float(t) for t in instances.get("thresholds") or []])


# --- helpers --------------------------------------------------------------------------------------


def _combined_score(metrics: Mapping[str, float]) -> float | None:
    if "combined_score" in metrics:
        return metrics["combined_score"]
    values = [v for v in metrics.values() if math.isfinite(v)]
    return float(np.mean(values)) if values else None


def _read_config(source: Path) -> dict[str, Any]:
    path = source / "config.yaml"
    if not path.is_file():
        return {}
    try:
        config = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from err
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return config


def _top_level_functions(path: Path) -> set[str]:
    try:
        tree = ast.parse(path.read_text())
    except SyntaxError as err:
        raise ConfigError(f"{path}: does not compile: {err}") from err
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}


def _entry_function(seed_text: str) -> str:
    """The program's main function: the first top-level function after the EVOLVE-BLOCK, else the
    first one (OpenEvolve programs usually call the evolved code from a fixed function below it)."""
    tree = ast.parse(seed_text)
    end_line = seed_text[: seed_text.index(EVOLVE_END)].count("\n") + 1
    functions = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    after = [n.name for n in functions if n.lineno > end_line]
    return (after or [n.name for n in functions] or ["main"])[0]


def _readme_summary(source: Path) -> str:
    readme = source / "README.md"
    if not readme.is_file():
        return ""
    paragraphs = [p.strip() for p in readme.read_text().split("\n\n") if p.strip()]
    return "\n\n".join(p for p in paragraphs[:3] if not p.startswith("```"))


def _problem_name(folder: str) -> str:
    name = "".join(c if c.isalnum() else "_" for c in folder.lower()).strip("_")
    return name or "openevolve"


def _pack_folder(folder: Path) -> tuple[str, np.ndarray, np.ndarray]:
    """Every file of the folder as (names joined by newlines, one uint8 array, sizes)."""
    names, chunks = [], []
    total = 0
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if not path.is_file() or SKIPPED_PARTS & set(rel.parts) or "\n" in str(rel):
            continue
        data = path.read_bytes()
        total += len(data)
        if total > MAX_FOLDER_MB * 1024 * 1024:
            raise ConfigError(f"{folder}: more than {MAX_FOLDER_MB} MB of files; the OpenEvolve adapter "
                              "copies the folder into the sandbox")
        names.append(str(rel))
        chunks.append(data)
    blob = np.frombuffer(b"".join(chunks), dtype=np.uint8)
    return "\n".join(names), blob, np.array([len(c) for c in chunks], dtype=np.int64)
