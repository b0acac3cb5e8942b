"""The web UI's pages and JSON endpoints (one function per route), rendered with autoescaping Jinja
templates from ``adrs/ui/templates``; charts and the lineage tree are drawn by the package's own
scripts in ``adrs/ui/static`` from the JSON endpoints. Reads only (see ``adrs.ui.queries``).
"""

from __future__ import annotations

import json
import mimetypes
import threading
import traceback
from collections import OrderedDict
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape

from adrs.curves import run_progress
from adrs.errors import DatabaseError
from adrs.ui import queries as q
from adrs.ui.catalog import Catalog, NotFound
from adrs.ui.diff import line_diff
from adrs.ui.server import Request, Response, Router

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
PAGE_SIZE = 50
router = Router()


class BadRequest(Exception):
    """A malformed query parameter (HTTP 400)."""


def _int(query: dict[str, str], name: str, default: int | None = None, *, low: int = 0,
         high: int = 10**12) -> int | None:
    value = query.get(name, "")
    if value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise BadRequest(f"{name} must be an integer") from None
    if not low <= number <= high:
        raise BadRequest(f"{name} must be between {low} and {high}")
    return number


def _score(value: Any, digits: int = 4) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "—"
    if abs(value) >= 1e4 or (value and abs(value) < 1e-3):
        return f"{value:.{digits}g}"
    return f"{value:.{digits}f}"


