"""The web UI's reads: run rows, best programs, lineage pages, one program with its relatives.

Plain SELECTs through ``adrs.db.reader`` (the same path as ``adrs runs / show / lineage``), each
bounded: lineage is read one page of children at a time and ancestry by light columns only, so a
20,000-program run is never loaded whole. Never writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adrs.db import reader as rd
from adrs.db.reader import ProgramRecord, Reader, RunRecord

NODE_COLUMNS = "id, seq, parent_id, island, generation, kind, status, score, note, model"


@dataclass(frozen=True)
class RunRow:
    summary: rd.RunSummary
    run: RunRecord
    best_id: int | None
    validation: float | None  # the best program's validation score, when stored

    @property
    def valid_pct(self) -> float | None:
        s = self.summary
        return 100.0 * s.valid / s.programs if s.programs else None


def run_row(reader: Reader, run: RunRecord) -> RunRow:
    """What the runs table shows of ``run`` (the same figures as ``adrs runs``, from light columns)."""
    top = reader.rows("SELECT id, score FROM program WHERE run_id = :run AND status = 'ok' AND score IS NOT "
                      f"NULL ORDER BY score {_order(run)}, seq LIMIT 1", run=run.id)
    counts = reader.rows("SELECT COUNT(*) AS programs, COALESCE(SUM(CASE WHEN status = 'ok' THEN 1 ELSE 0 "
                         "END), 0) AS valid FROM program WHERE run_id = :run", run=run.id)[0]
    cost = reader.rows("SELECT COALESCE(SUM(cost_usd), 0.0) AS cost FROM llm_call WHERE run_id = :run",
                       run=run.id)[0]["cost"]
    summary = rd.RunSummary(run.id, run.problem, run.proposer, run.status, int(counts["programs"]),
                            int(counts["valid"]), top[0]["score"] if top else None, float(cost),
                            run.elapsed_s)
    best_id = top[0]["id"] if top else None
    validation = None
    if best_id is not None:
        found = reader.rows("SELECT score FROM evaluation WHERE run_id = :run AND program_id = :id "
                            "AND split = 'validation' ORDER BY id DESC LIMIT 1", run=run.id, id=best_id)
        validation = found[0]["score"] if found else None
    return RunRow(summary, run, best_id, validation)


def _order(run: RunRecord) -> str:
    return "ASC" if run.direction == "minimize" else "DESC"


def best_programs(reader: Reader, run: RunRecord, limit: int = 15) -> list[dict[str, Any]]:
    """The run's best correct programs with their stored validation scores."""
    top = [r["id"] for r in reader.rows(
        f"SELECT id FROM program WHERE run_id = :run AND status = 'ok' AND score IS NOT NULL "
        f"ORDER BY score {_order(run)}, seq LIMIT :limit", run=run.id, limit=limit)]
    rows = _nodes(reader, top, ", eval_s")
    validation = {r["program_id"]: r["score"] for r in reader.rows(
        "SELECT program_id, score FROM evaluation WHERE run_id = :run AND split = 'validation' "
        "AND program_id IS NOT NULL ORDER BY id", run=run.id)}
    for r in rows:
        r["validation"] = validation.get(r["id"])
    return rows


def baselines(reader: Reader, run_id: str) -> list[dict[str, Any]]:
    """Baseline scores by split: [{name, train, validation}]."""
    table: dict[str, dict[str, Any]] = {}
    for r in reader.rows("SELECT baseline, split, score FROM evaluation WHERE run_id = :run "
                         "AND baseline IS NOT NULL ORDER BY id", run=run_id):
        table.setdefault(r["baseline"], {"name": r["baseline"]})[r["split"]] = r["score"]
    return list(table.values())


def score_range(reader: Reader, run: RunRecord) -> tuple[float | None, float | None]:
    """(reference, best): the seed's score (or the worst correct one) and the best, for colouring."""
    best = reader.rows(f"SELECT score FROM program WHERE run_id = :run AND status = 'ok' AND score IS NOT "
                       f"NULL ORDER BY score {_order(run)} LIMIT 1", run=run.id)
    seed = reader.rows("SELECT score FROM program WHERE run_id = :run AND seq = 0 AND status = 'ok'",
                       run=run.id)
    if not seed or seed[0]["score"] is None:
        worst = "DESC" if run.direction == "minimize" else "ASC"
        seed = reader.rows(f"SELECT score FROM program WHERE run_id = :run AND status = 'ok' AND score IS "
                           f"NOT NULL ORDER BY score {worst} LIMIT 1", run=run.id)
    return (seed[0]["score"] if seed else None), (best[0]["score"] if best else None)


