"""The overview and churn pages' aggregate tables (cube_overview_*, cube_churn_*) and the queries that read them.

weekly_kpis, segment_movements, churn_risk_distribution, churn_rfm_grid, winback_summary and winback_segment run
on real DuckDB over small demo exports (UTC at the latest order; America/New_York at an earlier as-of date, so
weeks and 90-day windows cross daylight-saving changes) and are compared, under several segment filters, with
an independent pandas computation on the model's own rows: valid_orders and valid_surveys for the weekly
numbers, customer_scores (the churn model's output, which the churn cubes summarise) for the churn numbers.
A customer's segment is read from customer_summary's segment columns, never from seg_key or a cube.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from dashboard import churn, demo
from dashboard.filters import Segment
from dashboard.model import Database
from dashboard.queries import run_query
from dashboard.settings import load_settings
from tests.segments import ALL, SEGMENT_FILTERS, in_segment

DIMENSIONS = ("acquisition_channel", "region", "first_category", "loyalty_tier")
WINBACK_RULES = [
    pytest.param(churn.WinbackRules(risk_bands=("high",)), id="high-risk"),
    pytest.param(churn.WinbackRules(), id="no-rules"),
    pytest.param(churn.WinbackRules(risk_bands=("medium", "high"), min_days_since_last_order=60, min_revenue=50.0),
                 id="bands-days-revenue"),
    pytest.param(churn.WinbackRules(segments=("At risk", "Hibernating", "Lost"), nps_categories=("none", "detractor"),
                                    is_marketing_opt_in=True), id="segments-nps-opt-in"),
    pytest.param(churn.WinbackRules(max_days_since_last_order=200, max_revenue=300.0, has_open_complaint=False),
                 id="upper-bounds"),
    pytest.param(churn.WinbackRules(risk_bands=()), id="empty-band-list"),
    pytest.param(churn.WinbackRules(states=("slipping",)), id="slipping"),
    pytest.param(churn.WinbackRules(states=("one_time", "lapsed"), has_complained=False, has_returned=True),
                 id="states-never-complained-returned"),
    pytest.param(churn.WinbackRules(complaint_categories=("delivery_delay", "billing"), states=("lapsed",)),
                 id="complaint-categories"),
    pytest.param(churn.WinbackRules(recency_scores=(1, 2), fm_scores=(4, 5)), id="rfm-cells"),
    pytest.param(churn.WinbackRules(nps_categories=("detractor",), has_complained=False), id="silent-unhappy"),
]
DAY = pd.Timedelta(days=1)
WINBACK_SEGMENT_COLUMNS = [
    "customer_id", "email", "lifecycle_state", "rfm_segment", "risk_band", "churn_risk", "p_alive",
    "expected_next_order_on", "is_overdue", "expected_orders_90d", "expected_orders_365d", "predicted_value_90d",
    "predicted_clv_365d", "value_if_active_365d", "value_at_stake_365d", "days_since_last_order",
    "first_purchased_on", "last_purchased_on", "frequency", "count_orders", "revenue", "latest_nps_category",
    "has_open_complaint", "has_complained", "has_returned", "is_marketing_opt_in", "winback_reason", "reasons",
    "last_comment_masked", "total_matches",
]


@pytest.fixture(scope="module", params=[("UTC", None), ("America/New_York", date(2026, 6, 30))],
                ids=["utc-latest", "new-york-earlier"])
def model(request, tmp_path_factory):
    """A cursor over 1,500 demo customers with the churn scores built, and the model's own rows in pandas."""
    timezone, as_of = request.param
    root = tmp_path_factory.mktemp("cubes_overview_churn")
    demo.generate(root / "demo", customers=1_500, seed=31)
    database = Database.open(load_settings(environ={}, data_dir=root / "demo", state_dir=root / "state",
                                           timezone=timezone))
    cursor = database.cursor(as_of or database.default_as_of())
    churn.model_info(cursor)
    info = cursor.execute("select as_of, cutoff_at, timezone from model_info").fetchone()
    rows = {table: cursor.execute(f"select * from {table}").df()
            for table in ("valid_orders", "valid_surveys", "customer_summary", "customer_scores")}
    return {"cursor": cursor, "as_of": info[0], "cutoff_at": pd.Timestamp(info[1]), "timezone": info[2], **rows}


def segment_ids(model, segment: dict) -> set:
    """Customers of the segment, from customer_summary's segment columns (null list = any value)."""
    return set(in_segment(model["customer_summary"], segment)["customer_id"])


