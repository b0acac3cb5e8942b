"""Bring your own problem: OpenEvolve and ADRS-benchmark folders (fixtures written for these tests in
tests/fixtures/byop) run unchanged, with their packages and data, and the right thing is blamed.

The seed's score in adrs must equal what the folder's evaluator gives when run directly; a folder
needing scipy, one in the ADRS-benchmark layout (helper module, data file, subprocess-style
evaluator), one reading a 100 MB data file (written here, never committed), one with two phase
configs, one whose evaluator does not import, and one whose candidate patches the evaluator."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from adrs.cli.main import app
from adrs.config import ConfigError
from adrs.evaluation import EvalResult, evaluate_program
from adrs.openevolve import foreign_layout, import_openevolve
from adrs.problem import load_problem
from adrs.sandbox import Limits, isolation_level, run_program
from adrs.sandbox_packages import sandbox_runtime
from tests.conftest import REPO

FIXTURES = REPO / "tests" / "fixtures" / "byop"
PRIVATE_ROOT = isolation_level().startswith("private-root")


def seed_result(folder: Path, tmp: Path, mode: str = "auto") -> tuple[EvalResult, object]:
    spec = load_problem(str(import_openevolve(folder, tmp / "imported", candidate_process=mode).problem_dir))
    evaluator = spec.load_evaluator()
    return evaluate_program(spec.seed_code, evaluator, "train", spec.limits), spec


def direct_score(folder: Path, evaluator_dir: Path) -> float:
    """The evaluator run directly on initial_program.py (no adrs), as its authors run it."""
    code = ("import json, sys; sys.path.insert(0, sys.argv[1]); import evaluator; "
            "r = evaluator.evaluate(sys.argv[2]); print(json.dumps(float(r['combined_score'])))")
    argv = [sys.executable, "-c", code, str(evaluator_dir), str(folder / "initial_program.py")]
    done = subprocess.run(argv, cwd=evaluator_dir, capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def bigdata(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("big") / "oe_bigdata"
    shutil.copytree(FIXTURES / "oe_bigdata", folder)
    rng = np.random.default_rng(7)
    with open(folder / "data" / "bytes.bin", "wb") as f:
        for _ in range(25):  # 25 x 4 MiB = 100 MiB
            f.write(rng.integers(0, 200, size=4 << 20, dtype=np.uint8).tobytes())
    return folder


def test_layouts_are_detected() -> None:
    assert foreign_layout(FIXTURES / "oe_scipy") == "openevolve"
    assert foreign_layout(FIXTURES / "adrs_layout") == "adrs-benchmark"
    assert foreign_layout(REPO / "tests" / "fixtures" / "toy") is None  # an adrs folder
    assert foreign_layout(FIXTURES) is None


def test_two_phase_configs_need_a_choice(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config_phase_1.yaml, config_phase_2.yaml.*--oe-config"):
        import_openevolve(FIXTURES / "oe_phases", tmp_path)
    second = import_openevolve(FIXTURES / "oe_phases", tmp_path, Path("config_phase_2.yaml"))
    assert (second.budget, second.seed) == (7, 12)
    assert load_problem(str(second.problem_dir)).limits.timeout_s == 40
    phases = FIXTURES / "oe_phases"
    first = import_openevolve(phases, tmp_path, phases / "config_phase_1.yaml")
    assert (first.budget, first.seed) == (3, 11) and first.problem_dir != second.problem_dir
    out = CliRunner().invoke(app, ["run", str(FIXTURES / "oe_phases"), "--runs-dir", str(tmp_path / "runs")])
    assert out.exit_code == 2 and "--oe-config" in out.output


@pytest.mark.parametrize("name", ["oe_scipy", "adrs_layout", "oe_tamper"])
def test_seed_score_equals_the_evaluator_run_directly(name: str, tmp_path: Path) -> None:
    folder = FIXTURES / name
    result, spec = seed_result(folder, tmp_path)
    assert result.status == "ok", result.feedback
    evaluator_dir = folder / "evaluator" if name == "adrs_layout" else folder
    assert result.score == direct_score(folder, evaluator_dir)
    assert spec.instances["candidate_process"] == "proxy"  # all three load the program themselves


def test_requirements_become_sandbox_packages(tmp_path: Path) -> None:
    spec = load_problem(str(import_openevolve(FIXTURES / "oe_scipy", tmp_path).problem_dir))
    assert spec.limits.packages == ("numpy>=1.26", "scipy")
    runtime = sandbox_runtime(spec.limits.packages)
    assert any(Path(b).name == "scipy" for b in runtime.binds)
    assert not any(Path(b).name in ("adrs", "sqlalchemy", "ray") for b in runtime.binds)


def test_a_100_mb_data_file_is_read_in_place(bigdata: Path, tmp_path: Path) -> None:
    assert (bigdata / "data" / "bytes.bin").stat().st_size >= 100 * 2**20
    result, _ = seed_result(bigdata, tmp_path)
    assert result.status == "ok", result.feedback
    assert result.metrics["data_mb"] >= 100 and result.score == direct_score(bigdata, bigdata)


def test_an_evaluator_that_fails_to_import_is_blamed(tmp_path: Path) -> None:
    result, _ = seed_result(FIXTURES / "oe_broken", tmp_path)
    assert result.status == "evaluator_error"
    assert "failed to import (not the program's fault)" in result.feedback
    assert "No module named 'adrs_fixture_missing_simulator'" in result.feedback  # the traceback
    assert "requirements.txt" in result.feedback and "pip install" in result.feedback  # the hint
    out = CliRunner().invoke(app, ["run", str(FIXTURES / "oe_broken"), "--budget", "1",
                                   "--runs-dir", str(tmp_path / "runs")])
    assert out.exit_code == 2, out.output
    assert "the evaluator failed on the seed program" in out.output
    assert "seed program fails" not in out.output


def test_a_missing_declared_package_stops_before_any_budget_is_spent(tmp_path: Path) -> None:
    folder = tmp_path / "needs"
    shutil.copytree(FIXTURES / "oe_scipy", folder)
    (folder / "requirements.txt").write_text("scipy\nadrs-fixture-not-installed>=1\n")
    runs = tmp_path / "runs"
    out = CliRunner().invoke(app, ["run", str(folder), "--budget", "3", "--runs-dir", str(runs)])
    assert out.exit_code == 2, out.output
    text = " ".join(out.output.split())
    assert "-m pip install 'adrs-fixture-not-installed>=1'" in text
    assert sorted(p.name for p in runs.iterdir()) == ["openevolve"]  # no run was created
    check = CliRunner().invoke(app, ["check", str(folder), "--runs-dir", str(runs)])
    assert check.exit_code == 1 and "not installed" in check.output


def test_sandbox_packages_in_problem_yaml_widen_the_native_sandbox() -> None:
    code = "import scipy.special\ndef f():\n    return float(scipy.special.expit(0.0))\n"
    without = run_program(code, "f", [{}], Limits())
    declared = run_program(code, "f", [{}], Limits(packages=("scipy",)))
    assert declared.status == "ok" and declared.outputs == [0.5], declared.error
    if PRIVATE_ROOT:  # only the private root hides undeclared packages
        assert without.status == "error" and "No module named 'scipy'" in without.error


def test_candidates_can_run_under_another_interpreter(tmp_path: Path) -> None:
    """A second venv (its own prefix and python) that sees this one's packages through a .pth file."""
    other = tmp_path / "other-venv"
    venv.EnvBuilder(with_pip=False, symlinks=True).create(other)
    site_dir = next(other.glob("lib/python3*/site-packages"))
    ours = Path(np.__file__).resolve().parent.parent
    (site_dir / "ours.pth").write_text(f"{ours}\n")
    python = str(other / "bin" / "python")
    code = "import sys, scipy\ndef f():\n    return [sys.executable, scipy.__name__]\n"
    outcome = run_program(code, "f", [{}], Limits(packages=("scipy",), python=python))
    assert outcome.status == "ok", outcome.error
    assert outcome.outputs[0] == [python, "scipy"]
    with pytest.raises(ConfigError, match="not installed for .*other-venv"):
        sandbox_runtime(("adrs-fixture-not-installed",), python)


