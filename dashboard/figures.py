"""Pure functions from query results (DataFrames) to Plotly figures.

Titles, axis titles with units, number formats (currency, %) and hover text live here, so the app
and the weekly report draw the same charts.  No Streamlit import; every function returns a figure.
They draw on a ``Draft`` (plain dicts) and hand it to Plotly once: see ``Draft`` for why.
"""

from __future__ import annotations

import copy
import math
import re

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.colors import get_colorscale

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
# The heatmap's colour scale as Plotly's validation spells out the name "Blues" (a Draft is not validated).
BLUES = get_colorscale("Blues")
NPS_COLOURS = {"promoter": PALETTE["good"], "passive": PALETTE["neutral"], "detractor": PALETTE["bad"]}
CURRENCY = formatting.CURRENCY


class Draft:
    """A figure drawn as plain dicts and handed to Plotly once, without Plotly's property-by-property validation.

    Why: building a figure through ``go.Figure`` methods (each ``add_bar``, ``update_layout``, ``update_xaxes``
    validated and merged key path by key path) took 30-100 ms of CPU a chart, most of a page rerun's server time;
    the same dicts given to ``go.Figure(..., _validate=False)`` take about 3 ms and serialise to the same JSON.
    The methods are the ``go.Figure`` ones these modules use, with Plotly's meaning: a ``None`` value leaves a
    property unset (on an update: removes it), nested dicts update what is there, ``update_xaxes`` /
    ``update_yaxes`` update every x / y axis the layout has so far (``xaxis`` always), and the ``a_b`` names
    used here (``title_text``, ``marker_color``, ``marker_opacity``, ``line_width``) mean ``{"a": {"b": ...}}``.
    tests/test_figures_fast.py checks every figure drawn this way against Plotly's validation (same JSON after
    validating) and the old ``go.Figure`` drawing.
    """

    PATHS = {"title_text": ("title", "text"), "marker_color": ("marker", "color"),
             "marker_opacity": ("marker", "opacity"), "line_width": ("line", "width")}

    def __init__(self, *traces: dict):
        self.data: list[dict] = []
        self.layout: dict = {}
        for trace in traces:
            self.add_trace(trace)

    def add_trace(self, trace: dict) -> "Draft":
        self.data.append(_update({}, trace))
        return self

    def add_bar(self, **props) -> "Draft":
        return self.add_trace({"type": "bar", **props})

    def add_scatter(self, **props) -> "Draft":
        return self.add_trace({"type": "scatter", **props})

    def add_shape(self, **props) -> "Draft":
        self.layout.setdefault("shapes", []).append(_update({}, props))
        return self

    def add_annotation(self, **props) -> "Draft":
        self.layout.setdefault("annotations", []).append(_update({}, props))
        return self

    def update_layout(self, update: dict | None = None, **props) -> "Draft":
        _update(self.layout, {**(update or {}), **props})
        return self

    def update_xaxes(self, **props) -> "Draft":
        return self._update_axes("x", props)

    def update_yaxes(self, **props) -> "Draft":
        return self._update_axes("y", props)

    def _update_axes(self, letter: str, props: dict) -> "Draft":
        names = [f"{letter}axis"] + [name for name in self.layout if re.fullmatch(f"{letter}axis[0-9]+", name)]
        for name in names:
            _update(self.layout.setdefault(name, {}), props)
        return self

    def figure(self) -> go.Figure:
        """The Plotly figure with the default template, as for any figure.

        Left out of the layout, ``go.Figure`` applies the default template by copying the whole template object
        into the figure, about two thirds of a small chart's CPU (0.4 of 0.65 ms for a sparkline, and the
        Weekly review draws 18). The figure is made with an empty template, which Plotly keeps as it is, and
        then given the default template's dict, made once and shared by every figure, which never changes it:
        ``to_dict`` copies it, and the sent dict (``cache.sendable``) shares it as before. The JSON is the same
        (tests/test_figures_fast.py)."""
        template = default_template()
        if "template" in self.layout or template is None:  # its own template, or no default (Plotly adds none)
            return go.Figure(data=self.data, layout=self.layout, _validate=False)
        fig = go.Figure(data=self.data, layout={**self.layout, "template": {}}, _validate=False)
        fig._layout["template"] = template
        return fig


_TEMPLATE_DICTS: dict = {}


def default_template() -> dict | None:
    """Plotly's default template (``pio.templates.default``) as the dict a figure holds, made once per template
    name; shared, so callers must not change it. None when no default is set."""
    name = pio.templates.default
    if name is None:
        return None
    if not isinstance(name, str):  # a template object rather than a registered name
        return name.to_plotly_json()
    if name not in _TEMPLATE_DICTS:
        _TEMPLATE_DICTS[name] = pio.templates[name].to_plotly_json()
    return _TEMPLATE_DICTS[name]


def _update(target: dict, props: dict) -> dict:
    """Plotly's update on dicts: ``a_b`` paths expanded (Draft.PATHS), dicts merged, None removes a property."""
    for key, value in props.items():
        path = Draft.PATHS.get(key, (key,))
        node = target
        for part in path[:-1]:
            node = node.setdefault(part, {})
        key = path[-1]
        if value is None:
            node.pop(key, None)
        elif isinstance(value, dict):
            existing = node.get(key)
            node[key] = _update(existing if isinstance(existing, dict) else {}, value)
        else:
            node[key] = value
    return target


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


