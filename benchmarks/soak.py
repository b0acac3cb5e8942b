"""Hostile soak: a long smtt campaign (offline proposer) where about 1 in 10 candidates is hostile,
the driver is SIGKILLed at random moments and resumed, and nothing may leak or slow down.

The driver (this script with ``--drive``) runs the campaign in its own process with the sandbox
users get (``LocalExecutor``: evaluations in threads, each candidate in the sandbox) and short limits
(2 s wall clock, 2 s CPU), so a hang costs seconds. Its proposer is the offline mutator, except that
about one candidate in ten (chosen from the candidate's own seed, so a resumed run re-creates the
same ones) is one of the hostile programs of ``tests/adversarial/programs.py`` spliced into the
EVOLVE-BLOCK: hang, fork bomb, memory bomb, huge output, segfault, disk fill, daemon that outlives
its parent. Its proposal note says ``soak hostile NAME``, which the end check reads back.

Workload: ``benchmarks/soak_smtt`` (``--problem``), the smtt problem with the real smtt evaluator
and its reference cache, 20 instances of n = 20 per split, whose seed evolves only a static sort
rule ``priority`` (one call per instance; ``improve`` has no loop) and refuses a rule over 128
bytes of bytecode (a parsimony limit outside the EVOLVE-BLOCK). The rate criterion (candidates/s
of the last 1,000 within 20 % of the first 1,000) is there to catch the *driver* slowing down:
leaks, queries that grow with the lineage, selection over a growing population. On
``problems/smtt`` the workload itself drifts: the offline mutator's named-constant edits raise
``improve``'s loop counts ``passes`` / ``window`` (jumps up to 200) and selection keeps them (more
local search, lower tardiness), so the mean sandbox time of a candidate grows from about 0.1 s to
the 2 s cap within a few hundred candidates and the rate halves whatever the driver does; and
crossover bloats rules past the mutator's size limit (median 9 -> 137 nodes in 5,000 candidates),
which slows the mutator on the driver's loop. The soak workload keeps that cost flat while
everything the criterion is about stays real: the same loop, planner (islands, tournaments,
inspirations over the whole stored population), duplicate index, database writes and resumes
over a lineage that grows to 10,000 programs. We do not switch to best-of-n or a fixed parent:
that would bypass the selection and database paths whose slowdown the criterion must catch. One
drift remains: as the population converges, more candidates duplicate a stored program (30 % of
the first 1,000, 49 % of the last with ``--seed 0``) and cost no sandbox time. So each window also
reports the mean sandbox time per candidate (``eval_s``), the driver overhead per candidate (wall
time not explained by evaluations running on all workers, ``(wall - sum(eval_s) / workers) / n``)
and each checkpoint the driver's own CPU ms per candidate (load-independent); ``WARN`` marks those
that moved more than 20 %. ``--problem problems/smtt`` runs the drifting workload.

The monitor (this script) watches the database read-only and every ``--every`` candidates records:
driver RSS, open file descriptors, processes under the driver and zombies among them, sandbox temp
directories and cgroups of our drivers, database size and candidates/s. Fds and processes are
sampled every 50 ms until they are back at the driver's baseline (the lowest count seen at its
first checkpoint: between candidates) or ``SETTLE_S`` pass; a checkpoint that never gets back there
fails the check (one leaked fd or process is enough). At ``--kills`` random moments it SIGKILLs the
driver, reads what had finished, and resumes with a new driver (the pause until the new driver
starts is left out of the rates; the new driver's start-up is not). At the end it checks the
issue's criteria, prints one ok/FAIL line per criterion (and writes them as JSON with ``--json``)::

    nice python benchmarks/soak.py [--candidates 10000] [--kills 5] [--every 500] [--seed 0]

Figures are comparisons within one run on whatever machine runs it; report ``uptime`` beside them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import zlib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests.adversarial.programs (the hostile suite)

DB_FILE = "soak.sqlite"
RUN_ID_FILE = "run_id"
PROBLEM = REPO / "benchmarks" / "soak_smtt"
SAMPLES = 30  # at least this many samples 50 ms apart per checkpoint (the first of a driver: its baseline)
SETTLE_S = 10.0  # then sample until fds and processes are back at the driver's baseline, this long at most
WORKERS = 2  # evaluation threads of the driver
WINDOW = 1000  # candidates in the first and last rate windows
HOSTILE_EVERY = 10
HOSTILE_NAMES = ("infinite_loop", "fork_bomb", "memory_bomb", "huge_stdout", "segfault_ctypes",
                 "disk_fill", "daemon_outlives_call")
# The status each hostile must end with: the hostile suite's, except that under a 2 s wall clock a
# fork bomb on a loaded machine may be stopped by the clock before its fork fails (both contain it).
ALSO_ACCEPTED = {"fork_bomb": ("timeout",)}
LIMITS = {"timeout_s": 2.0, "cpu_s": 2, "memory_mb": 512, "file_size_mb": 4, "max_processes": 32,
          "disk_mb": 16}


# --- the driver (a process of its own, so it can be SIGKILLed) ------------------------------------


def marker_for(work: Path) -> str:
    """The argument of the daemons' ``sleep`` (unique to this soak, so leftovers can be found)."""
    return f"{1_000_000 + zlib.crc32(str(work).encode()) % 10**6}.5"


