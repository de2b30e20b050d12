"""The figure modules draw on a Draft (plain dicts, no Plotly validation): the same figure as Plotly's own.

Every chart of figures.py drawn from real query results (real DuckDB on a small demo export, a mid-month as-of
date, each period grain), and every chart the churn, comparison and "why customers leave" pages draw (AppTest on
a demo export), is drawn twice: as the app draws it (Draft, handed to Plotly without validation) and by
replaying the very same calls on a ``go.Figure``, which validates every property and applies Plotly's update
rules. What Streamlit would send the browser (``fig.to_dict()`` as JSON) must be the same.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from streamlit.testing.v1 import AppTest

from dashboard import cache, churn_figures, compare_figures, demo, figures, reason_figures
from dashboard.model import Database
from dashboard.queries import run_query, used_parameters
from dashboard.settings import load_settings
from tests.exports import server_state

GRAINS = ("week", "month", "quarter")


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """query name -> grain -> rows, on a demo export as of the middle of a period."""
    root = tmp_path_factory.mktemp("figures-fast")
    demo.generate(root / "data", customers=700, seed=29)
    database = Database.open(load_settings(environ={}, data_dir=root / "data", state_dir=root / "state"))
    as_of = database.default_as_of() - timedelta(days=12)
    cursor = database.cursor(as_of)
    rows = {}
    for grain in GRAINS:
        filters = {"channels": None, "regions": None, "categories": None, "tiers": None, "grain": grain,
                   "start_date": as_of - timedelta(days=365), "end_date": as_of, "small_cohort_size": 30,
                   "weeks": 12}

        def run(name: str, **extra):
            used = used_parameters(name)
            return run_query(cursor, name, **{key: value for key, value in {**filters, **extra}.items() if key in used})

        for name in ("activity_trend", "cohort_retention", "second_order_rate_by_cohort", "nps_trend", "csat_trend",
                     "survey_response_rate", "time_to_second_order", "second_order_milestones",
                     "orders_per_customer", "weekly_kpis", "care_repeat_rates"):
            rows.setdefault(name, {})[grain] = run(name)
        by_touchpoint = run("satisfaction_by_dimension", dimension="touchpoint")
        rows.setdefault("satisfaction_by_dimension", {})[grain] = by_touchpoint
        rows.setdefault("repeat_rate_by_segment", {})[grain] = run("repeat_rate_by_segment", dimension="region")
    return rows


def charts(rows: dict, grain: str) -> list[tuple[str, tuple, dict]]:
    """(figure function, args, kwargs) for every chart figures.py draws on a Draft."""
    trend, cohorts = rows["activity_trend"][grain], rows["cohort_retention"][grain]
    # The latest 20 cohorts: the drawing code is the same for 20 as for all ~150 weekly ones, and validating a
    # go.Figure's every cell (the replay) costs seconds per heatmap of that size.
    cohorts = cohorts[cohorts["cohort_start"].isin(sorted(cohorts["cohort_start"].unique())[-20:])]
    starts = sorted(cohorts["cohort_start"].unique())
    weeks = rows["weekly_kpis"][grain]
    care = rows["care_repeat_rates"][grain]
    found = [
        ("period_trend", (trend, grain), {}), ("activity_trend", (trend, grain), {}),
        ("revenue_trend", (trend, grain), {}),
        ("cohort_heatmap", (cohorts, grain), {}),
        ("cohort_heatmap", (cohorts, grain, "revenue_retention_rate", "Revenue retention"), {}),
        ("retention_curves", (cohorts, grain, [pd.Timestamp(start).date() for start in starts[-3:]]), {}),
        ("period_k_across_cohorts", (cohorts, grain, 1), {}),
        ("second_order_rate_by_cohort", (rows["second_order_rate_by_cohort"][grain], grain), {}),
        ("nps_trend", (rows["nps_trend"][grain], grain), {}), ("csat_trend", (rows["csat_trend"][grain], grain), {}),
        ("response_rate", (rows["survey_response_rate"][grain], grain), {}),
        ("rate_bars", (rows["repeat_rate_by_segment"][grain], "segment_value", "repeat_rate", "customers",
                       "Repeat rate by region", "Region", "Repeat rate (2+ orders)"), {"field": "region"}),
        ("time_to_second_order", (rows["time_to_second_order"][grain], rows["second_order_milestones"][grain]), {}),
        ("orders_per_customer", (rows["orders_per_customer"][grain],), {}),
        ("weekly_trend", (weeks,), {}),
        ("sparkline", (weeks["revenue"], weeks["week_end"], "$,.0f"), {}),
        ("satisfaction_by_dimension", (rows["satisfaction_by_dimension"][grain], "Touchpoint"),
         {"field": "touchpoint"}),
    ]
    found += [("care_groups", (care[care["care_dimension"] == dimension], "Care", "Group"), {})
              for dimension in care["care_dimension"].unique()]
    return found


DRAFT = figures.Draft


class Recorder(DRAFT):
    """A Draft that records the calls a figure function makes on it (the outermost ones)."""

    drafts: list = []

    def __init__(self, *traces: dict):
        self.calls, self.depth = None, 0
        super().__init__(*traces)
        self.calls = [("__init__", traces, {})]

    def figure(self) -> go.Figure:
        Recorder.drafts.append(self)
        return super().figure()


def _recorded(name: str):
    def method(self, *args, **kwargs):
        if self.calls is not None and not self.depth:
            self.calls.append((name, args, kwargs))
        self.depth += 1
        try:
            return getattr(DRAFT, name)(self, *args, **kwargs)
        finally:
            self.depth -= 1
    return method


for _name in ("add_trace", "add_bar", "add_scatter", "add_shape", "add_annotation", "update_layout", "update_xaxes",
              "update_yaxes"):
    setattr(Recorder, _name, _recorded(_name))


def replayed(draft: Recorder) -> go.Figure:
    """The draft's calls made on a validated go.Figure."""
    (_, traces, _), *calls = draft.calls
    fig = go.Figure(data=list(traces))
    for name, args, kwargs in calls:
        getattr(fig, name)(*args, **kwargs)
    return fig


