"""Hostile candidate programs for the SMTT problem, each with the exact outcome it must end in.

Every program defines ``schedule(p, d)``. Attacks that would succeed return a valid schedule (so an
escape shows up as status "ok" and the test fails); blocked attacks raise ``Blocked`` (status
"error", with "Blocked" in the feedback). ``{placeholders}`` are filled in by the test with paths
on the host that the candidate must not reach.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Hostile:
    name: str
    code: str
    status: str  # the exact status the evaluation must end with
    words: tuple[str, ...] = ()  # must appear in the feedback
    score_of: str = ""  # "edd" / "identity": status ok with exactly that honest program's score
    # isolation the case relies on: "private-root", "netns", "pidns", "process-cap", "no-root-caps"
    needs: str = ""


PRELUDE = """
import os, sys, time
import numpy as np

class Blocked(Exception):
    pass

def edd(p, d):
    return np.argsort(np.asarray(d), kind="stable")

def attempt(action):
    try:
        action()
    except Exception as err:
        raise Blocked(f"{type(err).__name__}: {err}") from None
"""


def program(body: str) -> str:
    return PRELUDE + body


def _read(path: str) -> str:
    return program(f"""
def schedule(p, d):
    attempt(lambda: open({path!r}, "rb").read(1))
    return edd(p, d)
""")


def _write(path: str) -> str:
    return program(f"""
def schedule(p, d):
    def write():
        with open({path!r}, "ab") as f:
            f.write(b"pwned")
    attempt(write)
    return edd(p, d)
""")


HOSTILE: list[Hostile] = [
    # --- time ---
    Hostile("infinite_loop", program("def schedule(p, d):\n    while True:\n        pass\n"), "timeout",
            ("Call 1 of 20 ran past its time limit of 2 s",)),  # smtt's per-call cap, before the wall
    Hostile("numpy_c_busy_loop", program(
        "def schedule(p, d):\n    a = np.ones(3000)\n    return np.einsum('i,j,k->', a, a, a)\n"),
        "timeout", ("Call 1 of 20 ran past its time limit of 2 s",)),
    Hostile("sleep_past_limit", program("def schedule(p, d):\n    time.sleep(60)\n    return edd(p, d)\n"),
            "timeout", ("during call 1 of 20",)),
    Hostile("ignore_sigterm_and_loop", program(
        "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "signal.signal(signal.SIGXCPU, signal.SIG_IGN)\n"
        "def schedule(p, d):\n    while True:\n        pass\n"), "timeout"),
    Hostile("slow_but_valid", program("def schedule(p, d):\n    time.sleep(0.03)\n    return edd(p, d)\n"),
            "ok", score_of="edd"),
    # --- processes ---
    Hostile("fork_bomb", program("""
def schedule(p, d):
    while True:
        os.fork()
"""), "error", ("BlockingIOError",), needs="process-cap"),
    Hostile("thread_bomb", program("""
import threading
def schedule(p, d):
    while True:
        threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
"""), "error", ("can't start new thread",), needs="process-cap"),
    Hostile("daemon_outlives_call", program("""
import subprocess
def schedule(p, d):
    if not os.path.exists("spawned"):
        open("spawned", "w").close()
        subprocess.Popen(["sleep", "{marker}"], start_new_session=True)
        if os.fork() == 0:  # a classic double-forked daemon as well
            os.setsid()
            if os.fork() == 0:
                os.execvp("sleep", ["sleep", "{marker}"])
            os._exit(0)
    return edd(p, d)
"""), "ok", score_of="edd"),
    Hostile("kill_parent", program("""
import signal
def schedule(p, d):
    os.kill(os.getppid(), signal.SIGKILL)
    time.sleep(5)
    return edd(p, d)
"""), "crash", ("SIGKILL",), needs="pidns"),
    Hostile("kill_everything", program("""
import signal
def schedule(p, d):
    os.kill(-1, signal.SIGKILL)  # every process it may signal: none but itself in its namespace
    return edd(p, d)
"""), "error", ("ProcessLookupError",), needs="pidns"),
    Hostile("os_exit", program("def schedule(p, d):\n    os._exit(0)\n"), "crash", ("exited with code 0",)),
    Hostile("sys_exit", program("def schedule(p, d):\n    sys.exit(3)\n"), "crash", ("exited with code 3",)),
    Hostile("segfault_ctypes", program("import ctypes\ndef schedule(p, d):\n    ctypes.string_at(0)\n"),
            "crash", ("SIGSEGV",)),
    Hostile("recursion", program("def schedule(p, d):\n    return schedule(p, d)\n"), "error",
            ("RecursionError",)),
    Hostile("c_stack_overflow", program(
        "sys.setrecursionlimit(10**8)\nclass Deep:\n    def __getattr__(self, name):\n"
        "        return getattr(self, name + 'x')  # recursion through C frames\n"
        "def schedule(p, d):\n    return Deep().y\n"), "crash", ("SIGSEGV",)),
    # --- memory, disk, output ---
    Hostile("memory_bomb", program("def schedule(p, d):\n    return np.ones(10**10)\n"), "memory",
            ("address-space limit",)),
    Hostile("memory_bomb_gradual", program(
        "def schedule(p, d):\n    hog = []\n    while True:\n        hog.append(bytearray(10**8))\n"),
        "memory", ("address-space limit",)),
    Hostile("disk_fill", program("""
