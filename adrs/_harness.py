"""Child side of ``adrs.sandbox``: import one candidate program and call its entry function.

Run as ``python -P -S _harness.py WORK_DIR SITE_DIR ENTRY N_CALLS CPU_S MEMORY_MB FILE_SIZE_MB
MAX_PROCESSES ADAPTER REPEATS CONFINE`` with WORK_DIR holding ``candidate.py``, ``inputs.npz`` and any
support modules of the evaluator (importable by the candidate). ADAPTER is ``-`` or
``module:function``: that function turns a call's arrays into the entry's keyword arguments (e.g.
wraps them in a workload object); it runs untimed, in this process, so it is as untrusted as the
candidate. With REPEATS > 1 each call runs once to warm up and then REPEATS times; its time is the
median and its result the last one. CONFINE is ``-`` or a JSON object (see ``Confiner``).

Before any candidate code runs the harness starts a thread that ends the process if the parent
dies (fd 4 closes), joins the run's pids cgroup, opens its inputs, progress log and result file in
WORK_DIR and, with a private root, builds a new root inside its fresh user + mount namespaces (a
read-only tmpfs with read-only binds of the system libraries, the Python install and numpy only, a
few device nodes and a size-capped writable tmpfs ``/sandbox`` holding copies of the program
files), pivots into it, detaches the old root and drops every capability: the candidate never sees
the project, the runs, the evaluator's data or the user's home. Then it sets its own rlimits (here
rather than in a preexec_fn, which is unsafe in threaded parents such as Ray workers), imports
numpy and writes one byte to fd 3 (the parent's proof that the host side worked). Then it imports
the candidate, calls ``ENTRY(**call)`` per call (timing only that call), encodes each return value
as JSON-safe data and writes it to the result file. Progress lines go to the progress log so the
parent can tell where a killed run was.

Standalone: stdlib and numpy only, never ``adrs`` (the candidate must not get the framework). It
judges nothing; the parent decodes the result and the evaluator validates it.
"""

import _thread
import faulthandler
import fcntl
import json
import math
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


# --- confinement (Linux, inside new user + mount namespaces) ----------------------------------------

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 32, 4096, 16384, 1 << 18
MS_RELATIME = 1 << 21
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_SECUREBITS, PR_SET_NO_NEW_PRIVS = 1, 24, 28, 38
PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
SECURE_BITS_LOCKED_NOROOT = 0x2F  # NOROOT, NO_SETUID_FIXUP and KEEP_CAPS, each locked
LINUX_CAPABILITY_VERSION_3 = 0x20080522
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "ppc64le": 203, "s390x": 217, "riscv64": 41}
SANDBOX_DIR = "/sandbox"


def kept_mount_flags(path: str) -> int:
    """The source mount's noexec and atime flags: a user namespace may not clear them (locked)."""
    f_flag = os.statvfs(path).f_flag
    flags = f_flag & (os.ST_NOEXEC | os.ST_NOATIME | os.ST_NODIRATIME)  # same bits as MS_*
    return flags | (MS_RELATIME if f_flag & os.ST_RELATIME else 0)


_LIBC = None


def libc():
    """The C library (errno kept), loaded once per process: the fork server loads it, with the
    functions jobs call looked up, so a job's fresh fork does not (about 0.2 ms of CPU there)."""
    global _LIBC
    if _LIBC is None:
        import ctypes

        _LIBC = ctypes.CDLL(None, use_errno=True)
        for name in ("mount", "umount2", "prctl", "capset", "unshare", "syscall"):
            getattr(_LIBC, name)
    return _LIBC


