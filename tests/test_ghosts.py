"""Previous-period ghost lines: the ghost range by hand, and in the app the URL switch draws the trend query's rows
for that range on the current axis (Repeat purchase and Satisfaction), on the demo and an orders-only export."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import demo, ghosts
from dashboard.model import Database
from dashboard.queries import run_query
from dashboard.settings import load_settings
from tests.exports import server_state
from tests.figure_json import numbers

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")


@pytest.mark.parametrize("start, end, grain, mode, expected", [
    (date(2026, 1, 15), date(2026, 6, 30), "month", "previous period", (date(2025, 7, 15), date(2025, 12, 30))),
    (date(2026, 1, 15), date(2026, 6, 30), "month", "same period last year", (date(2025, 1, 15), date(2025, 6, 30))),
    # Wed 4 Mar .. Tue 17 Mar touches three weeks (from Mondays 2, 9 and 16 Mar): three weeks back
    (date(2026, 3, 4), date(2026, 3, 17), "week", "previous period", (date(2026, 2, 11), date(2026, 2, 24))),
    (date(2026, 3, 4), date(2026, 3, 17), "week", "same period last year", (date(2025, 3, 5), date(2025, 3, 18))),
    # Q4 2025 .. Q2 2026 is three quarters: nine months back
    (date(2025, 11, 20), date(2026, 5, 1), "quarter", "previous period", (date(2025, 2, 20), date(2025, 8, 1))),
])
def test_ghost_range_by_hand(start, end, grain, mode, expected):
    assert ghosts.ghost_range(start, end, grain, mode) == expected


def test_periods_between():
    assert ghosts.periods_between(date(2026, 1, 31), date(2026, 2, 1), "month") == 2
    assert ghosts.periods_between(date(2026, 3, 2), date(2026, 3, 8), "week") == 1  # Monday to Sunday
    assert ghosts.periods_between(date(2026, 3, 8), date(2026, 3, 9), "week") == 2
    assert ghosts.periods_between(date(2025, 12, 31), date(2026, 1, 1), "quarter") == 2
    with pytest.raises(ValueError, match="mode must be one of"):
        ghosts.offset(date(2026, 1, 1), date(2026, 2, 1), "month", "yesterday")


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    root = tmp_path_factory.mktemp("ghosts")
    demo.generate(root / "demo", customers=1_500, seed=29)
    (root / "orders_only").mkdir()
    shutil.copytree(root / "demo" / "orders", root / "orders_only" / "orders")
    return root


def open_page(monkeypatch, tmp_path, data_dir, page: str, params: dict) -> AppTest:
    monkeypatch.setenv("DASHBOARD_DATA_DIR", str(data_dir))
    monkeypatch.setenv("DASHBOARD_STATE_DIR", str(server_state(data_dir)))
    monkeypatch.setenv("DASHBOARD_SETTINGS", str(tmp_path / "no-settings.toml"))
    at = AppTest.from_file(APP, default_timeout=180)
    at.switch_page(f"dashboard/pages/{page}.py")
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def ghost_traces(at: AppTest) -> list[dict]:
    specs = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    return [trace for spec in specs for trace in spec["data"] if (trace.get("meta") or {}).get("ghost")]


RANGE = {"as_of": "2026-09-30", "range": ["2026-01-01", "2026-09-30"], "grain": "month"}


@pytest.mark.parametrize("dataset", ["demo", "orders_only"])
def test_the_url_switch_draws_last_years_series_on_this_years_axis(exports, monkeypatch, tmp_path, dataset):
    at = open_page(monkeypatch, tmp_path, exports / dataset, "repeat", {**RANGE, "vs": "Same period last year"})
    assert not at.exception, [item.value for item in at.exception]
    assert at.segmented_control(key="vs").value == "same period last year"
    active, revenue = ghost_traces(at)
    assert active["name"] == "Same period last year (active customers)" and active["line"]["dash"] == "dot"
    database = Database.open(load_settings(environ={}, data_dir=exports / dataset, state_dir=tmp_path / "engine"))
    last_year = run_query(database.cursor(date(2026, 9, 30)), "activity_trend", channels=None, regions=None,
                          categories=None, tiers=None, grain="month", start_date=date(2025, 1, 1),
                          end_date=date(2025, 9, 30)).sort_values("period_start")
    assert [pd.Timestamp(x).strftime("%Y-%m") for x in active["x"]] == [f"2026-{m:02d}" for m in range(1, 10)]
    assert active["customdata"][0] == "Jan 2025" and active["customdata"][-1] == "Sep 2025"
    assert numbers(active["y"]) == pytest.approx(last_year["active_customers"].astype(float).tolist())
    assert numbers(revenue["y"]) == pytest.approx(last_year["revenue"].tolist())

    at.segmented_control(key="vs").set_value(None).run()
    assert not ghost_traces(at), "no switch, no ghost"


def test_previous_period_on_the_satisfaction_trends(exports, monkeypatch, tmp_path):
    at = open_page(monkeypatch, tmp_path, exports / "demo", "satisfaction", {**RANGE, "vs": "Previous period"})
    assert not at.exception, [item.value for item in at.exception]
    assert at.segmented_control(key="vs").value == "previous period"
    nps, csat = ghost_traces(at)
    assert (nps["name"], nps["yaxis"], csat["name"]) == ("Previous period (NPS)", "y2", "Previous period (CSAT)")
    # nine months Jan-Sep 2026 against the nine just before: Apr-Dec 2025
    assert nps["customdata"][0] == "Apr 2025" and pd.Timestamp(nps["x"][0]).strftime("%Y-%m") == "2026-01"
