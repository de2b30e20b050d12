"""Overview, the weekly review: KPI cards vs last week and 4 weeks ago, the trend, what changed.

The cards read only the aggregates, so they show as soon as those exist; the churn-dependent cards are filled in
last (on a first start the churn model is still being fitted), with a message saying so meanwhile.
"""

import streamlit as st

from dashboard import cache, care_review, figures, formatting, insights
from dashboard.metrics import WEEKLY_KPIS, exported_tables
from dashboard.pages import care_cards, lifecycle_row, net_revenue_line
from dashboard.pages.common import (change_text, chart, current_view, delta_style, empty, figure, format_value,
                                    is_exported, not_exported, query, require_data)
from dashboard.pages.ghost_control import with_ghost
from dashboard.queries import QueryError

st.title("Weekly review")
view = current_view()
if not require_data(view):
    st.stop()


def show_alerts() -> None:
    """The fired ``[[alerts]]`` rules first (the same as ``python -m dashboard alerts``), or that none fired."""
    from dashboard import alerts

    try:
        outcomes = cache.alert_outcomes(view.database, view.as_of)
    except (alerts.AlertRuleError, QueryError) as error:
        st.warning(f"The alert rules could not be checked: {error}", icon=":material/notifications_off:")
        return
    if not outcomes:
        return
    fired = alerts.fired(outcomes)
    unchecked = [outcome for outcome in outcomes if outcome.note]
    if fired:
        st.error(f"**{len(fired)} of {len(outcomes)} alert rules fired as of {view.as_of:%d %b %Y}**\n\n"
                 + "\n".join(f"- {outcome.sentence()}".replace("$", "\\$") for outcome in fired), icon=":material/notifications_active:")
    else:
        st.caption(f"No alert fired as of {view.as_of:%d %b %Y} ({len(outcomes)} rules in dashboard.toml).")
    if unchecked:
        st.caption("Not checked: " + "; ".join(f"“{outcome.rule.name}” ({outcome.note})" for outcome in unchecked))


show_alerts()
st.caption(
    f"The 7 days ending **{formatting.date_text(view.as_of, with_weekday=True)}** compared with the 7 days before "
    "and with the 7 days 4 weeks before. Rates are as of the end of each week."
)

weeks = query(view, "weekly_kpis", weeks=12)
if weeks is None:
    st.stop()
weeks = weeks.sort_values("week_number")
this_week = weeks.iloc[0]
previous = weeks.iloc[1] if len(weeks) > 1 else None
four_back = weeks.iloc[4] if len(weeks) > 4 else None
recent = weeks.sort_values("week_end")
has_surveys = is_exported(view.database, "surveys")
SURVEY_KPIS = {"nps_90d": "nps_responses_90d", "csat_90d": "csat_responses_90d"}

columns = st.columns(4)
for index, (key, label, kind, definition) in enumerate(WEEKLY_KPIS):
    with columns[index % 4].container(border=True):
        if key in SURVEY_KPIS and not has_surveys:
            st.metric(label, "Not exported", help=definition, border=False)
            st.caption(not_exported("surveys", "NPS and CSAT"))
            continue
        value = this_week[key]
        delta = change_text(value, previous[key] if previous is not None else None, kind)
        month_delta = change_text(value, four_back[key] if four_back is not None else None, kind)
        st.metric(label, format_value(value, kind), delta=delta, help=definition, border=False,
                  **delta_style(delta, "normal"))
        if key in SURVEY_KPIS and not this_week[SURVEY_KPIS[key]]:
            st.caption("No responses in the 90 days to the week's end.")
        else:
            st.caption(f"vs 4 weeks ago: {month_delta or formatting.MISSING}")
        if recent[key].notna().any():
            chart(figure(figures.sparkline, recent[key], recent["week_end"],
                         formatting.d3_format(kind, recent[key])),
                  key=f"spark_{key}")
# The lifecycle states (docs/churn.md) replace the one "high churn risk" count; filled in last (below).
lifecycle_slot = st.empty()
lifecycle_row.placeholder(view, lifecycle_slot)

net_revenue_line.show(view, query(view, "net_revenue") if is_exported(view.database, "returns") else None)
care = care_cards.show(view, weeks.set_index("week_number")["week_end"])

st.subheader("Trend")
start, end = view.filters.start_date, view.filters.end_date
st.caption(f"Per {view.filters.grain}, {formatting.date_text(start)} to {formatting.date_text(end)}: the sidebar's "
           "Trend range and Period. A hatched bar is a period still in progress at the as-of date.")
trend = query(view, "activity_trend")
if trend is not None:
    if trend["orders"].sum() == 0:
        empty("No valid orders in the trend range for this segment. Widen the Trend range or the filters.")
    else:
        chart(with_ghost(view, figures.period_trend, (trend, view.filters.grain), "activity_trend", "revenue",
                         "$,.0f", what="revenue"), key="period_trend")

st.subheader("What changed this week")
movements = query(view, "segment_movements")
if movements is not None:
    sentences = list(cache.derived(insights.movement_sentences, movements, is_segmented=view.filters.is_segmented))
    if care is not None:
        sentences += cache.derived(care_review.change_sentences, care, exported_tables(view.database))
    st.markdown("\n".join(f"- {sentence}" for sentence in sentences))
    st.caption(insights.RULE)

st.subheader("Share this review")


def weekly_report() -> str:
    from dashboard import report

    return report.weekly_report_html(view.database, view.as_of, view.filters)


st.download_button(
    "Download the weekly report (HTML)", data=weekly_report, file_name=f"weekly-review-{view.as_of}.html",
    mime="text/html", icon=":material/download:", key="report_download", on_click="ignore",
)

# Last, so everything above is on screen while the churn model is fitted on a first start.
with lifecycle_slot.container():
    lifecycle_row.show(view)
