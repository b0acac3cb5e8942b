"""The web UI's routes over HTTP: status codes, escaping of untrusted text, lineage pagination, the
token and Host checks, read-only access (also to a run still being written), and `adrs plot`."""

from __future__ import annotations

import hashlib
import http.client
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adrs.cli.main import app as cli
from adrs.ui.catalog import Catalog
from adrs.ui.pages import App
from adrs.ui.server import UIServer, is_loopback, start
from tests.conftest import REPO
from tests.ui_runs import CHILDREN, HOSTILE, build_run

RUN = "toy-ui"


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> tuple[Path, dict[str, int]]:
    runs_dir = tmp_path_factory.mktemp("ui") / "runs"
    return runs_dir, build_run(runs_dir, RUN)


@pytest.fixture(scope="module")
def server(runs) -> Iterator[UIServer]:
    srv, _ = start("127.0.0.1", 0, App(Catalog(runs[0])))
    yield srv
    srv.shutdown()
    srv.server_close()


def get(srv: UIServer, path: str, headers: dict[str, str] | None = None,
        method: str = "GET") -> tuple[int, dict[str, str], str]:
    connection = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    connection.request(method, path, headers=headers or {})
    response = connection.getresponse()
    body = response.read().decode()
    connection.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, body


def pages(ids: dict[str, int]) -> list[str]:
    base = f"/run/{RUN}"
    return ["/", "/?problem=toy", f"/compare?a={RUN}&b={RUN}", base, f"{base}/lineage",
            f"{base}/lineage?program={ids['grandchild']}", *(f"{base}/program/{i}" for i in ids.values()),
            f"{base}/diff?a={ids['seed']}&b={ids['hostile']}", f"{base}/diff",
            f"{base}/program/{ids['hostile']}/download"]


def test_every_page_answers(server, runs) -> None:
    ids = runs[1]
    for path in pages(ids):
        status, headers, body = get(server, path)
        assert status == 200, (path, body[:500])
        assert "default-src 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
    _, _, runs_page = get(server, "/")
    assert f'href="/run/{RUN}"' in runs_page and "openai/fake-model" in runs_page
    _, _, run_page = get(server, f"/run/{RUN}")
    assert "ZERO" in run_page and "0.2000" in run_page and "0.2500" in run_page  # train, validation
    assert f"/run/{RUN}/lineage?program={ids['grandchild']}" in run_page  # lineage of the best


def test_program_page_shows_code_diffs_metrics_prompt_and_calls(server, runs) -> None:
    ids = runs[1]
    _, _, page = get(server, f"/run/{RUN}/program/{ids['crossover']}")
    assert "Diff against its parent" in page and "Diff against its second parent" in page
    assert f'href="/run/{RUN}/program/{ids["mate"]}"' in page
    assert 'class="hl"' in page  # highlighted code
    _, _, hostile = get(server, f"/run/{RUN}/program/{ids['hostile']}")
    assert "Prompt that produced it" in hostile and "LLM calls" in hostile and "Feedback" in hostile
    assert "1001" in hostile  # the second call's prompt tokens
    status, headers, code = get(server, f"/run/{RUN}/program/{ids['hostile']}/download")
    assert headers["content-disposition"] == f'attachment; filename="toy-program-{ids["hostile"]}.py"'
    assert headers["content-type"].startswith("text/x-python") and HOSTILE[0] in code
    namespace: dict = {}
    exec(compile(code, "downloaded.py", "exec"), namespace)  # a standalone, runnable file
    assert namespace["NOTE"] == HOSTILE[1]


