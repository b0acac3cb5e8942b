"""Resource limits of one sandboxed candidate run (a value type; ``adrs.sandbox`` enforces them).

Kept apart from the sandbox so that reading a problem's config does not import numpy.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Resource limits for one candidate run (all calls of one evaluation together)."""

    timeout_s: float = 60.0  # wall clock for the whole run, including interpreter start-up
    cpu_s: int = 120
    memory_mb: int = 2048  # address space
    file_size_mb: int = 16  # largest file the candidate may write; also caps the result JSON
    max_processes: int = 64  # processes + threads: pids cgroup if available, else RLIMIT_NPROC
    network: bool = False  # False: no network (namespace) where the host allows it; True: host's
    disk_mb: int = 64  # size of the writable /sandbox tmpfs (private-root isolation only)
    # What the sandbox may import besides numpy (adrs.sandbox_packages): distributions, bound
    # read-only with their dependencies; and another interpreter (e.g. a venv's python), "" = ours.
    packages: tuple[str, ...] = ()
    python: str = ""
