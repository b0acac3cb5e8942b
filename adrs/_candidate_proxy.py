
# --- adrs candidate proxy ---------------------------------------------------------------------------
# This file stands in for the candidate program: the evaluator imports it (or runs it in a
# subprocess) as it would import the program. The program itself runs in another sandboxed process;
# each function defined below forwards its call over a socket and returns the decoded result, or
# raises CandidateError (subclassing the built-in exception type the candidate raised). Only data
# crosses (see the wire format above), so the candidate cannot patch the evaluator or its metrics.
# (Text appended by adrs to _candidate_wire.py's text; ADRS_SOCKET is set by adrs.proxy.)

import builtins as _builtins
import socket as _socket
import threading as _threading

_REPLY_CAP_BYTES = 1 << 30
_local = _threading.local()


class CandidateError(Exception):
    """An exception raised by the candidate program (in its own process), or its process failing."""

    def __init__(self, kind, message, remote_traceback=""):
        super().__init__(f"{kind}: {message}" if message else kind)
        self.kind, self.remote_traceback = kind, remote_traceback

    def __str__(self):
        text = super().__str__()
        return text + (f"\n{self.remote_traceback}" if self.remote_traceback else "")


def _exception(info):
    if not isinstance(info, dict):
        return CandidateError("CandidateError", "malformed reply from the candidate process")
    kind, message = str(info.get("type", "Exception")), str(info.get("message", ""))
    base = getattr(_builtins, kind, None)
    if isinstance(base, type) and issubclass(base, Exception) and base is not Exception:
        cls = type(kind, (CandidateError, base), {})
    else:
        cls = CandidateError
    error = cls.__new__(cls)
    CandidateError.__init__(error, kind, message, str(info.get("traceback", "")))
    return error


def _connection():
    connection = getattr(_local, "connection", None)
    if connection is None:
        connection = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        try:
            connection.connect(ADRS_SOCKET)  # noqa: F821 - defined in the text adrs writes above
        except OSError as e:
            raise CandidateError("CandidateError", f"the candidate process is gone ({e})") from None
        _local.connection = connection
    return connection


def _request(message):
    connection = _connection()
    try:
        wire_send(connection, message)  # noqa: F821 - from _candidate_wire, above
        reply = wire_receive(connection, _REPLY_CAP_BYTES)  # noqa: F821
    except (OSError, ValueError) as e:
        raise CandidateError("CandidateError", f"the candidate process failed: {e}") from None
    if reply is None:
        raise CandidateError("CandidateError", "the candidate process ended during the call")
    if not isinstance(reply, dict) or len(reply) != 1:
        raise CandidateError("CandidateError", "malformed reply from the candidate process")
    if "raised" in reply:
        raise _exception(reply["raised"])
    try:
        return wire_decode(reply["ok"])  # noqa: F821
    except (KeyError, ValueError, TypeError, RecursionError) as e:
        raise CandidateError("CandidateError", f"undecodable reply from the candidate: {e}") from None


def _forwarder(name):
    def forward(*args, **kwargs):
        return _request({"op": "call", "name": name, "args": wire_encode(list(args)),  # noqa: F821
                         "kwargs": wire_encode(dict(kwargs))})  # noqa: F821
    forward.__name__ = forward.__qualname__ = name
    return forward


def _install():
    names = _request({"op": "hello"})
    if not isinstance(names, dict):
        raise CandidateError("CandidateError", "malformed reply from the candidate process")
    for name, kind in names.items():
        if not isinstance(name, str) or not name.isidentifier() or name in _RESERVED:
            continue
        if kind == "function":
            globals()[name] = _forwarder(name)
        elif isinstance(kind, list) and len(kind) == 2 and kind[0] == "value":
            globals()[name] = kind[1]


_RESERVED = frozenset(globals()) | {"_RESERVED", "_install"}
_install()
