"""The "Why customers leave" page (AppTest): on the demo it names what cost the most and the rising theme, reads
cleanly (dashboard.hygiene on its text, tables and figures), and on exports that lack tickets, surveys, comments or
ticket texts it says what is missing instead of showing nothing or failing."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import demo, hygiene
from tests.exports import server_state

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """The demo; its orders alone; its orders with surveys that have no comment column and tickets without texts."""
    root = tmp_path_factory.mktemp("reasons_page")
    demo.generate(root / "demo", customers=3_000, seed=7)
    orders_only = root / "orders_only"
    shutil.copytree(root / "demo" / "orders", orders_only / "orders")
    without_text = root / "without_text"
    shutil.copytree(root / "demo" / "orders", without_text / "orders")
    pq.write_table(pq.read_table(root / "demo" / "surveys.parquet").drop_columns(["comment"]),
                   without_text / "surveys.parquet")
    pq.write_table(pq.read_table(root / "demo" / "tickets.parquet").drop_columns(["subject", "body"]),
                   without_text / "tickets.parquet")
    return {"demo": root / "demo", "orders_only": orders_only, "without_text": without_text}


def run_page(monkeypatch, tmp_path, data_dir: Path, query_params: dict | None = None) -> AppTest:
    monkeypatch.setenv("DASHBOARD_DATA_DIR", str(data_dir))
    monkeypatch.setenv("DASHBOARD_STATE_DIR", str(server_state(data_dir)))
    monkeypatch.setenv("DASHBOARD_SETTINGS", str(tmp_path / "no-settings.toml"))
    at = AppTest.from_file(APP, default_timeout=240)
    at.switch_page("dashboard/pages/reasons.py")
    for key, value in (query_params or {}).items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [item.value for item in at.exception]
    assert [title.value for title in at.title] == ["Why customers leave"]
    return at


def texts(at: AppTest) -> list[str]:
    return [item.value for kind in (at.markdown, at.caption, at.info, at.warning, at.error, at.header, at.subheader)
            for item in kind]


def assert_reads_cleanly(at: AppTest, as_of: date) -> None:
    problems = []
    for text in texts(at):
        if text.startswith("###") or "Data version" in text:
            continue
        problems += hygiene.text_problems(text, "page text")
    for frame in at.dataframe:
        problems += hygiene.frame_problems(frame.value, "table", placeholder="–")
    for chart in at.get("plotly_chart"):
        problems += hygiene.figure_problems(json.loads(chart.proto.spec), as_of=as_of, where="chart")
    assert problems == []


def test_demo_names_what_cost_the_most_and_the_rising_theme(exports, monkeypatch, tmp_path):
    at = run_page(monkeypatch, tmp_path, exports["demo"], {"range": ["2023-11-16", "2026-11-15"]})
    assert not at.error, [item.value for item in at.error]
    shown = "\n".join(texts(at))
    assert "**Delivery delay** cost the most" in shown
    assert any(item.value.startswith("**Rising: app") for item in at.warning), [w.value for w in at.warning]
    worst_theme = [text for text in texts(at) if text.startswith("Customers who wrote about **")]
    assert worst_theme and "late" in worst_theme[0], worst_theme
    assert len(at.get("plotly_chart")) >= 4
    assert_reads_cleanly(at, date(2026, 11, 15))


@pytest.mark.parametrize("by,label", [("category_outcome", "Category and how it ended"),
                                      ("return_reason", "Return reason")])
def test_demo_other_groupings_and_texts(exports, monkeypatch, tmp_path, by, label):
    """URL parameters carry the labels people read (Streamlit binds a widget's shown option)."""
    at = run_page(monkeypatch, tmp_path, exports["demo"], {"why_by": label, "why_texts": "Ticket texts",
                                                            "why_per": "Acquisition channel", "why_score": "CSAT"})
    assert not at.error, [item.value for item in at.error]
    assert at.segmented_control(key="why_by").value == by
    assert_reads_cleanly(at, date(2026, 11, 15))


def test_mid_month_as_of_judges_only_old_enough_orders(exports, monkeypatch, tmp_path):
    at = run_page(monkeypatch, tmp_path, exports["demo"], {"as_of": "2026-06-17", "grain": "quarter"})
    assert not at.error, [item.value for item in at.error]
    captions = [item.value for item in at.caption]
    judged = [text for text in captions if text.startswith("Orders placed ")]
    assert judged and "19 Mar 2026 (orders of the last 90 days are too recent to judge)" in judged[0], judged
    assert_reads_cleanly(at, date(2026, 6, 17))


def test_orders_only_export_says_what_is_missing(exports, monkeypatch, tmp_path):
    at = run_page(monkeypatch, tmp_path, exports["orders_only"])
    infos = [item.value for item in at.info]
    assert any(text.startswith("No tickets and no returns were exported") for text in infos), infos
    assert any(text.startswith("No surveys were exported, and no tickets were exported, so there is no text")
               for text in infos), infos
    assert any(text.startswith("No surveys were exported, so there is no satisfaction") for text in infos), infos
    assert not at.get("plotly_chart")
    # only the sidebar's controls (period, compare trends with): none of the page's switches to nothing
    assert [control.key for control in at.segmented_control if control.key.startswith("why_")] == []
    assert [control.key for control in at.sidebar.segmented_control] == [control.key for control in at.segmented_control]


def test_returns_without_tickets_say_which_is_missing(exports, monkeypatch, tmp_path):
    data_dir = tmp_path / "orders_and_returns"
    shutil.copytree(exports["orders_only"], data_dir)
    shutil.copy(exports["demo"] / "returns.parquet", data_dir / "returns.parquet")
    at = run_page(monkeypatch, tmp_path, data_dir)
    assert any(item.value.startswith("No tickets were exported") for item in at.info)
    at = run_page(monkeypatch, tmp_path, data_dir, {"why_by": "Return reason"})
    assert not at.error, [item.value for item in at.error]
    assert any("cost the most" in item.value for item in at.markdown)


def test_surveys_without_comments_say_so_and_still_show_satisfaction(exports, monkeypatch, tmp_path):
    at = run_page(monkeypatch, tmp_path, exports["without_text"])
    infos = [item.value for item in at.info]
    assert any(text.startswith("The surveys export has no comment column, and the tickets carry no subject or body")
               for text in infos), infos
    titles = [json.loads(chart.proto.spec)["layout"]["title"]["text"] for chart in at.get("plotly_chart")]
    assert "NPS per month and touchpoint" in titles and any(title.startswith("90-day repurchase after a ticket")
                                                            for title in titles), titles
    assert_reads_cleanly(at, date(2026, 11, 15))
