"""Wire format between an evaluator and a candidate running in another sandboxed process.

Used by ``adrs._candidate_server`` (the candidate's side) and ``adrs._candidate_proxy`` (the module
an OpenEvolve-style evaluator imports instead of the candidate). Messages are length-prefixed JSON:
nothing is unpickled, so a reply can carry data but never code. Values: None, bool, int, float, str,
bytes, lists, tuples, dicts (any encodable keys), numpy arrays of bool/int/uint/float/complex dtype
(raw bytes, base64) and numpy scalars. Anything else is a TypeError on the sending side.

Standalone: stdlib and numpy only, never ``adrs`` (it runs inside the sandbox, and its text is
prepended to the proxy module).
"""

import base64
import json
import struct

import numpy

WIRE_DTYPES = frozenset(
    ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]
    + ["float16", "float32", "float64", "complex64", "complex128"]
)
WIRE_MAX_DEPTH = 64
WIRE_HEADER = struct.Struct("!Q")


def wire_encode(x, depth=0):
    """``x`` as JSON-safe data (every JSON object in the result is one of our tagged forms)."""
    if x is None or type(x) in (bool, int, float, str):
        return x
    if depth >= WIRE_MAX_DEPTH:
        raise TypeError(f"a structure nested deeper than {WIRE_MAX_DEPTH} levels")
    if isinstance(x, numpy.ndarray):
        if x.dtype.name not in WIRE_DTYPES:
            raise TypeError(f"a numpy array of dtype {x.dtype} cannot cross the sandbox boundary")
        data = numpy.ascontiguousarray(x).tobytes()
        return {"__a": base64.b64encode(data).decode("ascii"), "dtype": x.dtype.name,
                "shape": list(x.shape)}
    if isinstance(x, numpy.generic):
        if x.dtype.name not in WIRE_DTYPES:
            raise TypeError(f"a numpy scalar of dtype {x.dtype} cannot cross the sandbox boundary")
        return {"__s": wire_encode(numpy.asarray(x), depth + 1)}
    for base in (bool, int, float, str):  # subclasses such as IntEnum
        if isinstance(x, base):
            return base(x)
    if isinstance(x, bytes | bytearray):
        return {"__b": base64.b64encode(bytes(x)).decode("ascii")}
    if isinstance(x, list):
        return [wire_encode(v, depth + 1) for v in x]
    if isinstance(x, tuple):
        return {"__t": [wire_encode(v, depth + 1) for v in x]}
    if isinstance(x, dict):
        return {"__d": [[wire_encode(k, depth + 1), wire_encode(v, depth + 1)] for k, v in x.items()]}
    raise TypeError(f"a value of type {type(x).__name__} cannot cross the sandbox boundary")


def wire_decode(x, depth=0):
    """The value ``wire_encode`` encoded; ValueError on anything malformed."""
    if depth > WIRE_MAX_DEPTH + 2:
        raise ValueError("message nested too deeply")
    if x is None or type(x) in (bool, int, float, str):
        return x
    if isinstance(x, list):
        return [wire_decode(v, depth + 1) for v in x]
    if not isinstance(x, dict) or len(x) not in (1, 3):
        raise ValueError("malformed message")
    if set(x) == {"__a", "dtype", "shape"}:
        if x["dtype"] not in WIRE_DTYPES or not isinstance(x["shape"], list) or \
                not all(type(d) is int and d >= 0 for d in x["shape"]):
            raise ValueError("malformed array")
        array = numpy.frombuffer(base64.b64decode(x["__a"], validate=True), dtype=x["dtype"])
        return array.reshape(x["shape"]).copy()
    ((tag, body),) = x.items()
    if tag == "__s":
        value = wire_decode(body, depth + 1)
        if not isinstance(value, numpy.ndarray) or value.ndim != 0:
            raise ValueError("malformed scalar")
        return value[()]
    if tag == "__b" and isinstance(body, str):
        return base64.b64decode(body, validate=True)
    if tag == "__t" and isinstance(body, list):
        return tuple(wire_decode(v, depth + 1) for v in body)
    if tag == "__d" and isinstance(body, list):
        pairs = [(wire_decode(p[0], depth + 1), wire_decode(p[1], depth + 1)) for p in body
                 if isinstance(p, list) and len(p) == 2]
        if len(pairs) != len(body):
            raise ValueError("malformed dict")
        return dict(pairs)
    raise ValueError(f"unknown tag {tag!r}")


def wire_send(sock, message):
    data = json.dumps(message, allow_nan=True).encode("utf-8")
    sock.sendall(WIRE_HEADER.pack(len(data)) + data)


def wire_receive(sock, cap_bytes):
    """One message, or None at end of stream. ValueError if it is larger than ``cap_bytes``."""
    header = _receive_exactly(sock, WIRE_HEADER.size)
    if header is None:
        return None
    (size,) = WIRE_HEADER.unpack(header)
    if size > cap_bytes:
        raise ValueError(f"message of {size} bytes exceeds the limit of {cap_bytes}")
    data = _receive_exactly(sock, size)
    if data is None:
        raise ValueError("connection closed mid-message")
    return json.loads(data)


def _receive_exactly(sock, size):
    chunks, left = [], size
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            return None  # closed (mid-message if some chunks had arrived)
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
