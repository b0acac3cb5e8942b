"""Print what one LLM call costs the driver: litellm against the direct transport (openai SDK).

The fake server of the tests (``tests/llm_server.py``, instant replies) runs in a subprocess of its
own, so its CPU is not counted. Each transport is measured in a fresh interpreter (litellm's
background threads would otherwise keep running under the other's figures):

- first call: from the start of the measurement process's ``main`` (imports included) to the
  first reply: what the start-up of a campaign pays before its first LLM answer;
- N sequential proposals, then N proposals with ``--concurrency`` in flight, through the whole LLM
  proposer (ensemble, breaker, retries bookkeeping, cost): wall ms per call and driver CPU ms per
  call (``time.process_time``: every thread of the process, litellm's included).

    python benchmarks/llm_call.py [--calls 300] [--concurrency 8] [--model openai/gpt-4o-mini]

No network: the server listens on 127.0.0.1. Prints ``uptime``'s load average: the machine may be
shared.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SERVER = """
import sys, time
from tests.llm_server import FakeLLMServer, Reply
reply = lambda body: Reply(content="<<<<<<< SEARCH\\nx = 1\\n=======\\nx = 2\\n>>>>>>> REPLACE\\n",
                           prompt_tokens=900, completion_tokens=60)
server = FakeLLMServer(responder=reply).start()
print(server.url, flush=True)
sys.stdin.read()  # until the benchmark closes our stdin
"""


def load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def measure(url: str, transport: str, model: str, calls: int, concurrency: int) -> dict:
    """Runs in the measurement subprocess; returns the figures."""
    started = time.perf_counter()
    import asyncio

    from adrs.config import LLMConfig
    from adrs.program import ProgramView
    from adrs.prompt import Prompt
    from adrs.proposer.llm import LLMProposer, check_llm_environment

    config = LLMConfig(model=model, api_base=url, transport=transport, max_retries=0,
                       concurrency=concurrency, timeout_s=30)
    check_llm_environment(config)
    proposer = LLMProposer(config)
    parent = ProgramView(id=1, code="x = 1\n", status="ok", score=1.0)
    prompts = [Prompt("diff", parent, (), seed=k,
                      messages=({"role": "system", "content": "You improve programs."},
                                {"role": "user", "content": "Improve this program:\nx = 1\n" * 60}))
               for k in range(2 * calls + 1)]

    async def run() -> dict:
        await proposer.propose(prompts[0])
        first = time.perf_counter() - started
        for p in prompts[1:6]:  # warm the connection pool and the caches
            await proposer.propose(p)
        cpu, wall = time.process_time(), time.perf_counter()
        for p in prompts[1:calls + 1]:
            await proposer.propose(p)
        seq_cpu, seq_wall = time.process_time() - cpu, time.perf_counter() - wall
        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(proposer.propose(p) for p in prompts[calls + 1:]))
        par_cpu, par_wall = time.process_time() - cpu, time.perf_counter() - wall
        return {"first_s": first, "seq_wall_ms": 1e3 * seq_wall / calls,
                "seq_cpu_ms": 1e3 * seq_cpu / calls, "par_wall_ms": 1e3 * par_wall / calls,
                "par_cpu_ms": 1e3 * par_cpu / calls,
                "litellm_loaded": "litellm" in sys.modules, "kind": proposer.transports[0].kind}

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--model", default="openai/gpt-4o-mini")
    parser.add_argument("--reps", type=int, default=2, help="fresh processes per transport, interleaved")
    parser.add_argument("--measure", nargs=2, metavar=("URL", "TRANSPORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        os.environ.setdefault("OPENAI_API_KEY", "sk-bench-not-a-real-key")
        print(json.dumps(measure(*args.measure, args.model, args.calls, args.concurrency)))
        return
    server = subprocess.Popen([sys.executable, "-c", SERVER], cwd=REPO, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        url = server.stdout.readline().strip()
        figures: dict[str, list[dict]] = {"litellm": [], "direct": []}
        for _ in range(args.reps):
            for transport in figures:
                done = subprocess.run(
                    [sys.executable, __file__, "--measure", url, transport, "--calls", str(args.calls),
                     "--concurrency", str(args.concurrency), "--model", args.model],
                    capture_output=True, text=True, timeout=900, cwd=REPO)
                if done.returncode:
                    sys.exit(f"{transport} failed:\n{done.stderr}")
                result = json.loads(done.stdout.strip().splitlines()[-1])
                figures[transport].append(result)
                print(f"{transport:8s} ({result['kind']}, litellm imported: {result['litellm_loaded']}): "
                      f"first call {result['first_s']:.2f} s; sequential {result['seq_wall_ms']:.2f} ms "
                      f"wall / {result['seq_cpu_ms']:.2f} ms CPU per call; {args.concurrency} in flight "
                      f"{result['par_wall_ms']:.2f} ms wall / {result['par_cpu_ms']:.2f} ms CPU per call"
                      f"  ({load()})", flush=True)
    finally:
        server.stdin.close()
        server.wait(timeout=10)

    def best(transport: str, key: str) -> float:
        return min(r[key] for r in figures[transport])

    print(f"\n{args.calls} calls of {args.model} per figure, best of {args.reps} processes "
          f"(server in its own process, not counted):")
    for key, label in (("seq_wall_ms", "sequential wall ms/call"), ("seq_cpu_ms", "sequential CPU ms/call"),
                       ("par_wall_ms", f"{args.concurrency} in flight wall ms/call"),
                       ("par_cpu_ms", f"{args.concurrency} in flight CPU ms/call")):
        old, new = best("litellm", key), best("direct", key)
        print(f"  {label:32s} litellm {old:7.2f}   direct {new:7.2f}   ({old / new:.1f}x)")
    old, new = best("litellm", "first_s"), best("direct", "first_s")
    print(f"  {'first reply (imports included)':32s} litellm {old:6.2f} s  direct {new:6.2f} s")
    print(load())


if __name__ == "__main__":
    main()
