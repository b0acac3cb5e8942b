"""A non-editable install ships the built-in problems, evaluators and prompts inside the package."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import REPO


def test_wheel_contains_builtin_problems_evaluators_and_prompts(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path),
                    str(REPO)], check=True, capture_output=True, timeout=300)
    wheel = next(tmp_path.glob("adrs-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        "adrs/_builtin/problems/smtt/problem.yaml",
        "adrs/_builtin/problems/smtt/seed.py",
        "adrs/_builtin/problems/smtt/baselines/mdd.py",
        "adrs/_builtin/problems/smtt/data/validation.json",
        "adrs/_builtin/evaluators/smtt/__init__.py",
        "adrs/_builtin/prompts/system.j2",
        "adrs/_builtin/prompts/diff.j2",
        "adrs/_harness.py",
        "adrs/ui/static/charts.js",
        "adrs/ui/static/lineage.js",
        "adrs/ui/static/app.css",
        "adrs/ui/templates/program.html",
    }
    assert expected <= names, sorted(expected - names)
    assert not any(name.startswith(("tests/", "runs/")) for name in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "adrs = adrs.cli.main:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
