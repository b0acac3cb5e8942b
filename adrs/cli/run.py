"""``adrs run`` and ``adrs resume``: start or continue a campaign with a live progress display,
then print the best program and how it compares with the baselines on validation instances."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from adrs.cli.common import (
    DbUrl,
    OeCandidate,
    OeConfig,
    RunsDir,
    console,
    friendly_errors,
)
from adrs.progress import DEFAULT_EVERY_S
from adrs.redact import redact

if TYPE_CHECKING:
    from adrs.config import RunConfig
    from adrs.evolve import Campaign
    from adrs.warm_start import SeedFirst

app = typer.Typer()

RayAddress = Annotated[str | None, typer.Option(
    "--ray-address", help="Join this Ray cluster (e.g. auto or head-host:6379) instead of starting a "
    "local one; default: $RAY_ADDRESS, then the config's ray.address.")]
Preflight = Annotated[bool, typer.Option(
    "--preflight/--no-preflight", help="Check before starting that each model's server knows it "
    "(its model description, else one tiny question; also llm.preflight).")]
ProgressEvery = Annotated[float, typer.Option(
    "--progress-every", help="Seconds between progress lines when stdout is not a terminal.")]


@app.command()
@friendly_errors
def run(
    problem: Annotated[str | None, typer.Argument(
        help="Problem name (see `adrs problems`) or a folder.")] = None,
    budget: Annotated[int | None, typer.Option(help="Candidates to evaluate after the seed.")] = None,
    model: Annotated[str | None, typer.Option(help="litellm model string; default: offline mutator.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed; same seed, same lineage offline.")] = None,
    config: Annotated[Path | None, typer.Option(help="Run config YAML (sections llm, prompt, "
                                                     "evolution, sandbox, db).")] = None,
    workers: Annotated[int | None, typer.Option(help="Evaluations in parallel.")] = None,
    max_time: Annotated[float | None, typer.Option("--max-time", help="Wall-time budget, seconds.")] = None,
    budget_usd: Annotated[float | None, typer.Option("--budget-usd", help="LLM spend budget.")] = None,
    strategy: Annotated[str | None, typer.Option(
        help="evolve (default), or a control with the same budget: best-of-n (every candidate "
             "mutates the seed) or random-restart (hill climbing restarted from the seed).")] = None,
    db: DbUrl = None,
    runs_dir: RunsDir = Path("runs"),
    openevolve: Annotated[Path | None, typer.Option(
        "--openevolve", help="An OpenEvolve-style folder (initial_program.py, evaluator.py, "
        "config.yaml) to run unchanged.")] = None,
    ray_address: RayAddress = None,
    oe_config: OeConfig = None,
    oe_candidate: OeCandidate = "auto",
    preflight: Preflight = True,
    progress_every: ProgressEvery = DEFAULT_EVERY_S,
) -> None:
    """Start a campaign on PROBLEM (or on an OpenEvolve / ADRS-benchmark folder)."""
    from adrs.config import ConfigError, load_run_config
    from adrs.openevolve import is_openevolve_dir, openevolve_problem
    from adrs.problem import shadowing_note

    if openevolve is None and problem is not None and is_openevolve_dir(Path(problem)):
        openevolve = Path(problem)
    if oe_config is not None and openevolve is None:
        raise ConfigError("--oe-config applies only to OpenEvolve / ADRS-benchmark folders")
    if openevolve is not None:
        imported = openevolve_problem(openevolve, runs_dir, oe_config, oe_candidate)
        problem = str(imported.problem_dir)
        budget = budget if budget is not None else imported.budget
        seed = seed if seed is not None else imported.seed
    if problem is None:
        raise typer.BadParameter("give a PROBLEM or --openevolve DIR")
    note = shadowing_note(problem)
    if note:
        console.print(f"[yellow]{note}[/]")
    overrides = {
        "evolution": {"budget": budget, "seed": seed, "workers": workers, "max_time_s": max_time,
                      "budget_usd": budget_usd, "strategy": strategy},
        "llm": {"model": model, "preflight": None if preflight else False},
        "db": {"url": db, "runs_dir": str(runs_dir)},
    }
    run_config = load_run_config(config, overrides)
    llm = run_config.llm
    local = preflight and llm.preflight and bool(llm.ensemble()) and all(m.api_base for m in llm.ensemble())
    if local:
        from adrs.preflight import check_reach

        check_reach(llm)  # an unreachable server is said in seconds, before anything
    seed_first = _seed_first(problem, run_config, ray_address)
    asked = None
    if local:  # asked now; the run is created (and the database moved into place) once answered
        from adrs.warm_start import EarlyPreflight

        asked = EarlyPreflight(llm).lines
    from adrs.campaign import new_campaign

    campaign = new_campaign(problem, run_config, preflight=_say_preflight, asked=asked)
    _exit_if_stopped(_drive(campaign, ray_address, seed_first, progress_every))


def _seed_first(problem: str, config: RunConfig, ray_flag: str | None) -> SeedFirst | None:
    """Start the seed's evaluation before the database layer is even imported (local runs)."""
    from adrs.cluster import ray_address
    from adrs.proposer.transport import needs_litellm
    from adrs.warm_start import SeedFirst, preload_litellm

    if needs_litellm(config.llm):  # models of a direct transport never import litellm
        preload_litellm()
    if config.evolution.executor != "local" or ray_address(ray_flag, config.ray.address):
        return None
    from adrs.problem import load_problem

    spec = load_problem(problem)
    return SeedFirst(spec, spec.limits_with(config.sandbox))


