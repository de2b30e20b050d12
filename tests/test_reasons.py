"""Why customers leave: 90-day repurchase by ticket category, category x outcome and return reason, and by comment
theme, on real DuckDB over small demo exports, against an independent pandas computation from the model's own rows.

The pandas side recomputes the care page's order-anchored repurchase (anchor orders, next order within 90 days),
links tickets and responses to orders by the documented rules, classifies each order's tickets by category and
outcome, and its returns by reason, and takes the range, the no-problem baseline and the Wilson intervals itself.
Themes are read from the stored ``theme_texts`` (their fit is tested in test_themes.py); which orders carry a theme
and how they repurchase is recomputed here.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from dashboard import demo, graph
from dashboard.model import Database
from dashboard.settings import load_settings
from tests.segments import SEGMENT_FILTERS
from tests.test_cubes_care import close, customer_segments, run, segment_ids

Z = 1.959963984540054
DAY = pd.Timedelta(days=1)
OUTCOMES = ("resolved within a day", "resolved in a day or more", "unresolved")


@pytest.fixture(scope="module", params=[("UTC", None), ("America/New_York", date(2026, 6, 17))],
                ids=["utc-latest", "new-york-mid-month"])
def model(request, tmp_path_factory):
    """A cursor over 1,500 demo customers (themes built) and the model's own rows, loaded into pandas."""
    timezone, as_of = request.param
    root = tmp_path_factory.mktemp("reasons")
    demo.generate(root / "demo", customers=1_500, seed=23)
    database = Database.open(load_settings(environ={}, data_dir=root / "demo", state_dir=root / "state",
                                           timezone=timezone))
    cursor = database.cursor(as_of or database.default_as_of())
    graph.ensure_for(cursor, ["themes"])  # theme_texts: the graph's node (built once per version of the exports)
    rows = {table: cursor.execute(f"select * from {table}").df()
            for table in ("valid_orders", "valid_tickets", "valid_returns", "valid_surveys", "theme_texts")}
    rows["cutoff"] = pd.Timestamp(cursor.execute("select cutoff_at from model_info").fetchone()[0])
    rows["as_of"] = cursor.execute("select as_of from model_info").fetchone()[0]
    profiles = cursor.execute("select * from main.clean_customers").df()
    rows["customers"] = customer_segments(rows["valid_orders"], profiles)
    rows["customers_emails"] = profiles.drop_duplicates("customer_id").set_index("customer_id")["email"].to_dict()
    rows["timezone"] = timezone
    return cursor, rows


def wilson(x: int, n: int) -> tuple[float | None, float | None]:
    if not n:
        return None, None
    center = (x + Z * Z / 2) / (n + Z * Z)
    half = Z * math.sqrt(x * (n - x) / n + Z * Z / 4) / (n + Z * Z)
    return max(0.0, center - half), min(1.0, center + half)


def anchors_of(rows: dict) -> pd.DataFrame:
    """Anchor orders of customers with a valid order: local day, is_repurchased."""
    orders = rows["valid_orders"].sort_values(["customer_id", "order_seq"]).reset_index(drop=True)
    orders["next_ordered_at"] = orders.groupby("customer_id")["ordered_at"].shift(-1)
    anchors = orders[orders["ordered_at"] + 90 * DAY <= rows["cutoff"]].copy()
    anchors["is_repurchased"] = (anchors["next_ordered_at"] <= anchors["ordered_at"] + 90 * DAY).fillna(False)
    anchors["anchor_day"] = anchors["ordered_local"].dt.date
    return anchors


def ticket_links(rows: dict) -> pd.DataFrame:
    """(order_id, ticket columns): by order_id, else the customer's latest valid order at or before the opening."""
    orders = rows["valid_orders"]
    tickets = rows["valid_tickets"].reset_index(drop=True).assign(ticket_number=lambda t: np.arange(len(t)))
    linked = tickets[tickets["order_id"].notna()]
    unlinked = tickets[tickets["order_id"].isna()].drop(columns="order_id").merge(
        orders[["customer_id", "order_id", "ordered_at", "order_seq"]], on="customer_id")
    unlinked = unlinked[unlinked["ordered_at"] <= unlinked["opened_at"]]
    unlinked = unlinked.sort_values("order_seq").groupby("ticket_number").tail(1)
    return pd.concat([linked, unlinked[linked.columns]], ignore_index=True)


