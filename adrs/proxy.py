"""Run a candidate in its own sandboxed process behind a call proxy, for evaluators that import it.

An OpenEvolve-style ``evaluate(program_path)`` loads the program itself (importlib, or a subprocess
running ``sys.executable``). Run in one process with the evaluator, a candidate could patch the
evaluator's functions and forge its metrics. ``candidate_process`` starts the candidate in a sandboxed
run of its own (``adrs._candidate_server``) listening on a Unix socket that the host creates, and
returns the text of a proxy module (``adrs._candidate_wire`` + ``adrs._candidate_proxy``) to write at
``program_path`` in the evaluator's sandbox: the evaluator's calls reach the candidate as data and
its results come back as data (JSON, never pickle). The socket's folder (one per process, so the
evaluator's warm sandbox server is reused) is bound read-only into the evaluator's sandbox, which
is trusted code; the candidate's sandbox gets only its own listening socket (fd 5).

What it does not do: make values other than data cross (callbacks, class instances, generators fail
with a TypeError on the side that sends them), or hide the problem folder from the candidate (it is
bound read-only in both sandboxes, as helper modules such as a simulator are the candidate's to use).
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import shutil
import socket
import tempfile
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from adrs.sandbox import Limits, RunOutcome, run_program

HERE = Path(__file__).parent
SERVER = HERE / "_candidate_server.py"
WIRE = HERE / "_candidate_wire.py"
PROXY = HERE / "_candidate_proxy.py"
STOP_PATIENCE_S = 5.0


@dataclass
class CandidateProcess:
    """A running candidate server: where the evaluator connects and, once stopped, how it ended."""

    socket_dir: str
    proxy_source: str  # the module text to write at program_path
    outcome: RunOutcome | None = None
    failure: str = ""  # the sandbox itself failed to start the candidate's process

    def feedback(self) -> str:
        """What went wrong in the candidate's process (empty if it served normally)."""
        if self.failure:
            return f"the candidate's process could not start: {self.failure}"
        if self.outcome is None:
            return "the candidate's process did not stop in time"
        if self.outcome.status == "ok":
            return ""
        return self.outcome.feedback()


@functools.cache
def source_of(path: Path) -> str:
    """The text of one of adrs's own sandbox-side modules (read once per process)."""
    return path.read_text()


def proxy_source(socket_path: str) -> str:
    """The proxy module's text; the sandbox harness knows this layout (``write_proxy_bytecode``)."""
    return f"{source_of(WIRE)}\nADRS_SOCKET = {socket_path!r}\n{source_of(PROXY)}"


@contextmanager
def candidate_process(code: str, limits: Limits, binds: Sequence[str] = (),
                      paths: Sequence[str] = ()) -> Iterator[CandidateProcess]:
    """Serve ``code`` from its own sandboxed run while the body runs; stop it afterwards.

    ``binds`` are read-only folders the candidate sees (the problem folder), ``paths`` go first on
    its sys.path (e.g. the folder holding the evaluator's helper modules).
    """
    folder = socket_folder()
    path = os.path.join(folder, f"candidate-{uuid.uuid4().hex[:12]}.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    process = CandidateProcess(folder, proxy_source(path))
    try:
        listener.bind(path)
        listener.listen(64)
        call = {"program": np.array(code), "paths": np.array("\n".join(paths))}

        def serve() -> None:
            try:
                process.outcome = run_program(source_of(SERVER), "serve", [call], limits,
                                              support={"_candidate_wire.py": source_of(WIRE)},
                                              binds=binds, pass_fd=listener.fileno())
            except Exception as err:  # noqa: BLE001 - e.g. SandboxError: reported with the result
                process.failure = f"{type(err).__name__}: {err}"
            finally:
                listener.close()  # connections still queued now fail instead of waiting forever

        thread = threading.Thread(target=serve, name="adrs-candidate-server", daemon=True)
        thread.start()
        try:
            yield process
        finally:
            _ask_to_exit(path)
            thread.join(STOP_PATIENCE_S)
    finally:
        listener.close()
        with contextlib.suppress(OSError):
            os.unlink(path)


def socket_folder() -> str:
    """This process's folder of candidate sockets (one per evaluation inside it). It stays the same
    for the process's life, so the evaluator's sandbox, which binds it read-only, keeps the same
    configuration and its warm fork server is reused; sockets created later show through the bind."""
    pid = os.getpid()
    if pid not in _SOCKET_FOLDERS:
        _remove_stale_socket_dirs()
        folder = tempfile.mkdtemp(prefix=f"adrs-proxy-{pid}-")
        _SOCKET_FOLDERS[pid] = folder
        atexit.register(shutil.rmtree, folder, True)
    return _SOCKET_FOLDERS[pid]


_SOCKET_FOLDERS: dict[int, str] = {}


def _remove_stale_socket_dirs() -> None:
    """Socket folders left by processes that died (a killed Ray worker or driver)."""
    for path in Path(tempfile.gettempdir()).glob("adrs-proxy-*-*"):
        pid = path.name.split("-")[2]
        if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            shutil.rmtree(path, ignore_errors=True)


def _ask_to_exit(path: str) -> None:
    """The host's own request (the candidate may have hijacked the server, so this is a courtesy;
    its run's wall-clock limit is what guarantees that it ends)."""
    from adrs._candidate_wire import wire_send

    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(1.0)
            client.connect(path)
            wire_send(client, {"op": "exit"})
    except OSError:
        pass