def test_untrusted_text_is_escaped_everywhere(server, runs) -> None:
    ids = runs[1]
    for path in pages(ids)[:-1]:
        _, _, body = get(server, path)
        for raw in ("<script>document", "<img src=x", "<svg onload", "</textarea><img", "<b>not a diff"):
            assert raw not in body, (path, raw)
        assert not re.search(r"""<[a-z]+\b[^>]*(href|src)\s*=\s*["']?\s*javascript:""", body, re.I), path
        assert not re.search(r"<[a-z]+\b[^>]*\bon(error|load)\s*=", body, re.I), path
    _, _, page = get(server, f"/run/{RUN}/program/{ids['hostile']}")
    assert "&lt;script&gt;document.title=" in page and "&lt;/textarea&gt;&lt;img" in page
    assert "javascript:alert(1)" in page  # shown as text
    _, _, diff = get(server, f"/run/{RUN}/diff?a={ids['seed']}&b={ids['hostile']}")
    assert "&lt;b&gt;not a diff line&lt;/b&gt;" in diff and "&lt;/pre&gt;&lt;svg" in diff


def test_json_endpoints_and_lineage_pagination(server, runs) -> None:
    ids = runs[1]
    status, headers, body = get(server, f"/api/run/{RUN}/progress")
    progress = json.loads(body)
    assert status == 200 and headers["content-type"].startswith("application/json")
    assert progress["candidates"] == CHILDREN + 6 and progress["baselines"] == {"ZERO": 3.0}
    assert progress["best"]["y"][-1] == 0.2 and progress["best"]["ids"][-1] == ids["grandchild"]
    assert progress["llm"]["total_calls"] == 2 and progress["llm"]["cost"][-1] == pytest.approx(0.0024)
    assert sum(sum(c) for c in progress["status_bins"]["counts"].values()) == CHILDREN + 6
    roots = json.loads(get(server, f"/api/run/{RUN}/children?parent=root")[2])
    assert roots["total"] == 1 and roots["nodes"][0]["children"] == CHILDREN + 3
    pages_seen, offset = [], 0
    while True:
        page = json.loads(get(server, f"/api/run/{RUN}/children?parent={ids['seed']}&offset={offset}")[2])
        pages_seen.append(len(page["nodes"]))
        offset += len(page["nodes"])
        if not page["nodes"] or offset >= page["total"]:
            break
    assert pages_seen == [50, 50, 23]  # never the whole run at once
    first = json.loads(get(server, f"/api/run/{RUN}/children?parent={ids['seed']}&limit=3")[2])["nodes"]
    assert [n["score"] for n in first] == [0.9, 1.0, 1.3]  # best first (minimize)
    last = json.loads(get(server, f"/api/run/{RUN}/children?parent={ids['seed']}&offset=122")[2])
    assert last["nodes"][0]["status"] == "error"  # failed programs last
    chain = json.loads(get(server, f"/api/run/{RUN}/ancestry/{ids['grandchild']}")[2])["chain"]
    assert [n["id"] for n in chain] == [ids["seed"], ids["hostile"], ids["crossover"], ids["grandchild"]]
    assert [n["mate_id"] for n in chain] == [None, None, ids["mate"], None]  # lineage.js links it


@pytest.mark.parametrize(("path", "status"), [
    ("/run/nope", 404), ("/run/..%2F..%2Fetc", 404), ("/run/toy-ui/program/999999", 404),
    ("/run/toy-ui/program/999999/download", 404), ("/run/toy-ui/diff?a=1&b=999999", 404),
    ("/run/toy-ui/diff?a=x&b=1", 400), ("/run/toy-ui/lineage?program=abc", 400),
    ("/run/toy-ui/lineage?program=999999", 404), ("/api/run/toy-ui/children?parent=root&limit=5000", 400),
    ("/api/run/toy-ui/ancestry/999999", 404), ("/api/run/nope/progress", 404), ("/static/nope.js", 404),
    ("/static/..%2Fpages.py", 404), ("/static/.hidden", 404), ("/compare?a=toy-ui", 400), ("/nowhere", 404),
])
def test_errors(server, path: str, status: int) -> None:
    got, _, body = get(server, path)
    assert got == status, body[:300]


def test_read_only_methods_and_host_check(server) -> None:
    assert get(server, "/", method="POST")[0] == 405
    assert get(server, "/", method="DELETE")[0] == 405
    assert get(server, "/", headers={"Host": "evil.example:80"})[0] == 403  # DNS rebinding
    assert get(server, "/", headers={"Host": "localhost"})[0] == 200
    head = get(server, "/", method="HEAD")
    assert head[0] == 200 and head[2] == ""


