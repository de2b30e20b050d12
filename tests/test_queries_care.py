"""Satisfaction and post-purchase care queries: hand-computed answers on tiny Parquet exports."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from scipy.stats import binomtest

from dashboard.queries import declared_parameters, load_sql, run_query, sql_parameters
from tests.exports import utc, write_table

CARE_QUERIES = (
    "nps_trend",
    "csat_trend",
    "satisfaction_by_dimension",
    "survey_response_rate",
    "repurchase_after_response",
    "survey_comments",
    "care_repeat_rates",
    "care_summary",
)
ALL_SEGMENTS = {"channels": None, "regions": None, "categories": None, "tiers": None}
NOBODY = {**ALL_SEGMENTS, "channels": ["' or 1=1 --"]}
DOCS_DIR = Path(__file__).resolve().parent.parent / "docs"
NO_PAGE = {"search": None, "kinds": None, "min_score": None, "max_score": None, "limit": None, "offset": None,
           "show_pii": False}


def assert_rows(actual: pd.DataFrame, columns: list[str], rows: list[tuple]) -> None:
    """The frame has exactly these columns and rows (floats to 1e-9, None = missing, dates as dates)."""
    expected = pd.DataFrame(rows, columns=columns)
    for column in columns:
        if pd.api.types.is_float_dtype(actual[column]):
            expected[column] = expected[column].astype(float)
        elif pd.api.types.is_datetime64_any_dtype(actual[column]):
            expected[column] = pd.to_datetime(expected[column]).astype(actual[column].dtype)
    assert list(actual.columns) == columns
    assert_frame_equal(actual.reset_index(drop=True), expected, check_dtype=False, rtol=1e-9, atol=1e-12)


def check_rates(frame: pd.DataFrame, *columns: str) -> None:
    """Every non-missing rate is a share between 0 and 1."""
    for column in columns:
        values = frame[column].dropna()
        assert ((values >= 0) & (values <= 1)).all(), column


# Satisfaction fixture: three customers with orders (c1, c3 email; c2 paid_social), one respondent with no
# orders (zz), a response late on April 30 UTC (May 1 in Berlin), a response after the as-of date, a
# cancelled order and an order after the as-of date.
SATISFACTION_AS_OF = date(2024, 6, 30)  # a Sunday and the last day of June and Q2: no period is partial


@pytest.fixture
def satisfaction_dir(tmp_path):
    data_dir = tmp_path / "satisfaction"
    write_table(
        data_dir,
        "orders",
        {
            "order_id": ["O1", "O2", "O3", "O4", "O5", "O6"],
            "customer_id": ["c1", "c2", "c3", "c2", "c1", "c1"],
            "ordered_at": pd.to_datetime(
                ["2024-01-05 10:00", "2024-02-01 10:00", "2024-03-01 10:00", "2024-06-05 10:00",
                 "2024-06-07 10:00", "2024-07-03 10:00"]
            ),
            "revenue": [10.0, 20.0, 30.0, 40.0, 50.0, 60.0],
            "status": ["completed", "completed", "completed", "completed", "Cancelled", "completed"],
            "region": ["EU", "US", "UK", "US", "EU", "EU"],
        },
    )
    write_table(
        data_dir,
        "customers",
        {
            "customer_id": ["c1", "c2", "c3"],
            "acquisition_channel": ["email", "paid_social", "email"],
            "region": ["EU", "US", None],  # c3 falls back to its first order's region, UK
        },
    )
    write_table(
        data_dir,
        "surveys",
        {
            "response_id": ["s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11"],
            "customer_id": ["c1", "c2", "c1", "zz", "c3", "c2", "c1", "c2", "c2", "zz", "c3"],
            "submitted_at": pd.to_datetime(
                ["2024-04-10 12:00", "2024-04-20 12:00", "2024-04-30 23:30", "2024-05-15 12:00",
                 "2024-06-29 00:00", "2024-07-02 12:00", "2024-06-01 12:00", "2024-06-10 12:00",
                 "2024-06-15 12:00", "2024-06-20 12:00", "2024-05-05 12:00"]
            ),
            "kind": ["nps", "nps", "nps", "nps", "nps", "nps", "CSAT", " NPS ", "csat", "csat", "csat"],
            "score": [10, 6, 8, 9, 0, 10, 5, 7, 3, 4, 1],
            "touchpoint": ["post_delivery", "post_support", "post_delivery", None, "post_support",
                           "post_delivery", "post_delivery", "", "post_support", "post_delivery", "post_delivery"],
        },
    )
    return data_dir


NPS_COLUMNS = ["period_start", "responses", "promoters", "passives", "detractors", "promoter_share",
               "passive_share", "detractor_share", "nps", "is_partial_period"]


def test_nps_trend_by_month_with_segment_and_date_range(satisfaction_dir, open_database):
    cursor = open_database(satisfaction_dir).cursor(SATISFACTION_AS_OF)
    trend = run_query(cursor, "nps_trend", grain="month", start_date=None, end_date=None, **ALL_SEGMENTS)
    # April: s1 promoter, s2 detractor, s3 passive; May: zz's promoter (no orders, counts unfiltered);
    # June: s5 detractor, s8 passive (kind " NPS "); s6 is after the as-of date.
    assert_rows(trend, NPS_COLUMNS, [
        (date(2024, 4, 1), 3, 1, 1, 1, 1 / 3, 1 / 3, 1 / 3, 0.0, False),
        (date(2024, 5, 1), 1, 1, 0, 0, 1.0, 0.0, 0.0, 100.0, False),
        (date(2024, 6, 1), 2, 0, 1, 1, 0.0, 0.5, 0.5, -50.0, False),
    ])
    check_rates(trend, "promoter_share", "passive_share", "detractor_share")
    assert (trend["promoters"] + trend["passives"] + trend["detractors"] == trend["responses"]).all()

    email = run_query(cursor, "nps_trend", grain="month", start_date=None, end_date=None,
                      **{**ALL_SEGMENTS, "channels": ["email"]})
    assert_rows(email, NPS_COLUMNS, [
        (date(2024, 4, 1), 2, 1, 1, 0, 0.5, 0.5, 0.0, 50.0, False),
        (date(2024, 6, 1), 1, 0, 0, 1, 0.0, 0.0, 1.0, -100.0, False),
    ])

    # The date range filters periods by their start: May 15 excludes May (which starts May 1).
    from_may = run_query(cursor, "nps_trend", grain="month", start_date=date(2024, 5, 1),
                         end_date=date(2024, 5, 31), **ALL_SEGMENTS)
    assert list(from_may["period_start"].dt.date) == [date(2024, 5, 1)]
    mid_may = run_query(cursor, "nps_trend", grain="month", start_date=date(2024, 5, 15), end_date=None,
                        **ALL_SEGMENTS)
    assert list(mid_may["period_start"].dt.date) == [date(2024, 6, 1)]

    nobody = run_query(cursor, "nps_trend", grain="month", start_date=None, end_date=None, **NOBODY)
    assert nobody.empty


def test_nps_trend_periods_are_local_and_flag_the_unfinished_period(satisfaction_dir, open_database):
    berlin = open_database(satisfaction_dir, timezone="Europe/Berlin").cursor(SATISFACTION_AS_OF)
    trend = run_query(berlin, "nps_trend", grain="month", start_date=None, end_date=None, **ALL_SEGMENTS)
    # s3 (April 30 23:30 UTC) is May 1 01:30 in Berlin.
    assert_rows(trend, NPS_COLUMNS, [
        (date(2024, 4, 1), 2, 1, 0, 1, 0.5, 0.0, 0.5, 0.0, False),
        (date(2024, 5, 1), 2, 1, 1, 0, 0.5, 0.5, 0.0, 50.0, False),
        (date(2024, 6, 1), 2, 0, 1, 1, 0.0, 0.5, 0.5, -50.0, False),
    ])

    database = open_database(satisfaction_dir)
    quarters = run_query(database.cursor(SATISFACTION_AS_OF), "nps_trend", grain="quarter", start_date=None,
                         end_date=None, **ALL_SEGMENTS)
    assert_rows(quarters, NPS_COLUMNS, [(date(2024, 4, 1), 6, 2, 2, 2, 1 / 3, 1 / 3, 1 / 3, 0.0, False)])

    # Weeks start on Monday; June 30 2024 is a Sunday, so its week is complete, while as of June 29 it is not.
    weeks = run_query(database.cursor(SATISFACTION_AS_OF), "nps_trend", grain="week", start_date=date(2024, 6, 1),
                      end_date=None, **ALL_SEGMENTS)
    assert list(zip(weeks["period_start"].dt.date, weeks["responses"], weeks["is_partial_period"])) == [
        (date(2024, 6, 10), 1, False), (date(2024, 6, 24), 1, False),
    ]
    saturday = run_query(database.cursor(date(2024, 6, 29)), "nps_trend", grain="week", start_date=date(2024, 6, 1),
                         end_date=None, **ALL_SEGMENTS)
    assert list(saturday["is_partial_period"]) == [False, True]
    june_29 = run_query(database.cursor(date(2024, 6, 29)), "nps_trend", grain="month", start_date=None,
                        end_date=None, **ALL_SEGMENTS)
    assert list(june_29["is_partial_period"]) == [False, False, True]


CSAT_COLUMNS = ["period_start", "responses", "satisfied_responses", "csat", "mean_score", "is_partial_period"]


def test_csat_trend_by_month(satisfaction_dir, open_database):
    cursor = open_database(satisfaction_dir).cursor(date(2024, 6, 20))
    trend = run_query(cursor, "csat_trend", grain="month", start_date=None, end_date=None, **ALL_SEGMENTS)
    # May: s11 scored 1. June up to the 20th: s7 5 ("CSAT"), s9 3, s10 4 (zz, no orders).
    assert_rows(trend, CSAT_COLUMNS, [
        (date(2024, 5, 1), 1, 0, 0.0, 1.0, False),
        (date(2024, 6, 1), 3, 2, 2 / 3, 4.0, True),
    ])
    check_rates(trend, "csat")
    assert ((trend["mean_score"] >= 1) & (trend["mean_score"] <= 5)).all()

    email = run_query(cursor, "csat_trend", grain="month", start_date=date(2024, 6, 1), end_date=None,
                      **{**ALL_SEGMENTS, "channels": ["email"]})
    assert_rows(email, CSAT_COLUMNS, [(date(2024, 6, 1), 1, 1, 1.0, 5.0, True)])


SATISFACTION_DIMENSION_COLUMNS = ["dimension_value", "nps_responses", "nps", "csat_responses", "csat"]


def test_satisfaction_by_dimension(satisfaction_dir, open_database):
    cursor = open_database(satisfaction_dir).cursor(SATISFACTION_AS_OF)
    everything = {"start_date": None, "end_date": None, **ALL_SEGMENTS}
    by_touchpoint = run_query(cursor, "satisfaction_by_dimension", dimension="touchpoint", **everything)
    assert_rows(by_touchpoint, SATISFACTION_DIMENSION_COLUMNS, [
        ("post_delivery", 2, 50.0, 3, 2 / 3),  # NPS s1 10, s3 8; CSAT s7 5, s10 4, s11 1
        ("post_support", 2, -100.0, 1, 0.0),  # NPS s2 6, s5 0; CSAT s9 3
        ("unknown", 2, 50.0, 0, None),  # NPS s4 9 (missing touchpoint), s8 7 (empty touchpoint)
    ])
    by_channel = run_query(cursor, "satisfaction_by_dimension", dimension="acquisition_channel", **everything)
    assert_rows(by_channel, SATISFACTION_DIMENSION_COLUMNS, [
        ("email", 3, 0.0, 2, 0.5),  # c1, c3: NPS 10, 8, 0; CSAT 5, 1
        ("paid_social", 2, -50.0, 1, 0.0),  # c2: NPS 6, 7; CSAT 3
        ("unknown", 1, 100.0, 1, 1.0),  # zz has no orders
    ])
    check_rates(by_channel, "csat")

    june_by_region = run_query(cursor, "satisfaction_by_dimension", dimension="region", start_date=date(2024, 6, 1),
                               end_date=date(2024, 6, 30), **ALL_SEGMENTS)
    assert_rows(june_by_region, SATISFACTION_DIMENSION_COLUMNS, [
        ("EU", 0, None, 1, 1.0),  # c1's s7
        ("UK", 1, -100.0, 0, None),  # c3's s5 (region from its first order)
        ("US", 1, 0.0, 1, 0.0),  # c2's s8, s9
        ("unknown", 0, None, 1, 1.0),  # zz's s10
    ])

    us_only = run_query(cursor, "satisfaction_by_dimension", dimension="touchpoint", start_date=None, end_date=None,
                        **{**ALL_SEGMENTS, "regions": ["US"]})
    assert_rows(us_only, SATISFACTION_DIMENSION_COLUMNS, [
        ("post_support", 1, -100.0, 1, 0.0),
        ("unknown", 1, 0.0, 0, None),
    ])

    unknown_dimension = run_query(cursor, "satisfaction_by_dimension", dimension="comment", **everything)
    assert unknown_dimension.empty


def test_satisfaction_by_dimension_filters_on_the_local_submission_date(satisfaction_dir, open_database):
    berlin = open_database(satisfaction_dir, timezone="Europe/Berlin").cursor(SATISFACTION_AS_OF)
    may_day = run_query(berlin, "satisfaction_by_dimension", dimension="touchpoint", start_date=date(2024, 5, 1),
                        end_date=date(2024, 5, 1), **ALL_SEGMENTS)
    assert_rows(may_day, SATISFACTION_DIMENSION_COLUMNS, [("post_delivery", 1, 0.0, 0, None)])  # s3 only


RESPONSE_RATE_COLUMNS = ["period_start", "orders", "responses", "responses_per_order", "is_partial_period"]


def test_survey_response_rate(satisfaction_dir, open_database):
    cursor = open_database(satisfaction_dir).cursor(SATISFACTION_AS_OF)
    rates = run_query(cursor, "survey_response_rate", grain="month", start_date=None, end_date=None, **ALL_SEGMENTS)
    # O5 is cancelled and O6 after the as-of date; responses of every kind count.
    assert_rows(rates, RESPONSE_RATE_COLUMNS, [
        (date(2024, 1, 1), 1, 0, 0.0, False),
        (date(2024, 2, 1), 1, 0, 0.0, False),
        (date(2024, 3, 1), 1, 0, 0.0, False),
        (date(2024, 4, 1), 0, 3, None, False),
        (date(2024, 5, 1), 0, 2, None, False),
        (date(2024, 6, 1), 1, 5, 5.0, False),
    ])

    email = run_query(cursor, "survey_response_rate", grain="month", start_date=date(2024, 2, 1),
                      end_date=date(2024, 6, 1), **{**ALL_SEGMENTS, "channels": ["email"]})
    assert_rows(email, RESPONSE_RATE_COLUMNS, [
        (date(2024, 3, 1), 1, 0, 0.0, False),
        (date(2024, 4, 1), 0, 2, None, False),
        (date(2024, 5, 1), 0, 1, None, False),
        (date(2024, 6, 1), 0, 2, None, False),
    ])

    # As of 15 June, June is in progress (its orders and responses still to come); May is complete.
    mid_month = open_database(satisfaction_dir).cursor(date(2024, 6, 15))
    partial = run_query(mid_month, "survey_response_rate", grain="month", start_date=date(2024, 5, 1),
                        end_date=None, **ALL_SEGMENTS)
    assert dict(zip(partial["period_start"].dt.date, partial["is_partial_period"])) == {
        date(2024, 5, 1): False, date(2024, 6, 1): True}


# Care fixture, as of 2024-12-31 (cutoff 2025-01-01 00:00 UTC): anchors are orders placed on or before
# 2024-10-03. a1 and d1 came by email, b1 and e1 by paid social; yy and zz have no orders.
CARE_AS_OF = date(2024, 12, 31)


@pytest.fixture
def care_dir(tmp_path):
    data_dir = tmp_path / "care"
    write_table(
        data_dir,
        "orders",
        {
            "order_id": ["A1", "A2", "A3", "B1", "B2", "B3", "D1", "D2", "D3", "D4", "E1"],
            "customer_id": ["a1", "a1", "a1", "b1", "b1", "b1", "d1", "d1", "d1", "d1", "e1"],
            "ordered_at": pd.to_datetime(
                ["2024-01-01", "2024-02-01", "2024-09-01", "2024-03-01", "2024-05-30", "2024-10-01",
                 "2024-06-01", "2024-06-15", "2024-07-01", "2024-12-20", "2024-10-05"]
            ),
            "revenue": [10.0] * 11,
            "status": ["completed"] * 7 + ["cancelled"] + ["completed"] * 3,
        },
    )
    write_table(
        data_dir,
        "customers",
        {"customer_id": ["a1", "b1", "d1", "e1"], "acquisition_channel": ["email", "paid_social", "email", "paid_social"]},
    )
    write_table(
        data_dir,
        "tickets",
        {
            "ticket_id": ["t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t10", "t11"],
            "customer_id": ["a1", "a1", "a1", "b1", "b1", "d1", "d1", "yy", "b1", "d1"],
            "order_id": ["A1", None, None, "B2", "B3", None, "D2", None, "B1", None],
            "opened_at": pd.to_datetime(
                ["2024-01-05 00:00", "2024-02-10 00:00", "2024-02-20 00:00", "2024-06-01 00:00", "2024-12-01 00:00",
                 "2024-05-01 00:00", "2024-06-16 00:00", "2024-03-01 00:00", "2024-03-02 00:00", "2024-07-01 00:00"]
            ),
            "resolved_at": pd.to_datetime(
                ["2024-01-05 12:00", "2024-02-11 00:00", None, "2024-06-08 00:00", "2025-02-01 00:00",
                 "2024-05-03 00:00", "2024-06-20 00:00", None, "2024-03-05 06:00", "2024-07-01 01:00"]
            ),
            "category": ["delivery"] * 10,
        },
    )
    write_table(
        data_dir,
        "returns",
        {
            "return_id": ["ret1", "ret2", "ret3", "ret4", "ret5", "ret6"],
            "order_id": ["A1", "A1", "B3", "D2", "Z9", "A3"],
            "customer_id": ["a1", "a1", "b1", "d1", "zz", "a1"],
            "requested_at": pd.to_datetime(
                ["2024-01-10", "2024-01-12", "2024-10-10", "2024-06-20", "2024-05-01", "2025-01-05"]
            ),
        },
    )
    write_table(
        data_dir,
        "surveys",
        {
            "response_id": ["v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13", "v14"],
            "customer_id": ["a1", "a1", "b1", "b1", "d1", "a1", "d1", "d1", "zz", "e1", "b1", "a1", "d1", "e1"],
            "order_id": ["A3", None, None, "B2", None, "A1", "D1", "D1", None, "E1", None, None, None, None],
            "submitted_at": pd.to_datetime(
                ["2024-09-05", "2024-02-25", "2024-03-31", "2024-06-10", "2024-07-05", "2024-01-20", "2024-06-05",
                 "2024-06-06", "2024-05-01", "2024-10-20", "2024-11-01", "2024-08-03", "2024-10-03", "2024-10-10"]
            ),
            "kind": ["nps", "nps", "csat", "nps", "nps", "nps", "nps", "nps", "nps", "nps", "nps", "csat", "csat",
                     "nps"],
            "score": [3, 9, 2, 5, 6, 8, 4, 10, 0, 2, 10, 4.5, 5, 10],
        },
    )
    return data_dir


REPURCHASE_COLUMNS = ["kind", "response_group", "group_order", "responses", "repurchased_responses",
                      "repurchase_rate_90d", "customers"]


def test_repurchase_after_response(care_dir, open_database):
    cursor = open_database(care_dir).cursor(CARE_AS_OF)
    rates = run_query(cursor, "repurchase_after_response", **ALL_SEGMENTS)
    # Eligible: submitted on or before 2024-10-03 (v13 exactly 90 days before the cutoff); v10, v11 are too late.
    assert_rows(rates, REPURCHASE_COLUMNS, [
        ("nps", "promoter", 1, 2, 1, 0.5, 2),  # v2 (a1's next order is 189 days later), v8 (D3 25 days later)
        ("nps", "passive", 2, 1, 1, 1.0, 1),  # v6 (A2 12 days later)
        ("nps", "detractor", 3, 5, 1, 0.2, 4),  # v1, v4, v5, zz's v9 (no orders) no; v7 yes (D3)
        ("csat", "1", 1, 0, 0, None, 0),
        ("csat", "2", 2, 1, 1, 1.0, 1),  # v3 (B2 60 days later)
        ("csat", "3", 3, 0, 0, None, 0),
        ("csat", "4", 4, 1, 1, 1.0, 1),  # v12 scored 4.5 (A3 29 days later)
        ("csat", "5", 5, 1, 1, 1.0, 1),  # v13 (D4 78 days later)
    ])
    check_rates(rates, "repurchase_rate_90d")
    assert (rates["repurchased_responses"] <= rates["responses"]).all()

    email = run_query(cursor, "repurchase_after_response", **{**ALL_SEGMENTS, "channels": ["email"]})
    assert_rows(email, REPURCHASE_COLUMNS, [
        ("nps", "promoter", 1, 2, 1, 0.5, 2),
        ("nps", "passive", 2, 1, 1, 1.0, 1),
        ("nps", "detractor", 3, 3, 1, 1 / 3, 2),  # a1's v1, d1's v5 and v7
        ("csat", "1", 1, 0, 0, None, 0),
        ("csat", "2", 2, 0, 0, None, 0),
        ("csat", "3", 3, 0, 0, None, 0),
        ("csat", "4", 4, 1, 1, 1.0, 1),
        ("csat", "5", 5, 1, 1, 1.0, 1),
    ])


CARE_RATE_COLUMNS = ["care_dimension", "care_group", "group_order", "anchor_orders", "customers",
                     "repurchased_orders"]


def wilson(successes: int, trials: int) -> tuple[float | None, float | None]:
    """The 95% Wilson score interval, from scipy (an implementation independent of ours)."""
    if trials == 0:
        return None, None
    interval = binomtest(successes, trials).proportion_ci(confidence_level=0.95, method="wilson")
    return interval.low, interval.high


def test_care_repeat_rates(care_dir, open_database):
    cursor = open_database(care_dir).cursor(CARE_AS_OF)
    rates = run_query(cursor, "care_repeat_rates", **ALL_SEGMENTS)
    # Anchors (repurchased?): A1 yes (A2 31 days later), A2 no, A3 no, B1 yes (B2 exactly 90 days later),
    # B2 no, B3 no, D1 yes (D3 30 days later; D2 is cancelled), D3 no. D4 and E1 are too recent.
    counts = [
        ("ticket", "no ticket", 1, 2, 2, 1),  # A3, D1 (d1's t6 predates its orders, t7 is on cancelled D2)
        ("ticket", "resolved", 2, 4, 3, 2),  # A1 (t1), B1 (t10), B2 (t4), D3 (t11, unlinked, opened at D3's instant)
        ("ticket", "unresolved", 3, 2, 2, 0),  # A2 (unlinked t2 resolved, t3 open), B3 (t5 resolved after the cutoff)
        ("resolution_time", "< 1 day", 1, 2, 2, 1),  # A1 0.5 days, D3 1 hour
        ("resolution_time", "1-3 days", 2, 1, 1, 0),  # A2's first ticket t2, exactly 1 day
        ("resolution_time", "3-7 days", 3, 1, 1, 1),  # B1 3.25 days
        ("resolution_time", "> 7 days", 4, 1, 1, 0),  # B2 exactly 7 days
        ("return", "returned", 1, 2, 2, 1),  # A1 (two returns), B3
        ("return", "not returned", 2, 6, 3, 2),
        ("survey", "surveyed", 1, 7, 3, 3),  # v3 unlinked, exactly 30 days after B1; v2 after A2; v5 after D3
        ("survey", "not surveyed", 2, 1, 1, 0),  # B3 (v11 came 31 days later)
        ("silent_unhappy", "detractor, no ticket", 1, 2, 2, 1),  # A3 (v1), D1 (v7 detractor, v8 promoter)
        ("silent_unhappy", "detractor with ticket", 2, 2, 2, 0),  # B2 (v4, t4), D3 (v5, t11)
        ("silent_unhappy", "promoter or passive", 3, 2, 1, 1),  # A1 (v6 passive), A2 (v2 promoter)
    ]
    expected = []
    for *keys, anchors, customers, repurchased in counts:
        rate = repurchased / anchors if anchors else None
        expected.append((*keys, anchors, customers, repurchased, rate, *wilson(repurchased, anchors)))
    assert_rows(rates, CARE_RATE_COLUMNS + ["repurchase_rate_90d", "ci_low", "ci_high"], expected)
    check_care_invariants(rates)

    email = run_query(cursor, "care_repeat_rates", **{**ALL_SEGMENTS, "channels": ["email"]})
    assert_rows(email[CARE_RATE_COLUMNS], CARE_RATE_COLUMNS, [
        ("ticket", "no ticket", 1, 2, 2, 1),
        ("ticket", "resolved", 2, 2, 2, 1),
        ("ticket", "unresolved", 3, 1, 1, 0),
        ("resolution_time", "< 1 day", 1, 2, 2, 1),
        ("resolution_time", "1-3 days", 2, 1, 1, 0),
        ("resolution_time", "3-7 days", 3, 0, 0, 0),
        ("resolution_time", "> 7 days", 4, 0, 0, 0),
        ("return", "returned", 1, 1, 1, 1),
        ("return", "not returned", 2, 4, 2, 1),
        ("survey", "surveyed", 1, 5, 2, 2),
        ("survey", "not surveyed", 2, 0, 0, 0),
        ("silent_unhappy", "detractor, no ticket", 1, 2, 2, 1),
        ("silent_unhappy", "detractor with ticket", 2, 1, 1, 0),
        ("silent_unhappy", "promoter or passive", 3, 2, 1, 1),
    ])
    check_care_invariants(email)

    nobody = run_query(cursor, "care_repeat_rates", **NOBODY)
    assert len(nobody) == 14 and (nobody["anchor_orders"] == 0).all()
    assert nobody[["repurchase_rate_90d", "ci_low", "ci_high"]].isna().all().all()


def check_care_invariants(rates: pd.DataFrame) -> None:
    """Rates are shares inside their interval; every anchor is in exactly one group of the exhaustive dimensions."""
    check_rates(rates, "repurchase_rate_90d", "ci_low", "ci_high")
    present = rates[rates["anchor_orders"] > 0]
    assert (present["ci_low"] <= present["repurchase_rate_90d"]).all()
    assert (present["repurchase_rate_90d"] <= present["ci_high"]).all()
    assert (rates["repurchased_orders"] <= rates["anchor_orders"]).all()
    assert (rates["customers"] <= rates["anchor_orders"]).all()
    totals = rates.groupby("care_dimension", sort=False)["anchor_orders"].sum()
    assert totals["ticket"] == totals["return"] == totals["survey"]
    assert totals["resolution_time"] <= totals["ticket"] and totals["silent_unhappy"] <= totals["survey"]


def test_wilson_interval_matches_published_values(care_dir, open_database):
    """Our SQL interval equals scipy's and, rounded, the textbook example of 0 successes in 2 trials."""
    cursor = open_database(care_dir).cursor(CARE_AS_OF)
    rates = run_query(cursor, "care_repeat_rates", **ALL_SEGMENTS).set_index(["care_dimension", "care_group"])
    zero_of_two = rates.loc[("ticket", "unresolved")]
    assert zero_of_two["ci_low"] == 0.0
    # z^2 / (n + z^2) with z = 1.959964: 3.841459 / 5.841459
    assert zero_of_two["ci_high"] == pytest.approx(0.657620, abs=1e-6)


