"""Figures of the "Why customers leave" page: what went wrong and what it cost, what customers write about, and
satisfaction over time per touchpoint or channel. Pure: DataFrame in, Plotly figure out; no Streamlit import.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard import figures, formatting
from dashboard.figures import PALETTE, Draft, style

SMALL_SAMPLE = 30  # fewer orders or responses than this: the bar is grey, the point hollow
OUTCOME_COLOURS = {
    "resolved within a day": PALETTE["good"],
    "resolved in a day or more": PALETTE["secondary"],
    "unresolved": PALETTE["bad"],
}
LINE_COLOURS = ("#2563eb", "#dc2626", "#16a34a", "#f59e0b", "#7c3aed", "#0891b2", "#db2777", "#65a30d",
                "#ea580c", "#475569", "#0d9488", "#9333ea")


def group_label(value, field: str) -> str:
    """A group's name as people say it: ``delivery_delay`` -> ``Delivery delay``, missing -> ``Not recorded``."""
    return formatting.label(value, field)


def _error(rows: pd.DataFrame, rate: str, low: str, high: str) -> dict:
    return {"type": "data", "symmetric": False, "array": (rows[high] - rows[rate]).fillna(0),
            "arrayminus": (rows[rate] - rows[low]).fillna(0), "color": PALETTE["ink"], "thickness": 1.2}


def reason_bars(rows: pd.DataFrame, field: str, title: str) -> go.Figure:
    """90-day repurchase per group (horizontal bars, largest loss on top) with 95% intervals, the no-problem
    baseline as a line, and the repeat orders lost on hover. ``customdata[0]`` is the group's label."""
    rows = rows[rows["anchor_orders"] > 0].iloc[::-1]
    names = [f"{group_label(value, field)} ({formatting.count(n)})" for value, n in
             zip(rows["fact_value"], rows["anchor_orders"])]
    colours = [PALETTE["muted"] if n < SMALL_SAMPLE else PALETTE["bad"] if (lost or 0) > 0 else PALETTE["primary"]
               for n, lost in zip(rows["anchor_orders"], rows["repeat_orders_lost"])]
    lost_text = [_lost_text(lost) for lost in rows["repeat_orders_lost"]]
    fig = Draft()
    fig.add_bar(
        y=names, x=rows["repurchase_rate_90d"], orientation="h", marker_color=colours,
        error_x=_error(rows, "repurchase_rate_90d", "ci_low", "ci_high"),
        text=[formatting.rate(value) for value in rows["repurchase_rate_90d"]], textposition="inside",
        insidetextanchor="start",
        customdata=list(zip([group_label(value, field) for value in rows["fact_value"]], rows["anchor_orders"], rows["repurchased_orders"], rows["ci_low"], rows["ci_high"],
                            lost_text)),
        hovertemplate="%{y}<br>%{x:.1%} ordered again within 90 days (95% interval %{customdata[3]:.1%} – "
                      "%{customdata[4]:.1%})<br>%{customdata[2]:,} of %{customdata[1]:,} orders<br>"
                      "%{customdata[5]}<extra></extra>",
        name="Orders with this problem",
    )
    _baseline(fig, rows)
    style(fig, title, "Ordered again within 90 days", None, height=max(260, 70 + 42 * len(rows)))
    fig.update_xaxes(tickformat=".0%", rangemode="tozero")
    fig.update_yaxes(type="category", automargin=True)
    fig.update_layout(margin={"l": 20, "r": 20, "t": 60, "b": 60}, showlegend=False)
    return fig.figure()


def _lost_text(lost) -> str:
    if formatting.is_missing(lost):
        return "No baseline to compare with"
    if lost >= 0:
        return f"about {formatting.count(round(lost))} fewer repeat orders than without a problem"
    return f"about {formatting.count(round(-lost))} more repeat orders than without a problem"


def _baseline(fig: Draft, rows: pd.DataFrame) -> None:
    """The no-problem baseline as a dashed vertical line with its rate above the plot (what Plotly's ``add_vline``
    with ``annotation_position="top"`` draws)."""
    if rows.empty or formatting.is_missing(rows["baseline_rate_90d"].iloc[0]):
        return
    rate = float(rows["baseline_rate_90d"].iloc[0])
    fig.add_shape(type="line", x0=rate, x1=rate, xref="x", y0=0, y1=1, yref="y domain",
                  line={"color": PALETTE["ink"], "dash": "dash", "width": 1.5})
    fig.add_annotation(text=f"No ticket or return: {formatting.rate(rate)}", x=rate, xref="x", xanchor="center",
                       y=1, yref="y domain", yanchor="bottom", showarrow=False)