class Confiner:
    """Build and enter the private root described by ``spec`` (a dict decoded from argv).

    spec: ``root`` (an empty host directory to mount the new root on), ``ro_binds`` (host paths
    bound read-only at the same path), ``links`` (path -> symlink target, e.g. /lib -> usr/lib),
    ``masks`` (paths inside a bind hidden under an empty read-only tmpfs: site-packages),
    ``unmask`` (paths inside a mask bound back read-only: numpy), ``devices`` (bound read-write) and
    ``disk_mb`` (size of the writable ``/sandbox``). Any failure raises OSError: a sandbox that
    cannot confine must not run the candidate.
    """

    def __init__(self, spec: dict):
        import ctypes

        self.ctypes = ctypes
        self.libc = libc()
        self.spec = spec
        self.root = spec["root"]

    def check(self, result: int, what: str) -> None:
        if result != 0:
            errno = self.ctypes.get_errno()
            raise OSError(errno, f"{what}: {os.strerror(errno)}")

    def mount(self, source, target: str, fstype, flags: int, data=None) -> None:
        enc = lambda x: None if x is None else x.encode()  # noqa: E731
        self.check(self.libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)),
                   f"mount {source or ''} on {target}")

    def bind(self, source: str, read_only: bool) -> None:
        target = self.root + source
        if os.path.isdir(source):
            os.makedirs(target, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT, 0o600))
        self.mount(source, target, None, MS_BIND | MS_REC)
        if read_only:
            flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | kept_mount_flags(source)
            self.mount(None, target, None, flags)

    def build(self) -> None:
        spec = self.spec
        self.mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing we mount reaches the host
        self.mount("tmpfs", self.root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=755")
        for path in spec["ro_binds"]:
            self.bind(path, read_only=True)
        for path in spec["masks"]:
            os.makedirs(self.root + path, exist_ok=True)
            self.mount("tmpfs", self.root + path, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=755")
        for path in spec["unmask"]:
            self.bind(path, read_only=True)
        for path in spec["masks"]:
            self.mount(None, self.root + path, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
        for path in spec["devices"]:
            self.bind(path, read_only=False)
        for path, target in spec["links"].items():
            os.symlink(target, self.root + path)
        os.makedirs(self.root + "/tmp", mode=0o755, exist_ok=True)  # exists if Python lives under /tmp
        sandbox = self.root + SANDBOX_DIR
        os.makedirs(sandbox)
        self.mount("tmpfs", sandbox, "tmpfs", MS_NOSUID | MS_NODEV, f"size={int(spec['disk_mb'])}m,mode=700")

    def enter(self) -> None:
        """pivot_root into the new root, detach the old one, make the root read-only."""
        number = SYS_PIVOT_ROOT.get(os.uname().machine)
        os.chdir(self.root)
        if number is not None and self.libc.syscall(number, b".", b".") == 0:
            self.check(self.libc.umount2(b".", MNT_DETACH), "detach the old root")
        else:  # unknown architecture: chroot (no way out once CAP_SYS_CHROOT is dropped below)
            os.chroot(".")
        os.chdir("/")
        self.mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
        os.chdir(SANDBOX_DIR)

    def drop_privileges(self) -> None:
        """No capabilities, none to regain through exec, no setuid gains: mounts stay as built."""
        libc = self.libc
        self.check(libc.prctl(PR_SET_SECUREBITS, SECURE_BITS_LOCKED_NOROOT, 0, 0, 0), "securebits")
        for cap in range(64):
            if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
                break  # EINVAL past the last capability the kernel knows
        self.check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
        header = (self.ctypes.c_uint32 * 2)(LINUX_CAPABILITY_VERSION_3, 0)
        data = (self.ctypes.c_uint32 * 6)()
        self.check(libc.capset(header, data), "capset")


def confine(spec: dict, files: dict) -> None:
    """Enter the private root and write ``files`` (name -> text) into ``/sandbox``."""
    confiner = Confiner(spec)
    confiner.build()
    confiner.enter()
    confiner.drop_privileges()
    for name, text in files.items():
        with open(name, "w", encoding="utf-8") as f:
            f.write(text)
    os.environ.update(HOME=SANDBOX_DIR, TMPDIR=SANDBOX_DIR)


def probe(spec: dict, hidden: str) -> int:
    """``--probe SPEC HIDDEN``: confine, then check numpy imports and ``hidden`` is not visible."""
    confine(spec, {})
    sys.path.append(spec["site_dir"])
    import numpy  # noqa: F401

    try:
        os.mkdir("/sandbox-escape")  # the root must be read-only
        return 3
    except OSError:
        pass
    try:
        Confiner(spec).mount("tmpfs", "/tmp", "tmpfs", 0)  # capabilities must be gone
        return 4
    except OSError:
        pass
    return 2 if os.path.exists(hidden) else 0


# --- no namespace creation (seccomp-BPF) -------------------------------------------------------------
# The candidate may not create namespaces: unshare, setns and clone with any CLONE_NEW* flag fail
# with EPERM, clone3 with ENOSYS (its flags sit in memory a filter cannot read; glibc then falls
# back to clone, so threads, fork and subprocess keep working). Installed after the confinement and
# the limits, before any candidate code runs; inherited by every process the candidate starts and
# impossible to remove (no_new_privs, and filters only ever add up).
SECCOMP_ARCH = {  # machine: (AUDIT_ARCH_*, clone, unshare, setns, clone3)
    "x86_64": (0xC000003E, 56, 272, 308, 435),
    "aarch64": (0xC00000B7, 220, 97, 268, 435),
}
CLONE_NEW_FLAGS = 0x7E020080  # NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET, NEWTIME (0x80)
X32_SYSCALL_BIT = 0x40000000


def namespace_filter(machine: str) -> list:
    """The BPF program (a list of (code, jt, jf, k)) for ``machine``, or [] if unsupported."""
    import errno

    if machine not in SECCOMP_ARCH:
        return []
    arch, clone, unshare, setns, clone3 = SECCOMP_ARCH[machine]
    ld, jeq, jge, jset, ret = 0x20, 0x15, 0x35, 0x45, 0x06
    allow, kill = 0x7FFF0000, 0x80000000
    eperm, enosys = 0x00050000 | errno.EPERM, 0x00050000 | errno.ENOSYS
    prog = [(ld, 0, 0, 4), (jeq, 1, 0, arch), (ret, 0, 0, kill), (ld, 0, 0, 0)]  # nr, native arch only
    if machine == "x86_64":  # the x32 ABI numbers calls from 0x40000000: refuse all of them
        prog += [(jge, 0, 1, X32_SYSCALL_BIT), (ret, 0, 0, enosys)]
    prog += [(jeq, 0, 1, unshare), (ret, 0, 0, eperm),
             (jeq, 0, 1, setns), (ret, 0, 0, eperm),
             (jeq, 0, 1, clone3), (ret, 0, 0, enosys),
             (jeq, 0, 3, clone), (ld, 0, 0, 16), (jset, 0, 1, CLONE_NEW_FLAGS), (ret, 0, 0, eperm),
             (ret, 0, 0, allow)]
    return prog


_FILTER = None  # (libc, sock_fprog, its code buffer) or (): built once per process


def built_namespace_filter() -> tuple:
    """The filter ready for prctl, built once per process: the fork server builds it before its
    jobs, so a job only installs it (building it in a fresh fork cost about 1 ms of CPU)."""
    global _FILTER
    if _FILTER is None:
        import ctypes
        import platform
        import struct

        prog = namespace_filter(platform.machine())
        if not prog:
            _FILTER = ()
            return _FILTER
        code = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *insn) for insn in prog))

        class SockFprog(ctypes.Structure):
            _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

        fprog = SockFprog(len(prog), ctypes.addressof(code))
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
        _FILTER = (libc, fprog, code)
    return _FILTER