@app.command()
@friendly_errors
def resume(
    run_id: Annotated[str | None, typer.Argument(help="Run id (default: the newest run).")] = None,
    budget: Annotated[int | None, typer.Option(help="New candidate budget (total).")] = None,
    more: Annotated[int | None, typer.Option("--more", help="Add N candidates to those already "
                                             "evaluated.")] = None,
    config: Annotated[Path | None, typer.Option(help="YAML overlaid on the stored config (e.g. "
                                                "a new llm.api_base).")] = None,
    max_time: Annotated[float | None, typer.Option("--max-time", help="New wall-time budget (total "
                                                   "over all sessions), seconds.")] = None,
    db: DbUrl = None,
    runs_dir: RunsDir = Path("runs"),
    ray_address: RayAddress = None,
    preflight: Preflight = True,
    progress_every: ProgressEvery = DEFAULT_EVERY_S,
) -> None:
    """Continue an interrupted, stopped or finished run where it stopped."""
    from adrs.campaign import resume_campaign
    from adrs.run_state import check_resumable

    if budget is not None and more is not None:
        raise typer.BadParameter("give --budget (a total) or --more (an addition), not both")
    checked = check_resumable(runs_dir, db, run_id, budget, more)
    if isinstance(checked, str):  # the budget is already reached: say so, start nothing
        console.print(f"[yellow]{checked}[/]")
        return
    _exit_if_stopped(_drive(resume_campaign(run_id, runs_dir, db, checked, max_time,
                                            preflight=_say_preflight if preflight else None,
                                            config_path=config), ray_address,
                            progress_every=progress_every))


def _say_preflight(lines: list[str]) -> None:
    for line in lines:
        console.print(f"pre-flight: {line}")


def _exit_if_stopped(reason: str) -> None:
    """Exit code 3 when the LLM stop rule ended the campaign (it is resumable, not finished)."""
    if reason.startswith("LLM unavailable"):
        raise typer.Exit(3)


