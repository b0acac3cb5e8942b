"""``adrs bench smtt`` internals: options, published layout, references, time cap, tables, plot."""

from __future__ import annotations

import dataclasses
import importlib
import itertools
import json

import numpy as np
import pytest

from adrs.bench import BenchRequest, ProgramRun
from adrs.config import ConfigError
from adrs.problem import load_problem
from adrs.resources import builtin_dir, import_package_from_dir
from adrs.sandbox import RunOutcome

smtt = import_package_from_dir(builtin_dir("evaluators") / "smtt", "adrs_evaluator_smtt")
bench = importlib.import_module("adrs_evaluator_smtt.bench")
generator = importlib.import_module("adrs_evaluator_smtt.generator")

EXACT = """
import itertools
import numpy as np

def schedule(p, d):
    best, value = None, None
    for order in itertools.permutations(range(len(p))):
        order = np.array(order)
        total = int(np.maximum(np.cumsum(p[order]) - d[order], 0).sum())
        if value is None or total < value:
            best, value = order, total
    return best
"""
SLOW_FIRST_CALL = """
import time
import numpy as np
calls = []

def schedule(p, d):
    calls.append(1)
    if len(calls) == 1:
        time.sleep(1.0)
    return np.argsort(d, kind="stable")
"""
REPEATS_A_JOB = "def schedule(p, d):\n    return [0] * len(p)\n"


def brute_force(p, d) -> int:
    return min(int(np.maximum(np.cumsum(p[list(o)]) - d[list(o)], 0).sum())
               for o in itertools.permutations(range(len(p))))


def write_published(folder, n=6, seed=99, wrong_first=0):
    """A data_<n>_20.json file in the published layout (RDD outer, TF inner), brute-force optima."""
    made = {(i.tf, i.rdd): i for i in generator.generate_set(generator.SetSpec(seed, (n,), 1))}
    items = []
    for rdd in generator.RDD_TENTHS:
        for tf in generator.TF_TENTHS:
            inst = made[(tf / 10, rdd / 10)]
            items.append({"p": inst.p.tolist(), "d": inst.d.tolist(), "opt": brute_force(inst.p, inst.d)})
    items[0]["opt"] += wrong_first
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"data_{n}_20.json").write_text(json.dumps(items))
    return items


def test_bench_options_defaults_and_errors():
    options = bench.parse_bench_options({"train": {}})
    assert options.sizes == (20, 100, 200) and options.max_call_s > 0
    assert bench.parse_bench_options({"bench": {"sizes": [30], "max_call_s": 0.5}}).sizes == (30,)
    with pytest.raises(ConfigError, match="instances.bench: unknown field"):
        bench.parse_bench_options({"bench": {"colour": 1}})
    with pytest.raises(ConfigError, match="max_call_s"):
        bench.parse_bench_options({"bench": {"max_call_s": -1}})


def test_published_layout_and_file_errors(tmp_path):
    classes = bench.published_classes(40)
    assert classes[0] == (0.2, 0.2) and classes[2] == (0.4, 0.2) and classes[8] == (0.2, 0.4)
    assert classes[39] == (0.8, 1.0)
    with pytest.raises(ConfigError, match="not a multiple of the 20"):
        bench.published_classes(30, "x.json")
    with pytest.raises(ConfigError, match="no files named"):
        bench.published_files(tmp_path)
    (tmp_path / "data_5_20.json").write_text(json.dumps([{"p": [1, -2], "d": [0, 1], "opt": 0}] * 20))
    with pytest.raises(ConfigError, match=r"instance 0: p\[1\] = -2 is negative"):
        bench.published_sets(tmp_path, None, quick=False)
    (tmp_path / "data_5_20.json").write_text(json.dumps([{"p": [1, 2], "d": [0, 1], "opt": 0}] * 20))
    with pytest.raises(ConfigError, match="has 2 jobs, the file name says 5"):
        bench.published_sets(tmp_path, None, quick=False)


def test_gap_statistics_by_hand():
    stats = bench.gap_stats(np.array([110, 50, 0, 3]), np.array([100, 50, 0, 0]))
    assert stats["mean"] == pytest.approx(5.0)  # (10 % + 0 %) / 2 over positive references
    assert stats["aggregate"] == pytest.approx(100 * 13 / 150)
    assert stats["hit"] == pytest.approx(50.0)


def make_set(refs, optimal):
    n = 3
    return bench.BenchSet("published", n, tuple(np.ones(n, dtype=np.int64) for _ in refs),
                          tuple(np.zeros(n, dtype=np.int64) for _ in refs),
                          tuple((0.2, 0.2) for _ in refs), np.array(refs), np.array(optimal))


def test_best_known_references_take_the_best_program_and_beaten_optima_are_demoted():
    bench_set = make_set([10, 10, 10], [True, False, False])
    results = {"a": bench.ProgramResult("ok", np.array([8, 12, 9])),
               "b": bench.ProgramResult("ok", np.array([11, 7, 10])),
               "c": bench.ProgramResult("error during call 1 of 3")}
    refs, optimal, notes = bench.effective_references(bench_set, results)
    assert refs.tolist() == [8, 7, 9] and optimal.tolist() == [False, False, False]
    assert any("1 stored 'optimal' values were beaten" in note for note in notes)
    assert any("2 of 2 best-known references were improved" in note for note in notes)


