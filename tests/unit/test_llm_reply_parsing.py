"""Reply parsing on real model output shapes: each case either applies or is rejected with a reason
an LLM can act on (adrs.patch.apply_proposal)."""

from __future__ import annotations

import pytest

from adrs.patch import PatchError, apply_proposal

PARENT = '''import numpy as np


# EVOLVE-BLOCK-START
def guess(x):
    y = x * 0.5
    return y


def helper(x):
    y = x * 0.5
    return y
# EVOLVE-BLOCK-END


def solve(x):
    return float(np.sum(guess(x)))
'''


def block(search: str, replace: str) -> str:
    return f"<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n"


def rejection(text: str, kind: str = "diff", **kw) -> str:
    with pytest.raises(PatchError) as info:
        apply_proposal(PARENT, text, kind, **kw)
    return str(info.value)


@pytest.mark.parametrize("fence, close", [("```python", "```"), ("```py", "```"), ("```", "```"),
                                          ("~~~", "~~~"), ("", "")])
def test_fences_with_or_without_language(fence, close):
    body = block("def guess(x):\n    y = x * 0.5\n", "def guess(x):\n    y = x * 6\n")
    text = f"I scale by 6.\n{fence}\n{body}{close}\nThat is all." if fence else body
    patched = apply_proposal(PARENT, text, "diff")
    assert "def guess(x):\n    y = x * 6\n" in patched.code
    assert "def helper(x):\n    y = x * 0.5\n" in patched.code


def test_several_blocks_in_several_fences():
    first = block("def guess(x):\n    y = x * 0.5\n", "def guess(x):\n    y = x * 2\n")
    text = ("First:\n```python\n" + first + "```\nThen:\n```python\n"
            + block("def helper(x):\n    y = x * 0.5\n", "def helper(x):\n    y = x * 3\n") + "```\n")
    code = apply_proposal(PARENT, text, "diff").code
    assert "y = x * 2" in code and "y = x * 3" in code and "0.5" not in code


def test_indentation_drift_applies_when_unique():
    drifted = block("  def guess(x):\n      y = x * 0.5   \n", "  def guess(x):\n      y = x * 7\n")
    code = apply_proposal(PARENT, drifted, "diff").code
    assert "\ndef guess(x):\n    y = x * 7\n" in code  # REPLACE re-indented to the real indentation


def test_fuzzy_match_is_refused_when_ambiguous():
    message = rejection(block("    y = x * 0.5\n    return y\n", "    return x\n"))
    assert "ambiguous" in message and "matches 2 places" in message
    drift = rejection(block("        y = x * 0.5\n        return y\n", "        return x\n"))
    assert "ambiguous" in drift


def test_edits_touching_the_markers_are_rejected():
    message = rejection(block("# EVOLVE-BLOCK-END\n\n\ndef solve(x):\n", "def solve(x):\n"))
    assert "EVOLVE-BLOCK-END" in message and "markers must stay" in message
    outside = rejection(block("    return float(np.sum(guess(x)))\n", "    return 3.0\n"))
    assert "outside the EVOLVE-BLOCK" in outside


@pytest.mark.parametrize("text, reason", [
    ("", "empty"),
    ("   \n\n", "empty"),
    ("I think the current program is already optimal, so I would not change it.",
     "no SEARCH/REPLACE blocks"),
    ("Here is my idea: use a better constant.\n\nIt should help a lot.", "no SEARCH/REPLACE blocks"),
])
def test_empty_and_prose_replies_are_rejected_with_a_reason(text, reason):
    assert reason in rejection(text)


def test_prose_only_rewrite_is_rejected():
    assert "contains no code" in rejection("A better algorithm would sort first.", "rewrite")


def test_truncated_reply_is_rejected_even_if_its_blocks_look_complete():
    text = block("def guess(x):\n    y = x * 0.5\n", "def guess(x):\n    y = x * 6\n")
    apply_proposal(PARENT, text, "diff")  # fine when complete
    message = rejection(text, truncated=True)
    assert "cut off" in message and "finish_reason=length" in message
    open_block = "<<<<<<< SEARCH\ndef guess(x):\n    y = x * 0.5\n=======\ndef gue"
    assert "truncated" in rejection(open_block)
    open_fence = "```python\nimport numpy as np\n\n\n# EVOLVE-BLOCK-START\ndef guess(x):\n    y = ("
    assert "truncated" in rejection(open_fence, "rewrite")


def test_search_text_not_found_quotes_the_closest_lines():
    message = rejection(block("def guess(x):\n    y = x * 0.25\n", "def guess(x):\n    y = 1\n"))
    assert "did not apply" in message and "closest lines" in message and "y = x * 0.5" in message
