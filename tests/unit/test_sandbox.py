"""Real-process tests of adrs.sandbox: every test starts a sandboxed child."""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import numpy as np
import pytest

from adrs.sandbox import Limits, RunOutcome, SandboxError, isolation_level, run_program
from tests.processes import processes_with_arg

FAST = Limits(timeout_s=10.0, cpu_s=10, memory_mb=1024)
SHORT = Limits(timeout_s=1.5, cpu_s=10, memory_mb=1024)


def run(code: str, calls=None, limits: Limits = FAST, entry: str = "f", **options) -> RunOutcome:
    return run_program(code, entry, [{"x": np.arange(3)}] if calls is None else calls, limits, **options)


# --- ok ------------------------------------------------------------------------------------------


def test_round_trip_keeps_dtypes_shapes_and_nan():
    code = """
import numpy as np
def f(x, y):
    return {
        "f32": (x * 2).astype(np.float32), "bool": y > 0, "empty": np.zeros((0, 3), np.uint8),
        "nested": [1, (2.5, "s"), None, {"k": [True]}], "nan": float("nan"),
        "inf": np.float64(np.inf), "i": np.int16(7), "grid": np.arange(6).reshape(2, 3),
    }
"""
    calls = [{"x": np.arange(4.0), "y": np.array([-1, 1])}, {"x": np.ones(2), "y": np.zeros(1)}]
    out = run(code, calls)
    assert out.status == "ok", out.feedback()
    first = out.outputs[0]
    assert first["f32"].dtype == np.float32 and first["f32"].tolist() == [0, 2, 4, 6]
    assert first["bool"].dtype == np.bool_ and first["bool"].tolist() == [False, True]
    assert first["empty"].shape == (0, 3) and first["empty"].dtype == np.uint8
    assert first["grid"].shape == (2, 3) and first["grid"].dtype == np.int64
    assert first["nested"] == [1, [2.5, "s"], None, {"k": [True]}]
    assert math.isnan(first["nan"]) and first["inf"] == math.inf and first["i"] == 7
    assert type(first["i"]) is int
    assert out.outputs[1]["f32"].tolist() == [2, 2]
    assert len(out.call_times_s) == 2 and all(0 <= t < out.wall_s for t in out.call_times_s)
    assert out.feedback() == ""


def test_inputs_arrive_with_their_dtypes_shapes_and_values():
    code = """
import numpy as np
def f(**kw):
    out = {}
    for k, v in sorted(kw.items()):
        if isinstance(v, np.ndarray):
            v.flat[:1] = v.flat[:1]  # writable, as np.load gives
            out[k] = [v.dtype.str, list(v.shape), v.flags.c_contiguous, repr(v.tolist())]
        else:
            out[k] = [type(v).__name__, repr(v)]
    return out
"""
    call = {"text": np.array("prog ü\n"), "blob": np.array(b"\x00raw"), "big": np.arange(3, dtype=">i4"),
            "cplx": np.array([1 + 2j]), "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
            "empty": np.zeros((0, 2), np.uint8), "n": np.int64(5), "flag": np.bool_(True),
            "rec": np.zeros(1, dtype=[("a", "<i4")])}
    out = run(code, [call], entry="f")
    assert out.status == "ok", out.feedback()
    got = out.outputs[0]
    assert got["text"] == ["str", repr("prog ü\n")] and got["blob"] == ["bytes", repr(b"\x00raw")]
    assert got["n"] == ["int", "5"] and got["flag"] == ["bool", "True"]
    assert got["big"] == [">i4", [3], True, "[0, 1, 2]"]
    assert got["cplx"] == ["<c16", [1], True, "[(1+2j)]"]
    assert got["fortran"][:2] == ["<f8", [2, 3]] and got["fortran"][3] == "[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]"
    assert got["empty"] == ["|u1", [0, 2], True, "[]"]
    assert got["rec"][1] == [1] and got["rec"][3] == "[(0,)]"


def test_only_the_entry_call_is_timed():
    code = "import time\ntime.sleep(1.0)\ndef f(x):\n    time.sleep(0.05)\n    return 0\n"
    out = run(code)
    assert out.status == "ok"
    assert 0.04 < out.call_times_s[0] < 0.9 < out.wall_s


