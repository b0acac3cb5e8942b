"""SIGKILL the campaign driver at random moments, resume, and count what was lost.

One run of the toy problem (tests/fixtures/toy, offline mutator) is started with ``adrs run`` and
killed with SIGKILL at a random moment: during start-up (before the session stored a program) or
mid-campaign. The mid-campaign moment is drawn from observed progress, not from the clock (a toy
candidate takes milliseconds, so a whole campaign can end before a random sleep does): the run's
SQLite database is polled read-only and the driver is killed once it holds a random number of
programs, leaving budget for the later trials. After each kill the database is read directly (the
driver is dead, so what is there is what had finished) and compared with what was there after the
previous kill; then ``adrs resume`` continues the run and is killed again. A last ``adrs resume``
runs to the budget. Checked after every trial and at the end: every program stored before a kill is
still there, unchanged and exactly once; every parent exists; every ``duplicate`` row (a candidate
equivalent to an earlier one, stored without an evaluation; it counts against the budget) names an
earlier evaluated program with the same program key (at the end that program must exist); at the
end the run holds exactly the seed plus the budget and is marked finished.

    python benchmarks/kill_trials.py [--trials 20] [--budget 300] [--seed 0]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from adrs.dedup import program_key

TOY = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "toy"
DB_FILE = "adrs.sqlite"


@dataclass
class TrialFigures:
    trials: int = 0
    kills: int = 0
    killed_during_startup: int = 0
    stored_before_kills: int = 0  # programs newly stored during the killed sessions
    lost: int = 0  # stored before a kill, missing or changed afterwards
    duplicates: int = 0  # programs stored more than once (same seq)
    orphans: int = 0  # programs whose parent does not exist
    duplicate_rows: int = 0  # final rows with status ``duplicate`` (legitimate, not evaluated)
    bad_duplicate_rows: int = 0  # duplicate rows naming no earlier equivalent evaluated program
    final_programs: int = 0
    final_status: str = ""
    problems: list[str] = field(default_factory=list)


def adrs(*args: str) -> list[str]:
    return [sys.executable, "-m", "adrs.cli.main", *args]


def database(runs_dir: Path) -> Path | None:
    found = sorted(runs_dir.glob(f"*/{DB_FILE}"))
    return found[0] if found else None


def read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)


def snapshot(runs_dir: Path) -> tuple[dict[int, tuple], str]:
    """seq -> (id, parent_id, status, sha256 of the code, program key, duplicate_of_seq), and the
    run's status."""
    path = database(runs_dir)
    if path is None:
        return {}, ""
    with closing(read_only(path)) as db:
        try:
            rows = db.execute("select seq, id, parent_id, status, code, private_metrics "
                              "from program").fetchall()
            status = db.execute("select status from run").fetchone()
        except sqlite3.OperationalError:  # killed before the tables existed
            return {}, ""
    seqs = [r[0] for r in rows]
    programs = {seq: (id_, parent, status_, hashlib.sha256(code.encode()).hexdigest(),
                      program_key(code), json.loads(private or "{}").get("duplicate_of_seq"))
                for seq, id_, parent, status_, code, private in rows}
    if len(seqs) != len(programs):
        programs[-1] = ("duplicate seqs", len(seqs) - len(programs))
    return programs, status[0] if status else ""


def stored_count(runs_dir: Path) -> int:
    """How many programs the run's database holds (0 before it exists); a cheap read-only poll."""
    path = database(runs_dir)
    if path is None:
        return 0
    try:
        with closing(read_only(path)) as db:
            return db.execute("select count(*) from program").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet, or locked for longer than the timeout
        return 0


def check_duplicate_rows(programs: dict[int, tuple], figures: TrialFigures, when: str,
                         final: bool) -> None:
    """Every ``duplicate`` row names an earlier, evaluated program with the same program key. The
    original may still have been in flight when the driver died (a duplicate is stored as soon as
    it is claimed), so it must exist only at the end."""
    bad = []
    for seq, row in programs.items():
        if seq < 0 or row[2] != "duplicate":
            continue
        of = row[5]
        original = programs.get(of) if isinstance(of, int) else None
        if not isinstance(of, int) or of >= seq or (original is None and final) or (
                original is not None and (original[2] == "duplicate" or original[4] != row[4])):
            bad.append(seq)
    figures.bad_duplicate_rows += len(bad)
    if bad:
        figures.problems.append(f"{when}: duplicate rows {bad[:10]} name no earlier equivalent "
                                f"evaluated program")


def check(before: dict[int, tuple], after: dict[int, tuple], figures: TrialFigures, when: str,
          final: bool = False) -> None:
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
    check_duplicate_rows(after, figures, when, final)


def wait_until(runs_dir: Path, count: int, child: subprocess.Popen, timeout_s: float) -> int:
    """Poll until the run holds ``count`` programs, the driver exits or ``timeout_s`` passes;
    return the last count seen."""
    deadline = time.monotonic() + timeout_s
    seen = stored_count(runs_dir)
    while seen < count and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.005)
        seen = stored_count(runs_dir)
    return seen


def kill_target(rng: random.Random, stored: int, budget: int, trials_left: int) -> int:
    """A random program count to kill at, above ``stored``, within this trial's share of what is
    left of the run (seed + budget programs), so the later trials still find the run unfinished."""
    share = max(1, (budget + 1 - stored) // (trials_left + 1))
    return min(stored + rng.randint(1, share), budget)


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
        if trial % 4 == 1:  # a quarter of the kills aim at start-up: a random time, or earlier
            wait_until(runs_dir, len(stored) + 1, child, timeout_s=rng.uniform(0.0, 3.0))
        else:  # mid-campaign: once the run holds a random number of programs
            wait_until(runs_dir, kill_target(rng, len(stored), budget, trials - trial), child,
                       timeout_s=120)
        figures.trials += 1
        if child.poll() is not None:  # finished (or failed) before the kill
            figures.problems.append(f"trial {trial}: the driver exited by itself ({child.returncode})")
            break
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
        figures.kills += 1
        after, _ = snapshot(runs_dir)
        figures.killed_during_startup += len(set(after) - {-1}) == len(stored)
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
    check(stored, final, figures, "after the final session", final=True)
    figures.final_programs, figures.final_status = len(final), status
    figures.duplicate_rows = sum(1 for seq, row in final.items() if seq >= 0 and row[2] == "duplicate")
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
    print(f"lost: {figures.lost}  stored twice: {figures.duplicates}  orphans: {figures.orphans}  "
          f"duplicate rows (not evaluated, count in the budget): {figures.duplicate_rows}, "
          f"{figures.bad_duplicate_rows} naming no equivalent program")
    print(f"final: {figures.final_programs} programs (budget {args.budget} + seed), run "
          f"{figures.final_status}; {time.perf_counter() - started:.0f} s in all")
    for problem in figures.problems:
        print("PROBLEM:", problem)
    sys.exit(1 if figures.problems else 0)


if __name__ == "__main__":
    main()
