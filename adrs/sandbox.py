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

import collections
import contextlib
import fcntl
import functools
import hashlib
import io
import json
import math
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from adrs.fork_server import (
    ForkServer,
    ServerConfig,
    ServerGone,
    _kill_group,
    release,
    replace_server,
    server_for,
)
from adrs.limits import Limits
from adrs.sandbox_packages import confine_additions, sandbox_runtime


class SandboxError(RuntimeError):
    """The sandbox itself failed (e.g. the interpreter could not start): not the candidate's fault."""


RunStatus = Literal["ok", "syntax_error", "error", "timeout", "memory", "crash", "bad_output"]

HARNESS = Path(__file__).with_name("_harness.py")
TAIL_BYTES = 4096
PASSED_FD = 5  # run_program(pass_fd=...) lands here in the candidate (e.g. a listening socket)
STARTED_FD = 3  # the harness writes b"S" here once it runs, before loading the candidate
LIFELINE_FD = 4  # the harness exits when this pipe's write end (held by us) closes: we died
ARRAY_DTYPES = frozenset(
    ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]
    + ["float16", "float32", "float64"]
)
_NOT_STARTED = "while starting the Python interpreter"
_RESULT_STATUSES = frozenset(["ok", "syntax_error", "error", "timeout", "memory", "bad_output"])
_MEMORY_HINTS = ("MemoryError", "Cannot allocate memory", "bad_alloc", "out of memory")
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


_DETECT_LOCK = threading.Lock()


def _detect_isolation() -> _Isolation:
    """Try namespace combinations from strongest to weakest, then the private root, once per
    process (threads asking at the same time wait for one detection)."""
    with _DETECT_LOCK:
        return _detect_isolation_once()


@functools.cache
def _detect_isolation_once() -> _Isolation:
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
    if namespace_creation_refused():
        parts.append("nsdeny")
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
    if not namespace_creation_refused():
        notes.append("namespace creation not refused (no seccomp filter for this kernel or CPU)")
    if iso.cgroup is None and not _nproc_enforced():
        notes.append("no process cap: no pids cgroup and RLIMIT_NPROC is not enforced for root")
    if iso.confine is not None and {"net", "pid"} <= set(iso.namespaces):
        level = "private-root"
    elif iso.namespaces:
        level = "namespaces"
    else:
        level = "rlimits-only"
    return f"{level}: {'+'.join(parts)}" + (f" ({'; '.join(notes)})" if notes else "")