def test_inputs_are_fresh_copies_for_every_call():
    code = """
seen = []
def f(x):
    total = int(x.sum())
    x[:] = 99
    seen.append(x)
    return [total, len(seen)]
"""
    x = np.arange(4)
    out = run(code, [{"x": x}, {"x": x}])
    assert out.status == "ok", out.feedback()
    assert out.outputs == [[6, 1], [6, 2]]
    assert x.tolist() == [0, 1, 2, 3]


def test_candidate_gets_numpy_but_not_the_framework():
    code = """
import numpy
def f(x):
    try:
        import adrs
        return "adrs importable"
    except ImportError:
        return "no adrs"
"""
    out = run(code)
    assert out.outputs == ["no adrs"]


def test_no_calls_still_imports_the_program():
    out = run("def f(x):\n    return x\n", calls=[])
    assert out.status == "ok" and out.outputs == [] and out.call_times_s == []


# --- failures of the program --------------------------------------------------------------------


def test_syntax_error_reports_line():
    out = run("def f(x):\n    return x +\n")
    assert out.status == "syntax_error"
    assert "line 2" in out.feedback() and "SyntaxError" in out.feedback()


def test_exception_traceback_points_at_candidate_line():
    out = run("def f(x):\n    y = 1\n    return x[10]\n")
    assert out.status == "error"
    fb = out.feedback()
    assert 'candidate.py", line 3' in fb and "IndexError" in fb
    assert "during call 1 of 1" in fb
    assert "_harness.py" not in fb


def test_import_time_exception_is_an_error():
    out = run("raise ValueError('boom')\n")
    assert out.status == "error" and "boom" in out.feedback()
    assert "while importing the program" in out.feedback()


@pytest.mark.parametrize(
    "code, words", [("def g(x):\n    return x\n", ["no `f`", "g"]), ("f = 3\n", ["int", "not a function"])]
)
def test_missing_or_non_callable_entry(code, words):
    out = run(code)
    assert out.status == "error"
    assert all(w in out.feedback() for w in words)


@pytest.mark.parametrize(
    "body, words",
    [
        ("return object()", ["object"]),
        ("return {'a': [1, (x for x in [])]}", ["generator", "['a'][1]"]),
        ("return np.array([None])", ["dtype object"]),
        ("return {1: 2}", ["key of type int"]),
    ],
)
def test_untransportable_return_is_bad_output(body, words):
    out = run(f"import numpy as np\ndef f(x):\n    {body}\n")
    assert out.status == "bad_output"
    assert all(w in out.feedback() for w in words), out.feedback()


def test_forged_result_is_decoded_safely():
    forged = {"status": "ok", "call_times": [0.0]}
    forged["outputs"] = [{"__ndarray__": [1], "dtype": "object", "shape": [1]}]
    code = f"""
import os
def f(x):
    data = {json.dumps(json.dumps(forged))}.encode()
    for fd in range(3, 64):  # whichever descriptor carries the harness's result (a pipe or a file)
        try:
            os.write(fd, len(data).to_bytes(4, "big") + data)
        except OSError:
            pass
    os._exit(0)
"""
    out = run(code)
    assert out.status == "bad_output", out


def test_candidate_cannot_fake_a_host_failure():
    code = "import os, contextlib\nwith contextlib.suppress(OSError):\n    os.remove('progress')\n"
    code += "os._exit(1)\ndef f(x):\n    return 0\n"
    assert run(code).status == "crash"


def test_host_failure_before_the_candidate_runs_raises():
    with pytest.raises(SandboxError, match="before loading the candidate"):
        run("def f(x):\n    return 0\n", limits=Limits(timeout_s=10, memory_mb=20))


# --- limits -------------------------------------------------------------------------------------


def test_infinite_loop_times_out_on_wall_clock():
    out = run("def f(x):\n    while True:\n        pass\n", limits=SHORT)
    assert out.status == "timeout"
    assert out.wall_s < SHORT.timeout_s + 2
    assert "wall-clock" in out.feedback() and "during call 1 of 1" in out.feedback()


def test_sleep_times_out_and_feedback_names_the_call():
    code = "import time\ndef f(x):\n    if x[0] == 2:\n        time.sleep(100)\n    return 0\n"
    calls = [{"x": np.array([i])} for i in range(5)]
    out = run(code, calls, limits=SHORT)
    assert out.status == "timeout" and out.wall_s < SHORT.timeout_s + 2
    assert "during call 3 of 5" in out.feedback()
    assert len(out.call_times_s) == 2