def sent(fig: go.Figure) -> dict:
    """What st.plotly_chart sends the browser."""
    return json.loads(pio.to_json(fig.to_dict(), validate=False))


@pytest.mark.parametrize("grain", GRAINS)
def test_a_draft_sends_what_plotly_would_after_validating_every_property(results, grain, monkeypatch):
    monkeypatch.setattr(figures, "Draft", Recorder)
    drawn = charts(results, grain)
    assert len(drawn) >= 17
    for name, args, kwargs in drawn:
        Recorder.drafts.clear()
        fig = getattr(figures, name)(*args, **kwargs)
        assert len(Recorder.drafts) == 1, f"{name} is drawn on one Draft"
        assert sent(fig) == sent(replayed(Recorder.drafts[0])), f"{name} ({grain}) differs from Plotly's drawing"
        assert sent(fig)["data"], f"{name} draws something"
        cached = json.loads(pio.to_json(cache._sent_dict(fig), validate=False))
        assert cached == sent(fig), f"{name} ({grain}): the cache's one-pass copy sends what to_dict() sends"


def test_the_cache_sends_a_figure_made_on_go_figure_as_to_dict_does(results):
    """A figure drawn with Plotly's own methods (subplots, a vertical line) goes through the cache's one-pass copy
    too: the same JSON as its to_dict()."""
    from plotly.subplots import make_subplots

    rows = results["satisfaction_by_dimension"]["month"]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("NPS", "CSAT"))
    fig.add_bar(x=rows["dimension_value"], y=rows["nps"], row=1, col=1)
    fig.add_bar(x=rows["dimension_value"], y=rows["csat"], row=1, col=2)
    fig.add_vline(x=0.5, annotation_text="baseline")
    assert json.loads(pio.to_json(cache._sent_dict(fig), validate=False)) == sent(fig)


def test_figures_share_one_template_dict_and_plotly_methods_on_a_figure_leave_it_as_plotly_made_it(results):
    """A Draft's figure holds the default template as one dict shared by every figure (not a copy per figure:
    copying it was two thirds of a sparkline's CPU), so nothing may change it: Plotly's own methods on a built
    figure (what the ghost line does: ``ghosts.add_ghost``) change the figure, not the template."""
    rows = results["activity_trend"]["month"]
    spark = figures.sparkline(rows["active_customers"], rows["period_start"])
    trend = figures.activity_trend(rows, "month")
    assert spark._layout["template"] is trend._layout["template"] is figures.default_template()
    plotly_made = pio.templates[pio.templates.default].to_plotly_json()
    trend.add_scatter(x=rows["period_start"], y=rows["active_customers"], name="ghost", line={"dash": "dot"})
    trend.update_layout(title_text="changed", margin={"t": 5})
    trend.update_xaxes(range=[0, 1])
    copied = go.Figure(spark)
    copied.update_layout(height=99)
    assert figures.default_template() == plotly_made
    assert sent(spark)["layout"]["template"] == json.loads(json.dumps(plotly_made))
    assert sent(copied)["layout"]["height"] == 99 and sent(spark)["layout"]["height"] == 60


