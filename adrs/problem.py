"""ProblemSpec: one problem folder (problem.yaml, seed program, baselines) read and validated.

A problem folder holds ``problem.yaml``, the seed program (with EVOLVE-BLOCK markers) and baseline
programs. Built-in problems live in ``problems/``; a path to any folder works too, and installed
packages add problems and evaluators through entry points (``adrs.plugins``). This module reads
and checks the files; it does not evaluate programs (see ``adrs.evaluation``) or import ray.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from adrs.config import ConfigError, SandboxConfig, check_keys, require
from adrs.limits import Limits
from adrs.pareto import FrontObjective, parse_front
from adrs.plugins import EVALUATOR_GROUP, PROBLEM_GROUP
from adrs.program import EVOLVE_END, EVOLVE_START
from adrs.proposer.ast_ops import Vocabulary
from adrs.resources import builtin_dir, import_package_from_dir


@dataclass(frozen=True)
class ProblemSpec:
    name: str
    root: Path  # the problem folder
    description: str
    signature: str  # the program contract shown to the LLM, e.g. "schedule(p, d) -> job order"
    entry: str  # entry function name
    evaluator: str  # evaluator name (a folder in evaluators/) or a path
    objective: str  # metric used as the selection score
    direction: str  # "minimize" | "maximize"
    seed_program: Path
    baselines: dict[str, Path]
    instances: dict[str, Any]  # evaluator-specific description of the train/validation/holdout sets
    limits: Limits
    mutator: dict[str, Any] = field(default_factory=dict)  # vocabulary for the offline mutator
    compare_with: tuple[str, ...] = ()  # baselines shown in progress and reports
    front: tuple[FrontObjective, ...] = ()  # >= 2 objectives: Pareto selection (adrs.pareto)

    @property
    def seed_code(self) -> str:
        return self.seed_program.read_text()

    def better(self, a: float | None, b: float | None) -> bool:
        """True when score ``a`` is strictly better than ``b`` (None is worst)."""
        if a is None:
            return False
        if b is None:
            return True
        return a < b if self.direction == "minimize" else a > b

    def limits_with(self, overrides: SandboxConfig) -> Limits:
        """The problem's sandbox limits with a run config's non-None overrides applied."""
        changes = {k: v for k, v in dataclasses.asdict(overrides).items() if v is not None}
        return dataclasses.replace(self.limits, **changes)

    def fitness(self, score: float) -> float:
        """Score mapped so that larger is better (for selection)."""
        return -score if self.direction == "minimize" else score

    @cached_property
    def evaluator_dir(self) -> Path:
        path = Path(self.evaluator)
        if not path.is_absolute():
            local = self.root / self.evaluator
            path = local if local.is_dir() else builtin_dir("evaluators") / self.evaluator
            if not (path / "__init__.py").is_file():  # an installed plug-in package?
                path = _plugin_folder(EVALUATOR_GROUP, self.evaluator) or path
        if not (path / "__init__.py").is_file():
            raise ConfigError(f"{self.root / 'problem.yaml'}: evaluator {self.evaluator!r}: "
                              f"no evaluator package at {path}")
        return path

    def load_evaluator(self) -> Any:
        """Import the evaluator package and build it for this problem's instance sets."""
        return self.evaluator_module().make_evaluator(self.instances, problem_root=self.root)

    def evaluator_module(self) -> Any:
        """The imported evaluator package (built-ins keep their short module name; others get the
        folder's hash in theirs, so two problems' ``evaluator/`` folders never collide)."""
        folder = self.evaluator_dir
        name = f"adrs_evaluator_{folder.name}"
        if folder.parent != builtin_dir("evaluators").resolve():
            name += "_" + hashlib.sha1(str(folder).encode()).hexdigest()[:10]
        return import_package_from_dir(folder, name)


def problem_dirs() -> dict[str, Path]:
    """Built-in problems by name."""
    root = builtin_dir("problems")
    return {p.name: p for p in sorted(root.iterdir()) if (p / "problem.yaml").is_file()}


def known_problems() -> dict[str, tuple[Path, str]]:
    """Every problem that can be run by name: built-in folders, then installed plug-ins
    (entry points ``adrs.problems``), as name -> (folder, source)."""
    from adrs.plugins import plugins

    known = {name: (path, "built-in") for name, path in problem_dirs().items()}
    for name, plugin in plugins(PROBLEM_GROUP).items():
        if name not in known:
            try:
                known[name] = (plugin.folder(), plugin.dist)
            except (ImportError, LookupError, OSError, AttributeError) as err:
                known[name] = (Path(f"<{err}>"), f"{plugin.dist} (broken)")
    return known


