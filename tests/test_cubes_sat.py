"""The satisfaction page's queries read aggregate tables (queries/cube_sat_*.sql): each must give what a direct
computation on the model's own rows gives, under several segment filters.

Two demo databases (UTC at the default as-of; America/New_York at an earlier as-of, so local days and UTC
instants differ). The expected values are computed with pandas from ``valid_surveys``, ``valid_orders``,
``customer_summary`` and ``model_info`` as the model built them, following docs/metrics.md, never from a cube.
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
from tests.segments import ALL, FILTER_COLUMNS, aggregates_read_by, in_segment

NO_FILTER = ALL
SEGMENT_FILTERS = {
    "all": NO_FILTER,
    "one channel": {**NO_FILTER, "channels": ["email"]},
    "two channels": {**NO_FILTER, "channels": ["email", "referral"]},
    "channel and tier": {**NO_FILTER, "channels": ["referral"], "tiers": ["gold", "none"]},
    "categories and regions": {**NO_FILTER, "categories": ["apparel", "home"], "regions": ["UK", "Asia Pacific"]},
    "empty list": {**NO_FILTER, "channels": []},
}
SAT_QUERIES = ("satisfaction_90d", "nps_trend", "csat_trend", "repurchase_after_response",
               "satisfaction_by_dimension", "survey_response_rate", "survey_comments")


class Model:
    """A cursor on a demo database and the model's rows as DataFrames."""

    def __init__(self, cursor):
        self.cursor = cursor
        self.surveys = cursor.execute("select * from valid_surveys").df()
        self.orders = cursor.execute("select customer_id, ordered_at, ordered_local from valid_orders").df()
        self.customers = cursor.execute(
            "select customer_id, acquisition_channel, region, first_category, loyalty_tier from customer_summary"
        ).df()
        info = cursor.execute("select as_of, cutoff_at from model_info").fetchone()
        self.as_of, self.cutoff_at = info[0], pd.Timestamp(info[1])

    def members(self, segment: dict) -> pd.DataFrame:
        """customer_summary rows of the segment (all customers when no filter is set)."""
        return in_segment(self.customers, segment)

    def segment_surveys(self, segment: dict) -> pd.DataFrame:
        """Every response without a filter (customers with no order too), else the segment customers' ones."""
        if all(segment[key] is None for key in FILTER_COLUMNS):
            return self.surveys
        return self.surveys[self.surveys["customer_id"].isin(self.members(segment)["customer_id"])]


@pytest.fixture(scope="module", params=[("UTC", None, 5), ("America/New_York", date(2026, 6, 30), 11)],
                ids=["utc", "new_york"])
def model(request, tmp_path_factory):
    timezone, as_of, seed = request.param
    data_dir = tmp_path_factory.mktemp("sat") / "demo"
    demo.generate(data_dir, customers=700, seed=seed)
    settings = load_settings(environ={}, data_dir=data_dir, state_dir=tmp_path_factory.mktemp("state"),
                             timezone=timezone)
    database = Database.open(settings)
    return Model(database.cursor(as_of or database.default_as_of()))


def as_frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns)


def assert_same(actual: pd.DataFrame, expected: pd.DataFrame, date_columns=("period_start",)) -> None:
    assert list(actual.columns) == list(expected.columns)
    assert len(actual) == len(expected), (actual, expected)
    actual, expected = actual.reset_index(drop=True).copy(), expected.reset_index(drop=True).copy()
    for column in date_columns:
        if column in expected.columns:
            actual[column] = pd.to_datetime(actual[column])
            expected[column] = pd.to_datetime(expected[column])
    for frame in (actual, expected):
        for column in frame.columns:
            if not pd.api.types.is_numeric_dtype(frame[column]) and column not in date_columns:
                values = frame[column].astype(object)  # text: compare values, missing as None
                frame[column] = values.where(values.notna(), None)
    pd.testing.assert_frame_equal(actual, expected, check_dtype=False, rtol=1e-9, atol=1e-9)


def share(part, whole):
    return part / whole if whole else np.nan