@functools.cache
def namespace_creation_refused() -> bool:
    """Whether the harness's seccomp filter works here: inside it, unshare/setns/clone(CLONE_NEW*)
    fail with EPERM (checked once per process by running the harness's probe)."""
    cmd = [sys.executable, "-P", "-S", str(HARNESS), "--nsdeny-probe"]
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=20, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


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
    call_limits_s: Sequence[float] | None = None,
    binds: Sequence[str] = (),
    pass_fd: int | None = None,
) -> RunOutcome:
    """Import ``code`` as a module in a sandboxed process and call ``entry(**call)`` for each call.

    0-d arrays in a call arrive as Python scalars. ``support`` maps module file names (``x.py``) to
    source written next to the candidate (importable by it, e.g. a simulator it may call);
    ``adapter`` (``module:function`` of a support module) turns each call's arrays into the entry's
    keyword arguments. Each call is timed here, outside the candidate's process: from sending its
    inputs to receiving its answer (see ``timed_call``). With ``repeats`` > 1 each call is warmed
    up and its time is the median of ``repeats`` runs. ``call_limits_s[i]``, if given, stops call
    ``i`` (status timeout) once it has run that long. ``binds`` are host paths made visible
    read-only at the same path (e.g. a problem folder's data); ``limits.packages`` /
    ``limits.python`` choose what else it may import (``adrs.sandbox_packages``). ``pass_fd`` is
    handed to the candidate as fd 5 (e.g. a listening socket). Raises SandboxError only if the
    child died before any candidate code ran.
    """
    iso = _detect_isolation()
    files = _program_files(code, support or {})
    frames = [_call_frame(i, call) for i, call in enumerate(calls)]
    config = _server_config(iso, limits, tuple(binds))
    with _work_dir() as work, _run_cgroup(iso, limits.max_processes) as cgroup_procs:
        job: dict[str, Any] = {"entry": entry, "adapter": adapter or "-", "files": files, "dir": str(work),
               "cpu_s": limits.cpu_s, "memory_mb": limits.memory_mb, "file_size_mb": limits.file_size_mb,
               "max_processes": limits.max_processes, "disk_mb": max(1, int(limits.disk_mb)),
               "timeout_s": limits.timeout_s, "network": limits.network, "pass_fd": pass_fd is not None}
        if config.nest:
            for attempt in (1, 2):
                with _Job(work, cgroup_procs, pass_fd) as io:
                    server = _submit(None, config, job, io)
                    try:
                        return _Driver(io, server, limits, len(frames), call_limits_s).run(frames, repeats)
                    except _ServerLost:  # it died before the candidate started: a fresh one, once
                        replace_server(server)
                        if attempt == 2:
                            raise SandboxError("the sandbox server died twice before a job started") from None
                    finally:
                        release(server)
        one_shot = ForkServer(replace(config, disk_mb=job["disk_mb"]))
        try:
            _start_one_shot(one_shot, work)
            with _Job(work, cgroup_procs, pass_fd) as io:
                _submit(one_shot, config, job, io)
                try:
                    return _Driver(io, one_shot, limits, len(frames), call_limits_s).run(frames, repeats)
                finally:
                    if "pid" not in iso.namespaces and io.job_pids:
                        _kill_group(io.job_pids[0])  # the job's group: what the candidate left running
        finally:
            one_shot.stop()
            if "pid" not in iso.namespaces:
                _kill_processes_in(work)
    raise AssertionError("unreachable")


class _ServerLost(Exception):
    """The warm server died before the job's candidate started (the job can be run again)."""


def _start_one_shot(server: ForkServer, work: Path) -> None:
    try:
        server.start(work)
    except RuntimeError as e:
        raise SandboxError(f"The sandboxed interpreter failed before loading the candidate: {e}") from e


def _submit(one_shot: ForkServer | None, config: ServerConfig, job: dict, io: _Job) -> ForkServer:
    """Hand the job to the warm server (replacing a dead one once) or to this run's own server."""
    if one_shot is not None:
        one_shot.submit(job, io.child_fds)
        return one_shot
    for attempt in (1, 2):
        try:
            server = server_for(config)
        except RuntimeError as e:
            raise SandboxError(f"The sandboxed interpreter failed before loading the candidate: {e}") from e
        try:
            server.submit(job, io.child_fds)
            return server
        except ServerGone:
            release(server)
            replace_server(server)
            if attempt == 2:
                raise SandboxError("the sandbox server died twice while taking a job") from None
    raise AssertionError("unreachable")


def prewarm(limits: Limits | None = None, binds: Sequence[str] = ()) -> None:
    """Start this process's warm server for ``limits`` in the background (no-op where runs are one-shot)."""
    config = _server_config(_detect_isolation(), limits or Limits(), tuple(binds))
    if config.nest:
        threading.Thread(target=_quietly_start, args=(config,), daemon=True).start()


def _quietly_start(config: ServerConfig) -> None:
    try:
        server_for(config, hold=False)
    except Exception:  # the first real run reports the failure
        pass


def _server_config(iso: _Isolation, limits: Limits, binds: tuple[str, ...] = ()) -> ServerConfig:
    """Warm servers need per-job user-owned mount and PID namespaces and the private root. The
    interpreter, its packages (``limits.packages``) and ``binds`` are fixed per server."""
    runtime = sandbox_runtime(limits.packages, limits.python)  # ConfigError if a package is missing
    nest = iso.confine is not None and {"user", "mnt", "pid"} <= set(iso.namespaces)
    confine = ""
    if iso.confine is not None:
        spec = dict(iso.confine)
        for key, paths in confine_additions(runtime, binds).items():  # all read-only
            spec[key] = [*spec[key], *(p for p in paths if p not in spec[key])]
        confine = json.dumps(spec)
    env = _child_env()
    if runtime.path:  # declared packages outside numpy's site directory
        env["PYTHONPATH"] = os.pathsep.join(runtime.path)
    preload = tuple(name.replace("-", "_") for name in runtime.packages)
    return ServerConfig(prefix=tuple(iso.prefix(limits.network)), python=runtime.python,
                        site_dir=runtime.site_dir, confine=confine, nest=nest,
                        env=tuple(sorted(env.items())), preload=preload)