def response_links(rows: dict) -> pd.DataFrame:
    """(order_id, response columns): by order_id, else every order of the customer within 30 days before it."""
    orders, surveys = rows["valid_orders"], rows["valid_surveys"]
    direct = surveys[surveys["order_id"].notna()]
    window = surveys[surveys["order_id"].isna()].drop(columns="order_id").merge(
        orders[["customer_id", "order_id", "ordered_at"]], on="customer_id")
    window = window[(window["submitted_at"] >= window["ordered_at"])
                    & (window["submitted_at"] <= window["ordered_at"] + 30 * DAY)]
    return pd.concat([direct, window[direct.columns]], ignore_index=True)


def in_range(anchors: pd.DataFrame, start: date | None, end: date | None) -> pd.DataFrame:
    keep = pd.Series(True, index=anchors.index)
    if start is not None:
        keep &= anchors["anchor_day"] >= start
    if end is not None:
        keep &= anchors["anchor_day"] <= end
    return anchors[keep]


def category_outcomes(tickets: pd.DataFrame) -> pd.DataFrame:
    """(order_id, category, outcome) of linked tickets: unresolved if one is open, else by the slowest resolution."""
    per_category = tickets.groupby(["order_id", "category"]).agg(
        any_open=("is_resolved", lambda resolved: bool((~resolved.astype(bool)).any())),
        slowest=("resolution_days", "max")).reset_index()
    per_category["outcome"] = np.where(per_category["any_open"], "unresolved",
                                       np.where(per_category["slowest"] < 1, "resolved within a day",
                                                "resolved in a day or more"))
    return per_category


def expected_reasons(rows: dict, dimension: str, segment: dict, start, end) -> pd.DataFrame:
    """reasons_repurchase computed from the model rows."""
    anchors = in_range(anchors_of(rows), start, end)
    anchors = anchors[anchors["customer_id"].isin(segment_ids(rows["customers"], segment))]
    tickets = ticket_links(rows)
    returns = rows["valid_returns"][rows["valid_returns"]["order_id"].notna()]
    problem = set(tickets["order_id"]) | set(returns["order_id"])
    baseline = anchors[~anchors["order_id"].isin(problem)]
    base_rate = baseline["is_repurchased"].mean() if len(baseline) else None

    if dimension == "return_reason":
        reasons = returns.assign(fact_value=returns["reason"].str.strip().replace("", None))
        facts = reasons[["order_id", "fact_value"]].drop_duplicates().assign(outcome=None)
    else:
        per_category = category_outcomes(tickets)
        facts = per_category.rename(columns={"category": "fact_value"})[["order_id", "fact_value", "outcome"]]
        if dimension == "ticket_category":
            facts = facts.assign(outcome=None)
    joined = facts.merge(anchors[["order_id", "is_repurchased"]], on="order_id")
    keys = ["fact_value", "outcome"]
    groups = joined.groupby(keys, dropna=False).agg(anchor_orders=("order_id", "size"),
                                                   repurchased_orders=("is_repurchased", "sum")).reset_index()
    if dimension == "category_outcome":
        full = pd.MultiIndex.from_product([groups["fact_value"].unique(), OUTCOMES], names=keys).to_frame(index=False)
        groups = full.merge(groups, on=keys, how="left").fillna({"anchor_orders": 0, "repurchased_orders": 0})
    groups = groups.astype({"anchor_orders": "int64", "repurchased_orders": "int64"})
    groups["repurchase_rate_90d"] = groups["repurchased_orders"] / groups["anchor_orders"].replace(0, np.nan)
    intervals = [wilson(x, n) for x, n in zip(groups["repurchased_orders"], groups["anchor_orders"])]
    groups["ci_low"] = [low for low, _ in intervals]
    groups["ci_high"] = [high for _, high in intervals]
    groups["baseline_anchor_orders"] = len(baseline)
    groups["baseline_rate_90d"] = base_rate
    groups["repeat_orders_lost"] = groups["anchor_orders"] * (groups["baseline_rate_90d"] - groups["repurchase_rate_90d"])
    return groups, anchors


RANGES = [pytest.param(None, None, id="all-time"), pytest.param(-400, -120, id="a-range")]


