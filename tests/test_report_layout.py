"""The weekly review (HTML and PDF) says what is true and prints well: no Plotly toolbar, cards and tables kept on
one page, no half-empty page, a warning when the data is stale, not-exported tables named, and the month in
progress marked in its charts as in the app."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from dashboard import demo, hygiene, report
from dashboard.model import Database
from dashboard.settings import load_settings
from tests.exports import write_cdnow_orders

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def databases(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    demo.generate(root / "demo", customers=1_500, seed=9)
    fresh_end = datetime.utcnow().date() - timedelta(days=1)
    demo.generate(root / "fresh", customers=800, seed=4, end_date=fresh_end)
    write_cdnow_orders(root / "cdnow")

    def open_(name):
        return Database.open(load_settings(environ={}, data_dir=root / name, state_dir=root / f"state-{name}"))

    return {name: open_(name) for name in ("demo", "fresh", "cdnow")}


def test_the_html_has_no_toolbar_and_keeps_blocks_together(databases):
    page = report.weekly_report_html(databases["demo"], date(2026, 10, 16))
    configs = re.findall(r'\{"displaylogo":\s*false[^}]*\}', page)
    assert len(configs) == 4 and all('"displayModeBar": false' in config for config in configs), configs
    assert ".modebar-container{display:none!important}" in page
    assert ".cards{display:flex;gap:16px;flex-wrap:nowrap;break-inside:avoid}" in page
    assert "table{border-collapse:collapse;width:100%;margin-top:12px;break-inside:avoid}" in page
    assert ".chart{break-inside:avoid" in page and ".trends{break-before:page}" in page
    # One row of cards kept together: a card per lifecycle state (issue 14's "Where customers are").
    from dashboard import lifecycle

    assert page.count("<div class='card'>") == len(lifecycle.STATES) == 5 and page.count("<div class='cards'>") == 1


def test_the_report_says_when_the_data_is_stale(databases):
    stale = report.weekly_report_html(databases["cdnow"], date(1998, 6, 30))
    days = (datetime.utcnow().date() - date(1998, 6, 30)).days
    assert (f"Stale data: the latest order in these exports is from 30 Jun 1998, {days:,} days before this review "
            "was generated") in stale
    fresh = databases["fresh"]
    assert "Stale data" not in report.weekly_report_html(fresh, fresh.default_as_of())
    earlier = report.weekly_report_html(fresh, fresh.default_as_of() - timedelta(days=10))
    assert "This review is as of" in earlier and "Stale data" not in earlier


def test_orders_only_report_names_what_was_not_exported(databases):
    page = report.weekly_report_html(databases["cdnow"], date(1998, 6, 30))
    assert page.count("Not exported: add <code>surveys</code> to the data folder") == 2  # the NPS and CSAT rows
    assert "No surveys exported" in page
    assert "unknown" not in page.split("<h2>What changed this week</h2>")[1].split("<h2>")[0]
    assert "Nothing moved apart from the total" in page


def test_the_report_marks_the_month_in_progress_like_the_app(databases):
    as_of = date(2026, 10, 16)
    data = report.weekly_review_data(databases["demo"], as_of)
    charts = report.report_figures(data, as_of)
    assert len(charts) == 4
    for fig in charts:
        assert hygiene.figure_problems(fig, as_of=as_of) == []
    nps = charts[2]
    assert any("in progress" in (trace.name or "") and "2026-10-01" in str(list(trace.x)) for trace in nps.data)
    page = report.weekly_report_html(databases["demo"], as_of)
    assert "a month still in progress at 16 Oct 2026 is marked" in page
    text = re.sub(r"<(script|style).*?</\1>", "", page, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", text)
    assert hygiene.text_problems(text) == []


def pdf_pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf))


def ink_profile(png: Path) -> list[float]:
    """Share of non-white pixels in each tenth of the page, top to bottom."""
    from PIL import Image

    image = Image.open(png).convert("L")
    width, height = image.size
    pixels = image.load()
    tenths = []
    for tenth in range(10):
        rows = range(tenth * height // 10, (tenth + 1) * height // 10)
        dark = sum(1 for y in rows for x in range(0, width, 2) if pixels[x, y] < 235)
        tenths.append(dark / (len(rows) * (width // 2)))
    return tenths


@pytest.mark.browser
def test_the_pdf_has_three_full_pages_and_no_half_empty_one(databases, tmp_path):
    """Cover (KPIs, what changed, churn cards), then two charts a page: every page is filled to its last tenth
    but the last, which is filled past its middle (it used to be half empty)."""
    # The browser suite runs where .ci/run installed both: a missing one is a failure, not a skip.
    assert CHROMIUM.exists() and shutil.which("pdftoppm"), "needs Debian's chromium and poppler-utils"
    pdf = report.weekly_report_pdf(databases["demo"], date(2026, 10, 16))
    assert pdf.startswith(b"%PDF") and pdf_pages(pdf) == 3
    (tmp_path / "review.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(tmp_path / "review.pdf"), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) == 3
    profiles = [ink_profile(page) for page in pages]
    for number, profile in enumerate(profiles, start=1):
        filled = max(index for index, share in enumerate(profile) if share > 0.002) + 1
        assert filled >= (6 if number == len(profiles) else 8), (number, [round(share, 3) for share in profile])
    only_orders = report.weekly_report_pdf(databases["cdnow"], date(1998, 6, 30))
    assert pdf_pages(only_orders) == 2  # cover, then the weekly trend and the cohort heatmap on one page
