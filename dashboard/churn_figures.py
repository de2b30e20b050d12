"""Pure functions from churn query results (DataFrames) to Plotly figures, in the house style of figures.py.

No Streamlit import; every function returns a figure.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard.figures import BLUES, PALETTE, Draft, format_currency, style

RISK_BAND_COLOURS = {"high": PALETTE["bad"], "medium": PALETTE["secondary"], "low": PALETTE["good"]}
RISK_BAND_LABELS = {"high": "High (70% or more)", "medium": "Medium (40-70%)", "low": "Low (under 40%)"}


def risk_distribution(bins: pd.DataFrame) -> go.Figure:
    """Customers per 5-point bin of churn risk (rows of churn_risk_distribution.sql), coloured by risk band."""
    fig = Draft()
    for band in ("low", "medium", "high"):
        rows = bins[bins["risk_band"] == band].sort_values("risk_bin_start")
        if rows.empty:
            continue
        fig.add_bar(
            x=rows["risk_bin_start"] + 0.025, y=rows["customers"], width=0.045, name=RISK_BAND_LABELS[band],
            marker_color=RISK_BAND_COLOURS[band],
            customdata=list(zip(rows["risk_bin_start"], rows["risk_bin_start"] + 0.05, rows["revenue"])),
            hovertemplate="churn risk %{customdata[0]:.0%}-%{customdata[1]:.0%}<br>%{y:,} customers<br>"
                          "lifetime revenue %{customdata[2]:$,.0f}<extra></extra>",
        )
    style(fig, "Churn risk: chance of no order in the next 90 days", "Churn risk (%)", "Customers")
    fig.update_xaxes(tickformat=".0%", range=[0, 1], dtick=0.1)
    fig.update_yaxes(tickformat=",", rangemode="tozero")
    fig.update_layout(barmode="stack", bargap=0.05)
    return fig.figure()


def rfm_grid(cells: pd.DataFrame) -> go.Figure:
    """Recency score (rows) x frequency-and-monetary score (columns) from churn_rfm_grid.sql: customers as colour,
    the segment name, count and lifetime revenue written in each cell."""
    scores = [1, 2, 3, 4, 5]
    by_cell = cells.set_index(["recency_score", "frequency_monetary_score"])
    z, text, hover = [], [], []
    for recency in scores:
        z_row, text_row, hover_row = [], [], []
        for value in scores:
            if (recency, value) in by_cell.index:
                cell = by_cell.loc[(recency, value)]
                z_row.append(int(cell["customers"]))
                text_row.append(f"{cell['rfm_segment']}<br>{int(cell['customers']):,}<br>"
                                f"{format_currency(float(cell['revenue']))}")
                hover_row.append(f"{cell['rfm_segment']}: {int(cell['customers']):,} customers, lifetime revenue "
                                 f"{format_currency(float(cell['revenue']))}, mean churn risk "
                                 f"{100 * float(cell['mean_churn_risk']):.0f}%")
            else:
                z_row.append(None)
                text_row.append("")
                hover_row.append("no customers")
        z.append(z_row)
        text.append(text_row)
        hover.append(hover_row)
    fig = Draft(
        dict(
            type="heatmap", z=z, x=scores, y=scores, text=text, texttemplate="%{text}", textfont={"size": 10},
            customdata=hover, hovertemplate="R %{y}, FM %{x}<br>%{customdata}<extra></extra>",
            colorscale=BLUES, colorbar={"title": {"text": "Customers"}, "tickformat": ","}, xgap=2, ygap=2,
        )
    )
    # Heatmap cells emit no click selection: one invisible marker per non-empty cell does (customdata: R, FM).
    cells_with_customers = [(value, recency) for recency in scores for value in scores
                            if (recency, value) in by_cell.index]
    fig.add_scatter(
        x=[value for value, _ in cells_with_customers], y=[recency for _, recency in cells_with_customers],
        mode="markers", marker={"size": 40, "opacity": 0.01, "color": PALETTE["ink"], "symbol": "square"},
        customdata=[[recency, value] for value, recency in cells_with_customers], hoverinfo="skip",
        showlegend=False, name="cells",
    )
    style(fig, "RFM cells: recency x frequency-and-monetary (click a cell)",
          "Frequency-and-monetary score (1 = lowest, 5 = highest)", "Recency score (5 = most recent)", height=480)
    fig.update_xaxes(dtick=1, range=[0.5, 5.5])
    fig.update_yaxes(dtick=1, range=[0.5, 5.5])
    fig.update_layout(clickmode="event+select", dragmode=False)
    return fig.figure()


STATE_COLOURS = {
    "active": PALETTE["good"], "new": PALETTE["primary"], "slipping": PALETTE["secondary"],
    "one_time": "#a78bfa", "lapsed": PALETTE["neutral"],
}


def lifecycle_by_rfm(rows: pd.DataFrame) -> go.Figure:
    """Customers of each RFM segment by lifecycle state (rows of churn_rfm_lifecycle.sql): why a "Loyal"
    customer can be at near-certain risk (lapsed against their own rhythm). Bars are clickable (customdata:
    segment, state)."""
    from dashboard import churn, lifecycle

    order = [segment for segment in churn.RFM_SEGMENTS if segment in set(rows["rfm_segment"])]
    fig = Draft()
    for state in lifecycle.STATES:
        part = rows[rows["lifecycle_state"] == state].set_index("rfm_segment").reindex(order)
        if part["customers"].fillna(0).sum() == 0:
            continue
        fig.add_bar(
            y=order, x=part["customers"].fillna(0), orientation="h", name=lifecycle.STATE_LABELS[state],
            marker_color=STATE_COLOURS[state],
            customdata=[[segment, lifecycle.STATE_LABELS[state], risk]
                        for segment, risk in zip(order, part["mean_churn_risk"])],
            hovertemplate="%{customdata[0]}, " + lifecycle.STATE_LABELS[state]
                          + ": %{x:,} customers<br>mean churn risk %{customdata[2]:.0%}<extra></extra>",
        )
    style(fig, "RFM segments by lifecycle state (click a bar for its customers)", "Customers", None,
          height=max(320, 40 * len(order) + 140))
    fig.update_layout(barmode="stack", clickmode="event+select", dragmode=False)
    fig.update_xaxes(tickformat=",", rangemode="tozero")
    fig.update_yaxes(autorange="reversed")
    return fig.figure()


def calibration(deciles: pd.DataFrame, horizon_days: int) -> go.Figure:
    """Predicted vs actual orders per customer by decile of predicted orders (clv.calibration_by_decile rows)."""
    rows = deciles.sort_values("decile")
    fig = Draft()
    fig.add_bar(x=rows["decile"], y=rows["predicted_mean"], name="Predicted", marker_color=PALETTE["primary"],
                customdata=rows["customers"],
                hovertemplate="decile %{x} (%{customdata:,} customers)<br>predicted %{y:.3f} orders per customer"
                              "<extra></extra>")
    fig.add_bar(x=rows["decile"], y=rows["actual_mean"], name="Actual", marker_color=PALETTE["neutral"],
                customdata=rows["customers"],
                hovertemplate="decile %{x} (%{customdata:,} customers)<br>actual %{y:.3f} orders per customer"
                              "<extra></extra>")
    style(fig, f"Backtest calibration: orders per customer in the {horizon_days} days after the cutoff",
          "Decile of predicted orders (1 = fewest)", "Orders (purchase days) per customer")
    fig.update_xaxes(dtick=1)
    fig.update_yaxes(tickformat=",.2f", rangemode="tozero")
    fig.update_layout(barmode="group")
    return fig.figure()


def backtest_auc(model_auc: float, baseline_auc: float, method: str) -> go.Figure:
    """The backtest's AUC of the churn risk next to the recency baseline's (0.5 = a coin toss)."""
    labels = [f"Churn risk ({method})", "Days since last order"]
    values = [model_auc, baseline_auc]
    fig = Draft(
        dict(
            type="bar", x=values, y=labels, orientation="h", marker_color=[PALETTE["primary"], PALETTE["neutral"]],
            text=[f"{value:.3f}" for value in values], textposition="outside",
            hovertemplate="%{y}<br>AUC %{x:.3f}<extra></extra>",
        )
    )
    style(fig, "Backtest: how well each score ranks who did not order (AUC)", "AUC (0.5 = chance, 1 = perfect)",
          None, height=220)
    fig.update_xaxes(range=[0.5, 1.0])
    fig.update_yaxes(autorange="reversed")
    return fig.figure()


def campaign_lift(table: pd.DataFrame, window_days: int) -> go.Figure:
    """Lift of each campaign (treatment rate - holdout rate of ordering within ``window_days`` after the send) with
    its 95% interval, from ``campaigns.lift_table`` rows; a line at 0 (no effect). Campaigns whose window is not
    over are left out (the table says so)."""
    rows = table[(table["window_days"] == window_days) & table["is_complete"]].sort_values("sent_at")
    colours = [PALETTE["neutral"] if too_small else (PALETTE["good"] if low > 0 else PALETTE["bad"] if high < 0
                                                     else PALETTE["secondary"])
               for too_small, low, high in zip(rows["is_too_small"], rows["lift_ci_low"], rows["lift_ci_high"])]
    labels = [f"{campaign} ({pd.Timestamp(sent):%d %b %Y})" for campaign, sent in zip(rows["campaign_id"],
                                                                                      rows["sent_at"])]
    fig = go.Figure(go.Scatter(
        x=100 * rows["lift"], y=labels, mode="markers", marker={"size": 12, "color": colours},
        error_x={"type": "data", "symmetric": False, "array": 100 * (rows["lift_ci_high"] - rows["lift"]),
                 "arrayminus": 100 * (rows["lift"] - rows["lift_ci_low"]), "thickness": 2, "width": 6},
        customdata=list(zip(100 * rows["treatment_rate"], 100 * rows["holdout_rate"], 100 * rows["lift_ci_low"],
                            100 * rows["lift_ci_high"], rows["treatment_customers"], rows["holdout_customers"])),
        hovertemplate="%{y}<br>ordered within " + str(window_days) + " days: treatment %{customdata[0]:.1f}% "
                      "(%{customdata[4]:,} customers), holdout %{customdata[1]:.1f}% (%{customdata[5]:,})<br>"
                      "lift %{x:+.1f} points (95% interval %{customdata[2]:+.1f} to %{customdata[3]:+.1f})"
                      "<extra></extra>",
        showlegend=False,
    ))
    fig.add_vline(x=0, line={"color": PALETTE["ink"], "width": 1, "dash": "dot"})
    style(fig, f"Lift: extra share of customers who ordered within {window_days} days (treatment - holdout)",
          "Lift (percentage points), with its 95% interval", None, height=max(220, 70 * len(rows) + 140))
    fig.update_xaxes(ticksuffix=" pts", zeroline=False)
    fig.update_yaxes(autorange="reversed")
    return fig


def movement_matrix(rows: pd.DataFrame, dimension: str, days_back: int) -> go.Figure:
    """Customers by where they were ``days_back`` days ago (rows) and where they are now (columns), from
    churn_movements.sql rows; the count in each cell, clickable (customdata: the labels of
    previous and current, which the page maps back to the rule values)."""
    from dashboard import churn, formatting, lifecycle

    order = list(lifecycle.STATES) if dimension == "lifecycle_state" else list(churn.RFM_SEGMENTS)
    field = "previous_lifecycle_state" if dimension == "lifecycle_state" else "previous_rfm_segment"
    previous = [value for value in order + ["none"] if value in set(rows["previous_value"])]
    current = [value for value in order if value in set(rows["current_value"])]
    counts = rows.pivot_table(index="previous_value", columns="current_value", values="customers", aggfunc="sum")
    counts = counts.reindex(index=previous, columns=current)
    x_labels = [formatting.label(value, field) for value in current]
    y_labels = [formatting.label(value, field) for value in previous]
    text = [["" if pd.isna(value) else f"{int(value):,}" for value in row] for row in counts.to_numpy()]
    fig = Draft(dict(
        type="heatmap", z=counts.to_numpy(dtype=float), x=x_labels, y=y_labels, text=text, texttemplate="%{text}",
        textfont={"size": 11}, colorscale=BLUES, colorbar={"title": {"text": "Customers"}, "tickformat": ","},
        xgap=2, ygap=2, hovertemplate="%{y} then, %{x} now: %{z:,} customers<extra></extra>",
    ))
    cells = [(x, y, before, now) for y, before in zip(y_labels, previous) for x, now in zip(x_labels, current)
             if not pd.isna(counts.loc[before, now])]
    fig.add_scatter(x=[cell[0] for cell in cells], y=[cell[1] for cell in cells], mode="markers",
                    marker={"size": 34, "opacity": 0.01, "color": PALETTE["ink"], "symbol": "square"},
                    customdata=[[cell[1], cell[0]] for cell in cells], hoverinfo="skip", showlegend=False,
                    name="cells")
    what = "lifecycle state" if dimension == "lifecycle_state" else "RFM segment"
    style(fig, f"Where customers were {days_back} days ago and where they are now, by {what} (click a cell)",
          f"{what.capitalize()} now", f"{what.capitalize()} {days_back} days ago",
          height=max(380, 44 * len(previous) + 180))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category")
    fig.update_layout(clickmode="event+select", dragmode=False)
    return fig.figure()
