"""Every limit the docs promise is enforced at its promise: each test pushes one limit and measures
the time (from this process) or the size (on the candidate's side: how far it got before the kernel
refused) at which it was enforced. Margins are generous (the machine may be loaded); a limit that
is not enforced, or enforced far too late, fails.

Limits: wall clock (``timeout_s``), CPU (``cpu_s``), memory (``memory_mb``), file size
(``file_size_mb``), disk (``disk_mb``), processes (``max_processes``), output size (stdout and the
result, both capped by ``file_size_mb``)."""

from __future__ import annotations

import os
import time
from dataclasses import replace

import numpy as np
import pytest

from adrs.sandbox import Limits, isolation_level, run_program

BASE = Limits(timeout_s=20.0, cpu_s=20, memory_mb=512, file_size_mb=4, max_processes=32, disk_mb=16)
ONE_CALL = [{"x": np.arange(1)}]
MB = 1024 * 1024


def timed(code: str, limits: Limits, calls=ONE_CALL, **options):
    started = time.monotonic()
    outcome = run_program(code, "f", calls, limits, **options)
    return outcome, time.monotonic() - started


def test_wall_clock_limit_stops_a_sleeper_at_its_promise() -> None:
    limits = replace(BASE, timeout_s=2.0)
    outcome, took = timed("import time\ndef f(x):\n    time.sleep(60)\n", limits)
    assert outcome.status == "timeout" and "2 s" in outcome.error, outcome.feedback()
    assert 2.0 <= outcome.wall_s <= 3.0, outcome.wall_s  # killed within the limit + 1 s
    assert took < 2.0 + 4.0, took  # start-up and teardown included


def test_cpu_limit_stops_a_busy_loop_after_its_cpu_seconds() -> None:
    limits = replace(BASE, cpu_s=1, timeout_s=30.0)
    outcome, took = timed("def f(x):\n    while True:\n        pass\n", limits)
    assert outcome.status == "timeout" and "CPU-time limit of 1 s" in outcome.error, outcome.feedback()
    # SIGXCPU at 1 s, SIGKILL at 2 s at the latest; the kernel checks the limit on scheduler ticks
    # and rusage accounts CPU time from ticks too, so the figure can read a little under 1 s
    assert 0.8 <= outcome.cpu_s <= 2.5, outcome.cpu_s
    assert took < 25.0, took  # long before the wall clock (even on a loaded machine)


MEMORY = """
def f(x):
    hog = []
    try:
        while True:
            hog.append(bytearray(8 * 1024 * 1024))
    except MemoryError:
        return len(hog) * 8
"""


def test_memory_limit_refuses_allocations_at_its_size() -> None:
    outcome, _ = timed(MEMORY, replace(BASE, memory_mb=400))
    assert outcome.status == "ok", outcome.feedback()
    reached = outcome.outputs[0]  # MB the program held when the next 8 MB were refused
    assert 400 - 250 <= reached <= 400, reached  # interpreter + numpy take the rest of the space


FILE_SIZE = """
def f(x):
    written = 0
    try:
        with open("big", "wb", buffering=0) as out:
            while True:
                written += out.write(b"0" * 65536)
    except OSError as err:
        return [written, err.errno]
"""


def test_file_size_limit_stops_a_file_at_its_size() -> None:
    outcome, _ = timed(FILE_SIZE, BASE)
    assert outcome.status == "ok", outcome.feedback()
    written, errno_ = outcome.outputs[0]
    assert written == BASE.file_size_mb * MB and errno_ == 27, (written, errno_)  # EFBIG


def test_stdout_is_capped_at_the_file_size_limit() -> None:
    code = ("import sys\ndef f(x):\n    n = 0\n    try:\n        while True:\n"
            "            n += sys.stdout.buffer.raw.write(b'x' * 65536)\n"
            "    except OSError as err:\n        return [n, err.errno]\n")
    outcome, _ = timed(code, BASE)
    assert outcome.status == "ok", outcome.feedback()
    written, errno_ = outcome.outputs[0]
    assert BASE.file_size_mb * MB - 65536 <= written <= BASE.file_size_mb * MB and errno_ == 27


@pytest.mark.parametrize(("extra", "status"), [(-4096, "ok"), (4096, "bad_output")])
def test_the_result_is_capped_at_the_file_size_limit(extra: int, status: str) -> None:
    size = BASE.file_size_mb * MB + extra - 100  # the JSON adds quotes and framing
    outcome, _ = timed(f"def f(x):\n    return 'a' * {size}\n", BASE)
    assert outcome.status == status, outcome.feedback()[:300]


DISK = """
import os
def f(x):
    total = 0
    try:
        for i in range(10**6):
            with open(f"fill{i}", "wb", buffering=0) as out:
                total += out.write(b"0" * (1024 * 1024))
    except OSError as err:
        return [total, err.errno]
"""


def test_disk_limit_stops_writes_at_its_size() -> None:
    if not isolation_level().startswith("private-root"):
        pytest.skip(f"the disk cap needs the private root; here: {isolation_level()}")
    outcome, _ = timed(DISK, BASE)
    assert outcome.status == "ok", outcome.feedback()
    total, errno_ = outcome.outputs[0]
    assert errno_ == 28 and (BASE.disk_mb - 3) * MB <= total <= BASE.disk_mb * MB, total  # ENOSPC


PROCESSES = """
import os, time
def f(x):
    children = []
    try:
        while True:
            pid = os.fork()
            if pid == 0:
                time.sleep(30)
                os._exit(0)
            children.append(pid)
    except OSError as err:
        return [len(children), err.errno]
"""


def test_process_limit_refuses_the_process_past_its_count() -> None:
    level = isolation_level()
    if "pids-cgroup" not in level and os.getuid() == 0:
        pytest.skip(f"no process cap for root without a pids cgroup; here: {level}")
    outcome, _ = timed(PROCESSES, BASE)
    assert outcome.status == "ok", outcome.feedback()
    started, errno_ = outcome.outputs[0]
    assert errno_ == 11 and BASE.max_processes - 8 <= started < BASE.max_processes, started  # EAGAIN
