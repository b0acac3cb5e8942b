"""txn workload files in the published ADRS layout: parsing, errors that say where, round trip,
and the references and published scores `adrs bench txn --data` reports for them."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

from adrs.resources import builtin_dir, import_package_from_dir

import_package_from_dir(builtin_dir("evaluators") / "txn", "adrs_evaluator_txn")
wf = importlib.import_module("adrs_evaluator_txn.workload_file")
txn_bench = importlib.import_module("adrs_evaluator_txn.bench")
published = importlib.import_module("adrs_evaluator_txn.published")
bounds = importlib.import_module("adrs_evaluator_txn.bounds")
txn_sim = importlib.import_module("adrs_evaluator_txn.txn_sim")

FIXTURE = builtin_dir("problems") / "txn" / "workloads" / "published_shape.json"
R, W, F = txn_sim.READ, txn_sim.WRITE, txn_sim.FILLER


def test_published_layout_is_read_in_file_order() -> None:
    raw = {"workloads": [{"name": "W1", "txns": {"txn0": "w-17 r-5 *", "txn2": "r-17", "txn1": "w-5 w-17"}}]}
    (batch,) = wf.parse_workloads(raw)
    w = batch.workload
    assert batch.family == "W1" and w.n == 3
    assert w.txns == ((("w", 17), ("r", 5), ("f", -1)), (("r", 17),), (("w", 5), ("w", 17)))
    as_list = wf.parse_workloads({"workloads": [{"name": "W1", "txns": ["w-17 r-5 *", "r-17", "w-5 w-17"]}]})
    assert as_list[0].fingerprint() == batch.fingerprint()


@pytest.mark.parametrize(("raw", "message"), [
    ({}, "non-empty list 'workloads'"),
    ({"workloads": [{"name": "A"}]}, "'name' and 'txns'"),
    ({"workloads": [{"name": "A", "txns": {"t0": "r-1"}}]}, "at least 2 transactions"),
    ({"workloads": [{"name": "A", "txns": {"t0": "r-1", "t1": "x-2"}}]}, "txn t1: operation 'x-2'"),
    ({"workloads": [{"name": "A", "txns": {"t0": "r-1", "t1": "w--2"}}]}, "operation 'w--2'"),
    ({"workloads": [{"name": "A", "txns": {"t0": "r-1", "t1": ""}}]}, "txn t1: expected a non-empty"),
    ({"workloads": [{"name": "A", "txns": "r-1"}]}, "'txns' must be an object"),
    ({"workloads": [{"name": "A", "txns": ["r-1", "w-1"]}, {"name": "A", "txns": ["r-1", "w-1"]}]},
     "duplicate name 'A'"),
])
def test_malformed_files_name_the_problem(raw, message) -> None:
    with pytest.raises(wf.WorkloadFileError, match=message.replace("(", r"\(").replace("'", "'")):
        wf.parse_workloads(raw)


def test_round_trip_and_the_fixture(tmp_path: Path) -> None:
    batches = wf.read_workload_file(FIXTURE)
    assert [(b.family, b.n) for b in batches] == [("dense", 100), ("pairs", 100), ("rxw", 100)]
    copy = tmp_path / "copy.json"
    wf.write_workload_file(copy, batches)
    assert [b.fingerprint() for b in wf.read_workload_file(copy)] == [b.fingerprint() for b in batches]
    assert json.loads(copy.read_text()) == json.loads(FIXTURE.read_text())  # the layout, exactly


def test_file_references_bound_and_exact_optimum(tmp_path: Path) -> None:
    raw = {"workloads": [
        {"name": "tiny", "txns": {"a": "r-1 * * * * * * * w-2", "b": "r-2 * * * * * * * w-1", "c": "w-3"}},
        {"name": "big", "txns": [f"r-{k % 3} w-{(k + 1) % 3}" for k in range(20)]},
    ]}
    batches = wf.parse_workloads(raw)
    refs = txn_bench.file_references(batches, seeds=3)
    assert refs["smf"].shape == (3, 2)
    assert refs["optimum"][0] == 18 == refs["lb"][0]  # the chain bound proves the optimum here
    assert refs["chain"][0] == 18 > refs["key"][0]
    assert refs["optimum"][1] != refs["optimum"][1]  # n = 20 > EXACT_MAX_N: not computed (nan)
    assert (refs["lb"] <= refs["smf"].min(axis=0)).all()
    assert (refs["lb"] <= refs["sequential"]).all()


def test_published_scores_are_theirs_arithmetic() -> None:
    batches = wf.read_workload_file(FIXTURE)
    seq = sum(b.workload.makespan(range(b.n)) for b in batches)
    assert published.leaderboard_score(seq, batches) == 0.0
    assert published.leaderboard_score(0, batches) == 100.0
    opt = sum(max(b.workload.lengths) for b in batches)
    effective = opt + 0.1 * (seq - opt)
    middle = (seq + effective) / 2
    assert published.leaderboard_score(middle, batches) == pytest.approx(50.0)
    assert published.skydiscover_score(999) == pytest.approx(1000.0)
