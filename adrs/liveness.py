"""Is a run's driver alive? A ``running`` run whose heartbeat (``run.updated_at``, touched by
``adrs.run_state.Heartbeat``) is older than ``STALE_AFTER_S`` had its driver killed (SIGKILL, power
loss, a lost node) and is shown as ``stale``. Pure functions, standard library only, so browsing
commands use them for free; nothing here reads or writes a database.
"""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HEARTBEAT_S = 10.0
STALE_AFTER_S = 60.0


def now_utc() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None) if value.tzinfo is None else \
            value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, str) and value:
        try:
            return _as_datetime(datetime.fromisoformat(value))
        except ValueError:
            return None
    return None


def silence_s(updated_at: Any, now: datetime | None = None) -> float | None:
    """Seconds since the run's last heartbeat (None when unknown)."""
    beat = _as_datetime(updated_at)
    return None if beat is None else ((now or now_utc()) - beat).total_seconds()


PID_FILE = "driver.pid"  # "<host> <pid>" beside a run's SQLite file while its driver runs


def driver_gone(folder: Path | None) -> int | None:
    """The pid of the run's driver when its pid file names a process of this host that no longer
    exists (killed), else None (alive, another host, or no pid file)."""
    if folder is None:
        return None
    try:
        host, pid = (folder / PID_FILE).read_text().split()
    except (OSError, ValueError):
        return None
    if host != socket.gethostname() or not pid.isdigit():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return int(pid)
    except OSError:  # exists, owned by someone else
        return None
    return None


def effective_status(status: str, updated_at: Any, now: datetime | None = None,
                     folder: Path | None = None) -> str:
    """The stored status, except that a ``running`` run whose driver process is gone is
    ``killed``, and one without a recent heartbeat is ``stale``."""
    if status != "running":
        return status
    pid = driver_gone(folder)
    if pid is not None:
        return f"killed (driver pid {pid} is gone)"
    silent = silence_s(updated_at, now)
    if silent is not None and silent > STALE_AFTER_S:
        return f"stale (no heartbeat for {ago(silent)}; driver killed?)"
    return status


def ago(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
