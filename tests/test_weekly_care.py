"""The weekly review's care KPIs (queries/weekly_care_kpis.sql): every column, for weeks 0, 1, 4 and the last two of
the review's 26 (where the cubes' horizon bounds bite), in UTC and in a daylight-saving time zone, equals a pandas
computation on the model's rows; week 0 of the silent unhappy equals the care summary; a table that was
not exported gives "not exported" (null), never 0."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from dashboard import cli, demo
from dashboard.filters import Filters, Segment
from dashboard.metrics import CARE_TABLES, contract_metrics, exported_tables, weekly_care_history
from dashboard.model import Database, cutoff_for
from dashboard.queries import run_query
from dashboard.settings import load_settings
from tests.conftest import FIXED_NOW
from tests.exports import server_state
from tests.figure_json import numbers

SEGMENTS = [Filters(), Filters(Segment(tiers=("gold",))), Filters(Segment(channels=("email", "referral"), regions=("Europe",)))]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("care")
    demo.generate(root / "demo", customers=3_000, seed=31)
    (root / "orders_only").mkdir()
    shutil.copytree(root / "demo" / "orders", root / "orders_only" / "orders")
    return root


@pytest.fixture(scope="module")
def database(data, tmp_path_factory):
    settings = load_settings(environ={}, data_dir=data / "demo", state_dir=tmp_path_factory.mktemp("state"))
    return Database.open(settings, now=FIXED_NOW)


def model(cursor) -> dict:
    tables = {name: cursor.execute(f"select * from {name}").df() for name in
              ("customer_summary", "valid_orders", "valid_tickets", "valid_returns", "valid_surveys", "model_info")}
    return tables


def members(tables, filters: Filters) -> set:
    customers = tables["customer_summary"]
    keep = pd.Series(True, index=customers.index)
    for parameter, column in (("channels", "acquisition_channel"), ("regions", "region"),
                              ("categories", "first_category"), ("tiers", "loyalty_tier")):
        values = getattr(filters.segment, parameter)
        if values is not None:
            keep &= customers[column].isin(values)
    return set(customers.loc[keep, "customer_id"])


def median_or_none(values) -> float | None:
    return float(np.median(values)) if len(values) else None


def reference(tables, filters: Filters, week: int, timezone: str) -> dict:
    """Week ``week``'s care numbers in pandas, from their definitions."""
    as_of = tables["model_info"]["as_of"].iloc[0]
    as_of = as_of.date() if hasattr(as_of, "date") else as_of
    cutoff = pd.Timestamp(cutoff_for(as_of - timedelta(days=7 * week), timezone))
    start = pd.Timestamp(cutoff_for(as_of - timedelta(days=7 * week + 7), timezone))
    window = cutoff - pd.Timedelta(days=90)
    people = members(tables, filters)
    everyone = filters.segment.is_everyone
    tickets = tables["valid_tickets"]
    tickets = tickets[tickets["customer_id"].isin(people)]
    orders = tables["valid_orders"]
    orders = orders[orders["customer_id"].isin(people)]
    surveys = tables["valid_surveys"]
    if not everyone:
        surveys = surveys[surveys["customer_id"].isin(people)]
    returns = tables["valid_returns"]

    resolved_by = tickets["resolved_at"].notna() & (tickets["resolved_at"] < cutoff)
    opened_90 = (tickets["opened_at"] >= window) & (tickets["opened_at"] < cutoff)
    resolved_90 = tickets[tickets["resolved_at"].notna() & (tickets["resolved_at"] >= window)
                          & (tickets["resolved_at"] < cutoff)]
    hours = np.floor((resolved_90["resolved_at"] - resolved_90["opened_at"]).dt.total_seconds() / 3600)

    complaints = tickets[(tickets["opened_at"] >= cutoff - pd.Timedelta(days=180))
                         & (tickets["opened_at"] < cutoff - pd.Timedelta(days=90))].copy()
    all_orders = tables["valid_orders"]

    def reordered(row) -> bool:
        theirs = all_orders[(all_orders["customer_id"] == row.customer_id) & (all_orders["ordered_at"] > row.opened_at)]
        return bool(len(theirs)) and theirs["ordered_at"].min() <= row.opened_at + pd.Timedelta(days=90)

    complaints["reordered"] = [reordered(row) for row in complaints.itertuples()]
    complaints["resolved"] = complaints["resolved_at"].notna() & (complaints["resolved_at"] < cutoff)

    placed = orders[(orders["ordered_at"] >= window) & (orders["ordered_at"] < cutoff)]
    first_returns = returns.dropna(subset=["order_id"]).groupby("order_id")["requested_at"].min()
    returned = placed["order_id"].map(first_returns)
    returned = returned.notna() & (returned < cutoff)

    nps = tables["valid_surveys"]
    nps = nps[(nps["kind"] == "nps") & (nps["submitted_at"] < cutoff)]
    if not everyone:
        nps = nps[nps["customer_id"].isin(people)]
    latest = nps.sort_values(["submitted_at", "response_id", "score"], ascending=[False, False, True]) \
        .drop_duplicates("customer_id")
    complained = set(tables["valid_tickets"].loc[tables["valid_tickets"]["opened_at"] < cutoff, "customer_id"])
    silent = latest[(latest["nps_category"] == "detractor") & ~latest["customer_id"].isin(complained)]

    ordered = all_orders.sort_values(["customer_id", "order_seq"])
    ordered = ordered.assign(previous=ordered.groupby("customer_id")["ordered_at"].shift())
    repeats = ordered[ordered["customer_id"].isin(people) & ordered["previous"].notna()
                      & (ordered["ordered_at"] >= window) & (ordered["ordered_at"] < cutoff)]
    gaps = np.floor((repeats["ordered_at"] - repeats["previous"]).dt.total_seconds() / 86400)

    week_orders = orders[(orders["ordered_at"] >= start) & (orders["ordered_at"] < cutoff)]
    week_responses = surveys[(surveys["submitted_at"] >= start) & (surveys["submitted_at"] < cutoff)]
    resolved_complaints = complaints[complaints["resolved"]]
    open_complaints = complaints[~complaints["resolved"]]
    return {
        "tickets_7d": int(((tickets["opened_at"] >= start) & (tickets["opened_at"] < cutoff)).sum()),
        "tickets_90d": int(opened_90.sum()),
        "resolved_tickets_90d": int((opened_90 & resolved_by).sum()),
        "median_resolution_days_90d": None if not len(hours) else median_or_none(hours) / 24,
        "complaints_resolved_90d": len(resolved_complaints),
        "repurchase_after_resolved_90d": resolved_complaints["reordered"].mean() if len(resolved_complaints) else None,
        "complaints_unresolved_90d": len(open_complaints),
        "repurchase_after_unresolved_90d": open_complaints["reordered"].mean() if len(open_complaints) else None,
        "orders_90d": len(placed),
        "return_rate_90d": returned.mean() if len(placed) else None,
        "silent_unhappy_customers": len(silent),
        "median_days_between_orders_90d": median_or_none(gaps),
        "survey_responses_7d": len(week_responses),
        "orders_7d": len(week_orders),
    }


