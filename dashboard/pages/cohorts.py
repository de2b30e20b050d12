"""Cohorts: do the customers we win keep buying? Retention heatmap, curves, period-k trend, drill-down."""

import pandas as pd
import streamlit as st

from dashboard import figures, formatting
from dashboard.pages.common import (PAGE_SIZE, audited_csv, chart, current_access, current_view, empty, fetch_all,
                                    figure, query, require_data, table, url_values_as_labels)

st.title("Cohorts")
st.caption(
    "A cohort is every customer whose first valid order fell in the same calendar period. "
    "A cell is the share of the cohort that ordered in that period after their first order."
)
view = current_view()
if not require_data(view):
    st.stop()

grain = view.filters.grain
left, middle, right = st.columns([3, 3, 2])
measure = left.segmented_control(
    "Retention of", options=["customers", "revenue"], default="customers", key="measure", bind="query-params",
    help="Customer retention: share of the cohort active in the period. Revenue retention: the period's "
         "revenue from the cohort as a share of its first-period revenue (can exceed 100%).",
) or "customers"
mode = middle.segmented_control(
    "Count a customer in period k if they ordered", options=["in k", "in k or later"], default="in k", key="mode",
    bind="query-params",
    help="'In period k': ordered in that period. 'In period k or later': ordered in that period or any later one "
         "(a curve that never rises: who has not yet churned).",
    disabled=measure == "revenue",
) or "in k"
right.caption(
    f"Cohorts smaller than {view.settings.small_cohort_size} customers are dimmed; "
    "* marks the period still in progress at the as-of date."
)

cohorts = query(view, "cohort_retention", small_cohort_size=view.settings.small_cohort_size)
if cohorts is None:
    st.stop()
if cohorts.empty:
    empty("No customer in this segment has a valid order by the as-of date, so there are no cohorts. "
          "Widen the filters or move the as-of date.")
    st.stop()
if measure == "revenue":
    value_column, label = "revenue_retention_rate", "Revenue retention"
elif mode == "in k or later":
    value_column, label = "retention_on_or_after_rate", "Retained (active now or later)"
else:
    value_column, label = "retention_rate", "Customer retention"

in_range = cohorts[
    (cohorts["cohort_start"] >= pd.Timestamp(view.filters.start_date))
    & (cohorts["cohort_start"] <= pd.Timestamp(view.filters.end_date))
] if view.filters.start_date and view.filters.end_date else cohorts
if in_range.empty:
    empty("No cohort starts inside the trend range; showing all cohorts instead.")
    in_range = cohorts
max_cohorts = 36 if grain != "week" else 26
shown = in_range[in_range["cohort_start"].isin(sorted(in_range["cohort_start"].unique())[-max_cohorts:])]
if shown["cohort_start"].nunique() < in_range["cohort_start"].nunique():
    st.caption(f"Showing the latest {max_cohorts} cohorts of the trend range.")

heatmap = figure(figures.cohort_heatmap, shown, grain, value_column, label)


def follow_clicked_cell() -> None:
    """A clicked cell (invisible markers on cell centres) picks the drill-down below, once per click."""
    event = st.session_state.get("cohort_heatmap")
    points = (event.selection.points if event is not None and hasattr(event, "selection") else []) or []
    if points and points[0].get("customdata"):
        clicked_cohort, clicked_period = points[0]["customdata"][:2]
        st.session_state["cohort"] = figures.cohort_label(clicked_cohort, grain)
        st.session_state["period"] = float(int(clicked_period))


chart(heatmap, key="cohort_heatmap", on_select=follow_clicked_cell, selection_mode="points")

st.subheader("Who is behind a cell")
cohort_starts = {figures.cohort_label(value, grain): pd.Timestamp(value).date()
                 for value in sorted(shown["cohort_start"].unique())}
cohort_options = list(cohort_starts)
cohort_names = {option: figures.period_label(start, grain) for option, start in cohort_starts.items()}


def complete_cohorts(cohorts: pd.DataFrame, periods: int) -> list[str]:
    """Cohorts (ids, oldest first) whose period ``periods`` is over at the as-of date, large cohorts first."""
    done = cohorts[(cohorts["period_number"] == periods) & ~cohorts["is_partial_period"].astype(bool)]
    large = done[~done["is_small_cohort"].astype(bool)]
    chosen = large if len(large) else done
    return [figures.cohort_label(value, grain) for value in sorted(chosen["cohort_start"].unique())]