def is_unfiltered(segment: dict) -> bool:
    return all(values is None for values in segment.values())


def local_midnight_utc(day: date, timezone: str) -> pd.Timestamp:
    """The first instant of ``day`` in the time zone, as a naive UTC timestamp."""
    local = datetime.combine(day, datetime.min.time(), ZoneInfo(timezone))
    return pd.Timestamp(local.astimezone(ZoneInfo("UTC")).replace(tzinfo=None))


def close(actual, expected) -> bool:
    if expected is None or (isinstance(expected, float) and math.isnan(expected)):
        return actual is None or pd.isna(actual)
    return not pd.isna(actual) and math.isclose(float(actual), float(expected), rel_tol=1e-9, abs_tol=1e-9)


def assert_rows_close(frame: pd.DataFrame, expected: list[dict]) -> None:
    assert len(frame) == len(expected), (len(frame), len(expected))
    for (_, row), wanted in zip(frame.iterrows(), expected):
        for column, value in wanted.items():
            assert close(row[column], value) if not isinstance(value, (str, date)) else row[column] == value, (
                column, row[column], value, wanted)


# weekly_kpis

def expected_weekly_kpis(model, segment: dict, weeks: int) -> list[dict]:
    """weekly_kpis recomputed from valid_orders and valid_surveys, week by week."""
    as_of, timezone = model["as_of"], model["timezone"]
    ids = segment_ids(model, segment)
    orders = model["valid_orders"][model["valid_orders"]["customer_id"].isin(ids)]
    firsts = orders[orders["order_seq"] == 1].set_index("customer_id")
    seconds = orders[orders["order_seq"] == 2].set_index("customer_id")
    customers = pd.DataFrame({
        "first_local": firsts["ordered_local"], "first_at": firsts["ordered_at"],
        "second_local": seconds["ordered_local"].reindex(firsts.index),
        "second_at": seconds["ordered_at"].reindex(firsts.index),
    })
    surveys = model["valid_surveys"]
    if not is_unfiltered(segment):
        surveys = surveys[surveys["customer_id"].isin(ids)]
    expected = []
    for week in range(weeks):
        week_end = as_of - timedelta(days=7 * week)
        week_start = week_end - timedelta(days=6)
        end_local = pd.Timestamp(week_end + timedelta(days=1))
        cutoff = local_midnight_utc(week_end + timedelta(days=1), timezone)
        in_week = orders[(orders["ordered_local"] >= pd.Timestamp(week_start)) & (orders["ordered_local"] < end_local)]
        started = customers["first_local"] < end_local
        repeat = customers["second_local"] < end_local
        eligible = customers["first_at"] + 90 * DAY <= cutoff
        second_90d = eligible & (customers["second_at"] <= customers["first_at"] + 90 * DAY)
        window = surveys[(surveys["submitted_at"] >= cutoff - 90 * DAY) & (surveys["submitted_at"] < cutoff)]
        nps = window[window["kind"] == "nps"]
        csat = window[window["kind"] == "csat"]
        revenue = float(in_week["revenue"].sum())
        expected.append({
            "week_number": week, "week_start": week_start, "week_end": week_end,
            "active_customers": in_week["customer_id"].nunique(),
            "new_customers": in_week.loc[in_week["order_seq"] == 1, "customer_id"].nunique(),
            "orders": len(in_week), "revenue": revenue,
            "aov": revenue / len(in_week) if len(in_week) else None,
            "repeat_rate": repeat.sum() / started.sum() if started.sum() else None,
            "second_order_rate_90d": second_90d.sum() / eligible.sum() if eligible.sum() else None,
            "nps_90d": 100.0 * ((nps["score"] >= 9).sum() - (nps["score"] <= 6).sum()) / len(nps) if len(nps) else None,
            "csat_90d": (csat["score"] >= 4).sum() / len(csat) if len(csat) else None,
            "nps_responses_90d": len(nps), "csat_responses_90d": len(csat),
        })
    return expected


def weekly_kpis(model, segment: dict, weeks: int) -> pd.DataFrame:
    frame = run_query(model["cursor"], "weekly_kpis", **segment, weeks=weeks)
    frame["week_start"] = pd.to_datetime(frame["week_start"]).dt.date
    frame["week_end"] = pd.to_datetime(frame["week_end"]).dt.date
    return frame