CARE_SUMMARY_COLUMNS = ["tickets", "resolved_tickets", "unresolved_tickets", "median_resolution_days", "returns",
                        "return_rate", "customers_with_open_ticket", "silent_unhappy_customers"]


def test_care_summary(care_dir, open_database):
    cursor = open_database(care_dir).cursor(CARE_AS_OF)
    summary = run_query(cursor, "care_summary", **ALL_SEGMENTS)
    # Tickets of customers with orders (yy's t8 left out): resolved in 0.5, 1, 7, 2, 4, 3.25 and 1/24 days;
    # t3 and t5 (resolved after the cutoff) open. Returns: ret1-ret4 (ret5 is zz's, ret6 after the cutoff);
    # orders with a return: A1, B3 of 10 valid orders. Silent unhappy: e1 (promoter v14, then detractor v10) and
    # zz, whose latest NPS response is a detractor and who opened no ticket; a1 and d1 opened tickets, b1's latest
    # response is a promoter.
    assert_rows(summary, CARE_SUMMARY_COLUMNS, [(9, 7, 2, 2.0, 4, 0.2, 2, 2)])

    paid = run_query(cursor, "care_summary", **{**ALL_SEGMENTS, "channels": ["paid_social"]})
    assert_rows(paid, CARE_SUMMARY_COLUMNS, [(3, 2, 1, (3.25 + 7) / 2, 1, 0.25, 1, 1)])

    nobody = run_query(cursor, "care_summary", **NOBODY)
    assert_rows(nobody, CARE_SUMMARY_COLUMNS, [(0, 0, 0, None, 0, None, 0, 0)])