def _program_files(code: str, support: Mapping[str, str]) -> dict[str, str]:
    for name in support:
        if not name.endswith(".py") or not name[:-3].isidentifier() or name == "candidate.py":
            raise ValueError(f"support module name {name!r}: expected an identifier plus .py")
    return {**support, "candidate.py": code}


def _call_frame(index: int, call: Mapping[str, np.ndarray]) -> bytes:
    """One call's arguments as raw array bytes (npz for other dtypes; never pickle), framed for the
    harness. Frames of the last calls are remembered by their arrays' names, dtypes, shapes and
    contents (a digest): an evaluator sends the same instances to every candidate."""
    arrays = {}
    for name, value in call.items():
        array = np.asarray(value)
        if array.dtype.hasobject:
            raise TypeError(f"call {index} argument {name!r}: object arrays cannot be sent")
        arrays[name] = array
    key = tuple((name, a.dtype.str, a.shape, _digest(a)) for name, a in arrays.items())
    with _FRAMES_LOCK:
        frame = _FRAMES.get(key)
        if frame is not None:
            _FRAMES.move_to_end(key)
            return frame
    if all(a.dtype.kind in _RAW_KINDS and a.dtype.names is None for a in arrays.values()):
        kind, payload = b"R", _raw_payload(arrays)
    else:  # e.g. structured or datetime arrays
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        kind, payload = b"C", buffer.getvalue()
    frame = kind + len(payload).to_bytes(4, "big") + payload
    if len(frame) <= _FRAMES_MAX_BYTES // 16:
        with _FRAMES_LOCK:
            if key not in _FRAMES:  # another thread may have added it meanwhile
                _FRAMES[key] = frame
                _FRAMES_SIZE[0] += len(frame)
            _FRAMES.move_to_end(key)
            while _FRAMES_SIZE[0] > _FRAMES_MAX_BYTES:
                _FRAMES_SIZE[0] -= len(_FRAMES.popitem(last=False)[1])
    return frame


def _digest(array: np.ndarray) -> bytes:
    """The array's bytes hashed (as unsigned bytes: a buffer of datetime64 or timedelta64 values
    cannot be taken directly)."""
    return hashlib.blake2b(np.ascontiguousarray(array).view(np.uint8)).digest()


_RAW_KINDS = frozenset("biufcUS")  # bool, integers, floats, complex, str, bytes


def _raw_payload(arrays: Mapping[str, np.ndarray]) -> bytes:
    """A JSON list of [name, dtype, shape] (4-byte length first), then each array's bytes in C order:
    decoded in the job with one ``frombuffer`` per array (npz: a zip and a parsed header each)."""
    head = json.dumps([[name, a.dtype.str, list(a.shape)] for name, a in arrays.items()]).encode()
    return b"".join([len(head).to_bytes(4, "big"), head, *(a.tobytes() for a in arrays.values())])


_FRAMES: collections.OrderedDict[tuple, bytes] = collections.OrderedDict()  # key -> frame, LRU
_FRAMES_LOCK = threading.Lock()
_FRAMES_SIZE = [0]  # bytes held in _FRAMES (summing them for every new frame cost 0.3 ms a run)
_FRAMES_MAX_BYTES = 64 << 20


END_FRAME = b"E" + bytes(4)


