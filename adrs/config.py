"""Run configuration: sections (llm, prompt, evolution, sandbox, db) with visible defaults.

YAML in, frozen dataclasses out; every error names the offending field. Secrets (API keys) are never
read from config files, only from the environment by the LLM proposer. This module does not know
about problems (see ``adrs.problem``) beyond the small helpers both share.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """A configuration (run config or problem.yaml) is malformed; the message names the field."""


def check_keys(raw: dict[str, Any], where: str, allowed: set[str]) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(unknown)}; "
                          f"allowed: {', '.join(sorted(allowed))}")


def require(raw: dict[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in raw:
        raise ConfigError(f"{where}: missing required field {key!r}")
    value = raw[key]
    if not isinstance(value, kind):
        raise ConfigError(f"{where}: field {key!r} must be {kind.__name__}, not {type(value).__name__}")
    return value


@dataclass(frozen=True)
class LLMConfig:
    """The ``llm`` section. ``model`` None means: use the built-in offline mutator."""

    model: str | None = None  # any litellm model string, e.g. "openai/gpt-4o-mini"
    api_base: str | None = None  # OpenAI-compatible server (vLLM, Ollama, a test server, ...)
    temperature: float = 0.7
    max_tokens: int = 4096
    timeout_s: float = 120.0  # per call
    max_retries: int = 3  # on 429 / 5xx / timeouts, exponential backoff with jitter
    concurrency: int = 4  # calls in flight at once


@dataclass(frozen=True)
class PromptConfig:
    template_dir: str | None = None  # a folder whose *.j2 files override the built-in templates
    # probability of each mutation template for LLM proposers ("fix" needs a failed program)
    templates: dict[str, float] = field(
        default_factory=lambda: {"diff": 0.6, "rewrite": 0.25, "fix": 0.15})


@dataclass(frozen=True)
class EvolutionConfig:
    budget: int = 1000  # candidates after the seed
    # wall-time budget, accumulated over resumes; None: no limit. Evolved SMTT programs get slower
    # (more improvement passes), so the default campaign is capped at 7 minutes of evolution.
    max_time_s: float | None = 420.0
    budget_usd: float | None = None  # stop when LLM spend reaches this
    workers: int = 2  # evaluations in flight (Ray CPUs)
    islands: int = 4
    migration_interval: int = 40  # candidates between migrations (best of island k joins k+1)
    tournament_size: int = 3
    elite_probability: float = 0.25  # chance to take the island's best as the parent
    inspirations: int = 2
    seed: int = 0


@dataclass(frozen=True)
class SandboxConfig:
    """Overrides of the problem's limits; None keeps the problem's value."""

    timeout_s: float | None = None
    cpu_s: int | None = None
    memory_mb: int | None = None


@dataclass(frozen=True)
class DBConfig:
    url: str | None = None  # any SQLAlchemy URL; default: SQLite in runs/<run-id>/adrs.sqlite
    runs_dir: str = "runs"


@dataclass(frozen=True)
class RunConfig:
    llm: LLMConfig = field(default_factory=LLMConfig)
    prompt: PromptConfig = field(default_factory=PromptConfig)
    evolution: EvolutionConfig = field(default_factory=EvolutionConfig)
    sandbox: SandboxConfig = field(default_factory=SandboxConfig)
    db: DBConfig = field(default_factory=DBConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def load_run_config(path: Path | None = None, overrides: dict[str, dict[str, Any]] | None = None,
                    base: dict[str, Any] | None = None) -> RunConfig:
    """Build a RunConfig from ``base`` (e.g. a stored run), a YAML file, then CLI ``overrides``."""
    raw: dict[str, Any] = _deep_copy(base or {})
    if path is not None:
        try:
            loaded = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError) as err:
            raise ConfigError(f"{path}: cannot read config: {err}") from err
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: expected a mapping of sections at the top level")
        _merge(raw, loaded)
    for section, values in (overrides or {}).items():
        raw.setdefault(section, {})
        raw[section].update({k: v for k, v in values.items() if v is not None})
    return build_dataclass(RunConfig, raw, str(path or "config"))


def build_dataclass(cls: type, raw: Any, where: str) -> Any:
    """Instantiate dataclass ``cls`` from a mapping, checking field names and value types."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping, not {type(raw).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    check_keys(raw, where, set(fields))
    hints = typing.get_type_hints(cls)
    values = {}
    for name, value in raw.items():
        hint = hints[name]
        if dataclasses.is_dataclass(hint):
            values[name] = build_dataclass(hint, value, f"{where}: {name}")
        else:
            values[name] = _check_type(value, hint, f"{where}: {name}")
    return cls(**values)


def _check_type(value: Any, hint: Any, where: str) -> Any:
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    for option in options:
        if option is type(None) and value is None:
            return None
        origin = typing.get_origin(option) or option
        if origin is float and isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if origin is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if origin in (str, bool, dict) and isinstance(value, origin):
            return value
    names = " or ".join(getattr(o, "__name__", str(o)) for o in options)
    raise ConfigError(f"{where}: expected {names}, got {value!r}")


def _merge(into: dict[str, Any], new: dict[str, Any]) -> None:
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def _deep_copy(raw: dict[str, Any]) -> dict[str, Any]:
    return {k: _deep_copy(v) if isinstance(v, dict) else v for k, v in raw.items()}