def test_token_is_required_off_loopback(runs) -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
    srv, _ = start("127.0.0.1", 0, App(Catalog(runs[0])), token="s3cret-token")  # as for --host 0.0.0.0
    try:
        assert srv.url().endswith("/?token=s3cret-token")
        assert get(srv, "/")[0] == 401
        assert get(srv, f"/run/{RUN}")[0] == 401
        assert get(srv, "/static/app.css")[0] == 401
        assert get(srv, "/?token=wrong")[0] == 401
        cookie = f"adrs_ui_token_{srv.port}"
        assert get(srv, "/", headers={"Cookie": f"{cookie}=wrong"})[0] == 401
        assert get(srv, "/", headers={"Cookie": "adrs_ui_token_1=s3cret-token"})[0] == 401  # another port's
        assert get(srv, "/", headers={"Cookie": "a=\"unterminated"})[0] == 401
        status, headers, _ = get(srv, f"/run/{RUN}?token=s3cret-token&x=1")
        assert status == 303 and headers["location"] == f"/run/{RUN}?x=1"  # token leaves the address bar
        assert "HttpOnly" in headers["set-cookie"] and "SameSite=Strict" in headers["set-cookie"]
        assert headers["set-cookie"].startswith(f"{cookie}=s3cret-token;")
        assert get(srv, f"/run/{RUN}", headers={"Cookie": f"{cookie}=s3cret-token"})[0] == 200
    finally:
        srv.shutdown()
        srv.server_close()


def test_cli_prints_a_token_for_other_hosts(monkeypatch) -> None:
    """`adrs ui --host 0.0.0.0` would serve with a token; we check the choice without binding it."""
    import adrs.ui.server as server_module

    made = {}

    class FakeServer:
        def __init__(self, host, port, app, token):
            made.update(host=host, token=token)

        def url(self):
            return f"http://{made['host']}:1/" + (f"?token={made['token']}" if made["token"] else "")

        def serve_forever(self):
            pass

        def server_close(self):
            pass

    monkeypatch.setattr(server_module, "UIServer", FakeServer)
    result = CliRunner().invoke(cli, ["ui", "--host", "0.0.0.0", "--runs-dir", "nowhere"])
    assert result.exit_code == 0, result.output
    assert made["token"] and len(made["token"]) >= 24 and made["token"] in result.output
    result = CliRunner().invoke(cli, ["ui", "--runs-dir", "nowhere"])
    assert made["host"] == "127.0.0.1" and made["token"] is None and "token" not in result.output


def _digest(folder: Path) -> tuple[str, int]:
    """The database file's hash and the size of its write-ahead log (SQLite creates an empty one and
    the shared-memory index when a reader opens a WAL database; neither holds data)."""
    wal = folder / "adrs.sqlite-wal"
    return (hashlib.sha256((folder / "adrs.sqlite").read_bytes()).hexdigest(),
            wal.stat().st_size if wal.exists() else 0)


def test_server_never_writes_and_follows_a_run_being_written(tmp_path: Path) -> None:
    from sqlalchemy.orm import Session

    from adrs.db import store
    from adrs.db.models import Program, Run

    ids = build_run(tmp_path, "live", status="running")
    before = _digest(tmp_path / "live")
    srv, _ = start("127.0.0.1", 0, App(Catalog(tmp_path)))
    try:
        for path in [p.replace(RUN, "live") for p in pages(ids)]:
            assert get(srv, path)[0] == 200, path
        assert _digest(tmp_path / "live") == before  # the server wrote nothing
        assert 'class="live"' in get(srv, "/run/live")[2]
        count = json.loads(get(srv, "/api/run/live/progress")[2])["candidates"]
        engine = store.open_engine(store.sqlite_url(tmp_path, "live"))  # the campaign writes on
        with Session(engine) as session:
            session.add(Program(run_id="live", seq=10_000, parent_id=ids["grandchild"], code="x = 1\n",
                                status="ok", score=0.01))
            session.commit()
            after = json.loads(get(srv, "/api/run/live/progress")[2])
            assert after["candidates"] == count + 1 and after["best"]["y"][-1] == 0.01
            session.get(Run, "live").status = "finished"
            session.commit()
        engine.dispose()
        assert 'class="live"' not in get(srv, "/run/live")[2]
    finally:
        srv.shutdown()
        srv.server_close()