# Defaults pick complete periods: the drill-down starts on the latest cohort whose period 1 is over (a cohort two
# days old has nothing to show), the curves on the latest two cohorts with three periods behind them.
drill_default = (complete_cohorts(shown, 1) or cohort_options)[-1:] if cohort_options else []
pick_left, pick_middle, pick_right = st.columns([2, 1, 1])
url_values_as_labels("cohort", cohort_options, lambda option: cohort_names.get(option, option), many=False)
chosen_cohort = pick_left.selectbox(
    "Cohort", options=cohort_options, key="cohort", format_func=lambda option: cohort_names.get(option, option),
    index=None if "cohort" in st.session_state or not drill_default else cohort_options.index(drill_default[0]),
    bind="query-params", help="Click a heatmap cell or pick a cohort here.",
)
max_period = int(shown["period_number"].max()) if len(shown) else 0
chosen_period = pick_middle.number_input(
    # Float with whole-number display: Streamlit's integer box crashes on ?period=inf from a URL.
    f"{grain.capitalize()}s since first order", min_value=0.0, max_value=float(max(max_period, 0)), step=1.0,
    format="%.0f", key="period", value=None if "period" in st.session_state else float(min(1, max_period)),
    bind="query-params",
)
activity_choice = pick_right.segmented_control(
    "Customers who", options=["did not order", "ordered"], default="did not order", key="activity",
    bind="query-params",
) or "did not order"
activity = "active" if activity_choice == "ordered" else "inactive"

user_access = current_access(view.settings)
if chosen_cohort and not user_access.can_see_customers:
    st.info(f"Your role ({user_access.role}) sees aggregates only; customer lists need the analyst or marketing role.",
            icon=":material/lock:")
elif chosen_cohort:
    member_params = dict(grain=grain, cohort_start=cohort_starts[chosen_cohort], period_number=int(chosen_period),
                         activity=activity, show_email=user_access.can_see_pii)
    members = query(view, "cohort_members", **member_params, limit=PAGE_SIZE, offset=0)
    if members is not None:
        total = int(members["total_matches"].iloc[0]) if len(members) else 0
        verb = "ordered" if activity == "active" else "did not order"
        cell = shown[(shown["cohort_start"] == pd.Timestamp(cohort_starts[chosen_cohort]))
                     & (shown["period_number"] == int(chosen_period))]
        in_progress = bool(len(cell) and cell["is_partial_period"].astype(bool).iloc[0])
        st.markdown(
            f"**{formatting.count(total)}** {'customer' if total == 1 else 'customers'} of the "
            f"{cohort_names.get(chosen_cohort, chosen_cohort)} cohort {verb} in {grain} {int(chosen_period)} after "
            "their first order."
            + (f" That {grain} is still in progress at the as-of date, so this list is not final." if in_progress else "")
        )
        if total == 0:
            empty("Nobody matches this cell. Pick another cohort or period, or switch between ordered / did not order.")
        else:
            # Every listed row has the activity picked above, so that flag is said in the sentence, not a column.
            table(members.drop(columns=["total_matches", "is_active_in_period"]), key="cohort_members",
                  headers={"email": "E-mail" if user_access.can_see_pii else "E-mail (masked)",
                           "revenue": "Lifetime revenue"})
            if total > len(members):
                st.caption(f"Showing the {len(members):,} highest-revenue of {total:,}; the download has all of them.")

            file_name = f"cohort-{cohort_starts[chosen_cohort]}-{grain}{int(chosen_period)}-{activity}-{view.as_of}.csv"

            def cohort_members_frame():
                everyone = fetch_all(view, "cohort_members", **member_params, limit=None, offset=0)
                return everyone.drop(columns=["total_matches"])

            st.download_button(
                "Download CSV", mime="text/csv", icon=":material/download:", key="cohort_download",
                data=audited_csv(view, "cohort members", file_name, cohort_members_frame,
                                 {**view.filters.params(), **member_params}),
                file_name=file_name, disabled=not user_access.can_download,
                on_click="ignore",
            )

st.subheader("Retention curves")
curve_default = complete_cohorts(shown, 3)[-2:] or complete_cohorts(shown, 1)[-2:]
curve_choices = st.multiselect(
    "Compare cohorts", options=cohort_options, default=curve_default, key="curves",
    format_func=lambda option: cohort_names.get(option, option),
    help="By default the latest two cohorts with three full periods behind them. A dashed end is a period still "
         "in progress.",
)
chart(figure(figures.retention_curves, shown, grain, [cohort_starts[c] for c in curve_choices], value_column, label),
      key="retention_curves")

st.subheader("Is period-k retention improving?")
k = st.number_input(
    f"{grain.capitalize()} k", min_value=1.0, max_value=float(max(1, max_period)), step=1.0, format="%.0f",
    value=float(min(3 if grain == "month" else 1, max(1, max_period))), key="k", bind="query-params",
)
k_figure = figure(figures.period_k_across_cohorts, shown, grain, int(k), value_column, label)
if not k_figure.data[0].x is None and len(k_figure.data[0].x):
    chart(k_figure, key="period_k")
else:
    empty(f"No cohort in view has completed {grain} {int(k)} yet: the cohorts are too young.")
