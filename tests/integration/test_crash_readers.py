"""Browsing commands read a run's database while a campaign writes it (SQLite WAL): every read
succeeds and sees a consistent, growing run."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from adrs.db import store
from tests.conftest import TOY_PROBLEM


def adrs(*args: str) -> list[str]:
    return [sys.executable, "-m", "adrs.cli.main", *args]


def test_readers_during_a_campaign(runs_dir: Path) -> None:
    writer = subprocess.Popen(adrs("run", str(TOY_PROBLEM), "--budget", "5000", "--runs-dir", str(runs_dir)),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 180
        seen: list[int] = []
        while len(seen) < 4 and writer.poll() is None:
            assert time.monotonic() < deadline, "the campaign did not make progress"
            done = subprocess.run(adrs("runs", "--json", "--runs-dir", str(runs_dir)),
                                  capture_output=True, text=True, timeout=60)
            if done.returncode != 0 and "no runs" in done.stdout + done.stderr:
                time.sleep(0.5)
                continue
            assert done.returncode == 0, done.stdout + done.stderr
            summaries = json.loads(done.stdout)
            if not summaries or summaries[0]["programs"] == 0:  # the run is being created
                time.sleep(0.2)
                continue
            (summary,) = summaries
            assert 0 <= summary["valid"] <= summary["programs"]
            seen.append(summary["programs"])
            lineage = subprocess.run(adrs("lineage", "--runs-dir", str(runs_dir)), capture_output=True,
                                     text=True, timeout=60)
            assert lineage.returncode == 0, lineage.stdout + lineage.stderr
        assert len(seen) == 4 and seen == sorted(seen) and seen[-1] > seen[0]
    finally:
        writer.kill()
        writer.wait(timeout=60)
    assert store.run_dirs(runs_dir)
