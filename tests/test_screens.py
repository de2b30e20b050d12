"""Every number on screen is honest and readable (issue #13), on the demo with the as-of date in the middle of a
month and on a real orders-only export (the CDNOW sample: order id, customer, date and amount, nothing else).

The real app script runs headless (AppTest). One test reads every page's visible text, tables and figure JSON and
fails on snake_case data values, "None", "nan", "1 days", "unknown" shown as a value, and on a period not over
at the as-of date drawn without its mark; the others check one point of the issue each.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import demo, formatting, hygiene, insights
from dashboard.sources import CONTRACT
from tests.exports import server_state, write_cdnow_orders

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")
PAGES = ("overview", "repeat", "cohorts", "satisfaction", "churn", "care", "reasons", "data")
MID_MONTH = date(2026, 10, 16)  # the demo runs to 15 Nov 2026; October is half over
CDNOW_LATEST = date(1998, 6, 30)
# On the Data page column names are the subject (the column mapping, findings naming a column).
COLUMN_NAMES = frozenset(column for spec in CONTRACT.values() for column in spec.columns)


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """The demo (2,000 customers, every table) and a real orders-only export (CDNOW)."""
    root = tmp_path_factory.mktemp("screens")
    demo.generate(root / "demo", customers=2_000, seed=11)
    write_cdnow_orders(root / "cdnow")
    return {"demo": root / "demo", "cdnow": root / "cdnow"}


def run_page(monkeypatch, tmp_path, data_dir: Path, page: str, query_params: dict | None = None) -> AppTest:
    monkeypatch.setenv("DASHBOARD_DATA_DIR", str(data_dir))
    monkeypatch.setenv("DASHBOARD_STATE_DIR", str(server_state(data_dir)))
    monkeypatch.setenv("DASHBOARD_SETTINGS", str(tmp_path / "no-settings.toml"))
    at = AppTest.from_file(APP, default_timeout=240)
    if page != "overview":
        at.switch_page(f"dashboard/pages/{page}.py")
    for key, value in (query_params or {}).items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [item.value for item in at.exception]
    return at


def visible_texts(at: AppTest) -> list[tuple[str, str]]:
    """Every text element, metric and widget label/option a person reads (sidebar included)."""
    texts = []
    for kind in ("title", "header", "subheader", "caption", "markdown", "info", "warning", "error", "success"):
        texts += [(kind, str(element.value)) for element in getattr(at, kind)]
    for metric in at.metric:
        texts += [("metric", f"{metric.label}: {metric.value} {metric.delta or ''}")]
    for kind in ("multiselect", "selectbox", "segmented_control", "date_input", "number_input", "text_input",
                 "slider"):
        for widget in getattr(at, kind):
            texts.append((kind, widget.label))
            texts += [(f"{kind} option", str(option)) for option in getattr(widget, "options", []) or []]
    return texts


def charts(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def title(spec: dict) -> str:
    return ((spec.get("layout") or {}).get("title") or {}).get("text") or ""


def marked_dates(spec: dict) -> set[str]:
    """Dates drawn as in progress (the open markers and hatched bars; not the dashed bridge from the last final point)."""
    return {str(x)[:10] for trace in spec["data"] if "in progress" in (trace.get("name") or "").lower()
            and trace.get("hoverinfo") != "skip" for x in trace.get("x") or []}


def page_problems(at: AppTest, as_of: date, allowed=frozenset()) -> list[str]:
    problems = []
    for kind, text in visible_texts(at):
        problems += hygiene.text_problems(text, kind, allowed)
    for index, spec in enumerate(charts(at)):
        problems += hygiene.figure_problems(spec, as_of=as_of, where=f"chart {index}")
    for frame in at.dataframe:
        problems += hygiene.frame_problems(frame.value, "table", placeholder=frame.proto.placeholder, allowed=allowed)
    return problems


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("dataset, as_of", [("demo", MID_MONTH), ("cdnow", CDNOW_LATEST)])
def test_every_page_reads_cleanly(exports, monkeypatch, tmp_path, page, dataset, as_of):
    params = {"as_of": as_of.isoformat()} if dataset == "demo" else {}
    at = run_page(monkeypatch, tmp_path, exports[dataset], page, params)
    allowed = COLUMN_NAMES if page == "data" else frozenset()
    assert page_problems(at, as_of, allowed) == []
    if page != "data" and not (dataset == "cdnow" and page in ("satisfaction", "care", "reasons")):
        assert charts(at), "the page draws its charts"  # (orders only: no survey, ticket or return to chart)


def test_the_hygiene_test_fails_on_what_the_issue_saw(exports, monkeypatch, tmp_path):
    """The page check is not vacuous: the old displays it replaced fail it."""
    assert hygiene.text_problems("Orders from customers acquired via organic_search rose 22%")
    assert hygiene.text_problems("Latest order: 14 Nov 2026 (1 days ago)")
    assert hygiene.frame_problems(pd.DataFrame({"repeat_customers": [14791], "comment": [None]}))
    at = run_page(monkeypatch, tmp_path, exports["demo"], "repeat", {"as_of": MID_MONTH.isoformat()})
    spec = next(spec for spec in charts(at) if "new and returning" in title(spec).lower())
    for trace in spec["data"]:  # the month in progress drawn like the others
        trace["name"] = trace.get("name", "").replace("(in progress)", "").replace("in progress", "")
        trace["hovertemplate"] = str(trace.get("hovertemplate", "")).replace("in progress", "")
    assert any("2026-10-01" in problem for problem in hygiene.figure_problems(spec, as_of=MID_MONTH))


# Unfinished periods and windows


def test_repeat_page_marks_october_and_cards_the_last_full_month(exports, monkeypatch, tmp_path):
    at = run_page(monkeypatch, tmp_path, exports["demo"], "repeat", {"as_of": MID_MONTH.isoformat()})
    card = next(index for index, metric in enumerate(at.metric) if metric.label == "Returning-customer rate")
    assert "Sep 2026, the last full month" in [caption.value for caption in at.caption]
    trend = next(spec for spec in charts(at) if "new and returning" in title(spec).lower())
    assert marked_dates(trend) == {"2026-10-01"}
    second = next(spec for spec in charts(at) if "second order within 90 days" in title(spec).lower())
    assert second["layout"]["meta"]["periods"]["window_days"] == 90
    marked = marked_dates(second)
    # As of 16 Oct a cohort's 90 days are over once its last day is 90 days back: July (31 Jul + 90 = 29 Oct) is not.
    assert "2026-07-01" in marked and "2026-06-01" not in marked
    assert card is not None


def test_cohort_defaults_pick_complete_periods(exports, monkeypatch, tmp_path):
    at = run_page(monkeypatch, tmp_path, exports["demo"], "cohorts", {"as_of": MID_MONTH.isoformat()})
    # The drill-down starts on August: September's month 1 is October, still in progress; August's is September.
    assert at.selectbox(key="cohort").value == "2026-08"
    assert at.number_input(key="period").value == 1
    sentence = next(markdown.value for markdown in at.markdown if "cohort" in markdown.value)
    assert "Aug 2026 cohort" in sentence and "still in progress" not in sentence
    # The compared cohorts have three full months behind them: May and June (July's month 3 is October).
    assert at.multiselect(key="curves").value == ["2026-05", "2026-06"]


def test_satisfaction_marks_the_month_in_progress(exports, monkeypatch, tmp_path):
    at = run_page(monkeypatch, tmp_path, exports["demo"], "satisfaction", {"as_of": MID_MONTH.isoformat()})
    rate = next(spec for spec in charts(at) if "response rate" in title(spec).lower())
    assert marked_dates(rate) == {"2026-10-01"}


# Missing optional exports


def test_orders_only_names_what_was_not_exported(exports, monkeypatch, tmp_path):
    care = run_page(monkeypatch, tmp_path, exports["cdnow"], "care")
    values = {metric.label: metric.value for metric in care.metric}
    assert values == {"Tickets": "Not exported", "Return rate": "Not exported", "Silent unhappy": "Not exported"}
    captions = " ".join(caption.value for caption in care.caption)
    assert "No support tickets exported: add `tickets` to the data folder" in captions
    assert "No returns exported: add `returns`" in captions
    assert "0.0%" not in captions and all(metric.value not in ("0", "0.0%") for metric in care.metric)
    overview = run_page(monkeypatch, tmp_path, exports["cdnow"], "overview")
    cards = {metric.label: metric.value for metric in overview.metric}
    assert cards["NPS (90 days)"] == "Not exported" and cards["CSAT (90 days)"] == "Not exported"
    assert any("No surveys exported: add `surveys`" in caption.value for caption in overview.caption)


def test_orders_only_hides_filters_that_have_no_data(exports, monkeypatch, tmp_path):
    at = run_page(monkeypatch, tmp_path, exports["cdnow"], "repeat")
    assert [widget.label for widget in at.sidebar.multiselect] == []
    assert any(caption.value.startswith("Not in these exports, so no filter: Acquisition channel, Region, "
                                        "First-order category, Loyalty tier") for caption in at.sidebar.caption)
    assert not [widget for widget in at.segmented_control if widget.key == "breakdown"]
    demo_page = run_page(monkeypatch, tmp_path, exports["demo"], "repeat")
    assert [widget.label for widget in demo_page.sidebar.multiselect] == [
        "Acquisition channel", "Region", "First-order category", "Loyalty tier"]
    assert "No tier" in demo_page.multiselect(key="tier").options


def test_what_changed_on_orders_only_says_nothing_about_values_not_recorded(exports, monkeypatch, tmp_path):
    at = run_page(monkeypatch, tmp_path, exports["cdnow"], "overview")
    changed = next(markdown.value for markdown in at.markdown if "Company-wide" in markdown.value)
    assert "unknown" not in changed and "Not recorded" not in changed and "none" not in changed.lower().split()
    assert insights.NOTHING_MOVED in changed


# Sidebar


def test_sidebar_dates_run_from_the_first_to_the_latest_order(exports, monkeypatch, tmp_path):
    at = run_page(monkeypatch, tmp_path, exports["cdnow"], "overview")
    as_of = at.date_input(key="as_of")
    assert (as_of.min, as_of.max, as_of.value) == (date(1997, 1, 1), CDNOW_LATEST, CDNOW_LATEST)
    assert at.date_input(key="range").min == date(1997, 1, 1)
    stale = next(warning.value for warning in at.sidebar.warning)
    assert "Latest order: **30 Jun 1998**" in stale and " days ago" in stale and "1 days" not in stale


def test_the_overview_trend_follows_trend_range_and_period(exports, monkeypatch, tmp_path):
    at = run_page(monkeypatch, tmp_path, exports["demo"], "overview",
                  {"as_of": MID_MONTH.isoformat(), "grain": "week", "range": ["2026-08-03", "2026-10-16"]})
    trend = next(spec for spec in charts(at) if title(spec).startswith("Revenue and active"))
    assert trend["layout"]["title"]["text"] == "Revenue and active customers per week"
    dates = sorted({str(x)[:10] for trace in trend["data"] for x in trace.get("x") or []})
    assert dates[0] == "2026-08-03" and dates[-1] == "2026-10-12"  # Mondays from the range's start to the as-of week
    marked = marked_dates(trend)
    assert marked == {"2026-10-12"}  # the week of 12-18 Oct is in progress on the 16th
    monthly = run_page(monkeypatch, tmp_path, exports["demo"], "overview", {"as_of": MID_MONTH.isoformat()})
    trend = next(spec for spec in charts(monthly) if title(spec).startswith("Revenue and active"))
    assert trend["layout"]["title"]["text"].endswith("per month")


# Formats


def test_tables_have_human_headers_and_formatted_values(exports, monkeypatch, tmp_path):
    at = run_page(monkeypatch, tmp_path, exports["demo"], "repeat", {"as_of": MID_MONTH.isoformat()})
    segment_table = next(frame for frame in at.dataframe if "Segment" in frame.value.columns
                         or "Acquisition channel" in frame.value.columns)
    headers = list(segment_table.value.columns)
    assert all("_" not in header for header in headers), headers
    assert "Organic search" in set(segment_table.value.iloc[:, 0])
    config = json.loads(segment_table.proto.columns)
    assert config["Repeat rate"]["type_config"]["format"] == "%.1f%%"
    assert segment_table.value["Repeat rate"].max() > 1  # shown as percent points: 40.6 reads 40.6%


def test_metric_cards_use_one_precision_per_kind(exports, monkeypatch, tmp_path):
    at = run_page(monkeypatch, tmp_path, exports["demo"], "overview", {"as_of": MID_MONTH.isoformat()})
    values = {metric.label: metric.value for metric in at.metric}
    for label in ("Repeat rate", "2nd order within 90 days", "CSAT (90 days)"):
        assert values[label].endswith("%") and len(values[label].split(".")[1]) == 2, values[label]  # "47.4%"
    assert values["Revenue"].startswith("$") and "." not in values["Revenue"]  # $12,345: no cents from $1,000
    assert "." in values["Average order value"]  # $64.19: cents below $1,000
    assert formatting.count(int(values["Orders"].replace(",", ""))) == values["Orders"]


def test_nav_titles_equal_page_titles(exports, monkeypatch, tmp_path):
    source = Path(APP).read_text(encoding="utf-8")
    for page, title in (("overview", "Weekly review"), ("care", "Post-purchase care"),
                        ("churn", "Churn risk and win-back"), ("repeat", "Repeat purchase")):
        assert f'"{page}.py", title="{title}"' in source
        at = run_page(monkeypatch, tmp_path, exports["demo"], page)
        assert at.title[0].value == title


def test_care_cards_and_charts_say_which_unit_they_count(exports, monkeypatch, tmp_path):
    at = run_page(monkeypatch, tmp_path, exports["demo"], "care")
    silent = next(index for index, metric in enumerate(at.metric) if metric.label == "Silent unhappy")
    assert any(caption.value.startswith("Customers (the chart below counts their orders)") for caption in at.caption)
    chart = next(spec for spec in charts(at) if title(spec).startswith("Silent unhappy"))
    assert "(per order)" in chart["layout"]["title"]["text"]
    assert all(" order" in label for label in chart["data"][0]["x"])  # "Detractor, no ticket<br>4,327 orders"
    assert silent is not None


def test_old_links_with_stored_values_still_open_the_same_view(exports, monkeypatch, tmp_path):
    at = run_page(monkeypatch, tmp_path, exports["demo"], "repeat", {"channel": "organic_search"})
    assert at.multiselect(key="channel").value == ["organic_search"]
    label_link = run_page(monkeypatch, tmp_path, exports["demo"], "repeat", {"channel": "Organic search"})
    assert label_link.multiselect(key="channel").value == ["organic_search"]


def test_a_copy_of_the_demo_without_surveys_explains_the_satisfaction_page(exports, monkeypatch, tmp_path):
    data_dir = tmp_path / "no-surveys"
    shutil.copytree(exports["demo"], data_dir)
    (data_dir / "surveys.parquet").unlink()
    at = run_page(monkeypatch, tmp_path, data_dir, "satisfaction")
    assert any(info.value.startswith("No surveys exported: add `surveys` to the data folder") for info in at.info)