def deny_namespace_creation() -> bool:
    """Install the filter in this process (and all it will start); False where unsupported."""
    import ctypes

    built = built_namespace_filter()
    if not built:
        return False
    libc, fprog, _code = built
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, None, 0, 0) != 0:
        return False
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        return False  # a kernel without seccomp filters
    return True


def nsdeny_probe() -> int:
    """``--nsdeny-probe``: 0 if namespace creation is refused once the filter is in place."""
    import ctypes

    if not deny_namespace_creation():
        return 1
    libc = ctypes.CDLL(None, use_errno=True)
    refused = libc.unshare(CLONE_NEW_FLAGS & ~0x80) != 0 and ctypes.get_errno() == 1  # EPERM
    return 0 if refused else 2


def on_cpu_limit(signum, frame):
    raise CpuLimit


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
    code = trusted_code(CANDIDATE_FILE, source)
    if code is None:
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


# --- adrs's own sandbox-side modules, compiled once per server -------------------------------------
# A job whose program or support module is, character for character, one of these files (the
# OpenEvolve driver, the candidate server, its wire format) runs the server's code object instead
# of compiling the text again. The server compiles only these files, read from its own folder before
# it confines itself: never a text a job brings. The cache is keyed by the whole text, so a changed
# file is compiled in the job as before; each job is a forked copy, so nothing it does to its copy
# of the cache reaches the server or the next job.

