"""Shared CLI pieces: the console, option types and turning known errors into clear messages."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from adrs.errors import CampaignError, ConfigError, DatabaseError
from adrs.redact import redact

console = Console(highlight=False)
console.soft_wrap = not console.is_terminal  # a log file gets whole lines, not 80-column pieces
err_console = Console(stderr=True, highlight=False)

RunsDir = Annotated[Path, typer.Option("--runs-dir", help="Folder holding one sub-folder per run.")]
OeConfig = Annotated[Path | None, typer.Option(
    "--oe-config", help="For an OpenEvolve / ADRS-benchmark folder with several configs: the one to use.")]
OeCandidate = Annotated[str, typer.Option(
    "--oe-candidate", help="OpenEvolve / ADRS folders: proxy (the candidate in its own sandboxed process), "
    "shared (in the evaluator's process: for evaluators passing objects a proxy cannot carry; weaker) "
    "or auto (proxy where the evaluator loads the program itself).")]
DbUrl = Annotated[str | None, typer.Option(
    "--db", envvar="ADRS_DB_URL", show_envvar=False,
    help="SQLAlchemy URL (e.g. postgresql://user@host/db) instead of the per-run SQLite file; "
         "default: $ADRS_DB_URL (keeps a password out of the command line).")]

F = TypeVar("F", bound=Callable[..., Any])


def friendly_errors(func: F) -> F:
    """Print configuration, database and campaign errors as one clear message (exit code 2)."""
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (ConfigError, DatabaseError, CampaignError) as err:
            err_console.print(f"[bold red]error:[/] {escape(redact(str(err)))}", markup=True,
                              soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def fmt_score(score: float | None, digits: int = 3) -> str:
    return "—" if score is None else f"{score:.{digits}f}"


def fmt_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{seconds:.1f}s"
