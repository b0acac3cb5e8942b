"""``adrs bench smtt``: baselines and programs compared on SMTT instance sets, per size and per class.

Instance sets (one source per call):
* generated (default): the project's generator (``generator``) with the seed, sizes and instances per
  (TF, RDD) class of problem.yaml ``instances.bench``; references from ``reference`` (exact solver
  under a time limit, cached in the problem's data folder: "optimal" or "best_known" per instance).
* published (``--data DIR``, instead of the generated sets): files ``data_<n>_<count>.json`` (a
  list of {"p", "d", "opt"}, read by ``instances_io``). Stored values are taken as optimal for
  n <= 200. Above that they are not used at all: the n = 500 values are neither optimal (MDD
  beats 63 of them, ../shared/data/smtt/README.md) nor valid upper bounds (the exact solver proves
  optima above some of them, e.g. instance 134: stored 13, proven optimum 436); the reference is
  then the best schedule any benchmarked program found.
  The (TF, RDD) class of a published instance is not stored; it is derived from the file layout:
  count/20 consecutive instances per class, classes ordered RDD outer (0.2 .. 1.0), TF inner
  (0.2 .. 0.8), the generator order of the published sets (Cetinkaya et al. evaluate the index range
  [k*count/20, (k+1)*count/20) as class (R, T) = (RDD[k // 4], TF[k % 4])).

Where a reference is not proven optimal it is "best-known": the smaller of the stored or computed
value and the best schedule any benchmarked program found for that instance (a program may then score
0 but never below). A stored "optimal" value that a program beats is demoted to best-known and
reported in the notes.

Per program and set: mean gap % (over instances with a positive reference), aggregate gap
100 * sum(H - R) / sum(R), share of instances with H == R, mean time per call; the same per class.
Every program runs in the sandbox (``adrs.bench.run_programs``) with a per-instance time cap
(``instances.bench.max_call_s``; a call still running at the cap is stopped there); a failing,
invalid or too slow program shows its status instead of numbers. This module does not compute
references or read files itself.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from adrs.bench import BenchRequest, BenchTable, ProgramRun, run_programs
from adrs.config import ConfigError
from adrs.sandbox import Limits

from .generator import RDD_TENTHS, TF_TENTHS, SetSpec, generate_set, parse_set_spec
from .tardiness import total_tardiness
from .validate import InvalidSchedule, parse_schedule

PUBLISHED_FILE = re.compile(r"data_(\d+)_(\d+)\.json")
CALL_STOPPED = re.compile(r"Call (\d+) of \d+ ran past its time limit")  # adrs.sandbox's message
PUBLISHED_OPTIMAL_UP_TO = 200  # stored values are optimal for n <= 200, upper bounds above
CLASSES = tuple((tf / 10, rdd / 10) for rdd in RDD_TENTHS for tf in TF_TENTHS)  # published order
BENCH_DEFAULTS: dict[str, Any] = {"seed": 4004, "sizes": [20, 100, 200], "per_combo": 1,
                                  "max_call_s": 60.0}
QUICK_SIZES = (20,)
STARTUP_S = 30.0  # sandbox wall-clock allowance on top of calls x cap


@dataclass(frozen=True)
class BenchOptions:
    """``instances.bench`` of problem.yaml: the generated set and the per-instance time cap."""

    seed: int
    sizes: tuple[int, ...]
    per_combo: int
    max_call_s: float


@dataclass(frozen=True)
class BenchSet:
    """Instances of one size from one source, with references (``optimal`` marks proven ones)."""

    source: str  # "generated" or "published"
    n: int
    p: tuple[np.ndarray, ...]
    d: tuple[np.ndarray, ...]
    classes: tuple[tuple[float, float], ...]  # (TF, RDD) per instance
    refs: np.ndarray
    optimal: np.ndarray
    stored_valid: bool = True  # False: stored values are not valid bounds and are not used

    @property
    def count(self) -> int:
        return len(self.p)

    def label(self, i: int) -> str:
        tf, rdd = self.classes[i]
        return f"n={self.n}, TF={tf:.1f}, RDD={rdd:.1f}"


@dataclass(frozen=True)
class ProgramResult:
    """A program's outcome on one set: status "ok" with totals and call times, or why not."""

    status: str
    totals: np.ndarray | None = None
    call_ms: np.ndarray | None = None


