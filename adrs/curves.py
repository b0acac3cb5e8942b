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


def _datetime(value: Any) -> datetime | None:
    """A stored naive-UTC datetime (a string in SQLite)."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def elapsed_s(values: list[Any], start: Any) -> list[float]:
    """Seconds from ``start`` to each stored datetime (0 for a missing or earlier one)."""
    origin = _datetime(start)
    if origin is None:
        return [0.0] * len(values)
    parse = datetime.fromisoformat
    out = []
    for value in values:
        moment = parse(value) if isinstance(value, str) else value
        out.append(max(0.0, (moment - origin).total_seconds()) if moment is not None else 0.0)
    return out


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


def _steps(points: list[tuple[float, float, int]], direction: str) -> Curve:
    """The best-so-far step curve of (x, score, id) points already in x order."""
    curve = Curve("")
    best = None
    minimize = direction == "minimize"
    for x, score, pid in points:
        if best is None or (score < best if minimize else score > best):
            best = score
            curve.x.append(x)
            curve.y.append(score)
            curve.ids.append(pid)
    return curve


def _close(curve: Curve, x_end: float) -> Curve:
    """Extend a step curve to the last x so the line reaches the right edge."""
    if curve.y and curve.x[-1] < x_end:
        curve.x.append(x_end)
        curve.y.append(curve.y[-1])
        curve.ids.append(curve.ids[-1])
    return curve


Point = tuple[int, float, float, int]  # seq, seconds since the start, score, program id


def _thin(points: list[Point], max_points: int) -> list[Point]:
    """At most ``max_points`` of (seq, t, score, id): the best and the worst of each bucket in seq order."""
    if len(points) <= max_points:
        return points
    buckets = max_points // 2
    size = len(points) / buckets
    kept = []
    for b in range(buckets):
        chunk = points[int(b * size):int((b + 1) * size)]
        if chunk:
            low = min(chunk, key=lambda p: p[2])
            high = max(chunk, key=lambda p: p[2])
            kept.extend((low,) if low is high else sorted((low, high)))
    return kept


def _bins(times: list[float], span: float, bins: int) -> tuple[list[float], float]:
    width = max(span / bins, 1e-9) if span > 0 else 1.0
    count = max(1, min(bins, int(span / width) + 1))
    return [round(i * width, 3) for i in range(count)], width


def run_progress(reader: Reader, run: RunRecord, *, max_points: int = 2000, bins: int = 40) -> Progress:
    """The curves of ``run`` as stored right now (a running campaign simply has fewer rows)."""
    # No ORDER BY: sorted here, so that the light columns come from an index, not the wide rows.
    rows = reader.tuples("SELECT seq, id, island, status, score, created_at FROM program "
                         "WHERE run_id = :run", run=run.id)
    rows.sort()
    times = elapsed_s([r[5] for r in rows], run.created_at)
    ok = Status.OK.value
    valid = [(r[0], round(t, 3), r[4], r[1], r[2]) for r, t in zip(rows, times, strict=True)
             if r[3] == ok and r[4] is not None]  # (seq, t, score, id, island)
    direction = run.direction
    last_seq = rows[-1][0] if rows else 0
    last_t = round(max(times, default=0.0), 3)
    by_time = sorted(valid, key=lambda v: (v[1], v[0]))
    islands = sorted({v[4] for v in valid})

    def curves(ordered: list[tuple[int, float, float, int, int]], x: int, end: float) -> list[Curve]:
        every = [(v[x], v[2], v[3]) for v in ordered]
        per_island: dict[int, list[tuple[float, float, int]]] = {i: [] for i in islands}
        for v, point in zip(ordered, every, strict=True):
            per_island[v[4]].append(point)
        out = []
        for name, points in (("all islands", every), *((f"island {i}", per_island[i]) for i in islands)):
            curve = _close(_steps(points, direction), end)
            curve.name = name
            out.append(curve)
        return out

    best, *island_curves = curves(valid, 0, last_seq)
    best_time, *island_time_curves = curves(by_time, 1, last_t)
    thinned = _thin([v[:4] for v in valid], max_points)
    points = {"seq": [p[0] for p in thinned], "t": [p[1] for p in thinned],
              "score": [p[2] for p in thinned], "id": [p[3] for p in thinned]}
    baselines = {r["baseline"]: r["score"] for r in reader.rows(
        "SELECT baseline, score FROM evaluation WHERE run_id = :run AND split = 'train' "
        "AND baseline IS NOT NULL AND score IS NOT NULL ORDER BY id", run=run.id)}
    calls = reader.tuples("SELECT prompt_tokens, completion_tokens, cost_usd, created_at FROM llm_call "
                          "WHERE run_id = :run", run=run.id)
    call_t = elapsed_s([c[3] for c in calls], run.created_at)
    span = max([last_t, *call_t])
    starts, width = _bins([], span, bins)
    top = len(starts) - 1
    statuses = sorted({r[3] for r in rows},
                      key=lambda s: (STATUS_ORDER.index(s) if s in STATUS_ORDER else 99, s))
    counts = {s: [0] * len(starts) for s in statuses}
    for r, t in zip(rows, times, strict=True):
        b = int(t / width)
        counts[r[3]][b if b < top else top] += 1
    per_bin = [0] * len(starts)
    tokens, cost = [0] * len(starts), [0.0] * len(starts)
    for (prompt, completion, usd, _), t in zip(calls, call_t, strict=True):
        b = min(top, int(t / width))
        per_bin[b] += 1
        tokens[b] += int(prompt or 0) + int(completion or 0)
        cost[b] += float(usd or 0.0)
    for i in range(1, len(starts)):
        tokens[i] += tokens[i - 1]
        cost[i] += cost[i - 1]
    return Progress(
        run_id=run.id, direction=direction, objective=run.objective, status=run.status,
        candidates=len(rows), valid=len(valid), best=best, islands=island_curves,
        best_time=best_time, islands_time=island_time_curves, points=points,
        baselines=baselines, status_bins={"t": starts, "width": width, "counts": counts},
        llm={"t": starts, "calls": per_bin, "tokens": tokens, "cost": [round(c, 6) for c in cost],
             "total_calls": len(calls)},
        elapsed_s=float(run.elapsed_s or 0.0))