@pytest.mark.parametrize("segment", SEGMENT_FILTERS)
def test_weekly_kpis_match_a_week_by_week_recount(model, segment):
    weeks = 30  # past the 26 the overview shows, so the 90-day windows of older weeks are covered too
    frame = weekly_kpis(model, {**ALL, **segment}, weeks)
    assert_rows_close(frame, expected_weekly_kpis(model, {**ALL, **segment}, weeks))


def test_weekly_kpis_beyond_the_history_and_zero_weeks(model):
    """Weeks older than the first order have no orders or customers; nothing is returned for zero weeks."""
    first_day = model["valid_orders"]["ordered_local"].min().date()
    weeks = (model["as_of"] - first_day).days // 7 + 3
    frame = weekly_kpis(model, ALL, weeks)
    assert frame["week_number"].tolist() == list(range(weeks))
    old = frame.tail(2)
    assert (old["orders"] == 0).all() and (old["active_customers"] == 0).all()
    assert old["repeat_rate"].isna().all() and old["second_order_rate_90d"].isna().all()
    assert_rows_close(frame.tail(4).reset_index(drop=True), expected_weekly_kpis(model, ALL, weeks)[-4:])
    assert run_query(model["cursor"], "weekly_kpis", **ALL, weeks=0).empty


# segment_movements

def expected_segment_movements(model, segment: dict) -> pd.DataFrame:
    as_of = model["as_of"]
    ids = segment_ids(model, segment)
    orders = model["valid_orders"]
    orders = orders[orders["customer_id"].isin(ids)
                    & (orders["ordered_local"] >= pd.Timestamp(as_of - timedelta(days=13)))].copy()
    orders["is_this_week"] = orders["ordered_local"] >= pd.Timestamp(as_of - timedelta(days=6))
    orders = orders[["customer_id", "revenue", "order_seq", "is_this_week"]].merge(
        model["customer_summary"][["customer_id", *DIMENSIONS]], on="customer_id")
    rows = []
    for dimension in DIMENSIONS:
        for value, group in orders.groupby(dimension):
            this, previous = group[group["is_this_week"]], group[~group["is_this_week"]]
            metrics = {
                "orders": (len(this), len(previous)),
                "revenue": (this["revenue"].sum(), previous["revenue"].sum()),
                "new_customers": (this.loc[this["order_seq"] == 1, "customer_id"].nunique(),
                                  previous.loc[previous["order_seq"] == 1, "customer_id"].nunique()),
                "active_customers": (this["customer_id"].nunique(), previous["customer_id"].nunique()),
            }
            for metric, (now, before) in metrics.items():
                change = float(now) - float(before)
                rows.append({"dimension": dimension, "segment_value": value, "metric": metric,
                             "this_week": float(now), "previous_week": float(before), "change": change,
                             "change_rate": change / before if before else None})
    return pd.DataFrame(rows, columns=["dimension", "segment_value", "metric", "this_week", "previous_week",
                                       "change", "change_rate"])


@pytest.mark.parametrize("segment", SEGMENT_FILTERS)
def test_segment_movements_match_a_recount_of_the_last_two_weeks(model, segment):
    frame = run_query(model["cursor"], "segment_movements", **{**ALL, **segment})
    expected = expected_segment_movements(model, {**ALL, **segment})
    assert list(frame.columns) == list(expected.columns)
    keys = ["dimension", "segment_value", "metric"]
    actual_sorted = frame.sort_values(keys).reset_index(drop=True)
    expected_sorted = expected.sort_values(keys).reset_index(drop=True)
    assert_rows_close(actual_sorted, expected_sorted.astype(object).where(expected_sorted.notna(), None)
                      .to_dict("records"))
    # the query's order: |change_rate| descending (nulls last), then |change| descending
    rates = frame["change_rate"].abs().to_numpy(dtype=float)
    known = rates[~np.isnan(rates)]
    assert np.all(np.diff(known) <= 1e-12) and not np.isnan(rates[: len(known)]).any()


# churn_risk_distribution and churn_rfm_grid

def scores_of(model, segment: dict) -> pd.DataFrame:
    scores = model["customer_scores"]
    if is_unfiltered(segment):
        return scores
    return scores[scores["customer_id"].isin(segment_ids(model, segment))]