TRUSTED_MODULES = ("_openevolve_driver.py", "_candidate_server.py", "_candidate_wire.py")
WARM_IMPORTS = ("base64", "importlib.util", "marshal", "select", "socket", "threading")
_TRUSTED_CODE: dict = {}  # (role, text) -> code object; role: CANDIDATE_FILE or a support file's name
PROXY_PARTS = ("_candidate_wire.py", "_candidate_proxy.py")  # adrs.proxy.proxy_source joins them
PROXY_PLACEHOLDER = "/adrs-proxy-socket-placeholder"
_PROXY_TEMPLATE: tuple = ()  # (text before the socket path, text after it, code with the placeholder)


def compile_trusted_modules(folder: str) -> None:
    """Compile the files of TRUSTED_MODULES in ``folder``, as a job would compile each one: as the
    program (``candidate.py``) and as a support module imported from ``/sandbox``."""
    for name in TRUSTED_MODULES:
        try:
            with open(os.path.join(folder, name), encoding="utf-8") as f:
                text = f.read()
        except OSError:
            continue
        _TRUSTED_CODE[(CANDIDATE_FILE, text)] = compile(text, CANDIDATE_FILE, "exec")
        _TRUSTED_CODE[(name, text)] = compile(text, os.path.join(SANDBOX_DIR, name), "exec")
    compile_proxy_template(folder)


def compile_proxy_template(folder: str) -> None:
    """The proxy module (``adrs.proxy.proxy_source``: the wire text, ``ADRS_SOCKET = 'path'``, the
    proxy text) compiled with a placeholder path: see ``write_proxy_bytecode``."""
    global _PROXY_TEMPLATE
    try:
        wire, proxy = (open(os.path.join(folder, name), encoding="utf-8").read() for name in PROXY_PARTS)
    except OSError:
        return
    head, tail = f"{wire}\nADRS_SOCKET = ", f"\n{proxy}"
    code = compile(head + repr(PROXY_PLACEHOLDER) + tail, "program.py", "exec")
    if code.co_consts.count(PROXY_PLACEHOLDER) == 1:
        _PROXY_TEMPLATE = (head, tail, code)


def write_proxy_bytecode(path: str, text: str) -> bool:
    """If ``text`` (just written at ``path``) is the proxy module, write its bytecode where an import
    of ``path`` looks first: the server's code with this job's socket path swapped in, as a pyc
    that the import checks against the source's hash (so the evaluator's import need not compile
    it). False (nothing written) for any other text. Called by the OpenEvolve driver."""
    import importlib.util
    import marshal

    if not _PROXY_TEMPLATE:
        return False
    head, tail, code = _PROXY_TEMPLATE
    if not (text.startswith(head) and text.endswith(tail)) or len(text) < len(head) + len(tail):
        return False
    literal = text[len(head):len(text) - len(tail)]
    socket_path = literal[1:-1]
    if repr(socket_path) != literal:  # a plain quoted path, exactly as repr writes it
        return False
    consts = tuple(socket_path if c == PROXY_PLACEHOLDER else c for c in code.co_consts)
    pyc = importlib.util.cache_from_source(path)
    checked_hash = (0b11).to_bytes(4, "little")  # PEP 552: hash-based, checked against the source
    data = (importlib.util.MAGIC_NUMBER + checked_hash + importlib.util.source_hash(text.encode("utf-8"))
            + marshal.dumps(code.replace(co_consts=consts)))
    os.makedirs(os.path.dirname(pyc), exist_ok=True)
    with open(pyc, "wb") as f:
        f.write(data)
    return True