def outcome_bars(rows: pd.DataFrame, title: str) -> go.Figure:
    """90-day repurchase per ticket category, split by how its tickets ended, with 95% intervals and the baseline.
    ``customdata[0]`` is the category's label, ``customdata[1]`` the outcome's."""
    categories = (rows.groupby("fact_value", dropna=False)["repeat_orders_lost"].sum().sort_values().index.tolist())
    fig = Draft()
    for outcome, colour in OUTCOME_COLOURS.items():
        part = rows[rows["outcome"] == outcome].set_index("fact_value").reindex(categories).reset_index()
        part = part[part["anchor_orders"].fillna(0) > 0]
        fig.add_bar(
            y=[group_label(value, "category") for value in part["fact_value"]], x=part["repurchase_rate_90d"],
            orientation="h", name=formatting.label(outcome), marker_color=colour,
            marker_opacity=[0.4 if n < SMALL_SAMPLE else 1.0 for n in part["anchor_orders"]],
            error_x=_error(part, "repurchase_rate_90d", "ci_low", "ci_high"),
            customdata=list(zip([group_label(value, "category") for value in part["fact_value"]],
                                [formatting.label(outcome)] * len(part), part["anchor_orders"],
                                part["ci_low"], part["ci_high"], [_lost_text(v) for v in part["repeat_orders_lost"]])),
            hovertemplate="%{y}, " + formatting.label(outcome).lower() + "<br>%{x:.1%} ordered again within 90 days "
                          "(95% interval %{customdata[3]:.1%} – %{customdata[4]:.1%})<br>%{customdata[2]:,} orders<br>"
                          "%{customdata[5]}<extra></extra>",
        )
    _baseline(fig, rows)
    style(fig, title, "Ordered again within 90 days", None, height=max(300, 90 + 70 * len(categories)))
    fig.update_layout(barmode="group", margin={"l": 20, "r": 20, "t": 60, "b": 90})
    fig.update_xaxes(tickformat=".0%", rangemode="tozero")
    fig.update_yaxes(type="category", automargin=True)
    return fig.figure()


def theme_bars(summary: pd.DataFrame, title: str) -> go.Figure:
    """90-day repurchase after orders with a text of each theme (bars, 95% intervals) against every other order of
    the range (diamonds), largest gap on top. ``customdata[0]`` is the theme_id."""
    rows = summary[summary["anchor_orders"] > 0].sort_values("rate_gap", ascending=True, na_position="first")
    names = [f"{label} ({formatting.count(n)})" for label, n in zip(rows["label"], rows["anchor_orders"])]
    colours = [PALETTE["muted"] if n < SMALL_SAMPLE else PALETTE["bad"] if (gap or 0) > 0 else PALETTE["good"]
               for n, gap in zip(rows["anchor_orders"], rows["rate_gap"])]
    fig = Draft()
    fig.add_bar(
        y=names, x=rows["repurchase_rate_90d"], orientation="h", marker_color=colours, name="Orders with this theme",
        error_x=_error(rows, "repurchase_rate_90d", "ci_low", "ci_high"),
        text=[formatting.rate(value) for value in rows["repurchase_rate_90d"]], textposition="inside",
        insidetextanchor="start",
        customdata=list(zip(rows["theme_id"], rows["anchor_orders"], rows["ci_low"], rows["ci_high"],
                            rows["other_rate_90d"])),
        hovertemplate="%{y}<br>%{x:.1%} ordered again within 90 days (95% interval %{customdata[2]:.1%} – "
                      "%{customdata[3]:.1%}) after %{customdata[1]:,} orders<br>every other order: "
                      "%{customdata[4]:.1%}<extra></extra>",
    )
    fig.add_scatter(
        y=names, x=rows["other_rate_90d"], mode="markers", name="Every other order",
        marker={"symbol": "diamond", "size": 9, "color": PALETTE["ink"]},
        hovertemplate="%{y}<br>every other order: %{x:.1%}<extra></extra>",
    )
    style(fig, title, "Ordered again within 90 days", None, height=max(280, 90 + 36 * len(rows)))
    fig.update_xaxes(tickformat=".0%", rangemode="tozero")
    fig.update_yaxes(type="category", automargin=True)
    fig.update_layout(margin={"l": 20, "r": 20, "t": 60, "b": 90})
    return fig.figure()


def _periods(fig: go.Figure, grain: str) -> None:
    """Declare the figure's periods for the hygiene check (a point is the period starting at x)."""
    figures.declare_periods(fig, grain, anchor="start")