def _seconds(value: float | None) -> str:
    if value is None:
        return "—"
    minutes, secs = divmod(int(value), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s" if minutes else f"{value:.1f}s"


class LRU:
    """A small thread-safe least-recently-used cache."""

    def __init__(self, size: int = 16) -> None:
        self.size = size
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        return None

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


class App:
    """Routes requests to pages for one catalog of runs."""

    def __init__(self, catalog: Catalog, *, verbose: bool = False) -> None:
        self.catalog = catalog
        self.verbose = verbose
        self.progress_cache = LRU()
        self.env = Environment(loader=FileSystemLoader(HERE / "templates"),
                               autoescape=select_autoescape(default=True, default_for_string=True))
        self.env.filters.update(score=_score, seconds=_seconds, urlq=lambda s: quote(str(s), safe=""))
        self.env.globals["qs"] = lambda **kw: urlencode({k: v for k, v in kw.items() if v is not None})

    def progress_json(self, reader: q.Reader, run: q.RunRecord) -> bytes:
        """The run's curves as JSON, cached until the run changes (the live page polls them)."""
        key = (reader.url, run.id, run.status, run.elapsed_s, *reader.rows(
            "SELECT COUNT(*) AS n, MAX(id) AS last FROM program WHERE run_id = :run", run=run.id)[0].values(),
            reader.rows("SELECT COUNT(*) AS n FROM llm_call WHERE run_id = :run", run=run.id)[0]["n"])
        body = self.progress_cache.get(key)
        if body is None:
            body = json.dumps(run_progress(reader, run).to_dict(), default=str, allow_nan=False).encode()
            self.progress_cache.put(key, body)
        return body

    def warm_up(self, runs: int = 3) -> None:
        """Compute the newest runs' curves ahead of the first visit (run in a background thread)."""
        done = 0
        for url in self.catalog.urls():
            with self.catalog.reader(url) as reader:
                for run in q.rd.runs(reader):
                    self.progress_json(reader, run)
                    done += 1
                    if done >= runs:
                        return

    def handle(self, request: Request) -> Response:
        found = router.match(request.path)
        if found is None:
            return self.error(HTTPStatus.NOT_FOUND, "no such page")
        handler, groups = found
        try:
            return handler(self, request, **groups)
        except NotFound as err:
            return self.error(HTTPStatus.NOT_FOUND, str(err))
        except BadRequest as err:
            return self.error(HTTPStatus.BAD_REQUEST, str(err))
        except DatabaseError as err:
            return self.error(HTTPStatus.SERVICE_UNAVAILABLE, str(err))
        except Exception:  # noqa: BLE001 - a page must answer, not hang the browser
            if self.verbose:
                traceback.print_exc()
            return self.error(HTTPStatus.INTERNAL_SERVER_ERROR, traceback.format_exc(limit=3))

    def render(self, template: str, status: int = 200, **context: Any) -> Response:
        context.setdefault("source", self.catalog.describe())
        body = self.env.get_template(template).render(**context).encode()
        return Response(status, body)

    def error(self, status: int, message: str) -> Response:
        return self.render("error.html", status=status, code=int(status), phrase=HTTPStatus(status).phrase,
                           message=self.catalog.hide_secrets(message))


def _json(data: Any, status: int = 200) -> Response:
    return Response(status, json.dumps(data, default=str, allow_nan=False).encode(),
                    "application/json; charset=utf-8")


@router.get(r"/")
def runs_page(app: App, request: Request) -> Response:
    rows, failures = [], []
    for url in app.catalog.urls():
        try:
            with app.catalog.reader(url) as reader:
                rows.extend(q.run_row(reader, run) for run in q.rd.runs(reader))
        except DatabaseError as err:
            failures.append(app.catalog.hide_secrets(str(err)))
    problems = sorted({r.run.problem for r in rows})
    problem = request.query.get("problem") or None
    shown = [r for r in rows if problem in (None, r.run.problem)]
    return app.render("runs.html", rows=shown, problems=problems, problem=problem, failures=failures,
                      total=len(rows))


@router.get(r"/compare")
def compare_page(app: App, request: Request) -> Response:
    ids = [v for v in (request.query.get("a"), request.query.get("b")) if v]
    if len(ids) != 2:
        raise BadRequest("pick two runs to compare (a and b)")
    runs = []
    for run_id in ids:
        with app.catalog.run(run_id) as (_, run):
            runs.append(run)
    return app.render("compare.html", runs=runs)


@router.get(r"/run/(?P<run_id>[^/]+)")
def run_page(app: App, request: Request, run_id: str) -> Response:
    with app.catalog.run(run_id) as (reader, run):
        row = q.run_row(reader, run)
        best = q.best_programs(reader, run)
        baselines = q.baselines(reader, run.id)
    return app.render("run.html", run=run, row=row, best=best, baselines=baselines)


@router.get(r"/run/(?P<run_id>[^/]+)/lineage")
def lineage_page(app: App, request: Request, run_id: str) -> Response:
    focus = _int(request.query, "program")
    with app.catalog.run(run_id) as (reader, run):
        if focus is not None and q.node(reader, run.id, focus) is None:
            raise NotFound(f"no program {focus} in run {run.id}")
        reference, best = q.score_range(reader, run)
        total = int(reader.rows("SELECT COUNT(*) AS n FROM program WHERE run_id = :run", run=run.id)[0]["n"])
    return app.render("lineage.html", run=run, focus=focus, reference=reference, best=best, total=total)


def _program(reader, run, program_id: str):
    """The run's program ``program_id``, or NotFound (404) naming both."""
    program = q.program_or_none(reader, int(program_id), run.id)
    if program is None:
        raise NotFound(f"no program {program_id} in run {run.id}")
    return program


@router.get(r"/run/(?P<run_id>[^/]+)/program/(?P<program_id>\d+)")
def program_page(app: App, request: Request, run_id: str, program_id: str) -> Response:
    from adrs.ui.highlight import highlight_python

    with app.catalog.run(run_id) as (reader, run):
        program = _program(reader, run, program_id)
        parent = q.program_or_none(reader, program.parent_id, run.id)
        mate = q.program_or_none(reader, program.mate_id, run.id)
        calls = q.llm_calls(reader, run.id, program.seq)
        evaluations = q.program_evaluations(reader, program.id)
        kids, kid_total = q.children(reader, run, program.id, limit=10)
    diffs = [(label, other, line_diff(other.code, program.code))
             for label, other in (("parent", parent), ("second parent", mate)) if other is not None]
    return app.render("program.html", run=run, p=program, parent=parent, diffs=diffs, calls=calls,
                      evaluations=evaluations, kids=kids, kid_total=kid_total,
                      code=highlight_python(program.code))


@router.get(r"/run/(?P<run_id>[^/]+)/program/(?P<program_id>\d+)/download")
def download(app: App, request: Request, run_id: str, program_id: str) -> Response:
    with app.catalog.run(run_id) as (reader, run):
        program = _program(reader, run, program_id)
    name = f"{run.problem}-program-{program.id}.py".replace("/", "_")
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)
    return Response(200, program.code.encode(), "text/x-python; charset=utf-8",
                    {"Content-Disposition": f'attachment; filename="{safe}"'})