# How a period that is not over is drawn, the same on every chart with a time axis: a lighter, hatched bar or
# a dashed line with open markers, "in progress" in its hover, and one legend entry saying so.
IN_PROGRESS = "in progress"
GRAIN_NOUNS = {"week": "week", "month": "month", "quarter": "quarter", "day": "day"}
PERIOD_HOVER = {"week": "week of %{x|%d %b %Y}", "month": "%{x|%b %Y}", "quarter": "%{x|Q%q %Y}",
                "day": "%{x|%d %b %Y}"}


def declare_periods(fig: go.Figure, grain: str, anchor: str = "start", window_days: int = 0) -> go.Figure:
    """Say which period each date on the x axis stands for (``layout.meta["periods"]``), so the hygiene check
    can tell which points are not final: a point dated x covers the ``grain`` starting (or ending) at x, and its
    value is final once that period and ``window_days`` more are over."""
    current = fig.layout.get("meta") if isinstance(fig, Draft) else fig.layout.meta
    meta = dict(current) if isinstance(current, dict) else {}
    meta["periods"] = {"grain": grain, "anchor": anchor, "window_days": int(window_days)}
    fig.update_layout(meta=meta)
    return fig


def period_label(start, grain: str) -> str:
    """``Nov 2026``, ``Q4 2026``, ``week of 9 Nov 2026``: a period as a person names it."""
    stamp = pd.Timestamp(start)
    if grain == "month":
        return stamp.strftime("%b %Y")
    if grain == "quarter":
        return f"Q{stamp.quarter} {stamp.year}"
    if grain == "week":
        return f"week of {stamp.day} {stamp.strftime('%b %Y')}"
    return f"{stamp.day} {stamp.strftime('%b %Y')}"


def in_progress_words(grain: str, window_days: int = 0) -> str:
    """``month in progress: not final`` (or the window's words) for hovers and legends."""
    if window_days:
        return f"{IN_PROGRESS}: not every customer has had {window_days} days yet"
    return f"{GRAIN_NOUNS.get(grain, grain)} {IN_PROGRESS}: not final"


