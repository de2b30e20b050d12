"""The cohort page's aggregate tables (cube_cohort_retention, cube_cohort_members) and the queries that read them.

cohort_retention and cohort_members run on real DuckDB over small demo exports and are compared, under several
segment filters, with an independent pandas computation from the model's own order rows (``valid_orders``) and
the clean customer profiles: segments, cohorts, period numbers, activity, last active periods and revenue are
all recomputed here, not read from customer_summary, customer_activity or the cubes. A few customers' emails are
rewritten in the exports (blank, padded, without '@', starting with '@', two '@') so the masking is exercised.
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

GRAINS = ("week", "month", "quarter")
ODD_EMAILS = ["   ", None, " padded.person@example.org ", "no-at-sign", "@leading.example", "two@at@signs.example"]
RETENTION_COLUMNS = ["cohort_start", "period_number", "period_start", "cohort_size", "active_customers",
                     "active_on_or_after", "retention_rate", "retention_on_or_after_rate", "revenue",
                     "revenue_retention_rate", "is_partial_period", "is_small_cohort"]
MEMBER_COLUMNS = ["customer_id", "email", "first_ordered_at", "last_ordered_at", "count_orders", "revenue",
                  "is_active_in_period", "total_matches"]


@pytest.fixture(scope="module", params=[("UTC", None), ("America/New_York", date(2026, 6, 30))],
                ids=["utc-latest", "new-york-earlier"])
def model(request, tmp_path_factory):
    """A cursor over 1,200 demo customers, and the independent frames computed in pandas."""
    timezone, as_of = request.param
    root = tmp_path_factory.mktemp("cubes_cohort")
    demo.generate(root / "demo", customers=1_200, seed=13)
    profiles = pd.read_parquet(root / "demo" / "customers.parquet")
    for offset, email in enumerate(ODD_EMAILS):
        profiles.loc[10 + 7 * offset, "email"] = email
    profiles.to_parquet(root / "demo" / "customers.parquet", index=False)
    database = Database.open(load_settings(environ={}, data_dir=root / "demo", state_dir=root / "state",
                                           timezone=timezone))
    cursor = database.cursor(as_of or database.default_as_of())
    customers, orders = expected_customers_and_orders(cursor)
    as_of_date = pd.Timestamp(cursor.execute("select as_of from model_info").fetchone()[0])
    return cursor, customers, orders, as_of_date


def period_start(local: pd.Series, grain: str) -> pd.Series:
    """The calendar period (Monday week, month, quarter) of local timestamps, as midnight timestamps."""
    local = pd.to_datetime(local)
    if grain == "week":
        return local.dt.normalize() - pd.to_timedelta(local.dt.day_of_week, unit="D")
    return local.dt.to_period("M" if grain == "month" else "Q").dt.start_time


def periods_between(start: pd.Series | pd.Timestamp, end: pd.Series | pd.Timestamp, grain: str):
    """Whole calendar periods from one period start to another."""
    if grain == "week":
        return (end - start).days // 7 if isinstance(start, pd.Timestamp) else (end - start).dt.days // 7
    if isinstance(start, pd.Timestamp):
        months = (end.year - start.year) * 12 + end.month - start.month
    else:
        months = (end.dt.year - start.dt.year) * 12 + end.dt.month - start.dt.month
    return months // 3 if grain == "quarter" else months


def add_periods(start: pd.Timestamp, count: int, grain: str) -> pd.Timestamp:
    if grain == "week":
        return start + pd.Timedelta(days=7 * count)
    return start + pd.DateOffset(months=count * (3 if grain == "quarter" else 1))


def expected_customers_and_orders(cursor) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Customers with a valid order (segment, cohorts, listed columns) and their orders with period numbers."""
    orders = cursor.execute("select * from valid_orders").df()
    profiles = cursor.execute("select * from main.clean_customers").df().set_index("customer_id")
    orders = orders.sort_values(["customer_id", "ordered_at", "order_id"])
    grouped = orders.groupby("customer_id", sort=False)
    first = grouped.nth(0).set_index("customer_id")
    customers = pd.DataFrame({
        "first_ordered_at": grouped["ordered_at"].min(),
        "last_ordered_at": grouped["ordered_at"].max(),
        "count_orders": grouped.size(),
        "revenue": grouped["revenue"].sum(),
    })

    def cleaned(column, lower=False):
        values = profiles[column].astype("string").str.strip(" ")
        values = values.str.lower() if lower else values
        return values.where(values != "").reindex(customers.index)

    customers["email"] = cleaned("email").astype(object).where(lambda email: email.notna(), None)
    customers["acquisition_channel"] = cleaned("acquisition_channel").fillna(first["channel"]).fillna("unknown")
    customers["region"] = cleaned("region").fillna(first["region"]).fillna("unknown")
    customers["first_category"] = first["product_category"].fillna("unknown")
    customers["loyalty_tier"] = cleaned("loyalty_tier", lower=True).fillna("none")
    for grain in GRAINS:
        customers[f"cohort_{grain}"] = period_start(first["ordered_local"], grain).reindex(customers.index)
        orders[f"period_{grain}"] = period_start(orders["ordered_local"], grain)
        cohort = orders["customer_id"].map(customers[f"cohort_{grain}"])
        orders[f"number_{grain}"] = periods_between(cohort, orders[f"period_{grain}"], grain)
    return customers, orders