def _drive(campaign: Campaign, ray_flag: str | None = None, seed_first: SeedFirst | None = None,
           progress_every: float = DEFAULT_EVERY_S) -> str:
    """Start Ray, run the loop with a live display, then report on validation instances; return
    the stop reason."""
    import asyncio

    from sqlalchemy.orm import Session

    from adrs.campaign import local_executor, start_ray
    from adrs.cli.progress_view import LiveProgress
    from adrs.cluster import ray_address
    from adrs.db.models import Run
    from adrs.evolve import evolve
    from adrs.run_state import Heartbeat

    evolution = campaign.config.evolution
    with Session(campaign.engine) as session:
        run = session.get(Run, campaign.run_id)
        assert run is not None
        console.print(f"[bold]run[/] {run.id}  problem [bold]{run.problem}[/]  proposer "
                      f"{run.proposer}  budget {evolution.budget}  workers {evolution.workers}  "
                      f"seed {evolution.seed}")
        console.print(f"sandbox isolation: {run.isolation}")
        console.print(f"database: {redact(campaign.engine.url.render_as_string(hide_password=True))}")
    address = ray_address(ray_flag, campaign.config.ray.address)
    if address or evolution.executor == "ray":  # a cluster always runs on Ray
        console.print(f"joining the Ray cluster at {address} ..." if address else "starting Ray ...")
        start_ray(evolution.workers, address)
        if address:
            _check_cluster(campaign)
    elif seed_first is not None:
        campaign.executor = seed_first.executor(campaign.limits, evolution.workers)
    else:
        campaign.executor = local_executor(campaign)
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:  # started as a background job
        signal.signal(signal.SIGINT, signal.default_int_handler)  # SIGINT still stops cleanly
    terminated = []

    def stop_like_ctrl_c(signum: int, _frame: object) -> None:  # SIGTERM (kill, systemd, a scheduler)
        terminated.append(signum)
        signal.raise_signal(signal.SIGINT)

    signal.signal(signal.SIGTERM, stop_like_ctrl_c)
    with Heartbeat(campaign.engine, campaign.run_id), \
            LiveProgress(campaign, progress_every) as on_progress:
        campaign.on_progress = on_progress
        try:
            reason = asyncio.run(evolve(campaign))
        except KeyboardInterrupt:
            what = "terminated" if terminated else "interrupted"
            console.print(f"[yellow]{what}[/]: finished work is saved; continue with "
                          f"`adrs resume {campaign.run_id}`")
            raise typer.Exit(143 if terminated else 130) from None
    console.print(f"stopped: {reason}")
    _finish(campaign, reason)
    return reason


def _finish(campaign: Campaign, reason: str) -> None:
    """After the loop: spend, duplicates, the front, promotion on validation instances and the
    best program's report (imported only now: nothing here delays the first candidate)."""
    from sqlalchemy.orm import Session

    from adrs.cli.report_view import print_promotion, print_report
    from adrs.cli.search_view import print_duplicates, print_front, search_summary
    from adrs.db import reader as rd
    from adrs.db import store
    from adrs.promote import promote
    from adrs.report import best_report
    from adrs.stop_rules import UNAVAILABLE

    evolution = campaign.config.evolution
    if reason.startswith(UNAVAILABLE):
        console.print(f"[yellow]the run is stopped, not finished[/]: finished work is saved; when "
                      f"the model answers again, continue with `adrs resume {campaign.run_id}`")
    if campaign.config.llm.ensemble():  # an LLM campaign: what it cost and what it bought
        from adrs.cli.spend import print_spend
        from adrs.spend import spend_summary

        with rd.open_reader(campaign.engine.url.render_as_string(hide_password=False)) as reader:
            print_spend(spend_summary(reader, campaign.run_id, campaign.spec.direction))
    url = campaign.engine.url.render_as_string(hide_password=False)
    with rd.open_reader(url) as reader:
        run_record = rd.get_run(reader, campaign.run_id)
        promotion = promote(reader, run_record, campaign.spec, threads=evolution.workers)
        searched = search_summary(rd.programs(reader, campaign.run_id), campaign.spec.front)
    print_duplicates(searched)
    if campaign.spec.front:
        print_front(searched, campaign.spec.front)
    if promotion is None:
        console.print("[yellow]no correct program yet[/]")
        return
    with Session(campaign.engine) as session:
        store.add_program_evaluations(session, campaign.run_id, "validation", promotion.new)
    with rd.open_reader(url) as reader:
        stored = rd.evaluations(reader, campaign.run_id, "validation")
    top = promotion.chosen
    report, new = best_report(run_record, top, stored, campaign.spec, "validation", threads=evolution.workers)
    with Session(campaign.engine) as session:
        store.add_evaluations(session, campaign.run_id, "validation", new, top.id)
    print_report(report, top, show_code=True)
    print_promotion(promotion, run_record.direction)


def _check_cluster(campaign: Campaign) -> None:
    """Probe every node of the cluster (error naming the nodes that cannot evaluate), list them."""
    from adrs.cluster import check_nodes, cluster_cpus, describe

    reports = check_nodes(str(campaign.spec.root))
    for report in reports:
        console.print(f"  {describe(report)}")
    cpus, workers = cluster_cpus(), campaign.config.evolution.workers
    console.print(f"cluster: {len(reports)} node(s), {cpus} CPUs; {workers} evaluations at once"
                  + (f" (pass --workers {cpus} to use every CPU)" if cpus > workers else ""))