# Comments fixture: texts that are wildcards or SQL to LIKE or to a formatted query, and personal data.
COMMENTS = {
    "r1": ("c1", "2024-06-01 12:00", "nps", 9, "Great, 100% happy_customer"),
    "r2": ("c2", "2024-06-02 12:00", "nps", 3, "Broken item. Email me at Jane.Doe@example.com or call +1 (555) 123-4567"),
    "r3": ("c1", "2024-06-03 12:00", "csat", 2, "it's bad"),
    "r4": ("c2", "2024-06-03 13:00", "csat", 5, "   "),
    "r5": ("c1", "2024-06-04 12:00", "nps", 10, None),
    "r6": ("zz", "2024-06-05 12:00", "nps", 7, "path C:\\temp 50% off"),
    "r7": ("c1", "2024-06-05 12:00", "csat", 4, "call 555.987.6543 or 020 7946 0958, order 123456"),
    "r8": ("c2", "2024-07-05 12:00", "nps", 8, "after the as-of date"),
    "r9": ("c2", "2024-06-06 12:00", "nps", 0, "hello'world"),
}
MASKED = {
    "r1": "Great, 100% happy_customer",
    "r2": "Broken item. Email me at [email] or call [phone]",
    "r3": "it's bad",
    "r6": "path C:\\temp 50% off",
    "r7": "call [phone] or [phone], order 123456",
    "r9": "hello'world",
}


