"""Child side of ``adrs.sandbox``: import one candidate program and call its entry function.

Run as ``python -P -S _harness.py WORK_DIR SITE_DIR ENTRY N_CALLS CPU_S MEMORY_MB FILE_SIZE_MB
MAX_PROCESSES ADAPTER REPEATS`` with WORK_DIR holding ``candidate.py``, ``inputs.npz`` and any support
modules of the evaluator (importable by the candidate). ADAPTER is ``-`` or ``module:function``: that
function turns a call's arrays into the entry's keyword arguments (e.g. wraps them in a workload
object); it runs untimed, in this process, so it is as untrusted as the candidate. With REPEATS > 1
each call runs once to warm up and then REPEATS times; its time is the median and its result the
last one. Before any candidate code
runs it moves to WORK_DIR and sets its own rlimits (here rather than in a preexec_fn, which is unsafe
in threaded parents such as Ray workers), imports numpy and writes one byte to fd 3 (the parent's
proof that the host side worked). Then it imports the candidate, calls ``ENTRY(**call)`` per call
(timing only that call), encodes each return value as JSON-safe data and writes ``result.json``.
Progress lines go to ``progress`` so the parent can tell where a killed run was.

Standalone: stdlib and numpy only, never ``adrs`` (the candidate must not get the framework). It
judges nothing; the parent decodes the result and the evaluator validates it.
"""

import faulthandler
import json
import os
import resource
import signal
import stat
import sys
import time
import traceback
import types

perf_counter = time.perf_counter
HARNESS_FILE = os.path.abspath(__file__)
CANDIDATE_FILE = "candidate.py"
MAX_DEPTH = 64
TRACEBACK_LINES = 30
ARRAY_DTYPES = frozenset(
    ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]
    + ["float16", "float32", "float64"]
)
np = None  # numpy, imported after the limits are set


class CpuLimit(BaseException):
    """Raised by the SIGXCPU handler; a BaseException so a bare ``except Exception`` can't eat it."""


class BadOutput(Exception):
    def __init__(self, what: str, path: str = ""):
        super().__init__(what)
        self.what, self.path = what, path


def set_limits(cpu_s: int, memory_mb: int, file_size_mb: int, max_processes: int) -> None:
    mb = 1024 * 1024
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))  # SIGXCPU first, SIGKILL 1 s later
    resource.setrlimit(resource.RLIMIT_AS, (memory_mb * mb, memory_mb * mb))
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_mb * mb, file_size_mb * mb))
    resource.setrlimit(resource.RLIMIT_NPROC, (max_processes, max_processes))


def on_cpu_limit(signum, frame):
    raise CpuLimit


class Progress:
    """Append-only progress log, unbuffered so it survives a SIGKILL."""

    def __init__(self, path: str):
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def note(self, line: str) -> None:
        os.write(self.fd, (line + "\n").encode())


def format_exception(exc: BaseException) -> str:
    """Traceback without the harness's own frames, last TRACEBACK_LINES lines."""
    try:
        return format_traceback(exc)
    except Exception:  # e.g. an exception whose __str__ raises
        return f"{type_name(exc)} (its traceback could not be formatted)"


def format_traceback(exc: BaseException) -> str:
    te = traceback.TracebackException.from_exception(exc)
    pending = [te]
    while pending:
        t = pending.pop()
        kept = [f for f in t.stack if os.path.abspath(f.filename) != HARNESS_FILE]
        t.stack = traceback.StackSummary.from_list(kept)
        pending += [c for c in (t.__cause__, t.__context__) if c is not None]
    lines = "".join(te.format()).splitlines()
    if len(lines) > TRACEBACK_LINES:
        lines = ["  ... (earlier lines omitted)"] + lines[-TRACEBACK_LINES:]
    return "\n".join(lines)


def format_syntax_error(exc: SyntaxError) -> str:
    where = f"line {exc.lineno}" + (f", column {exc.offset}" if exc.offset else "")
    text = f"{type(exc).__name__} at {where}: {exc.msg}"
    if exc.text:
        caret = " " * max((exc.offset or 1) - 1, 0) + "^"
        text += "\n    " + exc.text.rstrip("\n") + "\n    " + caret
    return text


