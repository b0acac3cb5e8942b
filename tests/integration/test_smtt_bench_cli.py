"""``adrs bench smtt`` through the CLI: JSON tables with the expected columns for every baseline."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from adrs.cli.main import app
from adrs.problem import load_problem

runner = CliRunner()


def test_bench_smtt_quick_json(tmp_path):
    program = tmp_path / "reverse_edd.py"
    program.write_text("import numpy as np\n\ndef schedule(p, d):\n"
                       "    return np.argsort(-np.asarray(d), kind='stable')\n")
    result = runner.invoke(app, ["bench", "smtt", str(program), "--quick", "--json"])
    assert result.exit_code == 0, result.output
    tables = json.loads(result.output)
    summary, classes = tables  # quick: the generated n=20 set only, summary then per class
    assert summary["title"].startswith("SMTT generated n=20: 20 instances")
    kind = "optimal" if "references optimal" in summary["title"] else "best-known"
    assert summary["columns"] == ["program", "status", f"mean gap to {kind} %",
                                  f"aggregate gap to {kind} %", f"= {kind} %", "mean ms"]
    rows = {row["program"]: row for row in summary["rows"]}
    assert list(rows) == [*load_problem("smtt").baselines, "reverse_edd.py"]
    assert all(row["status"] == "ok" for row in rows.values())
    gap = f"mean gap to {kind} %"
    assert rows["MDD"][gap] < rows["EDD"][gap] < rows["reverse_edd.py"][gap]
    assert rows["ILS"][gap] <= rows["MDD"][gap] and rows["ILS"][gap] >= 0
    assert classes["columns"][:3] == ["TF", "RDD", "instances"] and len(classes["rows"]) == 20
    assert any("time cap" in note for note in summary["notes"])
