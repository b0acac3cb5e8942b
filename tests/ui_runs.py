"""Run databases for the web UI tests, written with the ORM like the driver does: a seed with many
children (pagination), a crossover, failed programs, LLM calls, baselines, and programs whose code,
feedback, notes, prompts and model replies are hostile HTML."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from adrs.db import store
from adrs.db.models import Evaluation, LLMCall, Program, Run

SEED = "import numpy as np\n\n\n# EVOLVE-BLOCK-START\ndef guess(x):\n    return x * 0.5\n# EVOLVE-BLOCK-END\n"
HOSTILE = [
    "<script>document.title='pwned-script'</script>",
    "</textarea><img src=x onerror=\"document.title='pwned-img'\">",
    "<a href=\"javascript:document.title='pwned-link'\">click</a>",
    "javascript:alert(1)",
    "+<b>not a diff line</b>",
    "--- </pre><svg onload=\"document.title='pwned-svg'\">",
]
HOSTILE_TEXT = "\n".join(HOSTILE)
CHILDREN = 120  # > 2 pages of 50


def build_run(runs_dir: Path, run_id: str = "toy-ui", *, url: str | None = None,
              status: str = "finished", problem: str = "toy") -> dict[str, int]:
    """Write one run; returns the ids of its notable programs."""
    if url is None:
        (runs_dir / run_id).mkdir(parents=True, exist_ok=True)
        url = store.sqlite_url(runs_dir, run_id)
    engine = store.open_engine(url)
    start = datetime(2026, 1, 1, 12, 0, 0)
    ids: dict[str, int] = {}
    with Session(engine) as session:
        session.add(Run(id=run_id, problem=problem, problem_root="/nonexistent", config={}, seed=0,
                        proposer="openai/fake-model", objective="error", direction="minimize",
                        status=status, elapsed_s=42.0, created_at=start))
        session.flush()

        def add(seq: int, parent: int | None, score: float | None, code: str, **extra: object) -> int:
            row = Program(run_id=run_id, seq=seq, parent_id=parent, island=seq % 2,
                          generation=0 if parent is None else 1, kind=extra.pop("kind", "diff"),
                          code=code, status=extra.pop("status", "ok"), score=score,
                          metrics={"error": score} if score is not None else {},
                          created_at=start + timedelta(seconds=seq), **extra)
            session.add(row)
            session.flush()
            return row.id

        seed = ids["seed"] = add(0, None, 2.5, SEED, kind="seed", proposer="seed")
        for seq in range(1, CHILDREN + 1):
            add(seq, seed, 2.5 - seq / 100, SEED.replace("0.5", f"0.{seq:03d}"), proposer="llm",
                model="openai/fake-model")
        seq = CHILDREN + 1
        ids["failed"] = add(seq, seed, None, SEED + "oops(\n", status="error",
                            feedback="Traceback: SyntaxError", kind="fix")
        ids["hostile"] = add(seq + 1, seed, 1.0, SEED + "\n" + "\n".join(f"# {h}" for h in HOSTILE) +
                             f"\nNOTE = {HOSTILE[1]!r}\n", feedback=HOSTILE_TEXT, note=HOSTILE[2],
                             prompt="system: " + HOSTILE_TEXT, model=HOSTILE[0], kind="rewrite")
        ids["mate"] = add(seq + 2, seed, 0.9, SEED.replace("x * 0.5", "x * 0.9 + 0.1"))
        ids["crossover"] = add(seq + 3, ids["hostile"], 0.5, SEED.replace("x * 0.5", "x + 0.5"),
                               kind="crossover", note=f"crossover with program #{ids['mate']}",
                               mate_id=ids["mate"])
        ids["grandchild"] = add(seq + 4, ids["crossover"], 0.2, SEED.replace("x * 0.5", "x + 1.8"),
                                kind="diff")
        for k, (model, error) in enumerate([("openai/fake-model", ""), (HOSTILE[0], HOSTILE[1])]):
            session.add(LLMCall(run_id=run_id, seq=seq + 1, model=model, prompt_tokens=1000 + k,
                                completion_tokens=200, cost_usd=0.0012, latency_s=1.5, error=error,
                                kind="rewrite", choice=HOSTILE[3], created_at=start + timedelta(seconds=30)))
        for name, split, score in (("ZERO", "train", 3.0), ("ZERO", "validation", 3.1)):
            session.add(Evaluation(run_id=run_id, baseline=name, split=split, status="ok", score=score))
        session.add(Evaluation(run_id=run_id, program_id=ids["grandchild"], split="validation",
                               status="ok", score=0.25))
        session.commit()
    engine.dispose()
    return ids
