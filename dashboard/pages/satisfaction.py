"""Satisfaction: NPS and CSAT over time, by touchpoint and channel, and whether happy customers come back."""

import streamlit as st

from dashboard import figures
from dashboard.pages.common import PAGE_SIZE, chart, current_view, empty, query, require_data
from dashboard.pages.ghost_control import with_ghost

st.title("Satisfaction")
st.caption("NPS: 100 x (share scoring 9-10 − share scoring 0-6). CSAT: share of 1-5 responses scoring 4 or 5.")
view = current_view()
if not require_data(view):
    st.stop()
grain = view.filters.grain
if not view.database.catalog.tables["surveys"].is_usable:
    empty("No surveys were exported (or the surveys file could not be read), so there is no satisfaction to show. "
          "Add surveys.parquet to the data folder; the Data page lists what was found.")
    st.stop()

headline = query(view, "satisfaction_90d")
if headline is None:
    st.stop()
headline = headline.to_dict("records")[0]
cards = st.columns(4)
cards[0].metric("NPS, last 90 days", figures.format_number(headline["nps_90d"], 1), border=True,
                help=f"From {headline['nps_responses_90d']:,} NPS responses in the 90 days to the as-of date.")
cards[1].metric("NPS responses", figures.format_count(headline["nps_responses_90d"]), border=True)
cards[2].metric("CSAT, last 90 days", figures.format_percent(headline["csat_90d"]), border=True,
                help=f"From {headline['csat_responses_90d']:,} CSAT responses in the 90 days to the as-of date.")
cards[3].metric("CSAT responses", figures.format_count(headline["csat_responses_90d"]), border=True)

left, right = st.columns(2)
with left:
    nps = query(view, "nps_trend")
    if nps is not None and len(nps):
        chart(with_ghost(view, figures.nps_trend(nps, grain), "nps_trend", "nps", ".1f", yaxis="y2", what="NPS"),
              key="nps_trend")
    elif nps is not None:
        empty("No NPS responses in the trend range for this segment.")
with right:
    csat = query(view, "csat_trend")
    if csat is not None and len(csat):
        chart(with_ghost(view, figures.csat_trend(csat, grain), "csat_trend", "csat", ".1%", what="CSAT"),
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
                    chart(figures.care_groups(rows, title, axis), key=f"repurchase_{axis}")
                else:
                    empty(f"No {axis.split()[0]} responses old enough to measure.")

st.subheader("By touchpoint and channel")
dimension = st.segmented_control(
    "Break down by", options=["touchpoint", "acquisition_channel", "region"], default="touchpoint",
    key="satisfaction_by", bind="query-params",
    format_func={"touchpoint": "Touchpoint", "acquisition_channel": "Acquisition channel", "region": "Region"}.get,
) or "touchpoint"
by_dimension = query(view, "satisfaction_by_dimension", dimension=dimension)
if by_dimension is not None:
    if len(by_dimension):
        label = {"touchpoint": "Touchpoint", "acquisition_channel": "Acquisition channel", "region": "Region"}[dimension]
        chart(figures.satisfaction_by_dimension(by_dimension, label), key="satisfaction_by_dimension")
    else:
        empty("No responses in the trend range for this breakdown.")
rates = query(view, "survey_response_rate")
if rates is not None and len(rates):
    chart(figures.response_rate(rates, grain), key="response_rate")

st.subheader("What customers wrote")
c1, c2, c3 = st.columns([3, 1, 2])
search = c1.text_input("Search comments", key="q", bind="query-params", placeholder="e.g. late, refund, size",
                       max_chars=200)
kind = c2.selectbox("Survey", options=["all", "nps", "csat"], key="kind", bind="query-params",
                    format_func={"all": "All", "nps": "NPS", "csat": "CSAT"}.get)
scores = c3.slider("Score", min_value=0, max_value=10, value=(0, 10), key="score", bind="query-params")
comment_params = dict(search=search or None, kinds=None if kind == "all" else [kind],
                      min_score=scores[0], max_score=scores[1])
page_number = st.session_state.get("comments_page", 1)
comments = query(view, "survey_comments", **comment_params, limit=PAGE_SIZE, offset=(page_number - 1) * PAGE_SIZE)
if comments is not None:
    total = int(comments["total_matches"].iloc[0]) if len(comments) else 0
    if total == 0:
        empty("No comment matches. Emails and phone numbers are masked, so searching for them finds nothing.")
    else:
        pages = (total + PAGE_SIZE - 1) // PAGE_SIZE
        st.caption(f"{total:,} comments match; page {page_number} of {pages:,}, newest first. "
                   "Emails and phone numbers are masked.")
        st.dataframe(
            comments.drop(columns=["total_matches"]), width="stretch", hide_index=True, key="comments",
            column_config={"submitted_at": st.column_config.DatetimeColumn("Submitted", format="D MMM YYYY"),
                           "comment_masked": st.column_config.TextColumn("Comment", width="large")},
        )
        if pages > 1:
            st.pagination(min(pages, 1000), key="comments_page")