def expected_retention(customers, orders, as_of, segment, grain, small_cohort_size) -> pd.DataFrame:
    chosen = in_segment(customers, segment)
    if chosen.empty:
        return pd.DataFrame(columns=RETENTION_COLUMNS)
    as_of_period = period_start(pd.Series([as_of]), grain).iloc[0]
    is_incomplete = add_periods(as_of_period, 1, grain) > as_of + pd.Timedelta(days=1)
    mine = orders[orders["customer_id"].isin(chosen.index)]
    # Activity: one row per customer x period with a valid order in it, and that period's revenue.
    activity = mine.groupby(["customer_id", f"number_{grain}"], as_index=False)["revenue"].sum()
    activity.columns = ["customer_id", "period_number", "revenue"]
    activity["cohort_start"] = activity["customer_id"].map(chosen[f"cohort_{grain}"])
    cells = activity.groupby(["cohort_start", "period_number"]).agg(
        active_customers=("customer_id", "size"), revenue=("revenue", "sum"))
    last_active = activity.groupby(["cohort_start", "customer_id"])["period_number"].max()
    last_counts = last_active.groupby(level="cohort_start").value_counts()
    sizes = chosen.groupby(f"cohort_{grain}").size()
    grid = pd.DataFrame(
        [(cohort_start, number) for cohort_start in sizes.index
         for number in range(periods_between(cohort_start, as_of_period, grain) + 1)],
        columns=["cohort_start", "period_number"])
    grid["cohort_size"] = grid["cohort_start"].map(sizes)
    grid = grid.join(cells, on=["cohort_start", "period_number"])
    grid["active_customers"] = grid["active_customers"].fillna(0).astype(int)
    grid["revenue"] = grid["revenue"].fillna(0.0)
    # Active on or after k: customers whose last active period is k or later.
    last_counts.index = last_counts.index.set_names(["cohort_start", "period_number"])
    grid["last_active"] = grid.join(last_counts.rename("count"), on=["cohort_start", "period_number"])["count"]
    backwards = grid["last_active"].fillna(0).iloc[::-1]
    grid["active_on_or_after"] = backwards.groupby(grid["cohort_start"].iloc[::-1]).cumsum().iloc[::-1].astype(int)
    base = grid["cohort_start"].map(grid[grid["period_number"] == 0].set_index("cohort_start")["revenue"])
    latest = grid["cohort_start"].map(lambda start: periods_between(start, as_of_period, grain))
    if grain == "week":
        grid["period_start"] = grid["cohort_start"] + pd.to_timedelta(7 * grid["period_number"], unit="D")
    else:
        grid["period_start"] = [add_periods(start, number, grain)
                                for start, number in zip(grid["cohort_start"], grid["period_number"])]
    grid["retention_rate"] = grid["active_customers"] / grid["cohort_size"]
    grid["retention_on_or_after_rate"] = grid["active_on_or_after"] / grid["cohort_size"]
    grid["revenue_retention_rate"] = grid["revenue"] / base.where(base != 0)
    grid["is_partial_period"] = (grid["period_number"] == latest) & is_incomplete
    grid["is_small_cohort"] = grid["cohort_size"] < small_cohort_size
    return grid[RETENTION_COLUMNS]