@pytest.fixture
def comments_cursor(tmp_path, open_database):
    data_dir = tmp_path / "comments"
    write_table(
        data_dir,
        "orders",
        {"order_id": ["O1", "O2"], "customer_id": ["c1", "c2"], "ordered_at": [utc("2024-05-01"), utc("2024-05-02")],
         "revenue": [10.0, 20.0]},
    )
    write_table(data_dir, "customers", {"customer_id": ["c1", "c2"], "acquisition_channel": ["email", "paid_social"]})
    write_table(
        data_dir,
        "surveys",
        {
            "response_id": list(COMMENTS),
            "customer_id": [row[0] for row in COMMENTS.values()],
            "submitted_at": pd.to_datetime([row[1] for row in COMMENTS.values()]),
            "kind": [row[2] for row in COMMENTS.values()],
            "score": [row[3] for row in COMMENTS.values()],
            "touchpoint": ["post_delivery"] * len(COMMENTS),
            "comment": [row[4] for row in COMMENTS.values()],
        },
    )
    return open_database(data_dir).cursor(date(2024, 6, 30))


def comment_ids(frame: pd.DataFrame) -> list[str]:
    """The response ids of returned comments, found back through their masked text and time."""
    by_content = {(MASKED[key], pd.Timestamp(COMMENTS[key][1])): key for key in MASKED}
    return [by_content[(text, at)] for text, at in zip(frame["comment_masked"], frame["submitted_at"])]


