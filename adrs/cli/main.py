"""The ``adrs`` entry point: assembles the command groups."""

from __future__ import annotations

import typer

from adrs.cli import author, bench, browse, controls, db, run, spend, ui

app = typer.Typer(
    name="adrs",
    help="AI-Driven Research for Systems: evolve algorithms against trusted evaluators.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(run.app)
app.add_typer(browse.app)
app.add_typer(bench.app)
app.add_typer(spend.app)
app.add_typer(author.app)
app.add_typer(ui.app)
app.add_typer(controls.app)
app.add_typer(db.app, name="db")

if __name__ == "__main__":
    app()
