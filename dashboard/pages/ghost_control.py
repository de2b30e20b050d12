"""The sidebar's "Compare trends with" switch (kept in the URL as ``vs``) and the helper that adds its ghost line
to a page's trend chart (dashboard/ghosts.py draws it)."""

from __future__ import annotations

import streamlit as st

from dashboard import cache, ghosts
from dashboard.pages.common import query

KEY = "vs"


def show() -> None:
    """The switch, under the sidebar's filters: none, the previous period or the same period last year."""
    st.sidebar.segmented_control(
        "Compare trends with", options=list(ghosts.MODES), default=None, key=KEY, bind="query-params",
        format_func=ghosts.MODES.get,
        help="Adds the same series for the previous period (as many weeks, months or quarters just before the "
             "trend range) or for the same period last year to each trend chart, as a dotted grey line.",
    )


def mode() -> str | None:
    """The chosen comparison, or None."""
    return st.session_state.get(KEY) or None


def with_ghost(view, build, args: tuple, query_name: str, y: str, value_format: str, yaxis: str = "y", what: str = "",
               **params):
    """The figure ``build(*args)`` (cached, see ``cache.figure``), with the ghost line of query_name's column y for
    the chosen comparison (none without one)."""
    chosen = mode()
    start, end = view.filters.start_date, view.filters.end_date
    if chosen is None or start is None or end is None:
        return cache.figure(build, *args)
    ghost_start, ghost_end = ghosts.ghost_range(start, end, view.filters.grain, chosen)
    ghost = query(view, query_name, **params, start_date=ghost_start, end_date=ghost_end)
    return cache.figure(ghosts.ghosted, build, args, ghost, y, start, end, view.filters.grain, chosen, value_format,
                        yaxis, what)
