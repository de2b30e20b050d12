"""The repeat-purchase queries: hand-computed answers on tiny Parquet exports, plus invariants.

The fixture (as of Sunday 2024-06-30, UTC unless a test says otherwise):

    customer  channel      region   tier    first category  valid orders (UTC)                        revenue
    c1        email        EU       gold    books           01-10 10:00, 02-15 10:00, 06-25 12:00     180
    c2        paid_social  US       none    toys            01-20 08:00, 04-19 08:00 (+90 d), 06-18   130
    c3        email        US       silver  books           03-01 12:00, 03-02 11:59 (+23 h 59 min)    30
    c4        referral     EU       gold    garden          04-02 00:00 (exactly 90 days before cutoff) 60
    c5        email        EU       none    books           6 orders 06-26 .. 06-30 23:59:59           100
    c6        paid_social  US       bronze  garden          11 daily orders 06-10 .. 06-20             110
    c7        referral     US                               one cancelled order, one after the as-of date
    c8        (no profile: unknown, unknown, none) toys     06-23 23:30 (last minute of week 1)        45

Weeks counted back from the as-of date: week 0 = 06-24 .. 06-30, week 1 = 06-17 .. 06-23,
week 2 = 06-10 .. 06-16.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import pandas as pd
import pytest

from dashboard import demo
from dashboard.filters import Filters, Segment
from dashboard.metrics import contract_metrics
from dashboard.queries import declared_parameters, load_sql, run_query, sql_parameters
from tests.exports import write_table

AS_OF = date(2024, 6, 30)
ALL = {"channels": None, "regions": None, "categories": None, "tiers": None}
HOSTILE = {**ALL, "channels": ["' or 1=1 --"]}
EMAIL_ONLY = {**ALL, "channels": ["email"]}
QUERY_NAMES = (
    "activity_trend",
    "time_to_second_order",
    "second_order_milestones",
    "second_order_rate_by_cohort",
    "orders_per_customer",
    "repeat_rate_by_segment",
    "weekly_kpis",
    "segment_movements",
    "cohort_members",
)
# Parameters beyond the segment that each query needs, with ordinary values.
EXTRA_PARAMS = {
    "activity_trend": {"grain": "month", "start_date": None, "end_date": None},
    "second_order_rate_by_cohort": {"grain": "month"},
    "repeat_rate_by_segment": {"dimension": "acquisition_channel"},
    "weekly_kpis": {"weeks": 3},
    "cohort_members": {
        "grain": "month", "cohort_start": date(2024, 1, 1), "period_number": 1, "activity": None,
        "show_email": False, "limit": 50, "offset": 0,
    },
}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def order(order_id, customer_id, ordered_at, revenue, category="books", status="completed") -> dict:
    return {
        "order_id": order_id,
        "customer_id": customer_id,
        "ordered_at": pd.Timestamp(ordered_at),
        "revenue": float(revenue),
        "status": status,
        "product_category": category,
    }


@pytest.fixture(scope="module")
def repeat_dir(tmp_path_factory):
    """The exports described in the module docstring."""
    data_dir = tmp_path_factory.mktemp("repeat")
    orders = [
        order("A1", "c1", "2024-01-10 10:00", 100),
        order("A2", "c1", "2024-02-15 10:00", 50),
        order("A3", "c1", "2024-06-25 12:00", 30, "toys"),
        order("B1", "c2", "2024-01-20 08:00", 70, "toys"),
        order("B2", "c2", "2024-04-19 08:00", 40, "toys"),
        order("B3", "c2", "2024-06-18 09:00", 20, "toys"),
        order("C1", "c3", "2024-03-01 12:00", 20),
        order("C2", "c3", "2024-03-02 11:59", 10),
        order("D1", "c4", "2024-04-02 00:00", 60, "garden"),
        order("E1", "c5", "2024-06-26 10:00", 25),
        order("E2", "c5", "2024-06-27 10:00", 15),
        order("E3", "c5", "2024-06-27 10:00", 15),  # same instant as E2: still two orders
        order("E4", "c5", "2024-06-28 10:00", 15),
        order("E5", "c5", "2024-06-29 10:00", 15),
        order("E6", "c5", "2024-06-30 23:59:59", 15),
        *[order(f"F{day:02d}", "c6", f"2024-06-{day:02d} 09:00", 10, "garden") for day in range(10, 21)],
        order("G1", "c7", "2024-03-15 10:00", 500, status="Cancelled"),
        order("G2", "c7", "2024-07-03 10:00", 80),
        order("H1", "c8", "2024-06-23 23:30", 45, "toys"),
    ]
    write_table(data_dir, "orders", orders)
    write_table(
        data_dir,
        "customers",
        {
            "customer_id": ["c1", "c2", "c3", "c4", "c5", "c6", "c7"],
            "email": ["jane@example.com", "bob@shop.org", None, "nobody", "eve@example.com", "ann@mail.net",
                      "carl@x.com"],
            "acquisition_channel": ["email", "paid_social", "email", "referral", "email", "paid_social", "referral"],
            "region": ["EU", "US", "US", "EU", "EU", "US", "US"],
            "loyalty_tier": ["gold", None, "silver", "gold", None, "bronze", None],
        },
    )
    write_table(
        data_dir,
        "surveys",
        {
            "response_id": ["s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8"],
            "customer_id": ["c1", "c2", "zz", "c4", "c3", "c5", "c1", "c6"],
            "submitted_at": pd.to_datetime(
                ["2024-06-28", "2024-06-20", "2024-05-01", "2024-04-01 12:00", "2024-03-20", "2024-06-30 23:00",
                 "2024-07-02", "2024-06-10"],
                format="ISO8601",
            ),
            "kind": ["nps", "nps", "nps", "csat", "csat", "NPS", "nps", "csat"],
            "score": [10, 3, 8, 5, 2, 9, 7, 4],
        },
    )
    return data_dir


@pytest.fixture
def database(repeat_dir, open_database):
    return open_database(repeat_dir)


@pytest.fixture
def cursor(database):
    return database.cursor(AS_OF)


def plain(value):
    """A cell as a plain Python value: None for missing, floats rounded to 9 digits."""
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
        return value.date() if value == datetime.combine(value.date(), datetime.min.time()) else value
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return round(value, 9)
    return value


def rows(frame: pd.DataFrame) -> list[tuple]:
    return [tuple(plain(value) for value in row) for row in frame.itertuples(index=False)]


def r(value: float) -> float:
    return round(value, 9)


def assert_rates_between_0_and_1(frame: pd.DataFrame) -> None:
    for column in frame.columns:
        if column.endswith("_rate") and column != "change_rate":
            values = frame[column].dropna()
            assert ((values >= 0) & (values <= 1)).all(), column


# activity_trend

TREND_COLUMNS = [
    "period_start", "active_customers", "new_customers", "returning_customers", "returning_customer_rate", "orders",
    "revenue", "aov", "is_partial_period",
]


def test_activity_trend_by_month_includes_the_empty_month(cursor):
    frame = run_query(cursor, "activity_trend", **ALL, grain="month", start_date=None, end_date=None)
    assert list(frame.columns) == TREND_COLUMNS
    assert rows(frame) == [
        (date(2024, 1, 1), 2, 2, 0, 0.0, 2, 170.0, 85.0, False),
        (date(2024, 2, 1), 1, 0, 1, 1.0, 1, 50.0, 50.0, False),
        (date(2024, 3, 1), 1, 1, 0, 0.0, 2, 30.0, 15.0, False),
        (date(2024, 4, 1), 2, 1, 1, 0.5, 2, 100.0, 50.0, False),
        (date(2024, 5, 1), 0, 0, 0, None, 0, 0.0, None, False),
        (date(2024, 6, 1), 5, 3, 2, 0.4, 20, 305.0, 15.25, False),  # the as-of date is June's last day
    ]


def test_activity_trend_marks_the_period_in_progress(database):
    """A period is partial when the as-of day is not its last day (same rule as nps_trend / csat_trend)."""
    mid_june = database.cursor(date(2024, 6, 15))
    months = run_query(mid_june, "activity_trend", **ALL, grain="month", start_date=None, end_date=None)
    assert months["is_partial_period"].tolist() == [False] * 5 + [True]
    weeks = run_query(mid_june, "activity_trend", **ALL, grain="week", start_date=None, end_date=None)
    assert weeks["is_partial_period"].tolist()[-1] is True and not any(weeks["is_partial_period"].tolist()[:-1])
    cohorts = run_query(mid_june, "cohort_retention", **ALL, grain="month", small_cohort_size=0)
    last_period = cohorts.groupby("cohort_start")["period_number"].transform("max") == cohorts["period_number"]
    assert (cohorts["is_partial_period"] == last_period).all()
    end_of_june = run_query(database.cursor(AS_OF), "cohort_retention", **ALL, grain="month", small_cohort_size=0)
    assert not end_of_june["is_partial_period"].any()


def test_activity_trend_by_week_covers_every_week_and_adds_up(cursor):
    frame = run_query(cursor, "activity_trend", **ALL, grain="week", start_date=None, end_date=None)
    # ISO weeks from Monday 2024-01-08 (week of the first order) to Monday 2024-06-24 (week of the as-of date)
    expected_starts = [date(2024, 1, 8) + timedelta(days=7 * number) for number in range(25)]
    assert [plain(value) for value in frame["period_start"]] == expected_starts
    assert (frame["active_customers"] == frame["new_customers"] + frame["returning_customers"]).all()
    assert frame["orders"].sum() == 27 and frame["revenue"].sum() == pytest.approx(655.0)
    assert frame["new_customers"].sum() == 7  # every customer is new exactly once
    assert frame["is_partial_period"].tolist() == [False] * 25  # the as-of date is a Sunday: week complete
    assert_rates_between_0_and_1(frame)


def test_activity_trend_date_range_keeps_periods_starting_inside_it(cursor):
    frame = run_query(
        cursor, "activity_trend", **ALL, grain="month", start_date=date(2024, 2, 15), end_date=date(2024, 5, 1)
    )
    assert [plain(value) for value in frame["period_start"]] == [date(2024, 3, 1), date(2024, 4, 1), date(2024, 5, 1)]
    # April's returning customer (c2) is still returning: history before the range counts
    assert rows(frame)[1] == (date(2024, 4, 1), 2, 1, 1, 0.5, 2, 100.0, 50.0, False)
    open_end = run_query(cursor, "activity_trend", **ALL, grain="quarter", start_date=date(2024, 4, 1), end_date=None)
    assert rows(open_end) == [(date(2024, 4, 1), 6, 4, 2, r(2 / 6), 22, 405.0, r(405 / 22), False)]


def test_activity_trend_segment_filter(cursor):
    frame = run_query(cursor, "activity_trend", **{**ALL, "channels": ["paid_social"]}, grain="month",
                      start_date=None, end_date=None)
    assert rows(frame) == [
        (date(2024, 1, 1), 1, 1, 0, 0.0, 1, 70.0, 70.0, False),
        (date(2024, 2, 1), 0, 0, 0, None, 0, 0.0, None, False),
        (date(2024, 3, 1), 0, 0, 0, None, 0, 0.0, None, False),
        (date(2024, 4, 1), 1, 0, 1, 1.0, 1, 40.0, 40.0, False),
        (date(2024, 5, 1), 0, 0, 0, None, 0, 0.0, None, False),
        (date(2024, 6, 1), 2, 1, 1, 0.5, 12, 130.0, r(130 / 12), False),
    ]


# time_to_second_order, second_order_milestones, second_order_rate_by_cohort

def test_time_to_second_order_rounds_fractional_days_down(cursor):
    frame = run_query(cursor, "time_to_second_order", **ALL)
    assert list(frame.columns) == ["days_to_second_order", "customers"]
    # c3 after 23 h 59 min -> 0; c5 and c6 after exactly 1 day; c1 after 36; c2 after 90
    assert rows(frame) == [(0, 1), (1, 2), (36, 1), (90, 1)]
    assert frame["customers"].sum() == run_query(cursor, "kpis", **ALL)["repeat_customers"].iloc[0]


def test_second_order_milestones_count_boundaries_as_inside(cursor):
    frame = run_query(cursor, "second_order_milestones", **ALL)
    assert list(frame.columns) == ["milestone_days", "eligible_customers", "reached_customers", "reached_rate"]
    # eligible: first order on or before cutoff - days. c4 (04-02 00:00) is eligible for 90 days exactly;
    # c2's second order is exactly 90 days after the first, so it reaches 90 but not 60.
    assert rows(frame) == [
        (30, 4, 1, 0.25),
        (60, 4, 2, 0.5),
        (90, 4, 3, 0.75),
        (180, 0, 0, None),
        (365, 0, 0, None),
    ]
    contract = run_query(cursor, "second_order_rate_90d", **ALL).iloc[0]
    ninety = frame.set_index("milestone_days").loc[90]
    assert ninety["reached_rate"] == contract["second_order_rate_90d"]
    assert (frame["reached_customers"] <= frame["eligible_customers"]).all()


def test_second_order_rate_by_cohort(cursor):
    month = run_query(cursor, "second_order_rate_by_cohort", **ALL, grain="month")
    assert list(month.columns) == [
        "cohort_start", "cohort_size", "eligible_customers", "second_order_customers", "second_order_rate_90d",
        "is_partial_period",
    ]
    # Partial while the cohort's last day + 90 days is after 30 June: 31 Mar + 90 d = 29 Jun (complete),
    # 30 Apr + 90 d = 29 Jul (not yet).
    assert rows(month) == [
        (date(2024, 1, 1), 2, 2, 2, 1.0, False),
        (date(2024, 3, 1), 1, 1, 1, 1.0, False),
        (date(2024, 4, 1), 1, 1, 0, 0.0, True),
        (date(2024, 6, 1), 3, 0, 0, None, True),
    ]
    quarter = run_query(cursor, "second_order_rate_by_cohort", **ALL, grain="quarter")
    assert rows(quarter) == [(date(2024, 1, 1), 3, 3, 3, 1.0, False), (date(2024, 4, 1), 4, 1, 0, 0.0, True)]
    week = run_query(cursor, "second_order_rate_by_cohort", **ALL, grain="week")
    assert week["cohort_size"].sum() == 7
    assert week["eligible_customers"].sum() == 4 and week["second_order_customers"].sum() == 3
    assert (week["second_order_customers"] <= week["eligible_customers"]).all()
    assert (week["eligible_customers"] <= week["cohort_size"]).all()


# orders_per_customer, repeat_rate_by_segment

def test_orders_per_customer_lists_every_bucket(cursor):
    frame = run_query(cursor, "orders_per_customer", **ALL)
    assert list(frame.columns) == ["order_count_bucket", "bucket_order", "customers", "customer_share", "revenue"]
    assert rows(frame) == [
        ("1", 1, 2, r(2 / 7), 105.0),
        ("2", 2, 1, r(1 / 7), 30.0),
        ("3", 3, 2, r(2 / 7), 310.0),
        ("4", 4, 0, 0.0, 0.0),
        ("5", 5, 0, 0.0, 0.0),
        ("6-10", 6, 1, r(1 / 7), 100.0),
        ("11+", 7, 1, r(1 / 7), 110.0),
    ]
    assert frame["customer_share"].sum() == pytest.approx(1.0)


def test_repeat_rate_by_segment_per_dimension(cursor):
    channels = run_query(cursor, "repeat_rate_by_segment", **ALL, dimension="acquisition_channel")
    assert list(channels.columns) == [
        "segment_value", "customers", "repeat_customers", "repeat_rate", "eligible_customers_90d",
        "second_order_rate_90d", "revenue", "revenue_per_customer",
    ]
    assert rows(channels) == [
        ("email", 3, 3, 1.0, 2, 1.0, 310.0, r(310 / 3)),
        ("paid_social", 2, 2, 1.0, 1, 1.0, 240.0, 120.0),
        ("referral", 1, 0, 0.0, 1, 0.0, 60.0, 60.0),
        ("unknown", 1, 0, 0.0, 0, None, 45.0, 45.0),  # c8 has no profile and no order channel
    ]
    tiers = run_query(cursor, "repeat_rate_by_segment", **ALL, dimension="loyalty_tier")
    assert [(row[0], row[1]) for row in rows(tiers)] == [("none", 3), ("gold", 2), ("bronze", 1), ("silver", 1)]
    filtered = run_query(cursor, "repeat_rate_by_segment", **EMAIL_ONLY, dimension="region")
    assert rows(filtered) == [
        ("EU", 2, 2, 1.0, 1, 1.0, 280.0, 140.0),
        ("US", 1, 1, 1.0, 1, 1.0, 30.0, 30.0),
    ]
    for dimension in ("region", "first_category"):
        frame = run_query(cursor, "repeat_rate_by_segment", **ALL, dimension=dimension)
        assert frame["customers"].sum() == 7 and frame["revenue"].sum() == pytest.approx(655.0)
        assert_rates_between_0_and_1(frame)
    assert run_query(cursor, "repeat_rate_by_segment", **ALL, dimension="email").empty  # not a dimension


# weekly_kpis

WEEKLY_COLUMNS = [
    "week_number", "week_start", "week_end", "active_customers", "new_customers", "orders", "revenue", "aov",
    "repeat_rate", "second_order_rate_90d", "nps_90d", "csat_90d", "nps_responses_90d", "csat_responses_90d",
]


def test_weekly_kpis_count_back_from_the_as_of_date(cursor):
    frame = run_query(cursor, "weekly_kpis", **ALL, weeks=3)
    assert list(frame.columns) == WEEKLY_COLUMNS
    assert rows(frame) == [
        # c1 once and c5 six times (the last at 23:59:59 on the as-of date); surveys in [04-02, 07-01)
        (0, date(2024, 6, 24), date(2024, 6, 30), 2, 1, 7, 130.0, r(130 / 7), r(5 / 7), 0.75, 25.0, 1.0, 4, 1),
        # c2, c6 four times, c8 at 23:30 on Sunday; c4 not yet 90 days old; surveys in [03-26, 06-24)
        (1, date(2024, 6, 17), date(2024, 6, 23), 3, 1, 6, 105.0, 17.5, r(4 / 6), 1.0, -50.0, 1.0, 2, 2),
        # c6's first seven orders; surveys in [03-19, 06-17)
        (2, date(2024, 6, 10), date(2024, 6, 16), 1, 1, 7, 70.0, 10.0, 0.8, 1.0, 0.0, r(2 / 3), 1, 3),
    ]


def test_weekly_kpis_segment_filter_drops_unknown_customers_surveys(cursor):
    frame = run_query(cursor, "weekly_kpis", **EMAIL_ONLY, weeks=3)
    assert rows(frame) == [
        (0, date(2024, 6, 24), date(2024, 6, 30), 2, 1, 7, 130.0, r(130 / 7), 1.0, 1.0, 100.0, None, 2, 0),
        (1, date(2024, 6, 17), date(2024, 6, 23), 0, 0, 0, 0.0, None, 1.0, 1.0, None, None, 0, 0),
        (2, date(2024, 6, 10), date(2024, 6, 16), 0, 0, 0, 0.0, None, 1.0, 1.0, None, 0.0, 0, 1),
    ]
    assert run_query(cursor, "weekly_kpis", **ALL, weeks=0).empty


def assert_week_zero_equals_contract(cursor, filters: Filters) -> None:
    week = run_query(cursor, "weekly_kpis", **filters.params(), weeks=1).iloc[0]
    contract = contract_metrics(cursor, filters)
    for key in ("repeat_rate", "second_order_rate_90d", "nps_90d", "csat_90d", "nps_responses_90d",
                "csat_responses_90d"):
        expected = contract[key]
        actual = None if pd.isna(week[key]) else week[key]
        assert actual == (None if expected is None else pytest.approx(expected, rel=1e-12, abs=1e-12)), key


def test_weekly_kpis_week_zero_equals_the_contract_metrics(cursor):
    assert_week_zero_equals_contract(cursor, Filters())
    assert_week_zero_equals_contract(cursor, Filters(Segment(channels=("email",))))


@pytest.mark.parametrize("timezone", ["UTC", "America/New_York"])
def test_weekly_kpis_week_zero_equals_the_contract_metrics_on_demo_data(tmp_path, open_database, timezone):
    demo.generate(tmp_path / "demo", customers=1500)
    database = open_database(tmp_path / "demo", timezone=timezone)
    cursor = database.cursor()
    assert_week_zero_equals_contract(cursor, Filters())
    assert_week_zero_equals_contract(cursor, Filters(Segment(regions=("EU", "UK"))))
    frame = run_query(cursor, "weekly_kpis", **ALL, weeks=12)
    assert frame["week_number"].tolist() == list(range(12))
    assert ((frame["week_end"] - frame["week_start"]).dt.days == 6).all()
    assert (frame["new_customers"] <= frame["active_customers"]).all()
    assert (frame["active_customers"] <= frame["orders"]).all()
    assert_rates_between_0_and_1(frame)


# segment_movements

def test_segment_movements_compare_the_last_two_weeks(cursor):
    frame = run_query(cursor, "segment_movements", **ALL)
    assert list(frame.columns) == [
        "dimension", "segment_value", "metric", "this_week", "previous_week", "change", "change_rate",
    ]
    assert len(frame) == 12 * 4  # 3 values with orders in the two weeks per dimension x 4 metrics
    tiers = sorted(row for row in rows(frame) if row[0] == "loyalty_tier")
    assert tiers == sorted([
        ("loyalty_tier", "bronze", "orders", 0.0, 4.0, -4.0, -1.0),
        ("loyalty_tier", "bronze", "revenue", 0.0, 40.0, -40.0, -1.0),
        ("loyalty_tier", "bronze", "new_customers", 0.0, 0.0, 0.0, None),  # c6's first order was in week 2
        ("loyalty_tier", "bronze", "active_customers", 0.0, 1.0, -1.0, -1.0),
        ("loyalty_tier", "gold", "orders", 1.0, 0.0, 1.0, None),
        ("loyalty_tier", "gold", "revenue", 30.0, 0.0, 30.0, None),
        ("loyalty_tier", "gold", "new_customers", 0.0, 0.0, 0.0, None),
        ("loyalty_tier", "gold", "active_customers", 1.0, 0.0, 1.0, None),
        ("loyalty_tier", "none", "orders", 6.0, 2.0, 4.0, 2.0),
        ("loyalty_tier", "none", "revenue", 100.0, 65.0, 35.0, r(35 / 65)),
        ("loyalty_tier", "none", "new_customers", 1.0, 1.0, 0.0, 0.0),
        ("loyalty_tier", "none", "active_customers", 1.0, 2.0, -1.0, -0.5),
    ])
    assert rows(frame)[0] == ("loyalty_tier", "none", "orders", 6.0, 2.0, 4.0, 2.0)
    # ordered by |change_rate| desc (missing last), then |change| desc, dimension, value, metric
    keys = [
        (row.change_rate is None or math.isnan(row.change_rate), -abs(row.change_rate or 0), -abs(row.change),
         row.dimension, row.segment_value, row.metric)
        for row in frame.itertuples()
    ]
    assert keys == sorted(keys)
    for dimension, rows_of_dimension in frame.groupby("dimension"):
        by_metric = rows_of_dimension.groupby("metric")[["this_week", "previous_week"]].sum()
        assert by_metric.loc["orders"].tolist() == [7.0, 6.0], dimension
        assert by_metric.loc["revenue"].tolist() == pytest.approx([130.0, 105.0]), dimension


def test_segment_movements_segment_filter(cursor):
    frame = run_query(cursor, "segment_movements", **EMAIL_ONLY)
    assert sorted({(row.dimension, row.segment_value) for row in frame.itertuples()}) == [
        ("acquisition_channel", "email"), ("first_category", "books"), ("loyalty_tier", "gold"),
        ("loyalty_tier", "none"), ("region", "EU"),
    ]
    email = frame[(frame["dimension"] == "acquisition_channel")].set_index("metric")
    assert email.loc["orders", ["this_week", "previous_week"]].tolist() == [7.0, 0.0]
    assert email["change_rate"].isna().all()


# cohort_members

COHORT_PARAMS = {"grain": "month", "cohort_start": date(2024, 1, 1), "show_email": False, "limit": 50, "offset": 0}


def test_cohort_members_flag_activity_in_the_chosen_period(cursor):
    frame = run_query(cursor, "cohort_members", **ALL, **COHORT_PARAMS, period_number=1, activity=None)
    assert list(frame.columns) == [
        "customer_id", "email", "first_ordered_at", "last_ordered_at", "count_orders", "revenue",
        "is_active_in_period", "total_matches",
    ]
    assert rows(frame) == [
        ("c1", "j***@example.com", at("2024-01-10 10:00"), at("2024-06-25 12:00"), 3, 180.0, True, 2),
        ("c2", "b***@shop.org", at("2024-01-20 08:00"), at("2024-06-18 09:00"), 3, 130.0, False, 2),
    ]
    april = run_query(cursor, "cohort_members", **ALL, **COHORT_PARAMS, period_number=3, activity=None)
    assert [(row[0], row[6]) for row in rows(april)] == [("c1", False), ("c2", True)]


def test_cohort_members_filter_and_page(cursor):
    def members(activity, limit=50, offset=0, **params):
        frame = run_query(cursor, "cohort_members", **{**ALL, **COHORT_PARAMS, "period_number": 1,
                                                       "activity": activity, "limit": limit, "offset": offset,
                                                       **params})
        return [(row[0], row[6], row[7]) for row in rows(frame)]

    assert members("active") == [("c1", True, 1)]
    assert members("inactive") == [("c2", False, 1)]
    assert members(None, limit=1, offset=1) == [("c2", False, 2)]  # total_matches counts before paging
    assert members(None, limit=None) == [("c1", True, 2), ("c2", False, 2)]
    assert members("' or 1=1 --") == []
    assert members(None, channels=["paid_social"]) == [("c2", False, 1)]
    quarter = members(None, grain="quarter")  # Q1 cohort, active in Q2: c1 (June) and c2 (April), not c3
    assert quarter == [("c1", True, 3), ("c2", True, 3), ("c3", False, 3)]


def test_cohort_members_mask_emails(cursor):
    june = run_query(cursor, "cohort_members", **ALL, **{**COHORT_PARAMS, "cohort_start": date(2024, 6, 1)},
                     period_number=0, activity=None)
    assert [(row[0], row[1], row[6]) for row in rows(june)] == [
        ("c6", "a***@mail.net", True), ("c5", "e***@example.com", True), ("c8", None, True),
    ]
    march = run_query(cursor, "cohort_members", **ALL, **{**COHORT_PARAMS, "cohort_start": date(2024, 3, 1)},
                      period_number=0, activity=None)
    april = run_query(cursor, "cohort_members", **ALL, **{**COHORT_PARAMS, "cohort_start": date(2024, 4, 1)},
                      period_number=0, activity=None)
    assert march["email"].tolist() == [None] and april["email"].tolist() == ["n***"]


def test_cohort_members_show_real_emails_only_when_asked(cursor):
    frame = run_query(cursor, "cohort_members", **ALL, **{**COHORT_PARAMS, "show_email": True},
                      period_number=1, activity=None)
    assert frame["email"].tolist() == ["jane@example.com", "bob@shop.org"]


# every query

@pytest.mark.parametrize("name", QUERY_NAMES)
def test_header_lists_exactly_the_parameters_used(name):
    sql = load_sql(name)
    assert sql.startswith("-- Grain: ")
    assert declared_parameters(sql) == sql_parameters(sql)
    assert {"channels", "regions", "categories", "tiers"} <= sql_parameters(sql)


@pytest.mark.parametrize("name", QUERY_NAMES)
def test_hostile_filter_value_matches_nobody(cursor, name):
    frame = run_query(cursor, name, **HOSTILE, **EXTRA_PARAMS.get(name, {}))
    if name == "second_order_milestones":
        assert frame["eligible_customers"].tolist() == [0] * 5
    elif name == "orders_per_customer":
        assert frame["customers"].tolist() == [0] * 7 and frame["customer_share"].isna().all()
    elif name == "weekly_kpis":
        assert frame["orders"].tolist() == [0, 0, 0] and frame["nps_responses_90d"].tolist() == [0, 0, 0]
        assert frame["repeat_rate"].isna().all()
    else:
        assert frame.empty


@pytest.mark.parametrize("name", QUERY_NAMES)
def test_every_query_runs_on_an_empty_segment_list(cursor, name):
    """An empty list matches nobody (null means all); the queries still return their columns."""
    frame = run_query(cursor, name, **{**ALL, "tiers": []}, **EXTRA_PARAMS.get(name, {}))
    assert len(frame.columns) > 0
