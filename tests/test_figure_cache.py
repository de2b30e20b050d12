"""dashboard/cache.py's figure cache: a figure is built once per content of its inputs.

A rerun whose filter change leaves a chart's data as it was serves the figure already built (the same JSON goes
to the browser) and builds no figure again; a change in a chart's data builds that chart again, and only that one.
The real app script (AppTest) on real DuckDB over a small demo export; the figure functions are the real ones,
wrapped to count their calls.
"""

from __future__ import annotations

import functools
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import cache, demo, figures
from tests.exports import server_state

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")
# The figure functions of the Repeat purchase page, and which of them draw a query that takes the trend dates.
REPEAT_FIGURES = ("activity_trend", "revenue_trend", "time_to_second_order", "orders_per_customer",
                  "second_order_rate_by_cohort", "rate_bars")
TREND_FIGURES = ("activity_trend", "revenue_trend")


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("figure-cache")
    demo.generate(root / "data", customers=600, seed=23)
    return root / "data"


@pytest.fixture
def builds(monkeypatch):
    """How many times each figure function of the Repeat purchase page ran (the real function runs each time)."""
    calls = Counter()
    for name in REPEAT_FIGURES:
        real = getattr(figures, name)

        @functools.wraps(real)
        def counting(*args, _real=real, _name=name, **kwargs):
            calls[_name] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(figures, name, counting)
    return calls


def repeat_page(monkeypatch, tmp_path, data_dir: Path) -> AppTest:
    monkeypatch.setenv("DASHBOARD_DATA_DIR", str(data_dir))
    monkeypatch.setenv("DASHBOARD_STATE_DIR", str(server_state(data_dir)))
    monkeypatch.setenv("DASHBOARD_SETTINGS", str(tmp_path / "no-settings.toml"))
    at = AppTest.from_file(APP, default_timeout=180)
    at.switch_page("dashboard/pages/repeat.py")
    return rerun(at)