@pytest.mark.parametrize("segment", SEGMENT_FILTERS)
def test_churn_risk_distribution_matches_binned_scores(model, segment):
    frame = run_query(model["cursor"], "churn_risk_distribution", **{**ALL, **segment})
    scores = scores_of(model, {**ALL, **segment}).copy()
    scores["risk_bin"] = np.minimum(19, np.floor(scores["churn_risk"] * 20)).astype(int)
    grouped = (scores.groupby(["risk_bin", "risk_band"])
               .agg(customers=("customer_id", "size"), revenue=("revenue", "sum"),
                    predicted_clv_365d=("predicted_clv_365d", "sum"))
               .reset_index().sort_values(["risk_bin", "risk_band"]))
    expected = [{"risk_bin_start": row.risk_bin / 20.0, "risk_band": row.risk_band, "customers": row.customers,
                 "revenue": row.revenue, "predicted_clv_365d": row.predicted_clv_365d}
                for row in grouped.itertuples()]
    assert list(frame.columns) == ["risk_bin_start", "risk_band", "customers", "revenue", "predicted_clv_365d"]
    assert_rows_close(frame, expected)
    assert frame["customers"].sum() == len(scores)


@pytest.mark.parametrize("segment", SEGMENT_FILTERS)
def test_churn_rfm_grid_matches_grouped_scores(model, segment):
    frame = run_query(model["cursor"], "churn_rfm_grid", **{**ALL, **segment})
    scores = scores_of(model, {**ALL, **segment})
    grouped = (scores.groupby(["recency_score", "frequency_monetary_score", "rfm_segment"])
               .agg(customers=("customer_id", "size"), revenue=("revenue", "sum"),
                    mean_churn_risk=("churn_risk", "mean"))
               .reset_index()
               .sort_values(["recency_score", "frequency_monetary_score"], ascending=False))
    expected = [row._asdict() for row in grouped.itertuples(index=False)]
    assert list(frame.columns) == ["recency_score", "frequency_monetary_score", "rfm_segment", "customers",
                                   "revenue", "mean_churn_risk"]
    assert_rows_close(frame, expected)


# winback_summary and winback_segment

def expected_winback(model, rules: churn.WinbackRules, segment: dict) -> pd.DataFrame:
    """The customers matching the rules and the segment, highest value at stake first, then highest revenue,
    ties by customer_id."""
    scores = scores_of(model, segment)
    keep = pd.Series(True, index=scores.index)
    if rules.states is not None:
        keep &= scores["lifecycle_state"].isin(rules.states)
    if rules.recency_scores is not None:
        keep &= scores["recency_score"].isin(rules.recency_scores)
    if rules.fm_scores is not None:
        keep &= scores["frequency_monetary_score"].isin(rules.fm_scores)
    if rules.has_complained is not None:
        keep &= scores["has_complained"] == rules.has_complained
    if rules.has_returned is not None:
        keep &= scores["has_returned"] == rules.has_returned
    if rules.complaint_categories is not None:
        keep &= scores["complaint_categories"].map(
            lambda values: values is not None and values is not pd.NA and not isinstance(values, float)
            and bool(set(values) & set(rules.complaint_categories)))
    if rules.risk_bands is not None:
        keep &= scores["risk_band"].isin(rules.risk_bands)
    if rules.segments is not None:
        keep &= scores["rfm_segment"].isin(rules.segments)
    if rules.nps_categories is not None:
        keep &= scores["latest_nps_category"].isin(rules.nps_categories)
    if rules.min_days_since_last_order is not None:
        keep &= scores["days_since_last_order"] >= rules.min_days_since_last_order
    if rules.max_days_since_last_order is not None:
        keep &= scores["days_since_last_order"] <= rules.max_days_since_last_order
    if rules.min_revenue is not None:
        keep &= scores["revenue"] >= rules.min_revenue
    if rules.max_revenue is not None:
        keep &= scores["revenue"] <= rules.max_revenue
    if rules.has_open_complaint is not None:
        keep &= scores["has_open_complaint"] == rules.has_open_complaint
    if rules.is_marketing_opt_in is not None:
        keep &= scores["is_marketing_opt_in"] == rules.is_marketing_opt_in
    matches = scores[keep]
    return matches.sort_values(["value_at_stake_365d", "revenue", "customer_id"], ascending=[False, False, True],
                               na_position="last").reset_index(drop=True)


def winback_params(rules: churn.WinbackRules, segment: dict) -> dict:
    params = rules.params()
    if rules.risk_bands == ():
        params["risk_bands"] = []  # an empty list matches nobody (params() turns it into "any")
    return {**ALL, **segment, **params}