def hostile_program(parent_code: str, name: str, seed: int, marker: str) -> str:
    """``parent_code`` with the hostile program ``name`` inside its EVOLVE-BLOCK, called by improve."""
    from tests.adversarial.programs import HOSTILE

    hostile = next(h for h in HOSTILE if h.name == name)
    body = hostile.code.replace("{marker}", marker).replace("def schedule(p, d):",
                                                             "def _hostile_schedule(p, d):")
    insert = (f"\nSOAK_HOSTILE = ({name!r}, {seed})\n{body}\n\n"
              "def improve(p, d, seq):\n    return list(_hostile_schedule(p, d))\n\n")
    lines = parent_code.split("\n")
    end = next(i for i, line in enumerate(lines) if "EVOLVE-BLOCK-END" in line)
    return "\n".join(lines[:end] + insert.split("\n") + lines[end:])


class HostileMix:
    """The offline proposer, with every ``HOSTILE_EVERY``-th candidate (by its seed) hostile."""

    def __init__(self, inner, marker: str, every: int) -> None:
        self.inner, self.marker, self.every = inner, marker, every
        self.name, self.templates, self.concurrency = inner.name, inner.templates, inner.concurrency

    async def propose(self, prompt):
        from adrs.proposer import Proposal

        if prompt.seed % self.every:
            return await self.inner.propose(prompt)
        name = HOSTILE_NAMES[(prompt.seed // self.every) % len(HOSTILE_NAMES)]
        code = hostile_program(prompt.parent.code, name, prompt.seed, self.marker)
        return Proposal(text=f"```python\n{code}\n```", kind="rewrite", proposer=self.inner.name,
                        note=f"soak hostile {name}")

    def observe(self, model: str, improved: bool) -> None:
        self.inner.observe(model, improved)

    def restore(self, model: str, cost_usd: float, failed: bool, improved: bool | None) -> None:
        self.inner.restore(model, cost_usd, failed, improved)


def drive(work: Path, candidates: int, seed: int, hostile_every: int, problem: Path) -> None:
    """Start (or resume, when ``work`` holds a run) the soak campaign and run it to its budget."""
    from adrs.campaign import new_campaign, resume_campaign
    from adrs.config import load_run_config
    from adrs.evolve import evolve
    from adrs.executor import LocalExecutor

    url = f"sqlite:///{work / DB_FILE}"
    id_file = work / RUN_ID_FILE
    if id_file.exists():
        campaign = resume_campaign(id_file.read_text(), work / "runs", url, budget=candidates)
    else:
        config = load_run_config(overrides={
            "evolution": {"budget": candidates, "workers": WORKERS, "seed": seed, "max_evaluator_errors": 10},
            "db": {"runs_dir": str(work / "runs"), "url": url}})
        campaign = new_campaign(str(problem), config)
        id_file.write_text(campaign.run_id)
    evolution = replace(campaign.config.evolution, max_time_s=None)  # the budget alone ends it
    campaign.config = replace(campaign.config, evolution=evolution)
    campaign.limits = replace(campaign.limits, **LIMITS)
    campaign.proposer = HostileMix(campaign.proposer, marker_for(work), hostile_every)
    campaign.executor = LocalExecutor(campaign.spec.load_evaluator, campaign.limits,
                                      campaign.config.evolution.workers)
    asyncio.run(evolve(campaign))


# --- the monitor ----------------------------------------------------------------------------------


@dataclass
class Checkpoint:
    candidates: int
    elapsed_s: float
    driver_pid: int
    rss_mb: float
    fds: int
    processes: int  # under the driver, itself included
    zombies: int
    temp_dirs: int
    cgroups: int
    db_mb: float
    rate: float  # candidates/s since the previous checkpoint (pauses between drivers left out)
    samples: int  # fds / processes samples taken (SAMPLES, more until back at the baseline)
    cpu_s: float = 0.0  # the driver's own CPU time so far (not its sandboxes'): load-independent
    cpu_ms: float | None = None  # driver CPU ms per candidate since its previous checkpoint
    gone: bool = False  # the driver ended while it was sampled (its figures are left out)
    zombie_seen: list[str] = field(default_factory=list)  # the zombies, when some never went


@dataclass
class Soak:
    work: Path
    candidates: int
    seed: int
    hostile_every: int = HOSTILE_EVERY
    problem: Path = PROBLEM
    every: int = 500  # candidates between checkpoints
    started: float = field(default_factory=time.monotonic)
    drivers: list[int] = field(default_factory=list)
    checkpoints: list[Checkpoint] = field(default_factory=list)
    crossed: dict[int, float] = field(default_factory=dict)  # candidate count -> elapsed s
    kills: list[dict] = field(default_factory=list)
    lost: int = 0
    after_kill: list[dict] = field(default_factory=list)  # leftovers seen after each kill
    baselines: dict[int, tuple[int, int]] = field(default_factory=dict)  # driver pid -> (fds, procs)
    pauses: list[tuple[float, float]] = field(default_factory=list)  # no driver ran (kill -> start)
    stopped_at: int | None = None  # --max-time-s ran out after this many candidates
    budget: int = 0

    def start_driver(self) -> subprocess.Popen:
        cmd = [sys.executable, __file__, "--drive", str(self.work), "--candidates",
               str(self.candidates), "--seed", str(self.seed), "--hostile-every",
               str(self.hostile_every), "--problem", str(self.problem)]
        log = open(self.work / f"driver-{len(self.drivers)}.log", "wb")  # noqa: SIM115
        driver = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=self.work)
        log.close()
        self.drivers.append(driver.pid)
        return driver

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def wall(self, start: float, end: float) -> float:
        """Seconds between two elapsed times during which a driver ran (kill pauses left out)."""
        paused = sum(max(0.0, min(end, b) - max(start, a)) for a, b in self.pauses)
        return end - start - paused


def done_count(db: Path) -> int:
    """Candidates (not the seed) stored so far, read-only."""
    rows = read_rows(db, "select count(*) from program where seq > 0")
    return int(rows[0][0]) if rows else 0


def read_rows(db: Path, query: str) -> list[tuple]:
    if not db.exists():
        return []
    for _ in range(50):
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
                return conn.execute(query).fetchall()
        except sqlite3.OperationalError:  # the schema is not there yet, or a busy moment
            time.sleep(0.1)
    return []


def descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                todo += [int(c) for c in Path(f"/proc/{p}/task/{task}/children").read_text().split()]
            except OSError:
                pass
    return found


def state_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return "X"


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system, all threads) the process used; its children not included."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def open_fds(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def our_temp_dirs(pids: list[int]) -> list[Path]:
    tmp = Path(tempfile.gettempdir())
    return [p for pid in pids for p in tmp.glob(f"adrs-sandbox-{pid}-*")]


