"""Start or resume a campaign: the run row, the proposer, the limits, the database and Ray.

The CLI calls these and then ``adrs.evolve.evolve``. Everything that can be checked before Ray
starts (problem, config, model keys, database URL) is checked first, so bad input fails in
well under a second with a message that names the problem.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from adrs.config import RunConfig, load_run_config
from adrs.db import store
from adrs.db.reader import get_run, locate_run, open_reader
from adrs.errors import CampaignError
from adrs.evolve import Campaign
from adrs.executor import LocalExecutor
from adrs.problem import ProblemSpec, load_problem
from adrs.prompt import ProblemContext
from adrs.proposer import Proposer
from adrs.proposer.factory import make_proposer
from adrs.redact import MASK, redact_data
from adrs.sandbox import isolation_level


def start_ray(workers: int, address: str | None = None) -> None:
    """Join the Ray cluster at ``address``, or start a local Ray session with ``workers`` CPUs
    (no-op when Ray is already running in this process)."""
    import ray

    if ray.is_initialized():
        return
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    if address:
        try:
            ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False)
        except (ConnectionError, ValueError, RuntimeError) as err:
            raise CampaignError(f"cannot join the Ray cluster at {address}: {err}") from None
    else:  # "local": a RAY_ADDRESS left in the environment must not redirect a local session
        ray.init(address="local", num_cpus=workers, include_dashboard=False,
                 logging_level=logging.ERROR, log_to_driver=False)


def local_executor(campaign: Campaign) -> LocalExecutor:
    """Evaluations in ``workers`` threads of this process; the warm sandbox server starts now, in
    the background, so the seed's evaluation does not wait for it from scratch."""
    from adrs.sandbox import prewarm

    prewarm(campaign.limits)
    return LocalExecutor(campaign.spec.load_evaluator, campaign.limits, campaign.config.evolution.workers)


def new_run_id(problem: str) -> str:
    return f"{problem}-{datetime.now():%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def problem_context(spec: ProblemSpec) -> ProblemContext:
    """What prompt templates may say about the problem."""
    return ProblemContext(name=spec.name, description=spec.description, entry=spec.entry,
                          signature=spec.signature, objective=spec.objective,
                          direction=spec.direction)


def checked_proposer(config: RunConfig, spec: ProblemSpec) -> Proposer:
    """The configured proposer, after checking its keys and (for LLMs) the prompt templates."""
    return make_proposer(config.llm, spec.mutator, config.prompt, problem_context(spec))


def check_sandbox_packages(spec: ProblemSpec, config: RunConfig) -> None:
    """Declared packages must be installed before any budget is spent (ConfigError otherwise)."""
    from adrs.sandbox_packages import sandbox_runtime

    limits = spec.limits_with(config.sandbox)
    sandbox_runtime(limits.packages, limits.python)


def run_isolation(spec: ProblemSpec) -> str:
    """The host's isolation level and what the evaluator style guarantees (stored on the run)."""
    from adrs.openevolve import evaluator_guarantee

    return f"{isolation_level()}; evaluator: {evaluator_guarantee(spec)}"


Say = Callable[[list[str]], None]


def checked_llm(config: RunConfig, spec: ProblemSpec, say: Say | None,
                asked: list[str] | None = None) -> Proposer:
    """The proposer, checked; with ``say`` (a printer) and ``llm.preflight`` on, every model is
    first reached and then asked whether it knows the model (``adrs.preflight``): CampaignError, before
    anything is created, if one cannot answer. When every model has an ``api_base``, unreachable
    URLs are found before litellm loads (seconds); else missing keys are named first. ``asked``:
    the lines of a pre-flight the caller already made (``adrs run`` asks before this module loads)."""
    from adrs.preflight import check_models, check_reach

    check = say is not None and config.llm.preflight and bool(config.llm.ensemble())
    local = all(m.api_base for m in config.llm.ensemble())
    if check and asked is not None and say is not None:
        proposer = checked_proposer(config, spec)
        say(asked)
        return proposer
    if check and local:
        check_reach(config.llm)
    proposer = checked_proposer(config, spec)
    if check and say is not None:
        if not local:
            check_reach(config.llm)
        say([c.line() for c in check_models(config.llm)])
    return proposer


