"""Browsing commands: ``runs``, ``problems``, ``best``, ``show``, ``lineage``.

They read the database and the problem folders only; they never import ray or litellm and never
write to the database (a campaign may be writing it right now).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from adrs.cli.common import DbUrl, RunsDir, console, fmt_score, fmt_seconds, friendly_errors
from adrs.redact import redact

if TYPE_CHECKING:
    from adrs.db.reader import Reader, RunRecord

app = typer.Typer()

RunOption = Annotated[str | None, typer.Option("--run", help="Run id (default: the newest run).")]


@contextmanager
def _open_run(runs_dir: Path, db: str | None, run_id: str | None) -> Iterator[tuple[Reader, RunRecord]]:
    from adrs.db import reader as rd

    url, found = rd.locate_run(runs_dir, db, run_id)
    with rd.open_reader(url) as reader:
        yield reader, rd.get_run(reader, found)


@app.command()
@friendly_errors
def runs(db: DbUrl = None, runs_dir: RunsDir = Path("runs"),
         as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List runs, newest first."""
    from adrs.db import reader as rd

    urls = [db] if db else [rd.sqlite_url(runs_dir, p.name) for p in rd.run_dirs(runs_dir)]
    summaries = []
    for url in urls:
        with rd.open_reader(url) as reader:
            summaries.extend(rd.summarize_run(reader, run) for run in rd.runs(reader))
    if as_json:
        console.print_json(json.dumps([s.__dict__ | {"best_split": "train"} for s in summaries]))
        return
    table = Table(title=f"runs ({redact(db) if db else runs_dir})")
    table.add_column("run", no_wrap=True)
    for column in ("problem", "proposer", "status", "programs", "valid", "best (train)", "spend",
                   "elapsed"):
        table.add_column(column)
    for s in summaries:
        table.add_row(s.id, s.problem, s.proposer, s.status, str(s.programs), str(s.valid),
                      fmt_score(s.best_score), f"${s.cost_usd:.2f}", fmt_seconds(s.elapsed_s))
    console.print(table)
    console.print("best (train): the best score on the training instances, which the campaign "
                  "optimized; `adrs best RUN` scores the promoted program on validation.")


@app.command()
@friendly_errors
def problems() -> None:
    """List the built-in problems and those of installed plug-in packages."""
    from adrs.config import ConfigError
    from adrs.problem import known_problems, load_problem

    table = Table(title="problems")
    for column in ("name", "source", "objective", "baselines", "description"):
        table.add_column(column)
    for name, (path, source) in known_problems().items():
        try:
            spec = load_problem(str(path))
        except ConfigError as err:  # a broken plug-in must not hide the others
            table.add_row(name, source, "—", "—", f"[red]cannot be loaded: {err}[/]")
            continue
        table.add_row(name, source, f"{spec.objective} ({spec.direction})", ", ".join(spec.baselines),
                      spec.description.splitlines()[0])
    console.print(table)