def test_cpu_limit_is_a_timeout():
    limits = Limits(timeout_s=10, cpu_s=1, memory_mb=1024)
    out = run("def f(x):\n    while True:\n        pass\n", limits=limits)
    assert out.status == "timeout" and "CPU" in out.feedback()
    assert out.wall_s < 5


def test_cpu_limit_holds_when_sigxcpu_is_ignored():
    code = "import signal\nsignal.signal(signal.SIGXCPU, signal.SIG_IGN)\n"
    code += "def f(x):\n    while 1:\n        pass\n"
    out = run(code, limits=Limits(timeout_s=10, cpu_s=1, memory_mb=1024))
    assert out.status == "timeout" and "CPU" in out.feedback()


def test_result_larger_than_file_size_limit_is_bad_output():
    limits = Limits(timeout_s=10, cpu_s=10, memory_mb=1024, file_size_mb=1)
    out = run("import numpy as np\ndef f(x):\n    return np.random.rand(200_000)\n", limits=limits)
    assert out.status == "bad_output" and "limit 1 MB" in out.feedback()


@pytest.mark.parametrize(
    "body",
    ["a = np.ones(10**9)", "a = []\n    while True:\n        a.append(bytearray(10**7))"],
)
def test_memory_bomb_is_memory(body):
    limits = Limits(timeout_s=10, cpu_s=10, memory_mb=400)
    out = run(f"import numpy as np\ndef f(x):\n    {body}\n", limits=limits)
    assert out.status == "memory", out.feedback()
    assert "400 MB" in out.feedback()


@pytest.mark.parametrize(
    "code, words",
    [
        ("import os\ndef f(x):\n    os._exit(3)\n", ["code 3"]),
        ("import sys\ndef f(x):\n    sys.exit(0)\n", ["code 0"]),
        ("import ctypes\ndef f(x):\n    ctypes.string_at(0)\n", ["SIGSEGV"]),
    ],
)
def test_process_death_is_crash(code, words):
    out = run(code)
    assert out.status == "crash"
    assert all(w in out.feedback() for w in words), out.feedback()


def test_file_larger_than_limit_cannot_be_written():
    limits = Limits(timeout_s=10, cpu_s=10, memory_mb=1024, file_size_mb=1)
    code = "def f(x):\n    with open('big', 'wb') as fh:\n        fh.write(b'0' * 2_000_000)\n"
    out = run(code, limits=limits)
    assert out.status == "error" and "File too large" in out.feedback()


@pytest.mark.parametrize("hang, new_session", [(False, False), (True, False), (False, True)])
def test_grandchildren_are_killed(hang, new_session):
    marker = f"{uuid.uuid4().int % 10**6 + 10**6}.5"
    code = f"""
import subprocess, time
def f(x):
    subprocess.Popen(["sleep", "{marker}"], start_new_session={new_session})
    time.sleep({100 if hang else 0})
    return 0
"""
    out = run(code, limits=SHORT)
    assert out.status == ("timeout" if hang else "ok"), out.feedback()
    assert processes_with_arg(marker) == []


# --- isolation -----------------------------------------------------------------------------------


def test_isolation_level_is_described():
    level = isolation_level()
    assert "rlimits" in level and level == isolation_level()
    assert level.split(":")[0] in ("private-root", "namespaces", "rlimits-only")


@pytest.mark.skipif(not isolation_level().startswith("private-root"), reason="no private root here")
def test_private_root_holds_only_the_program_python_and_numpy():
    code = """
import os, sys
def f(x):
    site = [p for p in sys.path if p.endswith("-packages")][0]
    return [os.getcwd(), sorted(os.listdir(".")), sorted(os.listdir("/")), sorted(os.listdir(site)),
            os.environ["HOME"]]
"""
    out = run(code, support={"helper.py": "X = 1\n"})
    cwd, here, root, site, home = out.outputs[0]
    assert cwd == home == "/sandbox" and here == ["candidate.py", "helper.py"]
    python_top = {Path(p).resolve().parts[1] for p in (sys.prefix, sys.base_prefix)}
    allowed = {"bin", "dev", "lib", "lib32", "lib64", "libx32", "sandbox", "sbin", "tmp", "usr"} | python_top
    assert set(root) <= allowed and not set(root) & {"etc", "proc", "sys", "var", "home"}
    assert all(name.startswith("numpy") for name in site) and "numpy" in site


