"""adrs's own sandbox-side modules are compiled once per warm server (``adrs/_harness.py``): a job
whose program or support module is exactly one of them runs the server's code object. A changed
text must be compiled in the job (never a stale code object), a candidate must not poison the cached
code for the next job, and the proxy module's bytecode (written for the evaluator's import) must be
exactly what compiling its text gives, checked against the source."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import runpy
import shutil
from pathlib import Path

import numpy as np
import pytest

from adrs.evaluation import evaluate_program
from adrs.openevolve import import_openevolve
from adrs.problem import load_problem
from adrs.proxy import proxy_source, source_of
from adrs.sandbox import Limits, isolation_level, run_program

ADRS = Path(__file__).resolve().parents[2] / "adrs"
WIRE = source_of(ADRS / "_candidate_wire.py")
LIMITS = Limits(timeout_s=20.0, cpu_s=20, memory_mb=1024)
warm_only = pytest.mark.skipif(not isolation_level().startswith("private-root"),
                               reason=f"warm servers need per-job namespaces; host: {isolation_level()!r}")

PROBE = """
import os, sys, __main__
sys.path.insert(0, os.getcwd())  # as the candidate server does
import _candidate_wire

def f(x):
    cached = [code for (role, _), code in __main__._TRUSTED_CODE.items() if role == "_candidate_wire.py"]
    from_server = any(c is _candidate_wire.wire_encode.__code__ for code in cached for c in code.co_consts)
    return {"from_server": from_server, "file": _candidate_wire.__file__,
            "mark": getattr(_candidate_wire, "MARK", ""), "encoded": _candidate_wire.wire_encode([1, "a"])}
"""

POISON = """
import __main__

FORGED = compile("def wire_encode(x, depth=0):\\n    return 'poisoned'\\nMARK = 'poisoned'\\n", "p", "exec")

def f(x):
    for key in list(__main__._TRUSTED_CODE):
        __main__._TRUSTED_CODE[key] = FORGED
    __main__._PROXY_TEMPLATE = ()
    return 0
"""


def run(code: str, entry: str = "f", support: dict | None = None):
    outcome = run_program(code, entry, [{"x": np.arange(2)}], LIMITS, support=support)
    assert outcome.status == "ok", outcome.feedback()
    return outcome.outputs[0]


@warm_only
def test_a_trusted_support_module_runs_the_servers_code() -> None:
    seen = run(PROBE, support={"_candidate_wire.py": WIRE})
    assert seen["from_server"] and seen["file"] == "/sandbox/_candidate_wire.py"
    assert seen["encoded"] == [1, "a"] and seen["mark"] == ""


@warm_only
def test_a_changed_text_is_compiled_in_the_job_never_served_stale() -> None:
    seen = run(PROBE, support={"_candidate_wire.py": WIRE + "\nMARK = 'changed'\n"})
    assert not seen["from_server"] and seen["mark"] == "changed"
    assert isinstance(run(WIRE, "wire_encode"), dict)  # the cached program: an encoded array
    changed = WIRE + "\n\ndef wire_encode(x, depth=0):\n    return 'changed'\n"
    assert run(changed, "wire_encode") == "changed"


@warm_only
def test_a_candidate_cannot_poison_the_cached_code_for_the_next_job() -> None:
    assert run(POISON) == 0
    seen = run(PROBE, support={"_candidate_wire.py": WIRE})
    assert seen["from_server"] and seen["mark"] == "" and seen["encoded"] == [1, "a"]
    assert run(WIRE, "wire_encode") != "poisoned"


class NoCompile(importlib.machinery.SourceFileLoader):
    def source_to_code(self, data, path, *, _optimize=-1):  # noqa: ANN001
        raise AssertionError("compiled the source instead of using the bytecode")


@pytest.fixture()
def harness() -> dict:
    """The harness's functions, as a warm server has them after compiling adrs's own modules."""
    module = runpy.run_path(str(ADRS / "_harness.py"), run_name="harness_under_test")
    module["compile_trusted_modules"](str(ADRS))
    return module


def test_the_proxy_bytecode_is_what_compiling_the_text_gives(harness: dict, tmp_path: Path) -> None:
    path = str(tmp_path / "program.py")
    text = proxy_source("/tmp/adrs-proxy-1-x/candidate-0123456789ab.sock")
    Path(path).write_text(text, encoding="utf-8")
    assert harness["write_proxy_bytecode"](path, text)
    loaded = NoCompile("program", path).get_code("program")  # the pyc, checked against the source
    fresh = compile(text, path, "exec", dont_inherit=True)  # as an import compiles it
    assert loaded.co_code == fresh.co_code and loaded.co_names == fresh.co_names
    assert loaded.co_consts == fresh.co_consts and loaded.co_filename == path
    assert "/tmp/adrs-proxy-1-x/candidate-0123456789ab.sock" in loaded.co_consts


def test_no_bytecode_for_other_texts_nor_used_once_the_source_changes(harness: dict, tmp_path: Path) -> None:
    write = harness["write_proxy_bytecode"]
    path = str(tmp_path / "program.py")
    pyc = importlib.util.cache_from_source(path)
    for text in ("def run(values):\n    return values\n", proxy_source("/tmp/a\\b.sock"),
                 proxy_source("/tmp/x.sock").replace("_REPLY_CAP_BYTES = 1 << 30", "_REPLY_CAP_BYTES = 1")):
        Path(path).write_text(text, encoding="utf-8")
        assert not write(path, text) and not os.path.exists(pyc)
    text = proxy_source("/tmp/x.sock")
    Path(path).write_text(text, encoding="utf-8")
    assert write(path, text) and os.path.exists(pyc)
    Path(path).write_text(text + "\nMARK = 1\n", encoding="utf-8")  # the source changed after the pyc
    code = importlib.machinery.SourceFileLoader("program", path).get_code("program")
    assert "MARK" in code.co_names  # the checked hash sent the import back to the source


EVALUATOR = '''
import importlib.util, os

def evaluate(program_path):
    spec = importlib.util.spec_from_file_location("program", program_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    got = module.run([1.0, 2.0])
    return {"combined_score": float(got == [4.0, 8.0]), "bytecode": float(os.path.exists(module.__cached__))}
'''

PROGRAM = "# EVOLVE-BLOCK-START\ndef run(values):\n    return [4.0 * v for v in values]\n# EVOLVE-BLOCK-END\n"


@warm_only
@pytest.mark.parametrize("mode", ["proxy", "shared"])
def test_the_evaluator_imports_the_proxy_module_from_its_bytecode(mode: str, tmp_path: Path) -> None:
    """Behind the proxy only: in shared mode the program is the candidate's own text."""
    folder = tmp_path / "problem"
    folder.mkdir()
    (folder / "initial_program.py").write_text(PROGRAM)
    (folder / "evaluator.py").write_text(EVALUATOR)
    imported = import_openevolve(folder, tmp_path / "imported", candidate_process=mode)
    spec = load_problem(str(imported.problem_dir))
    result = evaluate_program(PROGRAM, spec.load_evaluator(), "train", spec.limits)
    assert result.correct and result.score == 1.0, result.feedback
    assert result.metrics["bytecode"] == (1.0 if mode == "proxy" else 0.0)
    shutil.rmtree(tmp_path / "imported", ignore_errors=True)
