"""Speed of `adrs ui` on a large run: time to first byte of every page and JSON endpoint, and the
time until the run page is usable (curves drawn) in headless Chromium.

Generates a 20,000-program run (4 islands, a deep lineage tree, 2 KB programs, 4 KB prompts, one
LLM call per candidate, 10% failures) in a temporary folder, starts `adrs ui` as a separate process,
then measures. Targets (issue 17): first byte < 300 ms on every page, run page usable < 1 s.
Usage:
    python benchmarks/ui.py [--programs 20000] [--repeat 5] [--no-browser]
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from adrs.db import store  # noqa: E402
from adrs.db.models import Evaluation, LLMCall, Program, Run  # noqa: E402

RUN = "smtt-bench-ui"
BODY = "\n".join(f"    total += weights[{i}] * max(0, done - due[{i}])  # line {i}" for i in range(40))


def build(runs_dir: Path, programs: int, seed: int = 0) -> dict[str, int]:
    rng = random.Random(seed)
    (runs_dir / RUN).mkdir(parents=True)
    engine = store.open_engine(store.sqlite_url(runs_dir, RUN))
    start = datetime(2026, 1, 1, 9, 0, 0)
    prompt = "You are improving a scheduling heuristic.\n" + BODY * 2
    with engine.begin() as connection:
        connection.execute(Run.__table__.insert(), [dict(
            id=RUN, problem="smtt", problem_root="/nonexistent", config={}, objective="mean_gap",
            direction="minimize", seed=0, proposer="openai/gpt-4o-mini", isolation="", status="finished",
            stop_reason="candidate budget reached", elapsed_s=7200.0, created_at=start, updated_at=start)])
        rows, calls, scores = [], [], {}
        best: list[tuple[float, int]] = []
        for seq in range(programs):
            pid = seq + 1
            parent = None if seq == 0 else rng.choice([b[1] for b in best[:8]] if best and rng.random() < 0.6
                                                        else [rng.randint(1, seq)])
            failed = seq > 0 and rng.random() < 0.1
            base = scores.get(parent, 10.0) if parent else 10.0
            score = None if failed else max(0.01, base * rng.uniform(0.93, 1.1))
            if score is not None:
                scores[pid] = score
                best = sorted([*best, (score, pid)])[:8]
            when = start + timedelta(seconds=7200 * seq / programs)
            rows.append(dict(
                id=pid, run_id=RUN, seq=seq, parent_id=parent, island=seq % 4,
                generation=0 if parent is None else rows[parent - 1]["generation"] + 1,
                kind="seed" if seq == 0 else rng.choice(["diff", "diff", "rewrite", "crossover", "fix"]),
                code=f"def solve(p, w, d):\n    total = {seq}\n{BODY}\n    return total\n",
                diff="", status="error" if failed else "ok", score=score,
                metrics={} if failed else {"mean_gap": score}, private_metrics={},
                feedback="Traceback ...\nValueError: bad\n" if failed else f"mean_gap {score}",
                proposer="llm", model="openai/gpt-4o-mini", note="", prompt=prompt, propose_s=1.0,
                eval_s=0.5, runtime_s=0.1, created_at=when))
            if seq:
                calls.append(dict(run_id=RUN, seq=seq, model="openai/gpt-4o-mini", prompt_tokens=1500,
                                  completion_tokens=400, cost_usd=0.0005, latency_s=2.0, error="",
                                  kind=rows[-1]["kind"], choice="", finish_reason="stop", attempts=1,
                                  cached=False, created_at=when))
        connection.execute(Program.__table__.insert(), rows)
        connection.execute(LLMCall.__table__.insert(), calls)
        connection.execute(Evaluation.__table__.insert(), [
            dict(run_id=RUN, program_id=None, baseline=name, split="train", status="ok", score=value,
                 metrics={}, feedback="", runtime_s=0.0, created_at=start)
            for name, value in (("EDD", 9.0), ("MDD", 4.0))])
    engine.dispose()
    top = min(scores, key=scores.get)
    deepest = max(scores, key=lambda pid: rows[pid - 1]["generation"])
    return {"best": top, "deepest": deepest, "depth": rows[deepest - 1]["generation"],
            "parent": rows[top - 1]["parent_id"] or 1}


def first_byte(port: int, path: str) -> tuple[float, int, int]:
    """Seconds to the first byte of the response (status line and headers), status, body size."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    began = time.perf_counter()
    connection.request("GET", path)
    response = connection.getresponse()
    elapsed = time.perf_counter() - began
    size = len(response.read())
    connection.close()
    return elapsed, response.status, size


