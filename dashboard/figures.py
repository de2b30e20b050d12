"""Pure functions from query results (DataFrames) to Plotly figures.

Titles, axis titles with units, number formats (currency, %) and hover text live here, so the app
and the weekly report draw the same charts.  No Streamlit import; every function returns a figure.
"""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from dashboard import formatting

# The house template for every figure, set once: naming it in each figure's layout made plotly validate and
# copy the whole template per figure (about 15 ms each, most of a page rerun's CPU); as the default it is
# applied once when the figure is serialised, with the same result in the figure's JSON.
pio.templates.default = "plotly_white"

PALETTE = {
    "primary": "#2563eb",
    "secondary": "#f59e0b",
    "good": "#16a34a",
    "neutral": "#94a3b8",
    "bad": "#dc2626",
    "muted": "#cbd5e1",
    "ink": "#0f172a",
}
NPS_COLOURS = {"promoter": PALETTE["good"], "passive": PALETTE["neutral"], "detractor": PALETTE["bad"]}
CURRENCY = formatting.CURRENCY


def wilson_interval(successes, trials, z: float = 1.96) -> tuple:
    """95% Wilson score interval of a proportion (arrays welcome); NaN where trials is 0."""
    import numpy as np

    successes = np.asarray(successes, dtype=float)
    trials = np.asarray(trials, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = successes / trials
        centre = (share + z * z / (2 * trials)) / (1 + z * z / trials)
        half = z * np.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return centre - half, centre + half


def format_currency(value, digits: int | None = None) -> str:
    """Money for a card or a label: ``formatting.money(value, short=True)`` (``$2,433,910``, ``$48.70``,
    ``$2.43M``). ``digits`` is ignored: the formatting layer has one precision per size."""
    return formatting.money(value, short=True)


def format_percent(value, digits: int = 1) -> str:
    """``42.0%`` for 0.42 (or ``–``): ``formatting.rate``."""
    return formatting.rate(value) if digits == 1 else ("–" if formatting.is_missing(value) else f"{100 * value:.{digits}f}%")


def format_count(value) -> str:
    """A count for a metric card: ``890,190``; from a million on ``10.99M`` (a card has room for about nine
    characters: ``10,986,123`` would be cut to ``10,986,…``). ``formatting.count(value, short=True)``."""
    return formatting.count(value, short=True)


def format_number(value, digits: int = 0) -> str:
    """``12,345`` (or ``–``)."""
    return formatting.decimal(value, digits)


def style(fig: go.Figure, title: str, x_title: str | None, y_title: str | None, height: int = 380) -> go.Figure:
    """The house layout: a title, axis titles, compact margins, unified hover (white template: the default)."""
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 16}},
        height=height,
        margin={"l": 60, "r": 20, "t": 60, "b": 90},
        legend={"orientation": "h", "yanchor": "top", "y": -0.2, "xanchor": "left", "x": 0},
        hoverlabel={"bgcolor": "white"},
        font={"family": "Inter, Helvetica, Arial, sans-serif", "size": 12, "color": PALETTE["ink"]},
    )
    if x_title is not None:
        fig.update_xaxes(title_text=x_title)
    if y_title is not None:
        fig.update_yaxes(title_text=y_title)
    return fig


