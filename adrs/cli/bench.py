"""``adrs bench PROBLEM``: compare baselines and programs on a problem's benchmark sets.

The command gathers the programs (the problem's baselines, program files, a run's best program),
hands them to the evaluator package's ``bench(request)`` (see ``adrs.bench``; a package without one
gets ``adrs.bench.evaluator_bench``: the evaluator's validation scores) and prints the tables it
returns, as rich tables or JSON. The evaluator decides what is measured; this file only renders.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from adrs.cli.common import DbUrl, OeCandidate, OeConfig, RunsDir, console, friendly_errors

app = typer.Typer()


@app.command()
@friendly_errors
def bench(
    problem: Annotated[str, typer.Argument(help="Problem name or folder.")],
    programs: Annotated[list[Path] | None, typer.Argument(help="Program files to compare.")] = None,
    run_id: Annotated[list[str] | None, typer.Option("--run", help="Add this run's best program "
                                                     "(repeatable; 'latest' for the newest run).")] = None,
    data: Annotated[Path | None, typer.Option(help="Published instances: a folder of trace files (eplb), "
                                              "a workload file (txn); see the problem's README.")] = None,
    sizes: Annotated[str | None, typer.Option(help="Comma-separated instance sizes, e.g. 20,100.")] = None,
    quick: Annotated[bool, typer.Option(help="Fewer instances and repetitions (smoke test).")] = False,
    plot: Annotated[Path | None, typer.Option(help="Write a figure (PNG) to this file.")] = None,
    baselines: Annotated[bool, typer.Option(help="Include the problem's baselines.")] = True,
    workers: Annotated[int, typer.Option(help="Programs evaluated in parallel.")] = 2,
    as_json: Annotated[bool, typer.Option("--json", help="Print the tables as JSON.")] = False,
    db: DbUrl = None,
    runs_dir: RunsDir = Path("runs"),
    oe_config: OeConfig = None,
    oe_candidate: OeCandidate = "auto",
) -> None:
    """Benchmark baselines and programs: the evaluator's tables (gaps, references, runtimes)."""
    from adrs.bench import BenchRequest, evaluator_bench
    from adrs.config import ConfigError
    from adrs.openevolve import problem_argument
    from adrs.problem import load_problem
    from adrs.resources import import_package_from_dir

    spec = load_problem(problem_argument(problem, runs_dir, oe_config, oe_candidate))
    with _stdout_to_stderr(as_json):
        module = import_package_from_dir(spec.evaluator_dir, f"adrs_evaluator_{spec.evaluator_dir.name}")
    run_bench = getattr(module, "bench", evaluator_bench)  # default: the evaluator's validation scores
    codes: dict[str, str] = {}
    if baselines:
        codes.update({name: path.read_text() for name, path in spec.baselines.items()})
    for path in programs or []:
        if not path.is_file():
            raise ConfigError(f"program file {path} does not exist")
        codes[path.name] = path.read_text()
    for ref in run_id or []:
        label, code = _run_best(runs_dir, db, None if ref == "latest" else ref)
        codes[label] = code
    if not codes:
        raise ConfigError("nothing to benchmark: give program files, --run, or keep the baselines")
    request = BenchRequest(problem=spec, programs=codes, data_dir=data, sizes=_parse_sizes(sizes),
                           quick=quick, plot=plot, workers=workers)
    with _stdout_to_stderr(as_json):  # --json: stdout carries the JSON only (HiGHS prints a banner)
        tables = run_bench(request)
    if as_json:
        print(json.dumps([t.as_dict() for t in tables], indent=2))
        return
    for t in tables:
        console.print(_render(t))
        for note in t.notes:
            console.print(f"  {note}", soft_wrap=True)
    if plot is not None and plot.exists():
        console.print(f"wrote {plot}")


@contextlib.contextmanager
def _stdout_to_stderr(active: bool) -> Iterator[None]:
    """While active, send what is written to file descriptor 1 (Python prints and C libraries
    alike) to descriptor 2."""
    if not active:
        yield
        return
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _parse_sizes(text: str | None) -> tuple[int, ...] | None:
    if not text:
        return None
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise typer.BadParameter(f"--sizes: expected integers separated by commas, got {text!r}") from None


def _run_best(runs_dir: Path, db: str | None, run_id: str | None) -> tuple[str, str]:
    from adrs.db import reader as rd

    url, found = rd.locate_run(runs_dir, db, run_id)
    with rd.open_reader(url) as reader:
        run = rd.get_run(reader, found)
        top = rd.best_program(reader, run)
    if top is None:
        raise rd.DatabaseError(f"run {run.id} has no correct program yet")
    return f"{run.id} #{top.id}", top.code


def _render(table: Any) -> Table:
    out = Table(title=table.title)
    for column in table.columns:
        out.add_column(column, no_wrap=True)
    for row in table.rows:
        out.add_row(*(_cell(v) for v in row))
    return out


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e5 else f"{value:.0f}"
    return str(value)