def cold_curves(runs_dir: Path) -> float:
    """Milliseconds to compute the run page's curves without the server's cache (median of 3)."""
    from adrs.curves import run_progress
    from adrs.db import reader as rd

    times = []
    with rd.open_reader(rd.sqlite_url(runs_dir, RUN)) as reader:
        run = rd.get_run(reader, RUN)
        for _ in range(3):
            began = time.perf_counter()
            run_progress(reader, run)
            times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def browser_ready(port: int, path: str, repeat: int) -> list[float]:
    from selenium.webdriver.support.ui import WebDriverWait

    from tests.browser import chromium

    times = []
    with chromium() as driver:
        for _ in range(repeat + 1):  # the first load warms the browser's own start-up
            driver.get(f"http://127.0.0.1:{port}{path}")
            WebDriverWait(driver, 30).until(lambda d: d.execute_script("return document.body.dataset.ready"))
            times.append(int(driver.execute_script("return document.body.dataset.readyMs")) / 1000)
    return times[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runs = Path(tmp) / "runs"
        began = time.perf_counter()
        ids = build(runs, args.programs)
        size = (runs / RUN / "adrs.sqlite").stat().st_size
        print(f"built {args.programs} programs in {time.perf_counter() - began:.1f}s ({size / 1e6:.0f} MB), "
              f"best #{ids['best']}, deepest lineage {ids['depth']} generations")
        began = time.perf_counter()
        server = subprocess.Popen([sys.executable, "-m", "adrs.cli.main", "ui", "--runs-dir", str(runs),
                                   "--port", "0"], stdout=subprocess.PIPE, text=True, cwd=REPO,
                                  env={**os.environ, "COLUMNS": "200"})
        try:
            port = 0
            for line in server.stdout:  # type: ignore[union-attr]
                found = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
                if found:
                    port = int(found.group(1))
                    break
            print(f"`adrs ui` listening after {time.perf_counter() - began:.2f}s")
            base = f"/run/{RUN}"
            paths = ["/", base, f"{base}/lineage", f"{base}/lineage?program={ids['deepest']}",
                     f"{base}/program/{ids['best']}", f"{base}/diff?a={ids['parent']}&b={ids['best']}",
                     f"/api/run/{RUN}/progress", f"/api/run/{RUN}/children?parent=1",
                     f"/api/run/{RUN}/children?parent=root", f"/api/run/{RUN}/ancestry/{ids['deepest']}",
                     "/static/charts.js"]
            print(f"{'page':64} {'median ms':>9} {'max ms':>7} {'KB':>7}")
            worst = 0.0
            for path in paths:
                samples = [first_byte(port, path) for _ in range(args.repeat)]
                assert all(s[1] == 200 for s in samples), (path, samples[0])
                ms = [s[0] * 1000 for s in samples]
                worst = max(worst, max(ms))
                print(f"{path:64} {statistics.median(ms):9.1f} {max(ms):7.1f} {samples[0][2] / 1024:7.1f}")
            print(f"slowest first byte: {worst:.0f} ms (target < 300 ms)")
            print(f"curves of the run computed cold (no cache, in this process): {cold_curves(runs):.0f} ms "
                  "(`adrs ui` computes the newest runs' curves at start-up, cached until they change)")
            if not args.no_browser:
                for path, label in ((base, "run page"), (f"{base}/lineage?program={ids['deepest']}",
                                                         "lineage of the deepest program")):
                    ready = browser_ready(port, path, args.repeat)
                    print(f"{label} usable in Chromium (navigation start -> drawn): median "
                          f"{statistics.median(ready) * 1000:.0f} ms, max {max(ready) * 1000:.0f} ms "
                          "(target < 1000 ms)")
        finally:
            server.terminate()
            server.wait(timeout=10)
    print("load:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