def sparkline(values: pd.Series, dates: pd.Series, value_format: str = ",.0f", colour: str | None = None) -> go.Figure:
    """A tiny line chart for a KPI card (no axes), oldest to newest."""
    fig = go.Figure(
        go.Scatter(
            x=dates,
            y=values,
            mode="lines+markers",
            line={"color": colour or PALETTE["primary"], "width": 2},
            marker={"size": 3},
            hovertemplate=f"week ending %{{x|%d %b %Y}}: %{{y:{value_format}}}<extra></extra>",
        )
    )
    fig.update_layout(
        height=60, margin={"l": 0, "r": 0, "t": 0, "b": 0}, showlegend=False
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def weekly_trend(weeks: pd.DataFrame) -> go.Figure:
    """Orders and revenue per week (bars, left axis) with active customers (line, right axis)."""
    weeks = weeks.sort_values("week_end")
    fig = go.Figure()
    fig.add_bar(
        x=weeks["week_end"], y=weeks["revenue"], name="Revenue", marker_color=PALETTE["primary"], opacity=0.85,
        hovertemplate="week ending %{x|%d %b %Y}<br>revenue %{y:$,.0f}<extra></extra>",
    )
    fig.add_scatter(
        x=weeks["week_end"], y=weeks["active_customers"], name="Active customers", yaxis="y2", mode="lines+markers",
        line={"color": PALETTE["secondary"], "width": 2},
        hovertemplate="week ending %{x|%d %b %Y}<br>%{y:,} active customers<extra></extra>",
    )
    style(fig, "Weekly revenue and active customers", "Week ending", "Revenue ($)")
    fig.update_layout(
        yaxis={"tickprefix": CURRENCY, "tickformat": ",.0f", "rangemode": "tozero"},
        yaxis2={"title": "Active customers", "overlaying": "y", "side": "right", "tickformat": ",.0f",
                "rangemode": "tozero", "showgrid": False},
    )
    return fig


def activity_trend(periods: pd.DataFrame, grain: str) -> go.Figure:
    """New and returning customers per period (stacked bars) with the returning-customer rate."""
    periods = periods.sort_values("period_start")
    label = {"week": "Week starting", "month": "Month", "quarter": "Quarter starting"}[grain]
    fig = go.Figure()
    fig.add_bar(x=periods["period_start"], y=periods["new_customers"], name="New customers",
                marker_color=PALETTE["secondary"],
                hovertemplate="%{x|%d %b %Y}<br>%{y:,} new customers<extra></extra>")
    fig.add_bar(x=periods["period_start"], y=periods["returning_customers"], name="Returning customers",
                marker_color=PALETTE["primary"],
                hovertemplate="%{x|%d %b %Y}<br>%{y:,} returning customers<extra></extra>")
    fig.add_scatter(x=periods["period_start"], y=periods["returning_customer_rate"], name="Returning-customer rate",
                    yaxis="y2", mode="lines", line={"color": PALETTE["ink"], "width": 2},
                    hovertemplate="%{x|%d %b %Y}<br>returning-customer rate %{y:.1%}<extra></extra>")
    style(fig, f"Active customers per {grain}: new vs returning", label, "Customers")
    fig.update_layout(
        barmode="stack",
        yaxis={"tickformat": ","},
        yaxis2={"title": "Returning-customer rate", "overlaying": "y", "side": "right", "tickformat": ".0%",
                "range": [0, 1], "tickmode": "linear", "dtick": 0.25, "showgrid": False},
    )
    return fig


def cohort_matrix(cohorts: pd.DataFrame, value_column: str) -> pd.DataFrame:
    """Cohorts (rows, newest last) x period numbers (columns) of value_column."""
    return cohorts.pivot(index="cohort_start", columns="period_number", values=value_column).sort_index()


def cohort_label(cohort_start, grain: str) -> str:
    """``2024-03`` for months, ``2024-Q1`` for quarters, ``2024-03-04`` for weeks."""
    stamp = pd.Timestamp(cohort_start)
    if grain == "month":
        return stamp.strftime("%Y-%m")
    if grain == "quarter":
        return f"{stamp.year}-Q{stamp.quarter}"
    return stamp.strftime("%Y-%m-%d")


def cohort_heatmap(cohorts: pd.DataFrame, grain: str, value_column: str = "retention_rate",
                   measure_label: str = "Customer retention") -> go.Figure:
    """Retention heatmap: % in cells, colour scaled to periods >= 1, unfinished cells marked with *,
    small cohorts dimmed, and invisible markers on cell centres so a click selects a cell."""
    values = cohort_matrix(cohorts, value_column)
    partial = cohort_matrix(cohorts, "is_partial_period").fillna(False).astype(bool)
    sizes = cohorts.groupby("cohort_start")["cohort_size"].first().reindex(values.index)
    small = cohorts.groupby("cohort_start")["is_small_cohort"].first().reindex(values.index).fillna(False)
    labels = [cohort_label(value, grain) for value in values.index]
    y_labels = [f"{label} (n={size:,})" for label, size in zip(labels, sizes)]
    periods = list(values.columns)
    later = values.loc[:, [period for period in periods if period >= 1]]
    top = float(later.max().max()) if later.size and not later.isna().all().all() else 1.0
    top = top if top > 0 and not math.isnan(top) else 1.0
    text = []
    for cohort in values.index:
        row = []
        for period in periods:
            value = values.at[cohort, period]
            if pd.isna(value):
                row.append("")
            else:
                row.append(f"{100 * value:.0f}%" + ("*" if partial.at[cohort, period] else ""))
        text.append(row)
    fig = go.Figure(
        go.Heatmap(
            z=values.values, x=periods, y=y_labels, text=text, texttemplate="%{text}",
            textfont={"size": 10 if len(periods) <= 18 else 8}, zmin=0, zmax=top, colorscale="Blues",
            colorbar={"title": "Share", "tickformat": ".0%"},
            hoverinfo="skip", xgap=1, ygap=1,
        )
    )
    # Dim small cohorts: a translucent white band over their rows.
    for index, is_small in enumerate(small):
        if is_small:
            fig.add_shape(type="rect", xref="paper", x0=0, x1=1, yref="y", y0=index - 0.5, y1=index + 0.5,
                          fillcolor="white", opacity=0.55, line_width=0, layer="above")
    # Clickable cell centres (Streamlit's plotly.js emits no selection for heatmap clicks).
    cells = cohorts.dropna(subset=[value_column])
    fig.add_scatter(
        x=cells["period_number"],
        y=[f"{cohort_label(c, grain)} (n={n:,})" for c, n in zip(cells["cohort_start"], cells["cohort_size"])],
        mode="markers", marker={"size": 18, "opacity": 0.01, "symbol": "square", "color": "black"},
        customdata=list(zip([pd.Timestamp(c).date().isoformat() for c in cells["cohort_start"]], cells["period_number"],
                            cells[value_column])),
        hovertemplate=f"cohort %{{y}}<br>{grain} %{{x}} after first order<br>{measure_label} %{{customdata[2]:.1%}}"
                      "<br><i>click to list these customers</i><extra></extra>",
        showlegend=False, name="cells",
    )
    style(fig, f"{measure_label} by {grain} cohort (* = period still in progress)",
          f"{grain.capitalize()}s since first order", "Cohort (first order) and size",
          height=max(380, 26 * len(values.index) + 140))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(dtick=1 if len(periods) <= 40 else 4, side="top",
                     range=[min(periods) - 0.5, max(periods) + 0.5] if periods else None)
    fig.update_layout(margin={"t": 110})
    fig.update_layout(clickmode="event+select", dragmode=False)
    return fig


def retention_curves(cohorts: pd.DataFrame, grain: str, chosen: list, value_column: str = "retention_rate",
                     measure_label: str = "Customer retention") -> go.Figure:
    """The size-weighted average retention curve (complete periods only) plus chosen cohorts."""
    complete = cohorts[~cohorts["is_partial_period"].astype(bool)].copy()
    complete["weighted"] = complete[value_column] * complete["cohort_size"]
    average = complete.groupby("period_number").agg(weighted=("weighted", "sum"), size=("cohort_size", "sum"))
    average = (average["weighted"] / average["size"]).reset_index(name="value")
    fig = go.Figure()
    fig.add_scatter(x=average["period_number"], y=average["value"], name="All cohorts (weighted)",
                    mode="lines", line={"color": PALETTE["ink"], "width": 3},
                    hovertemplate=f"{grain} %{{x}}: %{{y:.1%}}<extra>all cohorts</extra>")
    for cohort in chosen:
        rows = cohorts[cohorts["cohort_start"] == pd.Timestamp(cohort)].sort_values("period_number")
        name = cohort_label(cohort, grain)
        fig.add_scatter(x=rows["period_number"], y=rows[value_column], name=name, mode="lines+markers",
                        hovertemplate=f"{grain} %{{x}}: %{{y:.1%}}<extra>{name}</extra>")
    style(fig, f"{measure_label} curves", f"{grain.capitalize()}s since first order", measure_label)
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    return fig


def period_k_across_cohorts(cohorts: pd.DataFrame, grain: str, period_number: int,
                            value_column: str = "retention_rate", measure_label: str = "Customer retention") -> go.Figure:
    """Retention in period k for each cohort that has completed period k: is it improving?"""
    rows = cohorts[(cohorts["period_number"] == period_number) & ~cohorts["is_partial_period"].astype(bool)]
    rows = rows.sort_values("cohort_start")
    fig = go.Figure(
        go.Bar(
            x=[cohort_label(c, grain) for c in rows["cohort_start"]], y=rows[value_column],
            marker_color=[PALETTE["muted"] if small else PALETTE["primary"] for small in rows["is_small_cohort"]],
            customdata=rows["cohort_size"],
            hovertemplate="cohort %{x} (n=%{customdata:,})<br>%{y:.1%}<extra></extra>",
        )
    )
    style(fig, f"{measure_label} in {grain} {period_number} by cohort (grey = small cohort)",
          f"Cohort ({grain} of first order)", measure_label)
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    fig.update_xaxes(type="category")
    return fig


def rate_bars(frame: pd.DataFrame, category: str, rate: str, count: str, title: str, x_title: str,
              y_title: str, low: str | None = None, high: str | None = None, colour: str | None = None) -> go.Figure:
    """Horizontal-friendly bars of a rate per group, with the group size in hover and optional CI whiskers."""
    error = None
    if low and high:
        error = {"type": "data", "symmetric": False, "array": frame[high] - frame[rate],
                 "arrayminus": frame[rate] - frame[low], "color": PALETTE["ink"], "thickness": 1.2}
    fig = go.Figure(
        go.Bar(
            x=frame[category].astype(str), y=frame[rate], error_y=error,
            marker_color=colour or PALETTE["primary"], customdata=frame[count],
            text=[format_percent(value) for value in frame[rate]], textposition="outside",
            hovertemplate="%{x}<br>%{y:.1%} of %{customdata:,}<extra></extra>",
        )
    )
    style(fig, title, x_title, y_title)
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    fig.update_xaxes(type="category")
    return fig


def time_to_second_order(days: pd.DataFrame, milestones: pd.DataFrame, bin_days: int = 7) -> go.Figure:
    """Histogram of days from first to second order (weekly bins, first year) with the cumulative share
    of eligible customers who had ordered again by day 30/60/90/180/365 on the right axis."""
    rows = days[days["days_to_second_order"] <= 365].copy()
    rows["bin_start"] = (rows["days_to_second_order"] // bin_days) * bin_days
    bins = rows.groupby("bin_start", as_index=False)["customers"].sum()
    fig = go.Figure()
    fig.add_bar(x=bins["bin_start"] + bin_days / 2, y=bins["customers"], width=bin_days * 0.9,
                name="Customers", marker_color=PALETTE["primary"], customdata=bins["bin_start"] + bin_days - 1,
                hovertemplate="days %{x:.0f}±3: %{y:,} customers placed their 2nd order<extra></extra>")
    fig.add_scatter(x=milestones["milestone_days"], y=milestones["reached_rate"], name="Ordered again by day N",
                    yaxis="y2", mode="lines+markers+text", line={"color": PALETTE["secondary"], "width": 2},
                    text=[format_percent(value) for value in milestones["reached_rate"]], textposition="top left",
                    customdata=milestones["eligible_customers"],
                    hovertemplate="by day %{x}: %{y:.1%} of %{customdata:,} eligible customers<extra></extra>")
    style(fig, "Time to second order", "Days from first to second order", "Customers (per 7-day bin)")
    fig.update_layout(
        yaxis={"tickformat": ",", "rangemode": "tozero"},
        yaxis2={"title": "Cumulative share ordered again", "overlaying": "y", "side": "right",
                "tickformat": ".0%", "rangemode": "tozero", "showgrid": False},
    )
    fig.update_xaxes(range=[0, 370])
    return fig


def second_order_rate_by_cohort(cohorts: pd.DataFrame, grain: str) -> go.Figure:
    """The 90-day second-order rate of each first-order cohort (only cohorts with eligible customers)."""
    rows = cohorts[cohorts["eligible_customers"] > 0].sort_values("cohort_start")
    fig = go.Figure(
        go.Scatter(
            x=rows["cohort_start"], y=rows["second_order_rate_90d"], mode="lines+markers",
            line={"color": PALETTE["primary"], "width": 2}, customdata=rows["eligible_customers"],
            hovertemplate="first order in %{x|%b %Y}<br>%{y:.1%} ordered again within 90 days "
                          "(of %{customdata:,})<extra></extra>",
        )
    )
    style(fig, f"Second order within 90 days, by {grain} of first order",
          f"{grain.capitalize()} of first order", "Second order within 90 days")
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    return fig


def orders_per_customer(buckets: pd.DataFrame) -> go.Figure:
    """How many valid orders customers have placed so far (bars, share of customers on hover)."""
    rows = buckets.sort_values("bucket_order")
    fig = go.Figure(
        go.Bar(
            x=rows["order_count_bucket"], y=rows["customers"], marker_color=PALETTE["primary"],
            customdata=list(zip(rows["customer_share"], rows["revenue"])),
            text=[format_percent(value, 0) for value in rows["customer_share"]], textposition="outside",
            hovertemplate="%{x} orders: %{y:,} customers (%{customdata[0]:.1%}), revenue $%{customdata[1]:,.0f}"
                          "<extra></extra>",
        )
    )
    style(fig, "Orders per customer", "Valid orders placed so far", "Customers")
    fig.update_xaxes(type="category")
    fig.update_yaxes(tickformat=",")
    return fig


def nps_trend(periods: pd.DataFrame, grain: str) -> go.Figure:
    """Promoters / passives / detractors as stacked shares per period, with the NPS line (right axis)."""
    rows = periods.sort_values("period_start")
    fig = go.Figure()
    for group, column in (("detractor", "detractor_share"), ("passive", "passive_share"), ("promoter", "promoter_share")):
        fig.add_bar(x=rows["period_start"], y=rows[column], name=f"{group.capitalize()}s",
                    marker_color=NPS_COLOURS[group], opacity=0.8, customdata=rows["responses"],
                    hovertemplate=f"%{{x|%d %b %Y}}<br>{group}s %{{y:.1%}} of %{{customdata:,}} responses<extra></extra>")
    fig.add_scatter(x=rows["period_start"], y=rows["nps"], name="NPS", yaxis="y2", mode="lines+markers",
                    line={"color": PALETTE["ink"], "width": 2.5},
                    hovertemplate="%{x|%d %b %Y}<br>NPS %{y:.1f}<extra></extra>")
    style(fig, f"NPS per {grain}: promoters, passives, detractors", grain.capitalize(), "Share of NPS responses")
    fig.update_layout(
        barmode="stack",
        yaxis={"tickformat": ".0%", "range": [0, 1]},
        yaxis2={"title": "NPS (-100 to 100)", "overlaying": "y", "side": "right", "range": [-100, 100],
                "showgrid": False, "zeroline": True},
    )
    return fig


def csat_trend(periods: pd.DataFrame, grain: str) -> go.Figure:
    """CSAT (share of 4-5 scores) per period with the number of responses on hover."""
    rows = periods.sort_values("period_start")
    fig = go.Figure(
        go.Scatter(
            x=rows["period_start"], y=rows["csat"], mode="lines+markers", line={"color": PALETTE["primary"], "width": 2},
            customdata=list(zip(rows["responses"], rows["mean_score"])), name="CSAT",
            hovertemplate="%{x|%d %b %Y}<br>CSAT %{y:.1%} of %{customdata[0]:,} responses "
                          "(mean score %{customdata[1]:.2f} / 5)<extra></extra>",
        )
    )
    style(fig, f"CSAT per {grain} (share of responses scoring 4-5)", grain.capitalize(), "CSAT")
    fig.update_yaxes(tickformat=".0%", range=[0, 1])
    return fig


def satisfaction_by_dimension(rows: pd.DataFrame, dimension_label: str) -> go.Figure:
    """NPS (left) and CSAT (right) per value of a dimension, response counts on hover."""
    from plotly.subplots import make_subplots

    rows = rows.sort_values("dimension_value")
    fig = make_subplots(rows=1, cols=2, subplot_titles=("NPS", "CSAT (share 4-5)"), horizontal_spacing=0.12)
    fig.add_bar(x=rows["dimension_value"], y=rows["nps"], row=1, col=1, name="NPS", marker_color=PALETTE["primary"],
                customdata=rows["nps_responses"], text=[format_number(v, 0) for v in rows["nps"]],
                textposition="outside", hovertemplate="%{x}<br>NPS %{y:.1f} from %{customdata:,} responses<extra></extra>")
    fig.add_bar(x=rows["dimension_value"], y=rows["csat"], row=1, col=2, name="CSAT", marker_color=PALETTE["secondary"],
                customdata=rows["csat_responses"], text=[format_percent(v, 0) for v in rows["csat"]],
                textposition="outside", hovertemplate="%{x}<br>CSAT %{y:.1%} from %{customdata:,} responses<extra></extra>")
    style(fig, f"Satisfaction by {dimension_label.lower()}", None, None)
    fig.update_layout(showlegend=False)
    fig.update_yaxes(title_text="NPS (-100 to 100)", range=[-100, 100], row=1, col=1)
    fig.update_yaxes(title_text="CSAT", tickformat=".0%", range=[0, 1.1], row=1, col=2)
    fig.update_xaxes(title_text=dimension_label, type="category")
    return fig


def response_rate(periods: pd.DataFrame, grain: str) -> go.Figure:
    """Survey responses per valid order per period."""
    rows = periods.sort_values("period_start")
    fig = go.Figure(
        go.Scatter(x=rows["period_start"], y=rows["responses_per_order"], mode="lines+markers",
                   line={"color": PALETTE["primary"], "width": 2}, customdata=list(zip(rows["responses"], rows["orders"])),
                   hovertemplate="%{x|%d %b %Y}<br>%{y:.1%}: %{customdata[0]:,} responses / %{customdata[1]:,} orders"
                                 "<extra></extra>")
    )
    style(fig, f"Survey response rate per {grain}", grain.capitalize(), "Responses per order")
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    return fig


def care_groups(rows: pd.DataFrame, title: str, x_title: str) -> go.Figure:
    """90-day repurchase rate per care group with 95% intervals and the number of orders behind each bar."""
    rows = rows.sort_values("group_order")
    colours = [PALETTE["muted"] if anchors < 30 else PALETTE["primary"] for anchors in rows["anchor_orders"]]
    error = {"type": "data", "symmetric": False, "array": (rows["ci_high"] - rows["repurchase_rate_90d"]).fillna(0),
             "arrayminus": (rows["repurchase_rate_90d"] - rows["ci_low"]).fillna(0), "color": PALETTE["ink"],
             "thickness": 1.2}
    labels = [f"{group}<br>n={anchors:,}" for group, anchors in zip(rows["care_group"], rows["anchor_orders"])]
    fig = go.Figure(
        go.Bar(
            x=labels, y=rows["repurchase_rate_90d"], error_y=error, marker_color=colours,
            customdata=list(zip(rows["anchor_orders"], rows["customers"], rows["ci_low"], rows["ci_high"])),
            text=[format_percent(value, 0) for value in rows["repurchase_rate_90d"]], textposition="inside",
            hovertemplate="%{x}<br>%{y:.1%} bought again within 90 days<br>95% interval %{customdata[2]:.1%} – "
                          "%{customdata[3]:.1%}<br>%{customdata[0]:,} orders from %{customdata[1]:,} customers"
                          "<extra></extra>",
        )
    )
    style(fig, title, x_title, "Bought again within 90 days", height=360)
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    fig.update_xaxes(type="category")
    return fig


def revenue_trend(periods: pd.DataFrame, grain: str) -> go.Figure:
    """Revenue per period (bars, orders on hover) with the average order value (line, right axis)."""
    rows = periods.sort_values("period_start")
    fig = go.Figure()
    fig.add_bar(x=rows["period_start"], y=rows["revenue"], name="Revenue", marker_color=PALETTE["primary"],
                customdata=rows["orders"],
                hovertemplate="%{x|%d %b %Y}<br>revenue %{y:$,.0f} from %{customdata:,} orders<extra></extra>")
    fig.add_scatter(x=rows["period_start"], y=rows["aov"], name="Average order value", yaxis="y2",
                    mode="lines+markers", line={"color": PALETTE["secondary"], "width": 2},
                    hovertemplate="%{x|%d %b %Y}<br>AOV %{y:$,.2f}<extra></extra>")
    style(fig, f"Revenue, orders and average order value per {grain}", grain.capitalize(), "Revenue ($)")
    fig.update_layout(
        yaxis={"tickprefix": CURRENCY, "tickformat": ",.0f", "rangemode": "tozero"},
        yaxis2={"title": "Average order value ($)", "overlaying": "y", "side": "right", "tickprefix": CURRENCY,
                "tickformat": ",.0f", "rangemode": "tozero", "showgrid": False},
    )
    return fig
