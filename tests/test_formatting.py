"""The formatting layer (dashboard/formatting.py) and the hygiene checker (dashboard/hygiene.py)."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from dashboard import formatting as fmt
from dashboard import hygiene


@pytest.mark.parametrize("value, text", [
    (14791, "14,791"), (0, "0"), (1234.6, "1,235"), (None, "–"), (float("nan"), "–"), (pd.NA, "–"),
    (np.int64(2_000), "2,000"),
])
def test_counts_have_thousands_separators(value, text):
    assert fmt.count(value) == text


def test_short_counts_fit_a_card():
    assert fmt.count(999_999, short=True) == "999,999"
    assert fmt.count(10_986_123, short=True) == "10.99M"
    assert fmt.count(2_500_000_000, short=True) == "2.50B"


@pytest.mark.parametrize("value, text", [
    (2_433_909.65, "$2,433,910"), (1_000, "$1,000"), (999.994, "$999.99"), (999.996, "$1,000"),
    (48.7, "$48.70"), (0, "$0.00"), (-1_250.4, "-$1,250"), (-3.5, "-$3.50"), (None, "–"),
])
def test_money_has_cents_only_below_a_thousand(value, text):
    assert fmt.money(value) == text


def test_short_money_fits_a_card():
    assert fmt.money(2_433_909.65, short=True) == "$2.43M"
    assert fmt.money(433_909.65, short=True) == "$433,910"


@pytest.mark.parametrize("value, text", [(0.4058, "40.6%"), (0.487, "48.7%"), (1, "100.0%"), (0, "0.0%"),
                                         (None, "–"), (float("nan"), "–")])
def test_every_rate_has_one_decimal(value, text):
    assert fmt.rate(value) == text


@pytest.mark.parametrize("value, text", [(1, "1 day"), (0, "0 days"), (2, "2 days"), (12.5, "12.5 days"),
                                         (1.0, "1 day"), (12.46, "12.5 days"), (None, "–")])
def test_days_are_singular_for_one(value, text):
    assert fmt.days(value) == text


def test_plural():
    assert fmt.plural(1, "customer") == "1 customer"
    assert fmt.plural(1_204, "customer") == "1,204 customers"
    assert fmt.plural(3, "reply", "replies") == "3 replies"
    assert fmt.plural(1, "reply", "replies") == "1 reply"


def test_changes():
    assert fmt.change(0.42, 0.40, "rate") == "+2.0 pts"
    assert fmt.change(0.40, 0.40, "rate") == "0.0 pts"
    assert fmt.change(45.0, 47.5, "score") == "-2.5 pts"
    assert fmt.change(110, 100, "count") == "+10.0%"
    # a change that rounds to nothing has no sign (it is not a rise), and says so to the pages
    assert fmt.change(100.04, 100, "count") == "0.0%" and fmt.change(99.96, 100, "money") == "0.0%"
    assert fmt.change(100.06, 100, "count") == "+0.1%" and fmt.change(99.94, 100, "money") == "-0.1%"
    assert fmt.is_no_change(fmt.change(34, 34, "days")) and fmt.is_no_change(fmt.change(0.4, 0.4, "rate"))
    assert not fmt.is_no_change(fmt.change(0.41, 0.4, "rate")) and not fmt.is_no_change(None)
    # the pages' own texts too: a campaign's revenue gap, the backtest's AUC gap (no digits: not a change text)
    assert fmt.is_no_change("$0.00 vs holdout") and fmt.is_no_change("0.000 vs recency")
    assert not fmt.is_no_change("-$0.40 vs holdout") and not fmt.is_no_change("+0.010 vs recency")
    assert not fmt.is_no_change("") and not fmt.is_no_change("vs holdout")
    assert fmt.change(110, 0, "count") is None
    assert fmt.change(None, 1, "count") is None


@pytest.mark.parametrize("value, field, text", [
    ("organic_search", None, "Organic search"), ("paid_social", "acquisition_channel", "Paid social"),
    ("North America", "region", "North America"), ("UK", "region", "UK"), ("unknown", "region", "Not recorded"),
    (None, "region", "Not recorded"), (float("nan"), None, "Not recorded"), ("", None, "Not recorded"),
    ("none", "loyalty_tier", "No tier"), ("none", "latest_nps_category", "Never answered"),
    ("post_delivery", "touchpoint", "After delivery"), ("nps", "kind", "NPS"), ("no ticket", None, "No ticket"),
    ("detractor, no ticket", None, "Detractor, no ticket"), ("gold", "loyalty_tier", "Gold"),
    (None, "comment_masked", "(no comment)"),
])
def test_stored_values_have_labels(value, field, text):
    assert fmt.label(value, field) == text


def test_sentences_built_from_stored_values_are_made_readable():
    assert fmt.humanise_words("complaint about delivery_delay open for 12 days") == \
        "complaint about delivery delay open for 12 days"
    assert fmt.humanise_words(None) == "–"


@pytest.mark.parametrize("column, text", [
    ("repeat_customers", "Customers with 2+ orders"), ("eligible_customers_90d", "Customers 90+ days since first order"),
    ("segment_value", "Segment"), ("count_gaps", "Gaps"), ("median_resolution_days", "Median resolution (days)"),
    ("some_new_metric", "Some new metric"),
])
def test_headers(column, text):
    assert fmt.header(column) == text


def test_kinds_are_read_from_column_names():
    frame = pd.DataFrame({
        "repeat_rate": [0.1], "revenue": [1.0], "customers": [3], "first_ordered_at": [pd.Timestamp("2026-01-01")],
        "is_marketing_opt_in": [True], "acquisition_channel": ["email"], "reasons": ["x"],
        "predicted_clv_365d": [3.0], "days_since_last_order": [4], "nps": [3.2], "csat": [0.8],
        "responses_per_order": [0.2], "cohort_start": [pd.Timestamp("2026-01-01")],
    })
    kinds = {column: fmt.column_kind(column, frame[column]) for column in frame.columns}
    assert kinds == {
        "repeat_rate": "rate", "revenue": "money", "customers": "count", "first_ordered_at": "date",
        "is_marketing_opt_in": "bool", "acquisition_channel": "label", "reasons": "text",
        "predicted_clv_365d": "money", "days_since_last_order": "days", "nps": "score", "csat": "rate",
        "responses_per_order": "rate", "cohort_start": "date",
    }


def people_frame():
    return pd.DataFrame({
        "segment_value": ["organic_search", "unknown", None],
        "customers": [14791, 1, 0],
        "repeat_rate": [0.40583, float("nan"), 0.0],
        "revenue": [2_433_909.65, 48.7, 0.0],
        "comment_masked": ["late", None, "fine"],
    })


def test_frame_for_people_has_headers_labels_and_no_none_or_nan():
    shown = fmt.frame_for_people(people_frame(), fields={"segment_value": "acquisition_channel"})
    assert list(shown.columns) == ["Segment", "Customers", "Repeat rate", "Revenue", "Comment"]
    assert shown.to_dict("list") == {
        "Segment": ["Organic search", "Not recorded", "Not recorded"],
        "Customers": ["14,791", "1", "0"],
        "Repeat rate": ["40.6%", "–", "0.0%"],
        "Revenue": ["$2,433,910", "$48.70", "$0.00"],
        "Comment": ["late", "(no comment)", "fine"],
    }
    assert hygiene.frame_problems(shown) == []
    assert "None" not in shown.to_csv() and "nan" not in shown.to_csv()


def test_frame_for_screen_keeps_numbers_and_returns_their_formats():
    shown, formats = fmt.frame_for_screen(people_frame())
    assert shown["Customers"].tolist() == [14791, 1, 0]
    assert shown["Repeat rate"].tolist()[0] == pytest.approx(40.583)
    assert formats == {"Customers": ("number", "%,.0f"), "Repeat rate": ("number", "%.1f%%"),
                       "Revenue": ("number", "$%,.0f")}
    small, small_formats = fmt.frame_for_screen(pd.DataFrame({"aov": [48.7, 12.0]}))
    assert small_formats == {"Average order value": ("number", "$%,.2f")}


@pytest.mark.parametrize("top, intervals, step", [
    (2301, 4, 1000), (3068, 4, 1000), (1.6, 4, 0.5), (767, 5, 200), (2, 4, 0.5), (0, 4, 1), (100, 4, 25),
])
def test_nice_steps_are_round(top, intervals, step):
    assert fmt.nice_step(top, intervals) == pytest.approx(step)


def test_integer_axes_step_by_whole_numbers():
    """A small segment's customer axis once read 0, 1, 1, 2: counts step by whole numbers."""
    assert fmt.nice_step(2, 4, integer=True) == 1
    assert fmt.nice_step(9, 4, integer=True) == 5
    assert fmt.nice_step(30, 4, integer=True) == 10


