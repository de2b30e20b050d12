"""Previous-period comparison on trend charts: the same series for the previous period or the same period last
year, drawn as a dotted grey "ghost" line on the current period's axis. No Streamlit import.

The ghost range has as many calendar periods (weeks, months, quarters) as the trend range: "previous period" is
the one just before it, "same period last year" is it a year earlier (52 weeks for weeks, so weeks stay Mondays).
Each ghost point is drawn at the period it corresponds to in the current range (its start moved forward by the
same offset), and its hover names its own period. Example: the months Jan-Jun 2026 against Jul-Dec 2025.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import plotly.graph_objects as go

MODES = {"previous period": "Previous period", "same period last year": "Same period last year"}
GHOST_COLOUR = "#94a3b8"


def period_start(day: date, grain: str) -> pd.Timestamp:
    """The start of the calendar period that holds a day."""
    stamp = pd.Timestamp(day)
    if grain == "week":
        return stamp - pd.Timedelta(days=stamp.weekday())
    if grain == "quarter":
        return pd.Timestamp(stamp.year, 3 * ((stamp.month - 1) // 3) + 1, 1)
    return pd.Timestamp(stamp.year, stamp.month, 1)


def periods_between(start: date, end: date, grain: str) -> int:
    """How many calendar periods a range touches (both ends' periods included)."""
    first, last = period_start(start, grain), period_start(end, grain)
    if grain == "week":
        return (last - first).days // 7 + 1
    months = (last.year - first.year) * 12 + last.month - first.month
    return months // 3 + 1 if grain == "quarter" else months + 1


def offset(start: date, end: date, grain: str, mode: str) -> pd.DateOffset:
    """How far back the ghost range is: whole periods, so period starts stay period starts."""
    if mode == "same period last year":
        return pd.DateOffset(weeks=52) if grain == "week" else pd.DateOffset(years=1)
    if mode != "previous period":
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    count = periods_between(start, end, grain)
    if grain == "week":
        return pd.DateOffset(weeks=count)
    return pd.DateOffset(months=3 * count if grain == "quarter" else count)


def ghost_range(start: date, end: date, grain: str, mode: str) -> tuple[date, date]:
    """The trend range the ghost line is computed for (passed to the trend query as start/end dates)."""
    back = offset(start, end, grain, mode)
    return (pd.Timestamp(start) - back).date(), (pd.Timestamp(end) - back).date()


def add_ghost(fig: go.Figure, ghost: pd.DataFrame, y: str, start: date, end: date, grain: str, mode: str,
              value_format: str, yaxis: str = "y", what: str = "") -> go.Figure:
    """Add the ghost series (a trend query's rows for ghost_range) to a trend figure as a dotted grey line."""
    if ghost is None or ghost.empty or ghost[y].isna().all():
        return fig
    rows = ghost.sort_values("period_start")
    back = offset(start, end, grain, mode)
    moved = pd.to_datetime(rows["period_start"]) + back
    label = f"{MODES[mode]}{f' ({what})' if what else ''}"
    periods = [pd.Timestamp(value).strftime("%d %b %Y" if grain == "week" else "%b %Y") if grain != "quarter"
               else f"Q{pd.Timestamp(value).quarter} {pd.Timestamp(value).year}" for value in rows["period_start"]]
    fig.add_scatter(
        x=moved, y=rows[y], name=label, mode="lines+markers", yaxis=yaxis,
        line={"color": GHOST_COLOUR, "width": 2, "dash": "dot"}, marker={"size": 4, "color": GHOST_COLOUR},
        customdata=periods, meta={"ghost": mode},
        hovertemplate=f"{MODES[mode]}: %{{customdata}}<br>{what or y} %{{y:{value_format}}}<extra></extra>",
    )
    return fig


def ghosted(build, args: tuple, ghost: pd.DataFrame, y: str, start: date, end: date, grain: str, mode: str,
            value_format: str, yaxis: str = "y", what: str = "") -> go.Figure:
    """``build(*args)`` with the ghost series drawn on it (``add_ghost``): a figure of its own, so a figure built
    once and shared (``dashboard/cache.py``'s ``figure``) is never changed."""
    return add_ghost(build(*args), ghost, y, start, end, grain, mode, value_format, yaxis, what)
