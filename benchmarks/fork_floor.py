"""The floor under any sandboxed job: what a bare fork of a numpy-loaded interpreter costs, with and
without the fresh namespaces an adrs job enters, before the job does any work.

Each job is what ``adrs._harness`` does per candidate with nothing else: fork; in the child,
optionally ``unshare`` new mount, PID and IPC (and network) namespaces; fork again (the PID
namespace's first process); both exit at once; the parent reaps. The parent has numpy imported and
its objects frozen (``gc.freeze``), as the warm fork server does. Prints wall milliseconds per job
and the machine's busy CPU milliseconds per job from /proc/stat, which also counts the kernel's
work outside the processes (namespace teardown runs in kernel threads), after a pause that lets
that work finish. Run it on an idle machine: /proc/stat counts every process.

    python benchmarks/fork_floor.py [--jobs 300]
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import os
import time

import numpy  # noqa: F401 - the warm server's footprint

CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNET = 0x00020000, 0x08000000, 0x20000000, 0x40000000
VARIANTS = {
    "fork + fork, no namespaces": 0,
    "fork, unshare mount+PID+IPC, fork": CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC,
    "fork, unshare mount+PID+IPC+network, fork (an adrs job)":
        CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWNET,
}


def busy_ticks() -> int:
    """Busy jiffies of the whole machine (every field of the cpu line but idle and iowait)."""
    fields = [int(v) for v in open("/proc/stat").readline().split()[1:]]
    return sum(fields) - fields[3] - fields[4]


def job(flags: int, libc: ctypes.CDLL) -> None:
    pid = os.fork()
    if pid == 0:
        if flags and libc.unshare(flags) != 0:
            os._exit(3)
        child = os.fork()
        if child == 0:
            os._exit(0)
        os.waitpid(child, 0)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("unshare failed: run as root or where user namespaces are allowed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=300)
    args = parser.parse_args()
    libc = ctypes.CDLL(None, use_errno=True)
    gc.collect()
    gc.freeze()
    tick_ms = 1000 / os.sysconf("SC_CLK_TCK")
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; {args.jobs} jobs each")
    for name, flags in VARIANTS.items():
        before, started = busy_ticks(), time.perf_counter()
        for _ in range(args.jobs):
            job(flags, libc)
        wall_ms = 1000 * (time.perf_counter() - started) / args.jobs
        time.sleep(1.0)  # the kernel's deferred teardown
        cpu_ms = (busy_ticks() - before) * tick_ms / args.jobs
        print(f"{name}: {wall_ms:.2f} ms wall, {cpu_ms:.2f} ms of machine CPU per job", flush=True)


if __name__ == "__main__":
    main()