def trusted_code(role: str, text: str):
    """The server's code object for ``text`` in ``role``, or None (then the job compiles it)."""
    return _TRUSTED_CODE.get((role, text))


def install_trusted_support(files: dict) -> None:
    """Support modules that are adrs's own files go into sys.modules from the server's code
    objects (as importing them from ``/sandbox`` would, without compiling them again)."""
    import importlib.util

    for name, text in files.items():
        code = trusted_code(name, text) if name != CANDIDATE_FILE else None
        if code is None:
            continue
        module_name = name[:-3]
        spec = importlib.util.spec_from_file_location(module_name, os.path.abspath(name))
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            exec(code, module.__dict__)
        except BaseException:
            sys.modules.pop(module_name, None)
            raise


def load_adapter(adapter: str):
    """The ``module:function`` that builds the entry's keyword arguments (None for ``-``)."""
    if adapter == "-":
        return None
    module_name, _, function = adapter.partition(":")
    sys.path.insert(0, os.getcwd())
    module = __import__(module_name)
    return getattr(module, function)


class Channel:
    """The job's two pipes: frames from the parent (kind byte, length, raw or npz bytes) on CMD_FD and
    length-prefixed JSON messages to it on REPLY_FD. The candidate can write here too; it can only
    garble its own result, and the parent times every call itself."""

    def __init__(self, cmd_fd: int, reply_fd: int, cap_bytes: int):
        self.cmd_fd, self.reply_fd, self.cap_bytes = cmd_fd, reply_fd, cap_bytes

    def read_exact(self, n: int) -> bytes:
        parts, left = [], n
        while left:
            chunk = os.read(self.cmd_fd, min(left, 1 << 20))
            if not chunk:
                os._exit(0)  # the parent is gone or gave up on this job
            parts.append(chunk)
            left -= len(chunk)
        return b"".join(parts)

    def receive(self) -> tuple:
        head = self.read_exact(5)
        return head[:1], self.read_exact(int.from_bytes(head[1:], "big"))

    def send(self, message: dict) -> None:
        try:
            text = json.dumps(message, allow_nan=True)
        except (ValueError, RecursionError) as e:  # e.g. a Python int too large for str()
            text = json.dumps({"status": "bad_output", "error": f"Result not serialisable: {e}"})
        if len(text) > self.cap_bytes:
            mb = 1024 * 1024
            msg = f"The return values take {len(text) / mb:.1f} MB as JSON (limit {self.cap_bytes // mb} MB)."
            text = json.dumps({"status": "bad_output", "error": msg})
        data = text.encode("utf-8")
        view = memoryview(len(data).to_bytes(4, "big") + data)
        while view:
            view = view[os.write(self.reply_fd, view):]


def call_arguments(payload: bytes, adapt, raw: bool = False) -> dict:
    """Keyword arguments of one call from its npz bytes (``raw``: see ``raw_arrays``): 0-d arrays
    become Python scalars."""
    import io

    kwargs = {}
    if raw:
        for name, value in raw_arrays(payload):
            kwargs[name] = value.item() if value.ndim == 0 else value
        return adapt(**kwargs) if adapt is not None else kwargs
    with np.load(io.BytesIO(payload), allow_pickle=False) as arrays:
        for name in arrays.files:
            value = arrays[name]
            kwargs[name] = value.item() if value.ndim == 0 else value
    return adapt(**kwargs) if adapt is not None else kwargs


def raw_arrays(payload: bytes) -> list:
    """(name, array) pairs of a raw call frame: a 4-byte length, a JSON list of [name, dtype,
    shape], then each array's bytes in C order (plain dtypes only; the parent sends others as npz).
    Each array is a writable copy, as np.load would give."""
    size = int.from_bytes(payload[:4], "big")
    offset, pairs = 4 + size, []
    for name, dtype, shape in json.loads(payload[4:offset]):
        dtype = np.dtype(dtype)
        count = math.prod(int(n) for n in shape)
        if count * dtype.itemsize:
            value = np.frombuffer(payload, dtype, count, offset).reshape(shape).copy()
        else:
            value = np.empty(shape, dtype)
        offset += count * dtype.itemsize
        pairs.append((str(name), value))
    if offset != len(payload):
        raise ValueError("malformed call frame")
    return pairs