@pytest.mark.parametrize("rules", WINBACK_RULES)
@pytest.mark.parametrize("segment", SEGMENT_FILTERS)
def test_winback_summary_matches_the_matching_customers(model, rules, segment):
    params = winback_params(rules, segment)
    frame = run_query(model["cursor"], "winback_summary", **params)
    matches = expected_winback(model, churn.WinbackRules(**{**rules.__dict__, "risk_bands": params["risk_bands"]}),
                               {**ALL, **segment})
    assert list(frame.columns) == ["customers", "opted_in_customers", "revenue", "predicted_clv_365d",
                                   "value_if_active_365d", "value_at_stake_365d", "expected_orders_90d",
                                   "mean_churn_risk"]
    assert_rows_close(frame, [{
        "customers": len(matches), "opted_in_customers": int(matches["is_marketing_opt_in"].sum()),
        "revenue": matches["revenue"].sum(),
        "predicted_clv_365d": matches["predicted_clv_365d"].sum() if len(matches) else None,
        "value_if_active_365d": matches["value_if_active_365d"].sum() if len(matches) else None,
        "value_at_stake_365d": matches["value_at_stake_365d"].sum() if len(matches) else None,
        "expected_orders_90d": matches["expected_orders_90d"].sum(),
        "mean_churn_risk": matches["churn_risk"].mean() if len(matches) else None,
    }])
    if not segment and rules.risk_bands != ():
        assert len(matches) > 0, "each rule case matches someone unfiltered (else it tests little)"


def sql_round(value: float, digits: int = 0) -> float:
    """DuckDB's round of a double: halves away from zero."""
    scaled = value * 10 ** digits
    return math.copysign(math.floor(abs(scaled) + 0.5), scaled) / 10 ** digits


def day_words(value) -> str:
    day = pd.Timestamp(value)
    return f"{day.day} {day:%b %Y}"


def present(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value)) and value is not pd.NA


def expected_reasons(row) -> str | None:
    """docs/churn.md's reasons from customer_scores' stored columns: the overdue reason in words, then the stored
    complaint, feedback, return and order-value reasons, the first three that apply."""
    overdue = None
    if row["has_overdue_reason"]:
        days = int(row["days_since_last_order"])
        if row["frequency"] > 0:
            ratio = days / row["typical_gap_days"]
            times = str(int(sql_round(ratio))) if ratio >= 3 else repr(sql_round(ratio, 1))
            overdue = (f"no order for {days} days, {times}x their usual gap of "
                       f"{int(sql_round(row['typical_gap_days']))} days")
        else:
            overdue = (f"only one order, {days} days ago (a repeat customer's usual gap is "
                       f"{int(sql_round(row['median_typical_gap_days']))} days)")
    texts = [overdue, row["complaint_reason"], row["feedback_reason"], row["return_reason_text"],
             row["value_reason"]]
    kept = [text for text in texts if present(text)][:3]
    return "; ".join(kept) or None


def expected_winback_reason(row) -> str:
    """The lifecycle state in words, then every stored complaint, feedback, return and order-value reason."""
    state = row["lifecycle_state"]
    if state == "active":
        words = f"ordering as expected: next order due by {day_words(row['expected_next_order_on'])}"
    elif state == "slipping":
        words = (f"slipping: an order was due by {day_words(row['expected_next_order_on'])} (about every "
                 f"{int(max(1, sql_round(row['expected_gap_days'])))} days), none since "
                 f"{day_words(row['last_purchased_on'])}")
    elif state == "new":
        words = (f"new: first order on {day_words(row['first_purchased_on'])}, a second is expected by "
                 f"{day_words(row['expected_next_order_on'])}")
    elif state == "one_time":
        words = (f"one order, on {day_words(row['first_purchased_on'])}; a second was expected by "
                 f"{day_words(row['expected_next_order_on'])}")
    else:
        chance = "under 1%" if row["p_alive"] < 0.005 else f"{int(sql_round(100 * row['p_alive']))}%"
        words = f"lapsed: last order on {day_words(row['last_purchased_on'])}, {chance} chance still a customer"
    others = [row[column] for column in ("complaint_reason", "feedback_reason", "return_reason_text", "value_reason")]
    return "; ".join([words] + [text for text in others if present(text)])


def masked(email):
    if email is None or (isinstance(email, float) and math.isnan(email)):
        return None
    at = email.find("@")
    return email[0] + "***" + email[at:] if at > 0 else None


