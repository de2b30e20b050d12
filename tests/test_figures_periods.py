"""Every chart with a time axis marks the period still in progress the same way (and the hygiene check sees it),
dual-axis charts have round ticks on both axes that share grid lines, and labels have room."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from dashboard import figures, formatting, hygiene

AS_OF = date(2026, 11, 15)  # the middle of a month: November is in progress
MONTHS = pd.date_range("2026-06-01", "2026-11-01", freq="MS")


def monthly(**columns) -> pd.DataFrame:
    frame = pd.DataFrame({"period_start": MONTHS, **columns})
    frame["is_partial_period"] = frame["period_start"] == pd.Timestamp("2026-11-01")
    return frame


def activity_rows() -> pd.DataFrame:
    new = [120, 130, 110, 140, 150, 20]
    returning = [300, 310, 320, 330, 340, 45]
    return monthly(new_customers=new, returning_customers=returning,
                   active_customers=[a + b for a, b in zip(new, returning)],
                   returning_customer_rate=[b / (a + b) for a, b in zip(new, returning)],
                   orders=[500, 510, 520, 530, 540, 70], revenue=[25_000.0, 26_100, 24_800, 27_300, 28_000, 3_100],
                   aov=[50.0, 51.2, 47.7, 51.5, 51.9, 44.3])


def nps_rows() -> pd.DataFrame:
    return monthly(responses=[100] * 6, detractor_share=[0.2] * 6, passive_share=[0.3] * 6, promoter_share=[0.5] * 6,
                   nps=[30.0] * 6)


FIGURES = {
    "period_trend": lambda: figures.period_trend(activity_rows(), "month"),
    "activity_trend": lambda: figures.activity_trend(activity_rows(), "month"),
    "revenue_trend": lambda: figures.revenue_trend(activity_rows(), "month"),
    "nps_trend": lambda: figures.nps_trend(nps_rows(), "month"),
    "csat_trend": lambda: figures.csat_trend(monthly(responses=[50] * 6, csat=[0.8] * 6, mean_score=[4.1] * 6), "month"),
    "response_rate": lambda: figures.response_rate(
        monthly(responses=[50] * 6, orders=[500] * 6, responses_per_order=[0.1] * 5 + [0.3]), "month"),
}


def point_traces(fig, x_value) -> list:
    """The traces that draw a point at x_value."""
    stamp = pd.Timestamp(x_value)
    return [trace for trace in fig.data if trace.x is not None and any(
        pd.Timestamp(x) == stamp for x in trace.x if x is not None)]


@pytest.mark.parametrize("name", list(FIGURES))
def test_the_month_in_progress_is_marked_and_nothing_reads_badly(name):
    fig = FIGURES[name]()
    assert hygiene.figure_problems(fig, as_of=AS_OF) == []
    drawn = point_traces(fig, "2026-11-01")
    assert drawn, "the month in progress is still drawn"
    for trace in drawn:
        assert "in progress" in trace.name.lower()
        if trace.type == "bar":
            assert trace.marker.pattern.shape == "/" and trace.marker.opacity < 1  # hatched and lighter
        elif trace.mode == "lines":
            assert trace.line.dash == "dot"  # the dashed end
        else:
            assert trace.marker.color == "white"  # an open marker
    complete = point_traces(fig, "2026-10-01")
    assert any("in progress" not in trace.name.lower() for trace in complete), "October is drawn as final"
    legend = [trace.name for trace in fig.data if trace.showlegend is not False]
    assert "Month in progress" in legend, legend


@pytest.mark.parametrize("name", list(FIGURES))
def test_the_hygiene_check_fails_a_figure_that_draws_the_month_in_progress_as_final(name):
    """The check is not vacuous: with the flag wrongly off, November is drawn as final and the check says so."""
    original = figures._split
    try:
        figures._split = lambda rows, flag: (rows, rows.iloc[0:0])
        fig = FIGURES[name]()
    finally:
        figures._split = original
    problems = hygiene.figure_problems(fig, as_of=AS_OF)
    assert any("2026-11-01" in problem for problem in problems), problems
    # As of the month's last day the month is over, and the same figure is fine.
    assert hygiene.figure_problems(fig, as_of=date(2026, 11, 30)) == []


def test_second_order_rate_marks_cohorts_whose_90_days_are_not_over():
    cohorts = pd.DataFrame({
        "cohort_start": pd.to_datetime(["2026-06-01", "2026-07-01", "2026-08-01", "2026-09-01"]),
        "cohort_size": [100, 100, 100, 100], "eligible_customers": [100, 100, 60, 10],
        "second_order_customers": [30, 31, 20, 3], "second_order_rate_90d": [0.30, 0.31, 0.333, 0.30],
        "is_partial_period": [False, False, True, True],
    })
    fig = figures.second_order_rate_by_cohort(cohorts, "month")
    assert hygiene.figure_problems(fig, as_of=AS_OF) == []
    for month in ("2026-08-01", "2026-09-01"):  # July 31 + 90 days = 29 Oct: final; Aug 31 + 90 = 29 Nov: not
        assert all("in progress" in trace.name for trace in point_traces(fig, month))
    assert any("in progress" not in trace.name for trace in point_traces(fig, "2026-07-01"))
    hover = " ".join(str(trace.hovertemplate) for trace in fig.data)
    assert "not every customer has had 90 days yet" in hover


def test_retention_curves_dash_the_period_in_progress():
    rows = pd.DataFrame({
        "cohort_start": pd.Timestamp("2026-09-01"), "period_number": [0, 1, 2],
        "cohort_size": 200, "retention_rate": [1.0, 0.30, 0.03], "is_partial_period": [False, False, True],
    })
    fig = figures.retention_curves(rows, "month", [pd.Timestamp("2026-09-01")])
    partial = [trace for trace in fig.data if trace.x is not None and 2 in list(trace.x)]
    assert partial and all("in progress" in trace.name.lower() for trace in partial)
    solid = next(trace for trace in fig.data if trace.name == "Sep 2026")
    assert list(solid.x) == [0, 1]  # the 3% of the month in progress is not drawn as a collapse of the solid line
    assert "Month in progress" in [trace.name for trace in fig.data if trace.showlegend is not False]


def test_the_weighted_average_curve_weighs_finished_periods_by_cohort_size_whatever_the_index():
    """The "All cohorts (weighted)" line: per period, the sum of rate x size over the cohorts that finished it,
    divided by their sizes (worked by hand), unfinished periods left out; the same for a frame whose index repeats
    (two query results put together)."""
    one = pd.DataFrame({"cohort_start": pd.Timestamp("2026-08-01"), "period_number": [0, 1, 2], "cohort_size": 100,
                        "retention_rate": [1.0, 0.40, 0.05], "is_partial_period": [False, False, True]})
    two = pd.DataFrame({"cohort_start": pd.Timestamp("2026-09-01"), "period_number": [0, 1], "cohort_size": 300,
                        "retention_rate": [1.0, 0.20], "is_partial_period": [False, False]})
    for rows in (pd.concat([one, two], ignore_index=True), pd.concat([one, two])):
        fig = figures.retention_curves(rows, "month", [])
        average = next(trace for trace in fig.data if trace.name == "All cohorts (weighted)")
        assert list(average.x) == [0, 1]  # period 2 is unfinished for the only cohort that reached it
        assert list(average.y) == pytest.approx([1.0, (0.40 * 100 + 0.20 * 300) / 400])


def test_the_cohort_heatmap_says_in_progress_in_the_hover_of_unfinished_cells():
    rows = pd.DataFrame({
        "cohort_start": pd.Timestamp("2026-10-01"), "period_number": [0, 1], "cohort_size": 50,
        "retention_rate": [1.0, 0.1], "is_partial_period": [False, True], "is_small_cohort": False,
    })
    fig = figures.cohort_heatmap(rows, "month")
    cells = next(trace for trace in fig.data if trace.name == "cells")
    notes = [row[3] for row in cells.customdata]
    assert notes[0] == "" and "in progress" in notes[1]
    assert fig.data[0].text[0][1].endswith("*")
    assert hygiene.figure_problems(fig) == []
    # Every cell's text: the rate in whole percent, * while its period runs, nothing where a cohort has no period.
    later = pd.DataFrame({"cohort_start": pd.Timestamp("2026-11-01"), "period_number": [0], "cohort_size": 40,
                          "retention_rate": [0.995], "is_partial_period": [True], "is_small_cohort": True})
    fig = figures.cohort_heatmap(pd.concat([rows, later], ignore_index=True), "month")
    assert [list(row) for row in fig.data[0].text] == [["100%", "10%*"], ["100%*", ""]]


def tick_values(axis) -> list[float]:
    count = round((axis.range[1] - axis.range[0]) / axis.dtick)
    return [axis.tick0 + index * axis.dtick for index in range(count + 1)]


@pytest.mark.parametrize("name", ["period_trend", "activity_trend", "revenue_trend"])
def test_dual_axes_have_round_ticks_that_share_grid_lines(name):
    fig = FIGURES[name]()
    left, right = fig.layout.yaxis, fig.layout.yaxis2
    assert len(tick_values(left)) == len(tick_values(right))
    for axis in (left, right):
        assert axis.range[0] == 0 and axis.tick0 == 0
        exponent = 10 ** __import__("math").floor(__import__("math").log10(axis.dtick))
        assert round(axis.dtick / exponent, 6) in (1, 2, 2.5, 5)


def test_a_small_segment_counts_customers_in_whole_steps():
    """A small segment's customer axis read 0, 1, 1, 2: counts step by whole numbers."""
    rows = activity_rows().assign(new_customers=[1, 0, 1, 0, 1, 0], returning_customers=[0, 1, 1, 0, 0, 1])
    rows["active_customers"] = rows["new_customers"] + rows["returning_customers"]
    fig = figures.activity_trend(rows, "month")
    ticks = tick_values(fig.layout.yaxis)
    assert all(float(tick).is_integer() for tick in ticks) and len(set(ticks)) == len(ticks)


