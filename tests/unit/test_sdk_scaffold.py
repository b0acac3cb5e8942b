"""``adrs new``: the written folder is a valid problem whose evaluator rejects bad packings, and the
OpenEvolve importer's pure parts (no sandbox)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from adrs.config import ConfigError
from adrs.openevolve import _entry_function, import_openevolve
from adrs.problem import load_problem
from adrs.program import EVOLVE_END, EVOLVE_START
from adrs.scaffold import new_problem, template_files
from adrs.sdk import InvalidOutput


def test_new_writes_every_template_with_the_name_filled_in(tmp_path: Path) -> None:
    folder = new_problem("my_sched", tmp_path)
    written = sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())
    assert written == sorted(Path(str(t)[: -len(".tmpl")]) for t in template_files())
    assert {"problem.yaml", "seed.py", "README.md"} <= {p.name for p in written}
    text = "".join(p.read_text() for p in folder.rglob("*") if p.is_file())
    assert "{{" not in text.replace("{{seed", "")  # only the f-string braces of instances.py remain
    assert "adrs check" in (folder / "README.md").read_text() and "my_sched" in text
    seed = (folder / "seed.py").read_text()
    assert EVOLVE_START in seed and EVOLVE_END in seed
    spec = load_problem(str(folder))
    assert (spec.name, spec.entry, spec.objective) == ("my_sched", "pack", "bins_ratio")
    assert yaml.safe_load((folder / "problem.yaml").read_text())["compare_with"] == ["NEXT_FIT"]


@pytest.mark.parametrize("name", ["My", "1abc", "a-b", "", "x" * 41, "../up"])
def test_bad_names_and_existing_folders_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError, match="problem name"):
        new_problem(name, tmp_path)


def test_an_existing_folder_is_not_overwritten(tmp_path: Path) -> None:
    new_problem("twice", tmp_path)
    with pytest.raises(ConfigError, match="already exists"):
        new_problem("twice", tmp_path)


def test_the_scaffolded_evaluator_validates_and_recomputes(tmp_path: Path) -> None:
    evaluator = load_problem(str(new_problem("packer", tmp_path))).load_evaluator()
    call = evaluator.calls("train")[0]
    sizes = call["sizes"]
    one_each = np.arange(len(sizes))
    metrics = evaluator.measure("train", 0, call, one_each)
    assert metrics["bins"] == len(sizes)
    assert metrics["bins_ratio"] == pytest.approx(len(sizes) / np.ceil(sizes.sum() / 100))
    bad = {"everything in one bin": np.zeros(len(sizes), dtype=np.int64),
           "floats": one_each.astype(float), "too short": one_each[:-1], "negative": one_each - 1,
           "None": None, "a string": "0 1 2", "booleans": np.ones(len(sizes), dtype=bool)}
    for label, answer in bad.items():
        with pytest.raises(InvalidOutput):
            evaluator.measure("train", 0, call, answer)
            pytest.fail(f"{label} was accepted")
    assert not set(map(tuple, (c["sizes"] for c in evaluator.calls("train")))) & set(
        map(tuple, (c["sizes"] for c in evaluator.calls("validation"))))


def test_openevolve_import_needs_the_files_and_markers(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not an OpenEvolve folder"):
        import_openevolve(tmp_path, tmp_path / "out")
    (tmp_path / "evaluator.py").write_text("def evaluate(path):\n    return {}\n")
    (tmp_path / "initial_program.py").write_text("def f():\n    return 1\n")
    with pytest.raises(ConfigError, match="EVOLVE-BLOCK"):
        import_openevolve(tmp_path, tmp_path / "out")


def test_openevolve_entry_is_the_function_after_the_evolve_block() -> None:
    code = (f"def helper():\n    pass\n{EVOLVE_START}\ndef evolved(x):\n    return x\n{EVOLVE_END}\n"
            "def run_search():\n    return evolved(1)\n")
    assert _entry_function(code) == "run_search"
    assert _entry_function(f"{EVOLVE_START}\ndef only():\n    pass\n{EVOLVE_END}\n") == "only"