def our_cgroups(pids: list[int]) -> list[Path]:
    from adrs.sandbox import _detect_isolation

    parent = _detect_isolation().cgroup
    if parent is None:
        return []
    return [p for pid in pids for p in parent.glob(f"adrs-sandbox-{pid}-*")]


def harness_processes(drivers: list[int]) -> list[int]:
    """Live sandbox processes of our drivers: the harness of this checkout in their command line,
    with a work folder named after one of the drivers (``adrs-sandbox-PID-``; another soak or test
    running beside this one has its own)."""
    from adrs.sandbox import HARNESS

    needle = str(HARNESS).encode()
    ours = [f"adrs-sandbox-{pid}-".encode() for pid in drivers]
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                cmdline = Path(f"/proc/{entry.name}/cmdline").read_bytes()
                if needle in cmdline and any(o in cmdline for o in ours) \
                        and state_of(int(entry.name)) not in "ZX":
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def daemons(marker: str) -> list[int]:
    from tests.processes import processes_with_arg

    return processes_with_arg(marker)


def tree_sample(pid: int) -> tuple[int, int, list[str]]:
    """(fds of the driver, live processes under it (itself included), its zombies as
    "name (pid) of parent name")."""
    tree = descendants(pid)
    states = [state_of(p) for p in tree]
    zombies = [describe(p) for p, s in zip(tree, states, strict=True) if s == "Z"]
    return open_fds(pid), sum(s not in "ZX" for s in states), zombies


