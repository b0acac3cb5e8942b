"""Instance file readers: published JSON and OR-Library weighted files load; malformed files get an error
naming the file, the instance and the problem."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import numpy as np
import pytest

from adrs.resources import builtin_dir, import_package_from_dir

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"

import_package_from_dir(builtin_dir("evaluators") / "smtt", "adrs_evaluator_smtt")
instances_io = importlib.import_module("adrs_evaluator_smtt.instances_io")
InstanceFileError = instances_io.InstanceFileError


def write(tmp_path: Path, payload) -> Path:
    path = tmp_path / "set.json"
    path.write_text(payload if isinstance(payload, str) else json.dumps(payload))
    return path


GOOD = {"p": [3, 1, 2], "d": [0, 4, 5], "opt": 3}


def test_reads_published_sets():
    data = instances_io.read_json_instances(SHARED / "smtt" / "data_100_200.json")
    assert len(data) == 200 and all(inst.n == 100 for inst in data)
    assert data[0].p.dtype == np.int64 and data[0].opt == 2065 and data[0].w is None
    wt = instances_io.read_orlib_weighted(SHARED / "orlib_wt" / "wt40.txt", 40,
                                          SHARED / "orlib_wt" / "wtopt40.txt")
    assert len(wt) == 125 and all(inst.n == 40 and inst.w is not None for inst in wt)
    assert int(wt[0].w.min()) >= 1 and int(wt[0].p.max()) <= 100


def test_reads_a_valid_file_with_integral_floats(tmp_path):
    [inst] = instances_io.read_json_instances(write(tmp_path, [{**GOOD, "p": [3.0, 1, 2]}]))
    assert inst.p.tolist() == [3, 1, 2] and inst.d.tolist() == [0, 4, 5] and inst.opt == 3


@pytest.mark.parametrize("item, message", [
    ({**GOOD, "p": [3, -1, 2]}, r"instance 1: p\[1\] = -1 is negative"),
    ({**GOOD, "d": [0, -4, 5]}, r"instance 1: d\[1\] = -4 is negative"),
    ({**GOOD, "p": [3, 0, 2]}, r"instance 1: p\[1\] = 0 is below 1"),
    ({**GOOD, "d": [0, 4]}, r"instance 1: mismatched lengths \(p has 3, d has 2 values\)"),
    ({**GOOD, "p": [3, 1.5, 2]}, r"instance 1: p\[1\] = 1.5 is not an integer"),
    ({**GOOD, "d": [0, "4", 5]}, r"instance 1: d\[1\] = '4' is not an integer"),
    ({**GOOD, "p": [3, True, 2]}, r"instance 1: p\[1\] = True is not an integer"),
    ({"p": [1], "d": [1]}, r"instance 1: missing key\(s\) opt"),
    ({"d": [1], "opt": 0}, r"instance 1: missing key\(s\) p"),
    ({**GOOD, "p": [], "d": []}, r"instance 1: 'p' is empty"),
    ({**GOOD, "opt": -2}, r"instance 1: opt = -2 must be a non-negative integer"),
    ([1, 2], r"instance 1: expected an object"),
])
def test_rejects_bad_instances_naming_file_and_instance(tmp_path, item, message):
    path = write(tmp_path, [GOOD, item])
    with pytest.raises(InstanceFileError, match=message) as err:
        instances_io.read_json_instances(path)
    assert str(err.value).startswith(str(path))


@pytest.mark.parametrize("payload, message", [
    ("[", "not valid JSON"), ([], "holds no instances"), ({"p": [1]}, "expected a JSON list"),
])
def test_rejects_bad_files(tmp_path, payload, message):
    with pytest.raises(InstanceFileError, match=message):
        instances_io.read_json_instances(write(tmp_path, payload))
    with pytest.raises(InstanceFileError, match="cannot read"):
        instances_io.read_json_instances(tmp_path / "missing.json")


def test_rejects_bad_orlib_files(tmp_path):
    path = tmp_path / "wt2.txt"
    path.write_text("1 2  1 1  5 6\n 3 4 1 1 0 2 9")
    with pytest.raises(InstanceFileError, match=r"13 integers is not a multiple of 3\*n = 6"):
        instances_io.read_orlib_weighted(path, 2)
    path.write_text("1 2  1 1  5 6\n 3 4 1 x 0 2")
    with pytest.raises(InstanceFileError, match=r"token 9 \('x'\) is not an integer"):
        instances_io.read_orlib_weighted(path, 2)
    path.write_text("1 2  1 1  5 6\n 3 4 1 0 0 2")
    with pytest.raises(InstanceFileError, match=r"wt2.txt: instance 1: w\[1\] = 0 is below 1"):
        instances_io.read_orlib_weighted(path, 2)
    path.write_text("1 2  1 1  5 6\n 3 4 1 1 -3 2")
    with pytest.raises(InstanceFileError, match=r"instance 1: d\[0\] = -3 is negative"):
        instances_io.read_orlib_weighted(path, 2)
    values = tmp_path / "opt.txt"
    values.write_text("7")
    path.write_text("1 2  1 1  5 6\n 3 4 1 1 0 2")
    with pytest.raises(InstanceFileError, match=r"opt.txt: 1 values for the 2 instances"):
        instances_io.read_orlib_weighted(path, 2, values)
    values.write_text("0 7")
    assert [i.opt for i in instances_io.read_orlib_weighted(path, 2, values)] == [0, 7]


def test_negative_due_dates_only_when_allowed(tmp_path):
    path = write(tmp_path, [{**GOOD, "d": [-5, 4, 5]}])
    with pytest.raises(InstanceFileError, match=r"instance 0: d\[0\] = -5 is negative"):
        instances_io.read_json_instances(path)
    [inst] = instances_io.read_json_instances(path, allow_negative_due_dates=True)
    assert inst.d.tolist() == [-5, 4, 5]
    with pytest.raises(InstanceFileError, match=r"p\[0\] = -3 is negative"):
        instances_io.read_json_instances(write(tmp_path, [{**GOOD, "p": [-3, 1, 2]}]),
                                         allow_negative_due_dates=True)
