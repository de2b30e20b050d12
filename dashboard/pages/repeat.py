"""Repeat purchase: do first-time buyers come back, how fast, and which segments do?"""

import streamlit as st

from dashboard import figures, formatting
from dashboard.filters import SEGMENT_DIMENSIONS
from dashboard.pages import net_revenue_line
from dashboard.pages.common import (chart, current_view, empty, figure, is_exported, query, recorded_dimensions,
                                    require_data, table)
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


def card(column, label: str, value: str, note: str, definition: str) -> None:
    """A metric card with a short label (long labels were cut off) and a line under it saying what it counts."""
    with column.container(border=True):
        st.metric(label, value, help=definition, border=False)
        st.caption(note)


cards = st.columns(4)
card(cards[0], "Repeat rate", formatting.rate(kpis["repeat_rate"]),
     f"{formatting.count(kpis['repeat_customers'])} of {formatting.plural(kpis['customers'], 'customer')}, all time",
     "Customers with 2+ valid orders / customers with 1+ valid order, all time up to the as-of date.")
card(cards[1], "Returning-customer rate",
     formatting.rate(latest_period["returning_customer_rate"]) if latest_period is not None else formatting.MISSING,
     (f"{figures.period_label(latest_period['period_start'], grain)}, the last full {grain}"
      if latest_period is not None else f"No full {grain} yet"),
     "Shopify's definition: of the customers who ordered in the period, the share who had ordered before it. "
     + (f"{formatting.count(latest_period['returning_customers'])} of "
        f"{formatting.plural(latest_period['active_customers'], 'customer')}." if latest_period is not None else ""))
card(cards[2], "2nd order within 90 days", formatting.rate(second["second_order_rate_90d"]),
     f"{formatting.count(second['second_order_customers'])} of "
     f"{formatting.plural(second['eligible_customers'], 'customer')} 90+ days since their first order",
     "Of customers whose first order is at least 90 days old, the share whose second order came within 90 days.")
card(cards[3], "Days between orders", formatting.days(gaps["median_days_between_orders"]),
     f"Median over {formatting.plural(gaps['count_gaps'], 'gap')} between a customer's orders",
     "Median over all gaps between a customer's consecutive valid orders.")
net_revenue_line.show(view, query(view, "net_revenue") if is_exported(view.database, "returns") else None)

st.subheader(f"New and returning customers per {grain}")
if trend["active_customers"].sum() == 0:
    empty("No valid orders in the trend range for this segment.")
else:
    if trend["is_partial_period"].any():
        st.caption(f"The hatched {grain} is still in progress at the as-of date: its counts will grow, and its "
                   "returning-customer rate (dashed) is not comparable yet.")
    chart(with_ghost(view, figures.activity_trend, (trend, grain), "activity_trend", "active_customers", ",.0f",
                     what="active customers"), key="activity_trend")
    chart(with_ghost(view, figures.revenue_trend, (trend, grain), "activity_trend", "revenue", "$,.0f",
                     what="revenue"), key="revenue_trend")

left, right = st.columns(2)
with left:
    days = query(view, "time_to_second_order")
    milestones = query(view, "second_order_milestones")
    if days is None or milestones is None:
        pass
    elif days.empty:
        empty("Nobody in this segment has placed a second order yet.")
    else:
        chart(figure(figures.time_to_second_order, days, milestones), key="time_to_second")
with right:
    buckets = query(view, "orders_per_customer")
    if buckets is not None:
        chart(figure(figures.orders_per_customer, buckets), key="orders_per_customer")

by_cohort = query(view, "second_order_rate_by_cohort")
if by_cohort is not None:
    if (by_cohort["eligible_customers"] > 0).any():
        shown = by_cohort[by_cohort["eligible_customers"] > 0]
        if shown["is_partial_period"].any():
            st.caption("Dashed: cohorts whose customers have not all had 90 days since their first order yet, so "
                       "their rate is not final (the hover says how many have).")
        chart(figure(figures.second_order_rate_by_cohort, by_cohort, grain), key="second_by_cohort")
    else:
        empty("No cohort is 90 days old yet, so no 90-day second-order rate can be measured.")

st.subheader("By segment")
recorded = recorded_dimensions(view)
if not recorded:
    empty("These exports record no segment column (acquisition channel, region, first-order category or loyalty "
          "tier), so there is no breakdown. The Data page lists the columns found.")
    st.stop()
dimension = st.segmented_control(
    "Break down by", options=list(recorded), default=next(iter(recorded)), key="breakdown",
    bind="query-params", format_func=recorded.get,
) or next(iter(recorded))
segments = query(view, "repeat_rate_by_segment", dimension=dimension)
if segments is not None and len(segments):
    chart(
        figure(figures.rate_bars, segments, "segment_value", "repeat_rate", "customers",
               f"Repeat rate by {SEGMENT_DIMENSIONS[dimension].lower()}",
               SEGMENT_DIMENSIONS[dimension], "Repeat rate (2+ orders)", field=dimension),
        key="segment_bars",
    )
    table(segments, key="segment_table", fields={"segment_value": dimension},
          headers={"segment_value": SEGMENT_DIMENSIONS[dimension]})