@pytest.mark.parametrize("dimension", ["ticket_category", "category_outcome", "return_reason"])
@pytest.mark.parametrize("segment", SEGMENT_FILTERS)
@pytest.mark.parametrize("start_offset,end_offset", RANGES)
def test_reasons_repurchase_matches_pandas(model, dimension, segment, start_offset, end_offset):
    cursor, rows = model
    start = rows["as_of"] + timedelta(days=start_offset) if start_offset is not None else None
    end = rows["as_of"] + timedelta(days=end_offset) if end_offset is not None else None
    actual = run(cursor, "reasons_repurchase", {**segment, "dimension": dimension, "start_date": start,
                                                 "end_date": end})
    expected, anchors = expected_reasons(rows, dimension, segment, start, end)
    def key(frame: pd.DataFrame) -> list[tuple]:
        return [(value if isinstance(value, str) else None, outcome if isinstance(outcome, str) else None)
                for value, outcome in zip(frame["fact_value"].astype(object), frame["outcome"].astype(object))]


    assert sorted(key(actual), key=str) == sorted(key(expected), key=str)
    expected = expected.assign(key=key(expected)).set_index("key")
    for position, row in actual.assign(key=key(actual)).iterrows():
        want = expected.loc[[row["key"]]].iloc[0]
        for column in ("anchor_orders", "repurchased_orders", "baseline_anchor_orders"):
            assert row[column] == want[column], (row["key"], column)
        for column in ("repurchase_rate_90d", "ci_low", "ci_high", "baseline_rate_90d", "repeat_orders_lost"):
            assert close(row[column], want[column]), (row["key"], column, row[column], want[column])
    lost = actual["repeat_orders_lost"]
    assert lost.dropna().is_monotonic_decreasing and lost.isna().sum() == lost.iloc[len(lost.dropna()):].isna().sum()
    if len(actual):
        assert pd.Timestamp(actual["first_anchor_day"].iloc[0]).date() == anchors["anchor_day"].min()
        assert pd.Timestamp(actual["last_anchor_day"].iloc[0]).date() == anchors["anchor_day"].max()
    if segment == {} and start is None:
        assert len(actual) >= 5 and actual["anchor_orders"].sum() > 0  # the fixture exercises the query


def test_reasons_unknown_dimension_returns_no_rows(model):
    cursor, _ = model
    assert run(cursor, "reasons_repurchase", {"dimension": "no such thing", "start_date": None,
                                              "end_date": None}).empty


@pytest.mark.parametrize("source", ["any", "survey", "ticket"])
@pytest.mark.parametrize("segment", [SEGMENT_FILTERS[0], SEGMENT_FILTERS[3]])
def test_theme_repurchase_and_counts_match_pandas(model, source, segment):
    cursor, rows = model
    actual = run(cursor, "theme_summary", {**segment, "source": source, "start_date": None, "end_date": None})
    ids = segment_ids(rows["customers"], segment)
    theme_of = rows["theme_texts"].set_index("text")["theme_id"]

    anchors = anchors_of(rows)
    anchors = anchors[anchors["customer_id"].isin(ids)]
    linked = []
    if source in ("any", "survey"):
        responses = response_links(rows)
        linked.append(responses.assign(theme_id=responses["comment_masked"].map(theme_of))[["order_id", "theme_id"]])
    if source in ("any", "ticket"):
        tickets = ticket_links(rows)
        linked.append(tickets.assign(theme_id=tickets["text_masked"].map(theme_of))[["order_id", "theme_id"]])
    order_themes = pd.concat(linked).dropna().drop_duplicates()
    joined = order_themes.merge(anchors[["order_id", "is_repurchased"]], on="order_id")

    texts = []
    surveys = rows["valid_surveys"]
    tickets_rows = rows["valid_tickets"]
    if segment:
        surveys = surveys[surveys["customer_id"].isin(ids)]
        tickets_rows = tickets_rows[tickets_rows["customer_id"].isin(ids)]
    if source in ("any", "survey"):
        texts.append(surveys["comment_masked"].dropna().map(theme_of))
    if source in ("any", "ticket"):
        texts.append(tickets_rows["text_masked"].dropna().map(theme_of))
    text_counts = pd.concat(texts).value_counts()

    assert set(actual["theme_id"]) == set(rows["theme_texts"]["theme_id"]) | {-1, -2, -3}
    for _, row in actual.iterrows():
        members = joined[joined["theme_id"] == row["theme_id"]]
        n, x = len(members), int(members["is_repurchased"].sum())
        assert (row["anchor_orders"], row["repurchased_orders"]) == (n, x), row["label"]
        others = anchors[~anchors["order_id"].isin(members["order_id"])]
        assert row["other_anchor_orders"] == len(others)
        assert close(row["other_rate_90d"], others["is_repurchased"].mean() if len(others) else None)
        assert close(row["ci_low"], wilson(x, n)[0]) and close(row["ci_high"], wilson(x, n)[1])
        assert row["texts"] == text_counts.get(row["theme_id"], 0), row["label"]
    assert actual["texts"].sum() == text_counts.sum()
    if source == "any" and not segment:
        assert (actual.loc[actual["theme_id"] > 0, "anchor_orders"] > 0).sum() >= 3


