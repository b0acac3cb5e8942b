"""Hostile candidates through the real SMTT evaluation path: each ends with its exact status, and
nothing outside the sandbox changes (project tree, a run database, a canary file, the network)."""

from __future__ import annotations

import hashlib
import os
import socket
import sqlite3
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from unittest import mock

import pytest

from adrs.evaluation import EvalResult, evaluate_program
from adrs.problem import load_problem
from adrs.sandbox import Limits, isolation_level, run_program
from tests.adversarial.programs import HOSTILE, Hostile, program
from tests.conftest import REPO
from tests.processes import processes_with_arg

# scipy declared: its package folder is bound read-only into every sandbox (adrs.sandbox_packages)
LIMITS = Limits(timeout_s=4.0, cpu_s=4, memory_mb=512, file_size_mb=4, max_processes=32, disk_mb=16,
                packages=("scipy",))
SECRET = "sk-adrs-test-secret-" + uuid.uuid4().hex
HONEST = {"edd": "def schedule(p, d):\n    return edd(p, d)\n",
          "identity": "def schedule(p, d):\n    return list(range(len(p)))\n"}


def supported(needs: str) -> str:
    """Empty if this host gives the isolation ``needs``; else why the case cannot hold here."""
    level = isolation_level()
    missing = {
        "private-root": not level.startswith("private-root"),
        "netns": "netns" not in level,
        "pidns": "pidns" not in level,
        "process-cap": "pids-cgroup" not in level and os.getuid() == 0,
        "no-root-caps": "userns" not in level and os.getuid() == 0,
        "": False,
    }[needs]
    return f"needs {needs}; this host's sandbox isolation is {level!r}" if missing else ""


def digest(paths: list[Path]) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths if p.is_file()}


class Host:
    """Things on the host a candidate must neither read nor change."""

    def __init__(self, root: Path) -> None:
        self.token = "adrs-pwned-" + uuid.uuid4().hex
        self.marker = f"{uuid.uuid4().int % 10**6 + 10**6}.25"  # argument of the daemons' sleep
        self.canary = root / "canary.txt"
        self.canary.write_text("do not touch\n")
        self.database = root / "runs" / "run-x" / "adrs.sqlite"
        self.database.parent.mkdir(parents=True)
        with sqlite3.connect(self.database) as db:
            db.execute("create table program (id integer primary key, code text)")
            db.execute("insert into program (code) values ('seed')")
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(8)
        self.server.setblocking(False)
        self.data_dir = root / "data"  # bound read-only into every sandbox, like a problem folder's data
        self.data_dir.mkdir()
        (self.data_dir / "data.bin").write_bytes(b"\0" * 4096)
        import scipy

        self.watched = [self.canary, self.database, *sorted((REPO / "problems" / "smtt").rglob("*.json")),
                        self.data_dir / "data.bin", Path(scipy.__file__)]
        self.before = digest(self.watched)
        self.forbidden = [REPO / "runs" / self.token, REPO / f"{self.token}.py", Path("/tmp") / self.token,
                          Path(scipy.__file__).parent / f"{self.token}.py", self.data_dir / self.token]

    def fill(self, code: str) -> str:
        import scipy
        import sqlalchemy

        visible = [p for p in (str(REPO), str(self.canary), "/etc/passwd", "/var") if os.path.exists(p)]
        values = {"scipy_dir": str(Path(scipy.__file__).parent), "data_dir": str(self.data_dir),
                  "undeclared": sqlalchemy.__file__,
                  "repo": str(REPO), "canary": str(self.canary), "database": str(self.database),
                  "token": self.token, "marker": self.marker, "secret": SECRET,
                  "port": str(self.server.getsockname()[1]), "visible": repr(visible)}
        for key, value in values.items():
            code = code.replace("{" + key + "}", value)
        return code

    def harm(self) -> list[str]:
        found = [f"{p} changed" for p, h in digest(self.watched).items() if self.before.get(p) != h]
        found += [f"{p} was created" for p in self.forbidden if p.exists()]
        if processes_with_arg(self.marker):
            found.append("a daemon outlived its evaluation")
        try:
            self.server.accept()
            found.append("a candidate connected to the loopback listener")
        except BlockingIOError:
            pass
        return found


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, EvalResult], dict, list[str]]:
    """Evaluate every runnable hostile program (two at a time), then inspect the host."""
    evaluator = load_problem("smtt").load_evaluator()  # may refresh its reference cache first
    host = Host(tmp_path_factory.mktemp("host"))
    runnable = [h for h in HOSTILE if not supported(h.needs)]
    jobs = {h.name: host.fill(h.code) for h in runnable}
    jobs.update({f"honest:{k}": program(v) for k, v in HONEST.items()})
    old = os.environ.get("OPENAI_API_KEY")
    os.environ["OPENAI_API_KEY"] = SECRET

    def with_data_bound(*args, **kwargs):  # as the OpenEvolve adapter binds a problem folder
        return run_program(*args, **kwargs, binds=[str(host.data_dir)])

    try:
        with ThreadPoolExecutor(2) as pool, mock.patch("adrs.evaluation.run_program", with_data_bound):
            futures = {name: pool.submit(evaluate_program, code, evaluator, "train", LIMITS)
                       for name, code in jobs.items()}
            results = {name: f.result() for name, f in futures.items()}
    finally:
        if old is None:
            os.environ.pop("OPENAI_API_KEY", None)
        else:
            os.environ["OPENAI_API_KEY"] = old
    harm = host.harm()
    host.server.close()
    for path in host.forbidden:
        if path.exists():
            path.unlink()
    honest = {k: results.pop(f"honest:{k}") for k in HONEST}
    return results, honest, harm


def test_there_are_at_least_30_hostile_programs() -> None:
    assert len({h.name for h in HOSTILE}) == len(HOSTILE) >= 30


@pytest.mark.parametrize("hostile", HOSTILE, ids=[h.name for h in HOSTILE])
def test_hostile_program_ends_with_its_exact_status(hostile: Hostile, outcomes) -> None:
    reason = supported(hostile.needs)
    if reason:
        pytest.skip(reason)
    results, honest, _ = outcomes
    result = results[hostile.name]
    assert result.status == hostile.status, result.feedback
    for word in hostile.words:
        assert word in result.feedback, result.feedback
    if hostile.score_of:
        reference = honest[hostile.score_of]
        assert reference.status == "ok", reference.feedback
        untimed = lambda metrics: {k: v for k, v in metrics.items() if not k.endswith(("_ms", "_s"))}  # noqa: E731
        assert result.score == reference.score
        assert untimed(result.metrics) == untimed(reference.metrics)
    else:
        assert result.score is None


def test_nothing_on_the_host_was_touched(outcomes) -> None:
    _, honest, harm = outcomes
    assert harm == []
    assert all(r.status == "ok" for r in honest.values())
