"""Small parts of issue 14: redaction, fault words, the entry-function check, prompts without host
paths, the promotion's wording and liveness."""

from __future__ import annotations

import random
import socket
import sys
from datetime import datetime, timedelta

import pytest

from adrs.liveness import effective_status
from adrs.patch import PatchError, check_entry
from adrs.proposer.faults import classify
from adrs.redact import MASK, redact, redact_data, strip_host_paths


def test_redact_masks_url_passwords_env_keys_and_key_shapes(monkeypatch):
    monkeypatch.setenv("MY_SERVICE_TOKEN", "tok-abcdef-123456")
    text = ("postgresql://alice:s3cret@db:5432/x and password=hunter2; key sk-proj-ABCDEFGH1234 "
            "and tok-abcdef-123456 and Bearer abcdefghijklmnopqrstuvwxyz")
    masked = redact(text)
    for secret in ("s3cret", "hunter2", "sk-proj-ABCDEFGH1234", "tok-abcdef-123456",
                   "abcdefghijklmnopqrstuvwxyz"):
        assert secret not in masked
    assert "postgresql://alice:***@db:5432/x" in masked
    # code is left alone: names that merely look like secrets are not values
    assert redact("token = next(tokens)\napi_key_name = 'x'") == "token = next(tokens)\napi_key_name = 'x'"
    assert redact_data({"db": {"url": "mysql://u:pw12@h/d"}, "n": [1, "sqlite:///a"]}) == \
        {"db": {"url": f"mysql://u:{MASK}@h/d"}, "n": [1, "sqlite:///a"]}


def test_redact_follows_the_environment_as_it_changes(monkeypatch):
    monkeypatch.setenv("ADRS_TEST_TOKEN", "first-secret-value")
    assert redact("a first-secret-value b") == f"a {MASK} b"
    monkeypatch.setenv("ADRS_TEST_TOKEN", "second-secret-value")  # same variables, a new value
    assert redact("first-secret-value second-secret-value") == f"first-secret-value {MASK}"
    monkeypatch.setenv("ANOTHER_SECRET", "third-secret-value")
    assert redact("second-secret-value third-secret-value") == f"{MASK} {MASK}"
    monkeypatch.delenv("ADRS_TEST_TOKEN")
    assert redact("second-secret-value") == "second-secret-value"


def test_the_literal_pre_checks_change_no_redaction():
    """``redact`` and ``strip_host_paths`` run each pattern only where the literal it needs occurs;
    on random mixes of the shapes they mask, near misses, case and Unicode variants, the result
    is what the patterns alone give."""
    from adrs import redact as r

    pieces = ["def f(x):\n", "  return x  # ok\n", "https://u:pw9@host/p ", "https://host/p ",
              "scheme:/x ", "password=hunter2 ", "PassWord = 'a b' ", "pa\u017f\u017fword=x1 ",
              "PASSWORD:\n", "sk-ABCDEFGH12 ", "sk-short ", "ask-abcdefghijk ", "AIza" + "a" * 24,
              " Bearer abcdefghijklmn ", "bearer abcdefghijklmn ", "/tmp/adrs-x/run.py ",
              "/var/tmp/a/b ", "/private/var/folders/q/file ", "x/tmp/y ", "\u00e9t\u00e9 ", "\t"]
    rng = random.Random(5)
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 8)))
        masked = r._URL_PASSWORD.sub(lambda m: m["head"] + MASK, text)
        masked = r._KEY_PASSWORD.sub(lambda m: m["head"] + MASK, masked)
        assert redact(text) == r._KEY_SHAPES.sub(MASK, masked), text
        stripped = r._TMP_PATH.sub(lambda m: "<tmp>/" + m.group(0).rsplit("/", 1)[-1], text)
        assert strip_host_paths(text) == stripped, text