class _Job:
    """The pipes and files of one job: ``child_fds`` go to the server, the rest stay here."""

    def __init__(self, work: Path, cgroup_procs: str, pass_fd: int | None = None) -> None:
        self.work, self.cgroup_procs, self.pass_fd = work, cgroup_procs, pass_fd
        self.job_pids: list[int] = []  # the job's first process and the candidate's, as the server sees them

    def __enter__(self) -> _Job:
        cmd_r, self.cmd_w = os.pipe()
        self.reply_r, reply_w = os.pipe()
        self.exit_r, exit_w = os.pipe()
        lifeline_r, self.lifeline_w = os.pipe()
        for fd in (self.cmd_w, self.reply_r):
            os.set_blocking(fd, False)
            try:
                fcntl.fcntl(fd, F_SETPIPE_SZ, 1 << 20)  # fewer round trips for large inputs
            except OSError:
                pass
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        out = os.open(self.work / "stdout", flags, 0o600)
        err = os.open(self.work / "stderr", flags, 0o600)
        self.child_fds = [cmd_r, reply_w, exit_w, lifeline_r, out, err]
        if self.pass_fd is not None:  # a duplicate: closing ours never closes the caller's
            self.child_fds.append(os.dup(self.pass_fd))
        if self.cgroup_procs:
            self.child_fds.append(os.open(self.cgroup_procs, os.O_WRONLY))
        return self

    def close_child_fds(self) -> None:
        for fd in self.child_fds:
            os.close(fd)
        self.child_fds = []

    def __exit__(self, *exc: object) -> None:
        self.close_child_fds()
        for fd in (self.cmd_w, self.reply_r, self.exit_r, self.lifeline_w):
            try:
                os.close(fd)
            except OSError:
                pass


F_SETPIPE_SZ = 1031
_INCONSISTENT = "The reported call times are inconsistent with the wall clock."


class _Stop(Exception):
    """The run ends here with this outcome status and message (or the child just died: status "")."""

    def __init__(self, status: str = "", error: str = "", wall: bool = False) -> None:
        super().__init__(error)
        self.status, self.error, self.wall = status, error, wall  # wall: a wall-clock limit ran out


