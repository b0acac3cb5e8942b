"""Duplicate detection: equivalent EVOLVE-BLOCKs share a key, different behaviour does not."""

from adrs.dedup import DuplicateIndex, program_key, summarize
from adrs.program import ProgramView

BASE = '''import numpy as np

# EVOLVE-BLOCK-START
def priority(p, d, t):
    """Smallest key first."""
    slack = d - t  # time left
    return np.maximum(p, slack)
# EVOLVE-BLOCK-END

def run(p, d):
    return priority(p, d, 0.0)
'''


def test_formatting_comments_docstrings_and_local_names_do_not_matter():
    same = BASE.replace('''def priority(p, d, t):
    """Smallest key first."""
    slack = d - t  # time left
    return np.maximum(p, slack)''', '''def priority(proc, d, t):
    # a comment instead of a docstring
    room = (d -
            t)
    return np.maximum( proc,room )''')
    assert same != BASE
    assert program_key(same) == program_key(BASE)


def test_behavioural_changes_make_a_different_key():
    assert program_key(BASE.replace("np.maximum", "np.minimum")) != program_key(BASE)
    assert program_key(BASE.replace("d - t", "d + t")) != program_key(BASE)
    # a global (not local) name and a function name the outside code calls are kept
    assert program_key(BASE.replace("np.maximum", "numpy_max")) != program_key(BASE)
    assert program_key(BASE.replace("priority", "rank")) != program_key(BASE)
    # swapping which parameter is read changes the program even though names are renamed
    assert program_key(BASE.replace("(p, slack)", "(d, slack)")) != program_key(BASE)
    # code outside the block counts too
    assert program_key(BASE.replace("0.0)", "1.0)")) != program_key(BASE)


def test_unparseable_blocks_compare_by_text():
    broken = BASE.replace("return np.maximum(p, slack)", "return np.maximum(p, slack")
    assert program_key(broken) == program_key(broken.replace("(p, slack\n", "(p, slack   \n"))
    assert program_key(broken) != program_key(broken.replace("p, slack", "d, slack"))


def view(seq, code, status="ok", pid=None):
    return ProgramView(id=pid or seq + 100, code=code, status=status, score=1.0, seq=seq)


def test_index_points_at_the_first_evaluated_program_and_skips_unevaluated_ones():
    other = BASE.replace("d - t", "d - 2 * t")
    index = DuplicateIndex([view(0, BASE), view(1, other, "infra_error"),
                            view(2, BASE.replace("slack", "s"))])
    assert index.original(BASE).seq == 0 and index.original(BASE).program_id == 100
    assert index.original(other) is None  # its evaluation said nothing about the code
    index.add(other, 5)  # in flight: no id yet
    assert index.original(other).seq == 5 and index.original(other).program_id is None
    index.add(other, 5, 105)
    assert index.original(other).program_id == 105
    index.forget(other, 4)  # not the original: kept
    assert index.original(other) is not None
    index.forget(other, 5)
    assert index.original(other) is None


class Row:
    def __init__(self, seq, status, eval_s):
        self.seq, self.status, self.eval_s = seq, status, eval_s


def test_summary_counts_duplicates_and_estimates_saved_time():
    rows = [Row(0, "ok", 9.0), Row(1, "ok", 2.0), Row(2, "duplicate", 0.0), Row(3, "error", 4.0),
            Row(4, "duplicate", 0.0)]
    summary = summarize(rows)
    assert (summary.candidates, summary.duplicates) == (4, 2)
    assert summary.share == 0.5 and summary.saved_s == 6.0


def test_claims_are_taken_in_candidate_order_whatever_finishes_first() -> None:
    import asyncio

    code = "# EVOLVE-BLOCK-START\ndef f(x):\n    return x + 1\n# EVOLVE-BLOCK-END\n"

    async def race() -> dict[int, object]:
        index = DuplicateIndex()
        for seq in (3, 4, 5):
            index.expect(seq)
        results: dict[int, object] = {}

        async def candidate(seq: int, delay: float) -> None:
            await asyncio.sleep(delay)  # the proposal of 4 finishes before that of 3
            results[seq] = await index.claim_in_turn(code, seq)

        async def fails_before_claiming() -> None:  # candidate 5: a patch error, recorded
            index.record("", 5, "patch_error", 50)

        await asyncio.gather(candidate(4, 0.0), candidate(3, 0.05), fails_before_claiming())
        return results

    results = asyncio.run(race())
    assert results[3] is None  # the earlier candidate is the original, although it came last
    assert results[4].status == "duplicate" and results[4].private_metrics["duplicate_of_seq"] == 3