def test_monthly_series_have_monthly_tick_labels():
    fig = FIGURES["activity_trend"]()
    assert fig.layout.xaxis.dtick == "M1" and fig.layout.xaxis.tickformat == "%b<br>%Y"  # 6 months: one tick each
    assert fig.layout.xaxis.tickangle == 0


def test_bar_labels_have_room_above_the_tallest_bar():
    frame = pd.DataFrame({"segment_value": ["organic_search", "unknown"], "repeat_rate": [0.62, 0.4],
                          "customers": [100, 10]})
    fig = figures.rate_bars(frame, "segment_value", "repeat_rate", "customers", "Repeat rate by channel",
                            "Acquisition channel", "Repeat rate", field="acquisition_channel")
    assert fig.layout.yaxis.range[1] >= 0.62 * 1.1
    assert list(fig.data[0].x) == ["Organic search", "Not recorded"]
    assert list(fig.data[0].text) == ["62.0%", "40.0%"]
    assert hygiene.figure_problems(fig) == []


def test_care_bars_say_the_unit_they_count():
    rows = pd.DataFrame({"care_group": ["detractor, no ticket", "promoter or passive"], "group_order": [1, 2],
                         "anchor_orders": [4327, 1], "customers": [3075, 1], "repurchase_rate_90d": [0.2, 0.5],
                         "ci_low": [0.18, 0.1], "ci_high": [0.22, 0.9]})
    fig = figures.care_groups(rows, "Silent unhappy customers", "Detractor answer on the order")
    assert list(fig.data[0].x) == ["Detractor, no ticket<br>4,327 orders", "Promoter or passive<br>1 order"]
    assert hygiene.figure_problems(fig) == []


