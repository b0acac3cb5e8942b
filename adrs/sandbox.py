"""Run one untrusted candidate program in its own OS process.

What it does: writes the candidate (``candidate.py``) and its inputs (``inputs.npz``) to a fresh
temporary directory, starts ``python -P -S adrs/_harness.py`` there in a new session, inside new
user, mount, network and PID namespaces where the host allows it (via ``unshare``), in a fresh pids
cgroup where one can be created, with a minimal environment. With a mount namespace the harness
pivots into a private root that holds only the system libraries, the Python install and numpy
(read-only) and a size-capped writable ``/sandbox``: the project, the runs, the evaluator's data and
the user's home do not exist there. The harness sets rlimits (CPU seconds, address space, file size,
processes, no core dumps) before any candidate code runs, calls the entry function once per call and
writes the encoded return values as JSON. On the wall-clock limit the whole process group is
killed; with a PID namespace every process the candidate started dies with it, and if this process
dies the harness notices (a pipe closes) and takes the namespace down too. The parent decodes the
result with ``json`` only (never pickle), rebuilding numpy arrays from a dtype whitelist, and removes
the directory. ``isolation_level()`` names what this host allows (see docs/security.md).

What it does not do: judge the answers (that is the evaluator's job, ``adrs.evaluation``), or make
the reported call times unforgeable (they are measured inside the untrusted process; we only check
that they are consistent with the wall clock). Below the private-root level it does not confine
the file system: the candidate can then read and write what the user running adrs can.
"""

from __future__ import annotations

import fcntl
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
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from adrs.limits import Limits
from adrs.sandbox_packages import Runtime, confine_additions, sandbox_runtime


class SandboxError(RuntimeError):
    """The sandbox itself failed (e.g. the interpreter could not start): not the candidate's fault."""


RunStatus = Literal["ok", "syntax_error", "error", "timeout", "memory", "crash", "bad_output"]

HARNESS = Path(__file__).with_name("_harness.py")
TAIL_BYTES = 4096
STARTED_FD = 3  # the harness writes b"S" here once it runs, before loading the candidate
LIFELINE_FD = 4  # the harness exits when this pipe's write end (held by us) closes: we died
PASSED_FD = 5  # run_program(pass_fd=...) lands here (e.g. the candidate server's listening socket)
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
    "mnt": ("--mount",),
    "net": ("--net",),
    "pid": ("--pid", "--fork", "--kill-child"),
}


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
    namespaces: tuple[str, ...]  # subset of ("user", "mnt", "net", "pid") that works on this host
    reason: str  # why "net" is missing, if it is
    confine: dict[str, Any] | None = None  # private-root spec for the harness (mnt namespace only)
    confine_reason: str = ""  # why there is no private root, if there is none
    cgroup: Path | None = None  # pids cgroup parent where each run gets its own child

    def prefix(self, network: bool) -> list[str]:
        names = [n for n in self.namespaces if not (network and n == "net")]
        if not names or self.unshare is None:
            return []
        return [self.unshare, *(flag for n in names for flag in _NAMESPACE_FLAGS[n]), "--"]


