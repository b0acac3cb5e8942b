"""Warm, confined fork servers: one long-lived harness process per sandbox configuration.

What it does: starts ``python -P -S adrs/_harness.py --serve CONFIG`` once, inside the same
namespaces and private root a one-off run would get, with numpy (and the problem's declared
packages) imported, and hands it jobs over a Unix socket: a JSON request plus the job's own pipes
and files (``submit``). The server forks one trusted process per job that enters fresh mount, PID,
IPC and network namespaces, mounts a fresh size-capped ``/sandbox`` and forks the candidate's
process (see ``adrs/_harness.py``). Nothing a candidate does reaches the server or the next job.
A server that died (killed, crashed) is replaced on the next ``submit``; ``server_for`` keeps one
per configuration and process, and ``prewarm`` starts one in the background.

What it does not do: drive the calls or judge anything (``adrs.sandbox`` does), or run jobs where
the host lacks the namespaces for per-job isolation (there ``one_shot`` servers serve one job each).
"""

from __future__ import annotations

import atexit
import fcntl
import json
import os
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HARNESS = Path(__file__).with_name("_harness.py")
START_TIMEOUT_S = 30.0


class ServerGone(RuntimeError):
    """The server is not running (any more): start a new one."""


@dataclass(frozen=True)
class ServerConfig:
    """Everything fixed for a server's lifetime (jobs bring their own limits and files)."""

    prefix: tuple[str, ...]  # unshare ... --, or empty
    python: str
    site_dir: str
    confine: str  # JSON of the private-root spec without "root", or ""
    nest: bool  # per-job namespaces (needs user + mount + PID namespaces and the private root)
    env: tuple[tuple[str, str], ...]
    preload: tuple[str, ...] = ()
    disk_mb: int = 1  # the server's own /sandbox (one-shot servers: the job's)


class ForkServer:
    """One running server process; ``submit`` hands it a job. Thread-safe."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.lock = threading.Lock()
        self.pid = 0
        self.sock: socket.socket | None = None
        self.lifeline_w = -1
        self.work = Path()

    def start(self, work: Path | None = None) -> None:
        """Start the process and wait until it is ready (raises RuntimeError with its stderr)."""
        self.work = work or Path(tempfile.mkdtemp(prefix=f"adrs-sandbox-{os.getpid()}-"))
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        started_r, started_w = os.pipe()
        lifeline_r, lifeline_w = (_fd_above(fd) for fd in os.pipe())
        started_w, child_sock = _fd_above(started_w), _fd_above(os.dup(theirs.fileno()))
        theirs.close()
        err = tempfile.TemporaryFile(prefix="adrs-server-")
        argv = [*self.config.prefix, self.config.python, "-P", "-S", str(HARNESS), "--serve",
                json.dumps(self._serve_config())]
        actions = [(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
                   (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
                   (os.POSIX_SPAWN_DUP2, _fd_above(os.dup(err.fileno())), 2),
                   (os.POSIX_SPAWN_DUP2, started_w, 3), (os.POSIX_SPAWN_DUP2, lifeline_r, 4),
                   (os.POSIX_SPAWN_DUP2, child_sock, 5)]
        try:
            self.pid = os.posix_spawn(argv[0], argv, dict(self.config.env), file_actions=actions,
                                      setsid=True, setsigmask=(), setsigdef=_RESET_SIGNALS)
        finally:
            for fd in (started_w, lifeline_r, child_sock, actions[2][1]):
                os.close(fd)
        self.sock, self.lifeline_w = ours, lifeline_w
        try:
            ready = _wait_readable(started_r, START_TIMEOUT_S) and os.read(started_r, 1) == b"S"
        finally:
            os.close(started_r)
        if not ready:
            err.seek(0)
            detail = err.read()[-4000:].decode(errors="replace").strip()
            self.stop()
            raise RuntimeError(f"the sandbox server did not start: {detail or 'no message'}")
        err.close()
        if self.config.nest:  # the server pivoted away from it: nothing of it is needed any more
            _remove_dir(self.work)

    def _serve_config(self) -> dict[str, Any]:
        confine = json.loads(self.config.confine) if self.config.confine else None
        if confine is not None:
            confine = dict(confine, root=str(self.work), disk_mb=self.config.disk_mb)
        return {"work": str(self.work), "site_dir": self.config.site_dir, "confine": confine,
                "nest": self.config.nest, "preload": list(self.config.preload)}

    def submit(self, job: dict[str, Any], fds: Sequence[int]) -> None:
        """Hand the server one job; raises ServerGone if it is not running."""
        data = json.dumps(job).encode()
        with self.lock:
            if self.sock is None:
                raise ServerGone("not started")
            try:
                socket.send_fds(self.sock, [data], list(fds))
            except OSError as e:
                raise ServerGone(str(e)) from e

    def alive(self, patience_s: float = 0.0) -> bool:
        """Whether the server runs; with ``patience_s``: still runs after that long (or exited)."""
        deadline = time.monotonic() + patience_s
        while self.pid:
            try:
                if os.waitpid(self.pid, os.WNOHANG) != (0, 0):
                    return False
            except ChildProcessError:
                return False
            if time.monotonic() >= deadline:
                return True
            time.sleep(0.01)
        return False

    def stop(self) -> None:
        """End the server and everything it started (its PID namespace, or its process group)."""
        with self.lock:
            if self.sock is not None:
                self.sock.close()
                self.sock = None
            if self.lifeline_w >= 0:
                os.close(self.lifeline_w)  # the server exits when its lifeline closes
                self.lifeline_w = -1
        if self.pid:
            _kill_children(self.pid)
            _kill_group(self.pid)
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass
            self.pid = 0
        _remove_dir(self.work)


    def kill_job(self, pids: Sequence[int]) -> None:
        """SIGKILL a job's processes, given by their PIDs as the server sees them (when the job's
        first process cannot do it: stopped or killed by the candidate). Killing the candidate's
        process, the first of its own PID namespace, ends everything in that namespace."""
        killed = []
        for pid in _descendants(self.pid, depth=3):
            if _pid_in_server(pid) in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                except OSError:
                    pass
        deadline = time.monotonic() + 2.0  # the candidate's process exits once its namespace is empty
        while time.monotonic() < deadline and any(_is_running(pid) for pid in killed):
            time.sleep(0.005)


def _is_running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def _descendants(pid: int, depth: int) -> list[int]:
    found, level = [], [pid]
    for _ in range(depth):
        level = [child for p in level for child in _children(p)]
        found += level
    return found


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _pid_in_server(pid: int) -> int:
    """The PID of host process ``pid`` in the server's namespace (the second NSpid entry)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("NSpid:"):
                ids = line.split()[1:]
                return int(ids[1]) if len(ids) > 1 else int(ids[0])
    except (OSError, ValueError):
        pass
    return -1