def serve_calls(fn, channel: Channel, adapt) -> dict:
    """Answer the parent's calls until it says end. The parent times each round trip itself; the
    time measured here is only checked against it (a forged clock shows up as inconsistent)."""
    index = 0
    while True:
        kind, payload = channel.receive()
        if kind not in (b"C", b"R"):
            return {"status": "ok"}
        kwargs = call_arguments(payload, adapt, raw=kind == b"R")
        t0 = perf_counter()
        value = fn(**kwargs)
        dt = perf_counter() - t0
        try:
            encoded = encode(value)
        except BadOutput as e:
            where = f"result{e.path}" if e.path else "the result"
            return {"status": "bad_output", "error": f"Call {index + 1} returned {e.what} (at {where})."}
        channel.send({"out": encoded, "t": dt})
        index += 1


def run_job(entry: str, adapter: str, channel: Channel, files: dict) -> dict:
    install_trusted_support(files)
    adapt = load_adapter(adapter)
    try:
        module = load_candidate()
    except SyntaxError as e:
        return {"status": "syntax_error", "error": format_syntax_error(e)}
    fn, problem = find_entry(module, entry)
    if fn is None:
        return {"status": "error", "error": problem}
    channel.send({"ready": True})
    return serve_calls(fn, channel, adapt)


def guarded_job(entry: str, adapter: str, channel: Channel, files: dict) -> dict:
    try:
        return run_job(entry, adapter, channel, files)
    except CpuLimit:
        return {"status": "timeout", "error": "cpu"}
    except MemoryError as e:
        return {"status": "memory", "error": format_exception(e)}
    except Exception as e:
        return {"status": "error", "error": format_exception(e)}


def watch_lifeline(fd: int = 4) -> None:
    """Exit (ending the PID namespace, so every process of the candidate) once the parent is gone:
    its end of this pipe closes when it dies, e.g. a Ray worker killed mid-evaluation."""
    try:
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):  # absent when the harness is run by hand
            return
    except OSError:
        return

    def wait_then_exit() -> None:
        try:
            os.read(fd, 1)
        finally:
            os._exit(70)

    _thread.start_new_thread(wait_then_exit, ())


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


# --- the fork server ------------------------------------------------------------------------------
# ``--serve CONFIG``: set up once (confinement, numpy and the declared packages imported), then fork
# one job per request received on SOCKET_FD. Each request is JSON plus the job's descriptors:
# [cmd_r, reply_w, exit_w, lifeline_r, stdout, stderr] and optionally the run's cgroup.procs.
# The job's first process (trusted, never runs candidate code) enters new mount, PID, IPC (and
# network) namespaces, mounts a fresh size-capped tmpfs on /sandbox and forks the candidate's
# process, PID 1 of its namespace: when it ends, everything the candidate started ends with it.
# It kills that process when the parent closes the lifeline or the wall clock runs out, reaps it
# and reports its wait status and CPU time on exit_w.

SOCKET_FD = 5
CMD_FD, REPLY_FD = 3, 4
CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNET = 0x00020000, 0x08000000, 0x20000000, 0x40000000


