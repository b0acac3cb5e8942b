"""Print the time the LLM layer adds per proposal: litellm + retries/breaker/ensemble bookkeeping,
against the local fake server (tests/llm_server.py) answering at once, over both protocols.

    python benchmarks/llm_overhead.py [--calls 200] [--concurrency 4] [--transport auto|litellm]

(``benchmarks/llm_call.py`` compares the two transports with the server in a process of its own.)

No network: the server listens on 127.0.0.1. Figures depend on the machine's load.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adrs.config import LLMConfig  # noqa: E402
from adrs.program import ProgramView  # noqa: E402
from adrs.prompt import Prompt  # noqa: E402
from adrs.proposer.llm import LLMProposer, load_litellm  # noqa: E402
from tests.llm_server import FakeLLMServer, Reply  # noqa: E402

PARENT = ProgramView(id=1, code="x = 1\n", status="ok", score=1.0)


async def run(proposer: LLMProposer, calls: int) -> float:
    prompts = [Prompt("diff", PARENT, (), messages=({"role": "system", "content": "s"},
                                                   {"role": "user", "content": "u" * 4000}), seed=k)
               for k in range(calls)]
    started = time.perf_counter()
    await asyncio.gather(*(proposer.propose(p) for p in prompts))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--transport", default="auto", choices=["auto", "direct", "litellm"])
    args = parser.parse_args()
    os.environ.setdefault("OPENAI_API_KEY", "dummy")
    os.environ.setdefault("ANTHROPIC_API_KEY", "dummy")
    started = time.perf_counter()
    load_litellm()
    print(f"import litellm: {time.perf_counter() - started:.2f} s")
    for protocol, model in (("openai", "openai/test-model"), ("anthropic", "anthropic/claude-haiku-4-5")):
        with FakeLLMServer(responder=lambda body: Reply(content="ok")) as server:
            base = server.url if protocol == "openai" else server.root_url
            proposer = LLMProposer(LLMConfig(model=model, api_base=base,
                                             concurrency=args.concurrency, max_retries=0,
                                             transport=args.transport))
            asyncio.run(run(proposer, 5))  # warm-up (connection pool, first-call imports)
            elapsed = asyncio.run(run(proposer, args.calls))
        print(f"{protocol:9s} ({proposer.transports[0].kind}) {args.calls} proposals, "
              f"concurrency {args.concurrency}: "
              f"{elapsed:.2f} s, {1000 * elapsed / args.calls:.1f} ms per proposal, "
              f"{args.calls / elapsed:.0f} proposals/s")


if __name__ == "__main__":
    main()