def test_invalid_stored_values_are_replaced_by_the_best_program_result():
    bench_set = dataclasses.replace(make_set([1, 50, 10], [False, False, False]), stored_valid=False)
    results = {"a": bench.ProgramResult("ok", np.array([8, 12, 9])),
               "b": bench.ProgramResult("ok", np.array([11, 7, 10]))}
    refs, optimal, notes = bench.effective_references(bench_set, results)
    assert refs.tolist() == [8, 7, 9] and not optimal.any()
    assert "1 stored values are below it, 2 above" in notes[0]


def outcome(outputs, times, status="ok"):
    return ProgramRun("x", RunOutcome(status=status, outputs=outputs, call_times_s=times,
                                      where="during call 2 of 3" if status != "ok" else ""))


def test_check_run_reports_time_cap_invalid_answers_and_failures():
    bench_set = make_set([1, 1, 1], [True, True, True])
    good = [[0, 1, 2], [2, 1, 0], [1, 0, 2]]
    ok = bench.check_run(outcome(good, [0.1, 0.1, 0.1]), bench_set, max_call_s=0.5)
    assert ok.status == "ok" and ok.totals.tolist() == [3 + 2 + 1, 6, 6]
    slow = bench.check_run(outcome(good, [0.1, 0.9, 0.7]), bench_set, max_call_s=0.5)
    assert slow.status.startswith("invalid: instance 1 (n=3, TF=0.2, RDD=0.2) took 0.90 s > cap 0.5 s")
    assert "(+1 more)" in slow.status and slow.totals is None
    bad = bench.check_run(outcome([[0, 1, 2], [0, 0, 1], [0, 1, 2]], [0.1] * 3), bench_set, 0.5)
    assert bad.status.startswith("invalid: instance 1 (n=3") and "job 0 appears 2 times" in bad.status
    failed = bench.check_run(outcome(None, [], status="timeout"), bench_set, 0.5)
    assert failed.status == "timeout during call 2 of 3"


def test_evaluator_rejects_a_call_over_the_time_cap(tmp_path, monkeypatch):
    monkeypatch.setattr(importlib.import_module("adrs_evaluator_smtt.reference"), "ILS_ITERATIONS", 5)
    instances = {"train": {"seed": 11, "sizes": [7], "per_combo": 1},
                 "validation": {"seed": 12, "sizes": [7], "per_combo": 1},
                 "holdout": {"seed": 13, "sizes": [7], "per_combo": 1}, "max_call_s": 0.25}
    ev = smtt.make_evaluator(instances, tmp_path)
    outputs = [np.argsort(c["d"]) for c in ev.calls("train")]
    times = [0.01] * len(outputs)
    assert ev.score("train", outputs, times).status == "ok"
    times[4] = 0.4
    result = ev.score("train", outputs, times)
    inst = ev.instances["train"][4]
    assert result.status == "invalid"
    assert f"instance 4 (n=7, TF={inst.tf:.1f}, RDD={inst.rdd:.1f}): 0.40 s" in result.feedback
    assert "time cap of 0.25 s" in result.feedback
    hidden = ev.score("holdout", [np.argsort(c["d"]) for c in ev.calls("holdout")], times)
    assert hidden.status == "invalid" and "TF=" not in hidden.feedback
    with pytest.raises(ConfigError, match="max_call_s"):
        smtt.make_evaluator({**instances, "max_call_s": 0}, tmp_path)


def test_bench_end_to_end_on_a_small_published_set(tmp_path):
    items = write_published(tmp_path / "pub", wrong_first=5)
    spec = load_problem("smtt")
    spec = dataclasses.replace(spec, root=tmp_path, instances={
        **spec.instances, "bench": {"seed": 5, "sizes": [6], "per_combo": 1, "max_call_s": 0.5}})
    programs = {"MDD": (spec.baselines["MDD"]).read_text(), "EXACT": EXACT,
                "SLOW": SLOW_FIRST_CALL, "REPEATS": REPEATS_A_JOB}
    request = BenchRequest(problem=spec, programs=programs, data_dir=tmp_path / "pub", sizes=(6,),
                           plot=tmp_path / "gaps.png")
    tables = {t.title: t for t in smtt.bench(request)}
    summary = next(t for title, t in tables.items() if title.startswith("SMTT published n=6"))
    rows = {row[0]: dict(zip(summary.columns, row, strict=True)) for row in summary.rows}
    kind = "best-known"  # the wrong stored value on instance 0 is beaten, so not all are optimal
    assert rows["EXACT"][f"mean gap to {kind} %"] == pytest.approx(0.0)
    assert rows["EXACT"][f"= {kind} %"] == pytest.approx(100.0)
    assert rows["MDD"]["status"] == "ok" and rows["MDD"][f"mean gap to {kind} %"] >= 0
    assert rows["SLOW"]["status"] == "timeout: instance 0 (n=6, TF=0.2, RDD=0.2) stopped at the cap 0.5 s"
    assert rows["SLOW"][f"mean gap to {kind} %"] is None
    assert rows["REPEATS"]["status"].startswith("invalid: instance 0")
    assert any("1 stored 'optimal' values were beaten" in note for note in summary.notes)
    assert items[0]["opt"] > 0
    classes = next(t for title, t in tables.items() if title.startswith("SMTT published n=6: mean gap"))
    assert classes.columns[:3] == ("TF", "RDD", "instances") and len(classes.rows) == 20
    assert all(row[2] == 1 for row in classes.rows)
    assert not any(title.startswith("SMTT generated") for title in tables)  # --data replaces them
    assert (tmp_path / "gaps.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
