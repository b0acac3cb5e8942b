"""Run configuration: sections (llm, prompt, evolution, sandbox, db, ray) with visible defaults.

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

from adrs.errors import ConfigError


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
class ModelConfig:
    """One model of the ``llm.models`` ensemble."""

    model: str  # any litellm model string, e.g. "anthropic/claude-haiku-4-5"
    weight: float = 1.0  # relative chance of being asked (without the bandit)
    api_base: str | None = None  # OpenAI-compatible server (vLLM, Ollama, llama.cpp, a test server)
    # user prices in USD per million tokens (local models: 0); None: litellm's offline price table
    input_usd_per_mtok: float | None = None
    output_usd_per_mtok: float | None = None
    context_tokens: int | None = None  # context window; None: litellm's value (no limit if unknown)


@dataclass(frozen=True)
class LLMConfig:
    """The ``llm`` section. No ``model`` and no ``models`` means: use the built-in offline mutator.

    ``model`` (with ``api_base`` and the price fields) is one model; ``models`` is an ensemble. When
    ``model`` is set (e.g. by ``--model``) it replaces ``models``.
    """

    model: str | None = None  # any litellm model string, e.g. "openai/gpt-4o-mini"
    api_base: str | None = None  # OpenAI-compatible server (vLLM, Ollama, a test server, ...)
    input_usd_per_mtok: float | None = None  # user prices of ``model`` (see ModelConfig)
    output_usd_per_mtok: float | None = None
    context_tokens: int | None = None
    models: tuple[ModelConfig, ...] = ()  # an ensemble (used when ``model`` is not set)
    bandit: bool = False  # cost-aware UCB over improvements per dollar instead of fixed weights
    bandit_exploration: float = 0.5  # UCB exploration constant
    temperature: float = 0.7
    max_tokens: int = 4096
    timeout_s: float = 120.0  # per call
    max_retries: int = 3  # on 429 / 5xx / timeouts, exponential backoff with jitter
    max_wait_s: float = 600.0  # hard cap on one proposal: calls, retries, backoff, breaker pauses
    breaker_failures: int = 3  # consecutive failed attempts that pause (open) a model
    breaker_cooldown_s: float = 60.0  # pause before one trial call (half-open)
    concurrency: int = 4  # calls in flight at once
    cache_dir: str | None = None  # on-disk response cache for deterministic replay; None: off
    # before the seed is evaluated, one tiny request per model (off for per-request billing)
    preflight: bool = True
    preflight_timeout_s: float = 15.0
    # stop the campaign ("stopped: LLM unavailable", resumable) after this many failed proposals
    # in a row, or when every model's circuit breaker has been open this long
    stop_after_failed_proposals: int = 10
    stop_after_unavailable_s: float = 300.0
    # how requests travel (adrs.proposer.transport): auto = the provider's SDK for openai/,
    # anthropic/ and OpenAI-compatible api_base servers, litellm for the rest; direct; litellm
    transport: str = "auto"

    def ensemble(self) -> tuple[ModelConfig, ...]:
        """The models to ask: ``model`` alone when set, else ``models``."""
        if self.model:
            return (ModelConfig(model=self.model, api_base=self.api_base,
                                input_usd_per_mtok=self.input_usd_per_mtok,
                                output_usd_per_mtok=self.output_usd_per_mtok,
                                context_tokens=self.context_tokens),)
        return self.models

    @property
    def label(self) -> str:
        """What runs list as the proposer: the model string(s), or "mutator"."""
        return " + ".join(m.model for m in self.ensemble()) or "mutator"

    def __post_init__(self) -> None:
        positive = {"timeout_s": self.timeout_s, "max_tokens": self.max_tokens,
                    "concurrency": self.concurrency, "max_wait_s": self.max_wait_s,
                    "breaker_failures": self.breaker_failures,
                    "preflight_timeout_s": self.preflight_timeout_s,
                    "stop_after_failed_proposals": self.stop_after_failed_proposals,
                    "stop_after_unavailable_s": self.stop_after_unavailable_s}
        for name, value in positive.items():
            if value <= 0:
                raise ConfigError(f"llm: {name} must be positive, got {value}")
        for name, value in {"max_retries": self.max_retries,
                            "breaker_cooldown_s": self.breaker_cooldown_s,
                            "bandit_exploration": self.bandit_exploration}.items():
            if value < 0:
                raise ConfigError(f"llm: {name} must be >= 0, got {value}")
        for i, m in enumerate(self.ensemble()):
            where = "llm" if self.model else f"llm: models[{i}]"
            if not m.model.strip():
                raise ConfigError(f"{where}: model must be a litellm model string")
            for name in ("weight", "input_usd_per_mtok", "output_usd_per_mtok", "context_tokens"):
                value = getattr(m, name)
                if value is not None and value < 0:
                    raise ConfigError(f"{where}: {name} must be >= 0, got {value}")
        if self.transport not in ("auto", "direct", "litellm"):
            raise ConfigError(f"llm: transport must be one of auto, direct, litellm (auto: the "
                              f"provider's SDK where adrs has one, litellm otherwise), got "
                              f"{self.transport!r}")
        if not self.model and self.models and not any(m.weight > 0 for m in self.models):
            raise ConfigError("llm: models: at least one model needs a positive weight")


@dataclass(frozen=True)
class PromptConfig:
    template_dir: str | None = None  # a folder whose *.j2 files override the built-in templates
    # probability of each mutation template for LLM proposers ("fix" needs a failed program,
    # "crossover" a second correct program; without one they fall back to "diff")
    templates: dict[str, float] = field(
        default_factory=lambda: {"diff": 0.5, "rewrite": 0.2, "crossover": 0.15, "fix": 0.15})

    def __post_init__(self) -> None:
        for name, value in self.templates.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ConfigError(f"prompt: templates: {name}: expected a probability >= 0, "
                                  f"got {value!r}")
        if self.templates and not any(self.templates.values()):
            raise ConfigError("prompt: templates: at least one template needs a positive "
                              "probability")


STRATEGIES = ("evolve", "best-of-n", "random-restart")  # see adrs.strategy
POPULATIONS = ("islands", "map-elites")


@dataclass(frozen=True)
class EvolutionConfig:
    budget: int = 2000  # candidates after the seed (duplicates count, but cost no sandbox time)
    # wall-time budget, accumulated over resumes; None: no limit. Evolved SMTT programs get slower
    # (more improvement passes), so the default campaign is capped at 10 minutes of evolution.
    max_time_s: float | None = 600.0
    budget_usd: float | None = None  # stop when LLM spend reaches this
    workers: int = 2  # evaluations in flight (Ray CPUs)
    # Two islands, the island's best as the parent 60 % of the time: the offline mutator makes one
    # edit per child, so most progress comes from the current best (docs/search.md, figures).
    islands: int = 2
    migration_interval: int = 40  # candidates between migrations (best of island k joins k+1)
    tournament_size: int = 3
    elite_probability: float = 0.6  # chance to take the island's best as the parent
    inspirations: int = 2
    seed: int = 0
    # stop the campaign after this many evaluator_error / infra_error results in one session
    max_evaluator_errors: int = 10
    # who is a candidate's parent (adrs.strategy): evolve | best-of-n | random-restart (controls)
    strategy: str = "evolve"
    population: str = "islands"  # for strategy evolve: islands | map-elites
    restart_every: int = 50  # random-restart: candidates per restart from the seed
    map_elites_axes: str = "mean_call_ms, code_length"  # metrics (or code_length), comma-separated
    map_elites_bins: int = 6  # cells per axis
    # an evaluation that hits infra_error (dead worker, lost node, dead sandbox server) is tried
    # again this many times before its infra_error is recorded
    infra_retries: int = 2
    # where evaluations run: "local" (threads of the driver, each candidate in the warm sandbox
    # server; starts at once) or "ray" (Ray tasks: a process per worker, 2.5-5 s to start)
    executor: str = "local"

    def __post_init__(self) -> None:
        if self.executor not in ("local", "ray"):
            raise ConfigError(f"evolution: executor must be 'local' or 'ray', got {self.executor!r}")
        if isinstance(self.infra_retries, bool) or not isinstance(self.infra_retries, int) \
                or not 0 <= self.infra_retries <= 10:
            raise ConfigError(f"evolution: infra_retries must be an integer from 0 to 10, "
                              f"got {self.infra_retries!r}")
        if self.max_evaluator_errors < 1:
            raise ConfigError(f"evolution: max_evaluator_errors must be >= 1, "
                              f"got {self.max_evaluator_errors}")
        for name, value, allowed in (("strategy", self.strategy, STRATEGIES),
                                     ("population", self.population, POPULATIONS)):
            if value not in allowed:
                raise ConfigError(f"evolution: {name} must be one of {', '.join(allowed)}, "
                                  f"got {value!r}")
        if self.restart_every < 1 or self.map_elites_bins < 1:
            raise ConfigError("evolution: restart_every and map_elites_bins must be >= 1")
        if not any(a.strip() for a in self.map_elites_axes.split(",")):
            raise ConfigError("evolution: map_elites_axes must name at least one metric "
                              "(or code_length)")


@dataclass(frozen=True)
class SandboxConfig:
    """Overrides of the problem's limits; None keeps the problem's value."""

    timeout_s: float | None = None
    cpu_s: int | None = None
    memory_mb: int | None = None
    # another interpreter for candidates (and OpenEvolve / ADRS evaluators), e.g. a venv with torch
    python: str | None = None


@dataclass(frozen=True)
class DBConfig:
    url: str | None = None  # any SQLAlchemy URL; default: SQLite in runs/<run-id>/adrs.sqlite
    runs_dir: str = "runs"


@dataclass(frozen=True)
class RayConfig:
    # an existing Ray cluster to evaluate on ("auto", "head-host:6379", "ray://head:10001"); None: a
    # local Ray session. The --ray-address flag and RAY_ADDRESS override it (see adrs.cluster).
    address: str | None = None


@dataclass(frozen=True)
class RunConfig:
    llm: LLMConfig = field(default_factory=LLMConfig)
    prompt: PromptConfig = field(default_factory=PromptConfig)
    evolution: EvolutionConfig = field(default_factory=EvolutionConfig)
    sandbox: SandboxConfig = field(default_factory=SandboxConfig)
    db: DBConfig = field(default_factory=DBConfig)
    ray: RayConfig = field(default_factory=RayConfig)

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
    config = build_dataclass(RunConfig, raw, str(path or "config"))
    check_llm_timeouts(config.llm, str(path or "config"))
    return config


def check_llm_timeouts(llm: LLMConfig, where: str = "config") -> None:
    """Reject timeouts that contradict each other. A proposal that gives up (``max_wait_s``)
    before a paused model's trial call (``breaker_cooldown_s``) or before one call may finish
    (``timeout_s``) fails at once, and the campaign burns its budget in seconds."""
    if not llm.ensemble():
        return
    problems = []
    if llm.max_wait_s < llm.timeout_s:
        problems.append(f"llm.max_wait_s ({llm.max_wait_s:g}) is shorter than llm.timeout_s "
                        f"({llm.timeout_s:g}): no call could use its full timeout")
    if llm.max_wait_s < llm.breaker_cooldown_s:
        problems.append(f"llm.max_wait_s ({llm.max_wait_s:g}) is shorter than "
                        f"llm.breaker_cooldown_s ({llm.breaker_cooldown_s:g}): every proposal "
                        f"would give up while a paused model waits for its trial call, spending a "
                        f"candidate each time")
    if problems:
        raise ConfigError(f"{where}: inconsistent LLM timeouts: " + "; ".join(problems)
                          + f". For example: timeout_s {llm.timeout_s:g}, breaker_cooldown_s "
                          f"{min(llm.breaker_cooldown_s, llm.max_wait_s):g}, max_wait_s "
                          f"{max(llm.max_wait_s, llm.timeout_s + llm.breaker_cooldown_s):g}")


def build_dataclass(cls: type, raw: Any, where: str) -> Any:
    """Instantiate dataclass ``cls`` from a mapping, checking field names and value types."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping, not {type(raw).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    check_keys(raw, where, set(fields))
    required = [name for name, f in fields.items() if f.default is dataclasses.MISSING
                and f.default_factory is dataclasses.MISSING and name not in raw]
    if required:
        raise ConfigError(f"{where}: missing required field(s) {', '.join(required)}")
    hints = typing.get_type_hints(cls)
    values = {}
    for name, value in raw.items():
        hint = hints[name]
        item = _tuple_item(hint)
        if dataclasses.is_dataclass(hint):
            values[name] = build_dataclass(hint, value, f"{where}: {name}")
        elif item is not None:
            if not isinstance(value, list | tuple):
                raise ConfigError(f"{where}: {name}: expected a list, got {value!r}")
            values[name] = tuple(build_dataclass(item, entry, f"{where}: {name}[{i}]")
                                 for i, entry in enumerate(value))
        else:
            values[name] = _check_type(value, hint, f"{where}: {name}")
    return cls(**values)


def _tuple_item(hint: Any) -> type | None:
    """``X`` for a ``tuple[X, ...]`` hint whose X is a dataclass, else None."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) is tuple and len(args) == 2 and args[1] is Ellipsis \
            and dataclasses.is_dataclass(args[0]):
        return args[0]
    return None


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
