"""Campaigns: did a win-back campaign bring customers back? Treatment against holdout, with a 95% interval."""

import pandas as pd
import streamlit as st

from dashboard import cache, campaigns, churn_figures, formatting
from dashboard.pages.common import chart, current_view, delta_style, empty, figure, require_data, table

st.title("Campaigns: did it work?")
st.caption(
    "For each campaign: the share of its **treatment** customers (who got it) and of its **holdout** (kept back at "
    "random) who placed an order within 30, 60 and 90 days after it was sent. The difference is the campaign's "
    "lift; its 95% interval says how sure that is. Campaigns come from the `campaigns` export and from the lists "
    "exported with a holdout on the churn page. Definitions: docs/churn.md, \"Campaigns\"."
)
view = current_view()
if not require_data(view):
    st.stop()

try:  # cached until a win-back list is recorded (cache.campaign_outcomes)
    outcomes = cache.campaign_outcomes(view.database, view.as_of)
except Exception as error:  # a page explains, it does not print a traceback
    st.error(f"The campaigns could not be measured: {error}", icon=":material/error:")
    st.stop()
exported = view.database.catalog.tables["campaigns"].is_usable
if outcomes.empty:
    empty("No campaign to measure yet. Export a list with a holdout on the churn page (it is recorded here), or add "
          "a `campaigns` export with campaign_id, customer_id, group (treatment or holdout) and sent_at."
          + ("" if exported else " No campaigns table was exported."))
    st.stop()
results = campaigns.lift_table(outcomes)
window = st.segmented_control("Window after the send", options=list(campaigns.WINDOWS), default=90, key="window",
                              bind="query-params", format_func=lambda days: f"{days} days") or 90
shown = results[results["window_days"] == window].sort_values(["sent_at", "campaign_id"])

for row in shown.itertuples(index=False):
    with st.container(border=True):
        title = f"**{row.campaign_id}**, sent {pd.Timestamp(row.sent_at):%d %b %Y}"
        details = [text for text in (row.channel and f"by {formatting.label(row.channel)}",
                                     row.offer and f"offer: {row.offer}") if text]
        st.markdown(title + (f" ({', '.join(details)})" if details else ""))
        treatment_column, holdout_column, lift_column, revenue_column = st.columns(4)
        treatment_column.metric(f"Treatment ordered within {window} days", formatting.rate(row.treatment_rate),
                                help=f"{formatting.plural(row.treatment_ordered, 'customer')} of "
                                     f"{row.treatment_customers:,} who got the campaign.")
        holdout_column.metric(f"Holdout ordered within {window} days", formatting.rate(row.holdout_rate),
                              help=f"{formatting.plural(row.holdout_ordered, 'customer')} of "
                                   f"{row.holdout_customers:,} kept back at random.")
        lift_column.metric("Lift", "not available" if pd.isna(row.lift) else f"{100 * row.lift:+.1f} pts",
                           help="Treatment rate - holdout rate, in percentage points; 95% interval by Newcombe's "
                                "method.")
        revenue_gap = row.treatment_revenue_per_customer - row.holdout_revenue_per_customer
        gap_text = None if pd.isna(revenue_gap) else f"{formatting.money(round(revenue_gap, 2) or 0.0)} vs holdout"
        revenue_column.metric("Revenue per customer", formatting.money(row.treatment_revenue_per_customer),
                              delta=gap_text, **delta_style(gap_text, "normal"),
                              help=f"Revenue of valid orders within {window} days per treatment customer "
                                   f"(holdout: {formatting.money(row.holdout_revenue_per_customer)}).")
        message = st.success if row.verdict.startswith("Worked") else (
            st.info if row.verdict.startswith(("No measurable", "Not over")) else st.warning)
        message(row.verdict, icon=":material/campaign:")
        if not pd.isna(row.treatment_discount_given) and row.treatment_discount_given > 0:
            st.caption(f"Revenue given away in discounts on the treatment group's orders in these {window} days: "
                       f"{formatting.money(row.treatment_discount_given)} "
                       f"({formatting.money(row.treatment_discount_per_customer)} per customer; the holdout's "
                       f"orders carried {formatting.money(row.holdout_discount_per_customer)} per customer).")

if shown["is_complete"].any():
    chart(figure(churn_figures.campaign_lift, results, window), key="campaign_lift")
with st.expander("Every campaign and window"):
    table(results.drop(columns=["last_sent_at", "detectable_lift", "treatment_discount_per_customer",
                                "holdout_discount_per_customer", "holdout_ordered", "treatment_ordered"]),
          key="campaign_table",
          kinds={"treatment_rate": "rate", "holdout_rate": "rate", "lift": "rate", "lift_ci_low": "rate",
                 "lift_ci_high": "rate", "treatment_revenue_per_customer": "money",
                 "holdout_revenue_per_customer": "money", "treatment_discount_given": "money",
                 "window_days": "count", "verdict": "text", "offer": "text"},
          headers={"lift_ci_low": "Lift, 95% low", "lift_ci_high": "Lift, 95% high", "sent_at": "Sent",
                   "window_end_at": "Window ends", "window_days": "Window (days)", "is_complete": "Window over",
                   "is_too_small": "Holdout too small", "treatment_discount_given": "Discounts, treatment"})
