"""AppTest of every page on demo exports, on exports with only orders, and on an empty orders table.

The real app script runs headless; values shown are compared with the metrics engine.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from dashboard import demo, figures, formatting
from dashboard.filters import Filters, Segment
from dashboard.metrics import contract_metrics
from dashboard.model import Database
from dashboard.queries import run_query
from dashboard.settings import load_settings
from tests.exports import server_state

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")
PAGES = ("overview", "repeat", "cohorts", "satisfaction", "churn", "care", "reasons", "data")


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """Three data folders: the demo, the demo's orders alone, and an orders table with no rows."""
    root = tmp_path_factory.mktemp("exports")
    demo_dir = root / "demo"
    demo.generate(demo_dir, customers=2_000, seed=11)
    orders_only = root / "orders_only"
    orders_only.mkdir()
    shutil.copytree(demo_dir / "orders", orders_only / "orders")
    empty = root / "empty"
    empty.mkdir()
    schema = pa.schema([("order_id", pa.string()), ("customer_id", pa.string()),
                        ("ordered_at", pa.timestamp("us", tz="UTC")), ("revenue", pa.float64())])
    pq.write_table(schema.empty_table(), empty / "orders.parquet")
    return {"demo": demo_dir, "orders_only": orders_only, "empty": empty}


def run_page(monkeypatch, tmp_path, data_dir: Path, page: str, query_params: dict | None = None) -> AppTest:
    """Run the app with data_dir and switch to a page (the overview is the default page)."""
    monkeypatch.setenv("DASHBOARD_DATA_DIR", str(data_dir))
    monkeypatch.setenv("DASHBOARD_STATE_DIR", str(server_state(data_dir)))
    monkeypatch.setenv("DASHBOARD_SETTINGS", str(tmp_path / "no-settings.toml"))
    at = AppTest.from_file(APP, default_timeout=180)
    if page != "overview":
        at.switch_page(f"dashboard/pages/{page}.py")
    for key, value in (query_params or {}).items():
        at.query_params[key] = value
    return at.run()


def metric_value(at: AppTest, label: str) -> str:
    matches = [metric.value for metric in at.metric if metric.label == label]
    assert matches, f"no metric {label!r}; metrics: {[m.label for m in at.metric]}"
    return matches[0]


def decode_array(value):
    """Plotly 7 writes numeric arrays as base64 typed arrays in figure JSON; lists of rows back."""
    import base64

    import numpy as np

    if isinstance(value, dict) and "bdata" in value:
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        shape = [int(part) for part in str(value.get("shape", len(array))).split(",")]
        return [[None if np.isnan(x) else float(x) for x in row] for row in array.reshape(shape)]
    return value


def engine(data_dir: Path, tmp_path: Path, filters: Filters | None = None) -> dict:
    database = Database.open(load_settings(environ={}, data_dir=data_dir, state_dir=tmp_path / "engine"))
    return contract_metrics(database.cursor(), filters)


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("dataset", ["demo", "orders_only", "empty"])
def test_every_page_renders_without_exception(exports, monkeypatch, tmp_path, page, dataset):
    at = run_page(monkeypatch, tmp_path, exports[dataset], page)
    assert not at.exception, [item.value for item in at.exception]
    assert at.title, "every page has a title"
    if dataset == "empty" and page != "data":
        assert any("orders export is missing, unusable or empty" in error.value for error in at.error)
    if dataset == "empty" and page == "data":
        assert any("orders" in str(frame.value) for frame in at.dataframe)


def test_overview_kpis_equal_the_metrics_engine(exports, monkeypatch, tmp_path):
    at = run_page(monkeypatch, tmp_path, exports["demo"], "overview")
    expected = engine(exports["demo"], tmp_path)
    assert metric_value(at, "Repeat rate") == figures.format_percent(expected["repeat_rate"])
    assert metric_value(at, "2nd order within 90 days") == figures.format_percent(expected["second_order_rate_90d"])
    assert metric_value(at, "NPS (90 days)") == figures.format_number(expected["nps_90d"], 1)
    assert metric_value(at, "CSAT (90 days)") == figures.format_percent(expected["csat_90d"])