def stored_config(config: RunConfig) -> dict:
    """The run config as stored with the run: passwords and keys masked (``adrs.redact``)."""
    return redact_data(config.to_dict())


def new_campaign(problem: str, config: RunConfig, preflight: Say | None = None,
                 asked: list[str] | Callable[[], list[str]] | None = None) -> Campaign:
    """Create the run (database row and folder) for ``problem``; Ray is not started here.
    With ``preflight`` (a printer of its lines), the models are checked first (``asked``: they
    were, by the caller; these are the lines, or a function that waits for them and raises
    CampaignError when a model cannot answer: a SQLite database is built meanwhile, aside, and
    moved into the run's folder only after they came)."""
    spec = load_problem(problem)
    check_sandbox_packages(spec, config)
    waiting = asked if callable(asked) else None
    proposer = checked_llm(config, spec, preflight, [] if waiting else asked)
    run_id = new_run_id(spec.name)
    runs_dir = Path(config.db.runs_dir)
    if config.db.url:
        _say_answer(waiting, preflight)
        url = config.db.url
    else:
        with tempfile.TemporaryDirectory(prefix="adrs-new-run-") as aside:
            built = Path(aside) / store.DB_FILE
            store.create_sqlite(built)  # while the models answer the pre-flight
            _say_answer(waiting, preflight)
            (runs_dir / run_id).mkdir(parents=True, exist_ok=True)
            final = runs_dir / run_id / store.DB_FILE
            landing = final.with_name(final.name + ".new")  # a copy when /tmp is another disk
            shutil.move(built, landing)
            os.replace(landing, final)  # a browsing command never sees it half-written
        url = store.sqlite_url(runs_dir, run_id)
    engine = store.open_engine(url)
    store.create_run(engine, run_id, {
        "problem": spec.name, "problem_root": str(spec.root), "config": stored_config(config),
        "seed": config.evolution.seed, "proposer": config.llm.label, "isolation": run_isolation(spec),
        "objective": spec.objective, "direction": spec.direction})
    return Campaign(spec, config, run_id, engine, proposer, spec.limits_with(config.sandbox))


def _say_answer(waiting: Callable[[], list[str]] | None, say: Say | None) -> None:
    if waiting is not None:
        lines = waiting()
        if say is not None:
            say(lines)


def resume_campaign(run_ref: str | None, runs_dir: Path, db_url: str | None,
                    budget: int | None, max_time_s: float | None = None,
                    preflight: Say | None = None, config_path: Path | None = None) -> Campaign:
    """Reopen a run (default: the newest) with its stored config (overlaid by ``config_path``),
    optionally new budgets."""
    url, run_id = locate_run(runs_dir, db_url, run_ref)
    engine = store.open_engine(url)
    with open_reader(url) as reader:
        run = get_run(reader, run_id)
    config = with_budget(load_run_config(config_path, base=run.config), budget, max_time_s)
    _check_unmasked(config)
    spec = load_problem(run.problem_root if Path(run.problem_root).is_dir() else run.problem)
    check_sandbox_packages(spec, config)
    proposer = checked_llm(config, spec, preflight)
    store.reopen_run(engine, run_id, {"config": stored_config(config),
                                      "isolation": run_isolation(spec)})
    return Campaign(spec, config, run_id, engine, proposer, spec.limits_with(config.sandbox))


def _check_unmasked(config: RunConfig) -> None:
    """A stored config had a password masked (in an ``api_base`` URL): it must be given again."""
    from adrs.errors import ConfigError

    for model in config.llm.ensemble():
        if model.api_base and MASK in model.api_base:
            raise ConfigError(f"llm.api_base of {model.model} had a password, which adrs does "
                              f"not store ({model.api_base}); give the URL again: "
                              f"`adrs resume RUN --config FILE` with llm.api_base in FILE")


def with_budget(config: RunConfig, budget: int | None, max_time_s: float | None) -> RunConfig:
    """``config`` with new candidate / wall-time budgets where given (``adrs resume``)."""
    evolution = config.evolution
    if budget is not None:
        evolution = replace(evolution, budget=budget)
    if max_time_s is not None:
        evolution = replace(evolution, max_time_s=max_time_s)
    return replace(config, evolution=evolution)