def type_name(x: object) -> str:
    t = type(x)
    return t.__qualname__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"


def encode(x: object, depth: int = 0) -> object:
    """Return ``x`` as JSON-safe data; arrays become {"__ndarray__", "dtype", "shape"}."""
    if x is None or type(x) in (bool, int, float, str):
        return x
    if depth >= MAX_DEPTH:
        raise BadOutput(f"a structure nested deeper than {MAX_DEPTH} levels")
    if isinstance(x, np.ndarray):
        if x.dtype.name not in ARRAY_DTYPES:
            raise BadOutput(f"a numpy array of dtype {x.dtype}")
        return {"__ndarray__": x.tolist(), "dtype": x.dtype.name, "shape": list(x.shape)}
    if isinstance(x, np.generic):
        if x.dtype.name not in ARRAY_DTYPES:
            raise BadOutput(f"a numpy scalar of dtype {x.dtype}")
        return x.item()
    for base in (bool, int, float, str):  # subclasses such as IntEnum
        if isinstance(x, base):
            return base(x)
    if isinstance(x, (list, tuple)):
        return [encode_item(v, f"[{i}]", depth) for i, v in enumerate(x)]
    if isinstance(x, dict):
        return {encode_key(k): encode_item(v, f"[{k!r}]", depth) for k, v in x.items()}
    raise BadOutput(f"a value of type {type_name(x)}")


def encode_item(v: object, step: str, depth: int) -> object:
    try:
        return encode(v, depth + 1)
    except BadOutput as e:
        raise BadOutput(e.what, step + e.path) from None


def encode_key(k: object) -> str:
    if not isinstance(k, str):
        raise BadOutput(f"a dict key of type {type_name(k)} (keys must be str)")
    if k == "__ndarray__":
        raise BadOutput("a dict key '__ndarray__' (reserved)")
    return str(k)


def load_candidate() -> types.ModuleType:
    with open(CANDIDATE_FILE, encoding="utf-8") as f:
        source = f.read()
    code = compile(source, CANDIDATE_FILE, "exec")  # SyntaxError propagates
    module = types.ModuleType("candidate")
    module.__file__ = os.path.abspath(CANDIDATE_FILE)
    sys.modules["candidate"] = module
    exec(code, module.__dict__)
    return module


def find_entry(module: types.ModuleType, entry: str):
    fn = getattr(module, entry, None)
    if fn is None:
        defined = sorted(k for k, v in vars(module).items() if callable(v) and not k.startswith("_"))
        return None, f"The program defines no `{entry}`. Callables defined: {defined or 'none'}."
    if not callable(fn):
        return None, f"`{entry}` is a {type_name(fn)}, not a function."
    return fn, ""


def group_inputs(n_calls: int):
    """Keyword names per call; values are loaded lazily so every call reads a fresh copy."""
    inputs = np.load("inputs.npz", allow_pickle=False)
    names = [[] for _ in range(n_calls)]
    for key in inputs.files:
        index, name = key.split("/", 1)
        names[int(index)].append(name)
    return inputs, names


def load_adapter(adapter: str):
    """The ``module:function`` that builds the entry's keyword arguments (None for ``-``)."""
    if adapter == "-":
        return None
    module_name, _, function = adapter.partition(":")
    sys.path.insert(0, os.getcwd())
    module = __import__(module_name)
    return getattr(module, function)


def call_arguments(inputs, i: int, names: list, adapt) -> dict:
    """Fresh keyword arguments for call ``i``: 0-d arrays become Python scalars."""
    kwargs = {}
    for name in names:
        value = inputs[f"{i}/{name}"]
        kwargs[name] = value.item() if value.ndim == 0 else value
    return adapt(**kwargs) if adapt is not None else kwargs


def timed_call(fn, inputs, i: int, names: list, adapt, repeats: int):
    """Call ``fn`` on call ``i``'s inputs; with repeats > 1: warm up, then the median of repeats."""
    if repeats <= 1:
        kwargs = call_arguments(inputs, i, names, adapt)
        t0 = perf_counter()
        value = fn(**kwargs)
        return value, perf_counter() - t0
    fn(**call_arguments(inputs, i, names, adapt))
    times = []
    for _ in range(repeats):
        kwargs = call_arguments(inputs, i, names, adapt)
        t0 = perf_counter()
        value = fn(**kwargs)
        times.append(perf_counter() - t0)
    times.sort()
    middle = len(times) // 2
    median = times[middle] if len(times) % 2 else (times[middle - 1] + times[middle]) / 2
    return value, median