def schedule(p, d):
    for i in range(10**6):
        with open(f"fill{i}", "wb") as f:
            f.write(b"0" * 1_000_000)
"""), "error", ("No space left on device",), needs="private-root"),
    Hostile("huge_file", program(
        "def schedule(p, d):\n    open('big', 'wb').write(b'0' * 50_000_000)\n"), "error",
        ("File too large",)),
    Hostile("huge_stdout", program(
        "def schedule(p, d):\n    while True:\n        print('x' * 100_000)\n"), "error",
        ("File too large",)),
    Hostile("huge_stderr", program(
        "def schedule(p, d):\n    while True:\n        sys.stderr.write('y' * 100_000)\n"), "error",
        ("File too large",)),
    # --- the file system ---
    Hostile("write_into_runs", _write("{repo}/runs/{token}"), "error", ("Blocked",), needs="private-root"),
    Hostile("write_into_project", _write("{repo}/{token}.py"), "error", ("Blocked",), needs="private-root"),
    Hostile("write_canary", _write("{canary}"), "error", ("Blocked",), needs="private-root"),
    Hostile("write_tmp", _write("/tmp/{token}"), "error", ("Blocked",), needs="private-root"),
    Hostile("append_to_database", _write("{database}"), "error", ("Blocked",), needs="private-root"),
    # --- declared packages (the suite declares scipy) and data folders, visible read-only ---
    Hostile("write_into_declared_package", _write("{scipy_dir}/{token}.py"), "error", ("Blocked",),
            needs="private-root"),
    Hostile("append_to_declared_package", _write("{scipy_dir}/__init__.py"), "error", ("Blocked",),
            needs="private-root"),
    Hostile("write_into_data_folder", _write("{data_dir}/{token}"), "error", ("Blocked",),
            needs="private-root"),
    Hostile("append_to_data_file", _write("{data_dir}/data.bin"), "error", ("Blocked",),
            needs="private-root"),
    Hostile("read_undeclared_package", _read("{undeclared}"), "error", ("Blocked",), needs="private-root"),
    Hostile("import_undeclared_package", program("""
def schedule(p, d):
    attempt(lambda: __import__("sqlalchemy"))
    return edd(p, d)
"""), "error", ("Blocked",), needs="private-root"),
    Hostile("read_declared_package_and_data", program("""
import scipy
def schedule(p, d):
    open(scipy.__file__).read(1)
    open("{data_dir}/data.bin", "rb").read(1)
    return edd(p, d)
"""), "ok", score_of="edd", needs="private-root"),
    Hostile("read_database", _read("{database}"), "error", ("Blocked",), needs="private-root"),
    Hostile("read_reference_cache", _read("{repo}/problems/smtt/data/train.json"), "error", ("Blocked",),
            needs="private-root"),
    Hostile("read_holdout_instances", _read("{repo}/problems/smtt/data/holdout.json"), "error",
            ("Blocked",), needs="private-root"),
    Hostile("read_evaluator_source", _read("{repo}/evaluators/smtt/reference.py"), "error", ("Blocked",),
            needs="private-root"),
    Hostile("read_canary", _read("{canary}"), "error", ("Blocked",), needs="private-root"),
    Hostile("list_host_paths", program("""
def schedule(p, d):
    def look():
        found = [x for x in {visible} if os.path.exists(x)]
        if not found:
            raise FileNotFoundError("none of the host paths exists")
    attempt(look)
    return edd(p, d)
"""), "error", ("Blocked",), needs="private-root"),
    Hostile("remount_and_escape", program("""
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
def schedule(p, d):
    def escape():
        ok = libc.mount(None, b"/", None, 32 | 4096, None) == 0  # remount the root read-write
        ok = ok or libc.umount2(b"/usr", 2) == 0
        ok = ok or libc.unshare(0x10000000 | 0x00020000) == 0 and libc.mount(None, b"/", None, 32, None) == 0
        if not ok:
            raise PermissionError(os.strerror(ctypes.get_errno()))
    attempt(escape)
    return edd(p, d)
"""), "error", ("Blocked",), needs="private-root"),
    Hostile("raise_own_limits", program("""
import resource
def schedule(p, d):
    attempt(lambda: resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY,) * 2))
    return edd(p, d)
"""), "error", ("Blocked",), needs="no-root-caps"),
    # --- secrets, network ---
    Hostile("read_env_secret", program("""