@pytest.fixture(scope="module")
def database_new_york(data, tmp_path_factory):
    """The same exports read in New York time: week 25's cutoff (late May) is in daylight-saving time and the
    as-of date (22 Nov) is not, so the weeks' cutoffs are not whole days apart in UTC."""
    settings = load_settings(environ={"DASHBOARD_TIMEZONE": "America/New_York"}, data_dir=data / "demo",
                             state_dir=tmp_path_factory.mktemp("state_ny"))
    return Database.open(settings, now=FIXED_NOW)


def assert_weeks_equal_pandas(database, filters, weeks):
    cursor = database.cursor()
    tables = model(cursor)
    ours = run_query(cursor, "weekly_care_kpis", **filters.params(), weeks=26).set_index("week_number")
    assert list(ours.index) == list(range(26))
    for week in weeks:
        expected = reference(tables, filters, week, database.settings.timezone)
        for key, value in expected.items():
            actual = ours.loc[week, key]
            if value is None:
                assert pd.isna(actual), (week, key)
            else:
                assert actual == pytest.approx(value, rel=1e-12), (week, key)
    for week in weeks:  # each week checked has something to count in every window, the oldest ones included
        assert ours.loc[week, "tickets_90d"] > 0 and ours.loc[week, "complaints_resolved_90d"] > 0, week
        assert ours.loc[week, "orders_90d"] > 0 and ours.loc[week, "repeat_orders_90d"] > 0, week


@pytest.mark.parametrize("filters", SEGMENTS, ids=["all", "gold", "email-referral-europe"])
def test_weekly_care_kpis_equal_pandas(database, filters):
    assert_weeks_equal_pandas(database, filters, (0, 1, 4, 24, 25))


@pytest.mark.parametrize("filters", SEGMENTS[:2], ids=["all", "gold"])
def test_weekly_care_kpis_equal_pandas_in_new_york(database_new_york, filters):
    assert database_new_york.settings.timezone == "America/New_York"
    assert_weeks_equal_pandas(database_new_york, filters, (0, 24, 25))


def test_week_0_silent_unhappy_equals_the_care_summary(database):
    cursor = database.cursor()
    for filters in SEGMENTS:
        summary = run_query(cursor, "care_summary", **filters.params()).iloc[0]
        ours = run_query(cursor, "weekly_care_kpis", **filters.params(), weeks=1).iloc[0]
        assert ours["silent_unhappy_customers"] == summary["silent_unhappy_customers"]