@app.command()
@friendly_errors
def best(
    run_id: Annotated[str | None, typer.Argument(help="Run id (default: the newest run).")] = None,
    output: Annotated[Path | None, typer.Option(help="Write the best program to this file.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    holdout: Annotated[bool, typer.Option("--holdout", help="Score on holdout instances.")] = False,
    split: Annotated[str, typer.Option(help="validation or holdout.")] = "validation",
    front: Annotated[bool, typer.Option("--front", help="Only list the Pareto front of the "
                                        "problem's front objectives (no evaluation).")] = False,
    db: DbUrl = None,
    runs_dir: RunsDir = Path("runs"),
) -> None:
    """The best program of a run, scored on validation (or holdout) instances next to the baselines."""
    from adrs.cli.report_view import print_promotion, print_report
    from adrs.cli.search_view import print_duplicates, print_front, search_summary
    from adrs.db import reader as rd
    from adrs.problem import load_problem
    from adrs.promote import promote
    from adrs.report import best_report

    split = "holdout" if holdout else split
    if split not in ("validation", "holdout"):
        raise typer.BadParameter("split must be 'validation' or 'holdout'")
    spec = None
    with _open_run(runs_dir, db, run_id) as (reader, run):
        spec = load_problem(run.problem_root if Path(run.problem_root).is_dir() else run.problem)
        searched = search_summary(rd.programs(reader, run.id), spec.front)
        if front:
            if as_json:
                print(json.dumps({"run": run.id, **searched}, indent=2))
            else:
                print_front(searched, spec.front)
            return
        _best_or_error(reader, run)
        promotion = promote(reader, run, spec)
        stored = rd.evaluations(reader, run.id, split)
    assert promotion is not None
    top = promotion.chosen
    stored = [*stored, *_as_records(promotion.new, split)]
    report, _ = best_report(run, top, stored, spec, split)  # type: ignore[arg-type]
    if output is not None:
        output.write_text(top.code)
    if as_json:
        print(json.dumps(report.to_dict() | {"search": searched, "promotion": promotion.lines(
            run.direction, fmt_score)}, indent=2))
    else:
        print_report(report, top, show_code=output is None)
        print_duplicates(searched)
        print_promotion(promotion, run.direction)
        if output is not None:
            console.print(f"wrote program #{report.program_id} to {output}")


@app.command()
@friendly_errors
def show(
    program_id: Annotated[int, typer.Argument(help="Program id (see `adrs lineage`).")],
    run_id: RunOption = None,
    prompt: Annotated[bool, typer.Option(help="Also print the prompt that produced it.")] = False,
    db: DbUrl = None,
    runs_dir: RunsDir = Path("runs"),
) -> None:
    """One program: status, score, metrics, feedback and code."""
    from rich.syntax import Syntax

    from adrs.db import reader as rd

    with _open_run(runs_dir, db, run_id) as (reader, run):
        p = rd.get_program(reader, program_id, run.id)
    console.print(f"[bold]program #{p.id}[/] run {run.id} candidate {p.seq} island {p.island} "
                  f"generation {p.generation} parent {p.parent_id or '—'}"
                  + (f", crossover with #{p.mate_id}" if p.mate_id is not None else ""))
    console.print(f"kind {p.kind}  proposer {p.proposer}{' ' + p.model if p.model else ''}  "
                  f"status {p.status}  score {fmt_score(p.score)}  "
                  f"eval {p.eval_s:.2f}s (candidate {p.runtime_s:.3f}s)"
                  + (f"  node {p.node}" if p.node else ""))
    if p.note:
        console.print(f"note: {p.note}")
    if p.metrics:
        console.print("metrics: " + ", ".join(f"{k}={_short(v)}" for k, v in p.metrics.items()))
    if p.feedback:
        console.print(f"feedback:\n{p.feedback}")
    console.print(Syntax(p.code, "python", word_wrap=True))
    if prompt:
        if p.prompt:
            console.print("[bold]prompt[/]", markup=True)
            console.print(p.prompt, markup=False)
        elif p.seq == 0:
            console.print("no prompt: this is the seed program, written by the problem's author")
        else:
            console.print(f"no prompt: program #{p.id} was proposed by the "
                          f"{'offline mutator' if p.proposer == 'mutator' else p.proposer}, "
                          f"which edits code directly and sends no prompt"
                          + (f" ({p.note})" if p.note else ""))


@app.command()
@friendly_errors
def lineage(
    program_id: Annotated[int | None, typer.Argument(help="Program id (default: the run's best).")] = None,
    run_id: RunOption = None,
    diffs: Annotated[bool, typer.Option(help="Print each step's diff.")] = True,
    db: DbUrl = None,
    runs_dir: RunsDir = Path("runs"),
) -> None:
    """A program's ancestors from the seed, with score changes and diffs."""
    from rich.syntax import Syntax

    from adrs.db import reader as rd

    with _open_run(runs_dir, db, run_id) as (reader, run):
        if program_id is None:
            program_id = _best_or_error(reader, run).id
        rd.get_program(reader, program_id, run.id)
        chain = rd.lineage(reader, program_id)
    table = Table(title=f"lineage of program #{program_id} ({run.objective}, {run.direction})")
    for column in ("id", "candidate", "kind", "status", "score", "Δ vs parent", "note"):
        table.add_column(column)
    previous = None
    for p in chain:
        delta = "" if previous is None or p.score is None else f"{p.score - previous:+.3f}"
        table.add_row(str(p.id), str(p.seq), p.kind, p.status, fmt_score(p.score), delta, p.note[:60])
        previous = p.score if p.score is not None else previous
    console.print(table)
    if diffs:
        for p in chain[1:]:
            console.print(f"\n[bold]#{p.id}[/] ({p.kind}, {fmt_score(p.score)})")
            console.print(Syntax(p.diff or "(no diff)", "diff", word_wrap=True))


def _best_or_error(reader: Reader, run: RunRecord):  # noqa: ANN202 - a ProgramRecord
    from adrs.db import reader as rd

    top = rd.best_program(reader, run)
    if top is None:
        raise rd.DatabaseError(f"run {run.id} has no correct program yet")
    return top


def _as_records(results: dict, split: str) -> list:
    """Newly computed validation results (program id -> EvalResult) as stored-row records."""
    from adrs.db.reader import EvaluationRecord

    if split != "validation":
        return []
    return [EvaluationRecord(pid, None, split, r.status, r.score, dict(r.metrics))
            for pid, r in results.items()]


def _short(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