@pytest.mark.parametrize("source", ["any", "survey", "ticket"])
@pytest.mark.parametrize("segment", [SEGMENT_FILTERS[0], SEGMENT_FILTERS[3]])
@pytest.mark.parametrize("start_offset,end_offset", RANGES)
def test_theme_text_numbers_and_recent_windows_match_pandas(model, source, segment, start_offset, end_offset):
    """theme_summary's per-theme text numbers in the range (texts, NPS, CSAT, sentiment) and its recent / prior
    windows (the 91 days ending on the as-of day, the 365 before them, whatever the range), from the texts."""
    cursor, rows = model
    as_of = rows["as_of"]
    start = as_of + timedelta(days=start_offset) if start_offset is not None else None
    end = as_of + timedelta(days=end_offset) if end_offset is not None else None
    actual = run(cursor, "theme_summary", {**segment, "source": source, "start_date": start, "end_date": end})
    texts = all_texts(rows)
    if source != "any":
        texts = texts[texts["source"] == source]
    if segment:
        texts = texts[texts["customer_id"].isin(segment_ids(rows["customers"], segment))]
    ranged = texts
    if start is not None:
        ranged = ranged[ranged["text_day"] >= start]
    if end is not None:
        ranged = ranged[ranged["text_day"] <= end]
    recent = texts[texts["text_day"] > as_of - timedelta(days=91)]
    prior = texts[(texts["text_day"] <= as_of - timedelta(days=91)) & (texts["text_day"] > as_of - timedelta(days=456))]
    assert len(recent) and len(prior), "the windows hold texts (else this tests little)"
    checked = 0
    for _, row in actual.iterrows():
        mine = ranged[ranged["theme_id"] == row["theme_id"]]
        nps = mine[mine["kind"] == "nps"]
        csat = mine[mine["kind"] == "csat"]
        scored = mine["sentiment"].dropna()
        assert row["texts"] == len(mine), row["label"]
        assert close(row["text_share"], len(mine) / len(ranged) if len(ranged) else None)
        assert row["nps_responses"] == len(nps)
        assert close(row["mean_nps_score"], nps["score"].mean() if len(nps) else None)
        assert close(row["nps"], 100 * ((nps["score"] >= 9).sum() - (nps["score"] <= 6).sum()) / len(nps)
                     if len(nps) else None)
        assert row["csat_responses"] == len(csat)
        assert close(row["mean_csat_score"], csat["score"].mean() if len(csat) else None)
        assert close(row["csat"], (csat["score"] >= 4).mean() if len(csat) else None)
        assert close(row["mean_sentiment"], scored.mean() if len(scored) else None)
        assert row["recent_texts"] == (recent["theme_id"] == row["theme_id"]).sum(), row["label"]
        assert row["prior_texts"] == (prior["theme_id"] == row["theme_id"]).sum(), row["label"]
        assert (row["recent_total"], row["prior_total"]) == (len(recent), len(prior))
        checked += len(mine) > 0
    assert checked >= 3