def test_environment_is_minimal(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret")
    out = run("import os\ndef f(x):\n    return dict(os.environ)\n")
    env = out.outputs[0]
    assert "OPENAI_API_KEY" not in env and "sk-very-secret" not in json.dumps(env)
    allowed = {"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "PYTHONHASHSEED"}
    allowed |= {"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"}
    assert set(env) <= allowed and env["HOME"] == env["TMPDIR"]


@pytest.mark.skipif("userns" not in isolation_level(), reason="no user namespace")
def test_parent_environment_not_readable_through_proc():
    code = f"""
def f(x):
    try:
        return open("/proc/{os.getpid()}/environ", "rb").read().decode(errors="replace")
    except OSError as e:
        return type(e).__name__
"""
    expected = "FileNotFoundError" if isolation_level().startswith("private-root") else "PermissionError"
    assert run(code).outputs == [expected]  # no /proc at all inside a private root


def test_work_dir_is_removed_even_after_timeout(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    code = "import os, time\ndef f(x):\n    print(os.getcwd(), flush=True)\n    time.sleep(100)\n"
    out = run(code, limits=SHORT)
    assert out.status == "timeout" and out.stdout.strip()
    ok = run("import os\ndef f(x):\n    open('scratch', 'w').write('x')\n    return os.getcwd()\n")
    assert ok.status == "ok"
    assert list(tmp_path.iterdir()) == []


def test_output_tails_are_bounded():
    out = run("def f(x):\n    print('y' * 100_000)\n    raise RuntimeError('late')\n")
    assert out.status == "error"
    assert len(out.stdout) < 5000 and "late" in out.feedback()


@pytest.mark.skipif("netns" not in isolation_level(), reason="no network namespace")
def test_no_network():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    code = f"""
import socket
import subprocess
def f(x):
    try:
        socket.create_connection(("127.0.0.1", {port}), timeout=2).close()
        return "connected"
    except OSError as e:
        return type(e).__name__
"""
    try:
        out = run(code)
    finally:
        server.close()
    assert out.status == "ok" and out.outputs[0] != "connected"


def test_work_dirs_of_dead_processes_are_removed(tmp_path, monkeypatch):
    from adrs import sandbox

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    stale, live = tmp_path / f"adrs-sandbox-{dead}-abc", tmp_path / f"adrs-sandbox-{os.getpid()}-abc"
    for path in (stale, live):
        path.mkdir()
        (path / "candidate.py").write_text("x = 1\n")
    sandbox._remove_stale_work_dirs()
    assert not stale.exists() and live.exists()


@pytest.mark.skipif(not isolation_level().startswith("private-root"), reason="no private root here")
def test_private_root_works_when_python_lives_under_tmp(tmp_path: Path):
    """A virtual environment under /tmp (as on CI machines) must not cost the private root.

    Its site-packages gets a .pth naming this environment's site directory (numpy) and the project
    (adrs): --system-site-packages would see the base interpreter's packages, not this virtualenv's,
    which fails where adrs and numpy are installed only in a virtualenv (the README's set-up)."""
    import numpy

    venv = Path(tempfile.mkdtemp(prefix="adrs-venv-", dir="/tmp"))
    try:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
        site_dir = next(venv.glob("lib/python3*/site-packages"))
        ours = Path(numpy.__file__).resolve().parent.parent
        (site_dir / "ours.pth").write_text(f"{ours}\n{Path(__file__).resolve().parents[2]}\n")
        code = "from adrs.sandbox import isolation_level\nprint(isolation_level())"
        out = subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True,
                             check=True, cwd=tmp_path)
        assert out.stdout.startswith("private-root"), out.stdout + out.stderr
    finally:
        subprocess.run(["rm", "-rf", str(venv)], check=False)


def test_removing_a_work_dir_never_changes_its_parent(tmp_path: Path) -> None:
    """A work dir already removed (e.g. by another campaign's stale-dir cleanup) must not make the
    cleanup chmod the parent: it once turned /tmp into 0700 for everyone."""
    from adrs.sandbox import _remove_tree

    parent = tmp_path / "shared-tmp"
    parent.mkdir()
    parent.chmod(0o1777)
    locked = parent / "work" / "locked"
    locked.mkdir(parents=True)
    (locked / "f").write_text("x")
    locked.chmod(0o000)  # a candidate made part of its tree unreadable
    _remove_tree(parent / "work")
    _remove_tree(parent / "gone")  # nothing there at all
    assert not (parent / "work").exists()
    assert parent.stat().st_mode & 0o7777 == 0o1777
