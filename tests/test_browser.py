"""The real app in a real browser: `streamlit run` on a free localhost port, Debian's chromium via Playwright.

Visits every page, checks that no Streamlit exception box is shown and that charts rendered, clicks a
cohort heatmap cell and checks the drill-down follows, and saves a screenshot per page to
tests/artifacts/ (and to docs/screenshots/ when UPDATE_SCREENSHOTS=1, for the README).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from dashboard import demo

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "tests" / "artifacts"
PAGES = {
    "overview": "",
    "repeat": "repeat",
    "cohorts": "cohorts",
    "churn": "churn",
    "satisfaction": "satisfaction",
    "care": "care",
    "reasons": "reasons",
    "data": "data",
}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed (apt-get install chromium)"),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """Start `streamlit run streamlit_app.py` on demo exports; stop it afterwards."""
    data_dir = tmp_path_factory.mktemp("browser") / "demo"
    demo.generate(data_dir, customers=5_000, seed=5)
    port = free_port()
    environment = {**os.environ, "DASHBOARD_DATA_DIR": str(data_dir),
                   "DASHBOARD_STATE_DIR": str(tmp_path_factory.mktemp("state")),
                   "STREAMLIT_SERVER_PORT": str(port), "STREAMLIT_SERVER_HEADLESS": "true",
                   "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", "STREAMLIT_SERVER_ADDRESS": "127.0.0.1"}
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py")],
                              cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                break
        except OSError:
            time.sleep(0.5)
    else:
        server.kill()
        pytest.fail(f"streamlit did not start: {server.stdout.read().decode()[-2000:]}")
    yield url
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"],
        )
        yield instance
        instance.close()


def wait_until_idle(page, timeout_ms: int = 180_000) -> None:
    """Wait for the app to load and finish running its script."""
    page.wait_for_selector("[data-testid='stApp']", timeout=timeout_ms)
    try:
        page.wait_for_selector("[data-test-script-state='running']", timeout=1_500)
    except Exception:  # the run may already be over
        pass
    page.wait_for_selector("[data-test-script-state='notRunning']", timeout=timeout_ms)
    page.wait_for_selector("h1", timeout=timeout_ms)
    page.wait_for_timeout(500)


def save_screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        target = ROOT / "docs" / "screenshots"
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target / f"{name}.png")


MAX_BYTES_TO_BROWSER = 2_000_000


@pytest.mark.parametrize("name", list(PAGES))
def test_page_renders_in_a_real_browser(app_url, browser, name):
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    received = []

    def count_frames(websocket):
        websocket.on("framereceived", lambda payload: received.append(len(payload)))

    page.on("websocket", count_frames)
    page.goto(f"{app_url}/{PAGES[name]}")
    wait_until_idle(page)
    # The browser gets what a person can read: aggregated charts and one page of rows, not the data.
    assert 0 < sum(received) < MAX_BYTES_TO_BROWSER, f"{name} sent {sum(received):,} bytes over the websocket"
    assert page.locator("[data-testid='stException']").count() == 0, page.locator("[data-testid='stException']").first.inner_text()
    if name != "data":
        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=180_000)
        assert page.locator(".js-plotly-plot").count() >= 1
        titles = [text.strip() for text in page.locator(".js-plotly-plot .gtitle").all_text_contents()]
        assert titles and all(titles), titles
    else:
        assert page.get_by_text("Findings").count() >= 1
    save_screenshot(page, name)
    page.close()


def test_clicking_a_cohort_cell_lists_that_cohorts_customers(app_url, browser):
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.goto(f"{app_url}/cohorts?range=2024-01-01&range=2026-11-15")
    wait_until_idle(page)
    heatmap = page.locator(".js-plotly-plot").first
    heatmap.wait_for(timeout=180_000)
    # Plotly draws asynchronously: the chart's element exists before its traces do (CI once read it in between).
    page.wait_for_function(
        """() => {
            const plot = document.querySelector('.js-plotly-plot');
            return Boolean(plot && plot._fullData && plot._fullLayout && plot._fullLayout.xaxis
                           && plot._fullData.some(t => t.type === 'scatter' && t.name === 'cells'));
        }""",
        timeout=60_000,
    )
    before = page.get_by_text("customers of the").first.inner_text()
    # The invisible markers over the cells: click the cell of the third cohort, period 2.
    cell = page.evaluate(
        """() => {
            const plot = document.querySelector('.js-plotly-plot');
            const data = plot._fullData.find(t => t.type === 'scatter' && t.name === 'cells');
            const index = data.customdata.findIndex(c => c[1] === 2);
            const xa = plot._fullLayout.xaxis, ya = plot._fullLayout.yaxis;
            const box = plot.getBoundingClientRect();
            return {cohort: data.customdata[index][0],
                    x: box.left + xa._offset + xa.l2p(xa.d2l(data.x[index])),
                    y: box.top + ya._offset + ya.l2p(ya.d2l(data.y[index]))};
        }"""
    )
    page.mouse.click(cell["x"], cell["y"])
    page.wait_for_timeout(1000)
    wait_until_idle(page)
    after = page.get_by_text("customers of the").first.inner_text()
    assert after != before
    assert cell["cohort"][:7] in after and "month 2" in after
    assert page.locator("[data-testid='stException']").count() == 0
    save_screenshot(page, "cohorts-drilldown")
    page.close()


def test_weekly_report_prints_to_pdf_and_html_opens_offline(tmp_path):
    """The weekly review as PDF (printed by Debian's chromium) and as HTML with Plotly inlined."""
    from dashboard import cli

    data_dir = tmp_path / "demo"
    demo.generate(data_dir, customers=1_500, seed=9)
    pdf = tmp_path / "out" / "weekly.pdf"
    html = tmp_path / "out" / "weekly.html"
    assert cli.main(["report", "--data", str(data_dir), "--format", "pdf", "--out", str(pdf)]) == 0
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 20_000
    assert cli.main(["report", "--data", str(data_dir), "--format", "html", "--out", str(html)]) == 0
    text = html.read_text(encoding="utf-8")
    assert "Weekly review: week ending" in text and "What changed this week" in text
    assert "<script src=\"http" not in text and "plotly" in text.lower()  # no CDN: opens offline
