"""SIGKILL the campaign driver at random moments, resume, and count what was lost.

One run of the toy problem (tests/fixtures/toy, offline mutator) is started with ``adrs run`` and
killed with SIGKILL at a random moment: during start-up (database, Ray) or while candidates are
being evaluated. After each kill the database is read directly (the driver is dead, so what is
there is what had finished) and compared with what was there after the previous kill; then
``adrs resume`` continues the run and is killed again. A last ``adrs resume`` runs to the budget.
Checked after every trial and at the end: every program stored before a kill is still there,
unchanged and exactly once; every parent exists; at the end the run holds exactly the seed plus
the budget and is marked finished.

    python benchmarks/kill_trials.py [--trials 20] [--budget 300] [--seed 0]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

TOY = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "toy"
DB_FILE = "adrs.sqlite"


@dataclass
class TrialFigures:
    trials: int = 0
    kills: int = 0
    killed_during_startup: int = 0
    stored_before_kills: int = 0  # programs newly stored during the killed sessions
    lost: int = 0  # stored before a kill, missing or changed afterwards
    duplicates: int = 0
    orphans: int = 0  # programs whose parent does not exist
    final_programs: int = 0
    final_status: str = ""
    problems: list[str] = field(default_factory=list)


def adrs(*args: str) -> list[str]:
    return [sys.executable, "-m", "adrs.cli.main", *args]


def database(runs_dir: Path) -> Path | None:
    found = sorted(runs_dir.glob(f"*/{DB_FILE}"))
    return found[0] if found else None


def snapshot(runs_dir: Path) -> tuple[dict[int, tuple], str]:
    """seq -> (id, parent_id, status, sha256 of the code), and the run's status."""
    path = database(runs_dir)
    if path is None:
        return {}, ""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30) as db:
        try:
            rows = db.execute("select seq, id, parent_id, status, code from program").fetchall()
            status = db.execute("select status from run").fetchone()
        except sqlite3.OperationalError:  # killed before the tables existed
            return {}, ""
    seqs = [r[0] for r in rows]
    programs = {seq: (id_, parent, status_, hashlib.sha256(code.encode()).hexdigest())
                for seq, id_, parent, status_, code in rows}
    if len(seqs) != len(programs):
        programs[-1] = ("duplicate seqs", len(seqs) - len(programs))
    return programs, status[0] if status else ""


def check(before: dict[int, tuple], after: dict[int, tuple], figures: TrialFigures, when: str) -> None:
    lost = [seq for seq, row in before.items() if after.get(seq) != row]
    figures.lost += len(lost)
    if lost:
        figures.problems.append(f"{when}: programs {lost[:10]} lost or changed")
    if -1 in after:
        figures.duplicates += after[-1][1]
        figures.problems.append(f"{when}: duplicate seqs")
    ids = {row[0] for row in after.values()}
    orphans = [seq for seq, row in after.items() if seq >= 0 and row[1] is not None and row[1] not in ids]
    figures.orphans += len(orphans)
    if orphans:
        figures.problems.append(f"{when}: programs {orphans[:10]} have no parent")


def wait_for_growth(runs_dir: Path, count: int, child: subprocess.Popen, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and child.poll() is None:
        if len(snapshot(runs_dir)[0]) > count:
            return True
        time.sleep(0.1)
    return False


def kill_trials(trials: int, budget: int, runs_dir: Path, seed: int = 0) -> TrialFigures:
    """Run ``trials`` killed sessions and a final one; return the figures (see the module doc)."""
    rng = random.Random(seed)
    figures = TrialFigures()
    stored: dict[int, tuple] = {}
    for trial in range(trials):
        run_ref = database(runs_dir)
        if run_ref is not None and not snapshot(runs_dir)[1]:  # killed before the run row existed
            shutil.rmtree(run_ref.parent)
            run_ref = None
        cmd = (adrs("resume", run_ref.parent.name, "--runs-dir", str(runs_dir)) if run_ref else
               adrs("run", str(TOY), "--budget", str(budget), "--runs-dir", str(runs_dir),
                    "--max-time", "100000"))
        child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        during_startup = trial % 4 == 1  # a quarter of the kills hit start-up (database, Ray)
        if during_startup:
            time.sleep(rng.uniform(0.0, 8.0))
        else:
            wait_for_growth(runs_dir, len(stored), child, timeout_s=120)
            time.sleep(rng.uniform(0.0, 4.0))
        figures.trials += 1
        if child.poll() is not None:  # finished (or failed) before the kill
            figures.problems.append(f"trial {trial}: the driver exited by itself ({child.returncode})")
            break
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
        figures.kills += 1
        figures.killed_during_startup += during_startup
        after, _ = snapshot(runs_dir)
        check(stored, after, figures, f"after kill {trial}")
        figures.stored_before_kills += len(set(after) - set(stored) - {-1})
        stored = after
    run_ref = database(runs_dir)
    if run_ref is not None and not snapshot(runs_dir)[1]:
        shutil.rmtree(run_ref.parent)
        run_ref = None
    cmd = (adrs("resume", run_ref.parent.name, "--runs-dir", str(runs_dir)) if run_ref else
           adrs("run", str(TOY), "--budget", str(budget), "--runs-dir", str(runs_dir)))
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        figures.problems.append(f"final session failed ({done.returncode}): {done.stdout[-2000:]}")
    final, status = snapshot(runs_dir)
    check(stored, final, figures, "after the final session")
    figures.final_programs, figures.final_status = len(final), status
    if sorted(final) != list(range(budget + 1)):
        figures.problems.append(f"final run holds seqs {sorted(final)[:5]}... ({len(final)}), "
                                f"expected 0..{budget}")
    if status != "finished":
        figures.problems.append(f"final run status {status!r}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--budget", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        figures = kill_trials(args.trials, args.budget, Path(tmp), args.seed)
    print(f"kill trials: {figures.kills} SIGKILLs of the driver ({figures.killed_during_startup} during "
          f"start-up), {figures.stored_before_kills} programs stored before the kills")
    print(f"lost: {figures.lost}  duplicates: {figures.duplicates}  orphans: {figures.orphans}")
    print(f"final: {figures.final_programs} programs (budget {args.budget} + seed), run "
          f"{figures.final_status}; {time.perf_counter() - started:.0f} s in all")
    for problem in figures.problems:
        print("PROBLEM:", problem)
    sys.exit(1 if figures.problems else 0)


if __name__ == "__main__":
    main()
