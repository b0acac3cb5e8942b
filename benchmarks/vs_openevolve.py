"""adrs against OpenEvolve 0.4.0: candidates per second on the same problem with the same fake LLM.

Installs OpenEvolve 0.4.0 into a virtualenv of its own (``--venv``, created once), writes one
OpenEvolve-format problem (``initial_program.py`` + a cheap ``evaluator.py``), starts the loopback
fake LLM server of the tests (``tests/llm_server.py``: every reply is a SEARCH/REPLACE diff that
applies to any program of the problem; like OpenAI it also describes its models, at once: that is
no generation, so no emulated latency) and runs, interleaved over ``--reps`` repetitions:

- ``openevolve-run`` with ``parallel_evaluations = 2`` (its worker processes: no isolation);
- ``adrs run --openevolve`` with 2 workers, the sandbox on (isolation level printed); the candidate
  behind the call proxy in a sandbox of its own (``--oe-candidate proxy``, adrs's default for such
  evaluators) or inside the evaluator's sandboxed process as OpenEvolve runs it (``shared``).

Two rates per run, each with its median and ratio:
- the loop: proposal requests after the first one divided by the time between the first and the
  last proposal request the server saw (steady state; adrs's pre-flight is start-up);
- the whole run: candidates divided by the time from launch to exit (start-up, pre-flight, loop,
  final report and exit included: what a user waits for; the issue's 28.8/s for OpenEvolve is this).
Between the first and the last proposal request it also reads, per candidate, the machine's busy
CPU (/proc/stat: every process and the kernel's threads), the fake LLM server's (this process) and,
for adrs, its driver process's own (/proc/PID: the loop and the host side of the sandboxed jobs, not
the jobs): so each tool's own machine CPU per candidate, and for adrs what its sandbox costs. Run
it on an otherwise idle machine: /proc/stat counts every process.
Then adrs with 3 s of emulated LLM latency at concurrency 2, 4 and 16 against the ideal
``candidates x latency / concurrency`` (timed from the first request, which is adrs's pre-flight
asking for the model's description, and from the first proposal request), then one pair of runs
beside a busy loop on one core. adrs runs from a virtualenv of its own too (``--adrs-venv``), with
this checkout installed as a user installs it (``pip install .``: its dependencies and no test
extras, bytecode compiled by pip), the package reinstalled from the checkout on every invocation:
the test environment's extras (selenium pulls in trio, which the openai SDK's HTTP stack then
imports: 0.2 s) and a shell with PYTHONDONTWRITEBYTECODE (every run compiling adrs from source) are
not what a user runs, nor what OpenEvolve gets. Prints ``uptime``'s load average with every figure:
the machine may be shared.

    python benchmarks/vs_openevolve.py [--candidates 50] [--reps 3] [--venv DIR] [--adrs-venv DIR]
                                       [--skip-latency]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.llm_server import FakeLLMServer, Reply  # noqa: E402

OPENEVOLVE = "openevolve==0.4.0"
DEFAULT_VENV = Path(tempfile.gettempdir()) / "adrs-bench-openevolve-0.4.0"
DEFAULT_ADRS_VENV = Path(tempfile.gettempdir()) / "adrs-bench-adrs"

INITIAL_PROGRAM = '''"""Scale numbers: f(x) should return 4 x (a toy problem to measure the loop itself)."""


# EVOLVE-BLOCK-START
def f(x):
    return x * 1.0
# EVOLVE-BLOCK-END


def run(values):
    return [f(v) for v in values]
'''

EVALUATOR = '''"""Cheap evaluator in the OpenEvolve style: import the program, call it, score it."""

import importlib.util
import math


def evaluate(program_path):
    spec = importlib.util.spec_from_file_location("program", program_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    values = [1.0, 2.0, 3.0]
    got = module.run(values)
    error = sum(abs(g - 4.0 * v) for g, v in zip(got, values))
    score = 1.0 / (1.0 + error) if math.isfinite(error) else 0.0
    return {"combined_score": float(score), "error_sum": float(error)}
'''

ADRS_FOLDER_CONFIG = """max_iterations: {candidates}
random_seed: 7
prompt:
  system_message: Make f(x) return 4 x.
evaluator:
  timeout: 30
  cascade_evaluation: false
"""

OPENEVOLVE_CONFIG = """max_iterations: {candidates}
checkpoint_interval: 1000
random_seed: 7
log_level: INFO
diff_based_evolution: true
llm:
  api_base: {url}
  api_key: fake-key
  models:
    - name: bench-model
      weight: 1.0
  temperature: 0.7
  max_tokens: 1024
  timeout: 60
  retries: 0
prompt:
  system_message: Make f(x) return 4 x.
database:
  population_size: 1000
  num_islands: 2