def bench(request: BenchRequest) -> list[BenchTable]:
    """Tables for ``adrs bench smtt``: per set a summary table and a per-class table."""
    options = parse_bench_options(request.problem.instances)
    if request.data_dir is not None:
        sets = published_sets(Path(request.data_dir), request.sizes, request.quick)
    else:
        sets = generated_sets(options, request.problem.root, request.sizes, request.quick)
    if not sets:
        raise ConfigError(f"no instance set matches --sizes {list(request.sizes or ())}")
    limits = request.problem.limits
    tables, curves = [], {}
    for bench_set in sets:
        results = run_set(request.programs, bench_set, options.max_call_s, limits, request.workers)
        refs, optimal, notes = effective_references(bench_set, results)
        tables.append(summary_table(bench_set, results, refs, optimal, notes, options.max_call_s))
        tables.append(class_table(bench_set, results, refs, optimal))
        for label, result in results.items():
            if result.status == "ok":
                gaps = gap_stats(result.totals, refs)
                curves.setdefault((bench_set.source, label), []).append((bench_set.n, gaps["mean"]))
    if request.plot is not None:
        draw_plot(curves, Path(request.plot))
    return tables


def parse_bench_options(instances: Mapping[str, Any]) -> BenchOptions:
    """Read ``instances.bench`` (all fields optional; defaults in BENCH_DEFAULTS)."""
    raw = instances.get("bench", {}) if isinstance(instances, Mapping) else {}
    where = "instances.bench"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a mapping {{seed, sizes, per_combo, max_call_s}}")
    unknown = sorted(set(raw) - set(BENCH_DEFAULTS))
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(map(str, unknown))}; "
                          f"allowed: {', '.join(sorted(BENCH_DEFAULTS))}")
    merged = {**BENCH_DEFAULTS, **raw}
    cap = merged["max_call_s"]
    if isinstance(cap, bool) or not isinstance(cap, int | float) or not cap > 0:
        raise ConfigError(f"{where}.max_call_s: expected a positive number of seconds, got {cap!r}")
    spec = parse_set_spec({k: merged[k] for k in ("seed", "sizes", "per_combo")}, where)
    return BenchOptions(seed=spec.seed, sizes=spec.sizes, per_combo=spec.per_combo,
                        max_call_s=float(cap))


# --- instance sets -------------------------------------------------------------------------------


def generated_sets(options: BenchOptions, problem_root: Path, sizes: Sequence[int] | None,
                   quick: bool) -> list[BenchSet]:
    """One generated set per size: the configured sizes, ``--sizes`` (any size), or QUICK_SIZES."""
    chosen = tuple(sizes) if sizes else (QUICK_SIZES if quick else options.sizes)
    out = []
    for n in chosen:
        spec = SetSpec(seed=options.seed, sizes=(n,), per_combo=options.per_combo)
        instances = generate_set(spec)
        values, optimal = generated_references(f"bench_n{n}", spec, instances, problem_root)
        out.append(BenchSet(source="generated", n=n, p=tuple(i.p for i in instances),
                            d=tuple(i.d for i in instances),
                            classes=tuple((i.tf, i.rdd) for i in instances),
                            refs=values, optimal=optimal))
    return out


