"""Problem authoring: ``adrs new NAME`` writes a problem folder that runs as-is; ``adrs check PROBLEM``
checks that its evaluator judges programs the way the evolution loop relies on."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from adrs.cli.common import OeCandidate, OeConfig, console, friendly_errors

app = typer.Typer()


@app.command()
@friendly_errors
def new(
    name: Annotated[str, typer.Argument(help="Problem name (lower-case letters, digits, _).")],
    directory: Annotated[Path, typer.Option("--dir", help="Parent folder of the new problem.")] = Path("."),
) -> None:
    """Write a new problem folder (config, seed, baseline, evaluator, instances, README)."""
    from adrs.scaffold import new_problem

    target = new_problem(name, directory)
    console.print(f"wrote {target}/: problem.yaml, seed.py, baselines/, evaluator/, README.md")
    console.print(f"next: [bold]adrs check {target}[/] then [bold]adrs run {target} --budget 50[/]")


@app.command()
@friendly_errors
def check(
    problem: Annotated[str, typer.Argument(help="Problem name, folder, or OpenEvolve folder.")],
    hang_timeout: Annotated[float, typer.Option("--hang-timeout", help="Seconds the hanging test "
                                                "program may run (at most the problem's limit).")] = 5.0,
    workers: Annotated[int, typer.Option(help="Programs evaluated in parallel.")] = 2,
    runs_dir: Annotated[Path, typer.Option("--runs-dir", help="Where an imported OpenEvolve "
                                           "folder's problem is written.")] = Path("runs"),
    oe_config: OeConfig = None,
    oe_candidate: OeCandidate = "auto",
) -> None:
    """Run the seed and baselines, feed bad programs, check determinism, holdout and timing."""
    from adrs.check import check_problem, failed
    from adrs.openevolve import problem_argument

    problem = problem_argument(problem, runs_dir, oe_config, oe_candidate)
    with console.status("checking (runs a dozen programs in the sandbox) ..."):
        rows = check_problem(problem, hang_timeout_s=hang_timeout, workers=workers)
    table = Table(title=f"adrs check {problem}")
    for column in ("check", "result", "detail", "fix"):
        table.add_column(column, overflow="fold")
    style = {"pass": "green", "fail": "bold red", "warn": "yellow"}
    for row in rows:
        table.add_row(row.name, f"[{style[row.verdict]}]{row.verdict.upper()}[/]", row.detail, row.fix)
    console.print(table)
    bad = failed(rows)
    if bad:
        console.print(f"[bold red]{len(bad)} of {len(rows)} checks failed[/]")
        raise typer.Exit(1)
    console.print(f"[green]all {len(rows)} checks passed[/]"
                  + (f" ({sum(r.verdict == 'warn' for r in rows)} warnings)" if any(
                      r.verdict == "warn" for r in rows) else ""))
