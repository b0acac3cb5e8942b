"""The steps of docs/authoring.md, exactly as documented, in a fresh folder: `adrs new binpack`,
`adrs check ./binpack`, `adrs run ./binpack --budget 30`, `adrs best`. Prints the wall time a new
user waits for them."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adrs.cli.main import app
from tests.conftest import REPO

DOC = REPO / "docs" / "authoring.md"


def documented_commands() -> list[list[str]]:
    """The `adrs ...` commands of the numbered steps, in order (from the bash blocks of the doc)."""
    text = DOC.read_text().split("## Plugging in your own problem")[0]
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    return [line.split("#")[0].split()[1:] for block in blocks for line in block.splitlines()
            if line.startswith("adrs ")]


@pytest.mark.usefixtures("ray_session")
def test_the_documented_steps_work_and_report_their_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str],
                                                        record_property) -> None:
    commands = documented_commands()
    assert [c[0] for c in commands] == ["new", "check", "run", "best"], commands
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    timings = []
    started = time.perf_counter()
    outputs = []
    for command in commands:
        t0 = time.perf_counter()
        out = runner.invoke(app, command)
        timings.append((" ".join(command), time.perf_counter() - t0))
        assert out.exit_code == 0, f"adrs {' '.join(command)}:\n{out.output}"
        outputs.append(out.output)
    total = time.perf_counter() - started
    new, check, run, best = outputs
    assert (tmp_path / "binpack" / "evaluator" / "instances.py").is_file()
    assert "all 19 checks passed" in check
    assert "candidate budget reached (30)" in run
    assert "NEXT_FIT" in best and "bins_ratio" in best
    record_property("authoring_wall_s", round(total, 1))
    with capsys.disabled():
        print(f"\ndocs/authoring.md steps: {total:.1f} s in all ("
              + ", ".join(f"adrs {name}: {seconds:.1f} s" for name, seconds in timings) + ")")