def test_one_database_with_many_runs(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    first = build_run(tmp_path, "first", url=url)
    second = build_run(tmp_path, "second", url=url, problem="txn")
    srv, _ = start("127.0.0.1", 0, App(Catalog(tmp_path / "unused", url)))
    try:
        listing = get(srv, "/")[2]
        assert "/run/first" in listing and "/run/second" in listing
        only_txn = get(srv, "/?problem=txn")[2]  # the problem filter
        assert "/run/second" in only_txn and "/run/first" not in only_txn
        assert '<option value="txn" selected>' in only_txn
        assert get(srv, f"/run/first/program/{first['hostile']}")[0] == 200
        assert get(srv, f"/run/first/program/{second['hostile']}")[0] == 404  # another run's program
        assert get(srv, "/compare?a=first&b=second")[0] == 200
    finally:
        srv.shutdown()
        srv.server_close()


def test_ui_start_up_imports_neither_ray_litellm_sqlalchemy_nor_the_llm_sdks(runs) -> None:
    code = f"""
import sys
from pathlib import Path
from adrs.ui.catalog import Catalog
from adrs.ui.pages import App
from adrs.ui.server import Request
app = App(Catalog(Path({str(runs[0])!r})))
for path in {pages(runs[1])!r} + ["/api/run/{RUN}/progress"]:
    path, _, query = path.partition("?")
    params = dict(p.split("=") for p in query.split("&") if p)
    assert app.handle(Request(path, params, {{}}, {{}})).status == 200, path
print(sorted(m for m in ("ray", "litellm", "sqlalchemy", "numpy", "openai", "anthropic") if m in sys.modules))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_plot_writes_png_and_svg(runs, tmp_path: Path) -> None:
    runner = CliRunner()
    png = tmp_path / "curve.png"
    result = runner.invoke(cli, ["plot", RUN, "--runs-dir", str(runs[0]), "--output", str(png)])
    assert result.exit_code == 0, result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    svg = tmp_path / "curve.svg"
    result = runner.invoke(cli, ["plot", RUN, "--runs-dir", str(runs[0]), "--output", str(svg), "--svg",
                                 "--x", "time"])
    assert result.exit_code == 0, result.output
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text and "ZERO" in text
    result = runner.invoke(cli, ["plot", "nope", "--runs-dir", str(runs[0])])
    assert result.exit_code == 2 and "no run 'nope'" in result.output


def test_curves_are_thinned_but_keep_the_extremes(runs) -> None:
    from adrs.curves import run_progress
    from adrs.db import reader as rd

    with rd.open_reader(rd.sqlite_url(runs[0], RUN)) as reader:
        run = rd.get_run(reader, RUN)
        full = run_progress(reader, run)
        thin = run_progress(reader, run, max_points=10, bins=5)
    assert len(full.points["seq"]) == full.valid == CHILDREN + 5
    assert len(thin.points["seq"]) <= 10 and min(thin.points["score"]) == 0.2
    assert max(thin.points["score"]) == 2.5  # the seed, the worst correct program
    assert thin.best == full.best and len(thin.status_bins["t"]) == 5
    assert [c.name for c in full.islands] == ["island 0", "island 1"]
    assert full.best.y == sorted(full.best.y, reverse=True)  # best so far never gets worse (minimize)


def test_warm_up_fills_the_cache_with_what_the_endpoint_serves(runs) -> None:
    app = App(Catalog(runs[0]))
    app.warm_up()
    assert len(app.progress_cache._items) == 1
    cached = next(iter(app.progress_cache._items.values()))
    from adrs.ui.server import Request

    served = app.handle(Request(f"/api/run/{RUN}/progress", {}, {}, {}))
    assert served.body == cached and json.loads(served.body)["run_id"] == RUN
