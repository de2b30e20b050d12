"""The real app in a real browser: `streamlit run` on a free localhost port, Debian's chromium via Playwright.

Visits every page (the demo runs to 15 Nov 2026, so its default as-of date is the middle of a month), checks
that no Streamlit exception box is shown, that charts rendered, and that what the browser shows passes the
hygiene check (visible text and every figure as plotly.js holds it); types an as-of date and applies it with
Enter, Tab and a click elsewhere; clicks a cohort heatmap cell and checks the drill-down follows; opens a real
orders-only export; and saves a screenshot per page to tests/artifacts/ (and to docs/screenshots/ when
UPDATE_SCREENSHOTS=1, for the README).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import date, datetime
from pathlib import Path

import pytest

from dashboard import demo, hygiene
from dashboard.sources import CONTRACT
from tests.exports import write_cdnow_orders

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


DEMO_AS_OF = date(2026, 11, 15)
COLUMN_NAMES = frozenset(column for spec in CONTRACT.values() for column in spec.columns)


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """Start `streamlit run streamlit_app.py` on demo exports; stop it afterwards."""
    data_dir = tmp_path_factory.mktemp("browser") / "demo"
    # The README's screenshots show 5,000 customers; the checks hold at any size, and a smaller demo keeps the
    # server's model builds (the default date's, then the typed dates') short enough for CI's two cores.
    demo.generate(data_dir, customers=5_000 if os.environ.get("UPDATE_SCREENSHOTS") == "1" else 2_000, seed=5)
    yield from serve(data_dir, tmp_path_factory)


@pytest.fixture(scope="module")
def orders_only_url(tmp_path_factory):
    """The app on a real orders-only export (the CDNOW sample: order id, customer, date, amount)."""
    data_dir = tmp_path_factory.mktemp("browser") / "cdnow"
    write_cdnow_orders(data_dir)
    yield from serve(data_dir, tmp_path_factory)


def serve(data_dir, tmp_path_factory):
    port = free_port()
    environment = {**os.environ, "DASHBOARD_DATA_DIR": str(data_dir),
                   "DASHBOARD_STATE_DIR": str(tmp_path_factory.mktemp("state")), "DASHBOARD_BACKGROUND_BUILD": "true",
                   "STREAMLIT_SERVER_PORT": str(port), "STREAMLIT_SERVER_HEADLESS": "true",
                   "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", "STREAMLIT_SERVER_ADDRESS": "127.0.0.1"}
    # The server's output goes to a file: a pipe nobody reads fills up (64 KB of log lines) and then blocks the
    # server in the middle of a page, which the browser sees as a page that never loads.
    log = tmp_path_factory.mktemp("server-log") / "streamlit.log"
    output = open(log, "wb")
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py")],
                              cwd=ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT)
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
        output.close()
        pytest.fail(f"streamlit did not start: {log.read_text(errors='replace')[-2000:]}")
    yield url
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
    output.close()


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


def save_screenshot(page, name: str, max_height: int = 4_000) -> None:
    """The whole page: Streamlit scrolls inside its main area, so the window is made as tall as the content
    (up to max_height) for the shot, then set back."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    viewport = page.viewport_size
    height = page.evaluate("""() => {
        const block = document.querySelector("[data-testid='stMainBlockContainer']");
        return block ? Math.ceil(block.getBoundingClientRect().top + block.scrollHeight) + 40 : 0;
    }""")
    if height > viewport["height"]:
        page.set_viewport_size({"width": viewport["width"], "height": min(height, max_height)})
        page.wait_for_timeout(800)  # charts re-lay out to the taller window
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(viewport)
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
    if name == "overview":  # the churn cards fill in last
        page.wait_for_function("() => !document.body.innerText.includes('Scoring every customer')", timeout=180_000)
        wait_until_idle(page)
    assert browser_problems(page, DEMO_AS_OF, COLUMN_NAMES if name == "data" else frozenset()) == []
    save_screenshot(page, name)
    page.close()