def test_without_a_default_template_a_draft_has_none_as_plotly_would(monkeypatch):
    monkeypatch.setattr(pio.templates, "default", None)
    draft = Recorder({"type": "bar", "x": [1], "y": [2]})
    draft.update_layout(height=99)
    assert "template" not in sent(draft.figure())["layout"]
    assert sent(draft.figure()) == sent(replayed(draft))


def test_plotly_validation_would_catch_a_wrong_property_name():
    """The comparison is not vacuous: a name Plotly does not know passes a Draft and fails the replay."""
    draft = Recorder({"type": "bar", "x": [1], "y": [2]})
    draft.update_layout(title_txt="typo")
    with pytest.raises(ValueError):
        replayed(draft)


def test_updates_follow_plotly_rules():
    draft = figures.Draft({"type": "scatter", "x": [1], "y": [2], "error_y": None})
    draft.update_layout(yaxis={"tickformat": ".0%", "range": [0, 1]}, margin={"t": 10})
    draft.update_yaxes(title_text="Rate")
    draft.update_layout(yaxis2={"overlaying": "y"}, margin={"b": 5})
    draft.update_yaxes(range=None, dtick=0.25)
    assert draft.data == [{"type": "scatter", "x": [1], "y": [2]}]
    assert draft.layout == {"yaxis": {"tickformat": ".0%", "title": {"text": "Rate"}, "dtick": 0.25},
                            "yaxis2": {"overlaying": "y", "dtick": 0.25}, "margin": {"t": 10, "b": 5}}


# The pages whose charts come from churn_figures, compare_figures and reason_figures, with the views that draw them
# (the Why page's bars per ticket category by default, then per category and how it ended).
PAGE_VIEWS = {"churn": ("churn", {}), "compare": ("compare", {}), "reasons": ("reasons", {}),
              "reasons-by-outcome": ("reasons", {"why_by": "Category and how it ended"}),  # the shown label
              "satisfaction": ("satisfaction", {"grain": "week"}), "cohorts": ("cohorts", {"grain": "quarter"})}


@pytest.mark.parametrize("view", list(PAGE_VIEWS))
def test_every_draft_a_page_draws_sends_what_plotly_would(view, monkeypatch, tmp_path_factory):
    page, params = PAGE_VIEWS[view]
    data_dir = tmp_path_factory.mktemp(f"figures-fast-{view}") / "exports"
    # Data no other test (nor another view here) draws: every figure is built, not served from the figure cache.
    demo.generate(data_dir, customers=900, seed=31 + list(PAGE_VIEWS).index(view))
    monkeypatch.setenv("DASHBOARD_DATA_DIR", str(data_dir))
    monkeypatch.setenv("DASHBOARD_STATE_DIR", str(server_state(data_dir)))
    monkeypatch.setenv("DASHBOARD_SETTINGS", str(data_dir.parent / "no-settings.toml"))
    for module in (figures, churn_figures, compare_figures, reason_figures):
        monkeypatch.setattr(module, "Draft", Recorder)
    Recorder.drafts.clear()
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "streamlit_app.py"), default_timeout=300)
    at.switch_page(f"dashboard/pages/{page}.py")
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    assert len(Recorder.drafts) >= 2, f"the {page} page draws its charts on Drafts"
    shown = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    for draft in Recorder.drafts:
        expected = sent(replayed(draft))
        assert expected in shown, f"a chart of the {page} page is not what Plotly draws from the same calls"
    if page == "reasons":  # every chart of the Why page is drawn on a Draft, its baseline line included
        assert len(Recorder.drafts) == len(shown) >= 4
        assert any(chart["layout"].get("annotations") for chart in shown), "the no-problem baseline is drawn"