def test_aligned_ticks_share_the_grid():
    left, right = fmt.aligned_ticks(2_301_000, 0.68, integer_left=False)
    intervals_left = left["range"][1] / left["dtick"]
    intervals_right = right["range"][1] / right["dtick"]
    assert intervals_left == pytest.approx(intervals_right)
    assert left["range"][1] >= 2_301_000 and right["range"][1] >= 0.68
    for axis in (left, right):
        mantissa = axis["dtick"] / 10 ** math.floor(math.log10(axis["dtick"]))
        assert round(mantissa, 6) in (1, 2, 2.5, 5)


# hygiene


@pytest.mark.parametrize("text", [
    "Orders from customers acquired via organic_search rose", "Comment: None", "NPS nan", "Latest order 1 days ago",
    "Orders from customers in unknown fell", "complaint about delivery_delay.",
])
def test_hygiene_finds_bad_text(text):
    assert hygiene.text_problems(text, "t")


@pytest.mark.parametrize("text", [
    "Orders from customers acquired via Organic search rose", "1 day ago", "21 days ago", "1,204 customers",
    "docs/metrics.md and queries/segment_movements.sql", "+1.0 pts", "st.date_input", "Not recorded",
    "See ?as_of=2026-01-01 in the link", "This is 1 of 3",
])
def test_hygiene_accepts_good_text(text):
    assert hygiene.text_problems(text, "t") == []


