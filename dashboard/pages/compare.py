"""Compare segments: 2-4 segments side by side (retention, repeat rate, time to 2nd order, revenue per customer,
NPS, care), each with its 95% interval and size, and the difference from segment A with its 95% interval."""

import pandas as pd
import streamlit as st

from dashboard import cache, compare, compare_figures, formatting
from dashboard import segments as segment_specs
from dashboard.alerts import change_text, display
from dashboard.pages.common import chart, current_view, empty, figure, require_data
from dashboard.queries import QueryError

st.title("Compare segments")
view = current_view()
if not require_data(view):
    st.stop()
st.caption(
    "Each segment is any combination of the sidebar's dimensions: values of one dimension are alternatives, "
    "different dimensions narrow together; an empty segment is every customer. The sidebar's segment filters "
    "do not apply here; the as-of date does. Intervals are 95%; the last columns are each segment minus A."
)

values = cache.query(view.database, view.as_of, "segment_values")
options = [segment_specs.token(segment_specs.DIMENSION_KEYS[row.dimension], row.segment_value)
           for row in values.itertuples()]
# The URL keeps what the widget shows (Streamlit binds the formatted option), so labels are made from the stored
# values only: a shared link keeps working.
option_labels = {token: segment_specs.token_label(token) for token in options}
channels = [token for token in options if token.startswith("channel:")]  # most customers first
defaults = {"a": channels[:1], "b": channels[1:2]}

count = int(st.segmented_control(
    "Segments", options=["2", "3", "4"], default="2", key="compare_n", bind="query-params",
    help="How many segments to put side by side.",
) or "2")
chosen = []
for letter, column in zip(compare.LETTERS[:count], st.columns(count)):
    tokens = column.multiselect(
        f"Segment {letter}", options=options, default=defaults.get(letter.lower(), []),
        key=f"compare_{letter.lower()}", bind="query-params", format_func=option_labels.get,
        placeholder="All customers",
        help="Pick values of any dimensions, e.g. Tier: gold, or Channel: referral and Region: north.",
    )
    chosen.append(segment_specs.from_tokens(tokens))

tables = view.database.catalog.tables
exported = {"surveys": tables["surveys"].is_usable, "tickets": tables["tickets"].is_usable}


def run(name: str, **params) -> pd.DataFrame:
    """The pages' cached query for this as-of date, with a segment's parameters."""
    return cache.query(view.database, view.as_of, name, **params)


try:
    comparison = compare.compare_segments(
        run, chosen, exported,
        rows_of=lambda letter, segment: cache.segment_rows(view.database, view.as_of, letter, segment, exported))
except QueryError as error:
    st.error(f"The comparison could not be computed: {error}", icon=":material/error:")
    st.stop()

sizes = comparison.summary[comparison.summary["metric"] == "customers"].set_index("segment")["value"]
for letter, column in zip(comparison.labels, st.columns(count)):
    column.metric(comparison.labels[letter], display(sizes[letter], "count") + " customers", border=True,
                  help="Customers with a valid order by the as-of date in this segment.")
if comparison.empty:
    st.warning(f"No customer is in segment {', '.join(comparison.empty)} by the as-of date: widen it.",
               icon=":material/person_off:")
if comparison.overlapping:
    pairs = ", ".join(f"{first} and {second}" for first, second in comparison.overlapping)
    st.caption(f"Segments {pairs} can share customers, so their differences are not between independent groups "
               "and the intervals of those differences are too wide or too narrow.")


def number(value, kind: str) -> str:
    """A value without its unit word for days (the unit is said once per cell)."""
    return formatting.decimal(value, 1).removesuffix(".0") if kind == "days" else display(value, kind)


def cell(row: dict, kind: str) -> str:
    """``31.2% (29.8–32.6%), n=1,234``, ``38 (35–41) days, n=2,501`` or why there is no value."""
    if row["value"] is None:
        return row["note"] or "–"
    if kind == "count":
        return display(row["value"], "count")
    unit = " days" if kind == "days" else ""
    interval = (f" ({number(row['ci_low'], kind)}–{number(row['ci_high'], kind)})"
                if row["ci_low"] is not None else "")
    return f"{number(row['value'], kind)}{interval}{unit}, n={int(row['n']):,}"


