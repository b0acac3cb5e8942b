"""Score curves of one run: best-so-far per island against candidates and time, status counts and
LLM usage over time, as plain lists ready for JSON (the web UI) or matplotlib (``adrs plot``).

Reads ``program``, ``llm_call`` and ``evaluation`` rows through ``adrs.db.reader`` (never writes) and
keeps the result small whatever the run's size: best-so-far curves only hold the points where the
best changed, candidate scores are thinned to at most ``max_points`` (the best and worst of each
bucket) and counts go into at most ``bins`` time bins.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from adrs.db.reader import Reader, RunRecord
from adrs.status import Status

STATUS_ORDER = tuple(s.value for s in Status)


def timestamp(value: Any) -> float:
    """Seconds since the epoch of a stored naive-UTC datetime (a string in SQLite)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.timestamp() if isinstance(value, datetime) else 0.0


@dataclass
class Curve:
    """A step curve: x (candidate number or seconds), y (best score so far), program ids."""

    name: str
    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)


@dataclass
class Progress:
    run_id: str
    direction: str
    objective: str
    status: str
    candidates: int
    valid: int
    best: Curve  # over all islands, x = candidate number
    islands: list[Curve]
    best_time: Curve  # x = seconds since the run started
    islands_time: list[Curve]
    points: dict[str, list[float]]  # thinned candidate scores: seq, t, score, id
    baselines: dict[str, float]  # train scores of the baselines (reference lines)
    status_bins: dict[str, Any]  # {"t": bin starts (s), "counts": {status: [n per bin]}}
    llm: dict[str, Any]  # {"t": ..., "calls": [...], "tokens": cumulative, "cost": cumulative}
    elapsed_s: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _better(direction: str, a: float, b: float | None) -> bool:
    return b is None or (a < b if direction == "minimize" else a > b)


def _step(curve: Curve, x: float, score: float, pid: int, direction: str) -> None:
    if not curve.y or _better(direction, score, curve.y[-1]):
        curve.x.append(x)
        curve.y.append(score)
        curve.ids.append(pid)


def _close(curve: Curve, x_end: float) -> None:
    """Extend a step curve to the last x so the line reaches the right edge."""
    if curve.y and curve.x[-1] < x_end:
        curve.x.append(x_end)
        curve.y.append(curve.y[-1])
        curve.ids.append(curve.ids[-1])


def _thin(rows: list[dict[str, Any]], direction: str, max_points: int) -> list[dict[str, Any]]:
    """At most ``max_points`` valid rows: the best and the worst of each bucket of seq order."""
    if len(rows) <= max_points:
        return rows
    buckets = max_points // 2
    size = len(rows) / buckets
    kept = []
    for b in range(buckets):
        chunk = rows[int(b * size):int((b + 1) * size)]
        if chunk:
            ordered = sorted(chunk, key=lambda r: r["score"])
            kept.extend({id(ordered[0]): ordered[0], id(ordered[-1]): ordered[-1]}.values())
    return kept


def _bins(times: list[float], span: float, bins: int) -> tuple[list[float], float]:
    width = max(span / bins, 1e-9) if span > 0 else 1.0
    count = max(1, min(bins, int(span / width) + 1))
    return [round(i * width, 3) for i in range(count)], width


def run_progress(reader: Reader, run: RunRecord, *, max_points: int = 2000, bins: int = 40) -> Progress:
    """The curves of ``run`` as stored right now (a running campaign simply has fewer rows)."""
    # No ORDER BY: sorted here, so that the light columns come from an index, not the wide rows.
    rows = sorted(reader.rows("SELECT id, seq, island, status, score, created_at FROM program "
                              "WHERE run_id = :run", run=run.id), key=lambda r: r["seq"])
    start = timestamp(run.created_at)
    for r in rows:
        r["t"] = max(0.0, timestamp(r["created_at"]) - start)
    direction = run.direction
    best, best_time = Curve("all islands"), Curve("all islands")
    islands: dict[int, Curve] = {}
    valid = [r for r in rows if r["status"] == "ok" and r["score"] is not None]
    islands_time: dict[int, Curve] = {}
    for r in valid:
        if r["island"] not in islands:
            islands[r["island"]] = Curve(f"island {r['island']}")
            islands_time[r["island"]] = Curve(f"island {r['island']}")
        _step(best, r["seq"], r["score"], r["id"], direction)
        _step(islands[r["island"]], r["seq"], r["score"], r["id"], direction)
    for r in sorted(valid, key=lambda r: r["t"]):
        _step(best_time, round(r["t"], 3), r["score"], r["id"], direction)
        _step(islands_time[r["island"]], round(r["t"], 3), r["score"], r["id"], direction)
    last_seq = rows[-1]["seq"] if rows else 0
    last_t = max((r["t"] for r in rows), default=0.0)
    for curve in (best, *islands.values()):
        _close(curve, last_seq)
    for curve in (best_time, *islands_time.values()):
        _close(curve, round(last_t, 3))
    thinned = _thin(valid, direction, max_points)
    points = {"seq": [r["seq"] for r in thinned], "t": [round(r["t"], 3) for r in thinned],
              "score": [r["score"] for r in thinned], "id": [r["id"] for r in thinned]}
    baselines = {r["baseline"]: r["score"] for r in reader.rows(
        "SELECT baseline, score FROM evaluation WHERE run_id = :run AND split = 'train' "
        "AND baseline IS NOT NULL AND score IS NOT NULL ORDER BY id", run=run.id)}
    calls = reader.rows("SELECT prompt_tokens, completion_tokens, cost_usd, created_at FROM llm_call "
                        "WHERE run_id = :run ORDER BY id", run=run.id)
    call_t = [max(0.0, timestamp(c["created_at"]) - start) for c in calls]
    span = max([last_t, *call_t])
    starts, width = _bins([], span, bins)
    statuses = sorted({r["status"] for r in rows},
                      key=lambda s: (STATUS_ORDER.index(s) if s in STATUS_ORDER else 99, s))
    counts = {s: [0] * len(starts) for s in statuses}
    for r in rows:
        counts[r["status"]][min(len(starts) - 1, int(r["t"] / width))] += 1
    per_bin = [0] * len(starts)
    tokens, cost = [0] * len(starts), [0.0] * len(starts)
    for c, t in zip(calls, call_t, strict=True):
        b = min(len(starts) - 1, int(t / width))
        per_bin[b] += 1
        tokens[b] += int(c["prompt_tokens"] or 0) + int(c["completion_tokens"] or 0)
        cost[b] += float(c["cost_usd"] or 0.0)
    for i in range(1, len(starts)):
        tokens[i] += tokens[i - 1]
        cost[i] += cost[i - 1]
    return Progress(
        run_id=run.id, direction=direction, objective=run.objective, status=run.status,
        candidates=len(rows), valid=len(valid), best=best, islands=[islands[k] for k in sorted(islands)],
        best_time=best_time, islands_time=[islands_time[k] for k in sorted(islands_time)], points=points,
        baselines=baselines, status_bins={"t": starts, "width": width, "counts": counts},
        llm={"t": starts, "calls": per_bin, "tokens": tokens, "cost": [round(c, 6) for c in cost],
             "total_calls": len(calls)},
        elapsed_s=float(run.elapsed_s or 0.0))