def test_survey_comments_are_masked_and_newest_first(comments_cursor):
    comments = run_query(comments_cursor, "survey_comments", **NO_PAGE, **ALL_SEGMENTS)
    assert list(comments.columns) == ["submitted_at", "customer_id", "kind", "score", "nps_category", "touchpoint",
                                      "comment_masked", "total_matches"]
    # Blank (r4) and missing (r5) comments and r8 (after the as-of date) are left out; r6 and r7 tie on time.
    assert comment_ids(comments) == ["r9", "r6", "r7", "r3", "r2", "r1"]
    assert list(comments["comment_masked"]) == [MASKED[key] for key in ["r9", "r6", "r7", "r3", "r2", "r1"]]
    assert list(comments["customer_id"]) == ["c2", "zz", "c1", "c1", "c2", "c1"]
    assert list(comments["nps_category"].fillna("-")) == ["detractor", "passive", "-", "-", "detractor", "promoter"]
    assert (comments["total_matches"] == 6).all()
    text = " ".join(str(value) for value in comments.to_numpy().ravel())
    for secret in ("Jane.Doe", "example.com", "555", "4567", "7946"):
        assert secret not in text


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("%", ["r6", "r1"]),  # a LIKE pattern would match everything
        ("_", ["r1"]),
        ("'", ["r9", "r3"]),
        ("' or 1=1 --", []),
        ("\\", ["r6"]),
        ("c:\\TEMP", ["r6"]),
        ("BROKEN", ["r2"]),
        ("example.com", []),  # only the masked text is searched: a search cannot probe hidden addresses
        ("123-4567", []),
        ("[phone]", ["r7", "r2"]),
        ("", ["r9", "r6", "r7", "r3", "r2", "r1"]),
    ],
)
def test_survey_comment_search_is_a_literal_substring(comments_cursor, search, expected):
    comments = run_query(comments_cursor, "survey_comments", **{**NO_PAGE, "search": search}, **ALL_SEGMENTS)
    assert comment_ids(comments) == expected
    assert (comments["total_matches"] == len(expected)).all()