@router.get(r"/run/(?P<run_id>[^/]+)/diff")
def diff_page(app: App, request: Request, run_id: str) -> Response:
    a_id, b_id = _int(request.query, "a"), _int(request.query, "b")
    with app.catalog.run(run_id) as (reader, run):
        a = q.program_or_none(reader, a_id, run.id)
        b = q.program_or_none(reader, b_id, run.id)
    missing = [str(i) for i, p in ((a_id, a), (b_id, b)) if i is not None and p is None]
    if missing:
        raise NotFound(f"no program {', '.join(missing)} in run {run.id}")
    diff = line_diff(a.code, b.code) if a and b else None
    return app.render("diff.html", run=run, a=a, b=b, a_id=a_id, b_id=b_id, diff=diff)


@router.get(r"/api/run/(?P<run_id>[^/]+)/progress")
def api_progress(app: App, request: Request, run_id: str) -> Response:
    with app.catalog.run(run_id) as (reader, run):
        body = app.progress_json(reader, run)
    return Response(200, body, "application/json; charset=utf-8")


@router.get(r"/api/run/(?P<run_id>[^/]+)/children")
def api_children(app: App, request: Request, run_id: str) -> Response:
    parent = request.query.get("parent", "root")
    parent_id = None if parent == "root" else _int(request.query, "parent")
    offset = _int(request.query, "offset", 0, high=10**9)
    limit = _int(request.query, "limit", PAGE_SIZE, low=1, high=200)
    with app.catalog.run(run_id) as (reader, run):
        nodes, total = q.children(reader, run, parent_id, offset or 0, limit or PAGE_SIZE)
    return _json({"parent": parent_id, "offset": offset, "total": total, "nodes": nodes})


@router.get(r"/api/run/(?P<run_id>[^/]+)/ancestry/(?P<program_id>\d+)")
def api_ancestry(app: App, request: Request, run_id: str, program_id: str) -> Response:
    with app.catalog.run(run_id) as (reader, run):
        chain = q.ancestry(reader, run.id, int(program_id))
    if not chain:
        raise NotFound(f"no program {program_id} in run {run_id}")
    return _json({"chain": chain})


@router.get(r"/static/(?P<name>[A-Za-z0-9_.-]+)")
def static(app: App, request: Request, name: str) -> Response:
    if name == "pygments.css":
        from adrs.ui.highlight import style_sheet

        return Response(200, style_sheet().encode(), "text/css; charset=utf-8")
    path = STATIC / name
    if name.startswith(".") or not path.is_file():
        raise NotFound(f"no static file {name}")
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    charset = "; charset=utf-8" if kind.startswith("text/") or kind.endswith("javascript") else ""
    return Response(200, path.read_bytes(), kind + charset, {"Cache-Control": "max-age=3600"})


@router.get(r"/favicon.ico")
def favicon(app: App, request: Request) -> Response:
    return Response(HTTPStatus.NO_CONTENT, b"", "image/x-icon")