def _split(rows: pd.DataFrame, flag: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    if flag not in rows.columns:
        return rows, rows.iloc[0:0]
    partial = rows[flag].fillna(False).astype(bool)
    return rows[~partial], rows[partial]


def _legend_note(fig: go.Figure, grain: str, window_days: int, kind: str) -> None:
    """One legend entry explaining the in-progress mark, in grey so it reads as a mark, not a series: a
    zero-height hatched bar or an undrawn dashed line at the first date (an empty trace would not be listed)."""
    name = (f"Not final: {window_days} days not over ({IN_PROGRESS})" if window_days
            else f"{GRAIN_NOUNS.get(grain, grain).capitalize()} {IN_PROGRESS}")
    first = next((_first(trace) for trace in fig.data if _xs(trace) is not None and len(_xs(trace))), None)
    if first is None:
        return
    if kind == "bar":
        fig.add_bar(x=[first], y=[0], name=name, hoverinfo="skip", legendrank=2000, showlegend=True,
                    marker={"color": PALETTE["neutral"], "opacity": 0.6,
                            "pattern": {"shape": "/", "solidity": 0.3, "fgcolor": "white"}})
    else:
        fig.add_scatter(x=[first], y=[None], name=name, mode="lines+markers", hoverinfo="skip", legendrank=2000,
                        showlegend=True, line={"color": PALETTE["neutral"], "dash": "dot", "width": 2},
                        marker={"color": "white", "size": 8, "line": {"color": PALETTE["neutral"], "width": 2}})


def _xs(trace):
    return trace.get("x") if isinstance(trace, dict) else trace.x


def _first(trace):
    xs = _xs(trace)
    return xs.iloc[0] if isinstance(xs, pd.Series) else xs[0]


def period_bars(fig: go.Figure, rows: pd.DataFrame, x: str, y: str, name: str, colour: str, hovertemplate: str,
                grain: str, flag: str = "is_partial_period", window_days: int = 0, **kwargs) -> None:
    """Bars per period; the rows flagged as not final go in a second, lighter, hatched trace whose name and
    hover say "in progress"."""
    complete, partial = _split(rows, flag)
    fig.add_bar(x=complete[x], y=complete[y], name=name, marker_color=colour, hovertemplate=hovertemplate,
                legendgroup=name, **_take(kwargs, complete))
    if len(partial):
        note = in_progress_words(grain, window_days)
        fig.add_bar(x=partial[x], y=partial[y], name=f"{name} ({IN_PROGRESS})", legendgroup=name, showlegend=False,
                    marker={"color": colour, "opacity": 0.6, "pattern": {"shape": "/", "solidity": 0.3,
                                                                         "fgcolor": "white"}},
                    hovertemplate=hovertemplate.replace("<extra>", f"<br><i>{note}</i><extra>", 1)
                    if "<extra>" in hovertemplate else hovertemplate + f"<br><i>{note}</i>",
                    **_take(kwargs, partial))


def period_line(fig: go.Figure, rows: pd.DataFrame, x: str, y: str, name: str, colour: str, hovertemplate: str,
                grain: str, flag: str = "is_partial_period", window_days: int = 0, width: float = 2,
                **kwargs) -> None:
    """A line per period: solid through the final points, dashed with open markers to the points that are not
    final (their trace's name and hover say "in progress")."""
    complete, partial = _split(rows, flag)
    fig.add_scatter(x=complete[x], y=complete[y], name=name, mode="lines+markers", legendgroup=name,
                    line={"color": colour, "width": width}, marker={"size": 6}, hovertemplate=hovertemplate,
                    **_take(kwargs, complete))
    if len(partial):
        note = in_progress_words(grain, window_days)
        bridge = pd.concat([complete.tail(1), partial]) if len(complete) else partial
        fig.add_scatter(x=bridge[x], y=bridge[y], name=f"{name} ({IN_PROGRESS})", mode="lines", legendgroup=name,
                        showlegend=False, line={"color": colour, "width": width, "dash": "dot"},
                        hoverinfo="skip", hovertext=[note] * len(bridge), **_axis_only(kwargs))
        fig.add_scatter(x=partial[x], y=partial[y], name=f"{name} ({IN_PROGRESS})", mode="markers",
                        legendgroup=name, showlegend=False,
                        marker={"color": "white", "size": 8, "line": {"color": colour, "width": 2}},
                        hovertemplate=hovertemplate.replace("<extra>", f"<br><i>{note}</i><extra>", 1)
                        if "<extra>" in hovertemplate else hovertemplate + f"<br><i>{note}</i>",
                        **_take(kwargs, partial))


def _take(kwargs: dict, rows: pd.DataFrame) -> dict:
    """kwargs for a trace of these rows: ``customdata`` given as column names is taken from the rows."""
    taken = dict(kwargs)
    columns = taken.pop("custom_columns", None)
    if columns:
        taken["customdata"] = rows[list(columns)].to_numpy() if len(rows) else []
    return taken


def _axis_only(kwargs: dict) -> dict:
    return {key: value for key, value in kwargs.items() if key in ("yaxis", "xaxis")}


def time_axis(fig: go.Figure, grain: str, dates, title: str | None = None) -> None:
    """Ticks on whole periods, labelled as the period is named (``Nov`` over ``2026``), never rotated: one a
    period up to 7 periods, then every 2nd, 3rd, ... so the labels fit a half-width chart (a monthly series once
    had weekly tick labels, and 13 monthly labels were rotated on top of each other)."""
    values = pd.to_datetime(pd.Series(list(dates))).dropna().sort_values().unique()
    count = len(values)
    every = 1 if count <= 7 else 2 if count <= 14 else 3 if count <= 21 else 6 if count <= 42 else 12
    if grain == "month":
        fig.update_xaxes(dtick=f"M{every}", tickformat="%b<br>%Y", ticklabelmode="instant")
    elif grain == "quarter":
        fig.update_xaxes(dtick=f"M{3 * every}", tickformat="Q%q<br>%Y")
    elif grain == "week":
        fig.update_xaxes(dtick=7 * 86_400_000 * every, tickformat="%-d %b<br>%Y",
                         tick0=pd.Timestamp(values[0]).strftime("%Y-%m-%d") if count else None)
    fig.update_xaxes(tickangle=0)
    if count:
        half = {"week": pd.Timedelta(days=4), "month": pd.Timedelta(days=16), "quarter": pd.Timedelta(days=46)}.get(
            grain, pd.Timedelta(days=1))
        fig.update_xaxes(range=[pd.Timestamp(values[0]) - half, pd.Timestamp(values[-1]) + half])
    if title is not None:
        fig.update_xaxes(title_text=title)


def dual_axes(fig: go.Figure, left_top: float, right_top: float, left: dict, right: dict,
              integer_left: bool = False, integer_right: bool = False) -> None:
    """Both y axes from 0 with the same number of round steps, so their grid lines coincide."""
    left_ticks, right_ticks = formatting.aligned_ticks(_top(left_top), _top(right_top), integer_left, integer_right)
    fig.update_layout(yaxis={**left, **left_ticks},
                      yaxis2={"overlaying": "y", "side": "right", "showgrid": False, **right, **right_ticks})


def _top(value) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return 1.0
    return value if math.isfinite(value) and value > 0 else 1.0


def bar_headroom(fig: go.Figure, top: float, share: float = 0.15, axis: str = "yaxis") -> None:
    """Room above the tallest bar for its outside label (labels were cut at the top)."""
    top = _top(top)
    fig.update_layout({axis: {"range": [0, top * (1 + share)]}})


def sparkline(values: pd.Series, dates: pd.Series, value_format: str = ",.0f", colour: str | None = None) -> go.Figure:
    """A tiny line chart for a KPI card (no axes), oldest to newest; each point is a whole week ending on its date."""
    fig = Draft(
        dict(
            type="scatter", x=dates,
            y=values,
            mode="lines+markers",
            line={"color": colour or PALETTE["primary"], "width": 2},
            marker={"size": 3},
            hovertemplate=f"7 days ending %{{x|%d %b %Y}}: %{{y:{value_format}}}<extra></extra>",
        )
    )
    fig.update_layout(
        height=60, margin={"l": 0, "r": 0, "t": 0, "b": 0}, showlegend=False
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return declare_periods(fig, "week", anchor="end").figure()


def weekly_trend(weeks: pd.DataFrame) -> go.Figure:
    """Revenue per week (bars, left axis) with active customers (line, right axis); weeks are the 7 days
    ending on each date, counted back from the as-of date, so every week is complete."""
    weeks = weeks.sort_values("week_end")
    money_format = formatting.d3_format("money", weeks["revenue"])
    fig = Draft()
    fig.add_bar(
        x=weeks["week_end"], y=weeks["revenue"], name="Revenue", marker_color=PALETTE["primary"], opacity=0.85,
        hovertemplate=f"7 days ending %{{x|%d %b %Y}}<br>revenue %{{y:{money_format}}}<extra></extra>",
    )
    fig.add_scatter(
        x=weeks["week_end"], y=weeks["active_customers"], name="Active customers", yaxis="y2", mode="lines+markers",
        line={"color": PALETTE["secondary"], "width": 2},
        hovertemplate="7 days ending %{x|%d %b %Y}<br>%{y:,} active customers<extra></extra>",
    )
    style(fig, "Weekly revenue and active customers", "Week ending", "Revenue ($)")
    dual_axes(fig, weeks["revenue"].max(), weeks["active_customers"].max(),
              {"tickprefix": CURRENCY, "tickformat": ",.0f"},
              {"title": {"text": "Active customers"}, "tickformat": ",.0f"}, integer_right=True)
    fig.update_xaxes(tickformat="%-d %b<br>%Y")
    return declare_periods(fig, "week", anchor="end").figure()


def period_trend(periods: pd.DataFrame, grain: str) -> go.Figure:
    """The Overview's trend: revenue per period (bars) and active customers (line, right axis), following the
    sidebar's Trend range and Period; the period still in progress is marked."""
    rows = periods.sort_values("period_start")
    money_format = formatting.d3_format("money", rows["revenue"])
    when = PERIOD_HOVER[grain]
    fig = Draft()
    period_bars(fig, rows, "period_start", "revenue", "Revenue", PALETTE["primary"],
                f"{when}<br>revenue %{{y:{money_format}}} from %{{customdata[0]:,}} orders<extra></extra>", grain,
                custom_columns=["orders"])
    period_line(fig, rows, "period_start", "active_customers", "Active customers", PALETTE["secondary"],
                f"{when}<br>%{{y:,}} active customers<extra></extra>", grain, yaxis="y2")
    if rows["is_partial_period"].any():
        _legend_note(fig, grain, 0, "bar")
    style(fig, f"Revenue and active customers per {grain}", None, "Revenue ($)")
    dual_axes(fig, rows["revenue"].max(), rows["active_customers"].max(),
              {"tickprefix": CURRENCY, "tickformat": ",.0f"},
              {"title": {"text": "Active customers"}, "tickformat": ",.0f"}, integer_right=True)
    time_axis(fig, grain, rows["period_start"])
    return declare_periods(fig, grain).figure()


def activity_trend(periods: pd.DataFrame, grain: str) -> go.Figure:
    """New and returning customers per period (stacked bars) with the returning-customer rate."""
    rows = periods.sort_values("period_start")
    when = PERIOD_HOVER[grain]
    fig = Draft()
    period_bars(fig, rows, "period_start", "new_customers", "New customers", PALETTE["secondary"],
                f"{when}<br>%{{y:,}} new customers<extra></extra>", grain)
    period_bars(fig, rows, "period_start", "returning_customers", "Returning customers", PALETTE["primary"],
                f"{when}<br>%{{y:,}} returning customers<extra></extra>", grain)
    period_line(fig, rows, "period_start", "returning_customer_rate", "Returning-customer rate", PALETTE["ink"],
                f"{when}<br>returning-customer rate %{{y:.1%}}<extra></extra>", grain, yaxis="y2")
    if rows["is_partial_period"].any():
        _legend_note(fig, grain, 0, "bar")
    style(fig, f"Active customers per {grain}: new and returning", None, "Customers")
    rate_top = rows["returning_customer_rate"].max()
    dual_axes(fig, rows["active_customers"].max(), max(_top(rate_top), 0.0) if pd.notna(rate_top) else 1.0,
              {"tickformat": ",.0f"}, {"title": {"text": "Returning-customer rate"}, "tickformat": ".0%"},
              integer_left=True)
    fig.update_layout(barmode="stack")
    time_axis(fig, grain, rows["period_start"])
    return declare_periods(fig, grain).figure()


def cohort_matrix(cohorts: pd.DataFrame, value_column: str) -> pd.DataFrame:
    """Cohorts (rows, newest last) x period numbers (columns) of value_column."""
    return cohorts.pivot(index="cohort_start", columns="period_number", values=value_column).sort_index()


def cohort_label(cohort_start, grain: str) -> str:
    """The cohort's id in URLs and pickers: ``2024-03`` for months, ``2024-Q1`` for quarters, ``2024-03-04`` for
    weeks (``period_label`` is how it reads: ``Mar 2024``)."""
    stamp = pd.Timestamp(cohort_start)
    if grain == "month":
        return stamp.strftime("%Y-%m")
    if grain == "quarter":
        return f"{stamp.year}-Q{stamp.quarter}"
    return stamp.strftime("%Y-%m-%d")


def cohort_heatmap(cohorts: pd.DataFrame, grain: str, value_column: str = "retention_rate",
                   measure_label: str = "Customer retention") -> go.Figure:
    """Retention heatmap: % in cells, colour scaled to periods >= 1, unfinished cells marked with * (and
    "in progress" in their hover), small cohorts dimmed, and invisible markers on cell centres so a click
    selects a cell."""
    values = cohort_matrix(cohorts, value_column)
    partial = cohort_matrix(cohorts, "is_partial_period").fillna(False).astype(bool)
    sizes = cohorts.groupby("cohort_start")["cohort_size"].first().reindex(values.index)
    small = cohorts.groupby("cohort_start")["is_small_cohort"].first().reindex(values.index).fillna(False)
    y_labels = [f"{period_label(value, grain)} (n={size:,})" for value, size in zip(values.index, sizes)]
    periods = list(values.columns)
    later = values.loc[:, [period for period in periods if period >= 1]]
    top = float(later.max().max()) if later.size and not later.isna().all().all() else 1.0
    top = top if top > 0 and not math.isnan(top) else 1.0
    # The cells' texts from plain arrays: a .at lookup per cell cost about 5 ms a chart.
    text = [["" if pd.isna(value) else f"{100 * value:.0f}%" + ("*" if flag else "")
             for value, flag in zip(value_row, flag_row)]
            for value_row, flag_row in zip(values.to_numpy(dtype=object), partial.to_numpy(dtype=bool))]
    fig = Draft(
        dict(
            type="heatmap", z=values.values, x=periods, y=y_labels, text=text, texttemplate="%{text}",
            textfont={"size": 10 if len(periods) <= 18 else 8}, zmin=0, zmax=top, colorscale=BLUES,
            colorbar={"title": {"text": "Share"}, "tickformat": ".0%"},
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
    notes = [f" ({grain} {IN_PROGRESS}: not final)" if flag else "" for flag in cells["is_partial_period"].astype(bool)]
    fig.add_scatter(
        x=cells["period_number"],
        y=[f"{period_label(c, grain)} (n={n:,})" for c, n in zip(cells["cohort_start"], cells["cohort_size"])],
        mode="markers", marker={"size": 18, "opacity": 0.01, "symbol": "square", "color": "black"},
        customdata=list(zip([pd.Timestamp(c).date().isoformat() for c in cells["cohort_start"]], cells["period_number"],
                            cells[value_column], notes)),
        hovertemplate=f"cohort %{{y}}<br>{grain} %{{x}} after first order%{{customdata[3]}}<br>{measure_label} "
                      "%{customdata[2]:.1%}<br><i>click to list these customers</i><extra></extra>",
        showlegend=False, name="cells",
    )
    style(fig, f"{measure_label} by {grain} cohort (* = {grain} still in progress)",
          f"{grain.capitalize()}s since first order", "Cohort (first order) and size",
          height=max(380, 26 * len(values.index) + 140))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(dtick=1 if len(periods) <= 40 else 4, side="top",
                     range=[min(periods) - 0.5, max(periods) + 0.5] if periods else None)
    fig.update_layout(margin={"t": 110})
    fig.update_layout(clickmode="event+select", dragmode=False)
    return fig.figure()


def retention_curves(cohorts: pd.DataFrame, grain: str, chosen: list, value_column: str = "retention_rate",
                     measure_label: str = "Customer retention") -> go.Figure:
    """The size-weighted average retention curve (complete periods only) plus chosen cohorts, each with its
    period still in progress dashed (it would read as a collapse otherwise)."""
    complete = cohorts.loc[~cohorts["is_partial_period"].astype(bool), ["period_number", "cohort_size", value_column]]
    complete["weighted"] = complete[value_column] * complete["cohort_size"]
    # Plain column sums, not named aggregation: the same sums (pandas' compensated float sum) in a third of the time.
    average = complete.groupby("period_number")[["weighted", "cohort_size"]].sum()
    average = (average["weighted"] / average["cohort_size"]).reset_index(name="value")
    fig = Draft()
    fig.add_scatter(x=average["period_number"], y=average["value"], name="All cohorts (weighted)",
                    mode="lines", line={"color": PALETTE["ink"], "width": 3},
                    hovertemplate=f"{grain} %{{x}}: %{{y:.1%}}<extra>all cohorts</extra>")
    colours = ["#2563eb", "#f59e0b", "#16a34a", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#65a30d"]
    any_partial = False
    for index, cohort in enumerate(chosen):
        rows = cohorts[cohorts["cohort_start"] == pd.Timestamp(cohort)].sort_values("period_number")
        name = period_label(cohort, grain)
        any_partial |= bool(rows["is_partial_period"].astype(bool).any())
        period_line(fig, rows, "period_number", value_column, name, colours[index % len(colours)],
                    f"{grain} %{{x}}: %{{y:.1%}}<extra>{name}</extra>", grain)
    if any_partial:
        _legend_note(fig, grain, 0, "scatter")
    style(fig, f"{measure_label} curves", f"{grain.capitalize()}s since first order", measure_label)
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    fig.update_xaxes(dtick=1 if cohorts["period_number"].max() <= 24 else None)
    return fig.figure()


def period_k_across_cohorts(cohorts: pd.DataFrame, grain: str, period_number: int,
                            value_column: str = "retention_rate", measure_label: str = "Customer retention") -> go.Figure:
    """Retention in period k for each cohort that has completed period k: is it improving?"""
    rows = cohorts[(cohorts["period_number"] == period_number) & ~cohorts["is_partial_period"].astype(bool)]
    rows = rows.sort_values("cohort_start")
    fig = Draft(
        dict(
            type="bar", x=[period_label(c, grain) for c in rows["cohort_start"]], y=rows[value_column],
            marker_color=[PALETTE["muted"] if small else PALETTE["primary"] for small in rows["is_small_cohort"]],
            customdata=rows["cohort_size"],
            hovertemplate="cohort %{x} (n=%{customdata:,})<br>%{y:.1%}<extra></extra>",
        )
    )
    style(fig, f"{measure_label} in {grain} {period_number} by cohort (grey = small cohort)",
          f"Cohort ({grain} of first order)", measure_label)
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    fig.update_xaxes(type="category")
    return fig.figure()


def rate_bars(frame: pd.DataFrame, category: str, rate: str, count: str, title: str, x_title: str,
              y_title: str, low: str | None = None, high: str | None = None, colour: str | None = None,
              field: str | None = None, unit: str = "customers") -> go.Figure:
    """Bars of a rate per group (labelled values), the group size in hover, optional CI whiskers, and room above
    the tallest bar for its label."""
    error = None
    if low and high:
        error = {"type": "data", "symmetric": False, "array": frame[high] - frame[rate],
                 "arrayminus": frame[rate] - frame[low], "color": PALETTE["ink"], "thickness": 1.2}
    fig = Draft(
        dict(
            type="bar", x=formatting.labels(frame[category], field or category), y=frame[rate], error_y=error,
            marker_color=colour or PALETTE["primary"], customdata=frame[count],
            text=[formatting.rate(value) for value in frame[rate]], textposition="outside", cliponaxis=False,
            hovertemplate=f"%{{x}}<br>%{{y:.1%}} of %{{customdata:,}} {unit}<extra></extra>",
        )
    )
    style(fig, title, x_title, y_title)
    fig.update_yaxes(tickformat=".0%")
    bar_headroom(fig, (frame[high] if high else frame[rate]).max())
    fig.update_xaxes(type="category")
    return fig.figure()


def time_to_second_order(days: pd.DataFrame, milestones: pd.DataFrame, bin_days: int = 7) -> go.Figure:
    """Histogram of days from first to second order (weekly bins, first year) with the cumulative share
    of eligible customers who had ordered again by day 30/60/90/180/365 on the right axis."""
    rows = days[days["days_to_second_order"] <= 365].copy()
    rows["bin_start"] = (rows["days_to_second_order"] // bin_days) * bin_days
    bins = rows.groupby("bin_start", as_index=False)["customers"].sum()
    fig = Draft()
    fig.add_bar(x=bins["bin_start"] + bin_days / 2, y=bins["customers"], width=bin_days * 0.9,
                name="Customers", marker_color=PALETTE["primary"],
                customdata=list(zip(bins["bin_start"], bins["bin_start"] + bin_days - 1)),
                hovertemplate="days %{customdata[0]:.0f}–%{customdata[1]:.0f}: %{y:,} customers placed their "
                              "2nd order<extra></extra>")
    fig.add_scatter(x=milestones["milestone_days"], y=milestones["reached_rate"], name="Ordered again by day N",
                    yaxis="y2", mode="lines+markers+text", line={"color": PALETTE["secondary"], "width": 2},
                    text=[formatting.rate(value) for value in milestones["reached_rate"]], textposition="top left",
                    customdata=milestones["eligible_customers"], cliponaxis=False,
                    hovertemplate="by day %{x}: %{y:.1%} of %{customdata:,} customers whose first order is at least "
                                  "that old<extra></extra>")
    style(fig, "Time to second order", "Days from first to second order", "Customers (per 7-day bin)")
    rate_top = milestones["reached_rate"].max() if len(milestones) else 1.0
    dual_axes(fig, bins["customers"].max() if len(bins) else 1, (rate_top if pd.notna(rate_top) else 1.0) * 1.12,
              {"tickformat": ",.0f"}, {"title": {"text": "Cumulative share ordered again"}, "tickformat": ".0%"},
              integer_left=True)
    fig.update_xaxes(range=[0, 370], dtick=30)
    return fig.figure()


def second_order_rate_by_cohort(cohorts: pd.DataFrame, grain: str) -> go.Figure:
    """The 90-day second-order rate of each first-order cohort (only cohorts with eligible customers); a cohort
    whose customers have not all had 90 days yet is drawn dashed and says so in its hover."""
    rows = cohorts[cohorts["eligible_customers"] > 0].sort_values("cohort_start")
    fig = Draft()
    period_line(fig, rows, "cohort_start", "second_order_rate_90d", "Second order within 90 days", PALETTE["primary"],
                f"first order in {PERIOD_HOVER[grain].replace('%{x', '%{x')}<br>%{{y:.1%}} ordered again within 90 days"
                " (of %{customdata[0]:,} customers with 90 days behind them, %{customdata[1]:,} in the cohort)"
                "<extra></extra>", grain, window_days=90, custom_columns=["eligible_customers", "cohort_size"])
    if rows.get("is_partial_period", pd.Series(dtype=bool)).astype(bool).any():
        _legend_note(fig, grain, 90, "scatter")
    style(fig, f"Second order within 90 days, by {grain} of first order", None, "Second order within 90 days")
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    time_axis(fig, grain, rows["cohort_start"])
    return declare_periods(fig, grain, window_days=90).figure()


def orders_per_customer(buckets: pd.DataFrame) -> go.Figure:
    """How many valid orders customers have placed so far (bars, share of customers as labels and on hover)."""
    rows = buckets.sort_values("bucket_order")
    money_format = formatting.d3_format("money", rows["revenue"])
    fig = Draft(
        dict(
            type="bar", x=rows["order_count_bucket"].astype(str), y=rows["customers"], marker_color=PALETTE["primary"],
            customdata=list(zip(rows["customer_share"], rows["revenue"])),
            text=[formatting.rate(value) for value in rows["customer_share"]], textposition="outside",
            cliponaxis=False,
            hovertemplate=f"%{{x}} orders: %{{y:,}} customers (%{{customdata[0]:.1%}}), revenue "
                          f"%{{customdata[1]:{money_format}}}<extra></extra>",
        )
    )
    style(fig, "Orders per customer", "Valid orders placed so far", "Customers")
    fig.update_xaxes(type="category")
    fig.update_yaxes(tickformat=",")
    bar_headroom(fig, rows["customers"].max())
    return fig.figure()


def nps_trend(periods: pd.DataFrame, grain: str) -> go.Figure:
    """Promoters / passives / detractors as stacked shares per period, with the NPS line (right axis)."""
    rows = periods.sort_values("period_start")
    when = PERIOD_HOVER[grain]
    fig = Draft()
    for group, column in (("detractor", "detractor_share"), ("passive", "passive_share"), ("promoter", "promoter_share")):
        period_bars(fig, rows, "period_start", column, f"{group.capitalize()}s", NPS_COLOURS[group],
                    f"{when}<br>{group}s %{{y:.1%}} of %{{customdata[0]:,}} responses<extra></extra>", grain,
                    custom_columns=["responses"])
    period_line(fig, rows, "period_start", "nps", "NPS", PALETTE["ink"], f"{when}<br>NPS %{{y:.1f}}<extra></extra>",
                grain, yaxis="y2", width=2.5)
    if rows["is_partial_period"].any():
        _legend_note(fig, grain, 0, "bar")
    style(fig, f"NPS per {grain}: promoters, passives, detractors", None, "Share of NPS responses")
    fig.update_layout(
        barmode="stack",
        yaxis={"tickformat": ".0%", "range": [0, 1], "dtick": 0.25, "tick0": 0},
        yaxis2={"title": {"text": "NPS (-100 to 100)"}, "overlaying": "y", "side": "right", "range": [-100, 100],
                "dtick": 50, "tick0": -100, "showgrid": False, "zeroline": False},
    )
    time_axis(fig, grain, rows["period_start"])
    return declare_periods(fig, grain).figure()


def csat_trend(periods: pd.DataFrame, grain: str) -> go.Figure:
    """CSAT (share of 4-5 scores) per period with the number of responses on hover."""
    rows = periods.sort_values("period_start")
    fig = Draft()
    period_line(fig, rows, "period_start", "csat", "CSAT", PALETTE["primary"],
                f"{PERIOD_HOVER[grain]}<br>CSAT %{{y:.1%}} of %{{customdata[0]:,}} responses "
                "(mean score %{customdata[1]:.1f} / 5)<extra></extra>", grain,
                custom_columns=["responses", "mean_score"])
    if rows["is_partial_period"].any():
        _legend_note(fig, grain, 0, "scatter")
    style(fig, f"CSAT per {grain} (share of responses scoring 4-5)", None, "CSAT")
    fig.update_yaxes(tickformat=".0%", range=[0, 1], dtick=0.25)
    time_axis(fig, grain, rows["period_start"])
    return declare_periods(fig, grain).figure()


def _side_by_side_layout() -> dict:
    """The layout ``make_subplots`` gives two charts side by side titled NPS and CSAT (axes, domains, titles),
    made once: ``make_subplots`` validates a whole figure each time."""
    global _SIDE_BY_SIDE
    if _SIDE_BY_SIDE is None:
        from plotly.subplots import make_subplots

        layout = make_subplots(rows=1, cols=2, subplot_titles=("NPS", "CSAT (share 4-5)"),
                               horizontal_spacing=0.12).to_dict()["layout"]
        layout.pop("template", None)
        _SIDE_BY_SIDE = layout
    return copy.deepcopy(_SIDE_BY_SIDE)


_SIDE_BY_SIDE = None


def satisfaction_by_dimension(rows: pd.DataFrame, dimension_label: str, field: str | None = None) -> go.Figure:
    """NPS (left) and CSAT (right) per value of a dimension (labelled), response counts on hover."""
    rows = rows.assign(shown=formatting.labels(rows["dimension_value"], field)).sort_values("shown")
    fig = Draft()
    fig.update_layout(_side_by_side_layout())
    fig.add_bar(x=rows["shown"], y=rows["nps"], xaxis="x", yaxis="y", name="NPS", marker_color=PALETTE["primary"],
                customdata=rows["nps_responses"], text=[formatting.score(v) for v in rows["nps"]],
                textposition="outside", cliponaxis=False,
                hovertemplate="%{x}<br>NPS %{y:.1f} from %{customdata:,} responses<extra></extra>")
    fig.add_bar(x=rows["shown"], y=rows["csat"], xaxis="x2", yaxis="y2", name="CSAT", marker_color=PALETTE["secondary"],
                customdata=rows["csat_responses"], text=[formatting.rate(v) for v in rows["csat"]],
                textposition="outside", cliponaxis=False,
                hovertemplate="%{x}<br>CSAT %{y:.1%} from %{customdata:,} responses<extra></extra>")
    style(fig, f"Satisfaction by {dimension_label.lower()}", None, None)
    fig.update_layout(showlegend=False,
                      yaxis={"title": {"text": "NPS (-100 to 100)"}, "range": [-100, 120], "dtick": 50},
                      yaxis2={"title": {"text": "CSAT"}, "tickformat": ".0%", "range": [0, 1.15], "dtick": 0.25})
    fig.update_xaxes(title_text=dimension_label, type="category")
    return fig.figure()


def response_rate(periods: pd.DataFrame, grain: str) -> go.Figure:
    """Survey responses per valid order per period; the period in progress is dashed (surveys come after the
    orders, so its rate is not comparable yet)."""
    rows = periods.sort_values("period_start")
    fig = Draft()
    period_line(fig, rows, "period_start", "responses_per_order", "Responses per order", PALETTE["primary"],
                f"{PERIOD_HOVER[grain]}<br>%{{y:.1%}}: %{{customdata[0]:,}} responses / %{{customdata[1]:,}} orders"
                "<extra></extra>", grain, custom_columns=["responses", "orders"])
    if rows.get("is_partial_period", pd.Series(dtype=bool)).astype(bool).any():
        _legend_note(fig, grain, 0, "scatter")
    style(fig, f"Survey response rate per {grain}", None, "Responses per order")
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    time_axis(fig, grain, rows["period_start"])
    return declare_periods(fig, grain).figure()


def care_groups(rows: pd.DataFrame, title: str, x_title: str) -> go.Figure:
    """90-day repurchase rate per care group with 95% intervals and the number of orders behind each bar (the
    unit is said: orders, and the customers who placed them, on hover)."""
    rows = rows.sort_values("group_order")
    colours = [PALETTE["muted"] if anchors < 30 else PALETTE["primary"] for anchors in rows["anchor_orders"]]
    error = {"type": "data", "symmetric": False, "array": (rows["ci_high"] - rows["repurchase_rate_90d"]).fillna(0),
             "arrayminus": (rows["repurchase_rate_90d"] - rows["ci_low"]).fillna(0), "color": PALETTE["ink"],
             "thickness": 1.2}
    labels = [f"{formatting.label(group, 'care_group')}<br>{formatting.plural(anchors, 'order')}"
              for group, anchors in zip(rows["care_group"], rows["anchor_orders"])]
    fig = Draft(
        dict(
            type="bar", x=labels, y=rows["repurchase_rate_90d"], error_y=error, marker_color=colours,
            customdata=list(zip(rows["anchor_orders"], rows["customers"], rows["ci_low"], rows["ci_high"])),
            text=[formatting.rate(value) for value in rows["repurchase_rate_90d"]], textposition="inside",
            insidetextanchor="start", textfont={"color": "white"},
            hovertemplate="%{x}<br>%{y:.1%} bought again within 90 days<br>95% interval %{customdata[2]:.1%} – "
                          "%{customdata[3]:.1%}<br>%{customdata[0]:,} orders from %{customdata[1]:,} customers"
                          "<extra></extra>",
        )
    )
    style(fig, title, x_title, "Bought again within 90 days", height=360)
    fig.update_yaxes(tickformat=".0%")
    bar_headroom(fig, rows["ci_high"].max() if rows["ci_high"].notna().any() else rows["repurchase_rate_90d"].max(),
                 share=0.08)
    fig.update_xaxes(type="category")
    return fig.figure()


def revenue_trend(periods: pd.DataFrame, grain: str) -> go.Figure:
    """Revenue per period (bars, orders on hover) with the average order value (line, right axis)."""
    rows = periods.sort_values("period_start")
    when = PERIOD_HOVER[grain]
    money_format = formatting.d3_format("money", rows["revenue"])
    fig = Draft()
    period_bars(fig, rows, "period_start", "revenue", "Revenue", PALETTE["primary"],
                f"{when}<br>revenue %{{y:{money_format}}} from %{{customdata[0]:,}} orders<extra></extra>", grain,
                custom_columns=["orders"])
    period_line(fig, rows, "period_start", "aov", "Average order value", PALETTE["secondary"],
                f"{when}<br>average order value %{{y:$,.2f}}<extra></extra>", grain, yaxis="y2")
    if rows["is_partial_period"].any():
        _legend_note(fig, grain, 0, "bar")
    style(fig, f"Revenue and average order value per {grain}", None, "Revenue ($)")
    dual_axes(fig, rows["revenue"].max(), rows["aov"].max(), {"tickprefix": CURRENCY, "tickformat": ",.0f"},
              {"title": {"text": "Average order value ($)"}, "tickprefix": CURRENCY, "tickformat": ",.0f"})
    time_axis(fig, grain, rows["period_start"])
    return declare_periods(fig, grain).figure()
