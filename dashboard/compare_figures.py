"""Figures of the segment comparison (dashboard/compare.py): one colour per segment, 95% intervals as bands or
error bars, the customers behind each point on hover. Pure: DataFrame in, Plotly figure out."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard.figures import CURRENCY, Draft, style

SEGMENT_COLOURS = {"A": "#2563eb", "B": "#f59e0b", "C": "#16a34a", "D": "#9333ea"}
BAND_COLOURS = {"A": "rgba(37,99,235,0.15)", "B": "rgba(245,158,11,0.18)", "C": "rgba(22,163,74,0.15)",
                "D": "rgba(147,51,234,0.15)"}


def _curves(frame: pd.DataFrame, labels: dict[str, str], x: str, y: str, hover: str) -> Draft:
    """One line per segment with its 95% band (drawn as a closed shape under the line)."""
    fig = Draft()
    for letter, name in labels.items():
        rows = frame[frame["segment"] == letter].sort_values(x)
        if rows.empty:
            continue
        fig.add_scatter(
            x=pd.concat([rows[x], rows[x][::-1]]), y=pd.concat([rows["ci_high"], rows["ci_low"][::-1]]),
            fill="toself", fillcolor=BAND_COLOURS[letter], line={"width": 0}, hoverinfo="skip", showlegend=False,
            name=f"{name} (95% interval)",
        )
        fig.add_scatter(
            x=rows[x], y=rows[y], name=name, mode="lines+markers", line={"color": SEGMENT_COLOURS[letter], "width": 2},
            marker={"size": 4}, customdata=list(zip(rows["ci_low"], rows["ci_high"], rows["customers"])),
            hovertemplate=f"{name}<br>{hover}<extra></extra>",
        )
    return fig


def retention_curves(retention: pd.DataFrame, labels: dict[str, str]) -> go.Figure:
    """Share of customers ordering in month k after their first order, pooled over complete cohorts, from month 1
    (month 0 is everyone: the first order)."""
    retention = retention[retention["months_since_first_order"] >= 1]
    fig = _curves(retention, labels, "months_since_first_order", "retention_rate",
                  "month %{x}: %{y:.1%} ordered<br>95% interval %{customdata[0]:.1%} – %{customdata[1]:.1%}"
                  "<br>%{customdata[2]:,} customers of cohorts that completed month %{x}")
    style(fig, "Retention: ordered in month k after the first order", "Months since first order",
          "Customers who ordered that month")
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    fig.update_xaxes(dtick=3, tick0=0)
    return fig.figure()


def revenue_curves(revenue: pd.DataFrame, labels: dict[str, str]) -> go.Figure:
    """Cumulative revenue per customer by months since the first order (the LTV curve)."""
    fig = _curves(revenue, labels, "months_since_first_order", "revenue_per_customer",
                  f"by month %{{x}}: %{{y:{CURRENCY},.2f}} per customer<br>95% interval "
                  f"%{{customdata[0]:{CURRENCY},.2f}} – %{{customdata[1]:{CURRENCY},.2f}}"
                  "<br>%{customdata[2]:,} customers of cohorts that completed month %{x}")
    style(fig, "Revenue per customer by months since first order", "Months since first order",
          f"Cumulative revenue per customer ({CURRENCY})")
    fig.update_yaxes(tickprefix=CURRENCY, tickformat=",.0f", rangemode="tozero")
    fig.update_xaxes(dtick=3, rangemode="tozero")
    return fig.figure()


def second_order_curves(milestones: pd.DataFrame, labels: dict[str, str]) -> go.Figure:
    """Share of customers with a second order within 30, 60, 90, 180 and 365 days, with 95% error bars."""
    fig = Draft()
    for letter, name in labels.items():
        rows = milestones[(milestones["segment"] == letter) & (milestones["eligible_customers"] > 0)]
        rows = rows.sort_values("milestone_days")
        if rows.empty:
            continue
        fig.add_scatter(
            x=rows["milestone_days"], y=rows["reached_rate"], name=name, mode="lines+markers",
            line={"color": SEGMENT_COLOURS[letter], "width": 2},
            error_y={"type": "data", "symmetric": False, "array": rows["ci_high"] - rows["reached_rate"],
                     "arrayminus": rows["reached_rate"] - rows["ci_low"], "thickness": 1.2},
            customdata=list(zip(rows["ci_low"], rows["ci_high"], rows["eligible_customers"])),
            hovertemplate=f"{name}<br>within %{{x}} days: %{{y:.1%}}<br>95% interval %{{customdata[0]:.1%}} – "
                          "%{customdata[1]:.1%}<br>of %{customdata[2]:,} customers whose first order is "
                          "%{x}+ days old<extra></extra>",
        )
    style(fig, "Time to second order: share with a 2nd order within d days", "Days since first order",
          "Customers with a 2nd order")
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    fig.update_xaxes(tickvals=[30, 60, 90, 180, 365])
    return fig.figure()


def grouped_rates(rows: pd.DataFrame, labels: dict[str, str], group: str, rate: str, count: str, title: str,
                  x_title: str, y_title: str, count_word: str) -> go.Figure:
    """Bars of a rate per group, one bar per segment, with 95% error bars and n on hover."""
    fig = Draft()
    for letter, name in labels.items():
        part = rows[rows["segment"] == letter]
        if part.empty:
            continue
        fig.add_bar(
            x=part[group], y=part[rate], name=name, marker_color=SEGMENT_COLOURS[letter],
            error_y={"type": "data", "symmetric": False, "array": (part["ci_high"] - part[rate]).fillna(0),
                     "arrayminus": (part[rate] - part["ci_low"]).fillna(0), "thickness": 1.2},
            customdata=list(zip(part["ci_low"], part["ci_high"], part[count])),
            hovertemplate=f"{name}<br>%{{x}}: %{{y:.1%}}<br>95% interval %{{customdata[0]:.1%}} – "
                          f"%{{customdata[1]:.1%}}<br>%{{customdata[2]:,}} {count_word}<extra></extra>",
        )
    style(fig, title, x_title, y_title, height=360)
    fig.update_layout(barmode="group")
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    fig.update_xaxes(type="category")
    return fig.figure()
