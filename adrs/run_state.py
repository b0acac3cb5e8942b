"""Keep a run alive and resume it safely: the driver's heartbeat, and the checks ``adrs resume``
makes before starting (another driver alive, budget already reached).

The driver's ``Heartbeat`` thread touches ``run.updated_at`` every ``HEARTBEAT_S`` while the run is
``running``; ``adrs.liveness`` calls a run without recent beats ``stale``. This module does not
resume anything itself.
"""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path
from typing import Any

from adrs.liveness import HEARTBEAT_S, PID_FILE, STALE_AFTER_S, ago, driver_gone, now_utc, silence_s


class Heartbeat:
    """Context manager: a daemon thread that marks the run alive every ``every_s`` seconds."""

    def __init__(self, engine: Any, run_id: str, every_s: float = HEARTBEAT_S) -> None:
        self.engine = engine
        self.run_id = run_id
        self.every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="adrs-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self.beat()
        folder = sqlite_folder(self.engine.url.render_as_string(hide_password=False))
        self._pid_file = folder / PID_FILE if folder is not None else None
        if self._pid_file is not None:
            self._pid_file.write_text(f"{socket.gethostname()} {os.getpid()}\n")
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        if self._pid_file is not None:
            self._pid_file.unlink(missing_ok=True)

    def beat(self) -> None:
        from sqlalchemy import update

        from adrs.db.models import Run

        try:
            with self.engine.begin() as connection:
                connection.execute(update(Run).where(Run.id == self.run_id, Run.status == "running")
                                   .values(updated_at=now_utc()))
        except Exception:  # a busy or briefly unreachable database: the next beat will do
            pass

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self.beat()


def sqlite_folder(url: str) -> Path | None:
    """The folder of a run's own SQLite file (where its driver's pid file lives), else None."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and "?" not in url:
        return Path(url[len(prefix):]).parent
    return None


def check_resumable(runs_dir: Path, db_url: str | None, run_ref: str | None,
                    budget: int | None, more: int | None) -> int | None | str:
    """The candidate budget ``adrs resume`` should use (None: the stored one). Raises
    CampaignError when another driver is alive. Returns a message (str) instead when the budget is
    already reached, so the caller says so rather than doing nothing."""
    from adrs.db import reader as rd
    from adrs.errors import CampaignError

    url, run_id = rd.locate_run(runs_dir, db_url, run_ref)
    with rd.open_reader(url) as reader:
        run = rd.get_run(reader, run_id)
        done = int(reader.rows("SELECT COUNT(*) AS n FROM program WHERE run_id = :run AND seq > 0",
                               run=run_id)[0]["n"])
        beat = reader.rows("SELECT updated_at FROM run WHERE id = :id", id=run_id)[0]["updated_at"]
    silent = silence_s(beat)
    folder = sqlite_folder(url)
    if run.status == "running" and silent is not None and silent <= STALE_AFTER_S \
            and driver_gone(folder) is None and (folder is None or (folder / PID_FILE).exists()):
        raise CampaignError(f"run {run_id} is running now (its driver's last heartbeat was "
                            f"{ago(max(0.0, silent))} ago); stop it before resuming, or wait "
                            f"{STALE_AFTER_S:.0f} s if its driver was killed")
    stored = int((run.config.get("evolution") or {}).get("budget", 0))
    if more is not None:
        if more < 1:
            raise CampaignError(f"--more must be at least 1, got {more}")
        return done + more
    target = budget if budget is not None else stored
    if done >= target:
        given = f"--budget {budget}" if budget is not None else f"its budget ({stored})"
        return (f"run {run_id} already has {done} candidates: {given} is already reached, so "
                f"there is nothing to resume. Add candidates with `adrs resume {run_id} --more N` "
                f"(or a larger --budget).")
    return budget
