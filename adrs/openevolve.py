"""Run problem folders written for OpenEvolve or the ADRS benchmarks unchanged: importer and adapter.

Layouts (``foreign_layout``): an OpenEvolve folder holds ``initial_program.py`` (EVOLVE-BLOCK markers)
and ``evaluator.py`` with ``evaluate(program_path)`` returning a dict of metrics or an object with
``metrics`` and ``artifacts`` (optionally ``evaluate_stage1/2/3`` for a cascade), ``config.yaml``
and ``requirements.txt``. The ADRS-benchmark layout (SkyDiscover) keeps the evaluator and its helper
modules, data, ``requirements.txt``, ``wrapper.py``, ``evaluate.sh`` and ``Dockerfile`` in
``evaluator/``. ``import_openevolve`` writes an adrs problem folder that points at the folder (nothing
in it is copied or edited): the config (``config.yaml``, or the one named with ``--oe-config``; a
folder with only other configs, e.g. ``config_phase_1.yaml`` and ``config_phase_2.yaml``, is an error
that lists them), the requirements as ``sandbox.packages`` and the evaluator style.

Trust model: the evaluator is trusted code but runs the candidate itself, so adrs runs it in the
sandbox (``adrs._openevolve_driver``), one sandboxed run per cascade stage, with the problem folder
bound read-only. Where the evaluator loads the program itself (importlib, or ``sys.executable`` in a
subprocess: ``candidate_process: proxy``), the candidate runs in a second sandboxed process behind a
call proxy (``adrs.proxy``), so it cannot patch the evaluator or forge its metrics; otherwise
(``shared``) the two share one process and the scores are only as trustworthy as the evaluator's own
isolation. ``evaluator_guarantee`` states which (recorded on the run; see docs/security.md). These
problems have no instance splits: train, validation and holdout all run the same ``evaluate``.

Mapping: ``combined_score`` is the score (maximize; without it, the mean of the numeric metrics, as
OpenEvolve does); other numbers are metrics; text values and artifacts are appended to the feedback;
a text ``error`` metric or an exception from the program makes the program an ``error``; an
evaluator that fails to import or raises from its own code is an ``evaluator_error`` (traceback and
a hint). With ``evaluator.cascade_evaluation`` (default true) and ``evaluate_stage1``, stages run in
order and stop when the score is below ``evaluator.cascade_thresholds[k]``; the program keeps the
metrics of the stages it passed, as in OpenEvolve.
"""

from __future__ import annotations

import ast
import hashlib
import math
import re
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from adrs.config import ConfigError
from adrs.evaluation import EvalResult, Objective, Split
from adrs.program import EVOLVE_END, EVOLVE_START
from adrs.sandbox import Limits, run_program
from adrs.sandbox_packages import read_requirements

DRIVER = Path(__file__).with_name("_openevolve_driver.py")
DEFAULT_TIMEOUT_S = 300.0  # OpenEvolve's default evaluator timeout
LOADS_PROGRAM = re.compile(r"spec_from_file_location|import_module|sys\.executable|runpy")
NOT_BOUND = frozenset(["openevolve", "skydiscover"])  # the frameworks themselves (a shim stands in)
GUARANTEES = {
    "proxy": "evaluate(program_path) in its own sandboxed process; the candidate in another one "
             "behind a call proxy (data only crosses): it cannot patch the evaluator or forge metrics",
    "shared": "evaluate(program_path) and the candidate share one sandboxed process: a candidate "
              "can tamper with the metrics; trust them as far as the evaluator isolates the program",
    "native": "native evaluator: the candidate runs sandboxed, the trusted evaluator validates its "
              "answers and recomputes every metric outside the sandbox",
}


def foreign_layout(path: Path) -> str | None:
    """"openevolve", "adrs-benchmark" or None (an adrs folder with problem.yaml, or neither)."""
    if (path / "problem.yaml").is_file() or not (path / "initial_program.py").is_file():
        return None
    if (path / "evaluator.py").is_file():
        return "openevolve"
    if (path / "evaluator" / "evaluator.py").is_file():
        return "adrs-benchmark"
    return None


