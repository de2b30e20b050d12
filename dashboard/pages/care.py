"""Post-purchase care: does fast complaint resolution, an easy return or a follow-up survey bring
customers back? Each bar is a 90-day repurchase rate with its 95% interval and the orders behind it."""

import streamlit as st

from dashboard import figures, formatting
from dashboard.pages.common import (chart, current_view, empty, figure, is_exported, not_exported, query, require_data,
                                    table)

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
has = {table_name: is_exported(view.database, table_name) for table_name in ("tickets", "returns", "surveys")}


def card(column, label: str, value: str, note: str, definition: str, rules: dict | None = None) -> None:
    with column.container(border=True):
        st.metric(label, value, help=definition, border=False)
        st.caption(note)
        if rules:
            list_link(rules)


# One click from a group to its customers: the churn page's win-back list with these rules (any lifecycle state),
# where it can be exported. Keys and labels are the builder's URL (docs/churn.md, "The win-back list").
CARE_LISTS = {
    "open": {"state": "", "complaint": "Yes"},
    "complained": {"state": "", "complained": "Yes"},
    "returned": {"state": "", "returned": "Yes"},
    "silent_unhappy": {"state": "", "nps": "Detractor", "complained": "No"},
    "detractors": {"state": "", "nps": "Detractor"},
}


def list_link(rules: dict, label: str = "Their list") -> None:
    st.page_link("dashboard/pages/churn.py", label=label, query_params=rules, icon=":material/list:",
                 help="These customers as a win-back list on the churn page, ready to export.")


# Three ticket cards when tickets were exported, else one card saying so; then returns and silent unhappy (no
# empty slots, and "Not exported" fits its card).
cards = st.columns(5 if has["tickets"] else 3)
return_slot, silent_slot = cards[-2], cards[-1]
if has["tickets"]:
    card(cards[0], "Tickets", formatting.count(summary["tickets"], short=True), "Support tickets opened",
         "Support tickets opened by customers of this segment up to the as-of date.")
    card(cards[1], "Open tickets", formatting.count(summary["unresolved_tickets"], short=True),
         f"{formatting.plural(summary['customers_with_open_ticket'], 'customer')} waiting on an answer",
         "Tickets not resolved by the end of the as-of day.", CARE_LISTS["open"])
    card(cards[2], "Time to resolve", formatting.days(summary["median_resolution_days"]),
         "Median over resolved tickets", "Median over resolved tickets, from opening to resolution.")
else:
    with cards[0].container(border=True):
        st.metric("Tickets", "Not exported", border=False)
        st.caption(not_exported("tickets", "complaints, open tickets and resolution times"))
if has["returns"]:
    card(return_slot, "Return rate", formatting.rate(summary["return_rate"]), "Of valid orders",
         "Valid orders with a return / valid orders.", CARE_LISTS["returned"])
else:
    with return_slot.container(border=True):
        st.metric("Return rate", "Not exported", border=False)
        st.caption(not_exported("returns", "the return rate"))
if has["surveys"] and has["tickets"]:
    card(silent_slot, "Silent unhappy", formatting.count(summary["silent_unhappy_customers"], short=True),
         "Customers (the chart below counts their orders)",
         "Customers whose latest NPS answer is a detractor (0-6) and who never opened a ticket: most unhappy "
         "customers never complain, they just leave.", CARE_LISTS["silent_unhappy"])
else:
    missing = [name for name in ("surveys", "tickets") if not has[name]]
    with silent_slot.container(border=True):
        st.metric("Silent unhappy", "Not exported", border=False)
        st.caption(not_exported(missing, "who is unhappy without complaining"))

if rates["anchor_orders"].sum() == 0:
    empty("No order is 90 days old yet, so repurchase after care cannot be measured.")
    st.stop()

SECTIONS = (
    ("ticket", "Complaint outcome", "Ticket on the order", ("tickets",), "complaint outcomes"),
    ("resolution_time", "Time to resolve the complaint", "Resolution time of the order's first ticket", ("tickets",),
     "how fast complaints were resolved"),
    ("return", "Returns", "Return on the order", ("returns",), "whether a return changes repurchase"),
    ("survey", "Follow-up surveys", "Survey answered about the order", ("surveys",), "whether surveyed customers come back"),
    ("silent_unhappy", "Silent unhappy customers", "Detractor answer on the order", ("surveys", "tickets"),
     "whether unhappy customers who never complained come back"),
)
SECTION_LISTS = {  # the customers behind a section's bars, as a win-back list
    "ticket": ("complained", "Customers who complained: the list"),
    "resolution_time": ("open", "Customers still waiting on an answer: the list"),
    "return": ("returned", "Customers who returned something: the list"),
    "survey": ("detractors", "Customers whose latest NPS answer is a detractor: the list"),
    "silent_unhappy": ("silent_unhappy", "The silent unhappy (detractors who never complained): the list"),
}
left, right = st.columns(2)
for index, (dimension, title, axis, needs, what) in enumerate(SECTIONS):
    column = left if index % 2 == 0 else right
    with column:
        rows = rates[rates["care_dimension"] == dimension]
        missing = [name for name in needs if not has[name]]
        if missing:
            empty(f"{title}: " + not_exported(missing, what))
        elif rows["anchor_orders"].sum() == 0:
            empty(f"{title}: no order in this segment has this kind of care yet.")
        else:
            chart(figure(figures.care_groups, rows, f"{title}: 90-day repurchase (per order)", axis),
                  key=f"care_{dimension}")
            link = SECTION_LISTS.get(dimension)
            if link:
                list_link(CARE_LISTS[link[0]], link[1])

with st.expander("The numbers behind the charts"):
    shown = rates[rates["care_dimension"].map(
        {dimension: all(has[name] for name in needs) for dimension, _, _, needs, _ in SECTIONS}).fillna(True)]
    table(shown.drop(columns=[column for column in ("group_order", "dimension_order") if column in shown.columns]),
          key="care_table", headers={"customers": "Customers (who placed these orders)"})