def test_money_hover_has_cents_only_for_small_amounts():
    assert formatting.d3_format("money", [12.5, 80.0]) == "$,.2f"
    assert formatting.d3_format("money", [12.5, 8_000.0]) == "$,.0f"


def test_theme_and_satisfaction_lines_dot_the_period_in_progress_with_each_points_own_numbers():
    from dashboard import reason_figures

    rows = pd.concat([
        monthly(theme_id=[7] * 6, texts=[10, 20, 30, 40, 50, 6], period_texts=[100, 100, 100, 100, 100, 12],
                text_share=[0.1, 0.2, 0.3, 0.4, 0.5, 0.5], is_small_sample=[False, False, True, False, False, True]),
        monthly(theme_id=[9] * 6, texts=[1, 2, 3, 4, 5, 6], period_texts=[100, 100, 100, 100, 100, 12],
                text_share=[0.01, 0.02, 0.03, 0.04, 0.05, 0.5], is_small_sample=[True] * 6),
    ]).sample(frac=1, random_state=3)  # in no particular order: the figure sorts each theme by period
    fig = reason_figures.theme_trend(rows, {7: "Late delivery", 9: "Sizing"}, "month", "Themes")
    solid, bridge, current = fig.data[0], fig.data[1], fig.data[2]
    assert solid.name == "Late delivery" and bridge.name == current.name == "Late delivery (in progress)"
    assert [pd.Timestamp(x) for x in solid.x] == list(MONTHS[:5])
    assert list(solid.y) == [0.1, 0.2, 0.3, 0.4, 0.5]
    assert [tuple(point) for point in solid.customdata] == [(10, 100), (20, 100), (30, 100), (40, 100), (50, 100)]
    colours = list(solid.marker.color)  # 30 texts in August: a small sample, hollow; October is filled
    assert colours[2] == "white" and colours[0] != "white" and colours[4] != "white"
    # the dotted line starts at the last finished month, so the line does not break, and has no hover or marker of
    # its own: October keeps its filled marker and its hover, only November is hollow and said to be in progress
    assert [pd.Timestamp(x) for x in bridge.x] == [MONTHS[4], MONTHS[5]] and list(bridge.y) == [0.5, 0.5]
    assert bridge.mode == "lines" and bridge.hoverinfo == "skip" and bridge.line.dash == "dot"
    assert [pd.Timestamp(x) for x in current.x] == [MONTHS[5]] and current.mode == "markers"
    assert [tuple(point) for point in current.customdata] == [(6, 12)]
    assert list(current.marker.color) == ["white"]  # 6 texts: a small sample
    assert "month in progress: not final" in current.hovertemplate and "in progress" not in solid.hovertemplate
    # one legend entry per line, which shows and hides its three traces together
    assert {trace.legendgroup for trace in fig.data[:3]} == {"Late delivery"}
    assert solid.showlegend is not False and bridge.showlegend is False and current.showlegend is False
    assert [trace.name for trace in fig.data[3:]] == ["Sizing", "Sizing (in progress)", "Sizing (in progress)"]
    assert set(fig.data[3].marker.color) == {"white"}
    assert hygiene.figure_problems(fig, AS_OF) == []  # nothing in progress drawn as final

    by_channel = monthly(dimension_value=["email"] * 6, nps_responses=[40, 41, 42, 43, 44, 35],
                         nps=[10.0, 12.0, 14.0, 16.0, 18.0, -20.0], csat_responses=[0] * 6, csat=[None] * 6,
                         is_small_nps_sample=[False] * 6, is_small_csat_sample=[True] * 6)
    lines = reason_figures.satisfaction_lines(by_channel, "nps", "acquisition_channel", "month", "NPS")
    assert len(lines.data) == 3 and list(lines.data[0].customdata) == [40, 41, 42, 43, 44]
    assert list(lines.data[1].y) == [18.0, -20.0] and [pd.Timestamp(x) for x in lines.data[1].x] == [MONTHS[4], MONTHS[5]]
    assert lines.data[1].mode == "lines" and lines.data[1].hoverinfo == "skip"
    assert list(lines.data[2].customdata) == [35] and list(lines.data[2].y) == [-20.0]
    # 35 responses: not a small sample, so not hollow (the caption says hollow means fewer than 30), though in progress
    assert lines.data[2].mode == "markers" and list(lines.data[2].marker.color) != ["white"]
    assert "month in progress: not final" in lines.data[2].hovertemplate
    assert hygiene.figure_problems(lines, AS_OF) == []