def serve(config: dict) -> None:
    global np
    import socket

    faulthandler.enable()
    watch_lifeline()
    if config.get("nest"):  # warm: its jobs reuse these (a one-shot server has only one job)
        compile_trusted_modules(os.path.dirname(HARNESS_FILE))  # read before the root changes
    os.chdir(config["work"])
    spec = config.get("confine")
    if spec:
        confiner = Confiner(spec)
        confiner.build()
        confiner.enter()
    os.environ.update(HOME=os.getcwd(), TMPDIR=os.getcwd())
    sys.dont_write_bytecode = True
    sys.path.append(config["site_dir"])
    import numpy

    np = numpy
    warm_up()
    if config.get("nest"):
        for name in WARM_IMPORTS:  # what adrs's own sandbox-side modules import (about 2 ms per job)
            try:
                __import__(name)
            except ImportError:  # then a job imports it, as before
                pass
    for name in config.get("preload", []):  # the problem's declared packages, best effort
        try:
            __import__(name)
        except Exception:
            pass
    server = socket.socket(fileno=SOCKET_FD)
    import gc

    gc.collect()
    gc.freeze()  # the collector in a job leaves the server's objects alone: fewer copied pages
    report_started()
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(server, 1 << 22, 8)
        except InterruptedError:
            continue
        if not message:
            os._exit(0)  # the parent closed its end
        reap_jobs()
        try:
            pid = os.fork()
        except OSError:
            pid = -1
        if pid == 0:
            server.close()
            try:
                job_parent(config, json.loads(message), fds)
            finally:
                os._exit(71)
        for fd in fds:
            os.close(fd)


def warm_up() -> None:
    """Import and run once what every job uses (npz decoding, JSON, the seccomp filter), so no
    job pays for it."""
    import io

    buffer = io.BytesIO()
    np.savez(buffer, x=np.arange(3))
    call_arguments(buffer.getvalue(), None)
    head = b'[["x", "<i8", [2]]]'
    call_arguments(len(head).to_bytes(4, "big") + head + np.arange(2).tobytes(), None, raw=True)
    json.dumps(encode([np.arange(2), np.float64(1.0)]))
    built_namespace_filter()
    libc()
    import mmap  # noqa: F401 - for the job's 4 MB mapping check (importing it in a job: ~1.3 ms)

    traceback.TracebackException  # noqa: B018 - imported already; here for the record


def reap_jobs() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def job_parent(config: dict, job: dict, fds: list) -> None:
    """The job's trusted first process: namespaces and /sandbox, then the candidate's process."""
    cmd_r, reply_w, exit_w, lifeline_r, out_fd, err_fd, *rest = fds
    os.setsid()  # a group of its own, shared with the candidate's process, never the server's
    if config.get("nest"):
        import ctypes

        flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | (0 if job["network"] else CLONE_NEWNET)
        if libc().unshare(flags) != 0:
            raise OSError(ctypes.get_errno(), "unshare")
        Confiner({"root": ""}).mount("tmpfs", SANDBOX_DIR, "tmpfs", MS_NOSUID | MS_NODEV,
                                     f"size={int(job['disk_mb'])}m,mode=700")
    pid = os.fork()
    if pid == 0:
        os.close(exit_w)
        os.close(lifeline_r)
        job_child(config, job, [cmd_r, reply_w, out_fd, err_fd, *rest])
    for fd in (cmd_r, reply_w, out_fd, err_fd, *rest):
        os.close(fd)
    os.write(exit_w, (json.dumps({"pids": [os.getpid(), pid]}) + "\n").encode())  # so the parent can
    killed = watch_job(pid, lifeline_r, float(job["timeout_s"]))  # kill them if this one is stopped
    _, status, usage = os.wait4(pid, 0)
    report = {"wait_status": status, "cpu_s": usage.ru_utime + usage.ru_stime, "killed": killed}
    os.write(exit_w, (json.dumps(report) + "\n").encode())
    os._exit(0)


def watch_job(pid: int, lifeline_r: int, timeout_s: float) -> bool:
    """Wait for the candidate's process to end; kill it (and so its namespace) when the parent
    closes or writes to the lifeline, or after ``timeout_s`` plus a grace second."""
    import select

    deadline = time.monotonic() + timeout_s + 1.0
    poller = select.poll()
    poller.register(lifeline_r, select.POLLIN)
    try:
        pidfd = os.pidfd_open(pid)
        poller.register(pidfd, select.POLLIN)
    except (AttributeError, OSError):
        pidfd = None
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        events = poller.poll(min(remaining, 0.05 if pidfd is None else remaining) * 1000)
        if any(fd == lifeline_r for fd, _ in events):
            break
        if pidfd is not None and events:
            return False
        if pidfd is None and os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
            return False
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
    return True