@pytest.mark.parametrize("rules", WINBACK_RULES)
@pytest.mark.parametrize("segment", SEGMENT_FILTERS)
def test_winback_segment_pages_match_the_sorted_matches(model, rules, segment):
    params = winback_params(rules, segment)
    matches = expected_winback(model, churn.WinbackRules(**{**rules.__dict__, "risk_bands": params["risk_bands"]}),
                               {**ALL, **segment})
    for limit, offset, show_pii in ((50, 0, False), (20, 35, True), (None, None, False)):
        frame = run_query(model["cursor"], "winback_segment", **params, show_pii=show_pii, limit=limit,
                          offset=offset, opted_in_only=False)
        assert list(frame.columns) == WINBACK_SEGMENT_COLUMNS
        start = offset or 0
        page = matches.iloc[start: None if limit is None else start + limit]
        assert frame["customer_id"].tolist() == page["customer_id"].tolist()
        assert (frame["total_matches"] == len(matches)).all()
        emails = page["email"].tolist() if show_pii else [masked(email) for email in page["email"]]
        assert [None if pd.isna(value) else value for value in frame["email"]] == [
            None if pd.isna(value) else value for value in emails]
        for column in ("churn_risk", "p_alive", "revenue", "predicted_clv_365d", "days_since_last_order",
                       "frequency", "value_at_stake_365d", "value_if_active_365d", "expected_orders_365d",
                       "predicted_value_90d", "count_orders"):
            assert np.allclose(frame[column].to_numpy(dtype=float), page[column].to_numpy(dtype=float),
                               rtol=1e-12, equal_nan=True), column
        for column in ("rfm_segment", "risk_band", "latest_nps_category", "has_open_complaint",
                       "is_marketing_opt_in", "last_comment_masked", "lifecycle_state",
                       "has_complained", "has_returned", "is_overdue", "expected_next_order_on",
                       "last_purchased_on"):
            assert [None if pd.isna(v) else v for v in frame[column]] == [
                None if pd.isna(v) else v for v in page[column]], column
        # the texts the page puts together, against the same words made here from the stored columns
        assert [None if pd.isna(v) else v for v in frame["reasons"]] == [
            expected_reasons(row) for _, row in page.iterrows()]
        assert frame["winback_reason"].tolist() == [expected_winback_reason(row) for _, row in page.iterrows()]


def test_opted_in_only_keeps_the_opted_in_matches(model):
    rules = churn.WinbackRules(states=("slipping", "lapsed"))
    params = winback_params(rules, {})
    matches = expected_winback(model, rules, dict(ALL))
    frame = run_query(model["cursor"], "winback_segment", **params, show_pii=False, limit=None, offset=0,
                      opted_in_only=True)
    opted_in = matches[matches["is_marketing_opt_in"]]
    assert 0 < len(opted_in) < len(matches)
    assert frame["customer_id"].tolist() == opted_in["customer_id"].tolist()
    assert (frame["total_matches"] == len(matches)).all()


def test_lifecycle_states_sum_the_customers_of_each_state(model):
    for segment in (param.values[0] for param in SEGMENT_FILTERS[:3]):
        scores = scores_of(model, {**ALL, **segment})
        frame = run_query(model["cursor"], "churn_lifecycle_states", **{**ALL, **segment})
        expected = scores.groupby("lifecycle_state").agg(
            customers=("customer_id", "size"), revenue=("revenue", "sum"),
            predicted_clv_365d=("predicted_clv_365d", "sum"), value_if_active_365d=("value_if_active_365d", "sum"),
            value_at_stake_365d=("value_at_stake_365d", "sum"), expected_orders_90d=("expected_orders_90d", "sum"),
        ).reset_index()
        assert_rows_close(frame, expected.to_dict("records"))
        crossed = run_query(model["cursor"], "churn_rfm_lifecycle", **{**ALL, **segment})
        counts = scores.groupby(["rfm_segment", "lifecycle_state"]).size()
        assert dict(zip(zip(crossed.rfm_segment, crossed.lifecycle_state), crossed.customers)) == counts.to_dict()


def test_high_risk_summary_of_the_overview_uses_the_same_customers(model):
    """churn.high_risk_summary (the overview card) reads winback_summary: the high-risk customers of a segment."""
    scores = scores_of(model, {**ALL, "channels": ["email"]})
    summary = churn.high_risk_summary(model["cursor"], Segment(channels=("email",)))
    high = scores[scores["risk_band"] == "high"]
    assert summary["high_risk_customers"] == len(high)
    assert summary["high_risk_revenue"] == pytest.approx(high["revenue"].sum(), rel=1e-12)
