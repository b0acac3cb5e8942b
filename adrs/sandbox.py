"""Run one untrusted candidate program in its own OS process.

What it does: writes the candidate (``candidate.py``) and its inputs (``inputs.npz``) to a fresh
temporary directory, starts ``python -P -S adrs/_harness.py`` there in a new session, inside new
user, network and PID namespaces where the host allows it (via ``unshare``), with a minimal
environment. The harness sets rlimits (CPU seconds, address space, file size, processes, no core
dumps) before any candidate code runs, calls the entry function once per call and writes the
encoded return values as JSON. On the wall-clock limit the whole process group is killed; with a
PID namespace every process the candidate started dies with it. The parent decodes the result with
``json`` only (never pickle), rebuilding numpy arrays from a dtype whitelist, and removes the
directory.

What it does not do: judge the answers (that is the evaluator's job, ``adrs.evaluation``), confine
the file system (the candidate can read and write whatever the user running adrs can; run adrs as an
unprivileged user), or make the reported call times unforgeable (they are measured inside the
untrusted process; we only check that they are consistent with the wall clock).
"""

from __future__ import annotations

import functools
import json
import math
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np


class SandboxError(RuntimeError):
    """The sandbox itself failed (e.g. the interpreter could not start): not the candidate's fault."""


RunStatus = Literal["ok", "syntax_error", "error", "timeout", "memory", "crash", "bad_output"]

HARNESS = Path(__file__).with_name("_harness.py")
TAIL_BYTES = 4096
STARTED_FD = 3  # the harness writes b"S" here once it runs, before loading the candidate
ARRAY_DTYPES = frozenset(
    ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]
    + ["float16", "float32", "float64"]
)
_NOT_STARTED = "while starting the Python interpreter"
_RESULT_STATUSES = frozenset(["ok", "syntax_error", "error", "timeout", "memory", "bad_output"])
_MEMORY_HINTS = ("MemoryError", "Cannot allocate memory", "bad_alloc", "out of memory")
_RESET_SIGNALS = frozenset(
    [signal.SIGPIPE, signal.SIGXFSZ, signal.SIGXCPU, signal.SIGINT, signal.SIGTERM, signal.SIGHUP]
    + [signal.SIGQUIT, signal.SIGCHLD, signal.SIGUSR1, signal.SIGUSR2, signal.SIGALRM]
)
_NAMESPACE_FLAGS = {
    "user": ("--user", "--map-root-user"),
    "net": ("--net",),
    "pid": ("--pid", "--fork", "--kill-child"),
}


@dataclass(frozen=True)
class Limits:
    """Resource limits for one candidate run (all calls of one evaluation together)."""

    timeout_s: float = 60.0  # wall clock for the whole run, including interpreter start-up
    cpu_s: int = 120
    memory_mb: int = 2048  # address space
    file_size_mb: int = 16  # largest file the candidate may write; also caps the result JSON
    max_processes: int = 64  # RLIMIT_NPROC: per user, and not enforced for root (isolation_level)
    network: bool = False  # False: no network (namespace) where the host allows it; True: host's


@dataclass(frozen=True)
class RunOutcome:
    status: RunStatus
    outputs: list[Any] | None  # decoded return value of each call, in call order (status ok only)
    call_times_s: list[float] = field(default_factory=list)  # time inside each call of the entry
    error: str = ""  # traceback / message, truncated
    stdout: str = ""  # tail
    stderr: str = ""  # tail
    wall_s: float = 0.0
    where: str = ""  # e.g. "during call 3 of 20" (failures only)
    cpu_s: float = 0.0  # CPU time of the child processes
    exit_code: int | None = None  # of the child; negative: killed by that signal

    def feedback(self) -> str:
        """LLM-readable description of what went wrong (empty for ok)."""
        if self.status == "ok":
            return ""
        if self.status == "syntax_error":
            return f"The program does not compile: {self.error}"
        if self.status == "error":
            head = "The program failed" + (f" {self.where}" if self.where else "") + ":"
            return _join(head, self.error, self._output_tails())
        if self.status == "bad_output":
            return _join(self.error, _TRANSPORTABLE, self._output_tails())
        first, _, rest = self.error.partition("\n")  # the message, then details (a traceback)
        head = " ".join(p for p in (first, self.where) if p) + "."
        return _join(head, self._finished_calls(), rest, self._output_tails())

    def _finished_calls(self) -> str:
        n = len(self.call_times_s)
        if n == 0:
            return ""
        return f"{n} call(s) had finished, taking {sum(self.call_times_s):.3g} s in total."

    def _output_tails(self) -> str:
        parts = [
            _labelled(f"{name} (last lines)", text)
            for name, text in (("stdout", self.stdout), ("stderr", self.stderr))
            if text.strip()
        ]
        return "\n".join(parts)