def test_repeat_page_kpis_equal_the_metrics_engine(exports, monkeypatch, tmp_path):
    at = run_page(monkeypatch, tmp_path, exports["demo"], "repeat")
    expected = engine(exports["demo"], tmp_path)
    assert metric_value(at, "Repeat rate") == figures.format_percent(expected["repeat_rate"])
    assert metric_value(at, "Days between orders") == formatting.days(expected["median_days_between_orders"])


def test_url_query_parameters_restore_the_filters(exports, monkeypatch, tmp_path):
    at = run_page(monkeypatch, tmp_path, exports["demo"], "repeat",
                  {"channel": "referral", "grain": "quarter", "as_of": "2026-09-30"})
    assert not at.exception
    assert at.multiselect(key="channel").value == ["referral"]
    assert at.segmented_control(key="grain").value == "quarter"
    database = Database.open(load_settings(environ={}, data_dir=exports["demo"], state_dir=tmp_path / "e"))
    from datetime import date

    expected = contract_metrics(database.cursor(date(2026, 9, 30)), Filters(Segment(channels=("referral",))))
    assert metric_value(at, "Repeat rate") == figures.format_percent(expected["repeat_rate"])
    unfiltered = contract_metrics(database.cursor(date(2026, 9, 30)))
    assert expected["customers"] < unfiltered["customers"]


def test_cohort_heatmap_shows_the_engine_retention(exports, monkeypatch, tmp_path):
    at = run_page(monkeypatch, tmp_path, exports["demo"], "cohorts", {"range": ["2023-01-01", "2026-11-15"]})
    assert not at.exception
    charts = at.get("plotly_chart")
    specs = [json.loads(chart.proto.spec) for chart in charts]
    heatmap = next(spec for spec in specs if spec["data"][0]["type"] == "heatmap")
    assert "retention" in heatmap["layout"]["title"]["text"].lower()
    assert heatmap["layout"]["xaxis"]["title"]["text"]
    expected = engine(exports["demo"], tmp_path)["cohort_retention"]
    shown_rows = decode_array(heatmap["data"][0]["z"])
    latest = expected[-len(shown_rows):]
    for row, cohort in zip(shown_rows, latest):
        values = [value for value in row if value is not None]
        assert values == pytest.approx(cohort["retention"])