def run_calls(fn, n_calls: int, progress: Progress, adapt=None, repeats: int = 1) -> dict:
    inputs, names = group_inputs(n_calls)
    outputs, times = [], []
    for i in range(n_calls):
        progress.note(f"start {i}")
        value, dt = timed_call(fn, inputs, i, names[i], adapt, repeats)
        try:
            outputs.append(encode(value))
        except BadOutput as e:
            where = f"result{e.path}" if e.path else "the result"
            msg = f"Call {i + 1} of {n_calls} returned {e.what} (at {where})."
            return {"status": "bad_output", "error": msg}
        times.append(dt)
        progress.note(f"done {i} {dt!r}")
    return {"status": "ok", "outputs": outputs, "call_times": times}


def run(entry: str, n_calls: int, progress: Progress, adapter: str = "-", repeats: int = 1) -> dict:
    adapt = load_adapter(adapter)
    try:
        module = load_candidate()
    except SyntaxError as e:
        return {"status": "syntax_error", "error": format_syntax_error(e)}
    progress.note("imported")
    fn, problem = find_entry(module, entry)
    if fn is None:
        return {"status": "error", "error": problem}
    return run_calls(fn, n_calls, progress, adapt, repeats)


def guarded_run(entry: str, n_calls: int, progress: Progress, adapter: str, repeats: int) -> dict:
    try:
        return run(entry, n_calls, progress, adapter, repeats)
    except CpuLimit:
        return {"status": "timeout", "error": "cpu"}
    except MemoryError as e:
        return {"status": "memory", "error": format_exception(e)}
    except Exception as e:
        return {"status": "error", "error": format_exception(e)}


def write_result(result: dict, cap_bytes: int) -> None:
    try:
        text = json.dumps(result, allow_nan=True)
    except (ValueError, RecursionError) as e:  # e.g. a Python int too large for str()
        text = json.dumps({"status": "bad_output", "error": f"Result not serialisable: {e}"})
    if len(text) > cap_bytes:
        mb = 1024 * 1024
        msg = f"The return values take {len(text) / mb:.1f} MB as JSON (limit {cap_bytes // mb} MB)."
        text = json.dumps({"status": "bad_output", "error": msg})
    with open("result.json.tmp", "w", encoding="utf-8") as f:
        f.write(text)
    os.replace("result.json.tmp", "result.json")


def report_started(fd: int = 3) -> None:
    """One byte on the parent's pipe, then close it: from here on failures are the candidate's."""
    try:
        if stat.S_ISFIFO(os.fstat(fd).st_mode):  # absent when the harness is run by hand
            os.write(fd, b"S")
            os.close(fd)
    except OSError:
        pass


def flush_std_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


def main(argv: list[str]) -> None:
    global np
    faulthandler.enable()  # a Python traceback on stderr if the candidate segfaults
    work_dir, site_dir, entry, n_calls, cpu_s, memory_mb, file_size_mb, max_processes = argv[:8]
    adapter, repeats = argv[8:10]
    os.chdir(work_dir)
    set_limits(int(cpu_s), int(memory_mb), int(file_size_mb), int(max_processes))
    signal.signal(signal.SIGXCPU, on_cpu_limit)
    sys.dont_write_bytecode = True
    sys.stdout.reconfigure(line_buffering=True)  # so prints before a kill reach the feedback
    sys.path.append(site_dir)
    import numpy

    np = numpy
    report_started()
    progress = Progress("progress")
    progress.note("started")
    result = guarded_run(entry, int(n_calls), progress, adapter, int(repeats))
    flush_std_streams()
    write_result(result, cap_bytes=int(file_size_mb) * 1024 * 1024)
    os._exit(0)  # skip atexit hooks and non-daemon threads of the candidate


if __name__ == "__main__":
    main(sys.argv[1:])
