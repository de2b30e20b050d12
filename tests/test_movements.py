"""Who moved (docs/churn.md, "Who moved"): each customer's RFM segment and lifecycle state 7 and 28 days before the
as-of date, the from-to matrix the churn page shows and the list one of its cells opens. Real DuckDB over a small
demo export; the earlier RFM segments are recomputed in pandas from the valid orders placed by then, the earlier
states with today's fit on that date's features, and the matrix against a pandas crosstab."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from dashboard import churn, demo, lifecycle, queries
from dashboard.model import Database
from dashboard.filters import Segment
from dashboard.settings import load_settings
from tests.test_churn import docs_segment_table

AS_OF = date(2026, 11, 15)
cursor_database: list = []  # the Database behind the module's cursor


@pytest.fixture(scope="module")
def cursor(tmp_path_factory):
    root = tmp_path_factory.mktemp("movements")
    demo.generate(root / "exports", customers=800, seed=5)
    database = Database.open(load_settings(environ={}, data_dir=root / "exports", state_dir=root / "state"))
    cursor_database[:] = [database]
    cursor = database.cursor(AS_OF)
    churn.model_info(cursor)
    churn.movements(cursor, 7, "lifecycle_state")  # builds customer_movements (and the scores) at AS_OF
    return cursor


def scores_then(orders: pd.DataFrame, then: date) -> pd.DataFrame:
    """RFM scores and segment of every customer with a valid order by ``then``, by hand (pandas): purchase days,
    repeat purchases, days since the last one, lifetime revenue; score = 1 + floor(5 x share of the *other*
    customers with a strictly smaller value) capped at 5 (recency: strictly older last order)."""
    orders = orders[orders.day <= pd.Timestamp(then)]
    per = orders.groupby("customer_id").agg(first=("day", "min"), last=("day", "max"), days=("day", "nunique"),
                                            revenue=("revenue", "sum"))
    per["frequency"] = per["days"] - 1
    per["since"] = (pd.Timestamp(then) - per["last"]).dt.days
    n = len(per)

    def score(values: pd.Series, smaller) -> pd.Series:
        below = values.map(lambda value: int(smaller(values, value).sum()))
        return np.minimum(5, 1 + np.floor(5 * below / (n - 1))).astype(int)

    per["r"] = score(per["since"], lambda values, value: values > value)
    per["f"] = score(per["frequency"], lambda values, value: values < value)
    per["m"] = score(per["revenue"], lambda values, value: values < value)
    per["fm"] = (per["f"] + per["m"]) // 2
    table = docs_segment_table()
    per["segment"] = [table[(r, fm)] for r, fm in zip(per["r"], per["fm"])]
    return per


@pytest.fixture(scope="module")
def valid_orders(cursor) -> pd.DataFrame:
    orders = cursor.execute("select customer_id, ordered_local, revenue from valid_orders").df()
    orders["day"] = pd.to_datetime(orders["ordered_local"]).dt.normalize()
    return orders


@pytest.mark.parametrize("days_back", churn.MOVEMENT_DAYS)
def test_earlier_rfm_segments_match_a_pandas_computation(cursor, valid_orders, days_back):
    stored = cursor.execute(
        "select customer_id, previous_rfm_segment from customer_movements where days_back = ?", [days_back]
    ).df().set_index("customer_id")["previous_rfm_segment"]
    expected = scores_then(valid_orders, AS_OF - timedelta(days=days_back))["segment"]
    assert len(expected) > 500
    assert stored.sort_index().to_dict() == expected.sort_index().to_dict()


def test_earlier_states_use_todays_fit_and_agree_with_todays_scores(cursor):
    """lifecycle_at is the scoring of customer_scores: at the as-of date itself it gives the stored states; a week
    earlier every customer who has ordered since is 'none' or has a state of that date."""
    model = churn.model_info(cursor)
    features = queries.run_query(cursor, "churn_features", as_of=AS_OF)
    today = pd.Series(churn.lifecycle_at(features, model), index=features["customer_id"])
    stored = cursor.execute("select customer_id, lifecycle_state from customer_scores").df()
    assert today.sort_index().to_dict() == stored.set_index("customer_id")["lifecycle_state"].sort_index().to_dict()
    earlier = cursor.execute(
        "select customer_id, previous_lifecycle_state from customer_movements where days_back = 7").df()
    assert set(earlier.previous_lifecycle_state) <= set(lifecycle.STATES)


def test_a_customer_who_ordered_this_week_is_no_longer_slipping_or_lapsed(cursor, valid_orders):
    """Whoever placed an order in the 7 days before the as-of date is active or new now (a fresh order puts them
    inside their rhythm); whoever ordered for the first time then was 'none' a week ago."""
    moves = cursor.execute(
        "select s.customer_id, coalesce(m.previous_lifecycle_state, 'none') as before, s.lifecycle_state as now "
        "from customer_scores s left join customer_movements m on m.customer_id = s.customer_id and m.days_back = 7"
    ).df().set_index("customer_id")
    week = valid_orders[valid_orders.day > pd.Timestamp(AS_OF - timedelta(days=7))]
    first = valid_orders.groupby("customer_id")["day"].min()
    newcomers = set(first[first > pd.Timestamp(AS_OF - timedelta(days=7))].index)
    assert newcomers and set(moves.index[moves.before == "none"]) == newcomers
    recent = moves.loc[sorted(set(week.customer_id))]
    assert len(recent) > 5 and recent.now.isin(["active", "new"]).all()


@pytest.mark.parametrize("dimension", ["lifecycle_state", "rfm_segment"])
def test_matrix_counts_are_a_crosstab_of_the_customers(cursor, dimension):
    joined = cursor.execute(
        "select s.customer_id, s.lifecycle_state, s.rfm_segment, s.value_at_stake_365d, c.acquisition_channel, "
        "coalesce(m.previous_lifecycle_state, 'none') as previous_lifecycle_state, "
        "coalesce(m.previous_rfm_segment, 'none') as previous_rfm_segment "
        "from customer_scores s left join customer_summary c using (customer_id) "
        "left join customer_movements m on m.customer_id = s.customer_id and m.days_back = 28").df()
    for channels in (None, ["referral"]):
        rows = churn.movements(cursor, 28, dimension, Segment(channels=tuple(channels)) if channels else Segment())
        part = joined if channels is None else joined[joined.acquisition_channel.isin(channels)]
        expected = part.groupby([f"previous_{dimension}", dimension]).size()
        got = rows.set_index(["previous_value", "current_value"])["customers"]
        assert got.sort_index().to_dict() == expected.sort_index().to_dict()
        stake = part.groupby([f"previous_{dimension}", dimension])["value_at_stake_365d"].sum()
        assert rows.set_index(["previous_value", "current_value"])["value_at_stake_365d"].sort_index().to_numpy() \
            == pytest.approx(stake.sort_index().to_numpy())
    assert churn.movements(cursor, 28, "nonsense").empty


def test_a_cell_opens_the_list_of_exactly_its_customers(cursor):
    """The rules a click on a cell sets (moved_days, previous states, state now) select the cell's customers."""
    rows = churn.movements(cursor, 7, "lifecycle_state")
    moved = rows[(rows.previous_value != rows.current_value) & (rows.previous_value != "none")]
    assert len(moved), "nobody moved in a week: the fixture cannot test a cell"
    cell = moved.iloc[0]
    rules = churn.WinbackRules(states=(cell.current_value,), moved_days=7, previous_states=(cell.previous_value,))
    summary = queries.run_query(cursor, "winback_summary", **rules.params(), **Segment().params())
    assert int(summary["customers"].iloc[0]) == int(cell.customers)
    by_segment = churn.WinbackRules(moved_days=28, previous_segments=("none",))
    newcomers = queries.run_query(cursor, "winback_summary", **by_segment.params(), **Segment().params())
    expected = cursor.execute("select count(*) from customer_scores s where not exists (select 1 from "
                              "customer_movements m where m.customer_id = s.customer_id and m.days_back = 28)"
                              ).fetchone()[0]
    assert int(newcomers["customers"].iloc[0]) == expected > 0


def test_features_at_an_earlier_date_are_that_dates_features(cursor):
    """The movement scores churn_features computed with $as_of a week back on today's schema; they are the rows
    the schema of that earlier date gives (the orders valid then are the orders valid now placed by then)."""
    earlier = AS_OF - timedelta(days=7)
    database = cursor_database[0]
    then = queries.run_query(database.cursor(earlier), "churn_features", as_of=earlier)
    now = queries.run_query(cursor, "churn_features", as_of=earlier)
    key = ["customer_id"]
    pd.testing.assert_frame_equal(now.sort_values(key, ignore_index=True), then.sort_values(key, ignore_index=True))