def masked(email, show_email: bool):
    if email is None:
        return None
    if show_email:
        return email
    if "@" not in email:
        return email[0] + "***"
    if email.startswith("@"):
        return "***" + email
    return email[0] + "***@" + email.rsplit("@", 1)[1]


def expected_members(customers, orders, segment, grain, cohort_start, period_number, activity, show_email,
                     limit, offset) -> pd.DataFrame:
    chosen = in_segment(customers, segment)
    cohort = chosen[chosen[f"cohort_{grain}"] == pd.Timestamp(cohort_start)].copy()
    active_ids = set(orders.loc[orders[f"number_{grain}"] == period_number, "customer_id"])
    cohort["is_active_in_period"] = cohort.index.isin(active_ids)
    if activity == "active":
        cohort = cohort[cohort["is_active_in_period"]]
    elif activity == "inactive":
        cohort = cohort[~cohort["is_active_in_period"]]
    elif activity is not None:
        cohort = cohort.iloc[0:0]
    cohort = cohort.reset_index(names="customer_id")
    cohort["total_matches"] = len(cohort)
    cohort["email"] = [masked(email, show_email) for email in cohort["email"]]
    cohort = cohort.sort_values(["revenue", "customer_id"], ascending=[False, True])
    cohort = cohort.iloc[offset:] if limit is None else cohort.iloc[offset:offset + limit]
    return cohort[MEMBER_COLUMNS]


