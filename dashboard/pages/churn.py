"""Churn risk and win-back: who is slipping away and why, a win-back list to download, and the model's backtest."""

from datetime import timedelta

import pandas as pd
import streamlit as st

from dashboard import cache, churn, churn_figures, figures, formatting
from dashboard.pages.common import (PAGE_SIZE, audited_csv, chart, current_access, current_view, empty, fetch_all,
                                    query, require_data, table, url_values_as_labels)

MAX_DAYS = 100_000.0  # bounds of the number boxes: anything a real customer can have, nothing infinite
MAX_REVENUE = 1e12

st.title("Churn risk and win-back")
st.caption(
    "**Churn risk** is the model's probability that a customer places no order in the next 90 days, from how "
    "often and how recently they bought (an MBG/NBD model fitted on your own orders). High: 70% or more, "
    "medium: 40-70%, low: under 40%. Definitions and the backtest method: docs/churn.md."
)
view = current_view()
if not require_data(view):
    st.stop()

with st.spinner("Fitting the churn model…"):  # the first read of an as-of date's scores fits the model
    try:
        model = churn.model_info_from(cache.query(view.database, view.as_of, "churn_model_info"))
    except Exception as error:  # a page explains, it does not print a traceback
        st.error(f"The churn scores could not be computed: {error}", icon=":material/error:")
        st.stop()
if model.message:
    st.warning(model.message, icon=":material/warning:")
if model.n_customers == 0:
    empty("No customer has a valid order by the as-of date, so there is nobody to score. Move the as-of date.")
    st.stop()
if view.filters.is_segmented:
    st.caption("Everything below is limited to the customers of the segment chosen in the sidebar.")

st.subheader("Who is slipping away")
bins = query(view, "churn_risk_distribution")
if bins is None:
    st.stop()
if bins.empty:
    empty("No customer of this segment has a valid order by the as-of date. Widen the sidebar filters.")
    st.stop()
chart(churn_figures.risk_distribution(bins), key="risk_distribution")

cells = query(view, "churn_rfm_grid")
if cells is not None and len(cells):
    chart(churn_figures.rfm_grid(cells), key="rfm_grid")
    tiles = (
        cells.groupby("rfm_segment", as_index=False)
        .agg(customers=("customers", "sum"), revenue=("revenue", "sum"))
        .set_index("rfm_segment").reindex(list(churn.RFM_SEGMENTS)).dropna().reset_index()
    )
    columns = st.columns(5)
    for index, tile in enumerate(tiles.itertuples(index=False)):
        with columns[index % 5].container(border=True):
            st.metric(tile.rfm_segment, figures.format_count(int(tile.customers)), border=False,
                      help="Customers in this RFM segment (docs/churn.md has the rules).")
            st.caption(f"Lifetime revenue {formatting.money(tile.revenue, short=True)}")

st.subheader("Build a win-back list")
st.caption(
    "Every rule narrows the list; an empty rule means any. The rules live in the URL, so a link shares the list."
)
band_column, segment_column, nps_column = st.columns(3)
# Options are shown as they are (no format_func): the URL keeps the option itself, e.g. ?risk=high.
bands = band_column.multiselect(
    "Risk band", options=list(churn.RISK_BANDS), default=["high"], key="risk", bind="query-params",
    placeholder="Any", help="high: churn risk 70% or more; medium: 40-70%; low: under 40%.",
)
segments = segment_column.multiselect(
    "RFM segment", options=list(churn.RFM_SEGMENTS), default=[], key="rfm", bind="query-params", placeholder="Any",
)
# Formatting only (surface, #13): the categories read as labels ("Never answered", not "none"); a link made with
# the stored value (?nps=none) still opens the same list.
url_values_as_labels("nps", list(churn.NPS_CATEGORIES), lambda value: formatting.label(value, "latest_nps_category"))
nps = nps_column.multiselect(
    "Latest NPS answer", options=list(churn.NPS_CATEGORIES), default=None, key="nps", bind="query-params",
    placeholder="Any", help="The category of the customer's latest NPS answer, or never answered.",
    format_func=lambda value: formatting.label(value, "latest_nps_category"),
)
days_from, days_to, value_from, value_to, complaint_column, opt_in_column = st.columns(6)
# Float boxes with whole-number display and finite bounds: Streamlit's integer box crashes on ?days_min=inf, and
# a value outside the bounds in the URL is dropped (the box shows "any").
min_days = days_from.number_input("Days since last order, from", min_value=0.0, max_value=MAX_DAYS, value=None,
                                  step=1.0, format="%.0f", key="days_min", bind="query-params", placeholder="any")
max_days = days_to.number_input("to (days)", min_value=0.0, max_value=MAX_DAYS, value=None, step=1.0,
                                format="%.0f", key="days_max", bind="query-params", placeholder="any")
min_value = value_from.number_input("Lifetime revenue from ($)", min_value=0.0, max_value=MAX_REVENUE, value=None,
                                    step=50.0, key="value_min", bind="query-params", placeholder="any")
max_value = value_to.number_input("to ($)", min_value=0.0, max_value=MAX_REVENUE, value=None, step=50.0,
                                  key="value_max", bind="query-params", placeholder="any")