MAX_IDLE_SERVERS = 4  # per process; beyond that the least recently used idle ones are stopped
_servers: dict[ServerConfig, ForkServer] = {}  # in order of last use
_busy: dict[int, int] = {}  # id(server) -> jobs it is running
_servers_lock = threading.Lock()


def server_for(config: ServerConfig, hold: bool = True) -> ForkServer:
    """The running server for ``config`` in this process, started (or replaced) if need be. With
    ``hold`` it counts as busy (never stopped to make room) until ``release``."""
    with _servers_lock:
        server = _servers.pop(config, None)
        if server is not None and not server.alive():
            server.stop()
            server = None
        if server is None:
            server = ForkServer(config)
            server.start()
        _servers[config] = server  # the most recently used goes last
        if hold:
            _busy[id(server)] = _busy.get(id(server), 0) + 1
        surplus = _surplus_idle()
    for old in surplus:
        old.stop()
    return server


def release(server: ForkServer) -> None:
    """A job of ``server`` (taken with ``server_for``) has ended."""
    with _servers_lock:
        left = _busy.get(id(server), 0) - 1
        if left > 0:
            _busy[id(server)] = left
        else:
            _busy.pop(id(server), None)
        surplus = _surplus_idle()
    for old in surplus:
        old.stop()


def _surplus_idle() -> list[ForkServer]:
    """Idle servers beyond MAX_IDLE_SERVERS, least recently used first (removed from the pool;
    e.g. runs whose binds differ each time, such as a proxy's socket folder)."""
    idle = [s for s in _servers.values() if id(s) not in _busy]
    surplus = idle[:max(0, len(idle) - MAX_IDLE_SERVERS)]
    for server in surplus:
        del _servers[server.config]
    return surplus


def replace_server(server: ForkServer) -> None:
    """Drop a server that failed; the next ``server_for`` starts a fresh one."""
    with _servers_lock:
        if _servers.get(server.config) is server:
            del _servers[server.config]
        _busy.pop(id(server), None)
    server.stop()


def stop_all() -> None:
    with _servers_lock:
        servers = list(_servers.values())
        _servers.clear()
        _busy.clear()
    for server in servers:
        server.stop()


def _wait_readable(fd: int, timeout_s: float) -> bool:
    import select

    deadline = time.monotonic() + timeout_s
    while (remaining := deadline - time.monotonic()) > 0:
        if select.select([fd], [], [], remaining)[0]:
            return True
    return False


def _remove_dir(path: Path) -> None:
    try:
        path.rmdir()
    except OSError:
        pass


_RESET_SIGNALS = frozenset(
    [signal.SIGPIPE, signal.SIGXFSZ, signal.SIGXCPU, signal.SIGINT, signal.SIGTERM, signal.SIGHUP]
    + [signal.SIGQUIT, signal.SIGCHLD, signal.SIGUSR1, signal.SIGUSR2, signal.SIGALRM]
)


def _fd_above(fd: int, lowest: int = 10) -> int:
    """``fd`` moved to a number >= ``lowest`` (close-on-exec), so the child's dup2 onto 3 and 4
    cannot clobber a source descriptor or dup2 one onto itself (which keeps close-on-exec)."""
    if fd >= lowest:
        return fd
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, lowest)
    os.close(fd)
    return moved


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


def _stop_all_at_exit() -> None:
    try:
        stop_all()
    except Exception:  # interpreter shutdown: the servers' lifelines close anyway
        pass


atexit.register(_stop_all_at_exit)
