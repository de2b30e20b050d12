"""Satisfaction: NPS and CSAT over time, by touchpoint and channel, and whether happy customers come back."""

import streamlit as st

from dashboard import figures, formatting
from dashboard.pages.common import (PAGE_SIZE, chart, current_access, current_view, empty, figure, is_exported,
                                    not_exported, query, recorded_dimensions, require_data, table)
from dashboard.pages.ghost_control import with_ghost

st.title("Satisfaction")
st.caption("NPS: 100 x (share scoring 9-10 − share scoring 0-6). CSAT: share of 1-5 responses scoring 4 or 5.")
view = current_view()
if not require_data(view):
    st.stop()
grain = view.filters.grain
if not is_exported(view.database, "surveys"):
    empty(not_exported("surveys", "NPS, CSAT, what customers wrote and whether satisfied customers come back")
          + " The Data page lists what was found.")
    st.stop()

headline = query(view, "satisfaction_90d")
if headline is None:
    st.stop()
headline = headline.to_dict("records")[0]
cards = st.columns(4)
for column, label, value, count, kind in (
        (cards[0], "NPS, last 90 days", formatting.score(headline["nps_90d"]), headline["nps_responses_90d"], "NPS"),
        (cards[2], "CSAT, last 90 days", formatting.rate(headline["csat_90d"]), headline["csat_responses_90d"], "CSAT")):
    with column.container(border=True):
        st.metric(label, value, border=False,
                  help=f"From {formatting.plural(count, f'{kind} response')} in the 90 days to the as-of date.")
        st.caption(f"No {kind} responses in the 90 days to the as-of date." if not count
                   else f"From {formatting.plural(count, 'response')}")
cards[1].metric("NPS responses, last 90 days", formatting.count(headline["nps_responses_90d"]), border=True)
cards[3].metric("CSAT responses, last 90 days", formatting.count(headline["csat_responses_90d"]), border=True)

left, right = st.columns(2)
st.caption(f"A hatched bar or a dashed end is a {grain} still in progress at the as-of date: not final.")
with left:
    nps = query(view, "nps_trend")
    if nps is not None and len(nps):
        chart(with_ghost(view, figures.nps_trend, (nps, grain), "nps_trend", "nps", ".1f", yaxis="y2", what="NPS"),
              key="nps_trend")
    elif nps is not None:
        empty("No NPS responses in the trend range for this segment.")
with right:
    csat = query(view, "csat_trend")
    if csat is not None and len(csat):
        chart(with_ghost(view, figures.csat_trend, (csat, grain), "csat_trend", "csat", ".1%", what="CSAT"),
              key="csat_trend")
    elif csat is not None:
        empty("No CSAT responses in the trend range for this segment.")

st.subheader("Do satisfied customers come back?")
repurchase = query(view, "repurchase_after_response")
if repurchase is not None:
    if repurchase["responses"].sum() == 0:
        empty("No response is 90 days old yet, so repurchase after a response cannot be measured.")
    else:
        nps_groups = repurchase[repurchase["kind"] == "nps"].rename(
            columns={"response_group": "care_group", "responses": "anchor_orders", "repurchased_responses": "repurchased"})
        csat_groups = repurchase[repurchase["kind"] == "csat"].rename(
            columns={"response_group": "care_group", "responses": "anchor_orders", "repurchased_responses": "repurchased"})
        a, b = st.columns(2)
        for column, rows, title, axis in ((a, nps_groups, "90-day repurchase after an NPS response", "NPS category"),
                                          (b, csat_groups, "90-day repurchase after a CSAT response", "CSAT score")):
            low, high = figures.wilson_interval(rows["repurchased"], rows["anchor_orders"])
            rows = rows.assign(ci_low=low, ci_high=high)
            with column:
                if rows["anchor_orders"].sum():
                    chart(figure(figures.care_groups, rows, title, axis), key=f"repurchase_{axis}")
                else:
                    empty(f"No {axis.split()[0]} responses old enough to measure.")

st.subheader("By touchpoint and channel")
breakdowns = {"touchpoint": "Touchpoint"} if is_exported(view.database, "surveys", "touchpoint") else {}
breakdowns.update({dimension: label for dimension, label in recorded_dimensions(view).items()
                   if dimension in ("acquisition_channel", "region")})
dimension = st.segmented_control(
    "Break down by", options=list(breakdowns), default=next(iter(breakdowns), None),
    key="satisfaction_by", bind="query-params", format_func=breakdowns.get,
) if breakdowns else None
by_dimension = query(view, "satisfaction_by_dimension", dimension=dimension) if dimension else None
if not breakdowns:
    empty("Neither the surveys' touchpoint nor the customers' channel or region is in these exports, so there is "
          "no breakdown.")
elif by_dimension is not None:
    if len(by_dimension):
        chart(figure(figures.satisfaction_by_dimension, by_dimension, breakdowns[dimension], field=dimension),
              key="satisfaction_by_dimension")
    else:
        empty("No responses in the trend range for this breakdown.")
rates = query(view, "survey_response_rate")
if rates is not None and len(rates):
    chart(figure(figures.response_rate, rates, grain), key="response_rate")

st.subheader("What customers wrote")
user_access = current_access(view.settings)
if not user_access.can_see_customers:  # customer-level rows never reach a viewer's browser
    st.info(f"Your role ({user_access.role}) sees aggregates only: the charts above. Individual comments and the "
            "customers who wrote them need the analyst or marketing role.", icon=":material/lock:")
    st.stop()
c1, c2, c3 = st.columns([3, 1, 2])
search = c1.text_input("Search comments", key="q", bind="query-params", placeholder="e.g. late, refund, size",
                       max_chars=200)
kind = c2.selectbox("Survey", options=["all", "nps", "csat"], key="kind", bind="query-params",
                    format_func={"all": "All", "nps": "NPS", "csat": "CSAT"}.get)
scores = c3.slider("Score", min_value=0, max_value=10, value=(0, 10), key="score", bind="query-params")
comment_params = dict(search=search or None, kinds=None if kind == "all" else [kind],
                      min_score=scores[0], max_score=scores[1])
page_number = st.session_state.get("comments_page", 1)
comments = query(view, "survey_comments", **comment_params, show_pii=user_access.can_see_pii, limit=PAGE_SIZE,
                 offset=(page_number - 1) * PAGE_SIZE)
if comments is not None:
    total = int(comments["total_matches"].iloc[0]) if len(comments) else 0
    if total == 0:
        empty("No comment matches. Emails and phone numbers are masked, so searching for them finds nothing.")
    else:
        pages = (total + PAGE_SIZE - 1) // PAGE_SIZE
        st.caption(f"{formatting.plural(total, 'comment')} match; page {page_number} of {pages:,}, newest first. "
                   "Emails and phone numbers are masked"
                   + ("." if user_access.can_see_pii else ", in the comments and in customer ids (shown as a "
                      "pseudonym, anon-…, when an id is an e-mail address or a phone number)."))
        table(comments.drop(columns=["total_matches"]), key="comments", kinds={"score": "count"},
              column_config={"Comment": st.column_config.TextColumn("Comment", width="large")})
        if pages > 1:
            st.pagination(min(pages, 1000), key="comments_page")