FIGURES_JS = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(plot => JSON.parse(JSON.stringify(
    {data: plot.data, layout: plot.layout},
    (key, value) => ArrayBuffer.isView(value) ? Array.from(value) : value)))"""


def browser_problems(page, as_of: date, allowed=frozenset()) -> list[str]:
    """What the browser shows that reads badly: the page's and the sidebar's visible text (code spans left out:
    file and column names are written as code) and every figure as plotly.js draws it."""
    text = page.evaluate("""() => {
        const parts = [];
        for (const root of document.querySelectorAll("[data-testid='stMain'], [data-testid='stSidebar']")) {
            const copy = root.cloneNode(true);
            copy.querySelectorAll('code, script, style, .js-plotly-plot').forEach(node => node.remove());
            parts.push(copy.innerText);
        }
        return parts.join(String.fromCharCode(10));
    }""")
    problems = []
    for line in text.splitlines():
        problems += hygiene.text_problems(line, "page text", allowed)
    for index, spec in enumerate(page.evaluate(FIGURES_JS)):
        problems += hygiene.figure_problems(spec, as_of=as_of, where=f"chart {index}")
    return problems


def field_text(page, key: str) -> str:
    return page.locator(f".st-key-{key} [data-testid='stDateInputField']").first.inner_text().replace("\n", "")


def type_date(page, key: str, year: str, month: str, day: str) -> None:
    """Type a date into a date field the way a person does: click the year, type the digits. First wait for the
    page's date_commit.js to be installed (its st.html element mounts after the run; on a loaded machine the page
    can be idle before it has, and Tab then went to the field's calendar button as in plain Streamlit)."""
    page.wait_for_function("() => document.documentElement.dataset.dateCommit === '1'", timeout=60_000)
    page.locator(f".st-key-{key} [data-type='year']").first.click()
    page.keyboard.type(year)
    page.keyboard.type(month)
    page.keyboard.type(day)


@pytest.mark.parametrize("how", ["Enter", "Tab", "blur"])
def test_a_typed_as_of_date_applies_on_enter_tab_and_blur(app_url, browser, how):
    """Streamlit 1.67's date field left a typed date pending on Enter and Tab, and the next click was spent
    applying it (date_commit.js); the date also applies when the field loses focus to a click."""
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.goto(app_url)
    wait_until_idle(page)
    assert "Sunday 15 Nov 2026" in page.locator("[data-testid='stMain']").inner_text()
    type_date(page, "as_of", "2026", "10", "16")
    assert field_text(page, "as_of") == "2026-10-16"
    if how == "blur":
        page.locator("h1").first.click()
    else:
        page.keyboard.press(how)
    # The server builds the model of the typed date first (longer while its background build of the default date
    # still runs on a loaded machine).
    page.wait_for_function("() => document.body.innerText.includes('Friday 16 Oct 2026')", timeout=180_000)
    wait_until_idle(page)
    assert "as_of=2026-10-16" in page.url
    if how == "Tab":  # the focus went on to the next control, not to the field's own calendar button
        assert page.evaluate("document.activeElement.closest('.st-key-as_of') === null")
    # The next click is not spent applying the date: it opens the page it points to, as of the typed date.
    page.get_by_role("link", name="Cohorts").first.click()
    page.wait_for_selector("h1:has-text('Cohorts')", timeout=60_000)
    wait_until_idle(page)
    assert "as_of=2026-10-16" in page.url
    assert page.locator("[data-testid='stException']").count() == 0
    page.close()


def test_orders_only_export_reads_cleanly_in_a_real_browser(orders_only_url, browser):
    """A real orders-only export: nothing shown as 0 that was not exported, no 'unknown' filters, stale data said."""
    for path in ("", "care", "repeat"):
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        page.goto(f"{orders_only_url}/{path}")
        wait_until_idle(page)
        if path == "":
            page.wait_for_function("() => !document.body.innerText.includes('Scoring every customer')",
                                   timeout=180_000)
            wait_until_idle(page)
        text = page.locator("[data-testid='stMain']").inner_text()
        sidebar = page.locator("[data-testid='stSidebar']").inner_text()
        assert browser_problems(page, date(1998, 6, 30)) == []
        age = f"{(date.today() - date(1998, 6, 30)).days:,} days ago"  # the export's last order, as of today
        assert "Not in these exports, so no filter" in sidebar and age in sidebar, sidebar
        if path == "care":
            # The cards' values can paint after the captions under them (seen once on a loaded machine).
            page.wait_for_function(
                "() => document.querySelectorAll(\"[data-testid='stMetricValue']\").length >= 3", timeout=60_000)
            cards = page.locator("[data-testid='stMetricValue']")
            assert cards.all_inner_texts() == ["Not exported"] * 3, text
            assert "0.0%" not in text
        if path == "":
            assert "Nothing moved apart from the total" in text
        save_screenshot(page, f"orders-only-{path or 'overview'}")
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
    # The clicked cohort (customdata "2024-01-...") is named as people read it: "the Jan 2024 cohort".
    cohort_name = datetime.strptime(cell["cohort"][:7], "%Y-%m").strftime("%b %Y")
    assert f"the {cohort_name} cohort" in after and "month 2" in after
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