complaint = complaint_column.segmented_control(
    "Open complaint", options=["yes", "no"], default=None, key="complaint", bind="query-params",
    help="A support ticket still unresolved at the as-of date. Nothing selected: any.",
)
opt_in = opt_in_column.segmented_control(
    "Marketing opt-in", options=["yes", "no"], default=None, key="opt_in", bind="query-params",
    help="Whether the customer agreed to marketing e-mails. Nothing selected: any.",
)
rules = churn.WinbackRules(
    risk_bands=tuple(bands) or None,
    segments=tuple(segments) or None,
    min_days_since_last_order=None if min_days is None else int(min_days),
    max_days_since_last_order=None if max_days is None else int(max_days),
    min_revenue=min_value,
    max_revenue=max_value,
    nps_categories=tuple(nps) or None,
    has_open_complaint=None if complaint is None else complaint == "yes",
    is_marketing_opt_in=None if opt_in is None else opt_in == "yes",
)

summary = query(view, "winback_summary", **rules.params())
if summary is None:
    st.stop()
totals = summary.iloc[0]
count_column, revenue_column, value_column, orders_column = st.columns(4)
count_column.metric("Customers in the list", formatting.count(totals["customers"], short=True))
revenue_column.metric("Revenue at stake", formatting.money(totals["revenue"], short=True),
                      help="Lifetime revenue of the customers in the list.")
value_column.metric("Predicted value, next 365 days", formatting.money(totals["predicted_clv_365d"], short=True),
                    help="Discounted predicted spend (10% a year) if nothing is done.")
orders_column.metric("Expected orders, next 90 days", formatting.count(totals["expected_orders_90d"], short=True))

user_access = current_access(view.settings)
show_pii = user_access.can_see_pii
if not user_access.can_see_customers:
    st.info(f"Your role ({user_access.role}) sees aggregates only; customer lists need the analyst or marketing role.",
            icon=":material/lock:")
    page = None
else:
    page = query(view, "winback_segment", **rules.params(), show_pii=show_pii, limit=PAGE_SIZE, offset=0)
total = int(page["total_matches"].iloc[0]) if page is not None and len(page) else 0
if page is not None and total == 0:
    empty("Nobody matches these rules. Remove a rule or widen a range.")
elif page is not None:
    # Formatting only (surface, #13): labelled values, readable reasons, "–" for what is missing; the list itself
    # belongs to the win-back builder.
    shown = page.drop(columns=["total_matches"]).assign(reasons=lambda rows: rows["reasons"].map(formatting.humanise_words))
    table(shown, key="winback_customers", kinds={"frequency": "count", "days_since_last_order": "count"},
          headers={"email": "E-mail" if show_pii else "E-mail (masked)", "revenue": "Lifetime revenue",
                   "risk_band": "Risk", "p_alive": "P(alive)", "is_marketing_opt_in": "Opted in"},
          column_config={
              "Churn risk": st.column_config.ProgressColumn("Churn risk", format="%.1f%%", min_value=0, max_value=100),
              "Why at risk": st.column_config.TextColumn("Why at risk", width="large"),
              "Last comment (masked)": st.column_config.TextColumn("Last comment (masked)", width="large"),
          })
    if total > len(page):
        st.caption(f"Showing the {len(page):,} highest-revenue of {total:,}; the download has all of them.")

    file_name = rules.file_name(view.as_of)

    def winback_frame() -> pd.DataFrame:
        everyone = fetch_all(view, "winback_segment", **rules.params(), show_pii=show_pii, limit=None, offset=0)
        return everyone.loc[:, list(churn.WINBACK_CSV_COLUMNS)]

    st.download_button(
        "Download the list (CSV)", mime="text/csv", icon=":material/download:", key="winback_download",
        data=audited_csv(view, "win-back list", file_name, winback_frame, {**view.filters.params(), **rules.params()}),
        file_name=file_name, disabled=not user_access.can_download, on_click="ignore",
    )

st.subheader("Can we trust it? The backtest")
cutoff = view.as_of - timedelta(days=churn.RISK_HORIZON_DAYS)
st.caption(
    f"The model is fitted again on what was known on **{cutoff:%d %b %Y}** (90 days before the as-of date) and "
    "its churn risk is compared with who actually ordered in the 90 days after. AUC is the chance that a "
    "customer who did not order was ranked riskier than one who did (0.5 = coin toss). The baseline ranks "
    "customers by days since their last order."
)
try:
    result = cache.backtest(view.database, cutoff, churn.RISK_HORIZON_DAYS)
except ValueError as error:
    empty(f"No backtest: {error}.")
    st.stop()
if result.message:
    st.warning(f"Backtest: {result.message}", icon=":material/warning:")
if result.n_customers == 0 or pd.isna(result.auc):
    empty(f"No backtest: on {cutoff:%d %b %Y} there were no customers to score, or everyone behaved alike.")
    st.stop()
auc_column, baseline_column, predicted_column, actual_column = st.columns(4)
auc_column.metric("AUC, churn risk", f"{result.auc:.3f}",
                  delta=f"{result.auc - result.baseline_auc:+.3f} vs recency", delta_color="normal")
baseline_column.metric("AUC, days since last order", f"{result.baseline_auc:.3f}")
predicted_column.metric("Orders predicted", figures.format_count(result.predicted_orders))
actual_column.metric("Orders placed", figures.format_count(result.actual_orders),
                     help="Purchase days with a valid order in the 90 days after the cutoff.")
if result.auc <= result.baseline_auc:
    st.warning("On this data the model ranks no better than days since the last order: use the list with care.",
               icon=":material/warning:")
chart(churn_figures.backtest_auc(result.auc, result.baseline_auc, result.method), key="backtest_auc")
if len(result.calibration):
    chart(churn_figures.calibration(result.calibration, result.horizon_days), key="backtest_calibration")