class _Driver:
    """The parent's side of one job: send each call's inputs, time the round trip, read the answer.

    The time of a call is measured here, from just before its inputs are written to the moment its
    whole answer has been read: the candidate gets the inputs only when that clock runs, and nothing
    in its process can change this one. It includes the pipe transfer, decoding the inputs (and the
    adapter) and encoding the answer: ``benchmarks/throughput.py`` prints that overhead (tens of
    microseconds for small calls), the same for every program on the same inputs.
    """

    def __init__(self, io: _Job, server: ForkServer, limits: Limits, n_calls: int,
                 call_limits_s: Sequence[float] | None) -> None:
        self.io, self.server, self.limits, self.n_calls = io, server, limits, n_calls
        self.call_limits_s = list(call_limits_s or [])
        self.buffer = bytearray()
        self.exit_data = b""  # read from the exit pipe, not yet used
        self.reply_open = True
        self.cap = limits.file_size_mb * 1024 * 1024 + 1024
        self.where = _NOT_STARTED
        self.times: list[float] = []

    def run(self, frames: Sequence[bytes], repeats: int) -> RunOutcome:
        repeats = max(1, repeats)
        self.start = time.monotonic()
        self.deadline = self.start + self.limits.timeout_s
        self.io.close_child_fds()
        status, error, outputs = "", "", []
        started = timed_out = False
        try:
            self.read_job_pids()
            if "started" not in self.message(self.deadline):
                raise _Stop()
            started, self.where = True, "while importing the program"
            self.expect(self.message(self.deadline), "ready")
            self.where = "before the first call"
            for index, frame in enumerate(frames):
                self.where = f"during call {index + 1} of {self.n_calls}"
                outputs.append(self.timed_call(index, frame, repeats))
                self.where = f"after call {index + 1} of {self.n_calls}"
            self.write(END_FRAME, self.deadline)
            status = self.expect(self.message(self.deadline), "status").get("status", "")
            if status != "ok":
                raise _Stop("bad_output", "The sandbox result was malformed.")
        except _Stop as stop:
            status, error, timed_out = stop.status, stop.error, stop.wall
        report = self.finish(kill=status != "ok", started=started)
        return self.outcome(status, error, outputs, report, started, timed_out)

    def timed_call(self, index: int, frame: bytes, repeats: int) -> Any:
        """The answer of one call; appends its time (median of ``repeats`` after a warm-up)."""
        limit = self.call_limits_s[index] if index < len(self.call_limits_s) else math.inf
        samples, answer = [], None
        for run in range(1 if repeats <= 1 else repeats + 1):
            t0 = time.perf_counter()
            deadline = min(self.deadline, time.monotonic() + limit)
            self.write(frame, deadline)
            message = self.message(deadline)
            took = time.perf_counter() - t0
            if "out" not in message:
                self.expect(message, "out")
            own = message.get("t")
            if type(own) is not float or not 0 <= own <= took + 1e-6:
                raise _Stop("bad_output", _INCONSISTENT)
            if run > 0 or repeats <= 1:
                samples.append(took)
            answer = message["out"]
        self.times.append(float(np.median(samples)))
        return answer

    def expect(self, message: dict, key: str) -> dict:
        """``message`` if it has ``key``; a status message from the harness ends the run."""
        if key in message:
            return message
        status = message.get("status")
        if status in _RESULT_STATUSES and status != "ok":
            raise _Stop(status, str(message.get("error", ""))[-8000:])
        raise _Stop("bad_output", "The sandbox result was malformed.")

    def write(self, data: bytes, deadline: float) -> None:
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(self.io.cmd_w, view):]
                continue
            except BlockingIOError:
                pass
            except BrokenPipeError:
                raise _Stop() from None
            self.wait(select.POLLOUT, self.io.cmd_w, deadline)

    def message(self, deadline: float) -> dict:
        """The next complete message from the harness (raises _Stop when it died or time ran out)."""
        while True:
            if len(self.buffer) >= 4:
                size = int.from_bytes(self.buffer[:4], "big")
                if size > self.cap:
                    raise _Stop("bad_output", "The result is larger than the limit.")
                if len(self.buffer) >= 4 + size:
                    data = bytes(self.buffer[4:4 + size])
                    del self.buffer[:4 + size]
                    return self.decode(data)
            if not self.read_available():
                self.wait(select.POLLIN, self.io.reply_r, deadline)

    def read_available(self) -> bool:
        """Append what the reply pipe holds; False if nothing came (EOF or nothing yet)."""
        if not self.reply_open:
            raise _Stop()  # nothing more will come: the child has died
        try:
            chunk = os.read(self.io.reply_r, 1 << 20)
        except BlockingIOError:
            return False
        if not chunk:
            self.reply_open = False
            raise _Stop()
        self.buffer += chunk
        return True

    def wait(self, event: int, fd: int, deadline: float) -> None:
        """Until ``fd`` is ready; _Stop if the child died (exit report) or the deadline passed."""
        poller = select.poll()
        poller.register(fd, event)
        poller.register(self.io.exit_r, select.POLLIN)
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not (events := poller.poll(math.ceil(remaining * 1000))):
            if time.monotonic() < deadline:
                return
            raise _Stop("timeout", self.timeout_message(deadline), wall=True)
        if all(ready_fd == self.io.exit_r for ready_fd, _ in events):
            if event == select.POLLIN:
                self.read_available()  # a last message may still be in the pipe
                if len(self.buffer) >= 4:
                    return
            raise _Stop()

    def timeout_message(self, deadline: float) -> str:
        if deadline < self.deadline:
            index = len(self.times)
            limit = self.call_limits_s[index]
            return f"Call {index + 1} of {self.n_calls} ran past its time limit of {limit:.3g} s (stopped)"
        return f"Timed out after {self.limits.timeout_s:g} s (wall-clock limit)"

    def decode(self, data: bytes) -> dict:
        try:
            message = json.loads(data, object_hook=_decode_object)
        except (ValueError, RecursionError) as e:
            raise _Stop("bad_output", f"The sandbox result could not be decoded: {e}") from None
        if not isinstance(message, dict):
            raise _Stop("bad_output", "The sandbox result was malformed.")
        return message

    def finish(self, kill: bool, started: bool) -> dict:
        """Stop the child if it still runs and read the exit report of the job's first process.

        If that process does not report (the candidate stopped or killed it through their shared
        process group), its processes are killed from here and the run counts as killed."""
        if kill:
            os.close(self.io.lifeline_w)
            self.io.lifeline_w = -1
        lines = self.read_exit_lines(2.0 if kill else self.limits.timeout_s + 2.0)
        reports = [line for line in lines if "wait_status" in line]
        if reports:
            return reports[0]
        if not self.server.alive(patience_s=1.0):
            if not started:
                raise _ServerLost()
            raise SandboxError("the sandbox server died during the run")
        self.server.kill_job(self.io.job_pids)
        return {"wait_status": signal.SIGKILL, "cpu_s": 0.0}  # as if killed by SIGKILL

    def read_job_pids(self) -> None:
        """The first line on the exit pipe: the PIDs of the job's first process and the candidate's
        (what follows it stays in ``exit_data`` for ``read_exit_lines``)."""
        while b"\n" not in self.exit_data:
            if not select.select([self.io.exit_r], [], [], max(0.0, self.deadline - time.monotonic()))[0]:
                raise _Stop("timeout", self.timeout_message(self.deadline), wall=True)
            chunk = os.read(self.io.exit_r, 4096)
            if not chunk:
                raise _Stop()
            self.exit_data += chunk
        line, _, self.exit_data = self.exit_data.partition(b"\n")
        with contextlib.suppress(ValueError, KeyError, TypeError):
            self.io.job_pids = [int(p) for p in json.loads(line)["pids"]]

    def read_exit_lines(self, patience_s: float) -> list[dict]:
        """The JSON lines on the exit pipe, up to the exit report (the job's first process writes
        it once the candidate's process and so its PID namespace are gone, then only exits), the
        end of the pipe or ``patience_s``."""
        deadline = time.monotonic() + patience_s
        data, self.exit_data = self.exit_data, b""
        while not (b'"wait_status"' in data and data.endswith(b"\n")) \
                and (remaining := deadline - time.monotonic()) > 0:
            if not select.select([self.io.exit_r], [], [], remaining)[0]:
                break
            chunk = os.read(self.io.exit_r, 4096)
            if not chunk:
                break
            data += chunk
        lines = []
        for line in data.splitlines():
            try:
                lines.append(json.loads(line))
            except ValueError:
                continue
        return [line for line in lines if isinstance(line, dict)]

    def outcome(self, status: str, error: str, outputs: list, report: dict, started: bool,
                timed_out: bool) -> RunOutcome:
        work, limits = self.io.work, self.limits
        stdout, stderr = _tail(work / "stdout"), _tail(work / "stderr")
        exit_code, stderr = _child_exit_code(os.waitstatus_to_exitcode(report["wait_status"]), stderr)
        cpu_s = float(report["cpu_s"])
        common = dict(stdout=stdout, stderr=stderr, wall_s=time.monotonic() - self.start, cpu_s=cpu_s,
                      exit_code=exit_code)
        times, where = list(self.times), self.where
        if status == "ok":
            return RunOutcome("ok", outputs, times, **common)
        if timed_out:
            return RunOutcome("timeout", None, times, error, where=where, **common)
        if not started:
            detail = "\n".join(stderr.strip().splitlines()[-15:])
            raise SandboxError(f"The sandboxed interpreter failed before loading the candidate (exit "
                               f"{exit_code}; memory_mb too low?):\n{detail}")
        if status == "":
            status, error = _classify_death(exit_code, cpu_s, stderr, limits)
        elif status == "timeout":
            error = f"Exceeded the CPU-time limit of {limits.cpu_s} s"
        elif status == "memory":
            error = _memory_message(limits) + ("\n" + error if error else "")
        if status in ("bad_output", "syntax_error"):
            where = ""
        return RunOutcome(status, None, times, error, where=where, **common)  # type: ignore[arg-type]


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


def _child_env() -> dict[str, str]:
    """The sandbox's whole environment (HOME and TMPDIR are set to the job's directory there)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": "/",
        "TMPDIR": "/",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONHASHSEED": "0",
    }
    env.update(dict.fromkeys(["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"], "1"))
    return env


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