def period_starts(local: pd.Series, grain: str) -> pd.Series:
    days = pd.to_datetime(local).dt.normalize()
    if grain == "week":
        return days - pd.to_timedelta(days.dt.day_of_week, unit="D")
    return days.dt.to_period("Q" if grain == "quarter" else "M").dt.start_time


def period_is_partial(start: pd.Timestamp, grain: str, as_of) -> bool:
    length = {"week": pd.DateOffset(days=7), "quarter": pd.DateOffset(months=3)}.get(grain, pd.DateOffset(months=1))
    return start + length > pd.Timestamp(as_of) + pd.Timedelta(days=1)


def in_range(starts: pd.Series, start_date, end_date) -> pd.Series:
    keep = pd.Series(True, index=starts.index)
    if start_date is not None:
        keep &= starts >= pd.Timestamp(start_date)
    if end_date is not None:
        keep &= starts <= pd.Timestamp(end_date)
    return keep


def date_ranges(model: Model):
    as_of = model.as_of
    return [(None, None), (as_of - timedelta(days=365), as_of), (as_of - timedelta(days=200), as_of - timedelta(days=45))]


def test_every_query_reads_only_sat_cubes_that_build(model):
    for name in SAT_QUERIES:
        cubes = aggregates_read_by(name)
        assert cubes and all(cube.startswith("cube_sat_") for cube in cubes), name
    frame = run_query(model.cursor, "satisfaction_90d", **NO_FILTER)
    assert len(frame) == 1
    assert model.cursor.execute("select count(*) from cube_sat_window90").fetchone()[0] > 0


@pytest.mark.parametrize("segment", SEGMENT_FILTERS.values(), ids=SEGMENT_FILTERS.keys())
def test_satisfaction_90d(model, segment):
    surveys = model.segment_surveys(segment)
    window = surveys[surveys["submitted_at"] >= model.cutoff_at - pd.Timedelta(days=90)]
    nps, csat = window[window["kind"] == "nps"], window[window["kind"] == "csat"]
    expected = as_frame([{
        "nps_responses_90d": len(nps),
        "nps_90d": 100.0 * share((nps["score"] >= 9).sum() - (nps["score"] <= 6).sum(), len(nps)),
        "csat_responses_90d": len(csat),
        "csat_90d": share((csat["score"] >= 4).sum(), len(csat)),
        "nps_promoters_90d": int((nps["score"] >= 9).sum()),
        "nps_detractors_90d": int((nps["score"] <= 6).sum()),
        "csat_satisfied_90d": int((csat["score"] >= 4).sum()),
    }], ["nps_responses_90d", "nps_90d", "csat_responses_90d", "csat_90d", "nps_promoters_90d",
         "nps_detractors_90d", "csat_satisfied_90d"])
    assert_same(run_query(model.cursor, "satisfaction_90d", **segment), expected)


@pytest.mark.parametrize("segment", SEGMENT_FILTERS.values(), ids=SEGMENT_FILTERS.keys())
@pytest.mark.parametrize("grain", ["week", "month", "quarter"])
def test_nps_and_csat_trends(model, segment, grain):
    surveys = model.segment_surveys(segment)
    for start_date, end_date in date_ranges(model):
        params = {**segment, "grain": grain, "start_date": start_date, "end_date": end_date}

        nps = surveys[surveys["kind"] == "nps"].assign(period_start=lambda f: period_starts(f["submitted_local"], grain))
        nps = nps[in_range(nps["period_start"], start_date, end_date)]
        rows = []
        for start, group in sorted(nps.groupby("period_start"), key=lambda item: item[0]):
            counts = {category: int((group["nps_category"] == category).sum())
                      for category in ("promoter", "passive", "detractor")}
            responses = len(group)
            rows.append({
                "period_start": start, "responses": responses, "promoters": counts["promoter"],
                "passives": counts["passive"], "detractors": counts["detractor"],
                "promoter_share": counts["promoter"] / responses, "passive_share": counts["passive"] / responses,
                "detractor_share": counts["detractor"] / responses,
                "nps": 100.0 * (counts["promoter"] - counts["detractor"]) / responses,
                "is_partial_period": period_is_partial(start, grain, model.as_of),
            })
        columns = ["period_start", "responses", "promoters", "passives", "detractors", "promoter_share",
                   "passive_share", "detractor_share", "nps", "is_partial_period"]
        assert_same(run_query(model.cursor, "nps_trend", **params), as_frame(rows, columns))

        csat = surveys[surveys["kind"] == "csat"].assign(period_start=lambda f: period_starts(f["submitted_local"], grain))
        csat = csat[in_range(csat["period_start"], start_date, end_date)]
        rows = []
        for start, group in sorted(csat.groupby("period_start"), key=lambda item: item[0]):
            satisfied = int((group["score"] >= 4).sum())
            rows.append({
                "period_start": start, "responses": len(group), "satisfied_responses": satisfied,
                "csat": satisfied / len(group), "mean_score": group["score"].mean(),
                "is_partial_period": period_is_partial(start, grain, model.as_of),
            })
        columns = ["period_start", "responses", "satisfied_responses", "csat", "mean_score", "is_partial_period"]
        assert_same(run_query(model.cursor, "csat_trend", **params), as_frame(rows, columns))


