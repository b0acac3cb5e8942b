"""Candidate side of the evaluator/candidate split: serve one candidate module's functions over a socket.

Run by ``adrs.proxy`` as the "program" of a sandboxed run (entry ``serve``), with the listening
socket the host created on fd 5 and ``_candidate_wire`` as a support module. ``serve`` imports the
candidate once (from text, as module ``program``, with the problem's helper folders on sys.path),
then answers each connection from the evaluator's proxy module in its own thread: ``hello`` (the
module's names and whether the import failed), ``call`` (a function's result or the exception it
raised, with its traceback) and ``exit`` (from the host: return, which ends the sandboxed run).

Everything here runs in the candidate's process, so the candidate can rewrite any of it: the
evaluator side trusts nothing it receives beyond decoding it as data (see ``_candidate_proxy``).
Standalone: stdlib, numpy and ``_candidate_wire`` only, never ``adrs``.
"""

import os
import select
import socket
import sys
import threading
import traceback
import types

PASSED_FD = 5
REQUEST_CAP_BYTES = 1 << 30
TRACEBACK_LINES = 30


def serve(program, paths):
    sys.path.insert(0, os.getcwd())  # the support module _candidate_wire
    global wire_decode, wire_encode, wire_receive, wire_send
    from _candidate_wire import wire_decode, wire_encode, wire_receive, wire_send

    listener = socket.socket(fileno=PASSED_FD)
    for path in reversed(str(paths).split("\n") if paths else []):
        sys.path.insert(0, path)
    module, failure = load(str(program))
    done = Done()
    listener.settimeout(0.2)  # accept never hangs (the host holds the same socket)
    while not done.is_set():
        try:  # ``exit`` wakes this at once through the pipe; 0.2 s is only a safety net
            ready = select.select([listener, done.wake], [], [], 0.2)[0]
        except (OSError, ValueError):
            break
        if listener not in ready:
            continue
        try:
            connection, _ = listener.accept()
        except TimeoutError:
            continue
        except OSError:
            break
        thread = threading.Thread(target=handle, args=(connection, module, failure, done), daemon=True)
        thread.start()
    return "served"


class Done:
    """Set by the ``exit`` request; also writes to a pipe the accept loop waits on."""

    def __init__(self):
        self.wake, self._signal = os.pipe()
        self._event = threading.Event()

    def is_set(self):
        return self._event.is_set()

    def set(self):
        self._event.set()
        try:
            os.write(self._signal, b"x")
        except OSError:
            pass


def load(source):
    """(module, None) or (None, the import error as a message)."""
    module = types.ModuleType("program")
    module.__file__ = os.path.abspath("program.py")
    with open(module.__file__, "w", encoding="utf-8") as f:
        f.write(source)
    sys.modules["program"] = module
    try:
        exec(compile(source, module.__file__, "exec"), module.__dict__)
    except BaseException as e:  # noqa: BLE001 - reported to the evaluator as the import's failure
        return None, describe(e)
    return module, None


def describe(exc):
    lines = traceback.format_exception(exc)
    text = "".join(lines).rstrip().splitlines()[-TRACEBACK_LINES:]
    return {"type": type(exc).__name__, "message": str(exc)[:2000], "traceback": "\n".join(text)}


def names_of(module):
    kinds = {}
    for name, value in vars(module).items():
        if name.startswith("__"):
            continue
        if callable(value):
            kinds[name] = "function"
        else:
            try:
                wire_encode(value)
                kinds[name] = ["value", value]
            except TypeError:
                kinds[name] = "other"
    return kinds


def handle(connection, module, failure, done):
    with connection:
        while True:
            try:
                request = wire_receive(connection, REQUEST_CAP_BYTES)
            except (OSError, ValueError):
                return
            if request is None:
                return
            op = request.get("op")
            if op == "exit":
                done.set()
                return
            reply = answer(op, request, module, failure)
            try:
                try:
                    wire_send(connection, reply)
                except TypeError as e:  # the result cannot cross the boundary
                    wire_send(connection, {"raised": describe(e)})
            except OSError:
                return


def answer(op, request, module, failure):
    if failure is not None:
        return {"raised": failure}
    if op == "hello":
        return {"ok": wire_encode(names_of(module))}
    if op != "call":
        return {"raised": {"type": "ValueError", "message": f"unknown request {op!r}", "traceback": ""}}
    try:
        function = getattr(module, request["name"])
        args = wire_decode(request["args"])
        kwargs = wire_decode(request["kwargs"])
        value = function(*args, **kwargs)
        return {"ok": wire_encode(value)}
    except BaseException as e:  # noqa: BLE001 - the evaluator receives it as the call's exception
        return {"raised": describe(e)}