def job_child(config: dict, job: dict, fds: list) -> None:
    """The candidate's process: limits, files, then the calls. Never returns; exits like a script
    would (code 1 on an uncaught exception, the code of a ``sys.exit`` outside a call)."""
    harness_pid = os.getpid()
    code = 1
    try:
        channel, message = prepare_and_run(config, job, fds)
        if os.getpid() != harness_pid:  # a child the candidate forked came back here: it reports nothing
            code = 0
        else:
            flush_std_streams()
            channel.send(message)
            code = 0
    except SystemExit as e:  # the candidate's sys.exit outside a call
        code = exit_code_of(e)
    except BaseException:
        if os.getpid() == harness_pid:
            traceback.print_exc()
    finally:
        try:
            flush_std_streams()
        finally:
            os._exit(code)  # skip atexit hooks and non-daemon threads of the candidate


def exit_code_of(e: SystemExit) -> int:
    if e.code is None:
        return 0
    if type(e.code) is int:
        return e.code & 0xFF
    print(e.code, file=sys.stderr)
    return 1


def prepare_and_run(config: dict, job: dict, fds: list):
    cmd_r, reply_w, out_fd, err_fd, *rest = fds
    passed = rest.pop(0) if job.get("pass_fd") else None  # e.g. a listening socket, as fd 5
    cgroup = rest
    libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # dies with the job's first process
    if cgroup:
        os.write(cgroup[0], b"0")  # join the run's pids cgroup before anything else can start
        os.close(cgroup[0])
    null = os.open("/dev/null", os.O_RDONLY)
    wanted = [null, out_fd, err_fd, cmd_r, reply_w] + ([passed] if passed is not None else [])
    sources = [fcntl.fcntl(fd, fcntl.F_DUPFD, 16) for fd in wanted]
    for target, source in enumerate(sources):  # moved above 16 first: no source is clobbered
        os.dup2(source, target)
    os.closerange(len(sources), 1 << 16)
    if config.get("confine"):
        Confiner({"root": ""}).drop_privileges()
        os.chdir(SANDBOX_DIR)
    else:
        os.chdir(job["dir"])
    for name, text in job["files"].items():
        with open(name, "w", encoding="utf-8") as f:
            f.write(text)
    os.environ.update(HOME=os.getcwd(), TMPDIR=os.getcwd())
    set_limits(int(job["cpu_s"]), int(job["memory_mb"]), int(job["file_size_mb"]), int(job["max_processes"]))
    deny_namespace_creation()  # after the job's namespaces and the limits, before candidate code
    for number in range(1, signal.NSIG):
        try:
            signal.signal(number, signal.SIG_DFL)
        except (OSError, ValueError, RuntimeError):
            pass
    signal.signal(signal.SIGXCPU, on_cpu_limit)
    try:
        import mmap

        mmap.mmap(-1, 4 << 20).close()  # the limits must leave room for a fresh 4 MB mapping
    except OSError:
        print("memory_mb leaves no room for a 4 MB allocation", file=sys.stderr)
        os._exit(75)
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(line_buffering=True)  # so prints before a kill reach the feedback
    channel = Channel(CMD_FD, REPLY_FD, int(job["file_size_mb"]) * 1024 * 1024)
    channel.send({"started": True})  # from here on, failures are the candidate's
    return channel, guarded_job(job["entry"], job["adapter"], channel, job["files"])


def main(argv: list) -> None:
    if argv[:1] == ["--probe"]:
        os._exit(probe(json.loads(argv[1]), argv[2]))
    if argv[:1] == ["--nsdeny-probe"]:
        os._exit(nsdeny_probe())
    if argv[:1] == ["--serve"]:
        serve(json.loads(argv[1]))
    print("usage: _harness.py --probe SPEC HIDDEN | --serve CONFIG", file=sys.stderr)
    os._exit(2)


if __name__ == "__main__":
    main(sys.argv[1:])
