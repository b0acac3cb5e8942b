"""Rendering of a BestReport (shared by ``adrs run`` and ``adrs best``)."""

from __future__ import annotations

from rich.markup import escape
from rich.syntax import Syntax
from rich.table import Table

from adrs.cli.common import console, fmt_score
from adrs.db.reader import ProgramRecord
from adrs.report import BestReport
from adrs.status import Fault, status_of

SHOWN_METRICS = 2


def print_report(report: BestReport, best: ProgramRecord, show_code: bool) -> None:
    if show_code:
        console.print(f"\n[bold]best program[/] #{best.id} (candidate {best.seq}, generation "
                      f"{best.generation}, train {report.objective} {fmt_score(best.score)})")
        console.print(Syntax(best.code, "python", word_wrap=True))
    table = Table(title=f"{report.split} instances — {report.objective} ({report.direction})")
    table.add_column("program", no_wrap=True)
    table.add_column("status")
    table.add_column(report.objective, justify="right", no_wrap=True)
    extra = [k for k in (report.row("best").metrics if report.row("best") else {})
             if k != report.objective][:SHOWN_METRICS]
    for key in extra:
        table.add_column(key, justify="right", no_wrap=True)
    for row in report.rows:
        name = f"best (#{report.program_id})" if row.name == "best" else row.name
        values = [_cell(row.metrics.get(key)) for key in extra]
        table.add_row(name, row.status, fmt_score(row.score), *values)
    console.print(table)
    for row in report.rows:
        if status_of(row.status).fault is Fault.TRUSTED:  # not the program's doing: say why
            console.print(f"[red]{escape(row.name)}: {row.status}[/]\n"
                          f"{escape(row.feedback.strip()[-1500:])}",
                          markup=True, highlight=False)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.3f}"
    return "—" if value is None else str(value)