def test_survey_comment_filters_and_pages(comments_cursor):
    csat = run_query(comments_cursor, "survey_comments", **{**NO_PAGE, "kinds": ["csat"]}, **ALL_SEGMENTS)
    assert comment_ids(csat) == ["r7", "r3"]
    middling = run_query(comments_cursor, "survey_comments", **{**NO_PAGE, "min_score": 3, "max_score": 9},
                         **ALL_SEGMENTS)
    assert comment_ids(middling) == ["r6", "r7", "r2", "r1"]
    page = run_query(comments_cursor, "survey_comments", **{**NO_PAGE, "limit": 2, "offset": 1}, **ALL_SEGMENTS)
    assert comment_ids(page) == ["r6", "r7"] and list(page["total_matches"]) == [6, 6]
    email = run_query(comments_cursor, "survey_comments", **NO_PAGE, **{**ALL_SEGMENTS, "channels": ["email"]})
    assert comment_ids(email) == ["r7", "r3", "r1"]  # zz's r6 has no orders, so no segment
    assert run_query(comments_cursor, "survey_comments", **NO_PAGE, **NOBODY).empty


@pytest.mark.parametrize("name", CARE_QUERIES)
def test_header_lists_exactly_the_parameters_used(name):
    sql = load_sql(name)
    assert sql.startswith("-- Grain: ")
    assert declared_parameters(sql) == sql_parameters(sql)
    assert {"channels", "regions", "categories", "tiers"} <= sql_parameters(sql)


