"""``adrs ui`` (the web page over run databases) and ``adrs plot`` (a run's curve as PNG/SVG).

Both only read. ``adrs ui`` starts the standard library's HTTP server (see ``adrs.ui.server``); it
imports neither ray, litellm nor (for SQLite runs) SQLAlchemy.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated, Any

import typer

from adrs.cli.common import DbUrl, RunsDir, console, friendly_errors

app = typer.Typer()


@app.command()
@friendly_errors
def ui(
    db: DbUrl = None,
    runs_dir: RunsDir = Path("runs"),
    host: Annotated[str, typer.Option(help="Address to bind; other than loopback needs the token.")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0: any free port).")] = 8765,
    verbose: Annotated[bool, typer.Option(help="Log every request.")] = False,
) -> None:
    """Browse runs in a web page: curves, lineage tree, programs and diffs (read-only)."""
    from adrs.ui.catalog import Catalog
    from adrs.ui.pages import App
    from adrs.ui.server import UIServer, is_loopback, new_token

    token = None if is_loopback(host) else new_token()
    catalog = Catalog(runs_dir, db)
    try:
        web = App(catalog, verbose=verbose)
        server = UIServer(host, port, web, token)
    except OSError as err:
        console.print(f"[bold red]error:[/] cannot listen on {host}:{port}: {err.strerror or err}")
        raise typer.Exit(2) from None
    console.print(f"adrs ui: reading {catalog.describe()} (read-only)")
    if token:
        console.print(f"[bold]{host} is not loopback:[/] anyone who can reach it needs this token")
    console.print(f"open {server.url()}", soft_wrap=True)
    threading.Thread(target=_warm_up, args=(web,), daemon=True).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        catalog.close()


def _warm_up(app: Any) -> None:
    """While the user opens the browser: import the highlighter and compute the newest runs' curves."""
    from adrs.errors import DatabaseError
    from adrs.ui.highlight import highlight_python

    highlight_python("x = 1\n")
    try:
        app.warm_up()
    except DatabaseError:
        pass  # the pages will say what is wrong


@app.command()
@friendly_errors
def plot(
    run_id: Annotated[str | None, typer.Argument(help="Run id (default: the newest run).")] = None,
    output: Annotated[Path | None, typer.Option(help="Image file (default: <run>-curve.png).")] = None,
    svg: Annotated[bool, typer.Option("--svg", help="Write SVG instead of PNG.")] = False,
    x_axis: Annotated[str, typer.Option("--x", help="candidates or time.")] = "candidates",
    db: DbUrl = None,
    runs_dir: RunsDir = Path("runs"),
) -> None:
    """Draw a run's best-so-far curve (per island, with baselines) to a PNG or SVG file."""
    from adrs.curves import run_progress
    from adrs.db import reader as rd
    from adrs.plot import draw_curve

    if x_axis not in ("candidates", "time"):
        raise typer.BadParameter("--x must be 'candidates' or 'time'")
    url, found = rd.locate_run(runs_dir, db, run_id)
    with rd.open_reader(url) as reader:
        progress = run_progress(reader, rd.get_run(reader, found))
    fmt = "svg" if svg else None
    if output is None:
        output = Path(f"{found}-curve.{'svg' if svg else 'png'}")
    elif fmt is None:
        fmt = "svg" if output.suffix.lower() == ".svg" else "png"
    draw_curve(progress, output, x_axis=x_axis, fmt=fmt)
    console.print(f"wrote {output} ({progress.candidates} candidates, best "
                  f"{progress.best.y[-1] if progress.best.y else '—'})")