@pytest.mark.parametrize("segment", SEGMENT_FILTERS.values(), ids=SEGMENT_FILTERS.keys())
@pytest.mark.parametrize("grain", ["week", "month", "quarter"])
def test_survey_response_rate(model, segment, grain):
    surveys = model.segment_surveys(segment)
    orders = model.orders[model.orders["customer_id"].isin(model.members(segment)["customer_id"])]
    order_counts = period_starts(orders["ordered_local"], grain).value_counts()
    response_counts = period_starts(surveys["submitted_local"], grain).value_counts()
    for start_date, end_date in date_ranges(model):
        rows = []
        for start in sorted(set(order_counts.index) | set(response_counts.index)):
            if (start_date is not None and start < pd.Timestamp(start_date)) or (
                    end_date is not None and start > pd.Timestamp(end_date)):
                continue
            placed, responded = int(order_counts.get(start, 0)), int(response_counts.get(start, 0))
            rows.append({"period_start": start, "orders": placed, "responses": responded,
                         "responses_per_order": share(responded, placed),
                         "is_partial_period": period_is_partial(start, grain, model.as_of)})
        expected = as_frame(rows, ["period_start", "orders", "responses", "responses_per_order", "is_partial_period"])
        actual = run_query(model.cursor, "survey_response_rate", **segment, grain=grain, start_date=start_date,
                           end_date=end_date)
        assert_same(actual, expected)


@pytest.mark.parametrize("segment", SEGMENT_FILTERS.values(), ids=SEGMENT_FILTERS.keys())
def test_satisfaction_by_dimension(model, segment):
    surveys = model.segment_surveys(segment).merge(
        model.customers[["customer_id", "acquisition_channel", "region"]], on="customer_id", how="left")
    surveys[["acquisition_channel", "region"]] = surveys[["acquisition_channel", "region"]].fillna("unknown")
    days = pd.to_datetime(surveys["submitted_local"]).dt.normalize()
    columns = ["dimension_value", "nps_responses", "nps", "csat_responses", "csat"]
    for start_date, end_date in date_ranges(model) + [(model.as_of - timedelta(days=20), model.as_of - timedelta(days=3))]:
        chosen = surveys[in_range(days, start_date, end_date)]
        for dimension in ("touchpoint", "acquisition_channel", "region", "loyalty_tier"):
            rows = []
            if dimension != "loyalty_tier":  # another dimension returns no rows
                for value, group in sorted(chosen.groupby(dimension), key=lambda item: item[0]):
                    nps, csat = group[group["kind"] == "nps"], group[group["kind"] == "csat"]
                    rows.append({
                        "dimension_value": value, "nps_responses": len(nps),
                        "nps": 100.0 * share((nps["score"] >= 9).sum() - (nps["score"] <= 6).sum(), len(nps)),
                        "csat_responses": len(csat), "csat": share((csat["score"] >= 4).sum(), len(csat)),
                    })
            actual = run_query(model.cursor, "satisfaction_by_dimension", **segment, dimension=dimension,
                               start_date=start_date, end_date=end_date)
            assert_same(actual, as_frame(rows, columns))