def expected_customers(rows: dict, kind: str, value, outcome, source: str, segment: dict, start, end,
                       ordered_since) -> pd.DataFrame:
    """reasons_customers computed from the model rows: the customers with an anchor order of the group in the range
    and segment, what the list shows of them, in the list's order (not ordered since first, revenue, id)."""
    anchors = in_range(anchors_of(rows), start, end)
    anchors = anchors[anchors["customer_id"].isin(segment_ids(rows["customers"], segment))]
    if kind == "ticket_category":
        tickets = ticket_links(rows)
        per_category = category_outcomes(tickets)
        picked = per_category[(per_category["category"] == value)
                              & ((per_category["outcome"] == outcome) if outcome else True)]
    elif kind == "return_reason":
        returns = rows["valid_returns"][rows["valid_returns"]["order_id"].notna()]
        picked = returns[returns["reason"].str.strip().replace("", None) == value]
    else:
        theme_of = rows["theme_texts"].set_index("text")["theme_id"]
        linked = []
        if source in ("any", "survey"):
            responses = response_links(rows)
            linked.append(responses.assign(theme_id=responses["comment_masked"].map(theme_of)))
        if source in ("any", "ticket"):
            tickets = ticket_links(rows)
            linked.append(tickets.assign(theme_id=tickets["text_masked"].map(theme_of)))
        themed = pd.concat(linked)
        picked = themed[themed["theme_id"] == int(value)]
    group = anchors[anchors["order_id"].isin(set(picked["order_id"]))]
    customers = group.groupby("customer_id").agg(
        group_orders=("order_id", "size"), repurchased_orders=("is_repurchased", "sum"),
        last_group_order_at=("ordered_at", "max"))
    orders = rows["valid_orders"].groupby("customer_id").agg(
        count_orders=("order_id", "size"), revenue=("revenue", "sum"), last_ordered_at=("ordered_at", "max"))
    customers = customers.join(orders, how="inner")
    customers["has_ordered_since"] = customers["last_ordered_at"] > customers["last_group_order_at"]
    if ordered_since is not None:
        customers = customers[customers["has_ordered_since"] == ordered_since]
    customers = customers.reset_index().sort_values(["has_ordered_since", "revenue", "customer_id"],
                                                    ascending=[True, False, True])
    return customers.reset_index(drop=True)


LISTS = [
    pytest.param("ticket_category", "delivery_delay", None, "any", id="ticket-category"),
    pytest.param("ticket_category", "delivery_delay", "unresolved", "any", id="category-and-outcome"),
    pytest.param("return_reason", "damaged", None, "any", id="return-reason"),
    pytest.param("theme", "1", None, "any", id="theme-any-text"),
    pytest.param("theme", "1", None, "ticket", id="theme-ticket-texts"),
]


@pytest.mark.parametrize("kind,value,outcome,source", LISTS)
@pytest.mark.parametrize("ordered_since", [False, None, True], ids=["not-since", "everyone", "since"])
@pytest.mark.parametrize("segment", [SEGMENT_FILTERS[0], SEGMENT_FILTERS[3]])
@pytest.mark.parametrize("start_offset,end_offset", RANGES)
def test_customer_lists_match_pandas(model, kind, value, outcome, source, ordered_since, segment, start_offset,
                                     end_offset):
    """Who is behind a bar: every customer, their counts, dates and lifetime figures, in the list's order, and the
    total a page of the list reports."""
    cursor, rows = model
    start = rows["as_of"] + timedelta(days=start_offset) if start_offset is not None else None
    end = rows["as_of"] + timedelta(days=end_offset) if end_offset is not None else None
    params = {**segment, "fact_kind": kind, "fact_value": value, "outcome": outcome, "source": source,
              "ordered_since": ordered_since, "show_email": True, "start_date": start, "end_date": end}
    actual = run(cursor, "reasons_customers", {**params, "limit": None, "offset": 0})
    expected = expected_customers(rows, kind, value, outcome, source, segment, start, end, ordered_since)
    assert actual["customer_id"].tolist() == expected["customer_id"].tolist()
    for column in ("group_orders", "repurchased_orders", "count_orders", "has_ordered_since"):
        assert actual[column].tolist() == expected[column].tolist(), column
    for column in ("last_group_order_at", "last_ordered_at"):
        assert (pd.to_datetime(actual[column]) == pd.to_datetime(expected[column])).all(), column
    assert all(close(got, want) for got, want in zip(actual["revenue"], expected["revenue"]))
    emails = rows["customers_emails"]
    assert actual["email"].tolist() == [emails.get(customer) for customer in expected["customer_id"]]
    assert (actual["total_matches"] == len(expected)).all()
    page = run(cursor, "reasons_customers", {**params, "limit": 5, "offset": 5})
    assert page["customer_id"].tolist() == expected["customer_id"].tolist()[5:10]
    assert (page["total_matches"] == len(expected)).all()
    if not segment and start is None and ordered_since is None:
        # the fixture exercises the second page and both kinds of customer
        assert len(expected) > 5 and expected["has_ordered_since"].any() and not expected["has_ordered_since"].all()


