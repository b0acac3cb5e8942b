"""The floor under any sandboxed job: what a bare fork of a numpy-loaded interpreter costs, with and
without the fresh namespaces an adrs job enters, before the job does any work.

Each job is what ``adrs._harness`` does per candidate with nothing else: fork; in the child,
optionally ``unshare`` new mount, PID and IPC (and network) namespaces; fork again (the PID
namespace's first process); both exit at once; the parent reaps. One more variant measures the
lever of a single process per job: one raw ``clone`` into new mount, PID, IPC and network
namespaces (with CPython's own before- and after-fork hooks around it, as ``os.fork`` calls them;
Python has no ``os.clone``, and ``unshare(CLONE_NEWPID)`` works only once per process), the child
being the namespace's first process: the watching that the job's first process does today would
move into the server. The parent has numpy imported and
its objects frozen (``gc.freeze``), as the warm fork server does. Prints wall milliseconds per job
and the machine's busy CPU milliseconds per job from /proc/stat, which also counts the kernel's
work outside the processes (namespace teardown runs in kernel threads), after a pause that lets
that work finish. Run it on an idle machine: /proc/stat counts every process.

    python benchmarks/fork_floor.py [--jobs 300]
"""

from __future__ import annotations

import argparse
import ctypes
import functools
import gc
import os
import time

import numpy  # noqa: F401 - the warm server's footprint

CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNET = 0x00020000, 0x08000000, 0x20000000, 0x40000000
TWO_FORKS = {
    "fork + fork, no namespaces": 0,
    "fork, unshare mount+PID+IPC, fork": CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC,
    "fork, unshare mount+PID+IPC+network, fork (an adrs job)":
        CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWNET,
}
ONE_FORK = "one clone into new mount+PID+IPC+network namespaces (one process per job)"
SYS_CLONE, SIGCHLD = 56, 17  # x86_64


def busy_ticks() -> int:
    """Busy jiffies of the whole machine (every field of the cpu line but idle and iowait)."""
    fields = [int(v) for v in open("/proc/stat").readline().split()[1:]]
    return sum(fields) - fields[3] - fields[4]


def two_fork_job(flags: int, libc: ctypes.CDLL) -> None:
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


def one_fork_job(libc: ctypes.CDLL) -> None:
    flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWNET
    python, api = ctypes.PyDLL(None), ctypes.pythonapi  # PyDLL: the call keeps the GIL, as os.fork
    python.syscall.restype = ctypes.c_long
    api.PyOS_BeforeFork()
    pid = python.syscall(ctypes.c_long(SYS_CLONE), ctypes.c_ulong(flags | SIGCHLD), *[ctypes.c_void_p(0)] * 3,
                         ctypes.c_ulong(0))
    if pid == 0:
        api.PyOS_AfterFork_Child()
        os._exit(0 if os.getpid() == 1 else 3)
    api.PyOS_AfterFork_Parent()
    if pid < 0:
        raise SystemExit("clone failed: run as root or where user namespaces are allowed")
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("the child was not its PID namespace's first process")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=300)
    args = parser.parse_args()
    libc = ctypes.CDLL(None, use_errno=True)
    gc.collect()
    gc.freeze()
    tick_ms = 1000 / os.sysconf("SC_CLK_TCK")
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; {args.jobs} jobs each")
    variants = [(name, functools.partial(two_fork_job, flags)) for name, flags in TWO_FORKS.items()]
    if os.uname().machine == "x86_64":
        variants.append((ONE_FORK, one_fork_job))
    for name, job in variants:
        before, started = busy_ticks(), time.perf_counter()
        for _ in range(args.jobs):
            job(libc)
        wall_ms = 1000 * (time.perf_counter() - started) / args.jobs
        time.sleep(1.0)  # the kernel's deferred teardown
        cpu_ms = (busy_ticks() - before) * tick_ms / args.jobs
        print(f"{name}: {wall_ms:.2f} ms wall, {cpu_ms:.2f} ms of machine CPU per job", flush=True)


if __name__ == "__main__":
    main()
