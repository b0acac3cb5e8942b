"""``adrs spend``: what a run's LLM calls cost, per model, and the cost per improvement.

Reads the database only (``adrs.db.reader``); never imports ray or litellm and never writes.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from adrs.cli.common import DbUrl, RunsDir, console, friendly_errors

if TYPE_CHECKING:
    from adrs.spend import SpendSummary

app = typer.Typer()


@app.command()
@friendly_errors
def spend(
    run_id: Annotated[str | None, typer.Argument(help="Run id (default: the newest run).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    db: DbUrl = None,
    runs_dir: RunsDir = Path("runs"),
) -> None:
    """LLM spend of a run: calls, tokens, dollars and latency per model, cost per improvement."""
    from adrs.db import reader as rd
    from adrs.spend import spend_summary

    url, found = rd.locate_run(runs_dir, db, run_id)
    with rd.open_reader(url) as reader:
        run = rd.get_run(reader, found)
        summary = spend_summary(reader, run.id, run.direction)
    if as_json:
        data = asdict(summary) | {"cost_per_improvement": summary.cost_per_improvement}
        print(json.dumps(data, indent=2))
        return
    print_spend(summary)


def print_spend(summary: SpendSummary) -> None:
    table = Table(title=f"LLM spend of {summary.run_id}")
    for column in ("model", "calls", "failed", "cached", "tokens in", "tokens out", "cost",
                   "latency", "children", "improved", "$ / improved"):
        table.add_column(column)
    for m in summary.models:
        per = m.cost_per_improved
        table.add_row(m.model, str(m.calls), str(m.failed), str(m.cached), str(m.prompt_tokens),
                      str(m.completion_tokens), f"${m.cost_usd:.4f}", f"{m.mean_latency_s:.2f}s",
                      str(m.children), str(m.improved), "—" if per is None else f"${per:.4f}")
    console.print(table)
    per = summary.cost_per_improvement
    console.print(f"spend ${summary.cost_usd:.4f} on {summary.calls} calls; {summary.improvements} "
                  f"new best program(s); cost per improvement "
                  + ("—" if per is None else f"${per:.4f}"))
