"""Repeat purchase: do first-time buyers come back, how fast, and which segments do?"""

import streamlit as st

from dashboard import figures
from dashboard.filters import SEGMENT_DIMENSIONS
from dashboard.pages.common import chart, current_view, empty, query, require_data
from dashboard.pages.ghost_control import with_ghost

st.title("Repeat purchase")
view = current_view()
if not require_data(view):
    st.stop()
grain = view.filters.grain

kpis = query(view, "kpis")
second = query(view, "second_order_rate_90d")
gaps = query(view, "median_days_between_orders")
trend = query(view, "activity_trend")
if any(frame is None for frame in (kpis, second, gaps, trend)):
    st.stop()
kpis, second, gaps = kpis.iloc[0], second.iloc[0], gaps.iloc[0]
if not kpis["customers"]:
    empty("No customer in this segment has a valid order by the as-of date. Widen the filters.")
    st.stop()

complete = trend[~trend["is_partial_period"]]
latest_period = complete.iloc[-1] if len(complete) else None
cards = st.columns(4)
cards[0].metric(
    "Repeat rate", figures.format_percent(kpis["repeat_rate"]), border=True,
    help="Customers with 2+ valid orders / customers with 1+ valid order, all time up to the as-of date. "
         f"{int(kpis['repeat_customers']):,} of {int(kpis['customers']):,}.",
)
cards[1].metric(
    f"Returning-customer rate (last full {grain})",
    figures.format_percent(latest_period["returning_customer_rate"]) if latest_period is not None else "–",
    border=True,
    help="Shopify's definition: of the customers who ordered in the period, the share who had ordered before it. "
         + (f"{int(latest_period['returning_customers']):,} of {int(latest_period['active_customers']):,} "
            f"in the {grain} starting {latest_period['period_start']:%d %b %Y}." if latest_period is not None else ""),
)
cards[2].metric(
    "2nd order within 90 days", figures.format_percent(second["second_order_rate_90d"]), border=True,
    help="Of customers whose first order is at least 90 days old, the share whose second order came within 90 days. "
         f"{int(second['second_order_customers']):,} of {int(second['eligible_customers']):,}.",
)
cards[3].metric(
    "Median days between orders", figures.format_number(gaps["median_days_between_orders"], 1), border=True,
    help=f"Median over all {int(gaps['count_gaps']):,} gaps between a customer's consecutive valid orders.",
)

st.subheader(f"New and returning customers per {grain}")
if trend["active_customers"].sum() == 0:
    empty("No valid orders in the trend range for this segment.")
else:
    chart(with_ghost(view, figures.activity_trend(trend, grain), "activity_trend", "active_customers", ",.0f",
                     what="active customers"), key="activity_trend")
    chart(with_ghost(view, figures.revenue_trend(trend, grain), "activity_trend", "revenue", "$,.0f", what="revenue"),
          key="revenue_trend")

left, right = st.columns(2)
with left:
    days = query(view, "time_to_second_order")
    milestones = query(view, "second_order_milestones")
    if days is None or milestones is None:
        pass
    elif days.empty:
        empty("Nobody in this segment has placed a second order yet.")
    else:
        chart(figures.time_to_second_order(days, milestones), key="time_to_second")
with right:
    buckets = query(view, "orders_per_customer")
    if buckets is not None:
        chart(figures.orders_per_customer(buckets), key="orders_per_customer")

by_cohort = query(view, "second_order_rate_by_cohort")
if by_cohort is not None:
    if (by_cohort["eligible_customers"] > 0).any():
        chart(figures.second_order_rate_by_cohort(by_cohort, grain), key="second_by_cohort")
    else:
        empty("No cohort is 90 days old yet, so no 90-day second-order rate can be measured.")

st.subheader("By segment")
dimension = st.segmented_control(
    "Break down by", options=list(SEGMENT_DIMENSIONS), default="acquisition_channel", key="breakdown",
    bind="query-params", format_func=SEGMENT_DIMENSIONS.get,
) or "acquisition_channel"
segments = query(view, "repeat_rate_by_segment", dimension=dimension)
if segments is not None and len(segments):
    chart(
        figures.rate_bars(segments, "segment_value", "repeat_rate", "customers",
                          f"Repeat rate by {SEGMENT_DIMENSIONS[dimension].lower()}",
                          SEGMENT_DIMENSIONS[dimension], "Repeat rate (2+ orders)"),
        key="segment_bars",
    )
    st.dataframe(
        segments, width="stretch", hide_index=True, key="segment_table",
        column_config={
            "segment_value": SEGMENT_DIMENSIONS[dimension],
            "repeat_rate": st.column_config.NumberColumn("Repeat rate", format="percent"),
            "second_order_rate_90d": st.column_config.NumberColumn("2nd order ≤ 90 d", format="percent"),
            "revenue": st.column_config.NumberColumn("Revenue", format="dollar"),
            "revenue_per_customer": st.column_config.NumberColumn("Revenue / customer", format="dollar"),
        },
    )