def difference_cell(row: dict, kind: str) -> str:
    """``+2.3 pts (−0.5 to +5.1)``, marked ✱ when the interval excludes 0."""
    if row["difference"] is None:
        return "–"
    relative = False
    texts = [change_text(row[column], kind, relative) for column in ("difference", "ci_low", "ci_high")]
    if kind == "days":  # "+5.0 days (−9.3 days to +19.3 days)" says days three times
        texts = [text.removesuffix(" days") for text in texts[:2]] + [texts[2]]
    if kind in ("rate", "score"):
        texts = [text.removesuffix(" pts") for text in texts[:2]] + [texts[2]]
    marker = " ✱" if row["ci_low"] > 0 or row["ci_high"] < 0 else ""
    return f"{texts[0]} ({texts[1]} to {texts[2]}){marker}"


summary = {(row["metric"], row["segment"]): row for row in comparison.summary.to_dict("records")}
differences = {(row["metric"], row["segment"]): row for row in comparison.differences.to_dict("records")}
table, gaps = [], []
for metric, (metric_label, kind, counted) in compare.SUMMARY_METRICS.items():
    line = {"Metric": metric_label}
    for letter in comparison.labels:
        line[comparison.labels[letter]] = cell(summary[(metric, letter)], kind)
    table.append(line)
    if metric != "customers":
        gaps.append({"Metric": metric_label, **{f"{letter} − A": difference_cell(differences[(metric, letter)], kind)
                                                for letter in list(comparison.labels)[1:]}})
st.subheader("Side by side")
st.caption("Each value with its 95% interval and the number it rests on: n counts customers, except for the 2nd "
           "order within 90 days (customers whose first order is 90+ days old), the median days (customers with a "
           "2nd order), the month 3 and 12 rows (customers of cohorts that have completed that month), NPS and "
           "CSAT (responses in the 90 days) and the complaint rows (orders 90+ days old).")
ROW_HEIGHT = 35  # Streamlit's row height: every row shown, no inner scrolling
st.dataframe(pd.DataFrame(table), hide_index=True, width="stretch", key="compare_table",
             height=ROW_HEIGHT * (len(table) + 1) + 3,
             column_config={"Metric": st.column_config.TextColumn(width="medium")})
st.subheader("Difference from A")
st.dataframe(pd.DataFrame(gaps), hide_index=True, width="stretch", key="compare_differences",
             height=ROW_HEIGHT * (len(gaps) + 1) + 3,
             column_config={"Metric": st.column_config.TextColumn(width="large")})
st.caption("✱ the 95% interval of the difference excludes 0. Rates in percentage points (Wilson intervals, "
           "differences by Newcombe's method); NPS in points, revenue and days: normal approximation. Retention and "
           "revenue by month k count only cohorts that have completed month k. Definitions: docs/metrics.md, "
           "Segment comparison.")

left, right = st.columns(2)
with left:
    if comparison.retention.empty:
        empty("No cohort of these segments has completed a month yet.")
    else:
        chart(figure(compare_figures.retention_curves, comparison.retention, comparison.labels),
              key="compare_retention")
with right:
    if comparison.revenue.empty:
        empty("No cohort of these segments has completed a month yet.")
    else:
        chart(figure(compare_figures.revenue_curves, comparison.revenue, comparison.labels), key="compare_revenue")

left, right = st.columns(2)
with left:
    if (comparison.milestones["eligible_customers"] > 0).any():
        chart(figure(compare_figures.second_order_curves, comparison.milestones, comparison.labels),
              key="compare_second")
    else:
        empty("No customer's first order is 30 days old yet, so time to second order cannot be measured.")
with right:
    if not exported["tickets"]:
        empty("Support tickets were not exported, so repurchase after a complaint cannot be compared.")
    elif comparison.care["anchor_orders"].sum() == 0:
        empty("No order of these segments is 90 days old yet, so repurchase after care cannot be measured.")
    else:
        care_rows = comparison.care.assign(care_group=[formatting.label(group) for group in comparison.care["care_group"]])
        chart(figure(
            compare_figures.grouped_rates, care_rows, comparison.labels, "care_group", "repurchase_rate_90d",
            "anchor_orders",
            "Bought again within 90 days, by complaint outcome", "Ticket on the order", "Bought again ≤ 90 days",
            "orders 90+ days old"), key="compare_care")
if not exported["surveys"]:
    empty("Surveys were not exported, so NPS and CSAT cannot be compared.")