@functools.cache
def _detect_isolation() -> _Isolation:
    """Try namespace combinations from strongest to weakest, then the private root, once."""
    _remove_stale_work_dirs()
    unshare = shutil.which("unshare")
    cgroup = _pids_cgroup_parent()
    if unshare is None:
        return _Isolation(None, (), "unshare not found", cgroup=cgroup)
    reason = ""
    for names in (("user", "mnt", "net", "pid"), ("user", "net", "pid"), ("net", "pid"), ("user", "net"),
                  ("net",)):
        flags = [flag for n in names for flag in _NAMESPACE_FLAGS[n]]
        cmd = [unshare, *flags, "--", sys.executable, "-S", "-c", ""]
        try:
            done = subprocess.run(cmd, capture_output=True, timeout=10, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as e:
            reason = str(e)
            continue
        if done.returncode == 0:
            iso = _Isolation(unshare, names, "", cgroup=cgroup)
            if "mnt" not in names:
                return replace(iso, confine_reason="no mount namespace")
            confine, why = _probe_private_root(iso)
            if confine is None:  # keep the namespaces, without the useless mount namespace
                names = tuple(n for n in names if n != "mnt")
            return replace(iso, namespaces=names, confine=confine, confine_reason=why)
        reason = (done.stderr.decode(errors="replace").strip() or "failed").splitlines()[-1]
    return _Isolation(unshare, (), reason, cgroup=cgroup)


def _private_root_spec() -> dict[str, Any]:
    """What the candidate's root holds: system libraries, the Python install and numpy, read-only.

    Site-packages directories are hidden (an installed adrs, its evaluators and their data live
    there) except numpy itself.
    """
    import site
    import sysconfig

    ro_binds, links = ["/usr"], {}
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            links[top] = os.readlink(top)
        elif os.path.isdir(top):
            ro_binds.append(top)
    prefixes = {sys.base_prefix, sys.prefix, str(Path(sys.executable).resolve().parent.parent)}
    for prefix in sorted(os.path.realpath(p) for p in prefixes):
        if prefix != "/" and not any(_is_within(prefix, b) for b in ro_binds):
            ro_binds.append(prefix)
    site_dir = str(Path(np.__file__).resolve().parent.parent)
    candidates = [site_dir, *site.getsitepackages(), site.getusersitepackages()]
    candidates += [sysconfig.get_paths()[k] for k in ("purelib", "platlib")]
    masks = sorted({os.path.realpath(p) for p in candidates if os.path.isdir(p)})
    unmask = sorted(str(Path(site_dir, name)) for name in os.listdir(site_dir)
                    if name == "numpy" or name.startswith(("numpy.", "numpy-")))
    devices = [d for d in ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")
               if os.path.exists(d)]
    return {"root": "", "ro_binds": ro_binds, "links": links, "masks": masks, "unmask": unmask,
            "devices": devices, "disk_mb": 1, "site_dir": site_dir, "cgroup_procs": ""}


def _is_within(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def _probe_private_root(iso: _Isolation) -> tuple[dict[str, Any] | None, str]:
    """Run the harness's confinement once; it must hide the adrs package and leave no way back."""
    try:
        spec = _private_root_spec()
    except OSError as e:
        return None, f"cannot describe a private root: {e}"
    with _work_dir() as work:
        probe = dict(spec, root=str(work))
        cmd = iso.prefix(network=False) + [sys.executable, "-P", "-S", str(HARNESS), "--probe",
                                           json.dumps(probe), str(HARNESS.parent)]
        try:
            done = subprocess.run(cmd, capture_output=True, timeout=20, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as e:
            return None, f"private root probe failed: {e}"
    if done.returncode == 0:
        return spec, ""
    problems = {2: "the project tree stayed visible", 3: "the root stayed writable",
                4: "capabilities could not be dropped"}
    detail = problems.get(done.returncode) or (done.stderr.decode(errors="replace").strip()
                                               or "failed").splitlines()[-1]
    return None, f"private root unavailable: {detail}"


def _pids_cgroup_parent() -> Path | None:
    """A pids-controller cgroup directory where we may create one child per run (usually root only)."""
    for base in (Path("/sys/fs/cgroup/pids"), _own_cgroup_v2()):
        if base is None or not base.is_dir():
            continue
        _remove_stale_cgroups(base)
        probe = base / f"adrs-probe-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            probe.mkdir()
        except OSError:
            continue
        try:
            if (probe / "pids.max").is_file() and (probe / "cgroup.procs").is_file():
                return base
        finally:
            _remove_cgroup(probe)
    return None


def _remove_stale_cgroups(base: Path) -> None:
    """Remove run cgroups left by processes that died mid-run (e.g. a killed Ray worker)."""
    try:
        stale = [p for p in base.glob("adrs-sandbox-*") if not _pid_alive(p.name.split("-")[2])]
    except (OSError, IndexError):
        return
    for path in stale:
        _remove_cgroup(path)  # fails harmlessly while a process is still inside


def _pid_alive(pid: str) -> bool:
    return pid.isdigit() and os.path.exists(f"/proc/{pid}")


def _own_cgroup_v2() -> Path | None:
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("0::"):
            return Path("/sys/fs/cgroup") / line[3:].lstrip("/")
    return None


def _remove_cgroup(path: Path) -> None:
    try:
        path.rmdir()
    except OSError:
        pass


@contextmanager
def _run_cgroup(iso: _Isolation, max_processes: int) -> Iterator[str]:
    """A fresh pids cgroup capped at ``max_processes`` for one run; yields its cgroup.procs path."""
    if iso.cgroup is None:
        yield ""
        return
    path = iso.cgroup / f"adrs-sandbox-{os.getpid()}-{uuid.uuid4().hex[:12]}"
    try:
        path.mkdir()
        (path / "pids.max").write_text(str(max_processes))
    except OSError as e:
        _remove_cgroup(path)
        raise SandboxError(f"cannot create the pids cgroup {path}: {e}") from e
    try:
        yield str(path / "cgroup.procs")
    finally:
        _remove_cgroup(path)


def _nproc_enforced() -> bool:
    """The kernel does not apply RLIMIT_NPROC to uid 0 (even inside a user namespace)."""
    return os.getuid() != 0


LEVEL_NAMES = {
    "private-root": "private root, no network, own PID namespace, process cap",
    "namespaces": "namespaces without file-system confinement",
    "rlimits-only": "resource limits only",
}


def isolation_level() -> str:
    """What isolation this host gives candidates (cached), e.g.
    "private-root: userns+mntns+netns+pidns+pids-cgroup+rlimits" plus notes on what is missing.
    The level is the first word: private-root, namespaces or rlimits-only (see docs/security.md)."""
    iso = _detect_isolation()
    parts = [f"{n}ns" for n in iso.namespaces]
    if iso.cgroup is not None:
        parts.append("pids-cgroup")
    parts.append("rlimits")
    notes = []
    if "net" not in iso.namespaces:
        notes.append(f"no network namespace: {iso.reason}")
    if "user" not in iso.namespaces:
        notes.append("no user namespace: /proc/<pid>/environ of the user's processes is readable")
    if "pid" not in iso.namespaces:
        notes.append("no PID namespace: processes that leave the group and the work dir survive")
    if iso.confine is None:
        notes.append(f"no private root ({iso.confine_reason}): the candidate can read and write what "
                     "the user running adrs can")
    if iso.cgroup is None and not _nproc_enforced():
        notes.append("no process cap: no pids cgroup and RLIMIT_NPROC is not enforced for root")
    if iso.confine is not None and {"net", "pid"} <= set(iso.namespaces):
        level = "private-root"
    elif iso.namespaces:
        level = "namespaces"
    else:
        level = "rlimits-only"
    return f"{level}: {'+'.join(parts)}" + (f" ({'; '.join(notes)})" if notes else "")


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
    binds: Sequence[str] = (),
    pass_fd: int | None = None,
) -> RunOutcome:
    """Import ``code`` as a module in a sandboxed process and call ``entry(**call)`` for each call.

    0-d arrays in a call arrive as Python scalars. ``support`` maps module file names (``x.py``) to
    source written next to the candidate (importable by it, e.g. a simulator it may call);
    ``adapter`` (``module:function`` of a support module) turns each call's arrays into the entry's
    keyword arguments. With ``repeats`` > 1 each call is warmed up and its time is the median of
    ``repeats`` runs. ``binds`` are host paths made visible read-only at the same path (e.g. a
    problem folder's data); ``limits.packages`` / ``limits.python`` choose what else it may import
    (``adrs.sandbox_packages``). ``pass_fd`` is handed to the child as fd 5 (e.g. a listening socket).
    Raises SandboxError only if the child died before any candidate code ran.
    """
    iso = _detect_isolation()
    runtime = sandbox_runtime(limits.packages, limits.python)  # ConfigError if a package is missing
    with _work_dir() as work, _run_cgroup(iso, limits.max_processes) as cgroup_procs:
        _write_inputs(work, code, calls)
        _write_support(work, support or {})
        argv = _child_argv(work, entry, len(calls), limits, iso, runtime)
        confine_arg = _confine_arg(iso, work, limits, cgroup_procs, confine_additions(runtime, tuple(binds)))
        argv += [adapter or "-", str(max(1, repeats)), confine_arg]
        started_r, started_w = _started_pipe()
        lifeline_r, lifeline_w = (_fd_above(fd) for fd in os.pipe())
        passed = _fd_above(os.dup(pass_fd)) if pass_fd is not None else None
        try:
            start = time.monotonic()
            try:
                pid = _spawn(work, argv, _child_env(work, runtime), started_w, lifeline_r, passed)
            finally:
                os.close(started_w)
                os.close(lifeline_r)
                if passed is not None:
                    os.close(passed)
            exit_ = _supervise(pid, start, limits.timeout_s, iso, work)
            started = os.read(started_r, 1) == b"S"
        finally:
            os.close(started_r)
            os.close(lifeline_w)
        return _outcome(work, len(calls), limits, exit_, started)


def _confine_arg(iso: _Isolation, work: Path, limits: Limits, cgroup_procs: str,
                 additions: Mapping[str, list[str]]) -> str:
    """The harness's CONFINE argument: "-" or JSON (private root and/or the run's cgroup)."""
    if iso.confine is None and not cgroup_procs:
        return "-"
    spec = dict(iso.confine or {}, cgroup_procs=cgroup_procs)
    if iso.confine is not None:
        spec.update(root=str(work), disk_mb=max(1, int(limits.disk_mb)))
        for key, paths in additions.items():  # packages, data, another interpreter (read-only)
            spec[key] = [*spec[key], *(p for p in paths if p not in spec[key])]
    else:
        spec["root"] = ""
    return json.dumps(spec)


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
    """A fresh directory named after this process, so one killed mid-run can be cleaned up later."""
    path = Path(tempfile.mkdtemp(prefix=f"adrs-sandbox-{os.getpid()}-"))
    try:
        yield path
    finally:
        _remove_tree(path)


def _remove_stale_work_dirs() -> None:
    """Remove work dirs left by processes that died mid-run (a Ray worker or driver killed)."""
    try:
        found = list(Path(tempfile.gettempdir()).glob("adrs-sandbox-*-*"))
    except OSError:
        return
    for path in found:
        pid = path.name.split("-")[2]
        if pid.isdigit() and not _pid_alive(pid):
            _remove_tree(path)


def _remove_tree(path: Path) -> None:
    """Remove ``path`` even if the candidate made parts of it unreadable."""

    root = os.path.abspath(path)

    def make_writable_and_retry(func, p, _exc):
        for q in (os.path.dirname(p), p):
            inside = os.path.abspath(q) == root or os.path.abspath(q).startswith(root + os.sep)
            if inside and not os.path.islink(q):  # never chmod the tree's parent (e.g. /tmp)
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


def _child_argv(work: Path, entry: str, n_calls: int, limits: Limits, iso: _Isolation,
                runtime: Runtime) -> list[str]:
    # -P -S instead of -I: the environment is ours (so PYTHONHASHSEED may count), and without site
    # the interpreter starts ~50 ms faster and the editable adrs install is not on sys.path.
    args = [
        work,
        runtime.site_dir,
        entry,
        n_calls,
        limits.cpu_s,
        limits.memory_mb,
        limits.file_size_mb,
        limits.max_processes,
    ]
    python = [runtime.python, "-P", "-S", str(HARNESS), *map(str, args)]
    return iso.prefix(limits.network) + python


def _child_env(work: Path, runtime: Runtime | None = None) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": str(work),
        "TMPDIR": str(work),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONHASHSEED": "0",
    }
    env.update(dict.fromkeys(["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"], "1"))
    if runtime is not None and runtime.path:  # declared packages outside numpy's site directory
        env["PYTHONPATH"] = os.pathsep.join(runtime.path)
    return env


def _started_pipe() -> tuple[int, int]:
    """A pipe on which the harness writes one byte before loading the candidate. Unlike a file in
    the work dir, the candidate cannot take that byte back, so it cannot fake a host failure."""
    read_fd, write_fd = os.pipe()
    os.set_blocking(read_fd, False)
    return read_fd, _fd_above(write_fd)


def _fd_above(fd: int, lowest: int = 10) -> int:
    """``fd`` moved to a number >= ``lowest`` (close-on-exec), so the child's dup2 onto 3 and 4
    cannot clobber a source descriptor or dup2 one onto itself (which keeps close-on-exec)."""
    if fd >= lowest:
        return fd
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, lowest)
    os.close(fd)
    return moved


def _spawn(work: Path, argv: list[str], env: dict[str, str], started_fd: int, lifeline_fd: int,
           pass_fd: int | None = None) -> int:
    """posix_spawn (vfork; safe in threaded parents such as Ray workers) in a new session."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    file_actions = [
        (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, str(work / "stdout"), flags, 0o600),
        (os.POSIX_SPAWN_OPEN, 2, str(work / "stderr"), flags, 0o600),
        (os.POSIX_SPAWN_DUP2, started_fd, STARTED_FD),
        (os.POSIX_SPAWN_DUP2, lifeline_fd, LIFELINE_FD),
    ]
    if pass_fd is not None:
        file_actions.append((os.POSIX_SPAWN_DUP2, pass_fd, PASSED_FD))
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
    if not data:  # created by the harness at start, written only at the end
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
