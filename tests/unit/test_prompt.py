"""adrs.prompt: golden renders of every built-in template, StrictUndefined, user overrides.

Set ADRS_UPDATE_GOLDEN=1 to rewrite tests/golden/prompt_*.txt after an intended template change
(then read the diff before committing it).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from adrs.config import ConfigError
from adrs.program import ProgramView
from adrs.prompt import (
    ProblemContext,
    PromptError,
    check_templates,
    render_prompt,
    template_names,
)

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
UPDATE = os.environ.get("ADRS_UPDATE_GOLDEN") == "1"

PROBLEM = ProblemContext(
    name="smtt",
    description="Order n jobs on one machine to minimise the total tardiness sum(max(0, C_j - d_j)).",
    entry="schedule",
    signature="schedule(p: list[int], d: list[int]) -> list[int]  # a permutation of range(n)",
    objective="mean_gap_pct",
    direction="minimize",
)
SEED = '''"""Single-machine total tardiness."""

# EVOLVE-BLOCK-START
def schedule(p, d):
    return sorted(range(len(p)), key=lambda j: d[j])
# EVOLVE-BLOCK-END
'''
PARENT = ProgramView(id=7, code=SEED, status="ok", score=12.5,
                     metrics={"mean_gap_pct": 12.5, "runtime_s": 0.0312},
                     feedback="3 of 40 instances have a gap above 30%.", generation=2)
INSPIRATIONS = (
    ProgramView(id=3, code=SEED.replace("d[j]", "d[j] - p[j]"), status="ok", score=9.25,
                metrics={"mean_gap_pct": 9.25}),
    ProgramView(id=4, code=SEED.replace("d[j]", "p[j]"), status="ok", score=20.0,
                metrics={"mean_gap_pct": 20.0}),
)
FAILED = ProgramView(
    id=9, code=SEED.replace("d[j]", "q[j]"), status="error", score=None,
    feedback='Traceback (most recent call last):\n  File "candidate.py", line 5, in schedule\n'
             "NameError: name 'q' is not defined")


@pytest.mark.parametrize("template", ["diff", "rewrite", "fix", "crossover"])
def test_render_matches_golden(template):
    parent = FAILED if template == "fix" else PARENT
    second = INSPIRATIONS[0] if template == "crossover" else None
    inspirations = INSPIRATIONS[1:] if second else INSPIRATIONS
    prompt = render_prompt(template, PROBLEM, parent, inspirations, seed=5, second=second)
    assert [m["role"] for m in prompt.messages] == ["system", "user"]
    assert prompt.template == template and prompt.seed == 5 and prompt.parent is parent
    assert prompt.inspirations == inspirations and prompt.second is second
    golden = GOLDEN / f"prompt_{template}.txt"
    if UPDATE:
        golden.write_text(prompt.text)
    assert prompt.text == golden.read_text(), f"{golden} differs (ADRS_UPDATE_GOLDEN=1 rewrites it)"


def test_templates_show_what_each_kind_needs():
    diff = render_prompt("diff", PROBLEM, PARENT, INSPIRATIONS).text
    rewrite = render_prompt("rewrite", PROBLEM, PARENT, ()).text
    fix = render_prompt("fix", PROBLEM, FAILED, ()).text
    assert "<<<<<<< SEARCH" in diff and "9.25" in diff and "3 of 40 instances" in diff
    assert "```python code block" in rewrite and "<<<<<<< SEARCH" not in rewrite
    assert "Inspiration" not in rewrite
    assert "NameError: name 'q' is not defined" in fix and "<<<<<<< SEARCH" in fix
    crossover = render_prompt("crossover", PROBLEM, PARENT, (), second=INSPIRATIONS[0]).text
    assert "Second parent" in crossover and "d[j] - p[j]" in crossover and "9.25" in crossover
    assert "```python code block" in crossover and "<<<<<<< SEARCH" not in crossover
    for text in (diff, rewrite, fix, crossover):
        assert "Minimize `mean_gap_pct`" in text and "schedule(p: list[int]" in text
    with pytest.raises(PromptError, match="second parent"):
        render_prompt("crossover", PROBLEM, PARENT, ())


def test_feedback_limit_shortens_or_drops_the_feedback():
    parent = ProgramView(id=1, code=SEED, status="ok", score=1.0, feedback="F" * 5000)
    full = render_prompt("diff", PROBLEM, parent, ()).text
    short = render_prompt("diff", PROBLEM, parent, (), feedback_limit=300).text
    none = render_prompt("diff", PROBLEM, parent, (), feedback_limit=0).text
    assert len(full) > len(short) > len(none) and "F" * 100 not in none
    assert "Evaluator feedback" in short and "Evaluator feedback" not in none
    assert SEED.strip() in none  # the program itself is never cut


def test_long_feedback_is_clipped_keeping_head_and_tail():
    parent = ProgramView(id=1, code=SEED, status="error", score=None,
                         feedback="HEAD" + "x" * 20_000 + "TAIL")
    text = render_prompt("fix", PROBLEM, parent, ()).text
    assert "HEAD" in text and "TAIL" in text and "characters omitted" in text
    assert len(text) < 8_000


def test_missing_variable_raises_under_strict_undefined(tmp_path):
    (tmp_path / "diff.j2").write_text("{{ parent.code }} {{ no_such_variable }}\n")
    with pytest.raises(PromptError, match="no_such_variable") as info:
        render_prompt("diff", PROBLEM, PARENT, (), template_dir=tmp_path)
    assert isinstance(info.value, ConfigError)
    (tmp_path / "rewrite.j2").write_text("{{ problem.no_such_field }}\n")
    with pytest.raises(PromptError, match="no_such_field"):
        render_prompt("rewrite", PROBLEM, PARENT, (), template_dir=tmp_path)


def test_user_template_dir_overrides_by_file_name(tmp_path):
    (tmp_path / "diff.j2").write_text("Improve {{ problem.entry }} (score {{ parent.score }}).\n")
    prompt = render_prompt("diff", PROBLEM, PARENT, INSPIRATIONS, template_dir=tmp_path)
    assert prompt.messages[1]["content"] == "Improve schedule (score 12.5).\n"
    assert prompt.messages[0] == render_prompt("diff", PROBLEM, PARENT, ()).messages[0]  # built-in
    builtin_rewrite = render_prompt("rewrite", PROBLEM, PARENT, ())
    assert render_prompt("rewrite", PROBLEM, PARENT, (), template_dir=tmp_path) == builtin_rewrite


def test_user_partial_override_reaches_builtin_templates(tmp_path):
    (tmp_path / "_search_replace.j2").write_text("USE MY FORMAT\n")
    text = render_prompt("diff", PROBLEM, PARENT, (), template_dir=tmp_path).text
    assert "USE MY FORMAT" in text and "<<<<<<< SEARCH" not in text


def test_unknown_template_and_missing_dir_are_reported(tmp_path):
    with pytest.raises(PromptError, match="mutate.j2 not found.*available: crossover, diff, fix, rewrite"):
        render_prompt("mutate", PROBLEM, PARENT, ())
    with pytest.raises(PromptError, match="does not exist"):
        render_prompt("diff", PROBLEM, PARENT, (), template_dir=tmp_path / "missing")
    (tmp_path / "crossover.j2").write_text("{% if %}\n")
    with pytest.raises(PromptError, match="crossover.j2, line 1"):
        check_templates(["diff", "crossover"], tmp_path)


def test_template_names_lists_mutation_templates(tmp_path):
    assert template_names() == ["crossover", "diff", "fix", "rewrite"]
    (tmp_path / "splice.j2").write_text("x\n")
    assert template_names(tmp_path) == ["crossover", "diff", "fix", "rewrite", "splice"]
    check_templates(["diff", "rewrite", "fix", "crossover", "splice"], tmp_path)
