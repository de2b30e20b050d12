"""The Overview's post-purchase care cards: each care KPI of the weekly review with last week, 4 weeks ago and a
12-week sparkline, or "Not exported" when its table is missing (dashboard/care_review.py has the numbers)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import care_review, figures, formatting
from dashboard.metrics import exported_tables, without_unexported
from dashboard.pages.common import chart, delta_style, figure, query


def care_history(view, weeks: int = 12) -> pd.DataFrame | None:
    """The care KPIs of the view's segment, one row per week_number (index), not-exported KPIs emptied."""
    frame = query(view, "weekly_care_kpis", weeks=weeks)
    if frame is None:
        return None
    return without_unexported(frame, exported_tables(view.database)).set_index("week_number").sort_index()


def show(view, week_ends: pd.Series) -> pd.DataFrame | None:
    """Draw the care cards; week_ends: the week_end date of each week_number (for the sparklines)."""
    history = care_history(view)
    if history is None:
        return None
    exported = exported_tables(view.database)
    st.subheader("Post-purchase care")
    st.caption("Tickets, returns and survey answers of the same weeks; the 90-day windows end with each week. "
               "Green is good news: up for resolved tickets, reorders and survey responses; down for tickets, "
               "resolution time, returns, silent unhappy customers and days between orders.")
    # The sparklines' weeks, oldest first, once for every card (a frame, dropna and sort per card cost ~1 ms each)
    ends = week_ends.reindex(history.index)
    weeks = ends[ends.notna()].sort_values(kind="stable")
    columns = st.columns(4)
    for index, row in enumerate(care_review.kpi_rows(history, exported)):
        with columns[index % 4].container(border=True):
            if row["missing"]:
                st.metric(row["label"], "Not exported", help=row["definition"], border=False)
                st.caption(f"{row['missing'].replace('Not exported: ', 'No ')} export, so this is not measured.")
                continue
            kind = row["kind"]
            st.metric(row["label"], formatting.number(row["value"], kind, short=True), delta=row["week_change"],
                      help=row["definition"], border=False,
                      **delta_style(row["week_change"],
                                    "inverse" if row["key"] in care_review.LOWER_IS_BETTER else "normal"))
            if row["value"] is None:
                st.caption(f"Nothing to measure: {care_review.EMPTY.get(row['key'], 'no data in the window')}.")
            else:
                st.caption(f"vs 4 weeks ago: {row['month_change'] or formatting.MISSING}")
            series = history[row["key"]]
            if series.notna().any():
                values = series.reindex(weeks.index).rename("value")
                chart(figure(figures.sparkline, values, weeks.rename("week_end"), formatting.d3_format(kind, values)),
                      key=f"spark_care_{row['key']}")
    return history