@pytest.mark.parametrize("segment", SEGMENT_FILTERS.values(), ids=SEGMENT_FILTERS.keys())
def test_repurchase_after_response(model, segment):
    surveys = model.segment_surveys(segment).reset_index(drop=True)
    eligible = surveys[surveys["submitted_at"] + pd.Timedelta(days=90) <= model.cutoff_at].copy()
    eligible["response_number"] = range(len(eligible))
    pairs = eligible[["response_number", "customer_id", "submitted_at"]].merge(model.orders, on="customer_id")
    later = pairs[(pairs["ordered_at"] > pairs["submitted_at"])
                  & (pairs["ordered_at"] <= pairs["submitted_at"] + pd.Timedelta(days=90))]
    eligible["is_repurchased"] = eligible["response_number"].isin(later["response_number"])
    eligible["response_group"] = np.where(
        eligible["kind"] == "nps", eligible["nps_category"],
        np.floor(eligible["score"]).astype("Int64").astype(str))
    groups = [("nps", "promoter", 1), ("nps", "passive", 2), ("nps", "detractor", 3)] + [
        ("csat", str(score), score) for score in range(1, 6)]
    rows = []
    for kind, response_group, order in groups:
        group = eligible[(eligible["kind"] == kind) & (eligible["response_group"] == response_group)]
        repurchased = int(group["is_repurchased"].sum())
        rows.append({"kind": kind, "response_group": response_group, "group_order": order, "responses": len(group),
                     "repurchased_responses": repurchased, "repurchase_rate_90d": share(repurchased, len(group)),
                     "customers": group["customer_id"].nunique()})
    columns = ["kind", "response_group", "group_order", "responses", "repurchased_responses",
               "repurchase_rate_90d", "customers"]
    assert_same(run_query(model.cursor, "repurchase_after_response", **segment), as_frame(rows, columns))


COMMENT_CONTROLS = [
    {"search": None, "kinds": None, "min_score": 0, "max_score": 10, "limit": 50, "offset": 0},
    {"search": None, "kinds": None, "min_score": 0, "max_score": 10, "limit": 50, "offset": 50},
    {"search": "LATE", "kinds": None, "min_score": None, "max_score": None, "limit": 20, "offset": 0},
    {"search": "%", "kinds": None, "min_score": None, "max_score": None, "limit": 50, "offset": 0},
    {"search": None, "kinds": ["nps"], "min_score": 0, "max_score": 6, "limit": 50, "offset": 0},
    {"search": "[phone]", "kinds": ["csat", "nps"], "min_score": 2, "max_score": None, "limit": None, "offset": None},
]


@pytest.mark.parametrize("segment", SEGMENT_FILTERS.values(), ids=SEGMENT_FILTERS.keys())
def test_survey_comments(model, segment):
    surveys = model.segment_surveys(segment)
    commented = surveys[surveys["comment_masked"].fillna("").str.strip() != ""]
    commented = commented.sort_values(
        ["submitted_at", "response_id", "customer_id", "kind", "score", "comment_masked"],
        ascending=[False, True, True, True, True, True], na_position="last", kind="mergesort")
    columns = ["submitted_at", "customer_id", "kind", "score", "nps_category", "touchpoint", "comment_masked"]
    for controls in COMMENT_CONTROLS:
        matches = commented
        if controls["search"] is not None:
            matches = matches[matches["comment_masked"].str.lower().str.contains(controls["search"].lower(),
                                                                                regex=False)]
        if controls["kinds"] is not None:
            matches = matches[matches["kind"].isin(controls["kinds"])]
        if controls["min_score"] is not None:
            matches = matches[matches["score"] >= controls["min_score"]]
        if controls["max_score"] is not None:
            matches = matches[matches["score"] <= controls["max_score"]]
        offset = controls["offset"] or 0
        end = None if controls["limit"] is None else offset + controls["limit"]
        expected = matches[columns].iloc[offset:end].assign(total_matches=len(matches))
        actual = run_query(model.cursor, "survey_comments", **segment, **controls, show_pii=False)  # demo ids: shown
        assert_same(actual, expected, date_columns=("submitted_at",))
        if controls is COMMENT_CONTROLS[0] and segment is NO_FILTER:
            assert len(actual) == 50 and actual["total_matches"].iloc[0] > 50  # the demo has enough comments
