"""Exact SMTT solvers on the published sets: proven count, matches with the published optima, times.

    python benchmarks/smtt_exact.py                      # n=100 (200 instances), 60 s limit each
    python benchmarks/smtt_exact.py --sets 100,200,wt40 --limit 60 [--first K] [--json out.json]

Runs one instance at a time on one core. For every set it prints how many instances were proven
optimal within the limit, how many proven values equal the published value (a mismatch is a bug,
reported as MISMATCH and in the exit status), and the total and maximum time. The data are read from
../shared/data relative to the repository; nothing is copied.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from pathlib import Path

from adrs.resources import builtin_dir, import_package_from_dir

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"

import_package_from_dir(builtin_dir("evaluators") / "smtt", "adrs_evaluator_smtt")
exact = importlib.import_module("adrs_evaluator_smtt.exact")
weighted = importlib.import_module("adrs_evaluator_smtt.weighted")
instances_io = importlib.import_module("adrs_evaluator_smtt.instances_io")


def load(name: str) -> list:
    if name.startswith("wt"):
        n = int(name[2:])
        folder = SHARED / "orlib_wt"
        return instances_io.read_orlib_weighted(folder / f"wt{n}.txt", n, folder / f"wtopt{n}.txt")
    count = 800 if name == "20" else 200
    return instances_io.read_json_instances(SHARED / "smtt" / f"data_{name}_{count}.json",
                                            allow_negative_due_dates=True)


def run_set(name: str, limit: float, first: int | None) -> dict:
    data = load(name)[:first]
    rows = []
    for index, inst in enumerate(data):
        if inst.w is None:
            result = exact.solve_exact(inst.p, inst.d, time_limit_s=limit)
        else:
            result = weighted.solve_weighted(inst.p, inst.w, inst.d, time_limit_s=limit)
        match = result.optimal and result.value == inst.opt
        rows.append({"index": index, "status": result.status, "value": result.value,
                     "lower_bound": result.lower_bound, "published": inst.opt,
                     "seconds": round(result.seconds, 3), "nodes": result.nodes})
        if result.optimal and not match:
            print(f"  MISMATCH {name} #{index}: proven {result.value}, published {inst.opt}")
        if not result.optimal:
            print(f"  {name} #{index}: not proven in {limit:g} s (best known {result.value}, "
                  f"lower bound {result.lower_bound}, published {inst.opt})", flush=True)
    proven = [r for r in rows if r["status"] == "optimal"]
    summary = {
        "set": name, "instances": len(rows), "proven": len(proven),
        "matches": sum(r["value"] == r["published"] for r in proven),
        "mismatches": sum(r["value"] != r["published"] for r in proven),
        "unproven_at_or_below_published": sum(r["status"] != "optimal"
                                              and r["value"] <= r["published"] for r in rows),
        "total_s": round(sum(r["seconds"] for r in rows), 1),
        "max_s": round(max((r["seconds"] for r in rows), default=0.0), 2),
        "limit_s": limit, "rows": rows,
    }
    print(f"{name:>5}: proven {summary['proven']}/{summary['instances']}, matches "
          f"{summary['matches']}, mismatches {summary['mismatches']}, total {summary['total_s']} s, "
          f"max {summary['max_s']} s (limit {limit:g} s each)", flush=True)
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="100", help="comma list of 20, 100, 200, wt40, wt50")
    parser.add_argument("--limit", type=float, default=60.0, help="seconds per instance")
    parser.add_argument("--first", type=int, default=None, help="only the first K instances")
    parser.add_argument("--json", type=Path, default=None, help="write per-instance rows here")
    args = parser.parse_args()
    started = time.perf_counter()
    summaries = [run_set(name.strip(), args.limit, args.first) for name in args.sets.split(",")]
    print(f"wall time {time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(summaries, indent=1))
    return 1 if any(s["mismatches"] for s in summaries) else 0


if __name__ == "__main__":
    sys.exit(main())
