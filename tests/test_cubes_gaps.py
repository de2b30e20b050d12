"""The repeat-page queries that read the ``cube_gaps_*`` aggregate tables, checked against pandas.

median_days_between_orders, time_to_second_order and activity_trend read only aggregate tables
(cube_gaps_order_gaps / cube_gaps_gap_days, cube_gaps_second_order_days, cube_gaps_activity) summed over the
segment's seg_keys. Each test recomputes the answer with pandas from the model's own rows (valid_orders and
the segment columns of customer_summary) on small demo exports, under several segment filters.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from dashboard import demo
from dashboard.model import Database
from dashboard.queries import run_query
from dashboard.settings import load_settings
from tests.segments import ALL, in_segment

SEGMENT_FILTERS = [  # other values than tests/segments.py's list, so the two files cover more combinations
    pytest.param({}, id="all"),
    pytest.param({"channels": ["email"]}, id="one-channel"),
    pytest.param({"channels": ["email", "referral", "marketplace"]}, id="three-channels"),
    pytest.param({"regions": ["Europe", "UK"], "tiers": ["gold", "none"]}, id="region-and-tier"),
    pytest.param({"categories": ["home"], "channels": ["paid_social"]}, id="category-and-channel"),
    pytest.param({"tiers": []}, id="empty-list"),
    pytest.param({"regions": ["nowhere"]}, id="unknown-value"),
]
MICROSECONDS_PER_DAY = 86_400_000_000


@pytest.fixture(scope="module", params=["UTC", "America/New_York"])
def model(request, tmp_path_factory):
    """(cursor, as_of, orders, customers): a demo database and its model rows as pandas frames."""
    root = tmp_path_factory.mktemp("cubes_gaps")
    demo.generate(root / "data", customers=900, seed=11)
    settings = load_settings(environ={}, data_dir=root / "data", state_dir=root / "state", timezone=request.param)
    database = Database.open(settings)
    as_of = database.default_as_of() - timedelta(days=40)  # a mid-week, mid-month as-of date
    cursor = database.cursor(as_of)
    orders = cursor.execute("select customer_id, order_id, ordered_at, ordered_local, revenue from valid_orders").df()
    customers = cursor.execute(
        "select customer_id, acquisition_channel, region, first_category, loyalty_tier from customer_summary"
    ).df()
    return cursor, as_of, orders, customers


def segment_ids(customers: pd.DataFrame, segment: dict) -> set:
    """The customer ids a segment filter keeps, by pandas on customer_summary's segment columns."""
    return set(in_segment(customers, segment)["customer_id"])


def segment_orders(model, segment: dict) -> pd.DataFrame:
    _, _, orders, customers = model
    chosen = orders[orders["customer_id"].isin(segment_ids(customers, segment))]
    return chosen.sort_values(["customer_id", "ordered_at", "order_id"]).reset_index(drop=True)


def gap_microseconds(orders: pd.DataFrame) -> pd.Series:
    """Gaps between each customer's consecutive orders (orders sorted by customer, time, id)."""
    previous = orders.groupby("customer_id")["ordered_at"].shift()
    gaps = (orders["ordered_at"] - previous).dropna()
    return gaps.astype("timedelta64[us]").astype("int64")


@pytest.mark.parametrize("segment", SEGMENT_FILTERS)
def test_median_days_between_orders_matches_pandas(model, segment):
    cursor = model[0]
    result = run_query(cursor, "median_days_between_orders", **{**ALL, **segment})

    gaps = gap_microseconds(segment_orders(model, segment)) / MICROSECONDS_PER_DAY
    assert list(result.columns) == ["median_days_between_orders", "count_gaps"]
    assert len(result) == 1
    assert result["count_gaps"].iloc[0] == len(gaps)
    if len(gaps):
        assert result["median_days_between_orders"].iloc[0] == pytest.approx(float(np.median(gaps)), rel=1e-12)
    else:
        assert pd.isna(result["median_days_between_orders"].iloc[0])


