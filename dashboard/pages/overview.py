"""Overview, the weekly review: KPI cards vs last week and 4 weeks ago, the trend, what changed."""

import pandas as pd
import streamlit as st

from dashboard import figures, insights
from dashboard.metrics import WEEKLY_KPIS
from dashboard.pages.common import (change_text, chart, current_view, empty, format_value, query, require_data)

st.title("Weekly review")
view = current_view()
if not require_data(view):
    st.stop()
st.caption(
    f"The 7 days ending **{view.as_of:%A %d %B %Y}** compared with the week before and with 4 weeks before. "
    "Rates are as of the end of each week."
)

weeks = query(view, "weekly_kpis", weeks=26)
if weeks is None:
    st.stop()
weeks = weeks.sort_values("week_number")
this_week = weeks.iloc[0]
previous = weeks.iloc[1] if len(weeks) > 1 else None
four_back = weeks.iloc[4] if len(weeks) > 4 else None
recent = weeks[weeks["week_number"] < 12].sort_values("week_end")

cards = list(WEEKLY_KPIS)
risk_cards = []
try:
    from dashboard import churn

    high = query(view, "winback_summary", **{**churn.WINBACK_ANY, "risk_bands": ["high"]})
    if high is not None:
        high = high.to_dict("records")[0]
        risk_cards = [
            ("High churn risk", figures.format_count(high['customers']),
             "Customers of this segment whose chance of no order in the next 90 days is 70% or more."),
            ("Revenue at risk", figures.format_currency(high["revenue"]), "Lifetime revenue of those customers."),
        ]
except Exception as error:  # the churn page explains model problems; the review still renders
    risk_cards = [("High churn risk", "–", f"Churn scores unavailable: {error}")]

columns = st.columns(4)
for index, (key, label, kind, definition) in enumerate(cards):
    with columns[index % 4].container(border=True):
        value = this_week[key]
        delta = change_text(value, previous[key] if previous is not None else None, kind)
        month_delta = change_text(value, four_back[key] if four_back is not None else None, kind)
        st.metric(label, format_value(value, kind), delta=delta, help=definition, border=False,
                  delta_color="off" if delta is None else "normal")
        st.caption(f"vs 4 weeks ago: {month_delta or '–'}")
        if recent[key].notna().any():
            chart(figures.sparkline(recent[key], recent["week_end"],
                                    ".1%" if kind == "rate" else (",.1f" if kind == "score" else ",.0f")),
                  key=f"spark_{key}")
for offset, (label, text, definition) in enumerate(risk_cards):
    with columns[(len(cards) + offset) % 4].container(border=True):
        st.metric(label, text, help=definition, border=False)

st.subheader("Trend")
if weeks["orders"].sum() == 0:
    empty("No valid orders in the last 26 weeks for this segment.")
else:
    chart(figures.weekly_trend(weeks), key="weekly_trend")

st.subheader("What changed this week")
movements = query(view, "segment_movements")
sentences = insights.movement_sentences(movements)
if sentences:
    st.markdown("\n".join(f"- {sentence}" for sentence in sentences))
else:
    empty("No segment moved noticeably against last week (segments below 20 orders or 10 customers are ignored).")

st.subheader("Share this review")


def weekly_report() -> str:
    from dashboard import report

    return report.weekly_report_html(view.database, view.as_of, view.filters)


st.download_button(
    "Download the weekly report (HTML)", data=weekly_report, file_name=f"weekly-review-{view.as_of}.html",
    mime="text/html", icon=":material/download:", key="report_download", on_click="ignore",
)
