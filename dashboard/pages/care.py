"""Post-purchase care: does fast complaint resolution, an easy return or a follow-up survey bring
customers back? Each bar is a 90-day repurchase rate with its 95% interval and the orders behind it."""

import streamlit as st

from dashboard import figures
from dashboard.pages.common import chart, current_view, empty, query, require_data

st.title("Post-purchase care")
st.caption(
    "For every order at least 90 days old: did the same customer order again within 90 days? "
    "Orders are grouped by the care around them. Bars are 95% intervals; grey bars rest on fewer than 30 orders."
)
view = current_view()
if not require_data(view):
    st.stop()

summary = query(view, "care_summary")
rates = query(view, "care_repeat_rates")
if summary is None or rates is None:
    st.stop()
summary = summary.to_dict("records")[0]
tables = view.database.catalog.tables
cards = st.columns(5)
cards[0].metric("Tickets", figures.format_count(summary["tickets"]), border=True,
                help="Support tickets opened by customers of this segment up to the as-of date.")
cards[1].metric("Open tickets", figures.format_count(summary["unresolved_tickets"]), border=True,
                help=f"{summary['customers_with_open_ticket']:,} customers are waiting on an answer.")
cards[2].metric("Median time to resolve", f"{figures.format_number(summary['median_resolution_days'], 1)} days",
                border=True, help="Median over resolved tickets, from opening to resolution.")
cards[3].metric("Return rate", figures.format_percent(summary["return_rate"]), border=True,
                help="Valid orders with a return / valid orders.")
cards[4].metric("Silent unhappy", figures.format_count(summary["silent_unhappy_customers"]), border=True,
                help="Customers whose latest NPS answer is a detractor (0-6) and who never opened a ticket: "
                     "most unhappy customers never complain, they just leave.")

if rates["anchor_orders"].sum() == 0:
    empty("No order is 90 days old yet, so repurchase after care cannot be measured.")
    st.stop()

SECTIONS = (
    ("ticket", "Complaint outcome", "Ticket on the order", "tickets"),
    ("resolution_time", "Time to resolve the complaint", "Resolution time of the order's first ticket", "tickets"),
    ("return", "Returns", "Return on the order", "returns"),
    ("survey", "Follow-up surveys", "Survey answered about the order", "surveys"),
    ("silent_unhappy", "Silent unhappy customers", "Detractor answer on the order", "surveys"),
)
left, right = st.columns(2)
for index, (dimension, title, axis, table) in enumerate(SECTIONS):
    column = left if index % 2 == 0 else right
    with column:
        rows = rates[rates["care_dimension"] == dimension]
        if not tables[table].is_usable:
            empty(f"{title}: no {table} were exported, so this comparison is not possible.")
        elif rows["anchor_orders"].sum() == 0:
            empty(f"{title}: no order in this segment has this kind of care yet.")
        else:
            chart(figures.care_groups(rows, f"{title}: 90-day repurchase", axis), key=f"care_{dimension}")

with st.expander("The numbers behind the charts"):
    st.dataframe(
        rates, width="stretch", hide_index=True, key="care_table",
        column_config={
            "repurchase_rate_90d": st.column_config.NumberColumn("Repurchase ≤ 90 d", format="percent"),
            "ci_low": st.column_config.NumberColumn("95% low", format="percent"),
            "ci_high": st.column_config.NumberColumn("95% high", format="percent"),
        },
    )