def all_texts(rows: dict) -> pd.DataFrame:
    """Every survey comment and ticket text of the model rows, with its local day of writing, theme and sentiment."""
    theme_of = rows["theme_texts"].set_index("text")
    surveys = rows["valid_surveys"][rows["valid_surveys"]["comment_masked"].notna()]
    tickets = rows["valid_tickets"][rows["valid_tickets"]["text_masked"].notna()]
    opened_local = tickets["opened_at"].dt.tz_localize("UTC").dt.tz_convert(rows["timezone"]).dt.tz_localize(None)
    texts = pd.concat([
        pd.DataFrame({"source": "survey", "text_id": surveys["response_id"], "customer_id": surveys["customer_id"],
                      "text_at": surveys["submitted_at"], "text_day": surveys["submitted_local"].dt.date,
                      "kind": surveys["kind"], "score": surveys["score"], "touchpoint": surveys["touchpoint"],
                      "category": None, "text": surveys["comment_masked"]}),
        pd.DataFrame({"source": "ticket", "text_id": tickets["ticket_id"], "customer_id": tickets["customer_id"],
                      "text_at": tickets["opened_at"], "text_day": opened_local.dt.date, "kind": None, "score": None,
                      "touchpoint": None, "category": tickets["category"], "text": tickets["text_masked"]}),
    ], ignore_index=True)
    texts["theme_id"] = texts["text"].map(theme_of["theme_id"])
    texts["sentiment"] = texts["text"].map(theme_of["sentiment"])
    return texts


def expected_examples(rows: dict, theme_id: int, source: str, segment: dict, start, end) -> pd.DataFrame:
    """theme_examples computed from the model rows: the theme's texts of the source, segment and range (by local day
    of writing), newest first (ties by source, id)."""
    texts = all_texts(rows)
    texts = texts[texts["theme_id"] == theme_id]
    if source != "any":
        texts = texts[texts["source"] == source]
    if segment:
        texts = texts[texts["customer_id"].isin(segment_ids(rows["customers"], segment))]
    if start is not None:
        texts = texts[texts["text_day"] >= start]
    if end is not None:
        texts = texts[texts["text_day"] <= end]
    return texts.sort_values(["text_at", "source", "text_id", "text"], ascending=[False, True, True, True]
                             ).reset_index(drop=True)


@pytest.mark.parametrize("source", ["any", "survey", "ticket"])
@pytest.mark.parametrize("segment", [SEGMENT_FILTERS[0], SEGMENT_FILTERS[3]])
@pytest.mark.parametrize("start_offset,end_offset", RANGES)
def test_theme_examples_match_pandas(model, source, segment, start_offset, end_offset):
    """What they wrote: a page of a theme's texts, newest first, and how many there are in all."""
    cursor, rows = model
    start = rows["as_of"] + timedelta(days=start_offset) if start_offset is not None else None
    end = rows["as_of"] + timedelta(days=end_offset) if end_offset is not None else None
    themed = rows["theme_texts"]
    theme_id = int(themed.loc[themed["theme_id"] > 0, "theme_id"].value_counts().idxmax())  # the most written-about
    expected = expected_examples(rows, theme_id, source, segment, start, end)
    params = {**segment, "theme_id": theme_id, "source": source, "start_date": start, "end_date": end}
    for offset, limit in ((0, 50), (3, 4), (0, None)):
        actual = run(cursor, "theme_examples", {**params, "limit": limit, "offset": offset})
        want = expected.iloc[offset:None if limit is None else offset + limit]
        assert len(actual) == len(want), (offset, limit)
        assert (actual["total_matches"] == len(expected)).all()
        assert actual["text"].tolist() == want["text"].tolist()
        assert actual["source"].tolist() == want["source"].tolist()
        assert (pd.to_datetime(actual["text_at"]).values == pd.to_datetime(want["text_at"]).values).all()
        for column in ("kind", "touchpoint", "category"):
            assert [value if isinstance(value, str) else None for value in actual[column]] == \
                   [value if isinstance(value, str) else None for value in want[column]], column
        assert all(close(got, wanted) for got, wanted in zip(actual["score"], want["score"]))
        assert all(close(got, wanted) for got, wanted in zip(actual["sentiment"], want["sentiment"]))
    if not segment and start is None and source == "any":
        assert len(expected) > 7  # the fixture exercises the second page