def load_problem(name_or_path: str) -> ProblemSpec:
    """Read a problem by path, built-in name or plug-in name. Errors name the bad field."""
    path = Path(name_or_path)
    if not (path / "problem.yaml").is_file():
        builtin = problem_dirs()
        if name_or_path in builtin:
            path = builtin[name_or_path]
        else:
            found = _plugin_folder(PROBLEM_GROUP, name_or_path)
            if found is None:
                known = sorted(set(builtin) | set(known_problems()))
                raise ConfigError(f"unknown problem {name_or_path!r}; known problems: "
                                  f"{', '.join(known) or 'none'} (or give a folder with problem.yaml)")
            if not (found / "problem.yaml").is_file():
                raise ConfigError(f"problem {name_or_path!r} (an installed plug-in) has no "
                                  f"problem.yaml in {found}")
            path = found
    return parse_problem(path.resolve())


def shadowing_note(name_or_path: str) -> str | None:
    """A note when a bare name (``eplb``) picks a local folder over the built-in problem."""
    path = Path(name_or_path)
    if len(path.parts) == 1 and (path / "problem.yaml").is_file() and name_or_path in problem_dirs():
        return f"using ./{name_or_path} (a folder here), not the built-in {name_or_path}"
    return None


def _plugin_folder(group: str, name: str) -> Path | None:
    from adrs.plugins import PluginError, find_plugin_folder

    try:
        return find_plugin_folder(group, name)
    except (PluginError, ImportError, AttributeError, OSError) as err:
        raise ConfigError(f"plug-in {name!r} ({group}) cannot be loaded: {err}") from err


def parse_problem(root: Path) -> ProblemSpec:
    source = root / "problem.yaml"
    try:
        raw = yaml.safe_load(source.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"{source}: not valid YAML: {err}") from err
    where = str(source)
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping at the top level")
    check_keys(raw, where, {"name", "description", "signature", "entry", "evaluator", "objective",
                            "seed_program", "baselines", "instances", "limits", "mutator",
                            "compare_with", "sandbox"})
    objective = require(raw, "objective", dict, where)
    check_keys(objective, f"{where}: objective", {"metric", "direction", "front"})
    direction = require(objective, "direction", str, f"{where}: objective")
    if direction not in ("minimize", "maximize"):
        raise ConfigError(f"{where}: objective.direction must be 'minimize' or 'maximize', "
                          f"not {direction!r}")
    seed = root / require(raw, "seed_program", str, where)
    if not seed.is_file():
        raise ConfigError(f"{where}: seed_program: file {seed} does not exist")
    seed_text = seed.read_text()
    if EVOLVE_START not in seed_text or EVOLVE_END not in seed_text:
        raise ConfigError(f"{where}: seed_program {seed.name} has no {EVOLVE_START} / {EVOLVE_END} block")
    baselines = {}
    for name, rel in (raw.get("baselines") or {}).items():
        file = root / str(rel)
        if not file.is_file():
            raise ConfigError(f"{where}: baselines.{name}: file {file} does not exist")
        baselines[str(name)] = file
    compare_with = tuple(raw.get("compare_with") or ())
    for name in compare_with:
        if name not in baselines:
            raise ConfigError(f"{where}: compare_with: {name!r} is not one of the baselines")
    limits_raw = raw.get("limits") or {}
    if not isinstance(limits_raw, dict):
        raise ConfigError(f"{where}: limits must be a mapping")
    check_keys(limits_raw, f"{where}: limits", set(Limits.__dataclass_fields__))
    limits = dataclasses.replace(Limits(**limits_raw), **_sandbox_section(raw, where))
    mutator = raw.get("mutator") or {}
    try:
        Vocabulary.from_dict(mutator)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{where}: mutator: {err}") from err
    return ProblemSpec(
        name=require(raw, "name", str, where),
        root=root,
        description=require(raw, "description", str, where).strip(),
        signature=require(raw, "signature", str, where).strip(),
        entry=require(raw, "entry", str, where),
        evaluator=require(raw, "evaluator", str, where),
        objective=require(objective, "metric", str, f"{where}: objective"),
        direction=direction,
        seed_program=seed,
        baselines=baselines,
        instances=require(raw, "instances", dict, where),
        limits=limits,
        mutator=mutator,
        compare_with=compare_with,
        front=parse_front(objective.get("front"), where),
    )


def _sandbox_section(raw: dict[str, Any], where: str) -> dict[str, Any]:
    """``sandbox: {packages: [...], python: PATH}``: what the sandbox may import (adrs.sandbox_packages)."""
    section = raw.get("sandbox") or {}
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: sandbox must be a mapping (packages, python)")
    check_keys(section, f"{where}: sandbox", {"packages", "python"})
    packages = section.get("packages") or []
    if not isinstance(packages, list) or not all(isinstance(p, str) and p.strip() for p in packages):
        raise ConfigError(f"{where}: sandbox.packages must be a list of requirement strings, e.g. "
                          "[scipy, 'networkx>=3.2']")
    python = section.get("python") or ""
    if not isinstance(python, str):
        raise ConfigError(f"{where}: sandbox.python must be the path of a Python interpreter")
    if python and not Path(python).is_absolute():
        python = str(Path(where).parent / python) if "/" in python else python  # else: on PATH
    return {"packages": tuple(p.strip() for p in packages), "python": python}
