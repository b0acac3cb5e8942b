"""Rendering of a BestReport (shared by ``adrs run`` and ``adrs best``)."""

from __future__ import annotations

from rich.markup import escape
from rich.syntax import Syntax
from rich.table import Table

from adrs.cli.common import console, fmt_score
from adrs.db.reader import ProgramRecord
from adrs.promote import Promotion
from adrs.report import BestReport
from adrs.status import Fault, status_of

SHOWN_METRICS = 2


def print_report(report: BestReport, best: ProgramRecord, show_code: bool) -> None:
    if show_code:
        console.print(f"\n[bold]best program[/] #{best.id} (candidate {best.seq}, generation "
                      f"{best.generation}, train {report.objective} {fmt_score(best.score)})")
        if console.is_terminal:
            console.print(Syntax(best.code, "python", word_wrap=False), soft_wrap=True)
        else:  # a file or a pipe: the code exactly as stored, ready to copy
            console.file.write(best.code if best.code.endswith("\n") else best.code + "\n")
            console.file.flush()
    table = Table(title=f"{report.split} instances — {report.objective} ({report.direction})")
    table.add_column("program", no_wrap=True)
    table.add_column("status")
    table.add_column(f"{report.objective} ({report.split})", justify="right", no_wrap=True)
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


def print_promotion(promotion: Promotion, direction: str) -> None:
    """Which program was promoted and why; plainly when it is worse than the seed."""
    for line in promotion.lines(direction, fmt_score):
        style = "bold red" if "WORSE" in line else "bold"
        console.print(line, style=style, markup=False)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.3f}"
    return "—" if value is None else str(value)
