"""End to end in a real headless Chromium (Debian's chromium + chromedriver, driven by Selenium):
a small real campaign, then runs -> run -> lineage -> program -> diff -> compare by clicking, and
hostile programs that must not run script. Screenshots go to a temporary folder, or to
$ADRS_UI_SCREENSHOTS (used to refresh docs/img)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from adrs.cli.main import app as cli
from adrs.ui.catalog import Catalog
from adrs.ui.pages import App
from adrs.ui.server import start
from tests.browser import chromium
from tests.conftest import TOY_PROBLEM
from tests.ui_runs import build_run


@pytest.fixture(scope="module")
def site(ray_session, tmp_path_factory) -> Iterator[tuple[str, Path, dict[str, int]]]:
    runs = tmp_path_factory.mktemp("ui-e2e") / "runs"
    result = CliRunner().invoke(cli, ["run", str(TOY_PROBLEM), "--budget", "16", "--runs-dir", str(runs)])
    assert result.exit_code == 0, result.output
    hostile = build_run(runs, "toy-ui")
    server, _ = start("127.0.0.1", 0, App(Catalog(runs)))
    yield f"http://127.0.0.1:{server.port}", runs, hostile
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as driver:
        yield driver


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("ADRS_UI_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def wait_ready(driver: Any) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 30).until(lambda d: d.execute_script("return document.body.dataset.ready") == "1")


def screenshot(driver: Any, path: Path, height: int | None = None) -> None:
    full = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1360, min(height or full, 2400))
    driver.save_screenshot(str(path))
    driver.set_window_size(1360, 1000)
    assert path.stat().st_size > 5_000


def no_script_ran(driver: Any) -> None:
    from selenium.webdriver.common.by import By

    assert "pwned" not in driver.title
    assert not driver.find_elements(By.CSS_SELECTOR, "img[src='x'], svg[onload], script:not([src])")
    assert driver.execute_script("return window.__pwned === undefined")


def test_click_through_a_real_campaign(site, browser, shots) -> None:
    from selenium.webdriver.common.by import By

    base, runs, _ = site
    run_id = next(p.parent.name for p in runs.glob("toy-2*/adrs.sqlite"))
    browser.get(base + "/")
    links = {a.text: a for a in browser.find_elements(By.CSS_SELECTOR, "a.run-link")}
    assert set(links) == {run_id, "toy-ui"}
    screenshot(browser, shots / "runs.png", 420)
    links[run_id].click()
    wait_ready(browser)
    assert browser.find_element(By.TAG_NAME, "h1").text == run_id
    chart = browser.find_element(By.ID, "chart-seq")
    steps = chart.find_elements(By.CSS_SELECTOR, "path.step")
    assert len(steps) >= 2  # islands and the overall best
    assert chart.find_elements(By.CSS_SELECTOR, "circle.pt") and "ZERO" in chart.text
    assert "best, all islands" in chart.text and "candidate" in chart.text
    assert browser.find_elements(By.CSS_SELECTOR, "#chart-status rect")
    assert "No LLM calls" in browser.find_element(By.ID, "chart-llm").text  # the offline mutator
    best_row = browser.find_element(By.CSS_SELECTOR, "#best-table tbody tr")
    best_id = best_row.find_element(By.CSS_SELECTOR, "a.program-link").text.lstrip("#")
    screenshot(browser, shots / "run.png", 1240)

    browser.find_element(By.ID, "best-lineage").click()
    wait_ready(browser)
    focus = browser.find_element(By.CSS_SELECTOR, ".row.focus")
    assert focus.find_element(By.CSS_SELECTOR, "a.node-link").text == f"#{best_id}"
    nodes = browser.find_elements(By.CSS_SELECTOR, "li.node")
    assert nodes[0].find_element(By.CSS_SELECTOR, ".meta").text.startswith("cand 0")  # the seed on top
    more = browser.find_elements(By.CSS_SELECTOR, "li.more button")
    if more:  # the other children load on demand
        more[0].click()
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(browser, 10).until(
            lambda d: len(d.find_elements(By.CSS_SELECTOR, "li.node")) > len(nodes))
    screenshot(browser, shots / "lineage.png", 700)

    browser.find_element(By.CSS_SELECTOR, ".row.focus a.node-link").click()
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith(f"Program #{best_id}")
    assert "def guess" in browser.find_element(By.ID, "code").text
    assert browser.find_elements(By.CSS_SELECTOR, "#code .hl span.k")  # highlighted keywords
    assert "Diff against its parent" in browser.page_source
    screenshot(browser, shots / "program.png", 1100)

    browser.find_element(By.CSS_SELECTOR, "a.small-link").click()
    assert browser.find_element(By.TAG_NAME, "h1").text.endswith(f"→ #{best_id}")
    changed = browser.find_elements(By.CSS_SELECTOR, "table.diff tr.add, table.diff tr.del")
    assert changed and all(row.text for row in changed)
    screenshot(browser, shots / "diff.png", 600)

    browser.get(base + "/")
    browser.find_element(By.CSS_SELECTOR, "form.compare button").click()
    wait_ready(browser)
    assert len(browser.find_elements(By.CSS_SELECTOR, "#chart-seq path.step")) == 2


def test_hostile_programs_run_no_script(site, browser, shots) -> None:
    from selenium.webdriver.common.by import By

    base, _, ids = site
    browser.get(f"{base}/run/toy-ui/program/{ids['hostile']}")
    no_script_ran(browser)
    assert "<script>document.title='pwned-script'</script>" in browser.find_element(By.ID, "feedback").text
    assert "javascript:alert(1)" in browser.find_element(By.ID, "feedback").text
    browser.get(f"{base}/run/toy-ui/program/{ids['crossover']}")
    assert "Diff against its second parent" in browser.page_source
    no_script_ran(browser)
    browser.get(f"{base}/run/toy-ui/diff?a={ids['seed']}&b={ids['hostile']}")
    assert "+<b>not a diff line</b>" in browser.find_element(By.ID, "diff").text
    no_script_ran(browser)
    browser.get(f"{base}/run/toy-ui/lineage?program={ids['crossover']}")
    wait_ready(browser)
    mate = browser.find_element(By.CSS_SELECTOR, ".row.focus a.mate-link")  # the second parent
    assert mate.text == f"× #{ids['mate']}" and mate.get_attribute("href").endswith(f"/program/{ids['mate']}")
    note = browser.find_elements(By.CSS_SELECTOR, "li.node .note")
    assert any("javascript:document.title" in n.get_attribute("title") for n in note)
    no_script_ran(browser)
    browser.get(f"{base}/run/toy-ui")
    wait_ready(browser)
    assert browser.find_elements(By.CSS_SELECTOR, "#chart-llm svg")  # calls, tokens and dollars
    no_script_ran(browser)
    browser.get(f"{base}/run/toy-ui/lineage")  # whole run: the seed's first 50 of 123 children
    wait_ready(browser)
    assert len(browser.find_elements(By.CSS_SELECTOR, "li.node")) == 51
    browser.find_element(By.CSS_SELECTOR, "li.more button").click()
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 10).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "li.node")) == 101)
    logs = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not logs, logs  # no script error, no blocked resource


def test_run_page_follows_a_running_campaign(site, browser) -> None:
    """The run page of a running campaign redraws its curves and refreshes its facts and tables."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    from sqlalchemy.orm import Session

    from adrs.db import store
    from adrs.db.models import Program

    base, runs, _ = site
    ids = build_run(runs, "toy-live", status="running")
    browser.get(f"{base}/run/toy-live")
    wait_ready(browser)
    assert browser.find_element(By.CSS_SELECTOR, ".live").text == "live"
    before = int(browser.find_element(By.ID, "fact-candidates").text)
    steps = len(browser.find_elements(By.CSS_SELECTOR, "#chart-seq path.step"))
    engine = store.open_engine(store.sqlite_url(runs, "toy-live"))
    with Session(engine) as session:  # the campaign stores a new best program
        row = Program(run_id="toy-live", seq=9_999, parent_id=ids["grandchild"], island=1, code="x = 1\n",
                      status="ok", score=0.001, kind="diff")
        session.add(row)
        session.commit()
        new_id = row.id
    engine.dispose()
    WebDriverWait(browser, 20).until(
        lambda d: d.find_element(By.ID, "fact-candidates").text == str(before + 1))
    assert browser.find_element(By.CSS_SELECTOR, "#best-table a.program-link").text == f"#{new_id}"
    assert len(browser.find_elements(By.CSS_SELECTOR, "#chart-seq path.step")) == steps
    assert "0.001" in browser.find_element(By.ID, "fact-best").text

