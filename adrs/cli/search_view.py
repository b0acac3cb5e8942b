"""What the search did, under a run's report: duplicates it did not evaluate and, for problems
with front objectives, the Pareto front of the run's programs (``adrs run``, ``adrs best``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.table import Table

from adrs.cli.common import console, fmt_score, fmt_seconds
from adrs.db.reader import ProgramRecord
from adrs.dedup import summarize
from adrs.pareto import FrontObjective, pareto_front


def search_summary(programs: Sequence[ProgramRecord], front: Sequence[FrontObjective]) -> dict[str, Any]:
    """The duplicates line and the front as plain data (for ``--json``)."""
    dups = summarize(programs)
    out: dict[str, Any] = {"candidates": dups.candidates, "duplicates": dups.duplicates,
                           "duplicate_share": dups.share, "sandbox_s_saved": dups.saved_s}
    if len(front) >= 2:
        out["front"] = [{"program": p.id, "seq": p.seq, "island": p.island, "score": p.score,
                         **{o.metric: p.metrics.get(o.metric) for o in front}}
                        for p in sorted(pareto_front(programs, front),
                                        key=lambda p: p.metrics.get(front[0].metric, 0.0))]
    return out


def print_duplicates(summary: dict[str, Any]) -> None:
    if not summary["candidates"]:
        return
    console.print(f"duplicates: {summary['duplicates']} of {summary['candidates']} candidates "
                  f"({100 * summary['duplicate_share']:.1f} %) were equivalent to an evaluated "
                  f"program and not run (about {fmt_seconds(summary['sandbox_s_saved'])} of "
                  f"sandbox time saved)")


def print_front(summary: dict[str, Any], front: Sequence[FrontObjective]) -> None:
    rows = summary.get("front")
    if rows is None:
        console.print("[yellow]this problem declares no front objectives (objective.front in "
                      "problem.yaml): it has a single score[/]")
        return
    table = Table(title="Pareto front (train instances) — " + ", ".join(
        f"{o.metric} ({o.direction})" for o in front))
    for name in ("program", "candidate", "island", "score", *(o.metric for o in front)):
        table.add_column(name, justify="right", no_wrap=True)
    for row in rows:
        table.add_row(f"#{row['program']}", str(row["seq"]), str(row["island"]),
                      fmt_score(row["score"]), *(fmt_score(row[o.metric]) for o in front))
    console.print(table)