def captured_downloads(monkeypatch) -> list:
    """Record each deferred download the app registers as (file_name, callable), to build its file in a test."""
    captured = []
    original = MediaFileManager.add_deferred

    def spy(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        captured.append((file_name, data_callable))
        return original(self, data_callable, mimetype, coordinates, file_name=file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", spy)
    return captured


def test_cohort_download_produces_the_members_csv(exports, monkeypatch, tmp_path):
    captured = captured_downloads(monkeypatch)
    at = run_page(monkeypatch, tmp_path, exports["demo"], "cohorts",
                  {"cohort": "2026-03", "period": "2", "activity": "ordered"})
    assert not at.exception
    name, build = next((name, build) for name, build in captured if name and name.startswith("cohort-"))
    assert name == "cohort-2026-03-01-month2-active-2026-11-15.csv"
    csv = pd.read_csv(pd.io.common.StringIO(build()))
    database = Database.open(load_settings(environ={}, data_dir=exports["demo"], state_dir=tmp_path / "e"))
    cursor = database.cursor()
    orders = cursor.execute("select customer_id, ordered_local from valid_orders").df()
    summary = cursor.execute("select customer_id, cohort_month from customer_summary").df()
    members = summary[summary["cohort_month"] == pd.Timestamp("2026-03-01")]["customer_id"]
    active = orders[(orders["ordered_local"] >= "2026-05-01") & (orders["ordered_local"] < "2026-06-01")]
    expected = set(members) & set(active["customer_id"])
    assert set(csv["customer_id"]) == expected and len(csv) == len(expected) > 0
    assert "@" not in "".join(csv["email"].dropna()) or all("***@" in e for e in csv["email"].dropna())


def test_overview_lifecycle_cards_follow_the_segment_filter(exports, monkeypatch, tmp_path):
    """The Overview's lifecycle row (which replaced the one "high churn risk" count) counts the segment's
    customers of each state, as customer_scores has them."""
    from dashboard import churn, lifecycle

    database = Database.open(load_settings(environ={}, data_dir=exports["demo"], state_dir=tmp_path / "e"))
    cursor = database.cursor()
    referral = churn.lifecycle_summary(cursor, Segment(channels=("referral",))).set_index("lifecycle_state")
    everyone = churn.lifecycle_summary(cursor).set_index("lifecycle_state")
    scores = cursor.execute("select s.lifecycle_state, c.acquisition_channel from customer_scores s "
                            "join customer_summary c using (customer_id)").df()
    expected = scores[scores.acquisition_channel == "referral"].lifecycle_state.value_counts()
    for state in lifecycle.STATES:
        assert referral.loc[state, "customers"] == expected.get(state, 0)
        assert referral.loc[state, "customers"] <= everyone.loc[state, "customers"]
    assert referral["share"].sum() == pytest.approx(1.0)
    at = run_page(monkeypatch, tmp_path, exports["demo"], "overview", {"channel": "referral"})
    assert not at.exception
    for state in lifecycle.STATES:
        assert metric_value(at, lifecycle.STATE_LABELS[state]) == f"{int(referral.loc[state, 'customers']):,}"
    assert not any(metric.label == "High churn risk" for metric in at.metric)


def test_large_counts_are_shortened_so_they_fit_a_metric_card():
    """At 100M orders the Care page's ticket count (10,986,123) was cut to "10,986,…" in its card."""
    assert figures.format_count(890_190) == "890,190"
    assert figures.format_count(999_999) == "999,999"
    assert figures.format_count(1_000_000) == "1.00M"
    assert figures.format_count(10_986_123) == "10.99M"
    assert figures.format_count(-2_297_643) == "-2.30M"
    assert figures.format_count(2_500_000_000) == "2.50B"
    assert figures.format_count(1234.6) == "1,235"
    assert figures.format_count(float("nan")) == "–"
    assert figures.format_count(None) == "–"


def test_a_change_that_rounds_to_nothing_has_no_arrow_and_no_colour(monkeypatch, tmp_path):
    """Ten customers ordering every week: the week's orders, revenue and active customers did not change, so their
    cards say 0.0% with no arrow (Streamlit draws an up arrow, green or red, for any text but "0"); the NPS, which
    the week's detractors moved, keeps its arrow and colour."""
    from streamlit.proto.Metric_pb2 import Metric as MetricProto

    from tests.test_alerts import AS_OF, write_exports

    data_dir = write_exports(tmp_path / "steady", [0] * 5)
    at = run_page(monkeypatch, tmp_path, data_dir, "overview", {"as_of": AS_OF.isoformat()})
    assert not at.exception, [item.value for item in at.exception]
    cards = {metric.label: metric.proto for metric in at.metric}
    for label in ("Orders", "Revenue", "Active customers"):
        assert cards[label].delta == "0.0%", (label, cards[label].delta)
        assert cards[label].direction == MetricProto.MetricDirection.NONE, label
        assert cards[label].color == MetricProto.MetricColor.GRAY, label
    assert cards["NPS (90 days)"].delta.startswith("-")
    assert cards["NPS (90 days)"].direction == MetricProto.MetricDirection.DOWN
    assert cards["NPS (90 days)"].color == MetricProto.MetricColor.RED
