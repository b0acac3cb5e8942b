"""Inside the sandbox a candidate cannot create or enter namespaces (a seccomp filter the harness
installs after the confinement): ``unshare -U``, ``unshare(2)``, ``clone`` with a ``CLONE_NEW*``
flag and ``setns`` fail with EPERM, ``clone3`` with ENOSYS. Threads, fork, subprocess and
multiprocessing keep working."""

from __future__ import annotations

import numpy as np
import pytest

from adrs.sandbox import Limits, isolation_level, namespace_creation_refused, run_program

LIMITS = Limits(timeout_s=30.0, cpu_s=30, memory_mb=1024, max_processes=64)

ATTEMPTS = r'''
import ctypes, errno, os, platform, subprocess

libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWUSER, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID = 0x10000000, 0x40000000, 0x20000, 0x20000000
SIGCHLD = 17
SYS = {"x86_64": {"clone": 56, "clone3": 435}, "aarch64": {"clone": 220, "clone3": 435}}[platform.machine()]


def outcome(ret):
    return "ok" if ret == 0 else errno.errorcode.get(ctypes.get_errno(), str(ctypes.get_errno()))


def raw_clone(flags):
    libc.syscall.restype = ctypes.c_long
    return cloned(libc.syscall(ctypes.c_long(SYS["clone"]), ctypes.c_ulong(flags | SIGCHLD),
                               ctypes.c_void_p(0), ctypes.c_void_p(0), ctypes.c_void_p(0),
                               ctypes.c_ulong(0)))


def raw_clone3():
    args = (ctypes.c_uint64 * 11)()
    args[0] = CLONE_NEWUSER
    args[4] = SIGCHLD  # exit_signal
    return cloned(libc.syscall(ctypes.c_long(SYS["clone3"]), args, ctypes.c_size_t(ctypes.sizeof(args))))


def cloned(ret):
    """Reap the child of a clone that worked ("ok"; the child leaves at once), or its errno."""
    if ret == 0:  # we are the child of a successful clone: leave at once
        os._exit(0)
    if ret > 0:
        os.waitpid(ret, 0)
        return "ok"
    return errno.errorcode.get(ctypes.get_errno(), "?")


def setns():
    fd = os.pidfd_open(os.getpid())  # no /proc in the private root; a pidfd names namespaces too
    try:
        return outcome(libc.setns(fd, CLONE_NEWNET))
    finally:
        os.close(fd)


def f(x):
    found = {}
    cli = subprocess.run(["unshare", "-U", "true"], capture_output=True, text=True)
    found["unshare -U"] = "ok" if cli.returncode == 0 else cli.stderr.strip()[-200:]
    found["unshare(NEWUSER)"] = outcome(libc.unshare(CLONE_NEWUSER))
    found["unshare(NEWNS|NEWPID)"] = outcome(libc.unshare(CLONE_NEWNS | CLONE_NEWPID))
    found["clone(NEWNET)"] = raw_clone(CLONE_NEWNET)
    found["clone(NEWUSER)"] = raw_clone(CLONE_NEWUSER)
    found["clone3(NEWUSER)"] = raw_clone3()
    found["setns(net)"] = setns()
    return found
'''

STILL_WORKS = r'''
import multiprocessing, os, subprocess, threading

def square(n, out):
    out.send(n * n)

def f(x):
    found = {}
    box = []
    t = threading.Thread(target=lambda: box.append(42))
    t.start(); t.join()
    found["thread"] = box == [42]
    pid = os.fork()
    if pid == 0:
        os._exit(7)
    found["fork"] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 7
    found["subprocess"] = subprocess.run(["echo", "hi"], capture_output=True, text=True).stdout == "hi\n"
    ours, theirs = multiprocessing.Pipe()
    child = multiprocessing.get_context("fork").Process(target=square, args=(9, theirs))
    child.start(); child.join()
    found["multiprocessing"] = child.exitcode == 0 and ours.recv() == 81
    return found
'''


@pytest.fixture(scope="module", autouse=True)
def refused_here() -> None:
    if not namespace_creation_refused():
        pytest.skip(f"no seccomp filter on this host: {isolation_level()}")


def run(code: str) -> dict:
    outcome = run_program(code, "f", [{"x": np.arange(1)}], LIMITS)
    assert outcome.status == "ok", outcome.feedback()
    return outcome.outputs[0]


def test_the_isolation_level_names_the_refusal() -> None:
    assert "nsdeny" in isolation_level().split(" (")[0]


def test_every_way_to_a_new_namespace_is_refused() -> None:
    found = run(ATTEMPTS)
    assert "Operation not permitted" in found.pop("unshare -U")
    assert found.pop("clone3(NEWUSER)") == "ENOSYS"
    assert found == {"unshare(NEWUSER)": "EPERM", "unshare(NEWNS|NEWPID)": "EPERM",
                     "clone(NEWNET)": "EPERM", "clone(NEWUSER)": "EPERM", "setns(net)": "EPERM"}


def test_threads_fork_subprocess_and_multiprocessing_still_work() -> None:
    assert run(STILL_WORKS) == {"thread": True, "fork": True, "subprocess": True,
                                "multiprocessing": True}