def is_openevolve_dir(path: Path) -> bool:
    return foreign_layout(path) is not None


@dataclass(frozen=True)
class OpenEvolveImport:
    problem_dir: Path  # the adrs problem folder written by the importer
    budget: int | None  # config max_iterations
    seed: int | None  # config random_seed


def import_openevolve(source: Path, dest_root: Path, config_file: Path | None = None,
                      candidate_process: str = "auto") -> OpenEvolveImport:
    """Write an adrs problem folder for the OpenEvolve / ADRS folder ``source`` under ``dest_root``."""
    source = source.resolve()
    layout = foreign_layout(source)
    if layout is None:
        raise ConfigError(f"{source}: not an OpenEvolve folder (initial_program.py + evaluator.py) "
                          "nor an ADRS-benchmark folder (initial_program.py + evaluator/evaluator.py)")
    evaluator_dir = source if layout == "openevolve" else source / "evaluator"
    evaluator_file = evaluator_dir / "evaluator.py"
    seed_text = (source / "initial_program.py").read_text()
    if EVOLVE_START not in seed_text or EVOLVE_END not in seed_text:
        raise ConfigError(f"{source / 'initial_program.py'}: no {EVOLVE_START} / {EVOLVE_END} block")
    config_path = choose_config(source, config_file)
    config = _read_config(config_path) if config_path else {}
    evaluator_cfg = config.get("evaluator") or {}
    timeout_s = float(evaluator_cfg.get("timeout", DEFAULT_TIMEOUT_S))
    thresholds = [float(t) for t in evaluator_cfg.get("cascade_thresholds") or []]
    entry = _entry_function(seed_text)
    prompt_cfg = config.get("prompt") or {}
    description = (prompt_cfg.get("system_message") or _readme_summary(source)
                   or f"Improve the program {source.name}/initial_program.py.")
    mode = _candidate_mode(candidate_process, evaluator_file)
    name = _problem_name(source.name)
    key = f"{source}|{config_path or ''}|{mode}"
    target = dest_root / f"{name}-{hashlib.sha1(key.encode()).hexdigest()[:8]}"
    (target / "evaluator").mkdir(parents=True, exist_ok=True)
    problem = {
        "name": name,
        "description": f"{description.strip()}\n\n(Imported from the {layout} folder {source}.)",
        "signature": f"{entry}(...), as the evaluator ({evaluator_file.relative_to(source)}) uses it",
        "entry": entry,
        "evaluator": "evaluator",
        "objective": {"metric": "combined_score", "direction": "maximize"},
        "seed_program": str(source / "initial_program.py"),
        "baselines": {"initial_program": str(source / "initial_program.py")},
        "instances": {"openevolve_dir": str(source), "layout": layout,
                      "evaluator_dir": str(evaluator_dir), "config": str(config_path or ""),
                      "candidate_process": mode,
                      "cascade": bool(evaluator_cfg.get("cascade_evaluation", True)),
                      "thresholds": thresholds},
        "limits": {"timeout_s": timeout_s, "cpu_s": int(math.ceil(2 * timeout_s)), "memory_mb": 4096},
        "sandbox": {"packages": list(folder_packages(source, evaluator_dir))},
    }
    (target / "problem.yaml").write_text(yaml.safe_dump(problem, sort_keys=False))
    (target / "evaluator" / "__init__.py").write_text(
        '"""Adapter written by adrs: runs the OpenEvolve / ADRS evaluator unchanged."""\n\n'
        "from adrs.openevolve import bench, make_evaluator\n\n__all__ = [\"bench\", \"make_evaluator\"]\n")
    budget = config.get("max_iterations")
    seed = config.get("random_seed")
    return OpenEvolveImport(target, int(budget) if budget is not None else None,
                            int(seed) if seed is not None else None)


def openevolve_problem(source: Path, runs_dir: Path, config_file: Path | None = None,
                       candidate_process: str = "auto") -> OpenEvolveImport:
    """Import ``source`` into ``<runs_dir>/openevolve/`` (what ``adrs run DIR`` does)."""
    return import_openevolve(source, runs_dir / "openevolve", config_file, candidate_process)