def _lines(fig: go.Figure, rows: pd.DataFrame, x: str, y: str, name: str, colour: str, small: pd.Series,
           hover: str, customdata, grain: str) -> None:
    """One series as a line, the period in progress as ``figures.period_line`` marks it: finished periods solid;
    the period in progress joined to the last finished one by a dotted line with no hover of its own, its point in a
    trace whose name and hover say it is in progress. A point is hollow when it rests on a small sample (``small``),
    whether its period is over or not, as the page's caption says; the last finished point keeps its own marker (it
    was drawn hollow and hovered as in progress when the dotted part carried markers). ``small`` and
    ``customdata`` line up with ``rows`` by position."""
    # Positions, not per-row pandas lookups: this ran a Series lookup per point (9 ms for 72 points on the Why page).
    finished = ~rows["is_partial_period"].to_numpy(dtype=bool)
    is_small = np.asarray(small, dtype=bool)
    data = list(customdata)
    xs, ys = rows[x].to_numpy(), rows[y].to_numpy()
    done_positions = np.flatnonzero(finished)

    def markers(positions) -> dict:
        return {"size": 7, "color": ["white" if is_small[i] else colour for i in positions],
                "line": {"color": colour, "width": 1.5}}

    fig.add_scatter(
        x=xs[done_positions], y=ys[done_positions], mode="lines+markers", name=name, legendgroup=name,
        line={"color": colour, "width": 2}, marker=markers(done_positions),
        customdata=[data[i] for i in done_positions], hovertemplate=hover + "<extra></extra>",
    )
    partial_positions = np.flatnonzero(~finished)
    if len(partial_positions):
        note = figures.in_progress_words(grain)
        bridge = np.concatenate([done_positions[-1:], partial_positions])  # from the last finished point on
        fig.add_scatter(
            x=xs[bridge], y=ys[bridge], mode="lines", name=f"{name} (in progress)", legendgroup=name,
            showlegend=False, line={"color": colour, "width": 2, "dash": "dot"}, hoverinfo="skip",
            hovertext=[note] * len(bridge),  # never shown: says what the line is
        )
        fig.add_scatter(
            x=xs[partial_positions], y=ys[partial_positions], mode="markers", name=f"{name} (in progress)",
            legendgroup=name, showlegend=False, marker=markers(partial_positions),
            customdata=[data[i] for i in partial_positions],
            hovertemplate=hover + f"<br><i>{note}</i><extra></extra>",
        )


def theme_trend(rows: pd.DataFrame, labels: dict, grain: str, title: str) -> go.Figure:
    """Share of the period's texts per theme over time; hollow points rest on fewer than 30 texts, the period in
    progress is dotted."""
    fig = Draft()
    for index, (theme_id, part) in enumerate(rows.groupby("theme_id", sort=False)):
        part = part.sort_values("period_start").reset_index(drop=True)
        customdata = list(zip(part["texts"], part["period_texts"]))
        _lines(fig, part, "period_start", "text_share", labels.get(theme_id, str(theme_id)),
               LINE_COLOURS[index % len(LINE_COLOURS)], part["is_small_sample"],
               "%{x|%d %b %Y}: %{y:.1%} of texts (%{customdata[0]:,} of %{customdata[1]:,})", customdata, grain)
    style(fig, title, grain.capitalize(), "Share of the texts", height=400)
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    # half the page wide, its theme names wrap the legend onto several rows: start it below the axis title
    fig.update_layout(legend={"y": -0.3})
    _periods(fig, grain)
    return fig.figure()


def satisfaction_lines(rows: pd.DataFrame, metric: str, field: str, grain: str, title: str) -> go.Figure:
    """NPS or CSAT per period for each touchpoint or channel; hollow points rest on fewer than 30 responses, the
    period in progress is dotted."""
    is_nps = metric == "nps"
    responses = "nps_responses" if is_nps else "csat_responses"
    small = "is_small_nps_sample" if is_nps else "is_small_csat_sample"
    fig = Draft()
    for index, (value, part) in enumerate(rows[rows[responses] > 0].groupby("dimension_value", sort=True)):
        part = part.sort_values("period_start").reset_index(drop=True)
        value_format = ".1f" if is_nps else ".1%"
        _lines(fig, part, "period_start", metric, group_label(value, field), LINE_COLOURS[index % len(LINE_COLOURS)],
               part[small], "%{x|%d %b %Y}: " + ("NPS " if is_nps else "CSAT ") + "%{y:" + value_format + "}"
               " from %{customdata:,} responses", list(part[responses]), grain)
    style(fig, title, grain.capitalize(), "NPS (-100 to 100)" if is_nps else "CSAT (share scoring 4-5)", height=400)
    if not is_nps:
        fig.update_yaxes(tickformat=".0%")
    _periods(fig, grain)
    return fig.figure()