def rerun(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


def specs(at: AppTest) -> dict[str, str]:
    """Each chart's key -> the figure JSON sent to the browser."""
    return {chart.key: chart.proto.spec for chart in at.get("plotly_chart")}


def test_a_rerun_with_the_same_inputs_builds_no_figure(monkeypatch, tmp_path, demo_dir, builds):
    at = repeat_page(monkeypatch, tmp_path, demo_dir)
    first = specs(at)
    assert len(first) == len(REPEAT_FIGURES), first.keys()
    builds.clear()
    rerun(at)
    assert sum(builds.values()) == 0, f"rebuilt with unchanged inputs: {dict(builds)}"
    assert specs(at) == first


def test_a_filter_change_rebuilds_the_charts_whose_data_changed_and_only_those(monkeypatch, tmp_path, demo_dir,
                                                                                  builds):
    at = repeat_page(monkeypatch, tmp_path, demo_dir)
    everyone = specs(at)
    as_of = at.date_input(key="as_of").value

    builds.clear()
    at.date_input(key="range").set_value((as_of - timedelta(days=180), as_of))
    shorter = specs(rerun(at))
    assert {name: builds[name] for name in REPEAT_FIGURES} == {name: int(name in TREND_FIGURES)
                                                               for name in REPEAT_FIGURES}
    for key in ("activity_trend", "revenue_trend"):
        assert shorter[key] != everyone[key], f"{key} must show the shorter range"
    for key in ("time_to_second", "orders_per_customer", "second_by_cohort", "segment_bars"):
        assert shorter[key] == everyone[key], f"{key} takes no trend dates: the figure already built is sent"

    builds.clear()
    at.multiselect(key="channel").set_value(["email"])
    email = specs(rerun(at))
    assert builds["orders_per_customer"] == 1 and builds["time_to_second_order"] == 1, dict(builds)
    assert email["orders_per_customer"] != shorter["orders_per_customer"], "email customers are fewer than all"

    builds.clear()
    at.multiselect(key="channel").set_value([])
    back = specs(rerun(at))
    assert sum(builds.values()) == 0, f"inputs seen before must be served, not rebuilt: {dict(builds)}"
    assert back == shorter


def frame(**changes) -> pd.DataFrame:
    rows = {"period_start": pd.to_datetime(["2026-01-01", "2026-02-01"]), "revenue": [10.0, 12.5],
            "is_partial_period": [False, True]}
    return pd.DataFrame({**rows, **changes})


def test_the_key_follows_the_content_of_every_argument():
    key = cache._content_key(figures.revenue_trend, (frame(), "month"), {})
    assert key == cache._content_key(figures.revenue_trend, (frame(), "month"), {}), "equal content, equal key"
    different = [
        (figures.activity_trend, (frame(), "month"), {}),
        (figures.revenue_trend, (frame(revenue=[10.0, 12.6]), "month"), {}),
        (figures.revenue_trend, (frame(revenue=[10, 12]), "month"), {}),
        (figures.revenue_trend, (frame(revenue=[10.0, 12.5]).rename(columns={"revenue": "aov"}), "month"), {}),
        (figures.revenue_trend, (frame(period_start=["2026-01-01", "2026-02-01"]), "month"), {}),
        (figures.revenue_trend, (frame().iloc[::-1], "month"), {}),
        (figures.revenue_trend, (frame(), "week"), {}),
        (figures.revenue_trend, (frame(),), {"grain": "month"}),
    ]
    keys = [cache._content_key(build, args, kwargs) for build, args, kwargs in different]
    assert None not in keys
    assert len(set(keys) | {key}) == len(keys) + 1, "every change of content gives another key"
    dates = pd.DataFrame({"value": [date(2026, 1, 1)]})
    texts = pd.DataFrame({"value": ["2026-01-01"]}).astype(object)
    assert cache._content_key(figures.sparkline, (dates,), {}) != cache._content_key(figures.sparkline, (texts,), {})


def test_what_the_key_cannot_read_is_built_every_time():
    assert cache._content_key(lambda rows: rows, (frame(),), {}) is None
    assert cache._content_key(figures.rate_bars, (frame(), lambda value: value), {}) is None
    built = []

    def draw(rows):
        built.append(rows)
        return len(rows)

    assert cache.figure(draw, frame()) == 2 and cache.figure(draw, frame()) == 2
    assert len(built) == 2, "a local function has no name to key on: built on every call"


def test_a_figure_from_the_cache_sends_what_the_figure_itself_sends():
    """chart() hands st.plotly_chart the dict made when the figure was built (cache.sendable): Streamlit's own
    steps (plotly.tools.return_figure_from_figure_or_data, then plotly.io.to_json) give the same JSON as for the
    figure drawn afresh, and the shared dict is not changed by sending it."""
    import plotly.io as pio
    import plotly.tools

    rows = frame(orders=[3, 4], aov=[3.3, 3.1])

    def streamlit_json(fig) -> str:
        return pio.to_json(plotly.tools.return_figure_from_figure_or_data(fig, validate_figure=True), validate=False)

    cached = cache.figure(figures.revenue_trend, rows, "month")
    assert type(cache.sendable(cached)) is not type(cached), "a cached figure goes as its dict"
    fresh = streamlit_json(figures.revenue_trend(rows, "month"))
    assert streamlit_json(cache.sendable(cached)) == fresh
    assert streamlit_json(cache.sendable(cache.figure(figures.revenue_trend, rows, "month"))) == fresh
    uncached = figures.revenue_trend(rows, "month")
    assert cache.sendable(uncached) is uncached, "a figure not from the cache goes as it is"


def test_frames_key_by_content_not_by_identity():
    """A copy, a filtered frame with the same rows and a renumbered one key alike when their content is equal
    (cached query results are copies on every rerun); a time zone or a category order is content."""
    rows = frame(region=["north", "south"], at=pd.to_datetime(["2026-01-01", "2026-01-02"]).tz_localize("UTC"))
    key = cache._content_key(figures.revenue_trend, (rows, "month"), {})
    assert key == cache._content_key(figures.revenue_trend, (rows.copy(), "month"), {})
    assert key == cache._content_key(figures.revenue_trend, (rows[rows["revenue"] > 0], "month"), {})
    renumbered = rows.set_index(pd.Index([5, 6])).reset_index(drop=True)
    assert key == cache._content_key(figures.revenue_trend, (renumbered, "month"), {})
    other_zone = rows.assign(at=rows["at"].dt.tz_convert("Europe/Paris"))
    assert key != cache._content_key(figures.revenue_trend, (other_zone, "month"), {})
    ordered = rows.assign(region=pd.Categorical(rows["region"], categories=["south", "north"]))
    alphabetical = rows.assign(region=pd.Categorical(rows["region"], categories=["north", "south"]))
    assert cache._content_key(figures.revenue_trend, (ordered, "month"), {}) != cache._content_key(
        figures.revenue_trend, (alphabetical, "month"), {})


COMPUTED = []


def sentences_of(rows: pd.DataFrame, is_segmented: bool = False) -> list[str]:
    """A pure function of query results, as insights.movement_sentences is."""
    COMPUTED.append(len(rows))
    return [f"{len(rows)} rows{' (segment)' if is_segmented else ''}"]


def test_derived_values_are_computed_once_per_content():
    COMPUTED.clear()
    rows = frame(revenue=[1.0, 99.5])
    first = cache.derived(sentences_of, rows, is_segmented=True)
    assert cache.derived(sentences_of, rows.copy(), is_segmented=True) == first == ["2 rows (segment)"]
    assert COMPUTED == [2], "the same rows again: served, not computed"
    assert cache.derived(sentences_of, rows, is_segmented=False) == ["2 rows"]
    assert cache.derived(sentences_of, rows.iloc[:1], is_segmented=True) == ["1 rows (segment)"]
    assert COMPUTED == [2, 2, 1]
    tables = ["orders", "surveys", "tickets", "returns", "customers", "campaigns"]
    assert cache._content_key(sentences_of, (rows, frozenset(tables)), {}) == cache._content_key(
        sentences_of, (rows, frozenset(reversed(tables))), {}), "a set keys by its members, not their order"


def test_the_one_pass_copy_sends_every_kind_of_value_as_to_dict_does():
    """cache._sent_dict skips Plotly's array check for plain values by their exact type: numpy scalars, a 0-d
    array, booleans, None, a str subclass, integer and float arrays of every width, dates, a time-zone aware
    column, and arrays inside nested dicts and a list of dicts still go to the browser as ``to_dict()`` sends
    them."""
    import json
    from enum import Enum

    import numpy as np
    import plotly.graph_objects as go
    import plotly.io as pio

    class Label(str, Enum):
        A = "a"

    when = pd.Series(pd.date_range("2026-01-01", periods=3, freq="D", tz="Europe/Berlin"))
    data = [
        {"type": "scatter", "x": when, "y": np.array([1, 2, 300], dtype=np.int64),
         "customdata": np.array([[1.5, 2], [3, 4], [5, 6]]), "text": [Label.A, "b", None],
         "marker": {"size": np.int64(7), "opacity": np.float64(0.5), "color": np.array(["#111", "#222", "#333"])},
         "showlegend": np.bool_(False), "visible": True, "hovertext": np.array("one")},
        {"type": "bar", "x": ["a", "b"], "y": pd.Series([2**40, -3], dtype="int64"),
         "width": np.array([0.5, 0.25], dtype=np.float32), "error_y": {"array": [0.1, 0.2], "visible": True},
         "marker": {"color": np.array([0.25, 0.75]), "line": {"width": np.array([1, 2], dtype=np.int16)}}},
        {"type": "parcoords", "dimensions": [{"label": "a", "values": np.array([1.5, 2.5])},
                                             {"label": "b", "values": pd.Series([3, 4])}]},
    ]
    layout = {"xaxis": {"range": [np.datetime64("2026-01-01"), np.datetime64("2026-01-03")]},
              "yaxis": {"tickvals": np.array([0, 150, 300], dtype=np.uint64)}, "height": np.int32(300)}
    fig = go.Figure(data=data, layout=layout, _validate=False)  # as a Draft makes it
    assert json.loads(pio.to_json(cache._sent_dict(fig), validate=False)) == json.loads(
        pio.to_json(fig.to_dict(), validate=False))