def assert_same(actual: pd.DataFrame, expected: pd.DataFrame):
    assert list(actual.columns) == list(expected.columns)
    assert len(actual) == len(expected)
    if actual.empty:
        return
    actual, expected = actual.reset_index(drop=True), expected.reset_index(drop=True)
    for column in ("cohort_start", "period_start"):
        if column in actual:
            actual[column] = pd.to_datetime(actual[column])
            expected[column] = pd.to_datetime(expected[column])
    pd.testing.assert_frame_equal(actual, expected, check_dtype=False, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("grain", GRAINS)
@pytest.mark.parametrize("segment", SEGMENT_FILTERS)
def test_cohort_retention(model, segment, grain):
    cursor, customers, orders, as_of = model
    expected = expected_retention(customers, orders, as_of, segment, grain, small_cohort_size=30)
    if segment not in ({"channels": []}, {"channels": ["no such channel"]}):
        assert len(expected) > 10 and expected["active_customers"].iloc[1:].sum() > 0
    actual = run_query(cursor, "cohort_retention", grain=grain, small_cohort_size=30, **{**ALL, **segment})
    assert_same(actual, expected)


def test_cohort_retention_unknown_grain_fails(model):
    cursor = model[0]
    with pytest.raises(Exception, match="fortnight"):
        run_query(cursor, "cohort_retention", grain="fortnight", small_cohort_size=30, **ALL)


def cohort_choices(customers: pd.DataFrame, segment: dict, grain: str) -> list:
    """The largest cohort of the segment and the third latest (as the golden drill-down picks it)."""
    sizes = in_segment(customers, segment)[f"cohort_{grain}"].value_counts()
    if sizes.empty:
        return [date(2026, 1, 1)]
    starts = sorted(sizes.index)
    return [sizes.idxmax().date(), starts[max(len(starts) - 3, 0)].date()]


@pytest.mark.parametrize("grain", GRAINS)
@pytest.mark.parametrize("segment", SEGMENT_FILTERS)
def test_cohort_members(model, segment, grain):
    cursor, customers, orders, _ = model
    cases = [(1, "inactive", False, 50, 0), (0, "active", True, 50, 0), (2, None, False, 20, 20),
             (1, "active", False, None, 0), (None, None, False, 10, 0), (-1, "inactive", False, None, 5),
             (3, "no such activity", False, 50, 0)]
    for cohort_start in cohort_choices(customers, segment, grain):
        for period_number, activity, show_email, limit, offset in cases:
            params = {"grain": grain, "cohort_start": cohort_start, "period_number": period_number,
                      "activity": activity, "show_email": show_email, "limit": limit, "offset": offset}
            expected = expected_members(customers, orders, segment, **params)
            actual = run_query(cursor, "cohort_members", **{**ALL, **segment}, **params)
            assert_same(actual, expected)


def test_cohort_members_masks_odd_emails(model):
    """Every rewritten email, masked and shown, in the cohorts of the customers that carry them."""
    cursor, customers, orders, _ = model
    odd = customers[customers["email"].isin([" padded.person@example.org ".strip(), "no-at-sign",
                                              "@leading.example", "two@at@signs.example"])
                    | (customers["email"].isna())]
    assert len(odd) >= 3
    for cohort_start in odd["cohort_month"].drop_duplicates():
        for show_email in (False, True):
            params = {"grain": "month", "cohort_start": cohort_start.date(), "period_number": 1, "activity": None,
                      "show_email": show_email, "limit": None, "offset": 0}
            actual = run_query(cursor, "cohort_members", **ALL, **params)
            assert_same(actual, expected_members(customers, orders, {}, **params))
            shown = actual.set_index("customer_id")["email"]
            for customer_id in odd.index[odd["cohort_month"] == cohort_start]:
                want = masked(customers.at[customer_id, "email"], show_email)
                assert (pd.isna(shown[customer_id]) and want is None) or shown[customer_id] == want


def test_cohort_members_other_grain_lists_the_month_cohort_with_no_activity(model):
    """An unknown grain picks month cohorts (as cohort_retention.sql does) and finds no activity (none at that grain)."""
    cursor, customers, orders, _ = model
    cohort_start = cohort_choices(customers, {}, "month")[0]
    params = {"cohort_start": cohort_start, "period_number": 0, "activity": None, "show_email": False,
              "limit": None, "offset": 0}
    other = run_query(cursor, "cohort_members", **ALL, grain="fortnight", **params)
    month = run_query(cursor, "cohort_members", **ALL, grain="month", **params)
    assert len(other) == len(month) > 0 and month["is_active_in_period"].all()
    assert not other["is_active_in_period"].any()
    assert sorted(other["customer_id"]) == sorted(month["customer_id"])


def test_cohort_member_rows_are_stored_in_the_drill_downs_order(model):
    """The members cube holds each customer once per grain, stored by grain, cohort, revenue descending and
    customer_id, with position numbering that order: a cohort's page is its first matching positions."""
    cursor, customers, _, _ = model
    run_query(cursor, "cohort_members", **ALL, grain="month", cohort_start=date(2026, 1, 1), period_number=0,
              activity=None, show_email=False, limit=1, offset=0)  # builds the cube when no test has yet
    table = cursor.execute("select * from cube_cohort_members order by rowid").df()
    assert list(table["position"]) == list(range(1, len(table) + 1))
    expected = table.sort_values(["grain", "cohort_start", "revenue", "customer_id"],
                                 ascending=[True, True, False, True], ignore_index=True)
    pd.testing.assert_frame_equal(table, expected)
    for grain in GRAINS:
        rows = table[table["grain"] == grain]
        assert sorted(rows["customer_id"]) == sorted(customers.index), grain
        assert (pd.to_datetime(rows["cohort_start"]).dt.date
                == customers.loc[rows["customer_id"], f"cohort_{grain}"].map(lambda value: value.date()).values).all()


def test_drill_down_is_answered_from_the_cubes_alone(tmp_path):
    """After the cubes are built, both cohort queries still answer with the row-level tables dropped."""
    demo.generate(tmp_path / "demo", customers=400, seed=21)
    database = Database.open(load_settings(environ={}, data_dir=tmp_path / "demo", state_dir=tmp_path / "state"))
    cursor = database.cursor(database.default_as_of())
    retention = run_query(cursor, "cohort_retention", **ALL, grain="month", small_cohort_size=30)
    cohort_start = sorted(retention["cohort_start"])[len(retention) // 2].date()
    members_params = {"grain": "month", "cohort_start": cohort_start, "period_number": 1, "activity": None,
                      "show_email": False, "limit": None, "offset": 0, "channels": ["email", "referral"],
                      "regions": None, "categories": None, "tiers": None}
    before = run_query(cursor, "cohort_members", **members_params)
    assert len(before) > 0
    for table in ("valid_orders", "customer_summary", "customer_activity"):
        cursor.execute(f"drop table {table}")  # our own constant names
    pd.testing.assert_frame_equal(run_query(cursor, "cohort_members", **members_params), before)
    pd.testing.assert_frame_equal(
        run_query(cursor, "cohort_retention", **ALL, grain="month", small_cohort_size=30), retention)
