"""The repeat page's aggregate tables (cube_repeat_customers, cube_repeat_cohorts) and the queries that read them.

Each query runs on real DuckDB over small demo exports and is compared, under several segment filters, with
an independent pandas computation from the model's own order rows (``valid_orders``) and the clean customer
profiles: first/second order per customer, order counts, revenue, segment attributes and cohorts are all
recomputed here, not read from customer_summary or the cubes.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from dashboard import demo
from dashboard.model import Database
from dashboard.queries import run_query
from dashboard.settings import load_settings
from tests.segments import ALL, SEGMENT_FILTERS, in_segment

MILESTONES = (30, 60, 90, 180, 365)
BUCKETS = ("1", "2", "3", "4", "5", "6-10", "11+")


@pytest.fixture(scope="module", params=[("UTC", None), ("America/New_York", date(2026, 6, 30))],
                ids=["utc-latest", "new-york-earlier"])
def model(request, tmp_path_factory):
    """A cursor over 1,200 demo customers, and the independent per-customer frame computed in pandas."""
    timezone, as_of = request.param
    root = tmp_path_factory.mktemp("cubes_repeat")
    demo.generate(root / "demo", customers=1_200, seed=11)
    database = Database.open(load_settings(environ={}, data_dir=root / "demo", state_dir=root / "state",
                                           timezone=timezone))
    cursor = database.cursor(as_of or database.default_as_of())
    return cursor, expected_customers(cursor)


def expected_customers(cursor) -> pd.DataFrame:
    """One row per customer with a valid order, computed in pandas from valid_orders and clean_customers."""
    orders = cursor.execute("select * from valid_orders").df()
    profiles = cursor.execute("select * from main.clean_customers").df()
    cutoff = pd.Timestamp(cursor.execute("select cutoff_at from model_info").fetchone()[0])
    orders = orders.sort_values(["customer_id", "ordered_at", "order_id"])
    grouped = orders.groupby("customer_id", sort=False)
    first = grouped.nth(0).set_index("customer_id")
    second = grouped.nth(1).set_index("customer_id")
    customers = pd.DataFrame({
        "count_orders": grouped.size(),
        "revenue": grouped["revenue"].sum(),
        "first_ordered_at": first["ordered_at"],
        "first_local": first["ordered_local"],
        "second_ordered_at": second["ordered_at"],
    })

    def cleaned(column, lower=False):
        values = profiles.set_index("customer_id")[column].astype("string").str.strip()
        values = values.str.lower() if lower else values
        return values.where(values != "").reindex(customers.index)

    customers["acquisition_channel"] = cleaned("acquisition_channel").fillna(first["channel"]).fillna("unknown")
    customers["region"] = cleaned("region").fillna(first["region"]).fillna("unknown")
    customers["first_category"] = first["product_category"].fillna("unknown")
    customers["loyalty_tier"] = cleaned("loyalty_tier", lower=True).fillna("none")
    local = pd.to_datetime(customers["first_local"])
    customers["cohort_week"] = (local.dt.normalize() - pd.to_timedelta(local.dt.day_of_week, unit="D")).dt.date
    customers["cohort_month"] = local.dt.to_period("M").dt.start_time.dt.date
    customers["cohort_quarter"] = local.dt.to_period("Q").dt.start_time.dt.date
    for days in MILESTONES:
        window = pd.Timedelta(days=days)
        eligible = customers["first_ordered_at"] + window <= cutoff
        customers[f"eligible_{days}"] = eligible
        customers[f"reached_{days}"] = eligible & (customers["second_ordered_at"] <= customers["first_ordered_at"] + window)
    return customers


def share(numerator, denominator):
    return numerator / denominator if denominator else np.nan


def assert_same(actual: pd.DataFrame, expected: pd.DataFrame):
    assert list(actual.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(actual.reset_index(drop=True), expected.reset_index(drop=True),
                                  check_dtype=False, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("segment", SEGMENT_FILTERS)
def test_kpis(model, segment):
    cursor, customers = model
    chosen = in_segment(customers, segment)
    orders = int(chosen["count_orders"].sum())
    repeat = int((chosen["count_orders"] >= 2).sum())
    expected = pd.DataFrame([{
        "customers": len(chosen), "orders": orders, "revenue": round(float(chosen["revenue"].sum()), 2),
        "aov": share(chosen["revenue"].sum(), orders), "repeat_customers": repeat,
        "repeat_rate": share(repeat, len(chosen)),
    }])
    assert_same(run_query(cursor, "kpis", **{**ALL, **segment}), expected)


@pytest.mark.parametrize("segment", SEGMENT_FILTERS)
def test_second_order_rate_90d(model, segment):
    cursor, customers = model
    chosen = in_segment(customers, segment)
    eligible, reached = int(chosen["eligible_90"].sum()), int(chosen["reached_90"].sum())
    expected = pd.DataFrame([{"eligible_customers": eligible, "second_order_customers": reached,
                              "second_order_rate_90d": share(reached, eligible)}])
    assert_same(run_query(cursor, "second_order_rate_90d", **{**ALL, **segment}), expected)


@pytest.mark.parametrize("segment", SEGMENT_FILTERS)
def test_orders_per_customer(model, segment):
    cursor, customers = model
    chosen = in_segment(customers, segment)
    bucket = chosen["count_orders"].map(lambda n: str(n) if n <= 5 else ("6-10" if n <= 10 else "11+"))
    rows = []
    for order, name in enumerate(BUCKETS, start=1):
        members = chosen[bucket == name]
        rows.append({"order_count_bucket": name, "bucket_order": order, "customers": len(members),
                     "customer_share": share(len(members), len(chosen)), "revenue": float(members["revenue"].sum())})
    assert_same(run_query(cursor, "orders_per_customer", **{**ALL, **segment}), pd.DataFrame(rows))


@pytest.mark.parametrize("dimension", ["acquisition_channel", "region", "first_category", "loyalty_tier"])
@pytest.mark.parametrize("segment", SEGMENT_FILTERS)
def test_repeat_rate_by_segment(model, segment, dimension):
    cursor, customers = model
    chosen = in_segment(customers, segment)
    rows = []
    for value, members in chosen.groupby(dimension):
        repeat = int((members["count_orders"] >= 2).sum())
        eligible = int(members["eligible_90"].sum())
        rows.append({
            "segment_value": value, "customers": len(members), "repeat_customers": repeat,
            "repeat_rate": share(repeat, len(members)), "eligible_customers_90d": eligible,
            "second_order_rate_90d": share(int(members["reached_90"].sum()), eligible),
            "revenue": float(members["revenue"].sum()), "revenue_per_customer": members["revenue"].sum() / len(members),
        })
    columns = ["segment_value", "customers", "repeat_customers", "repeat_rate", "eligible_customers_90d",
               "second_order_rate_90d", "revenue", "revenue_per_customer"]
    expected = pd.DataFrame(rows, columns=columns)
    expected = expected.sort_values(["customers", "segment_value"], ascending=[False, True])
    actual = run_query(cursor, "repeat_rate_by_segment", dimension=dimension, **{**ALL, **segment})
    assert_same(actual, expected)


def test_repeat_rate_by_segment_unknown_dimension_has_no_rows(model):
    cursor, _ = model
    assert run_query(cursor, "repeat_rate_by_segment", dimension="favourite_colour", **ALL).empty


@pytest.mark.parametrize("grain", ["week", "month", "quarter"])
@pytest.mark.parametrize("segment", SEGMENT_FILTERS)
def test_second_order_rate_by_cohort(model, segment, grain):
    cursor, customers = model
    chosen = in_segment(customers, segment)
    rows = []
    for cohort_start, members in chosen.groupby(f"cohort_{grain}"):
        eligible, reached = int(members["eligible_90"].sum()), int(members["reached_90"].sum())
        rows.append({"cohort_start": pd.Timestamp(cohort_start), "cohort_size": len(members),
                     "eligible_customers": eligible, "second_order_customers": reached,
                     "second_order_rate_90d": share(reached, eligible)})
    columns = ["cohort_start", "cohort_size", "eligible_customers", "second_order_customers", "second_order_rate_90d"]
    expected = pd.DataFrame(rows, columns=columns)
    # A cohort is partial while its last customer (first order on the cohort's last day) has not had 90 days by
    # the as-of day: last day + 90 days after the as-of day.
    as_of = pd.Timestamp(cursor.execute("select as_of from model_info").fetchone()[0])
    step = {"week": pd.DateOffset(weeks=1), "month": pd.DateOffset(months=1), "quarter": pd.DateOffset(months=3)}[grain]
    last_day = pd.to_datetime(expected["cohort_start"]) + step - pd.Timedelta(days=1)
    expected["is_partial_period"] = last_day + pd.Timedelta(days=90) > as_of
    actual = run_query(cursor, "second_order_rate_by_cohort", grain=grain, **{**ALL, **segment})
    actual["cohort_start"] = pd.to_datetime(actual["cohort_start"])
    expected["cohort_start"] = pd.to_datetime(expected["cohort_start"])
    assert_same(actual, expected)


def test_second_order_rate_by_cohort_other_grain_is_month(model):
    cursor, _ = model
    assert_same(run_query(cursor, "second_order_rate_by_cohort", grain="fortnight", **ALL),
                run_query(cursor, "second_order_rate_by_cohort", grain="month", **ALL))


@pytest.mark.parametrize("segment", SEGMENT_FILTERS)
def test_second_order_milestones(model, segment):
    cursor, customers = model
    chosen = in_segment(customers, segment)
    rows = []
    for days in MILESTONES:
        eligible, reached = int(chosen[f"eligible_{days}"].sum()), int(chosen[f"reached_{days}"].sum())
        rows.append({"milestone_days": days, "eligible_customers": eligible, "reached_customers": reached,
                     "reached_rate": share(reached, eligible)})
    assert_same(run_query(cursor, "second_order_milestones", **{**ALL, **segment}), pd.DataFrame(rows))


def test_cubes_are_small_and_count_every_customer_once(model):
    cursor, customers = model
    run_query(cursor, "kpis", **ALL)
    run_query(cursor, "second_order_rate_by_cohort", grain="week", **ALL)
    segments = cursor.execute("select count(*) from segments").fetchone()[0]
    rows, total = cursor.execute("select count(*), sum(customers) from cube_repeat_customers").fetchone()
    assert rows <= segments * len(BUCKETS)
    assert total == len(customers)
    for grain in ("week", "month", "quarter"):
        total = cursor.execute("select sum(cohort_size) from cube_repeat_cohorts where grain = $grain",
                               {"grain": grain}).fetchone()[0]
        assert total == len(customers)


def test_queries_need_no_customer_rows_once_the_cubes_exist(tmp_path):
    """After the first run built the cubes, a filter change reads only aggregates: hide the customer tables."""
    demo.generate(tmp_path / "demo", customers=300, seed=4)
    database = Database.open(load_settings(environ={}, data_dir=tmp_path / "demo", state_dir=tmp_path / "state"))
    cursor = database.cursor()
    calls = [("kpis", {}), ("second_order_rate_90d", {}), ("orders_per_customer", {}),
             ("repeat_rate_by_segment", {"dimension": "region"}), ("second_order_rate_by_cohort", {"grain": "week"}),
             ("second_order_milestones", {})]
    before = [run_query(cursor, name, **ALL, **extra) for name, extra in calls]
    cursor.execute("alter table customer_summary rename to customer_summary_hidden")
    cursor.execute("alter table valid_orders rename to valid_orders_hidden")
    after = [run_query(cursor, name, **ALL, **extra) for name, extra in calls]
    for old, new in zip(before, after):
        assert_same(new, old)
    email = [run_query(cursor, name, **{**ALL, "channels": ["email"]}, **extra) for name, extra in calls]
    assert email[0]["customers"].iloc[0] <= before[0]["customers"].iloc[0]