def schedule(p, d):
    def steal():
        if "{secret}" not in repr(dict(os.environ)):
            raise KeyError("OPENAI_API_KEY")
    attempt(steal)
    return edd(p, d)
"""), "error", ("Blocked",)),
    Hostile("network_external", program("""
import socket
def schedule(p, d):
    attempt(lambda: socket.create_connection(("1.1.1.1", 53), timeout=1).close())
    return edd(p, d)
"""), "error", ("Blocked",), needs="netns"),
    Hostile("network_loopback", program("""
import socket
def schedule(p, d):
    attempt(lambda: socket.create_connection(("127.0.0.1", {port}), timeout=1).close())
    return edd(p, d)
"""), "error", ("Blocked",), needs="netns"),
    # --- the answer ---
    Hostile("return_nan", program("def schedule(p, d):\n    return np.full(len(p), np.nan)\n"), "invalid",
            ("NaN",)),
    Hostile("return_inf_list", program("def schedule(p, d):\n    return [float('inf')] * len(p)\n"),
            "invalid", ("float",)),
    Hostile("return_none", program("def schedule(p, d):\n    return None\n"), "invalid", ("None",)),
    Hostile("return_string", program("def schedule(p, d):\n    return 'the optimum'\n"), "invalid",
            ("string",)),
    Hostile("return_2d", program("def schedule(p, d):\n    return edd(p, d).reshape(-1, 1)\n"), "invalid",
            ("2-D",)),
    Hostile("return_short", program("def schedule(p, d):\n    return edd(p, d)[:-1]\n"), "invalid",
            ("job indices for",)),
    Hostile("return_object_array", program(
        "def schedule(p, d):\n    return np.array(list(edd(p, d)), dtype=object)\n"), "bad_output",
        ("dtype object",)),
    Hostile("lying_list_subclass", program("""
class Liar(list):
    def __len__(self):
        return 100
    def __eq__(self, other):
        return True
def schedule(p, d):
    return Liar([0, 0, 0])
"""), "invalid", ("job indices for",)),
    Hostile("lying_int_subclass", program("""
class Zero(int):
    def __eq__(self, other):
        return True
    def __hash__(self):
        return 0
def schedule(p, d):
    return [Zero(0)] * len(p)
"""), "invalid", ("not a permutation",)),
    Hostile("pickle_bomb", program("""
import pickle
class Bomb:
    def __reduce__(self):
        return (os.system, ("touch /tmp/{token}",))
def schedule(p, d):
    return Bomb()
"""), "bad_output", ("Bomb",)),
    Hostile("mutate_inputs", program("""
def schedule(p, d):
    order = edd(p, d)
    p[:] = 0
    d[:] = 10**9
    return order
"""), "ok", score_of="edd"),
    Hostile("monkeypatch_numpy", program("""
np.bincount = lambda *a, **k: np.ones(100, dtype=np.int64)
np.unique = lambda a, *r, **k: np.arange(100)
np.argsort = lambda *a, **k: np.zeros(100, dtype=np.int64)
def schedule(p, d):
    return np.argsort(d)  # all zeros, "validated" by the patched functions in its own process
"""), "invalid", ("not a permutation",)),
    Hostile("monkeypatch_builtins", program("""
import builtins
builtins.len = lambda x: 100
builtins.isinstance = lambda *a: True
def schedule(p, d):
    return [0] * 100
"""), "crash", ("exited with code 1",)),  # it breaks only its own process
    Hostile("monkeypatch_harness_encoder", program("""
import __main__
real_encode = __main__.encode
def forged(value, depth=0):
    if depth == 0:
        return list(range(100))
    return real_encode(value, depth)
__main__.encode = forged
def schedule(p, d):
    return [0] * len(p)  # rewritten by the patched encoder
"""), "ok", score_of="identity"),
    Hostile("import_the_evaluator", program("""
def schedule(p, d):
    def call_it():
        sys.path[:0] = ["{repo}", "{repo}/evaluators"]
        import evaluators.smtt  # noqa: F401
    attempt(call_it)
    return edd(p, d)
"""), "error", ("Blocked",), needs="private-root"),
    Hostile("import_adrs", program("""
def schedule(p, d):
    def call_it():
        import adrs.evaluation  # noqa: F401
    attempt(call_it)
    return edd(p, d)
"""), "error", ("Blocked",)),
    Hostile("forge_call_times", program("""
import __main__
ticks = iter(range(10**9, 0, -1))
__main__.perf_counter = lambda: float(next(ticks))
def schedule(p, d):
    return edd(p, d)
"""), "bad_output", ("inconsistent with the wall clock",)),
    Hostile("clock_detects_evaluation", program("""
START = time.monotonic()
def schedule(p, d):
    if time.monotonic() - START < 60:  # "under evaluation": return something cheap
        return list(range(len(p)))
    return edd(p, d)
"""), "ok", score_of="identity"),
]