_TRANSPORTABLE = (
    "Return only None, bool, int, float, str, lists/tuples, dicts with str keys, "
    "and numpy arrays or scalars of bool/int/uint/float dtype."
)


def _join(*parts: str) -> str:
    return "\n".join(p for p in parts if p)


def _labelled(label: str, text: str, max_lines: int = 15) -> str:
    lines = text.rstrip().splitlines()[-max_lines:]
    return f"{label}:\n" + "\n".join(lines)


# --- isolation ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Isolation:
    unshare: str | None
    namespaces: tuple[str, ...]  # subset of ("user", "net", "pid") that works on this host
    reason: str  # why "net" is missing, if it is

    def prefix(self, network: bool) -> list[str]:
        names = [n for n in self.namespaces if not (network and n == "net")]
        if not names or self.unshare is None:
            return []
        return [self.unshare, *(flag for n in names for flag in _NAMESPACE_FLAGS[n]), "--"]


@functools.cache
def _detect_isolation() -> _Isolation:
    """Try namespace combinations from strongest to weakest, once per process."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return _Isolation(None, (), "unshare not found")
    reason = ""
    for names in (("user", "net", "pid"), ("net", "pid"), ("user", "net"), ("net",)):
        flags = [flag for n in names for flag in _NAMESPACE_FLAGS[n]]
        cmd = [unshare, *flags, "--", sys.executable, "-S", "-c", ""]
        try:
            done = subprocess.run(cmd, capture_output=True, timeout=10, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as e:
            reason = str(e)
            continue
        if done.returncode == 0:
            return _Isolation(unshare, names, "")
        reason = (done.stderr.decode(errors="replace").strip() or "failed").splitlines()[-1]
    return _Isolation(unshare, (), reason)


def _nproc_enforced() -> bool:
    """The kernel does not apply RLIMIT_NPROC to uid 0 (even inside a user namespace)."""
    return os.getuid() != 0


def isolation_level() -> str:
    """What isolation this host gives candidates, e.g. "userns+netns+pidns+rlimits" (cached)."""
    iso = _detect_isolation()
    level = "+".join(f"{n}ns" for n in iso.namespaces) + ("+" if iso.namespaces else "") + "rlimits"
    notes = [] if "net" in iso.namespaces else [f"no network namespace: {iso.reason}"]
    if "user" not in iso.namespaces:
        notes.append("no user namespace: /proc/<pid>/environ of the user's processes is readable")
    if "pid" not in iso.namespaces:
        notes.append("no PID namespace: processes that leave the group and the work dir survive")
    if not _nproc_enforced():
        notes.append("RLIMIT_NPROC not enforced: running as root")
    return level + (f" ({'; '.join(notes)})" if notes else "")


# --- running --------------------------------------------------------------------------------------


def run_program(
    code: str,
    entry: str,
    calls: Sequence[Mapping[str, np.ndarray]],
    limits: Limits,
    *,
    support: Mapping[str, str] | None = None,
    adapter: str | None = None,
    repeats: int = 1,
) -> RunOutcome:
    """Import ``code`` as a module in a sandboxed process and call ``entry(**call)`` for each call.

    0-d arrays in a call arrive as Python scalars. ``support`` maps module file names (``x.py``) to
    source written next to the candidate (importable by it, e.g. a simulator it may call);
    ``adapter`` (``module:function`` of a support module) turns each call's arrays into the entry's
    keyword arguments. With ``repeats`` > 1 each call is warmed up and its time is the median of
    ``repeats`` runs. Raises SandboxError only if the child died before any candidate code ran.
    """
    iso = _detect_isolation()
    with _work_dir() as work:
        _write_inputs(work, code, calls)
        _write_support(work, support or {})
        argv = _child_argv(work, entry, len(calls), limits, iso) + [adapter or "-", str(max(1, repeats))]
        started_r, started_w = _started_pipe()
        try:
            start = time.monotonic()
            try:
                pid = _spawn(work, argv, _child_env(work), started_w)
            finally:
                os.close(started_w)
            exit_ = _supervise(pid, start, limits.timeout_s, iso, work)
            started = os.read(started_r, 1) == b"S"
        finally:
            os.close(started_r)
        return _outcome(work, len(calls), limits, exit_, started)


@dataclass(frozen=True)
class _Exit:
    timed_out: bool
    wait_status: int
    cpu_s: float
    wall_s: float


def _supervise(pid: int, start: float, timeout_s: float, iso: _Isolation, work: Path) -> _Exit:
    """Wait for the child until the deadline, then make sure nothing it started is left running."""
    try:
        timed_out = not _wait_for_exit(pid, start + timeout_s)
        if timed_out and "pid" in iso.namespaces:  # unshare must reap it: see _kill_children
            _kill_children(pid)
            _wait_for_exit(pid, time.monotonic() + 2.0)
    finally:
        _kill_group(pid)
        _, wait_status, rusage = os.wait4(pid, 0)
        _wait_until_group_gone(pid)
        if "pid" not in iso.namespaces:
            _kill_processes_in(work)
    cpu_s = rusage.ru_utime + rusage.ru_stime
    return _Exit(timed_out, wait_status, cpu_s, time.monotonic() - start)


@contextmanager
def _work_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="adrs-sandbox-"))
    try:
        yield path
    finally:
        _remove_tree(path)


def _remove_tree(path: Path) -> None:
    """Remove ``path`` even if the candidate made parts of it unreadable."""

    def make_writable_and_retry(func, p, _exc):
        for q in (os.path.dirname(p), p):
            if not os.path.islink(q):
                try:
                    os.chmod(q, 0o700)
                except OSError:
                    pass
        try:
            func(p)
        except OSError:
            pass

    shutil.rmtree(path, onerror=make_writable_and_retry)


def _write_inputs(work: Path, code: str, calls: Sequence[Mapping[str, np.ndarray]]) -> None:
    (work / "candidate.py").write_text(code, encoding="utf-8")
    arrays = {}
    for i, call in enumerate(calls):
        for name, value in call.items():
            array = np.asarray(value)
            if array.dtype.hasobject:
                raise TypeError(f"call {i} argument {name!r}: object arrays cannot be sent")
            arrays[f"{i}/{name}"] = array
    np.savez(work / "inputs.npz", **arrays)


def _write_support(work: Path, support: Mapping[str, str]) -> None:
    for name, source in support.items():
        if not name.endswith(".py") or not name[:-3].isidentifier() or name == "candidate.py":
            raise ValueError(f"support module name {name!r}: expected an identifier plus .py")
        (work / name).write_text(source, encoding="utf-8")


def _child_argv(work: Path, entry: str, n_calls: int, limits: Limits, iso: _Isolation) -> list[str]:
    # -P -S instead of -I: the environment is ours (so PYTHONHASHSEED may count), and without site
    # the interpreter starts ~50 ms faster and the editable adrs install is not on sys.path.
    site_dir = str(Path(np.__file__).resolve().parent.parent)
    args = [
        work,
        site_dir,
        entry,
        n_calls,
        limits.cpu_s,
        limits.memory_mb,
        limits.file_size_mb,
        limits.max_processes,
    ]
    python = [sys.executable, "-P", "-S", str(HARNESS), *map(str, args)]
    return iso.prefix(limits.network) + python


def _child_env(work: Path) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": str(work),
        "TMPDIR": str(work),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONHASHSEED": "0",
    }
    env.update(dict.fromkeys(["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"], "1"))
    return env


def _started_pipe() -> tuple[int, int]:
    """A pipe on which the harness writes one byte before loading the candidate. Unlike a file in
    the work dir, the candidate cannot take that byte back, so it cannot fake a host failure."""
    read_fd, write_fd = os.pipe()
    if write_fd == STARTED_FD:  # dup2 onto itself would keep close-on-exec set
        write_fd, old = os.dup(write_fd), write_fd
        os.close(old)
    os.set_blocking(read_fd, False)
    return read_fd, write_fd


def _spawn(work: Path, argv: list[str], env: dict[str, str], started_fd: int) -> int:
    """posix_spawn (vfork; safe in threaded parents such as Ray workers) in a new session."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    file_actions = [
        (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, str(work / "stdout"), flags, 0o600),
        (os.POSIX_SPAWN_OPEN, 2, str(work / "stderr"), flags, 0o600),
        (os.POSIX_SPAWN_DUP2, started_fd, STARTED_FD),
    ]
    # No cwd argument in 3.11 (and os.chdir here would race other threads): the harness chdirs.
    return os.posix_spawn(
        argv[0], argv, env, file_actions=file_actions, setsid=True, setsigmask=(), setsigdef=_RESET_SIGNALS
    )