def test_the_run_config_can_name_another_interpreter_for_any_folder(tmp_path: Path) -> None:
    """``sandbox.python`` in a run config (``--config``) applies to OpenEvolve folders too, and is
    checked before any budget is spent."""
    config = tmp_path / "run.yaml"
    config.write_text("sandbox:\n  python: /nonexistent/venv/bin/python\n")
    runs = tmp_path / "runs"
    out = CliRunner().invoke(app, ["run", str(FIXTURES / "oe_tamper"), "--budget", "1",
                                   "--config", str(config), "--runs-dir", str(runs)])
    assert out.exit_code == 2 and "sandbox.python /nonexistent/venv/bin/python: cannot run it" in out.output
    assert sorted(p.name for p in runs.iterdir()) == ["openevolve"]


TAMPERING = {
    "patch_the_evaluator_module": """
import sys
def guess(n):
    evaluator = sys.modules.get("evaluator")
    evaluator.score = lambda g: {"combined_score": 1.0}
    return [0.0] * n
""",
    "patch_numpy_norm": """
import numpy as np
def guess(n):
    np.linalg.norm = lambda *a, **k: 0.0
    return [0.0] * n
""",
    "rewrite_the_callers_frame": """
import sys
def guess(n):
    frame = sys._getframe(1)
    while frame is not None and "HIDDEN" not in frame.f_globals:
        frame = frame.f_back
    return [float(v) for v in frame.f_globals["HIDDEN"]]
""",
}


