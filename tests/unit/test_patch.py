"""adrs.patch: SEARCH/REPLACE and rewrite proposals, EVOLVE-BLOCK rules, LLM-readable errors."""

from __future__ import annotations

import pytest

from adrs.patch import PatchError, apply_proposal

PARENT = '''"""Schedule jobs."""
import math

# EVOLVE-BLOCK-START
def priority(p, d):
    return d / p


def schedule(p, d):
    jobs = list(range(len(p)))
    jobs.sort(key=lambda j: priority(p[j], d[j]))
    return jobs
# EVOLVE-BLOCK-END


def run(p, d):
    return schedule(p, d)
'''

TWO_BLOCKS = '''import math

# EVOLVE-BLOCK-START
def first(x):
    return x + 1
# EVOLVE-BLOCK-END


def glue(x):
    return second(first(x))


# EVOLVE-BLOCK-START
def second(x):
    return x * 2
# EVOLVE-BLOCK-END
'''


def block(search: str, replace: str) -> str:
    return f"<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n"


def error_of(parent: str, text: str, kind: str = "diff") -> str:
    with pytest.raises(PatchError) as info:
        apply_proposal(parent, text, kind)
    return str(info.value)


# ------------------------------------------------------------------------------------------- diff

def test_diff_applies_one_block_and_reports_unified_diff():
    patched = apply_proposal(PARENT, block("    return d / p\n", "    return d - p\n"), "diff")
    assert "    return d - p\n" in patched.code
    assert "return d / p" not in patched.code
    assert patched.diff.startswith("--- parent.py\n+++ child.py\n")
    assert "-    return d / p\n+    return d - p\n" in patched.diff


def test_diff_blocks_apply_in_order_with_prose_fences_and_crlf():
    reply = (
        "I will change the priority and then use it.\r\n\r\n```python\r\n"
        + block("    return d / p\n", "    return d - 2 * p\n").replace("\n", "\r\n")
        + "```\r\nAnd now the second one:\r\n```\r\n"
        + block("    return d - 2 * p\n", "    return d - 3 * p\n").replace("\n", "\r\n")
        + "```\r\nDone."
    )
    patched = apply_proposal(PARENT, reply, "diff")
    assert "    return d - 3 * p\n" in patched.code
    assert "\r" not in patched.code


def test_diff_section_wrapped_in_its_own_fence():
    reply = "<<<<<<< SEARCH\n```python\n    return d / p\n```\n=======\n```python\n" \
            "    return p\n```\n>>>>>>> REPLACE\n"
    assert "    return p\n" in apply_proposal(PARENT, reply, "diff").code


def test_diff_tolerates_trailing_whitespace():
    patched = apply_proposal(PARENT, block("    return d / p   \n", "    return d\n"), "diff")
    assert "    return d\n" in patched.code


def test_diff_tolerates_uniform_indentation_drift_and_reindents_replace():
    search = "jobs = list(range(len(p)))\njobs.sort(key=lambda j: priority(p[j], d[j]))\n"
    replace = "jobs = sorted(range(len(p)), key=lambda j: d[j])\nif jobs:\n    pass\n"
    patched = apply_proposal(PARENT, block(search, replace), "diff")
    assert "    jobs = sorted(range(len(p)), key=lambda j: d[j])\n    if jobs:\n        pass\n" \
        in patched.code


def test_diff_not_found_quotes_search_and_closest_lines():
    message = error_of(PARENT, block("    jobs = list(range(len(q)))\n", "    jobs = []\n"))
    assert "not in the current program" in message
    assert "jobs = list(range(len(q)))" in message  # the SEARCH text, quoted
    assert "  |     jobs = list(range(len(q)))" in message  # quoted with its indentation
    assert "line 10 (" in message and "10 |     jobs = list(range(len(p)))" in message
    assert "No block was applied" in message


