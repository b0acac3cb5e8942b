"""Cost of plug-in discovery (entry points adrs.problems / adrs.evaluators) for browsing commands.

Prints the time of a full scan of the installed distributions' entry points, of a lookup served
from the cache file, and of `adrs problems` as a fresh process (best of --repeat). Usage:
    python benchmarks/plugin_lookup.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

from adrs import plugins


def best_of(repeat: int, func) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat
    with tempfile.TemporaryDirectory() as cache:
        os.environ["XDG_CACHE_HOME"] = cache
        scan = best_of(repeat, plugins._scan)
        plugins.clear_cache()
        plugins.plugins(plugins.PROBLEM_GROUP)  # writes the cache file

        def cached() -> None:
            plugins.clear_cache()
            plugins.plugins(plugins.PROBLEM_GROUP)

        hit = best_of(repeat, cached)
        command = best_of(repeat, lambda: subprocess.run(
            [sys.executable, "-m", "adrs.cli.main", "problems"], capture_output=True, check=True))
    print(f"entry-point scan of every installed distribution: {1000 * scan:.1f} ms")
    print(f"lookup served from the cache file:              {1000 * hit:.2f} ms")
    print(f"`adrs problems` as a fresh process:              {command:.2f} s (best of {repeat})")


if __name__ == "__main__":
    main()