DOCUMENTED_COLUMNS = re.compile(r"^- \*\*Columns:\*\* (.*)$", re.MULTILINE)


def metric_docs(name: str) -> str:
    """The section of docs/metrics.md about queries/<name>.sql."""
    for path in (DOCS_DIR / "metrics.md",):
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
        start = text.find(f"`queries/{name}.sql`")
        if start >= 0:
            end = text.find("\n## ", start)
            return text[start:end if end >= 0 else len(text)]
    raise AssertionError(f"queries/{name}.sql is not documented in docs/metrics.md")


@pytest.mark.parametrize("name", CARE_QUERIES)
def test_query_runs_on_an_export_with_orders_only(name, tmp_path, open_database):
    write_table(tmp_path / "orders_only", "orders", {"order_id": ["O1"], "customer_id": ["c1"],
                                                     "ordered_at": [utc("2024-01-01")], "revenue": [5.0]})
    cursor = open_database(tmp_path / "orders_only").cursor(date(2024, 6, 30))
    params = {"grain": "month", "start_date": None, "end_date": None, "dimension": "touchpoint", **NO_PAGE,
              **ALL_SEGMENTS}
    frame = run_query(cursor, name, **params)
    documented = DOCUMENTED_COLUMNS.search(metric_docs(name)).group(1)
    assert re.findall(r"`([a-z_0-9]+)`", documented) == list(frame.columns), f"docs and columns of {name} differ"
    if name == "care_summary":
        assert_rows(frame, CARE_SUMMARY_COLUMNS, [(0, 0, 0, None, 0, 0.0, 0, 0)])
    elif name == "care_repeat_rates":
        ticket_rows = frame[frame["care_dimension"] == "ticket"]
        assert list(ticket_rows["anchor_orders"]) == [1, 0, 0]
    elif name == "repurchase_after_response":
        assert len(frame) == 8 and (frame["responses"] == 0).all()
    elif name == "survey_response_rate":
        assert_rows(frame, RESPONSE_RATE_COLUMNS, [(date(2024, 1, 1), 1, 0, 0.0, False)])
    else:
        assert frame.empty
