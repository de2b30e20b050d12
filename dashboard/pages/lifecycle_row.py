"""The row of lifecycle-state cards the Overview shows (one place, so the Overview's own code stays small): how
many customers are active, slipping, new, one-time and lapsed, each a link to its win-back list on the churn
page, and the value at stake among the slipping."""

import streamlit as st

from dashboard import cache, formatting, lifecycle
from dashboard.pages.common import View


QUERIES = ("churn_model_info", "churn_lifecycle_states")


def is_pending(view: View) -> bool:
    """True when the row's queries still have tables to build (the churn model is fitted on the first view after
    new exports: up to a minute on large ones); False once they are built or read from a prepared snapshot."""
    try:
        return bool(view.database.pending(view.as_of, list(QUERIES)))
    except Exception:  # the row itself reports what went wrong
        return True


def placeholder(view: View, slot) -> None:
    """While the cards above are drawn: in ``slot``, a line saying the row is being computed, when it has to be.
    Otherwise nothing, so that a rerun leaves the previous cards in place until the new ones replace them instead
    of swapping them for the line and back (and a prepared start does not claim the model is being fitted)."""
    if is_pending(view):
        with slot.container():
            st.caption(":material/hourglass_top: Scoring every customer's lifecycle state (the first view after new "
                       "exports fits the churn model: up to a minute on large exports)…")


def show(view: View) -> None:
    """The cards, or one line saying why they cannot be shown (the churn page explains model problems)."""
    from dashboard import churn  # here: it imports scipy, which the cards above it need not wait for

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
    st.markdown("**Where customers are** (lifecycle states; click a share for its win-back list)")
    columns = st.columns(len(lifecycle.STATES))
    for column, state in zip(columns, lifecycle.STATES):
        with column.container(border=True):
            st.metric(lifecycle.STATE_LABELS[state], formatting.count(int(counts[state]), short=True), border=False,
                      help=lifecycle.STATE_DESCRIPTIONS[state])
            st.page_link("dashboard/pages/churn.py", label=f"{formatting.rate(counts[state] / total)} · list"
                         if total else "list", query_params={"state": lifecycle.STATE_LABELS[state]},
                         icon=":material/list:", help=f"Open the win-back list of the {lifecycle.STATE_LABELS[state]} "
                         "customers (churn page).")
    slipping = stakes.get("slipping")
    if model.has_predictions and not formatting.is_missing(slipping):
        st.caption(f"Value at stake among the slipping customers: **{formatting.money(slipping)}** over the next 365 "
                   "days (what they would be worth if they stayed, times their chance of having left; discounted at "
                   "10% a year). Lifetime revenue is a separate figure on the churn page.")
    else:
        st.caption("Value at stake: not available (the churn model could not be fitted on this data; the churn page "
                   "says why).")