def test_hygiene_reads_figures_and_their_unfinished_periods():
    fig = go.Figure(go.Bar(x=["2026-10-01", "2026-11-01"], y=[3, 1], name="Orders"))
    fig.update_layout(title="Orders per month", meta={"periods": {"grain": "month", "anchor": "start"}})
    problems = hygiene.figure_problems(fig, as_of=date(2026, 11, 2))
    assert len(problems) == 1 and "2026-11-01" in problems[0]
    assert hygiene.figure_problems(fig, as_of=date(2026, 11, 30)) == []
    marked = go.Figure([go.Bar(x=["2026-10-01"], y=[3], name="Orders"),
                        go.Bar(x=["2026-11-01"], y=[1], name="Orders (in progress)",
                               hovertemplate="%{x}: %{y} (month in progress)")])
    marked.update_layout(meta={"periods": {"grain": "month", "anchor": "start"}})
    assert hygiene.figure_problems(marked, as_of=date(2026, 11, 2)) == []
    undeclared = go.Figure(go.Scatter(x=["2026-10-01"], y=[1]))
    assert "no period declared" in hygiene.figure_problems(undeclared, date(2026, 11, 2))[0]
    window = go.Figure(go.Scatter(x=["2026-08-01"], y=[0.2], name="2nd order"))
    window.update_layout(meta={"periods": {"grain": "month", "anchor": "start", "window_days": 90}})
    assert hygiene.figure_problems(window, date(2026, 11, 2))  # Aug + 90 days is 29 Nov
    assert hygiene.figure_problems(window, date(2026, 11, 29)) == []


def test_hygiene_reads_figure_categories_and_legends():
    fig = go.Figure(go.Bar(x=["organic_search", "unknown"], y=[1, 2], name="paid_social"))
    problems = hygiene.figure_problems(fig)
    assert any("organic_search" in p for p in problems) and any("'unknown'" in p for p in problems)
    assert any("paid_social" in p for p in problems)


def test_hygiene_reads_tables():
    frame = pd.DataFrame({"repeat_customers": [1], "comment": [None], "rate": [float("nan")]})
    problems = hygiene.frame_problems(frame)
    assert any("repeat_customers" in p for p in problems)
    assert any("comment" in p for p in problems) and any("'rate'" in p for p in problems)
    assert hygiene.frame_problems(pd.DataFrame({"Rate": [float("nan")]}), placeholder="–") == []


def test_hygiene_does_not_take_an_empty_legend_entry_for_a_time_axis():
    fig = go.Figure(go.Scatter(x=[0], y=[None], name="Month in progress"))
    assert hygiene.figure_problems(fig, as_of=date(2026, 11, 15)) == []


def test_the_weekly_report_colours_a_change_that_rounds_to_nothing_as_flat():
    from dashboard.report import _change

    assert _change(100.04, 100, "count") == ("0.0%", "flat")  # was "+0.0%", coloured as a rise
    assert _change(0.4001, 0.4, "rate") == ("0.0 pts", "flat")
    assert _change(100.06, 100, "count") == ("+0.1%", "up")
    assert _change(99.94, 100, "money") == ("-0.1%", "down")