def describe(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        parent = int(stat.rpartition(")")[2].split()[1])
        name = Path(f"/proc/{parent}/comm").read_text().strip()
        return f"{stat.split('(', 1)[1].rpartition(')')[0]} ({pid}) of {name} ({parent})"
    except (OSError, ValueError, IndexError):
        return f"({pid})"


def checkpoint(soak: Soak, driver: subprocess.Popen, count: int) -> Checkpoint:
    """Figures at ``count`` candidates. Fds and processes: the lowest of at least ``SAMPLES``
    samples, sampled on until they are back at this driver's baseline (its first checkpoint's
    lowest) or ``SETTLE_S`` pass; zombies: the lowest (one between exit and reap is no leak)."""
    rss, cpu = rss_mb(driver.pid), cpu_s(driver.pid)
    baseline = soak.baselines.get(driver.pid)
    deadline = time.monotonic() + SETTLE_S
    fds, procs, zombies, samples, seen = math.inf, math.inf, math.inf, 0, []
    while True:
        f, p, z = tree_sample(driver.pid)
        fds, procs, zombies, samples = min(fds, f), min(procs, p), min(zombies, len(z)), samples + 1
        seen = z or seen
        back = (baseline is None or (fds <= baseline[0] and procs <= baseline[1])) and zombies == 0
        if samples >= SAMPLES and (back or time.monotonic() > deadline):
            break
        time.sleep(0.05)
    if driver.poll() is not None:  # it finished while we sampled: no figures of a live driver
        return replace(Checkpoint(count, round(soak.elapsed(), 1), driver.pid, 0, 0, 0, 0, 0, 0, 0,
                                  0, samples), gone=True)
    soak.baselines.setdefault(driver.pid, (fds, procs))
    elapsed = soak.elapsed()
    previous = soak.checkpoints[-1] if soak.checkpoints else None
    span = soak.wall(previous.elapsed_s if previous else 0.0, elapsed)
    same = previous is not None and previous.driver_pid == driver.pid and not previous.gone
    cpu_ms = round(1000 * (cpu - previous.cpu_s) / (count - previous.candidates), 1) if same else None
    rate = (count - (previous.candidates if previous else 0)) / span if span > 0 else 0.0
    db = soak.work / DB_FILE
    db_mb = sum(p.stat().st_size for p in (db, db.with_name(DB_FILE + "-wal")) if p.exists()) / 2**20
    return Checkpoint(count, round(elapsed, 1), driver.pid, round(rss, 1), fds, procs, zombies,
                      len(our_temp_dirs(soak.drivers)), len(our_cgroups(soak.drivers)),
                      round(db_mb, 1), round(rate, 2), samples, round(cpu, 2), cpu_ms,
                      zombie_seen=seen[:3] if zombies else [])


def finished_rows(db: Path) -> dict[int, tuple]:
    return {row[0]: row[1:] for row in read_rows(db, "select seq, id, status, score, code from program")}


def kill_driver(soak: Soak, driver: subprocess.Popen, count: int) -> None:
    paused = soak.elapsed()
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    finished = finished_rows(soak.work / DB_FILE)
    time.sleep(3.0)  # the sandboxes of the dead driver end themselves (lifeline pipe)
    soak.after_kill.append({"at": count, "harness_processes": len(harness_processes(soak.drivers)),
                            "daemons": len(daemons(marker_for(soak.work)))})
    soak.kills.append({"at": count, "finished": finished})
    soak.pauses.append((paused, soak.elapsed()))  # the monitor's own work; the next driver starts now


def run_soak(work: Path, candidates: int, kills: int, every: int, seed: int,
             hostile_every: int = HOSTILE_EVERY, max_time_s: float = math.inf,
             problem: Path = PROBLEM) -> Soak:
    soak = Soak(work, candidates, seed, hostile_every, problem, every)
    rng = random.Random(seed)
    kill_at = sorted(rng.sample(range(max(1, candidates // 20), max(2, candidates * 19 // 20)), kills))
    next_mark = every
    driver = soak.start_driver()
    while True:
        exited = driver.poll() is not None  # before counting: its last rows are then counted too
        count = done_count(work / DB_FILE)
        now = soak.elapsed()  # one time per poll: counts seen together are not told apart
        for mark in range(len(soak.crossed) + 1, count + 1):
            soak.crossed.setdefault(mark, now)
        if kill_at and count >= kill_at[0] and not exited:
            kill_at.pop(0)
            kill_driver(soak, driver, count)
            print(json.dumps({"killed_at": count, **soak.after_kill[-1]}), flush=True)
            driver = soak.start_driver()
            continue
        while not exited and count >= next_mark and next_mark <= candidates:
            soak.checkpoints.append(checkpoint(soak, driver, next_mark))
            print(json.dumps(asdict(soak.checkpoints[-1])), flush=True)
            next_mark += every
        if not exited and time.monotonic() - soak.started > max_time_s:  # out of time: stop here
            driver.send_signal(signal.SIGTERM)  # the run is marked interrupted, resumable
            driver.wait()
            soak.stopped_at = done_count(work / DB_FILE)
            soak.candidates, budget = soak.stopped_at, soak.candidates
            soak.start_driver().wait()  # resumed with the budget it reached: cleans up and ends
            soak.candidates, soak.budget = budget, budget
            break
        if exited:
            if driver.returncode != 0:
                log = (work / f"driver-{len(soak.drivers) - 1}.log").read_text()[-3000:]
                raise SystemExit(f"the driver failed (exit {driver.returncode}):\n{log}")
            break
        time.sleep(0.2)
    return soak


def stored_in_order(db: Path) -> list[tuple]:
    """(seq, status, eval_s, note, carries hostile code) of every stored candidate in the order it
    was stored: row k is the one that brought the count to k + 1."""
    return read_rows(db, "select seq, status, eval_s, note, instr(code, 'SOAK_HOSTILE') > 0 "
                         "from program where seq > 0 order by id")


def window(soak: Soak, stored: list[tuple], lo: int, hi: int) -> dict:
    """Figures of the candidates that brought the count from ``lo`` to ``hi``: candidates/s over
    the wall time drivers ran, mean sandbox time per candidate, driver overhead per candidate."""
    if lo not in soak.crossed or hi not in soak.crossed or hi <= lo or len(stored) < hi:
        return {}
    rows = stored[lo:hi]
    wall = soak.wall(soak.crossed[lo], soak.crossed[hi])
    if wall <= 0:  # both counts seen by the same poll (5 a second): too few candidates to time
        return {}
    eval_s = sum(r[2] for r in rows)
    n = hi - lo
    return {"from": lo, "to": hi, "wall_s": round(wall, 1), "rate": round(n / wall, 2),
            "eval_s": round(eval_s / n, 3), "overhead_ms": round(1000 * (wall - eval_s / WORKERS) / n, 1),
            "duplicates": sum(r[1] == "duplicate" for r in rows),
            "hostile": sum("soak hostile " in (r[3] or "") for r in rows),
            # descendants of a hostile parent (a daemon scores ok): not counted as hostile
            "inherited_hostile": sum(bool(r[4]) and "soak hostile " not in (r[3] or "") for r in rows),
            "timeouts": sum(r[1] == "timeout" for r in rows)}


def hostile_statuses(stored: list[tuple]) -> tuple[dict, list]:
    """Statuses of the hostile candidates (by the note ``soak hostile NAME`` of their proposal)
    and those whose status is not the one the hostile suite expects."""
    from tests.adversarial.programs import HOSTILE

    expected = {h.name: (h.status, *ALSO_ACCEPTED.get(h.name, ())) for h in HOSTILE}
    by_hostile: dict[str, dict[str, int]] = {}
    wrong = []
    for seq, status, _, note, _ in stored:
        if "soak hostile " not in (note or ""):
            continue
        name = note.split("soak hostile ", 1)[1].split()[0].rstrip(";")
        by_hostile.setdefault(name, {}).setdefault(status, 0)
        by_hostile[name][status] += 1
        if status not in expected[name]:
            wrong.append({"seq": seq, "hostile": name, "status": status, "expected": expected[name]})
    return by_hostile, wrong


def back_at_baseline(soak: Soak) -> tuple[dict, bool]:
    """Every checkpoint of a driver got back to the fds and processes of that driver's first."""
    over = [{"at": c.candidates, "fds": c.fds, "processes": c.processes,
             "baseline": soak.baselines[c.driver_pid]} for c in soak.checkpoints
            if not c.gone and (c.fds > soak.baselines[c.driver_pid][0]
                               or c.processes > soak.baselines[c.driver_pid][1])]
    lives = {str(pid): list(b) for pid, b in soak.baselines.items()}
    return {"baselines (fds, processes) per driver": lives, "not back": over[:20]}, not over


def lives(checkpoints: list[Checkpoint]) -> dict[int, list[Checkpoint]]:
    """Checkpoints by driver process."""
    found: dict[int, list[Checkpoint]] = {}
    for c in checkpoints:
        found.setdefault(c.driver_pid, []).append(c)
    return found


def verdict(soak: Soak) -> dict:
    """The issue's Done-when criteria, each with its figures and whether it holds; ``info``: the
    figures that tell a slower driver from a costlier workload."""
    db = soak.work / DB_FILE
    rows = finished_rows(db)
    lost = sum(1 for kill in soak.kills for seq, row in kill["finished"].items() if rows.get(seq) != row)
    stored = stored_in_order(db)
    hostile, wrong = hostile_statuses(stored)
    n = soak.candidates if soak.stopped_at is None else soak.stopped_at
    size = min(WINDOW, max(1, n // 10))
    top = min(n, len(stored), max(soak.crossed, default=0))
    # the first window starts at the first stored candidate (the driver's start-up is not a rate)
    first, last = window(soak, stored, 1, min(top, size + 1)), window(soak, stored, top - size, top)
    rate_first, rate_last = first.get("rate", 0.0), last.get("rate", 0.0)
    from_mark = min(1000, n // 10)
    live = [c for c in soak.checkpoints if not c.gone]
    later = [c for c in live if c.candidates >= from_mark]
    rss_growth = (max(c.rss_mb for c in later) - later[0].rss_mb) if later else 0.0
    baseline_value, baseline_ok = back_at_baseline(soak)
    deadline = time.monotonic() + 5.0  # the last driver's sandbox servers see it gone and exit
    while harness_processes(soak.drivers) and time.monotonic() < deadline:
        time.sleep(0.1)
    final = {"temp_dirs": len(our_temp_dirs(soak.drivers)), "cgroups": len(our_cgroups(soak.drivers)),
             "harness_processes": len(harness_processes(soak.drivers)),
             "daemons": len(daemons(marker_for(soak.work)))}
    statuses = read_rows(db, "select status, count(*) from program group by status")
    checks = {
        f"driver RSS growth from candidate {from_mark} < 50 MB": (round(rss_growth, 1), rss_growth < 50),
        "fds and processes back at each driver's baseline at every checkpoint": (baseline_value,
                                                                                 baseline_ok),
        "0 zombies (each checkpoint sampled until none, up to SETTLE_S)": (
            {"max": max((c.zombies for c in live), default=0),
             "seen": [c.zombie_seen for c in live if c.zombies][:5]},
            all(c.zombies == 0 for c in live)),
        "0 leftover temp dirs, cgroups, sandbox processes, daemons at the end": (
            final, not any(final.values())),
        "0 leftover sandbox processes or daemons 3 s after each kill": (
            soak.after_kill, all(not (a["harness_processes"] or a["daemons"]) for a in soak.after_kill)),
        f"candidates/s in the last {size} within 20 % of the first {size}": (
            [rate_first, rate_last], rate_first > 0 and abs(rate_last - rate_first) <= 0.2 * rate_first),
        "every hostile candidate recorded with the right status": (
            {"by_hostile": hostile, "wrong": wrong[:20]}, bool(hostile) and not wrong),
        f"0 finished evaluations lost across {len(soak.kills)} kills": (lost, lost == 0),
        f"run complete ({n} candidates)": (done_count(db), done_count(db) >= n),
    }
    windows = [window(soak, stored, max(1, lo), min(lo + soak.every, top))
               for lo in range(0, top, soak.every)]
    ran = soak.wall(0.0, soak.crossed[top]) if top in soak.crossed else 0.0
    info = {
        f"first vs last {size}: mean sandbox s per candidate (the workload's cost)": [
            first.get("eval_s"), last.get("eval_s")],
        f"first vs last {size}: driver overhead ms per candidate (wall - eval_s / {WORKERS} workers)": [
            first.get("overhead_ms"), last.get("overhead_ms")],
        "overall candidates/s, driver wall time (kill pauses left out)": [
            round(top / ran, 2) if ran else 0.0, round(ran, 1)],
        "projected minutes for 10,000 at that rate": round(10_000 * ran / top / 60, 1) if top else None,
        "first vs last checkpoint interval: driver CPU ms per candidate (its own process)": [
            next((c.cpu_ms for c in live if c.cpu_ms is not None), None),
            next((c.cpu_ms for c in reversed(live) if c.cpu_ms is not None), None)],
        # a resumed driver loads every stored program: its RSS starts higher the later it starts
        "driver RSS MB per life: [first checkpoint, its RSS, last checkpoint, its RSS]": [
            [cs[0].candidates, cs[0].rss_mb, cs[-1].candidates, cs[-1].rss_mb]
            for cs in lives(live).values()],
    }
    return {"candidates": soak.candidates, "stopped_at": soak.stopped_at, "problem": str(soak.problem),
            "kills_at": [k["at"] for k in soak.kills], "statuses": dict(statuses),
            "elapsed_s": round(soak.elapsed(), 1),
            "checks": {name: {"value": v, "ok": ok} for name, (v, ok) in checks.items()},
            "ok": all(ok for _, ok in checks.values()), "info": info,
            "windows": [w for w in windows if w], "first": first, "last": last,
            "checkpoints": [asdict(c) for c in soak.checkpoints]}


def drifted(pair: object) -> bool:
    """A [first, last] pair of figures more than 20 % apart (what the rate criterion allows)."""
    if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, int | float) for x in pair)):
        return False
    first, last = pair
    return first > 0 and abs(last - first) > 0.2 * first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--candidates", type=int, default=10_000)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--every", type=int, default=500, help="candidates between checkpoints")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hostile-every", type=int, default=HOSTILE_EVERY,
                        help="about one candidate in this many is hostile")
    parser.add_argument("--work", type=Path, help="folder for the run (default: a fresh temp dir)")
    parser.add_argument("--json", type=Path, help="also write the verdict here")
    parser.add_argument("--max-time-s", type=float, default=math.inf,
                        help="stop (SIGTERM) after this long and judge what was done")
    parser.add_argument("--problem", type=Path, default=PROBLEM,
                        help="problem folder (default: benchmarks/soak_smtt, a workload of flat cost)")
    parser.add_argument("--drive", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drive:
        drive(args.drive, args.candidates, args.seed, args.hostile_every, args.problem)
        return
    work = args.work or Path(tempfile.mkdtemp(prefix="adrs-soak-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"soak: {args.candidates} candidates, {args.kills} kills, work {work}; "
          f"load {os.getloadavg()[0]:.1f}", flush=True)
    soak = run_soak(work, args.candidates, args.kills, args.every, args.seed, args.hostile_every,
                    args.max_time_s, args.problem.resolve())
    result = verdict(soak)
    result["load_end"] = os.getloadavg()
    for w in result["windows"]:
        print("window " + json.dumps(w), flush=True)
    for name, value in result["info"].items():
        print(f"{'WARN' if drifted(value) and name.startswith('first vs last') else 'info'} {name}: "
              f"{json.dumps(value)}")
    for name, check in result["checks"].items():
        print(f"{'PASS' if check['ok'] else 'FAIL'} {name}: {json.dumps(check['value'])[:400]}")
    print(f"statuses: {result['statuses']}; {result['elapsed_s']} s; load {os.getloadavg()}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    sys.exit(0 if result["ok"] else 1)


if __name__ == "__main__":
    main()