def test_prompts_carry_no_host_paths():
    from adrs.program import ProgramView
    from adrs.prompt import ProblemContext, render_prompt

    feedback = (f'File "/tmp/adrs-sandbox-x1/candidate.py", line 3\n'
                f'  File "{sys.prefix}/lib/python3.11/site-packages/numpy/core.py", line 9\n'
                f"ValueError: bad")
    parent = ProgramView(id=1, code="def f(x):\n    return x\n", status="error", score=None,
                         metrics={}, feedback=feedback, generation=0, island=0, seq=0)
    problem = ProblemContext(name="toy", description="d", entry="f", signature="f(x)",
                             objective="error", direction="minimize")
    prompt = render_prompt("fix", problem, parent, ())
    text = prompt.text
    assert "/tmp/" not in text and sys.prefix not in text
    assert "<tmp>/candidate.py" in text and "<python>/lib/python3.11" in text
    assert strip_host_paths("/home/u/x", [("/home/u", "~")]) == "~/x"


def test_fault_words_look_down_the_exception_chain():
    def chained(outer: Exception, inner: BaseException) -> Exception:
        try:
            try:
                raise inner
            except BaseException as err:
                raise outer from err
        except Exception as err:
            return err

    refused = chained(RuntimeError("InternalServerError: Connection error."),
                      ConnectionRefusedError(111, "Connect call failed"))
    assert classify(refused).kind == "refused" and "connection refused" in str(classify(refused))
    dns = chained(RuntimeError("Connection error."), socket.gaierror(-2, "Name or service not known"))
    assert classify(dns).kind == "dns" and "DNS lookup failed" in str(classify(dns))
    assert classify(TimeoutError(), 8).words == "no reply within 8 s (timeout)"

    class Status(Exception):
        def __init__(self, code: int) -> None:
            super().__init__(f"Error code: {code} - boom")
            self.status_code = code

    assert classify(Status(401)).kind == "auth" and classify(Status(404)).kind == "not_found"
    assert "HTTP 500" in str(classify(Status(500)))


def test_a_rewrite_without_the_entry_function_is_rejected():
    check_entry("def solve(x):\n    return 1\n", "solve")
    check_entry("from helpers import solve\n", "solve")
    check_entry("solve = lambda x: 1\n", "solve")
    check_entry("def broken(:\n", "solve")  # syntax errors are the evaluation's to report
    with pytest.raises(PatchError, match="no longer defines the entry function `solve`"):
        check_entry("def helper(x):\n    return 1\n", "solve")
    with pytest.raises(PatchError):
        check_entry("class A:\n    def solve(self):\n        pass\n", "solve")


def test_running_runs_without_a_heartbeat_are_stale():
    now = datetime(2026, 12, 5, 1, 0, 0)
    assert effective_status("running", now - timedelta(seconds=5), now) == "running"
    assert effective_status("running", str(now - timedelta(minutes=5)), now).startswith(
        "stale (no heartbeat for 5 min")
    assert effective_status("finished", now - timedelta(days=1), now) == "finished"


def test_promotion_says_when_it_is_worse_than_the_seed():
    from adrs.db.reader import ProgramRecord
    from adrs.promote import Candidate, Promotion

    def program(pid: int, seq: int) -> ProgramRecord:
        return ProgramRecord(pid, "r", seq, None, 0, 0, "diff", "", "", "ok", 1.0, {}, "", "m",
                             None, "", "", 0.0, 0.0)

    top = [Candidate(program(5, 4), 1, 3.0, "ok"), Candidate(program(7, 6), 2, 2.5, "ok")]
    seed = Candidate(program(1, 0), 0, 2.0, "ok")
    lines = Promotion(top[1].program, top, seed).lines("minimize", lambda s: f"{s:.1f}")
    assert lines[0].startswith("promoted program #7: the best on validation of the top-2 "
                               "training programs (train rank 2, validation 2.5)")
    assert "train-best #5 scores 3.0 on validation" in lines[0]
    assert "WORSE than the seed on validation (2.5 vs the seed's 2.0)" in lines[1]
    better_seed = Candidate(program(1, 0), 0, 2.9, "ok")
    assert len(Promotion(top[1].program, top, better_seed).lines("minimize", str)) == 1