def test_diff_is_all_or_nothing():
    reply = block("    return d / p\n", "    return d\n") + block("    nothing here\n", "x\n")
    message = error_of(PARENT, reply)
    assert "block 2 of 2" in message and "after the previous blocks" in message


def test_diff_ambiguous_search_is_rejected():
    parent = PARENT.replace("    return jobs\n", "    return d / p\n")
    message = error_of(parent, block("    return d / p\n", "    return 1\n"))
    assert "ambiguous" in message and "2 places" in message and "lines 6, 12" in message


def test_diff_outside_block_is_rejected():
    message = error_of(PARENT, block("import math\n", "import numpy\n"))
    assert "outside the EVOLVE-BLOCK" in message
    assert "line 2," in message and "(lines 5-12)" in message


def test_diff_match_inside_block_wins_over_identical_line_outside():
    parent = PARENT.replace("def run(p, d):\n    return schedule(p, d)\n",
                            "def run(p, d):\n    return d / p\n")
    patched = apply_proposal(parent, block("    return d / p\n", "    return p / d\n"), "diff")
    assert patched.code.count("return p / d") == 1 and patched.code.endswith("    return d / p\n")


@pytest.mark.parametrize("search, replace", [
    ("# EVOLVE-BLOCK-START\ndef priority(p, d):\n", "def priority(p, d):\n"),
    ("    return jobs\n", "    return jobs\n# EVOLVE-BLOCK-END\n"),
])
def test_diff_touching_markers_is_rejected(search, replace):
    message = error_of(PARENT, block(search, replace))
    assert "marker line" in message and "must stay" in message


def test_diff_truncated_block_is_reported_as_truncated():
    reply = block("    return d / p\n", "    return d\n") + "<<<<<<< SEARCH\n    return jobs\n===="
    assert "looks truncated" in error_of(PARENT, reply)
    reply = "<<<<<<< SEARCH\n    return d / p\n=======\n    return d - p\n"
    assert "looks truncated" in error_of(PARENT, reply)


def test_diff_malformed_block_is_reported():
    assert "no `=======` divider" in error_of(PARENT, "<<<<<<< SEARCH\nx\n>>>>>>> REPLACE\n")


@pytest.mark.parametrize("reply", ["", "   \n", "I would sort by due date instead."])
def test_empty_or_prose_reply_is_rejected(reply):
    assert error_of(PARENT, reply)


def test_noop_is_rejected():
    message = error_of(PARENT, block("    return d / p\n", "    return d / p   \n"))
    assert "changes nothing" in message


def test_syntax_error_names_line_and_message():
    message = error_of(PARENT, block("    return d / p\n", "    return d / (p\n"))
    assert "does not compile" in message and "line 6" in message
    assert ">6 |     return d / (p" in message


def test_empty_search_is_rejected():
    assert "empty SEARCH" in error_of(PARENT, block("\n", "x = 1\n"))


def test_diff_in_second_of_two_blocks():
    patched = apply_proposal(TWO_BLOCKS, block("    return x * 2\n", "    return x * 3\n"), "diff")
    assert "    return x * 3\n" in patched.code


def test_parent_without_markers_is_editable_everywhere():
    parent = "def f(x):\n    return x\n"
    patched = apply_proposal(parent, block("    return x\n", "    return -x\n"), "diff")
    assert patched.code == "def f(x):\n    return -x\n"


def test_diff_kind_accepts_a_complete_program_in_a_fence():
    program = PARENT.replace("return d / p", "return d * p")
    patched = apply_proposal(PARENT, f"Here it is:\n```python\n{program}```\n", "diff")
    assert patched.code == program


# ---------------------------------------------------------------------------------------- rewrite

def test_rewrite_full_program_keeps_outside_and_takes_block():
    program = PARENT.replace("return d / p", "return d / (p + 1)").replace("import math\n",
                                                                            "import math   \n\n")
    patched = apply_proposal(PARENT, f"New version:\n```python\n{program}```\nEnjoy.", "rewrite")
    assert patched.code == PARENT.replace("return d / p", "return d / (p + 1)")