def generated_references(split: str, spec: SetSpec, instances: Sequence[Any], problem_root: Path
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Reference values and proven-optimal flags of a generated set (cached by ``reference``)."""
    from .reference import load_reference_records, user_cache_dir

    records = load_reference_records(split, spec, instances,
                                     [Path(problem_root) / "data", user_cache_dir()])
    return (np.array([r.value for r in records], dtype=np.int64),
            np.array([r.optimal for r in records], dtype=bool))


def published_files(data_dir: Path) -> dict[int, Path]:
    """``data_<n>_<count>.json`` files of a folder, by size (an error if none or duplicated)."""
    if not data_dir.is_dir():
        raise ConfigError(f"--data {data_dir}: not a folder")
    found: dict[int, Path] = {}
    for path in sorted(data_dir.iterdir()):
        match = PUBLISHED_FILE.fullmatch(path.name)
        if not match:
            continue
        n = int(match.group(1))
        if n in found:
            raise ConfigError(f"--data {data_dir}: two files for n={n}: {found[n].name}, {path.name}")
        found[n] = path
    if not found:
        raise ConfigError(f"--data {data_dir}: no files named data_<n>_<count>.json")
    return found


def published_sets(data_dir: Path, sizes: Sequence[int] | None, quick: bool) -> list[BenchSet]:
    """Published sets of ``data_dir`` (``sizes`` only, if given); quick: one instance per class."""
    from .instances_io import InstanceFileError, read_json_instances

    out = []
    for n, path in sorted(published_files(data_dir).items()):
        if sizes and n not in sizes:
            continue
        try:
            items = read_json_instances(path, require_opt=True, allow_negative_due_dates=True)
        except InstanceFileError as err:
            raise ConfigError(str(err)) from None
        classes = published_classes(len(items), path)
        if any(item.n != n for item in items):
            bad = next(i for i, item in enumerate(items) if item.n != n)
            raise ConfigError(f"{path}: instance {bad} has {items[bad].n} jobs, the file name says {n}")
        keep = range(0, len(items), len(items) // len(CLASSES)) if quick else range(len(items))
        refs = np.array([items[i].opt for i in keep], dtype=np.int64)
        out.append(BenchSet(source="published", n=n, p=tuple(items[i].p for i in keep),
                            d=tuple(items[i].d for i in keep),
                            classes=tuple(classes[i] for i in keep), refs=refs,
                            optimal=np.full(len(refs), n <= PUBLISHED_OPTIMAL_UP_TO),
                            stored_valid=n <= PUBLISHED_OPTIMAL_UP_TO))
    return out


def published_classes(count: int, path: Path | str = "") -> list[tuple[float, float]]:
    """(TF, RDD) of each instance of a published file of ``count`` instances (see module doc)."""
    if count % len(CLASSES):
        raise ConfigError(f"{path}: {count} instances is not a multiple of the {len(CLASSES)} "
                          f"(TF, RDD) classes, so the class of an instance cannot be derived")
    per_class = count // len(CLASSES)
    return [CLASSES[i // per_class] for i in range(count)]


# --- running and scoring -------------------------------------------------------------------------


def run_set(programs: Mapping[str, str], bench_set: BenchSet, max_call_s: float, limits: Limits,
            workers: int) -> dict[str, ProgramResult]:
    """Run every program on the set in the sandbox and check each answer."""
    calls = [{"p": p, "d": d} for p, d in zip(bench_set.p, bench_set.d, strict=True)]
    budget = bench_set.count * max_call_s + STARTUP_S  # a backstop: each call is stopped at the cap
    run_limits = dataclasses.replace(limits, timeout_s=budget, cpu_s=int(budget) + 1)
    runs = run_programs(programs, "schedule", calls, run_limits, workers=workers,
                        call_limits_s=[max_call_s] * bench_set.count)
    return {label: check_run(runs[label], bench_set, max_call_s) for label in programs}


def check_run(run: ProgramRun, bench_set: BenchSet, max_call_s: float) -> ProgramResult:
    """Validate a program's outputs and recompute total tardiness; a status string if not ok."""
    outcome = run.outcome
    stopped = CALL_STOPPED.match(outcome.error) if outcome.status == "timeout" else None
    if stopped:  # the sandbox stopped a call at the cap
        i = int(stopped.group(1)) - 1
        return ProgramResult(status=f"timeout: instance {i} ({bench_set.label(i)}) stopped at the "
                                    f"cap {max_call_s:g} s")
    if outcome.status != "ok":
        where = f" {outcome.where}" if outcome.where else ""
        return ProgramResult(status=f"{outcome.status}{where}")
    times = np.asarray(outcome.call_times_s, dtype=float)
    slow = np.flatnonzero(times > max_call_s)
    if slow.size:
        i = int(slow[0])
        return ProgramResult(status=f"invalid: instance {i} ({bench_set.label(i)}) took "
                                    f"{times[i]:.2f} s > cap {max_call_s:g} s"
                                    + (f" (+{slow.size - 1} more)" if slow.size > 1 else ""))
    totals = []
    for i, output in enumerate(outcome.outputs or []):
        try:
            order = parse_schedule(output, bench_set.n)
        except InvalidSchedule as err:
            return ProgramResult(status=f"invalid: instance {i} ({bench_set.label(i)}): {err}")
        totals.append(total_tardiness(bench_set.p[i], bench_set.d[i], order))
    return ProgramResult(status="ok", totals=np.array(totals, dtype=np.int64), call_ms=1000.0 * times)


def effective_references(bench_set: BenchSet, results: Mapping[str, ProgramResult]
                         ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """References used for the gaps: best-known ones lowered to the best program result; stored
    optima that a program beats are demoted. Returns (refs, optimal flags, notes)."""
    refs, optimal = bench_set.refs.copy(), bench_set.optimal.copy()
    found = [r.totals for r in results.values() if r.status == "ok"]
    notes = []
    if found and not bench_set.stored_valid:
        best = np.min(np.vstack(found), axis=0)
        notes.append(f"the file's stored values are not used: they are not valid bounds (for n = 500 "
                     f"the exact solver proves optima above some of them); reference = best schedule "
                     f"of any program in this table; {int(np.sum(refs < best))} stored values are "
                     f"below it, {int(np.sum(refs > best))} above")
        return best, np.zeros(len(best), dtype=bool), notes
    if found:
        best = np.min(np.vstack(found), axis=0)
        beaten = optimal & (best < refs)
        improved = ~optimal & (best < refs)
        if beaten.any():
            notes.append(f"{int(beaten.sum())} stored 'optimal' values were beaten by a program: "
                         f"they are not optimal and are used as best-known here")
        if improved.any():
            notes.append(f"{int(improved.sum())} of {int((~optimal).sum())} best-known references "
                         f"were improved by a benchmarked program")
        optimal &= ~beaten
        refs = np.where(optimal, refs, np.minimum(refs, best))
    return refs, optimal, notes


def gap_stats(totals: np.ndarray, refs: np.ndarray) -> dict[str, float | None]:
    """Mean gap % over positive references, aggregate gap %, share with H == R (%)."""
    positive = refs > 0
    mean = float(np.mean(100.0 * (totals[positive] - refs[positive]) / refs[positive])) \
        if positive.any() else None
    aggregate = float(100.0 * (totals.sum() - refs.sum()) / refs.sum()) if refs.sum() > 0 else None
    return {"mean": mean, "aggregate": aggregate, "hit": float(100.0 * np.mean(totals == refs))}


def _reference_kind(optimal: np.ndarray) -> str:
    if optimal.all():
        return "optimal"
    return "best-known" if not optimal.any() else f"optimal on {int(optimal.sum())}/{optimal.size}"


def summary_table(bench_set: BenchSet, results: Mapping[str, ProgramResult], refs: np.ndarray,
                  optimal: np.ndarray, notes: Sequence[str], max_call_s: float) -> BenchTable:
    """One row per program: status, mean gap, aggregate gap, share at the reference, mean ms."""
    kind = "optimal" if optimal.all() else "best-known"
    columns = ("program", "status", f"mean gap to {kind} %", f"aggregate gap to {kind} %",
               f"= {kind} %", "mean ms")
    rows = []
    for label, result in results.items():
        if result.status != "ok":
            rows.append((label, result.status, None, None, None, None))
            continue
        stats = gap_stats(result.totals, refs)
        rows.append((label, "ok", stats["mean"], stats["aggregate"], stats["hit"],
                     float(np.mean(result.call_ms))))
    zero = int(np.sum(refs == 0))
    title = (f"SMTT {bench_set.source} n={bench_set.n}: {bench_set.count} instances, references "
             f"{_reference_kind(optimal)}")
    all_notes = [f"mean gap over the {bench_set.count - zero} instances with a positive reference "
                 f"({zero} have reference 0: they count only in '= {kind} %'); per-instance time "
                 f"cap {max_call_s:g} s"]
    if not bench_set.stored_valid:
        all_notes.append("best-known reference = best schedule of any program in this table; gaps "
                         "are to that, not to a proven optimum")
    elif not optimal.all():
        all_notes.append("best-known reference = min(stored or solver value, best schedule of any "
                         "program in this table); gaps are to that, not to a proven optimum")
    return BenchTable(title=title, columns=columns, rows=tuple(rows),
                      notes=tuple(all_notes) + tuple(notes))


def class_table(bench_set: BenchSet, results: Mapping[str, ProgramResult], refs: np.ndarray,
                optimal: np.ndarray) -> BenchTable:
    """One row per (TF, RDD) class: mean gap % of every program (None when it failed)."""
    kind = "optimal" if optimal.all() else "best-known"
    labels = list(results)
    columns = ("TF", "RDD", "instances", *labels)
    classes = np.array(bench_set.classes)
    rows = []
    for tf, rdd in sorted(set(bench_set.classes)):
        mask = (classes[:, 0] == tf) & (classes[:, 1] == rdd)
        cells = []
        for label in labels:
            result = results[label]
            cells.append(gap_stats(result.totals[mask], refs[mask])["mean"]
                         if result.status == "ok" else None)
        rows.append((tf, rdd, int(mask.sum()), *cells))
    return BenchTable(title=f"SMTT {bench_set.source} n={bench_set.n}: mean gap to {kind} % per "
                            f"(TF, RDD) class",
                      columns=columns, rows=tuple(rows),
                      notes=("a dash: no instance of the class has a positive reference, or the "
                             "program failed (see its status above)",))


def draw_plot(curves: Mapping[tuple[str, str], list[tuple[int, float | None]]], path: Path) -> None:
    """Mean gap vs n, one line per (source, program); symlog y axis (gaps span 0 .. 10^4 %)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    for (source, label), points in sorted(curves.items()):
        points = sorted((n, g) for n, g in points if g is not None)
        if not points:
            continue
        xs, ys = zip(*points, strict=True)
        ax.plot(xs, ys, marker="o", linestyle="-" if source == "published" else "--",
                label=f"{label} ({source})")
    ax.set_xlabel("jobs n")
    ax.set_ylabel("mean gap to reference %")
    ax.set_yscale("symlog", linthresh=0.1)
    ax.set_title("SMTT: mean gap vs n")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