def problem_argument(problem: str, runs_dir: Path, config_file: Path | None = None,
                     candidate_process: str = "auto") -> str:
    """What the CLI passes on: ``problem`` itself, or the imported folder for OpenEvolve / ADRS ones."""
    if is_openevolve_dir(Path(problem)):
        return str(openevolve_problem(Path(problem), runs_dir, config_file, candidate_process).problem_dir)
    if config_file is not None:
        raise ConfigError("--oe-config applies only to OpenEvolve / ADRS-benchmark folders")
    return problem


def choose_config(source: Path, config_file: Path | None) -> Path | None:
    """``config_file`` (relative to the folder or the working directory), else ``config.yaml``.
    Several configs and no ``config.yaml`` is an error naming them: no silent defaults."""
    if config_file is not None:
        for path in (config_file, source / config_file):
            if path.is_file():
                return path.resolve()
        raise ConfigError(f"--oe-config {config_file}: no such file (in the working directory or {source})")
    default = source / "config.yaml"
    if default.is_file():
        return default
    others = sorted(p for p in [*source.glob("config*.y*ml"), *source.glob("configs/*.y*ml")]
                    if p.is_file())
    if others:
        names = ", ".join(str(p.relative_to(source)) for p in others)
        example = others[0].relative_to(source)
        raise ConfigError(f"{source} has no config.yaml but {len(others)} other config(s): {names}; "
                          f"choose one with --oe-config FILE (e.g. --oe-config {example})")
    return None


def folder_packages(source: Path, evaluator_dir: Path) -> tuple[str, ...]:
    """The requirement lines of the folder's requirements.txt files (evaluator's first)."""
    found: list[str] = []
    for path in dict.fromkeys([evaluator_dir / "requirements.txt", source / "requirements.txt"]):
        if path.is_file():
            try:
                lines = read_requirements(path)
            except ValueError as err:
                raise ConfigError(str(err)) from err
            found += [line for line in lines if _requirement_name(line) not in NOT_BOUND]
    return tuple(dict.fromkeys(found))