def test_median_days_between_orders_averages_the_two_middle_gaps_of_an_even_count(model):
    """Find a segment with an even number of gaps whose two middle gaps differ, and check the average."""
    cursor, _, _, customers = model
    checked = 0
    for channel in sorted(customers["acquisition_channel"].unique()):
        for region in sorted(customers["region"].unique()):
            segment = {"channels": [channel], "regions": [region]}
            gaps = np.sort(gap_microseconds(segment_orders(model, segment)).to_numpy()) / MICROSECONDS_PER_DAY
            if len(gaps) < 2 or len(gaps) % 2 or gaps[len(gaps) // 2 - 1] == gaps[len(gaps) // 2]:
                continue
            result = run_query(cursor, "median_days_between_orders", **{**ALL, **segment})
            expected = (gaps[len(gaps) // 2 - 1] + gaps[len(gaps) // 2]) / 2
            assert result["median_days_between_orders"].iloc[0] == pytest.approx(expected, rel=1e-12)
            checked += 1
    assert checked > 0


@pytest.mark.parametrize("segment", SEGMENT_FILTERS)
def test_time_to_second_order_matches_pandas(model, segment):
    cursor = model[0]
    result = run_query(cursor, "time_to_second_order", **{**ALL, **segment})

    orders = segment_orders(model, segment)
    orders["seq"] = orders.groupby("customer_id").cumcount() + 1
    first = orders[orders["seq"] == 1].set_index("customer_id")["ordered_at"]
    second = orders[orders["seq"] == 2].set_index("customer_id")["ordered_at"]
    elapsed = (second - first.loc[second.index]).astype("timedelta64[us]").astype("int64")
    days = np.floor(elapsed / MICROSECONDS_PER_DAY).astype(int)
    expected = days.value_counts().sort_index()

    assert list(result.columns) == ["days_to_second_order", "customers"]
    assert result["days_to_second_order"].tolist() == expected.index.tolist()
    assert result["customers"].tolist() == expected.tolist()


def period_start(local: pd.Series, grain: str) -> pd.Series:
    days = local.dt.normalize()
    if grain == "week":
        return days - pd.to_timedelta(days.dt.day_of_week, unit="D")
    if grain == "month":
        return days.dt.to_period("M").dt.start_time
    return days.dt.to_period("Q").dt.start_time


def next_period(start: pd.Timestamp, grain: str) -> pd.Timestamp:
    return start + {"week": pd.DateOffset(days=7), "month": pd.DateOffset(months=1),
                    "quarter": pd.DateOffset(months=3)}[grain]


def expected_activity_trend(model, segment: dict, grain: str, start_date, end_date) -> pd.DataFrame:
    _, as_of, _, _ = model
    orders = segment_orders(model, segment)
    orders["period_start"] = period_start(orders["ordered_local"], grain)
    orders["cohort_start"] = orders.groupby("customer_id")["period_start"].transform("min")
    per_customer = orders.groupby(["period_start", "customer_id"]).agg(
        count_orders=("order_id", "size"), revenue=("revenue", "sum"), cohort_start=("cohort_start", "first"),
    ).reset_index()
    per_customer["new"] = per_customer["cohort_start"] == per_customer["period_start"]
    activity = per_customer.groupby("period_start").agg(
        active_customers=("customer_id", "size"), new_customers=("new", "sum"),
        orders=("count_orders", "sum"), revenue=("revenue", "sum"),
    )
    activity["returning_customers"] = activity["active_customers"] - activity["new_customers"]

    as_of_start = period_start(pd.Series([pd.Timestamp(as_of)]), grain).iloc[0]
    if activity.empty:
        return pd.DataFrame()
    starts = []
    current = activity.index.min()
    while current <= as_of_start:
        starts.append(current)
        current = next_period(current, grain)
    frame = activity.reindex(starts)
    frame.index.name = "period_start"
    frame = frame.reset_index()
    frame["returning_customer_rate"] = frame["returning_customers"] / frame["active_customers"]
    frame["aov"] = frame["revenue"] / frame["orders"]
    for column in ("active_customers", "new_customers", "returning_customers", "orders", "revenue"):
        frame[column] = frame[column].fillna(0)
    is_incomplete = next_period(as_of_start, grain) > pd.Timestamp(as_of) + pd.Timedelta(days=1)
    frame["is_partial_period"] = (frame["period_start"] == as_of_start) & is_incomplete
    if start_date is not None:
        frame = frame[frame["period_start"] >= pd.Timestamp(start_date)]
    if end_date is not None:
        frame = frame[frame["period_start"] <= pd.Timestamp(end_date)]
    columns = ["period_start", "active_customers", "new_customers", "returning_customers",
               "returning_customer_rate", "orders", "revenue", "aov", "is_partial_period"]
    return frame[columns].reset_index(drop=True)


def assert_trend_equal(result: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(result.columns) == ["period_start", "active_customers", "new_customers", "returning_customers",
                                    "returning_customer_rate", "orders", "revenue", "aov", "is_partial_period"]
    if expected.empty:
        assert result.empty
        return
    result = result.assign(period_start=pd.to_datetime(result["period_start"]))
    expected = expected.assign(period_start=pd.to_datetime(expected["period_start"]))
    pd.testing.assert_frame_equal(result, expected, check_dtype=False, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("grain", ["week", "month", "quarter"])
@pytest.mark.parametrize("segment", SEGMENT_FILTERS)
def test_activity_trend_matches_pandas(model, segment, grain):
    cursor = model[0]
    params = {**ALL, **segment, "grain": grain, "start_date": None, "end_date": None}
    result = run_query(cursor, "activity_trend", **params)
    assert_trend_equal(result, expected_activity_trend(model, segment, grain, None, None))


@pytest.mark.parametrize(
    "segment", [{}, {"channels": ["email", "referral"]}, {"regions": ["Europe"], "tiers": ["gold", "none"]}]
)
@pytest.mark.parametrize("days_back", [(365, 0), (200, 60), (20, 3)])
@pytest.mark.parametrize("grain", ["week", "month", "quarter"])
def test_activity_trend_date_range_matches_pandas(model, segment, grain, days_back):
    cursor, as_of = model[0], model[1]
    start_date, end_date = as_of - timedelta(days=days_back[0]), as_of - timedelta(days=days_back[1])
    params = {**ALL, **segment, "grain": grain, "start_date": start_date, "end_date": end_date}
    result = run_query(cursor, "activity_trend", **params)
    assert_trend_equal(result, expected_activity_trend(model, segment, grain, start_date, end_date))


def test_queries_read_only_the_aggregate_tables_once_built(tmp_path):
    """After the first run builds the cubes, the queries answer the same with the row-level tables gone."""
    demo.generate(tmp_path / "data", customers=300, seed=3)
    settings = load_settings(environ={}, data_dir=tmp_path / "data", state_dir=tmp_path / "state")
    database = Database.open(settings)
    cursor = database.cursor(date(2026, 10, 31))
    calls = [
        ("median_days_between_orders", {}),
        ("time_to_second_order", {}),
        ("activity_trend", {"grain": "week", "start_date": None, "end_date": None}),
    ]
    segment = {**ALL, "channels": ["email", "organic_search"]}
    before = [run_query(cursor, name, **segment, **params) for name, params in calls]
    for table in ("valid_orders", "customer_activity", "customer_summary"):
        cursor.execute(f"alter table {table} rename to hidden_{table}")
    after = [run_query(cursor, name, **segment, **params) for name, params in calls]
    for old, new in zip(before, after):
        pd.testing.assert_frame_equal(old, new)
