"""``adrs controls``: a run next to its controls (same problem and proposer, other strategies)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from adrs.cli.common import DbUrl, RunsDir, console, fmt_score, friendly_errors

app = typer.Typer()


@app.command()
@friendly_errors
def controls(
    run_id: Annotated[str | None, typer.Argument(help="Run id (default: the newest run).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the groups as JSON.")] = False,
    db: DbUrl = None,
    runs_dir: RunsDir = Path("runs"),
) -> None:
    """Best, mean and spread over seeds of a run's strategy next to best-of-n and random-restart
    runs of the same problem and proposer (start them with `adrs run --strategy ...`)."""
    from adrs import controls as ctl
    from adrs.db import reader as rd

    url, target_id = rd.locate_run(runs_dir, db, run_id)
    urls = [db] if db else [rd.sqlite_url(runs_dir, p.name) for p in rd.run_dirs(runs_dir)]
    outcomes = []
    for each in dict.fromkeys([url, *urls]):
        with rd.open_reader(each) as reader:
            outcomes.extend(ctl.outcome(reader, run) for run in rd.runs(reader))
    target = next(o for o in outcomes if o.run_id == target_id)
    groups = ctl.controls_of(target, outcomes)
    if as_json:
        print(json.dumps({"run": target_id, "groups": [g.to_dict() for g in groups],
                          "verdict": ctl.verdict(groups)}, indent=2))
        return
    table = Table(title=f"{target.problem} / {target.proposer}: run {target_id} and its controls")
    for column in ("strategy", "budget", "runs", "split", "best", "mean", "sd", "per seed"):
        table.add_column(column, justify="right" if column not in ("strategy", "split") else "left")
    for g in groups:
        seeds = ", ".join(f"{r.seed}: {fmt_score(g.value(r))}" for r in g.runs)
        table.add_row(g.strategy, str(g.budget), str(len(g.runs)), g.split, fmt_score(g.best),
                      fmt_score(g.mean), fmt_score(g.sd), seeds)
    console.print(table)
    console.print(ctl.verdict(groups))


@app.command()
@friendly_errors
def tune(
    run_id: Annotated[str | None, typer.Argument(help="Run id (default: the newest run).")] = None,
    program: Annotated[int | None, typer.Option(help="Program id (default: the run's best).")] = None,
    trials: Annotated[int, typer.Option(help="Optuna trials per program (each one evaluation "
                                              "on the training instances).")] = 40,
    output: Annotated[Path | None, typer.Option(help="Write the tuned program to this file.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    db: DbUrl = None,
    runs_dir: RunsDir = Path("runs"),
) -> None:
    """Tune the numeric constants of a program and of the seed the same way (training instances
    only) and show how much of the program's gain over the seed survives."""
    from adrs.db import reader as rd
    from adrs.problem import load_problem

    try:
        import optuna  # noqa: F401
    except ImportError:
        raise typer.BadParameter("constant tuning needs Optuna: pip install 'adrs[tune]'") from None
    from adrs.tuning import gain_report

    url, target_id = rd.locate_run(runs_dir, db, run_id)
    with rd.open_reader(url) as reader:
        run = rd.get_run(reader, target_id)
        chosen = rd.get_program(reader, program, run.id) if program else rd.best_program(reader, run)
    if chosen is None:
        raise typer.BadParameter(f"run {run.id} has no correct program")
    spec = load_problem(run.problem_root if Path(run.problem_root).is_dir() else run.problem)
    report, seed_result, program_result = gain_report(spec, chosen.code, trials)
    if output is not None:
        output.write_text(program_result.code)
    if as_json:
        print(json.dumps({"run": run.id, "program": chosen.id, "trials": trials,
                          "seed": report.seed, "seed_tuned": report.seed_tuned,
                          "program_score": report.program, "program_tuned": report.program_tuned,
                          "raw_gain": report.raw_gain, "surviving_gain": report.surviving_gain,
                          "surviving_share": report.surviving_share,
                          "program_changes": program_result.changed,
                          "seed_changes": seed_result.changed}, indent=2))
        return
    table = Table(title=f"constant tuning on train instances ({trials} Optuna trials each), "
                        f"{spec.objective} ({spec.direction})")
    for column in ("program", "as written", "constants tuned", "tunables"):
        table.add_column(column, justify="right" if column != "program" else "left")
    table.add_row("seed", fmt_score(report.seed), fmt_score(report.seed_tuned),
                  str(seed_result.literals))
    table.add_row(f"#{chosen.id}", fmt_score(report.program), fmt_score(report.program_tuned),
                  str(program_result.literals))
    console.print(table)
    share = report.surviving_share
    console.print(f"gain over the seed: {report.raw_gain:.3f} as written, {report.surviving_gain:.3f} "
                  f"when both have their constants tuned"
                  + (f" ({100 * share:.0f} % survives)" if share is not None else ""))