def _in_clause(name: str, values: list[Any]) -> tuple[str, dict[str, Any]]:
    params = {f"{name}{i}": v for i, v in enumerate(values)}
    return ", ".join(f":{k}" for k in params) or "NULL", params


def with_child_counts(reader: Reader, nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not nodes:
        return nodes
    clause, params = _in_clause("p", [n["id"] for n in nodes])
    counts = {r["parent_id"]: int(r["n"]) for r in reader.rows(
        f"SELECT parent_id, COUNT(*) AS n FROM program WHERE parent_id IN ({clause}) GROUP BY parent_id",
        **params)}
    for n in nodes:
        n["children"] = counts.get(n["id"], 0)
    return nodes


def children(reader: Reader, run: RunRecord, parent_id: int | None, offset: int = 0,
             limit: int = 50) -> tuple[list[dict[str, Any]], int]:
    """One page of a program's children (or the run's roots), correct ones best first; and the total."""
    where = "parent_id IS NULL" if parent_id is None else "parent_id = :parent"
    params: dict[str, Any] = {"run": run.id} if parent_id is None else {"run": run.id, "parent": parent_id}
    total = int(reader.rows(f"SELECT COUNT(*) AS n FROM program WHERE run_id = :run AND {where}",
                            **params)[0]["n"])
    # First the page's ids from light columns only (index ix_program_outline), then those rows.
    page = [r["id"] for r in reader.rows(
        f"SELECT id FROM program WHERE run_id = :run AND {where} "
        f"ORDER BY CASE WHEN status = 'ok' AND score IS NOT NULL THEN 0 ELSE 1 END, score {_order(run)}, "
        "seq LIMIT :limit OFFSET :offset", limit=limit, offset=offset, **params)]
    return with_child_counts(reader, _nodes(reader, page)), total


def _nodes(reader: Reader, ids: list[int], extra: str = "") -> list[dict[str, Any]]:
    """Light rows of ``ids``, in that order (fetched by primary key: sorting them reads code)."""
    if not ids:
        return []
    clause, params = _in_clause("i", ids)
    by_id = {r["id"]: r for r in _node_rows(
        reader, f"SELECT {_node_columns(reader)}{extra} FROM program WHERE id IN ({clause})", params)}
    return [by_id[i] for i in ids]


def node(reader: Reader, run_id: str, program_id: int) -> dict[str, Any] | None:
    found = _node_rows(reader, f"SELECT {_node_columns(reader)} FROM program WHERE id = :id AND "
                               f"run_id = :run", {"id": program_id, "run": run_id})
    return found[0] if found else None


def _node_columns(reader: Reader) -> str:
    """NODE_COLUMNS and the crossover's second parent, where the database has that column."""
    return NODE_COLUMNS + (", mate_id" if "mate_id" in reader.columns("program") else "")


def _node_rows(reader: Reader, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    rows = reader.rows(sql, **params)
    for row in rows:
        if "mate_id" not in row:  # a database before schema 0004
            row["mate_id"] = rd.mate_in_note(row["note"])
    return rows


def ancestry(reader: Reader, run_id: str, program_id: int) -> list[dict[str, Any]]:
    """Light rows from the root down to ``program_id`` (empty if it is not in the run)."""
    chain: list[dict[str, Any]] = []
    next_id: int | None = program_id
    seen: set[int] = set()
    while next_id is not None and next_id not in seen:
        seen.add(next_id)
        row = node(reader, run_id, next_id)
        if row is None:
            break
        chain.append(row)
        next_id = row["parent_id"]
    return with_child_counts(reader, chain[::-1])


def program_or_none(reader: Reader, program_id: int | None, run_id: str) -> ProgramRecord | None:
    if program_id is None:
        return None
    try:
        return rd.get_program(reader, program_id, run_id)
    except rd.DatabaseError:
        return None


def llm_calls(reader: Reader, run_id: str, seq: int) -> list[dict[str, Any]]:
    return reader.rows("SELECT * FROM llm_call WHERE run_id = :run AND seq = :seq ORDER BY id",
                       run=run_id, seq=seq)


def program_evaluations(reader: Reader, program_id: int) -> list[dict[str, Any]]:
    return reader.rows("SELECT split, status, score, feedback FROM evaluation WHERE program_id = :id "
                       "ORDER BY id", id=program_id)