def test_rewrite_changing_outside_code_is_rejected():
    program = PARENT.replace("import math", "import numpy as np").replace("d / p", "d")
    message = error_of(PARENT, f"```python\n{program}```", "rewrite")
    assert "outside the EVOLVE-BLOCK" in message
    assert "`import math` to `import numpy as np`" in message


def test_rewrite_body_only_is_spliced_into_the_block():
    body = "def priority(p, d):\n    return d\n\n\ndef schedule(p, d):\n" \
           "    return sorted(range(len(p)), key=lambda j: d[j])\n"
    patched = apply_proposal(PARENT, f"```python\n{body}```", "rewrite")
    assert patched.code == PARENT.split("# EVOLVE-BLOCK-START\n")[0] + "# EVOLVE-BLOCK-START\n" \
        + body + PARENT[PARENT.index("# EVOLVE-BLOCK-END"):]


def test_rewrite_picks_the_largest_python_fence():
    program = PARENT.replace("d / p", "d * p")
    reply = f"```bash\npip install nothing\n```\n```python\nx = 1\n```\n```python\n{program}```\n"
    assert apply_proposal(PARENT, reply, "rewrite").code == program


def test_rewrite_prefers_the_fence_with_markers():
    program = PARENT.replace("d / p", "d * p")
    helper = "def helper(p, d):\n" + "    x = 1\n" * 40 + "    return x\n"
    reply = f"```python\n{program}```\nA helper you could also use:\n```python\n{helper}```\n"
    assert apply_proposal(PARENT, reply, "rewrite").code == program


def test_rewrite_unfenced_code_is_taken_whole():
    program = PARENT.replace("d / p", "d * p")
    assert apply_proposal(PARENT, program, "rewrite").code == program


def test_rewrite_unclosed_fence_that_fails_is_reported_as_truncated():
    program = PARENT.replace("d / p", "d * p")
    cut = program[:program.index("    return jobs")]
    message = error_of(PARENT, f"```python\n{cut}", "rewrite")
    assert "looks truncated" in message


def test_rewrite_without_markers_of_a_whole_program_is_rejected():
    program = "\n".join(line for line in PARENT.replace("d / p", "d").splitlines()
                        if "EVOLVE-BLOCK" not in line) + "\n"
    program = program.replace('"""Schedule jobs."""', '"""Schedule jobs (v2)."""')
    message = error_of(PARENT, f"```python\n{program}```", "rewrite")
    assert "no `# EVOLVE-BLOCK-START` and `# EVOLVE-BLOCK-END` lines" in message


def test_rewrite_with_wrong_number_of_blocks_is_rejected():
    message = error_of(TWO_BLOCKS, "```python\ndef first(x):\n    return x\n```", "rewrite")
    assert "2 EVOLVE-BLOCKs" in message
    program = PARENT.replace("# EVOLVE-BLOCK-END\n", "")
    assert "never closes it" in error_of(PARENT, f"```python\n{program}```", "rewrite")


def test_rewrite_of_two_blocks_takes_both():
    program = TWO_BLOCKS.replace("x + 1", "x + 10").replace("x * 2", "x * 20")
    assert apply_proposal(TWO_BLOCKS, f"```python\n{program}```", "rewrite").code == program


def test_rewrite_kind_accepts_search_replace_blocks():
    patched = apply_proposal(PARENT, block("    return d / p\n", "    return d\n"), "rewrite")
    assert "    return d\n" in patched.code


def test_rewrite_prose_only_and_noop_are_rejected():
    assert "no code" in error_of(PARENT, "Sorting by due date is best.", "rewrite")
    assert "changes nothing" in error_of(PARENT, f"```python\n{PARENT}```", "rewrite")


def test_unknown_kind_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown proposal kind"):
        apply_proposal(PARENT, "x", "crossover")