@pytest.mark.parametrize("name", sorted(TAMPERING))
def test_a_candidate_that_patches_the_evaluator_gains_nothing(name: str, tmp_path: Path) -> None:
    folder = tmp_path / "oe_tamper"
    shutil.copytree(FIXTURES / "oe_tamper", folder)
    honest, _ = seed_result(folder, tmp_path / "honest")
    seed = (folder / "initial_program.py").read_text()
    start, end = seed.index("# EVOLVE-BLOCK-START"), seed.index("# EVOLVE-BLOCK-END")
    (folder / "initial_program.py").write_text(seed[:start] + "# EVOLVE-BLOCK-START\n"
                                               + TAMPERING[name].strip() + "\n" + seed[end:])
    shared, _ = seed_result(folder, tmp_path / "shared", mode="shared")
    assert shared.status == "ok" and shared.score == 1.0  # in one process the attack works ...
    proxied, _ = seed_result(folder, tmp_path / "proxy")
    assert proxied.status != "ok" or proxied.score <= honest.score  # ... behind the proxy it does not
    assert honest.status == "ok" and honest.score < 0.5


DATA_ATTACKS = {
    "write_into_the_data_folder": "open({data!r} + '/pwned.txt', 'w').write('x')",
    "append_to_the_evaluator": "open({data!r} + '/evaluator.py', 'a').write('x = 1')",
    "write_into_a_declared_package": "open({scipy!r} + '/pwned.py', 'w').write('x')",
    "read_an_undeclared_package": "open({sqlalchemy!r} + '/__init__.py').read(1)",
    "write_the_socket_folder": "open(__import__('glob').glob('/tmp/adrs-proxy-*')[0] + '/x', 'w')",
}


@pytest.mark.skipif(not PRIVATE_ROOT, reason="needs the private root; this host has " + isolation_level())
@pytest.mark.parametrize("name", sorted(DATA_ATTACKS))
def test_visible_package_and_data_folders_stay_read_only(name: str, tmp_path: Path) -> None:
    import scipy
    import sqlalchemy

    folder = tmp_path / "oe_scipy"
    shutil.copytree(FIXTURES / "oe_scipy", folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    action = DATA_ATTACKS[name].format(data=str(folder), scipy=str(Path(scipy.__file__).parent),
                                       sqlalchemy=str(Path(sqlalchemy.__file__).parent))
    seed = (folder / "initial_program.py").read_text()
    hostile = seed.replace('    """Coefficients', f"    {action}\n    \"\"\"Coefficients")
    (folder / "initial_program.py").write_text(hostile)
    result, _ = seed_result(folder, tmp_path)
    assert result.status == "error", result.feedback
    assert any(word in result.feedback for word in ("Read-only file system", "No such file", "IndexError",
                                                   "Permission denied")), result.feedback
    after = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    assert after == {**before, "initial_program.py": hostile.encode()}
    assert not any(Path(scipy.__file__).parent.glob("pwned*"))


@pytest.mark.usefixtures("ray_session")
@pytest.mark.parametrize("name", ["oe_scipy", "adrs_layout", "bigdata"])
def test_run_check_and_bench_end_to_end(name: str, runs_dir: Path, bigdata: Path) -> None:
    folder = bigdata if name == "bigdata" else FIXTURES / name
    runner = CliRunner()
    out = runner.invoke(app, ["run", str(folder), "--budget", "2", "--workers", "2",
                              "--runs-dir", str(runs_dir)])
    assert out.exit_code == 0, out.output
    assert "evaluator: " in out.output and "proxy" in out.output  # the guarantee, recorded on the run
    bench = runner.invoke(app, ["bench", str(folder), "--json", "--runs-dir", str(runs_dir)])
    assert bench.exit_code == 0, bench.output
    rows = json.loads(bench.output)[0]["rows"]
    assert rows[0]["program"] == "initial_program" and rows[0]["status"] == "ok"
    assert rows[0]["combined_score"] == direct_score(folder, folder / "evaluator" if name == "adrs_layout"
                                                     else folder)
    if name != "bigdata":  # check runs a dozen programs: once per layout is enough
        check = runner.invoke(app, ["check", str(folder), "--runs-dir", str(runs_dir)])
        assert check.exit_code == 0, check.output
