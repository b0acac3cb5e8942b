"""`adrs ui` on a real PostgreSQL server (started by the tests): every page answers, untrusted text
is escaped, lineage pages and curves are the same as for the SQLite file of the same run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from adrs.ui.catalog import Catalog
from adrs.ui.pages import App
from adrs.ui.server import UIServer, start
from tests.integration.test_ui_server import get, pages
from tests.ui_runs import build_run


@pytest.fixture(scope="module")
def pg_site(postgres, tmp_path_factory) -> Iterator[tuple[UIServer, UIServer, dict, dict]]:
    url = postgres.create_database("adrs_ui")
    ids = build_run(Path("unused"), "toy-ui", url=url)
    other = build_run(Path("unused"), "toy-two", url=url)
    sqlite_runs = tmp_path_factory.mktemp("ui-pg") / "runs"
    build_run(sqlite_runs, "toy-ui")
    pg, _ = start("127.0.0.1", 0, App(Catalog(Path("unused"), url)))
    lite, _ = start("127.0.0.1", 0, App(Catalog(sqlite_runs)))
    yield pg, lite, ids, other
    for server in (pg, lite):
        server.shutdown()
        server.server_close()
    pg.app.catalog.close()


def test_every_page_answers_on_postgresql(pg_site) -> None:
    pg, _, ids, other = pg_site
    for path in pages(ids):
        status, headers, body = get(pg, path)
        assert status == 200, (path, body[:300])
        if headers["content-type"].startswith("text/html"):
            assert "<script>document" not in body and "<img src=x" not in body, path
    listing = get(pg, "/")[2]
    assert "/run/toy-ui" in listing and "/run/toy-two" in listing
    assert get(pg, f"/run/toy-ui/program/{other['hostile']}")[0] == 404  # the other run's program
    assert get(pg, "/compare?a=toy-ui&b=toy-two")[0] == 200
    assert pg.app.catalog.db_url.count(":") >= 3  # the URL holds a password ...
    password = pg.app.catalog.db_url.split("@")[0].rsplit(":", 1)[1]
    for path in ("/", "/run/toy-ui", "/run/nope", "/run/toy-ui/program/999999"):
        assert password not in get(pg, path)[2], path  # ... that no page shows
    assert "***@" in listing


def test_postgresql_and_sqlite_serve_the_same_data(pg_site) -> None:
    pg, lite, ids, _ = pg_site
    for path in ("/api/run/toy-ui/progress", "/api/run/toy-ui/children?parent=root",
                 "/api/run/toy-ui/children?parent={seed}&offset=50",
                 "/api/run/toy-ui/ancestry/{grandchild}"):
        path = path.format(**ids)
        assert json.loads(get(pg, path)[2]) == json.loads(get(lite, path)[2]), path