def test_orders_only_care_keys_are_not_exported_never_0(data, tmp_path, capsys):
    import json

    settings = load_settings(environ={}, data_dir=data / "orders_only", state_dir=tmp_path / "state")
    database = Database.open(settings, now=FIXED_NOW)
    metrics = contract_metrics(database.cursor(), None, exported_tables(database))
    assert metrics["not_exported"] == ["returns", "surveys", "tickets"]
    for key, tables in CARE_TABLES.items():
        if tables:
            assert metrics[key] is None, key
    assert metrics["median_days_between_orders_90d"] is not None
    history = weekly_care_history(database.cursor(), Filters(), 5, exported_tables(database))
    assert history["tickets_7d"].isna().all() and history["return_rate_90d"].isna().all()
    out = tmp_path / "metrics.json"
    assert cli.main(["report", "--data", str(data / "orders_only"), "--format", "json", "--out", str(out)]) == 0
    written = json.loads(out.read_text())
    assert written["tickets_7d"] is None and written["not_exported"] == ["returns", "surveys", "tickets"]


def run_overview(monkeypatch, tmp_path, data_dir, params: dict | None = None):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("DASHBOARD_DATA_DIR", str(data_dir))
    monkeypatch.setenv("DASHBOARD_STATE_DIR", str(server_state(data_dir)))
    monkeypatch.setenv("DASHBOARD_SETTINGS", str(tmp_path / "no-settings.toml"))
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "streamlit_app.py"), default_timeout=180)
    for key, value in (params or {}).items():
        at.query_params[key] = value
    return at.run()


def test_overview_care_cards_show_the_weekly_numbers(data, database, monkeypatch, tmp_path):
    from dashboard import formatting
    from dashboard.metrics import WEEKLY_CARE_KPIS

    at = run_overview(monkeypatch, tmp_path, data / "demo", {"tier": "gold"})
    assert not at.exception, [item.value for item in at.exception]
    cursor = database.cursor()
    expected = run_query(cursor, "weekly_care_kpis", **Filters(Segment(tiers=("gold",))).params(), weeks=5).set_index(
        "week_number")
    shown = {metric.label: metric for metric in at.metric}
    for key, label, kind, _, _ in WEEKLY_CARE_KPIS:
        assert shown[label].value == formatting.number(expected.loc[0, key], kind, short=True), label
        assert shown[label].delta == (formatting.change(expected.loc[0, key], expected.loc[1, key], kind) or ""), label
    assert any("4 weeks ago" in caption.value for caption in at.caption)
    # Each card's sparkline: the KPI of weeks 0-11, oldest week first, each point dated by its week's last day.
    filters = Filters(Segment(tiers=("gold",))).params()
    history = run_query(cursor, "weekly_care_kpis", **filters, weeks=12).set_index("week_number")
    week_ends = run_query(cursor, "weekly_kpis", **filters, weeks=12).set_index("week_number")["week_end"]
    oldest_first = week_ends.sort_values().index
    charts = {chart.proto.id: json.loads(chart.proto.spec) for chart in at.get("plotly_chart")}
    drawn = 0
    for key, label, *_ in WEEKLY_CARE_KPIS:
        expected_values = history.loc[oldest_first, key].astype(float)
        if expected_values.isna().all():
            continue
        (spec,) = [spec for element_id, spec in charts.items() if element_id.endswith(f"spark_care_{key}")]
        trace = spec["data"][0]
        assert [pd.Timestamp(x) for x in trace["x"]] == [pd.Timestamp(day) for day in week_ends[oldest_first]], label
        assert numbers(trace["y"]) == pytest.approx(expected_values.tolist(), nan_ok=True), label
        drawn += 1
    assert drawn >= 8


def test_overview_care_cards_on_an_orders_only_export_say_not_exported(data, monkeypatch, tmp_path):
    at = run_overview(monkeypatch, tmp_path, data / "orders_only")
    assert not at.exception, [item.value for item in at.exception]
    shown = {metric.label: metric.value for metric in at.metric}
    for label in ("Tickets opened", "Tickets resolved", "Median time to resolve", "Reorder: resolved ticket",
                  "Return rate", "Silent unhappy", "Survey responses per order"):
        assert shown[label] == "Not exported", label
    assert shown["Median days between orders"].endswith("days")
    assert any("No tickets export" in caption.value for caption in at.caption)


def test_weekly_report_has_the_care_rows(data, database, tmp_path):
    from dashboard import report

    page = report.weekly_report_html(database, database.default_as_of())
    assert "Post-purchase care" in page and "Reorder: resolved ticket" in page
    orders_only = Database.open(load_settings(environ={}, data_dir=data / "orders_only", state_dir=tmp_path / "s"),
                                now=FIXED_NOW)
    page = report.weekly_report_html(orders_only, orders_only.default_as_of())
    assert "Not exported: tickets" in page and "Not exported: returns" in page
    assert "Median days between orders" in page