def _requirement_name(line: str) -> str:
    return re.split(r"[\s\[<>=!~;]", line.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _candidate_mode(requested: str, evaluator_file: Path) -> str:
    if requested not in ("auto", "proxy", "shared"):
        raise ConfigError(f"candidate_process must be auto, proxy or shared, not {requested!r}")
    if requested != "auto":
        return requested
    return "proxy" if LOADS_PROGRAM.search(evaluator_file.read_text(errors="replace")) else "shared"


def evaluator_guarantee(spec: Any) -> str:
    """What the run can promise about its metrics, by evaluator style (see docs/security.md)."""
    instances = spec.instances if isinstance(spec.instances, dict) else {}
    if "openevolve_dir" not in instances:
        return GUARANTEES["native"]
    mode = str(instances.get("candidate_process", "shared"))
    return f"{instances.get('layout', 'openevolve')} {mode}: {GUARANTEES.get(mode, GUARANTEES['shared'])}"


class OpenEvolveEvaluator:
    """Adapter: evaluates a program by running the OpenEvolve / ADRS evaluator in the sandbox."""

    entry = "run_stage"  # the driver's function, not the candidate's
    objectives = (Objective("combined_score", "maximize", selection=True),)

    def __init__(self, folder: Path, cascade: bool, thresholds: list[float],
                 evaluator_dir: Path | None = None, candidate_process: str = "shared") -> None:
        self.folder = folder
        self.evaluator_dir = evaluator_dir or folder
        self.evaluator_file = self.evaluator_dir / "evaluator.py"
        functions = _top_level_functions(self.evaluator_file)
        if "evaluate" not in functions and "evaluate_stage1" not in functions:
            raise ConfigError(f"{self.evaluator_file} defines neither evaluate nor evaluate_stage1")
        stages = [k for k in (1, 2, 3) if f"evaluate_stage{k}" in functions]
        self.stages_run = stages if cascade and 1 in stages else [0]
        if self.stages_run == [0] and "evaluate" not in functions:
            raise ConfigError(f"{self.evaluator_file}: no evaluate() and the cascade is off")
        self.thresholds = thresholds
        self.candidate_process = candidate_process

    def evaluate_code(self, code: str, split: Split, limits: Limits) -> EvalResult:
        metrics: dict[str, float] = {}
        artifacts: dict[str, str] = {}
        runtime_s = 0.0
        notes = []
        for index, stage in enumerate(self.stages_run):
            label = "evaluate()" if stage == 0 else f"evaluate_stage{stage}()"
            failed, reply, seconds = self._run_stage(stage, label, code, limits)
            runtime_s += seconds
            if failed is not None:
                return failed
            artifacts.update({str(k): str(v) for k, v in (reply.get("artifacts") or {}).items()})
            metrics.update({str(k): float(v) for k, v in reply["metrics"].items()
                            if isinstance(v, int | float)})
            error = artifacts.get("error", "").strip()
            if error and error != "None":
                notes_for_error = self._proxy_note(error) + _missing_file_note(error)
                return EvalResult.failure("error", f"{label} reported an error: {error}" + notes_for_error,
                                          runtime_s, {k: v for k, v in artifacts.items() if k != "error"})
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

    def _proxy_note(self, error: str) -> str:
        if self.candidate_process != "proxy" or "cannot cross the sandbox boundary" not in error:
            return ""
        return ("\nhint (for the problem's author): the evaluator hands the program objects the call "
                "proxy cannot carry (only data crosses); run with --oe-candidate shared to keep "
                "evaluator and program in one process (the candidate can then tamper with the metrics)")

    def _run_stage(self, stage: int, label: str, code: str,
                   limits: Limits) -> tuple[EvalResult | None, dict, float]:
        """(failure or None, the driver's reply, seconds) of one stage."""
        from adrs.proxy import candidate_process, source_of

        binds = [str(self.folder)]
        with ExitStack() as stack:
            program, server = code, None
            if self.candidate_process == "proxy":
                server = stack.enter_context(candidate_process(
                    code, limits, binds=binds, paths=[str(self.evaluator_dir), str(self.folder)]))
                program, binds = server.proxy_source, [*binds, server.socket_dir]
            call = {"stage": np.array(stage), "program": np.array(program),
                    "folder": np.array(str(self.folder)), "evaluator_dir": np.array(str(self.evaluator_dir)),
                    "evaluator_file": np.array(str(self.evaluator_file))}
            outcome = run_program(source_of(DRIVER), self.entry, [call], limits, binds=binds)
        seconds = float(sum(outcome.call_times_s))
        extra = {}
        if server is not None and server.feedback():
            extra["candidate process"] = server.feedback()
        if server is not None and server.outcome is not None and server.outcome.stdout.strip():
            extra["stdout (program)"] = server.outcome.stdout
        if outcome.status != "ok":
            return EvalResult.failure(outcome.status, f"{label} failed: {outcome.feedback()}", seconds,
                                      extra), {}, seconds
        reply = outcome.outputs[0] if outcome.outputs else None
        if not isinstance(reply, dict) or not isinstance(reply.get("metrics"), dict):
            return EvalResult.failure("evaluator_error", f"{label}: malformed reply", seconds), {}, seconds
        if outcome.stdout.strip():
            reply.setdefault("artifacts", {})[f"stdout ({label})"] = outcome.stdout
        kind = reply.get("failure") or ""
        if kind:
            return self._blame(kind, label, reply, extra, seconds), {}, seconds
        reply.setdefault("artifacts", {}).update(extra)
        return None, reply, seconds

    def _blame(self, kind: str, label: str, reply: dict, extra: dict, seconds: float) -> EvalResult:
        artifacts = {str(k): str(v) for k, v in (reply.get("artifacts") or {}).items()}
        trace = artifacts.pop("traceback", "")
        exception = str(reply.get("exception", ""))
        rest = {**artifacts, **extra}
        if kind == "candidate":
            return EvalResult.failure("error", f"{label}: the program raised {exception}\n{trace}"
                                      + self._proxy_note(exception), seconds, rest)
        what = "failed to import" if kind == "evaluator_import" else "raised from its own code"
        text = (f"the evaluator {self.evaluator_file} {what} (not the program's fault): {exception}\n"
                f"{trace}\nhint: {evaluator_hint(exception)}")
        return EvalResult.failure("evaluator_error", text, seconds, rest)


MISSING_FILE = re.compile(r"No such file|FileNotFoundError|not found|No configuration files|"
                          r"No files processed", re.IGNORECASE)


def _missing_file_note(error: str) -> str:
    if not MISSING_FILE.search(error):
        return ""
    return ("\nhint: the evaluator reports missing files, which is usually the environment, not the "
            "program: data must be inside the problem folder (visible read-only at its own path); "
            "download scripts (e.g. download_dataset.sh) are not run by adrs")


def evaluator_hint(exception: str) -> str:
    """What to do about an evaluator failure, from its exception text."""
    missing = re.search(r"No module named '([^'.]+)", exception)
    if missing:
        module = missing.group(1)
        return (f"the module {module!r} is not importable in the sandbox. List its package in the "
                "folder's requirements.txt (OpenEvolve / ADRS folders) or in sandbox.packages "
                f"(problem.yaml), and install it: python -m pip install {module} (the pip name may "
                "differ from the module name)")
    if "Read-only file system" in exception:
        return ("the problem folder is read-only in the sandbox; write scratch files to the "
                "working directory's tempfile.gettempdir() instead")
    if "No such file or directory" in exception:
        return ("a file the evaluator reads is missing: data must live inside the problem folder "
                "(it is visible read-only at its own path); download scripts are not run by adrs")
    return "run the evaluator directly on initial_program.py to reproduce it"


def make_evaluator(instances: Mapping[str, Any], problem_root: Path) -> OpenEvolveEvaluator:
    folder = Path(str(instances["openevolve_dir"]))
    evaluator_dir = Path(str(instances.get("evaluator_dir") or folder))
    if not (evaluator_dir / "evaluator.py").is_file():
        raise ConfigError(f"{problem_root / 'problem.yaml'}: no evaluator.py in {evaluator_dir}")
    return OpenEvolveEvaluator(folder, bool(instances.get("cascade", True)),
                               [float(t) for t in instances.get("thresholds") or []],
                               evaluator_dir, str(instances.get("candidate_process") or "shared"))


def bench(request: Any) -> list[Any]:
    """``adrs bench DIR [PROGRAMS]``: every program's score and metrics from the folder's evaluator."""
    from concurrent.futures import ThreadPoolExecutor

    from adrs.bench import BenchTable
    from adrs.evaluation import evaluate_program

    spec = request.problem
    evaluator = spec.load_evaluator()

    def one(item: tuple[str, str]) -> tuple[str, EvalResult]:
        return item[0], evaluate_program(item[1], evaluator, "validation", spec.limits)

    with ThreadPoolExecutor(max_workers=max(1, request.workers)) as pool:
        results = dict(pool.map(one, request.programs.items()))
    names = sorted({k for r in results.values() for k in r.metrics if k != "combined_score"})
    rows = tuple((label, r.status, r.score, *(r.metrics.get(k) for k in names))
                 for label, r in results.items())
    notes = tuple(f"{label}: {r.feedback.splitlines()[0][:200]}" for label, r in results.items()
                  if not r.correct and r.feedback)
    return [BenchTable(f"{spec.name}: {evaluator.evaluator_file}", ("program", "status", "combined_score",
                       *names), rows, notes)]


# --- helpers --------------------------------------------------------------------------------------


def _combined_score(metrics: Mapping[str, float]) -> float | None:
    if "combined_score" in metrics:
        return metrics["combined_score"]
    values = [v for v in metrics.values() if math.isfinite(v)]
    return float(np.mean(values)) if values else None


def _read_config(path: Path) -> dict[str, Any]:
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
