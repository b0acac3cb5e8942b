"""Test helper: find host processes by a marker in their command line (to prove none survived)."""

from __future__ import annotations

import os
from pathlib import Path


def processes_with_arg(marker: str) -> list[int]:
    """Pids of the processes whose command line contains ``marker``."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline:
            found.append(int(pid))
    return found
