"""Hostile candidates aimed at the warm fork server: whatever one candidate leaves behind (threads,
processes, files, modules, patched numpy, the harness or builtins, environment, signals, limits),
the next candidate, a probe reporting what it sees, sees exactly what a probe run first saw."""

from __future__ import annotations

import os
import signal
import uuid

import numpy as np
import pytest

from adrs import fork_server
from adrs.sandbox import Limits, isolation_level, run_program
from tests.processes import processes_with_arg

LIMITS = Limits(timeout_s=20.0, cpu_s=20, memory_mb=1024, max_processes=32, disk_mb=8)
MARKER = f"{uuid.uuid4().int % 10**6 + 10**6}.125"

PROBE = """
import gc, os, signal, sys, threading, resource, builtins
import numpy as np
import __main__

def f(x):
    child = os.fork()
    if child == 0:
        os._exit(0)
    os.waitpid(child, 0)
    listing = {}
    for d in (".", "/tmp", os.environ.get("TMPDIR", ".")):
        try:
            listing[d] = sorted(os.listdir(d))
        except OSError as e:
            listing[d] = type(e).__name__
    return {
        "pid": os.getpid(), "first_child_pid": child, "cwd": os.getcwd(), "files": listing,
        "threads": sorted(t.name for t in threading.enumerate()),
        "modules": sorted(m for m in sys.modules if not m.startswith("candidate")),
        "argsort": np.argsort(np.array([3, 1, 2])).tolist(), "sum": float(np.sum(np.arange(4))),
        "numpy_attrs": len(dir(np)), "len": len([1, 2]), "encode": __main__.encode.__module__,
        "env": sorted(os.environ.items()), "sigterm": str(signal.getsignal(signal.SIGTERM)),
        "nofile": list(resource.getrlimit(resource.RLIMIT_NOFILE)), "gc_frozen": gc.get_freeze_count() > 0,
        "gc_enabled": gc.isenabled(), "x": x.tolist(), "path": list(sys.path),
    }
"""

POLLUTERS = {
    "leftover_threads": """
import threading, time
def f(x):
    threading.Thread(target=time.sleep, args=(60,), name="leftover-daemon", daemon=True).start()
    threading.Thread(target=time.sleep, args=(60,), name="leftover-thread").start()
    return 0
""",
    "leftover_children": f"""
import os, subprocess
def f(x):
    subprocess.Popen(["sleep", "{MARKER}"], start_new_session=True)
    if os.fork() == 0:
        os.setsid()
        os.execvp("sleep", ["sleep", "{MARKER}"])
    return 0
""",
    "leftover_files": """
import os
def f(x):
    for d in (".", "/tmp", os.environ["TMPDIR"]):
        try:
            with open(os.path.join(d, "leftover.txt"), "w") as fh:
                fh.write("from the previous candidate")
        except OSError:
            pass
    os.makedirs("leftover_dir", exist_ok=True)
    return 0
""",
    "changed_sys_modules": """
import sys, types
fake = types.ModuleType("json")
fake.dumps = lambda *a, **k: "forged"
sys.modules["json"] = fake
sys.modules["leftover_module"] = types.ModuleType("leftover_module")
sys.path.insert(0, "/leftover")
def f(x):
    import collections  # noqa: F401
    del sys.modules["threading"]
    return 0
""",
    "patched_numpy": """
import numpy as np
np.argsort = lambda *a, **k: np.zeros(3, dtype=np.int64)
np.sum = lambda *a, **k: 42.0
np.leftover = True
def f(x):
    return 0
""",
    "patched_harness_and_builtins": """
import builtins, __main__, gc
__main__.encode = lambda value, depth=0: "forged"
gc.disable()
def f(x):
    builtins.len = lambda obj: 99
    return 0
""",
    "changed_process_state": """
import os, signal, resource, gc
def f(x):
    os.environ["LEFTOVER"] = "1"
    os.chdir("/")
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    gc.unfreeze()
    return 0
""",
}

pytestmark = pytest.mark.skipif(not isolation_level().startswith("private-root"),
                                reason=f"warm servers need per-job namespaces; host: {isolation_level()!r}")


def probe() -> dict:
    outcome = run_program(PROBE, "f", [{"x": np.arange(3)}], LIMITS)
    assert outcome.status == "ok", outcome.feedback()
    return outcome.outputs[0]


@pytest.fixture(scope="module")
def clean_view() -> dict:
    return probe()


@pytest.mark.parametrize("name", sorted(POLLUTERS))
def test_next_candidate_sees_nothing_of_the_previous_one(name: str, clean_view: dict) -> None:
    polluter = run_program(POLLUTERS[name], "f", [{"x": np.arange(3)}], Limits(timeout_s=3.0))
    assert polluter.status in ("ok", "bad_output", "crash", "timeout"), polluter.feedback()
    seen = probe()
    assert seen == clean_view
    assert seen["pid"] == 1 and seen["first_child_pid"] == 2  # a PID namespace of its own, empty
    assert processes_with_arg(MARKER) == []


def test_the_server_is_the_same_across_candidates_and_replaced_when_killed(clean_view: dict) -> None:
    probe()
    server = list(fork_server._servers.values())[-1]  # the most recently used: the probe's
    before = server.pid
    assert probe() == clean_view and server.pid == before  # warm: no new server per candidate
    os.kill(before, signal.SIGKILL)
    assert probe() == clean_view
    after = list(fork_server._servers.values())[-1]
    assert after.alive() and after.pid != before
    assert len(fork_server._servers) <= fork_server.MAX_IDLE_SERVERS


def test_idle_servers_beyond_the_cap_are_stopped(tmp_path) -> None:
    """Runs whose binds differ each time (a proxy's socket folder) must not pile up servers."""
    for index in range(fork_server.MAX_IDLE_SERVERS + 3):
        folder = tmp_path / f"bind{index}"
        folder.mkdir()
        outcome = run_program("def f(x):\n    return 0\n", "f", [{"x": np.arange(1)}], LIMITS,
                              binds=[str(folder)])
        assert outcome.status == "ok", outcome.feedback()
    assert len(fork_server._servers) <= fork_server.MAX_IDLE_SERVERS
    assert all(s.alive() for s in fork_server._servers.values())


def test_candidate_that_stops_its_supervisor_is_still_killed() -> None:
    """The candidate shares a process group with its job's first process: stopping that one must
    not keep the candidate alive past its wall-clock limit."""
    code = f"""
import os, signal, subprocess, time
def f(x):
    subprocess.Popen(["sleep", "{MARKER}"])
    os.killpg(os.getpgid(0), signal.SIGSTOP)  # the job's first process stops; this one is PID 1
    time.sleep(100)
    return 0
"""
    outcome = run_program(code, "f", [{"x": np.arange(3)}], Limits(timeout_s=2.0, cpu_s=5, memory_mb=1024))
    assert outcome.status in ("timeout", "crash"), outcome.feedback()
    assert processes_with_arg(MARKER) == []