evaluator:
  timeout: 30
  cascade_evaluation: false
  parallel_evaluations: {workers}
  enable_artifacts: false
"""

ADRS_CONFIG = """llm:
  model: openai/bench-model
  api_base: {url}
  concurrency: {concurrency}
  max_retries: 0
  timeout_s: 60
  transport: {transport}
evolution:
  workers: {workers}
  max_time_s: null
"""


def reply_for(delay_s: float):
    """A responder: a diff that applies to every program of the problem (the def line is constant)."""
    rng = random.Random(11)

    def respond(body: dict) -> Reply:
        factor = 1.0 + rng.uniform(-0.2, 0.4)
        diff = ("Scale x a little.\n<<<<<<< SEARCH\ndef f(x):\n=======\ndef f(x):\n"
                f"    x = x * {factor!r}\n>>>>>>> REPLACE\n")
        return Reply(content=diff, prompt_tokens=300, completion_tokens=40, delay_s=delay_s)

    return respond


@dataclass(frozen=True)
class Run:
    tool: str
    candidates: int
    rate: float  # proposal requests per second between the first and the last proposal request
    startup_s: float  # launch to the first LLM request
    wall_s: float  # launch to exit
    llm_span_s: float  # first LLM request to last reply
    proposal_span_s: float = 0.0  # first request that carries a program (not adrs's pre-flight) to last reply
    driver_cpu_ms: float = 0.0  # adrs: its driver process's own CPU per candidate (the loop, /proc)
    machine_cpu_ms: float = 0.0  # the machine's busy CPU per candidate in the loop (/proc/stat)
    server_cpu_ms: float = 0.0  # of which the fake LLM server's (this process, every thread)

    @property
    def whole_rate(self) -> float:
        """Candidates per second from launch to exit."""
        return self.candidates / self.wall_s


def ensure_openevolve(venv: Path) -> Path:
    python = venv / "bin" / "python"
    if not (venv / "bin" / "openevolve-run").exists():
        print(f"installing {OPENEVOLVE} into {venv} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", OPENEVOLVE], check=True)
    return venv / "bin" / "openevolve-run"


def ensure_adrs(venv: Path) -> Path:
    """The python of ``venv`` with this checkout installed as a user installs it: the dependencies
    once, the package itself again on every call (so it is the checkout's code)."""
    python = venv / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "-q"]
    if not python.exists():
        print(f"installing adrs and its dependencies into {venv} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([*pip, str(REPO)], check=True)
    else:
        subprocess.run([*pip, "--no-deps", "--force-reinstall", str(REPO)], check=True)
    return python


ADRS_PYTHON = [sys.executable]  # set from --adrs-venv in main()


def write_problem(folder: Path, candidates: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "initial_program.py").write_text(INITIAL_PROGRAM)
    (folder / "evaluator.py").write_text(EVALUATOR)
    (folder / "config.yaml").write_text(ADRS_FOLDER_CONFIG.format(candidates=candidates))


def run_openevolve(runner: Path, folder: Path, work: Path, candidates: int, workers: int,
                   delay_s: float = 0.0) -> Run:
    cpu = CPUSampler(reply_for(delay_s))
    with FakeLLMServer(responder=cpu.respond, models_route=True) as server:
        config = work / "openevolve.yaml"
        config.write_text(OPENEVOLVE_CONFIG.format(candidates=candidates, url=server.url, workers=workers))
        env = dict(os.environ, OPENAI_API_KEY="fake-key")
        started = time.perf_counter()
        done = subprocess.run([str(runner), str(folder / "initial_program.py"), str(folder / "evaluator.py"),
                               "--config", str(config), "--iterations", str(candidates),
                               "--output", str(work / "openevolve_output")],
                              capture_output=True, text=True, env=env, cwd=work)
        wall = time.perf_counter() - started
        seen = list(server.arrived_at), list(server.replied_at), list(server.requests)
    log = done.stdout + done.stderr
    if done.returncode != 0:
        raise RuntimeError(f"openevolve-run failed ({done.returncode}):\n{log[-3000:]}")
    iterations = len(set(re.findall(r"Iteration (\d+)", log))) or len(seen[0])
    return cpu.figures(_run("openevolve", min(iterations, len(seen[0])), *seen, started, wall))


OE_CANDIDATE = ["--oe-candidate", "proxy"]  # set from --oe-candidate in main()
LLM_TRANSPORT = ["auto"]  # set from --llm-transport in main()


def run_adrs(folder: Path, work: Path, candidates: int, workers: int, concurrency: int = 4,
             delay_s: float = 0.0) -> Run:
    runs = work / "runs"
    cpu = CPUSampler(reply_for(delay_s))
    with FakeLLMServer(responder=cpu.respond, models_route=True) as server:
        config = work / "adrs.yaml"
        config.write_text(ADRS_CONFIG.format(url=server.url, workers=workers, concurrency=concurrency,
                                             transport=LLM_TRANSPORT[0]))
        env = dict(os.environ, OPENAI_API_KEY="fake-key", LITELLM_LOCAL_MODEL_COST_MAP="True")
        started = time.perf_counter()
        process = subprocess.Popen([ADRS_PYTHON[0], "-m", "adrs.cli.main", "run", "--openevolve",
                                    str(folder), "--budget", str(candidates), "--config", str(config),
                                    "--runs-dir", str(runs), *OE_CANDIDATE], stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, env=env, cwd=work)
        cpu.pid = process.pid
        output, _ = process.communicate()
        wall = time.perf_counter() - started
        seen = list(server.arrived_at), list(server.replied_at), list(server.requests)
    if process.returncode != 0:
        raise RuntimeError(f"adrs run failed ({process.returncode}):\n{output[-3000:]}")
    stored = 0
    for path in runs.glob("*/adrs.sqlite"):
        with sqlite3.connect(path) as db:
            stored = db.execute("select count(*) from program where seq >= 1").fetchone()[0]
    return cpu.figures(_run("adrs", min(stored, len(seen[0])), *seen, started, wall))


class CPUSampler:
    """A responder that, when each proposal request arrives, reads the machine's busy CPU time
    (/proc/stat: every process and the kernel's own threads, e.g. namespace teardown), this
    process's (the fake LLM server's threads) and, once ``pid`` is set, that process's own (the adrs
    driver: every thread, not its children, the sandbox servers and jobs)."""

    def __init__(self, respond) -> None:  # noqa: ANN001
        self.inner, self.pid = respond, 0
        self.samples: list[tuple[float, float, float]] = []  # (machine, server, driver) CPU seconds

    def respond(self, body: dict) -> Reply:
        if _asks_for_program(body):
            self.samples.append((_machine_busy_s(), time.process_time(), self._driver_s()))
        return self.inner(body)

    def _driver_s(self) -> float:
        if not self.pid:
            return 0.0
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def figures(self, run: Run) -> Run:
        """``run`` with CPU milliseconds per proposal between the first and the last proposal request."""
        if len(self.samples) < 2:
            return run
        (machine0, server0, driver0), (machine1, server1, driver1) = self.samples[0], self.samples[-1]
        per = 1000 / (len(self.samples) - 1)
        return replace(run, machine_cpu_ms=per * (machine1 - machine0),
                       server_cpu_ms=per * (server1 - server0),
                       driver_cpu_ms=per * (driver1 - driver0) if self.pid else 0.0)


def _machine_busy_s() -> float:
    """Busy CPU seconds of the whole machine since boot (every field of /proc/stat's cpu line but
    idle and iowait)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def _asks_for_program(body: dict) -> bool:
    """A proposal request (its prompt holds the program), not the pre-flight."""
    return "def f(x)" in json.dumps(body.get("messages", ""))


def _run(tool: str, candidates: int, request_times: list[float], reply_times: list[float],
         bodies: list[dict], started: float, wall: float) -> Run:
    proposals = [t for t, body in zip(request_times, bodies, strict=True) if _asks_for_program(body)]
    if len(proposals) < 2:
        raise RuntimeError(f"{tool}: only {len(proposals)} proposal requests")
    return Run(tool, candidates, (len(proposals) - 1) / (proposals[-1] - proposals[0]),
               request_times[0] - started, wall, max(reply_times) - request_times[0],
               max(reply_times) - proposals[0])


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def compare(runner: Path, candidates: int, workers: int, reps: int, label: str) -> float:
    runs: dict[str, list[Run]] = {"adrs": [], "openevolve": []}
    for rep in range(reps):
        order = ("adrs", "openevolve") if rep % 2 == 0 else ("openevolve", "adrs")
        for tool in order:
            with tempfile.TemporaryDirectory(prefix=f"bench-{tool}-") as tmp:
                work = Path(tmp)
                folder = work / "problem"
                write_problem(folder, candidates)
                run = (run_adrs(folder, work, candidates, workers) if tool == "adrs"
                       else run_openevolve(runner, folder, work, candidates, workers))
            runs[tool].append(run)
            driver = f", adrs driver process {run.driver_cpu_ms:.1f} ms" if run.driver_cpu_ms else ""
            print(f"  {label} rep {rep + 1} {tool:<10} {run.candidates} candidates, loop {run.rate:6.1f}/s, "
                  f"whole run {run.whole_rate:5.1f}/s; first LLM request after {run.startup_s:.2f} s, exit "
                  f"after {run.wall_s:.2f} s; machine CPU per candidate in the loop "
                  f"{run.machine_cpu_ms:.1f} ms, fake LLM server {run.server_cpu_ms:.1f} ms{driver}  "
                  f"({load()})", flush=True)

    def median(tool: str, figure: str) -> float:
        return statistics.median(getattr(r, figure) for r in runs[tool])

    loop_a, loop_o = median("adrs", "rate"), median("openevolve", "rate")
    whole_a, whole_o = median("adrs", "whole_rate"), median("openevolve", "whole_rate")
    print(f"{label}: medians, loop: adrs {loop_a:.1f}/s, OpenEvolve {loop_o:.1f}/s, "
          f"ratio {loop_a / loop_o:.2f}x; "
          f"whole run: adrs {whole_a:.1f}/s, OpenEvolve {whole_o:.1f}/s, ratio {whole_a / whole_o:.2f}x; "
          f"start-up to the first LLM request: adrs {median('adrs', 'startup_s'):.2f} s, OpenEvolve "
          f"{median('openevolve', 'startup_s'):.2f} s; exit: adrs {median('adrs', 'wall_s'):.2f} s, "
          f"OpenEvolve {median('openevolve', 'wall_s'):.2f} s; OpenEvolve's whole loop "
          f"{1000 / loop_o:.1f} ms of wall time per candidate  ({load()})", flush=True)
    own_a = [r.machine_cpu_ms - r.server_cpu_ms for r in runs["adrs"]]
    own_o = [r.machine_cpu_ms - r.server_cpu_ms for r in runs["openevolve"]]
    sandbox = [r.machine_cpu_ms - r.server_cpu_ms - r.driver_cpu_ms for r in runs["adrs"]]
    print(f"{label}: medians, machine CPU per candidate in the loop without the fake LLM server's: "
          f"adrs {statistics.median(own_a):.1f} ms (driver process {median('adrs', 'driver_cpu_ms'):.1f} ms, "
          f"sandbox servers, jobs and the kernel's work for them {statistics.median(sandbox):.1f} ms), "
          f"OpenEvolve {statistics.median(own_o):.1f} ms (its processes and the kernel's work)", flush=True)
    return loop_a / loop_o


def latency(candidates: int, workers: int, latency_s: float, concurrencies: list[int]) -> None:
    for concurrency in concurrencies:
        with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
            work = Path(tmp)
            folder = work / "problem"
            write_problem(folder, candidates)
            run = run_adrs(folder, work, candidates, workers, concurrency=concurrency, delay_s=latency_s)
        ideal = candidates * latency_s / concurrency
        taken, loop = run.llm_span_s, run.proposal_span_s
        print(f"latency {latency_s:g} s, concurrency {concurrency:>2}: adrs {run.candidates} candidates in "
              f"{taken:.1f} s (first request, the pre-flight, to last reply) vs ideal {ideal:.1f} s: "
              f"{taken / ideal:.3f} x ideal; from the first proposal request {loop:.1f} s: "
              f"{loop / ideal:.3f} x ideal ({load()})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV, help="OpenEvolve's virtualenv")
    parser.add_argument("--adrs-venv", type=Path, default=DEFAULT_ADRS_VENV, help="adrs's virtualenv")
    parser.add_argument("--latency-candidates", type=int, default=48)  # a multiple of 2, 4 and 16
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-busy", action="store_true")
    parser.add_argument("--oe-candidate", default="proxy", choices=["proxy", "shared"],
                        help="adrs: the candidate behind a call proxy in its own sandbox (default), or "
                        "in the evaluator's sandboxed process as OpenEvolve runs it (shared)")
    parser.add_argument("--llm-transport", default="auto", choices=["auto", "litellm"],
                        help="adrs's llm.transport: the openai SDK directly (auto) or litellm")
    args = parser.parse_args()
    OE_CANDIDATE[1] = args.oe_candidate
    LLM_TRANSPORT[0] = args.llm_transport
    from adrs.sandbox import isolation_level

    runner = ensure_openevolve(args.venv)
    ADRS_PYTHON[0] = str(ensure_adrs(args.adrs_venv))
    print(f"adrs sandbox isolation: {isolation_level()}, --oe-candidate {args.oe_candidate}, "
          f"llm.transport {args.llm_transport}; OpenEvolve "
          f"0.4.0 evaluates in worker processes without isolation; {args.candidates} candidates, "
          f"{args.workers} workers, instant fake LLM")
    compare(runner, args.candidates, args.workers, args.reps, "instant LLM")
    if not args.skip_latency:
        latency(args.latency_candidates, args.workers, 3.0, [2, 4, 16])
    if not args.skip_busy:
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            compare(runner, args.candidates, args.workers, 1, "beside a busy loop on one core")
        finally:
            busy.kill()
            busy.wait()


if __name__ == "__main__":
    main()
