"""The row of lifecycle-state cards the Overview shows (one place, so the Overview's own code stays small): how
many customers are active, slipping, new, one-time and lapsed, each a link to its win-back list on the churn
page, and the value at stake among the slipping."""

import streamlit as st

from dashboard import cache, churn, formatting, lifecycle
from dashboard.pages.common import View


def show(view: View) -> None:
    """The cards, or one line saying why they cannot be shown (the churn page explains model problems)."""
    try:
        with st.spinner("Fitting the churn model for the lifecycle states…"):
            model = churn.model_info_from(cache.query(view.database, view.as_of, "churn_model_info"))
            rows = cache.query(view.database, view.as_of, "churn_lifecycle_states", **view.filters.segment.params())
    except Exception as error:  # the review still renders
        st.caption(f"Lifecycle states unavailable: {error}")
        return
    counts = rows.set_index("lifecycle_state")["customers"].reindex(list(lifecycle.STATES)).fillna(0).astype(int)
    stakes = rows.set_index("lifecycle_state")["value_at_stake_365d"].reindex(list(lifecycle.STATES))
    total = int(counts.sum())
    st.markdown("**Where customers are** (lifecycle states; click one for its win-back list)")
    columns = st.columns(len(lifecycle.STATES) + 1)
    for column, state in zip(columns, lifecycle.STATES):
        with column.container(border=True):
            st.metric(lifecycle.STATE_LABELS[state], formatting.count(int(counts[state]), short=True), border=False,
                      help=lifecycle.STATE_DESCRIPTIONS[state])
            st.page_link("dashboard/pages/churn.py", label=f"{formatting.rate(counts[state] / total) if total else '–'}"
                         " of customers", query_params={"state": lifecycle.STATE_LABELS[state]},
                         icon=":material/list:")
    with columns[-1].container(border=True):
        slipping = stakes.get("slipping")
        st.metric("Value at stake, slipping", formatting.money(slipping, short=True)
                  if model.has_predictions and not formatting.is_missing(slipping) else "not available", border=False,
                  help="What the slipping customers' next 365 days would be worth if they stayed, times their chance "
                       "of having left: the part expected to be lost (discounted at 10% a year).")