def _wait_for_exit(pid: int, deadline: float) -> bool:
    """Wait until ``pid`` has exited (without reaping it) or the deadline passes."""
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        return _poll_for_exit(pid, deadline)
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if poller.poll(math.ceil(remaining * 1000)):
                return True
    finally:
        os.close(fd)


def _poll_for_exit(pid: int, deadline: float) -> bool:
    while time.monotonic() < deadline:
        if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
            return True
        time.sleep(0.005)
    return False


def _kill_children(pid: int) -> None:
    """SIGKILL the direct children of ``pid``.

    With a PID namespace ``pid`` is ``unshare`` and its child is the namespace's init (the harness):
    killing it takes every process in the namespace along, and ``unshare`` reaps it. Killing
    ``unshare`` first would orphan the harness to the host's init, which may reap it only seconds
    later.
    """
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return
    for child in children:
        try:
            os.kill(int(child), signal.SIGKILL)
        except OSError:
            pass


def _kill_group(pid: int) -> None:
    """SIGKILL the child's process group; called before reaping so the group id cannot be reused."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _wait_until_group_gone(pgid: int, patience_s: float = 2.0) -> None:
    """Keep killing until no member is left (with a PID namespace: until its init is reaped, which
    happens only after every process in the namespace has exited)."""
    deadline = time.monotonic() + patience_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            return
        time.sleep(0.001)


def _kill_processes_in(work: Path) -> None:
    """Without a PID namespace: kill processes that left the group (setsid) but still run in work."""
    prefix = str(work)
    killed = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(f"/proc/{entry.name}/cwd")
        except OSError:
            continue
        if cwd == prefix or cwd.startswith(prefix + "/"):
            try:
                os.kill(int(entry.name), signal.SIGKILL)
                killed.append(entry.name)
            except OSError:
                pass
    deadline = time.monotonic() + 1.0
    while killed and time.monotonic() < deadline:  # until dead (a zombie at most)
        killed = [pid for pid in killed if _is_running(pid)]
        time.sleep(0.001)


def _is_running(pid: str) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


# --- reading the result ---------------------------------------------------------------------------


def _outcome(work: Path, n_calls: int, limits: Limits, exit_: _Exit, started: bool) -> RunOutcome:
    stdout, stderr = _tail(work / "stdout"), _tail(work / "stderr")
    exit_code, stderr = _child_exit_code(os.waitstatus_to_exitcode(exit_.wait_status), stderr)
    where, times = _progress(work / "progress", n_calls)
    common = dict(stdout=stdout, stderr=stderr, wall_s=exit_.wall_s, cpu_s=exit_.cpu_s, exit_code=exit_code)
    if exit_.timed_out:
        msg = f"Timed out after {limits.timeout_s:g} s (wall-clock limit)"
        return RunOutcome("timeout", None, times, msg, where=where, **common)
    if not started:  # no candidate code has run
        detail = "\n".join(stderr.strip().splitlines()[-15:])
        raise SandboxError(
            f"The sandboxed interpreter failed before loading the candidate (exit {exit_code}; "
            f"memory_mb too low?):\n{detail}"
        )
    result = _read_result(work / "result.json", limits.file_size_mb * 1024 * 1024 + 1024)
    if result is None:
        status, msg = _classify_death(exit_code, exit_.cpu_s, stderr, limits)
        return RunOutcome(status, None, times, msg, where=where, **common)
    if isinstance(result, str):
        return RunOutcome("bad_output", None, times, result, where=where, **common)
    return _outcome_from_result(result, n_calls, limits, where, times, common)


def _outcome_from_result(
    result: dict, n_calls: int, limits: Limits, where: str, times: list[float], common: dict
) -> RunOutcome:
    status = result["status"]
    if status == "ok":
        problem = _check_ok_result(result, n_calls, common["wall_s"])
        if problem:
            return RunOutcome("bad_output", None, times, problem, where=where, **common)
        return RunOutcome("ok", result["outputs"], result["call_times"], **common)
    error = str(result.get("error", ""))[-8000:]
    if status == "timeout":
        error = f"Exceeded the CPU-time limit of {limits.cpu_s} s"
    elif status == "memory":
        error = _memory_message(limits) + ("\n" + error if error else "")
    elif status == "bad_output":
        where = ""
    return RunOutcome(status, None, times, error, where=where, **common)


def _check_ok_result(result: dict, n_calls: int, wall_s: float) -> str:
    outputs, times = result.get("outputs"), result.get("call_times")
    if not isinstance(outputs, list) or len(outputs) != n_calls:
        return "The sandbox result was malformed (wrong number of outputs)."
    if not isinstance(times, list) or len(times) != n_calls:
        return "The sandbox result was malformed (wrong number of call times)."
    if not all(type(t) is float and 0 <= t < math.inf for t in times) or sum(times) > wall_s:
        return "The reported call times are inconsistent with the wall clock."
    return ""


def _classify_death(exit_code: int, cpu_s: float, stderr: str, limits: Limits) -> tuple[RunStatus, str]:
    """The child left no result: it was killed, or it exited on its own (sys.exit, os._exit)."""
    if exit_code == -signal.SIGXCPU or cpu_s >= limits.cpu_s - 0.05:
        return "timeout", f"Exceeded the CPU-time limit of {limits.cpu_s} s"
    if any(hint in stderr for hint in _MEMORY_HINTS):
        return "memory", _memory_message(limits)
    if exit_code == -signal.SIGKILL:
        return "crash", "The process was killed by SIGKILL (perhaps the host's out-of-memory killer)"
    if exit_code < 0:
        return "crash", f"The process was killed by signal {_signal_name(-exit_code)}"
    return "crash", (
        f"The process exited with code {exit_code}\n"
        "It returned no result: sys.exit(), os._exit() or a fatal error ended it."
    )


def _child_exit_code(exit_code: int, stderr: str) -> tuple[int, str]:
    """unshare (util-linux 2.38) cannot re-raise SIGKILL: it exits 1 with this message instead."""
    quirk = "unshare: sigprocmask unblock failed"
    if exit_code == 1 and quirk in stderr:
        lines = [line for line in stderr.splitlines() if quirk not in line]
        return -signal.SIGKILL, "\n".join(lines)
    return exit_code, stderr


def _memory_message(limits: Limits) -> str:
    return f"Ran out of memory (address-space limit {limits.memory_mb} MB)"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def _tail(path: Path, limit: int = TAIL_BYTES) -> str:
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - limit))
            data = f.read(limit)
    except OSError:
        return ""
    text = data.decode("utf-8", errors="replace")
    return ("...\n" + text) if size > limit else text


def _progress(path: Path, n_calls: int) -> tuple[str, list[float]]:
    """Where the child was (from its progress log), and the times of the calls that finished."""
    try:
        lines = path.read_text(errors="replace")[-100_000:].splitlines()
    except OSError:
        lines = []
    times: list[float] = []
    where = _NOT_STARTED
    for line in lines:  # written by the harness, but the candidate could have scribbled on it
        words = line.split()
        try:
            if words == ["started"]:
                where = "while importing the program"
            elif words == ["imported"]:
                where = "before the first call"
            elif len(words) == 2 and words[0] == "start":
                where = f"during call {int(words[1]) + 1} of {n_calls}"
            elif len(words) == 3 and words[0] == "done" and 0 <= float(words[2]) < math.inf:
                times.append(float(words[2]))
                where = f"after call {int(words[1]) + 1} of {n_calls}"
        except ValueError:
            continue
    return where, times


def _read_result(path: Path, cap_bytes: int) -> dict | str | None:
    """The harness's result; None if there is none, a message if it cannot be used."""
    try:
        with open(path, "rb") as f:
            data = f.read(cap_bytes + 1)
    except OSError:
        return None
    if len(data) > cap_bytes:
        return "The result file is larger than the limit."
    try:
        result = json.loads(data, object_hook=_decode_object)
    except (ValueError, RecursionError) as e:
        return f"The sandbox result could not be decoded: {e}"
    if not isinstance(result, dict) or result.get("status") not in _RESULT_STATUSES:
        return "The sandbox result was malformed."
    return result


def _decode_object(obj: dict) -> Any:
    if "__ndarray__" not in obj:
        return obj
    if set(obj) != {"__ndarray__", "dtype", "shape"} or obj["dtype"] not in ARRAY_DTYPES:
        raise ValueError("malformed array")
    shape = obj["shape"]
    if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
        raise ValueError("malformed array shape")
    array = np.array(obj["__ndarray__"], dtype=obj["dtype"])
    if array.shape != tuple(shape):
        if array.size != 0 or math.prod(shape) != 0:
            raise ValueError("array data does not match its shape")
        array = array.reshape(shape)
    return array
