"""Churn risk and win-back: where customers are in their lifecycle, who is slipping and what is at stake, a
campaign-ready list with a holdout, and whether the model can be trusted (its backtest)."""

import json
from datetime import timedelta

import pandas as pd
import streamlit as st

from dashboard import access, cache, churn, churn_figures, figures, formatting, lifecycle, winback
from dashboard.pages.common import (PAGE_SIZE, chart, current_access, current_view, delta_style, empty, figure, query,
                                    require_data, table, url_values_as_labels)

MAX_DAYS = 100_000.0  # bounds of the number boxes: anything a real customer can have, nothing infinite
MAX_REVENUE = 1e12
LIST_KEYS = {  # builder widget key -> value meaning "any"
    "state": [], "risk": [], "rfm": [], "r": [], "fm": [], "nps": [], "complaint_category": [],
    "days_min": None, "days_max": None, "value_min": None, "value_max": None,
    "complaint": None, "complained": None, "returned": None, "opt_in": None,
    "since": None, "from_state": [], "from_rfm": [],
}


def show_list(**rules) -> None:
    """Callback of every "show the list" control: the builder's rules become exactly ``rules`` (URL keys)."""
    for key, any_value in LIST_KEYS.items():
        st.session_state[key] = rules.get(key, any_value)
    st.toast("The win-back list below now shows that group.", icon=":material/list:")


def show_selected(chart_key: str) -> None:
    """Callback of a clickable chart: the clicked cell's or bar's customers become the list."""
    event = st.session_state.get(chart_key)
    points = (event or {}).get("selection", {}).get("points", []) if isinstance(event, dict) else \
        getattr(getattr(event, "selection", None), "points", [])
    if not points:
        return
    data = points[0].get("customdata") if isinstance(points[0], dict) else None
    if not data:
        return
    if chart_key == "rfm_grid":
        show_list(r=[int(data[0])], fm=[int(data[1])])
    elif chart_key == "lifecycle_by_rfm":  # customdata: labels (what the hover shows), back to the stored values
        show_list(rfm=[data[0]], state=[churn.option_value("states", data[1])])
    elif chart_key == "movement_matrix":
        days = st.session_state.get("movement_days") or churn.MOVEMENT_DAYS[0]
        if st.session_state.get("movement_by", "lifecycle_state") == "lifecycle_state":
            show_list(since=days, from_state=[churn.option_value("previous_states", data[0])],
                      state=[churn.option_value("states", data[1])])
        else:
            show_list(since=days, from_rfm=[churn.option_value("previous_segments", data[0])],
                      rfm=[churn.option_value("segments", data[1])])


st.title("Churn risk and win-back")
st.caption(
    "Every customer is in one **lifecycle state**, from their own buying rhythm and the model's chance that they "
    "are still a customer (an MBG/NBD model fitted on your own orders, on a seasonally adjusted clock). "
    "**Slipping** customers are past the date they were expected to order but probably still customers: the "
    "window where win-back works. Definitions and the backtest: docs/churn.md."
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
if model.season_index is not None:
    st.caption(f"Seasonality: {model.season_message}; the model counts a day in the busiest half-month as "
               f"{max(model.season_index):.2f} days and one in the quietest as {min(model.season_index):.2f}.")
else:
    st.caption(f"Seasonality not used: {model.season_message}.")
if view.filters.is_segmented:
    st.caption("Everything below is limited to the customers of the segment chosen in the sidebar.")
has_model = model.has_predictions


def value_text(value) -> str:
    """Money for a card, or "not available" without a fitted model (never a false $0)."""
    return figures.format_currency(value) if has_model and not formatting.is_missing(value) else "not available"


st.subheader("Where your customers are")
states = query(view, "churn_lifecycle_states")
if states is None:
    st.stop()
if states.empty:
    empty("No customer of this segment has a valid order by the as-of date. Widen the sidebar filters.")
    st.stop()
states = states.set_index("lifecycle_state").reindex(list(lifecycle.STATES))
total_customers = int(states["customers"].fillna(0).sum())
columns = st.columns(len(lifecycle.STATES))
for column, state in zip(columns, lifecycle.STATES):
    row = states.loc[state]
    count = 0 if pd.isna(row["customers"]) else int(row["customers"])
    with column.container(border=True):
        st.metric(lifecycle.STATE_LABELS[state], figures.format_count(count), border=False,
                  help=lifecycle.STATE_DESCRIPTIONS[state])
        st.caption(f"{formatting.rate(count / total_customers)} of customers · value at stake "
                   f"{value_text(row['value_at_stake_365d'])}")
        st.button("Show the list", key=f"list_{state}", on_click=show_list, kwargs={"state": [state]},
                  disabled=count == 0, icon=":material/list:", width="stretch")
st.caption("Value at stake: the part of the next 365 days' value (if they stayed) that the model expects to be "
           "lost, discounted at 10% a year. Lifetime revenue is what they already spent, shown in the list.")

st.subheader("RFM segments and what they hide")
cells = query(view, "churn_rfm_grid")
by_state = query(view, "churn_rfm_lifecycle")
if cells is not None and len(cells):
    grid_column, split_column = st.columns(2)
    with grid_column:
        chart(figure(churn_figures.rfm_grid, cells), key="rfm_grid", on_select=lambda: show_selected("rfm_grid"),
              selection_mode="points")
    if by_state is not None and len(by_state):
        with split_column:
            chart(figure(churn_figures.lifecycle_by_rfm, by_state), key="lifecycle_by_rfm",
                  on_select=lambda: show_selected("lifecycle_by_rfm"), selection_mode="points")
        lapsed_loyal = by_state[by_state.rfm_segment.isin(["Champions", "Loyal"])
                                & (by_state.lifecycle_state == "lapsed")]["customers"].sum()
        loyal = by_state[by_state.rfm_segment.isin(["Champions", "Loyal"])]["customers"].sum()
        if loyal:
            st.caption(
                f"RFM ranks how recently a customer bought against *everyone*; the lifecycle state against the "
                f"customer's *own* rhythm. {formatting.plural(int(lapsed_loyal), 'Champion or Loyal customer')} "
                f"({formatting.rate(lapsed_loyal / loyal)} of them) bought often but have now been silent for many "
                "times their usual gap: they are lapsed, which is why their churn risk is near certain.")

bins = query(view, "churn_risk_distribution")
if bins is not None and len(bins):
    with st.expander("Churn risk distribution (chance of no order in the next 90 days)"):
        chart(figure(churn_figures.risk_distribution, bins), key="risk_distribution")

st.subheader("Who moved")
movement_days_column, movement_by_column = st.columns([1, 2])
movement_days = movement_days_column.segmented_control(
    "Compared with", options=list(churn.MOVEMENT_DAYS), default=churn.MOVEMENT_DAYS[0], key="movement_days",
    bind="query-params", format_func=lambda days: {value: label for label, value in churn.MOVEMENT_LABELS.items()}[days],
) or churn.MOVEMENT_DAYS[0]
movement_by = movement_by_column.segmented_control(
    "By", options=["lifecycle_state", "rfm_segment"], default="lifecycle_state", key="movement_by",
    bind="query-params", format_func=lambda value: "Lifecycle state" if value == "lifecycle_state" else "RFM segment",
) or "lifecycle_state"
moves = query(view, "churn_movements", days_back=movement_days, dimension=movement_by)
if moves is not None and len(moves):
    field = "previous_lifecycle_state" if movement_by == "lifecycle_state" else "previous_rfm_segment"
    changed = moves[(moves.previous_value != moves.current_value) & (moves.previous_value != "none")]
    if len(changed):
        sentences = [f"{formatting.plural(int(row.customers), 'customer')} went from "
                     f"{formatting.label(row.previous_value, field)} to {formatting.label(row.current_value, field)}"
                     for row in changed.head(4).itertuples(index=False)]
        st.markdown("Biggest moves: " + "; ".join(sentences) + ".")
    else:
        st.caption("Nobody changed group over this period.")
    newcomers = int(moves[moves.previous_value == "none"]["customers"].sum())
    chart(figure(churn_figures.movement_matrix, moves, movement_by, movement_days), key="movement_matrix",
          on_select=lambda: show_selected("movement_matrix"), selection_mode="points")
    st.caption(f"Both dates are scored with today's model, so a move is the customer's doing, not a refit's. "
               f"{formatting.plural(newcomers, 'customer')} placed their first order since (row 'No order yet').")

st.subheader("Build a win-back list", anchor="list")
st.caption(
    "Every rule narrows the list; an empty rule means any. The rules live in the URL, so a link shares the list "
    "(and `python -m dashboard winback --rules \"<the URL's query>\"` writes the same file). The default is the "
    "slipping customers."
)
tables = view.database.catalog.tables
has_surveys, has_tickets, has_returns = (tables[name].is_usable for name in ("surveys", "tickets", "returns"))
opt_in_known = winback.opt_in_is_exported(view.database)
state_column, band_column, segment_column, nps_column = st.columns(4)
chosen_states = state_column.multiselect(
    "Lifecycle state", options=list(lifecycle.STATES), default=list(lifecycle.DEFAULT_WINBACK_STATES), key="state",
    bind="query-params", placeholder="Any", format_func=lambda value: lifecycle.STATE_LABELS[value],
    help="Active, slipping, new, one-time buyer (not back yet) or lapsed: see the tiles above.",
)
bands = band_column.multiselect(
    "Churn risk", options=list(churn.RISK_BANDS), default=[], key="risk", bind="query-params", placeholder="Any",
    format_func=lambda value: churn.rule_option_label("risk_bands", value),
    help="High: chance of no order in 90 days 70% or more; medium: 40-70%; low: under 40%.",
)
segments = segment_column.multiselect(
    "RFM segment", options=list(churn.RFM_SEGMENTS), default=[], key="rfm", bind="query-params", placeholder="Any",
)
# Formatting only (surface, #13): the categories read as labels ("Never answered", not "none"); a link made with
# the stored value (?nps=none) still opens the same list.
url_values_as_labels("nps", list(churn.NPS_CATEGORIES), lambda value: churn.rule_option_label("nps_categories", value))
nps = nps_column.multiselect(
    "Latest NPS answer", options=list(churn.NPS_CATEGORIES), default=[], key="nps", bind="query-params",
    placeholder="Any" if has_surveys else "No surveys exported", disabled=not has_surveys,
    format_func=lambda value: churn.rule_option_label("nps_categories", value),
    help="The category of the customer's latest NPS answer." if has_surveys else
    "No surveys were exported: add `surveys` to filter by NPS answer.",
)
days_from, days_to, value_from, value_to, r_column, fm_column = st.columns(6)
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
recency_scores = r_column.multiselect("R score", options=[1, 2, 3, 4, 5], default=[], key="r", bind="query-params",
                                      placeholder="Any", help="Recency score of the RFM grid (5 = most recent).")
fm_scores = fm_column.multiselect("FM score", options=[1, 2, 3, 4, 5], default=[], key="fm", bind="query-params",
                                  placeholder="Any", help="Frequency-and-monetary score of the RFM grid.")
complaint_column, complained_column, category_column, returned_column, opt_in_column = st.columns(5)
no_tickets = "No support tickets were exported: add `tickets` to use this rule."
complaint = complaint_column.segmented_control(
    "Open complaint", options=["yes", "no"], default=None, key="complaint", bind="query-params",
    format_func=str.capitalize, disabled=not has_tickets,
    help="A support ticket still unresolved at the as-of date. Nothing selected: any." if has_tickets else no_tickets,
)
complained = complained_column.segmented_control(
    "Ever complained", options=["yes", "no"], default=None, key="complained", bind="query-params",
    format_func=str.capitalize, disabled=not has_tickets,
    help="Any support ticket up to the as-of date. No + detractor = the silent unhappy." if has_tickets
    else no_tickets,
)
category_options = []
if has_tickets:
    categories = query(view, "winback_complaint_categories")
    category_options = [] if categories is None else categories["complaint_category"].tolist()
category_labels = {formatting.label(value, "category"): value for value in category_options}
complaint_categories = category_column.multiselect(
    "Complained about", options=list(category_labels), default=[], key="complaint_category", bind="query-params",
    placeholder="Any" if has_tickets else "No tickets exported", disabled=not has_tickets,
    help="Customers with a ticket in any of these categories." if has_tickets else no_tickets,
)
returned = returned_column.segmented_control(
    "Ever returned", options=["yes", "no"], default=None, key="returned", bind="query-params",
    format_func=str.capitalize, disabled=not has_returns,
    help="Any return requested up to the as-of date." if has_returns else
    "No returns were exported: add `returns` to use this rule.",
)
opt_in = opt_in_column.segmented_control(
    "Marketing opt-in", options=["yes", "no"], default=None, key="opt_in", bind="query-params",
    format_func=str.capitalize, disabled=not opt_in_known,
    help="Whether the customer agreed to marketing e-mails. Nothing selected: any." if opt_in_known else
    "No marketing opt-in was exported (customers.marketing_opt_in): this rule cannot be used.",
)
since_column, from_state_column, from_rfm_column = st.columns(3)
since = since_column.segmented_control(
    "Where they were", options=list(churn.MOVEMENT_DAYS), default=None, key="since", bind="query-params",
    format_func=lambda days: {value: label for label, value in churn.MOVEMENT_LABELS.items()}[days],
    help="With the two rules beside it: customers who were in that state or segment then (a cell of the "
         "movement matrix). Nothing selected: a week ago.",
)
from_states = from_state_column.multiselect(
    "Lifecycle state then", options=list(lifecycle.STATES) + ["none"], default=[], key="from_state",
    bind="query-params", placeholder="Any",
    format_func=lambda value: churn.rule_option_label("previous_states", value),
)
from_segments = from_rfm_column.multiselect(
    "RFM segment then", options=list(churn.RFM_SEGMENTS) + ["none"], default=[], key="from_rfm",
    bind="query-params", placeholder="Any",
    format_func=lambda value: churn.rule_option_label("previous_segments", value),
)
rules = churn.WinbackRules(
    states=tuple(chosen_states) or None,
    risk_bands=tuple(bands) or None,
    segments=tuple(segments) or None,
    recency_scores=tuple(int(score) for score in recency_scores) or None,
    fm_scores=tuple(int(score) for score in fm_scores) or None,
    min_days_since_last_order=None if min_days is None else int(min_days),
    max_days_since_last_order=None if max_days is None else int(max_days),
    min_revenue=min_value,
    max_revenue=max_value,
    nps_categories=(tuple(nps) or None) if has_surveys else None,
    has_open_complaint=None if complaint is None or not has_tickets else complaint == "yes",
    has_complained=None if complained is None or not has_tickets else complained == "yes",
    complaint_categories=tuple(category_labels.get(label, label) for label in complaint_categories) or None,
    has_returned=None if returned is None or not has_returns else returned == "yes",
    is_marketing_opt_in=None if opt_in is None or not opt_in_known else opt_in == "yes",
    moved_days=None if since is None else int(since),
    previous_states=tuple(from_states) or None,
    previous_segments=tuple(from_segments) or None,
)

summary = query(view, "winback_summary", **rules.params())
if summary is None:
    st.stop()
totals = summary.iloc[0]
count_column, stake_column, value_column, orders_column, revenue_column = st.columns(5)
count_column.metric("Customers in the list", figures.format_count(int(totals["customers"])),
                    help=f"Matching the rules: {winback.describe_rules(rules)}.")
stake_column.metric("Value at stake (365 days)", value_text(totals["value_at_stake_365d"]),
                    help="The part of their next 365 days' value (if they stayed) the model expects to be lost: "
                         "value if they stay x (1 - chance still a customer), discounted at 10% a year.")
value_column.metric("Predicted value, next 365 days", value_text(totals["predicted_clv_365d"]),
                    help="Discounted predicted spend (10% a year) if nothing is done.")
orders_column.metric("Expected orders, next 90 days",
                     figures.format_count(totals["expected_orders_90d"]) if has_model else "not available",
                     help="Expected purchase days in the next 90 days if nothing is done.")
revenue_column.metric("Lifetime revenue", figures.format_currency(totals["revenue"]),
                      help="What the customers in the list have spent so far (not what is at stake).")

user_access = current_access(view.settings)
show_pii = user_access.can_see_pii
if not user_access.can_see_customers:
    st.info(f"Your role ({user_access.role}) sees aggregates only; customer lists need the analyst or marketing role.",
            icon=":material/lock:")
    page = None
else:
    page = query(view, "winback_segment", **rules.params(), opted_in_only=False, show_pii=show_pii,
                 limit=PAGE_SIZE, offset=0)
total = int(page["total_matches"].iloc[0]) if page is not None and len(page) else 0
if page is not None and total == 0:
    empty("Nobody matches these rules. Remove a rule or widen a range.")
elif page is not None:
    if not show_pii:
        st.caption("E-mail addresses are masked for your role; the **marketing** role sees and downloads real ones.")
    shown = page[["customer_id", "email", "lifecycle_state", "winback_reason", "p_alive", "expected_next_order_on",
                  "expected_orders_90d", "expected_orders_365d", "predicted_value_90d", "predicted_clv_365d",
                  "value_at_stake_365d", "revenue", "days_since_last_order", "rfm_segment", "latest_nps_category",
                  "has_open_complaint", "is_marketing_opt_in"]].copy()
    shown["winback_reason"] = [formatting.humanise_words(text) for text in shown["winback_reason"]]
    table(shown, key="winback_customers",
          kinds={"expected_orders_90d": "decimal", "expected_orders_365d": "decimal", "predicted_value_90d": "money",
                 "value_at_stake_365d": "money", "p_alive": "rate", "expected_next_order_on": "date",
                 "winback_reason": "text"},
          headers={"email": "E-mail" if show_pii else "E-mail (masked)",
                   "p_alive": "Chance still a customer"},
          column_config={"Why this customer": st.column_config.TextColumn("Why this customer", width="large")})
    if total > len(page):
        st.caption(f"Showing the {len(page):,} with the most value at stake of {total:,}; the download has all of "
                   "them.")

    st.markdown("**Export for a campaign**")
    consent_column, holdout_column, seed_column = st.columns(3)
    honour_opt_in = consent_column.checkbox(
        "Only customers who opted in to marketing", value=True, key="consent", bind="query-params",
        disabled=not opt_in_known,
        help="Customers without marketing opt-in are left out of the file (and counted)." if opt_in_known else
        "No marketing opt-in was exported, so nobody can be left out for it: check consent before sending.",
    )
    holdout_percent = holdout_column.number_input(
        "Holdout (%)", min_value=0.0, max_value=100 * winback.MAX_HOLDOUT_SHARE, value=100 * winback.DEFAULT_HOLDOUT_SHARE,
        step=1.0, format="%.0f", key="holdout", bind="query-params",
        help="Kept out of the file at random within each lifecycle state, so the Campaigns page can compare who "
             "got the campaign with who did not. 0 keeps nobody back (and nothing can be measured).",
    )
    seed = seed_column.number_input(  # a float box: an integer one crashes on ?seed=inf (see the days boxes)
        "Random seed", min_value=0.0, max_value=float(2**31 - 1), value=None, step=1.0, format="%.0f", key="seed",
        bind="query-params",
        placeholder=view.as_of.strftime("%Y%m%d"), help="The same seed and list give the same holdout.",
    )
    request = winback.ListRequest(
        view.as_of, rules, view.filters.segment,
        winback.ExportOptions(opted_in_only=bool(honour_opt_in) or not opt_in_known,
                              holdout_share=float(holdout_percent or 0) / 100,
                              seed=None if seed is None else int(seed)),
    )
    eligible = int(totals["opted_in_customers"]) if request.options.opted_in_only and opt_in_known else \
        int(totals["customers"])
    held_back = int(request.options.holdout_share * eligible + 0.5)  # per state in the file's description
    excluded = int(totals["customers"]) - eligible
    st.caption(
        f"{formatting.plural(int(totals['customers']), 'customer')} match; "
        + (f"{formatting.plural(excluded, 'customer')} without marketing opt-in left out; " if opt_in_known and
           request.options.opted_in_only else "")
        + f"about {formatting.plural(held_back, 'customer')} held out ({formatting.rate(request.options.holdout_share)},"
        f" seed {request.seed}) as campaign **{request.campaign_id}**. The holdout is recorded in the app's state "
        "folder, never in the file; the Campaigns page measures the lift."
    )
    if not opt_in_known:
        st.warning("No marketing opt-in was exported, so the file may include people who did not agree to marketing "
                   "e-mails. Check consent before sending.", icon=":material/warning:")

    file_name = request.file_name()

    def download_csv() -> str:
        """Built on click: the file, its campaign and holdout recorded in the state folder, the audit log."""
        cursor = view.database.cursor(view.as_of, model=False)
        try:
            export = winback.build_export(cursor, request, show_pii, opt_in_known)
        finally:
            cursor.close()
        winback.record_campaign(view.settings.state_dir, export, user_access.user, view.settings.timezone)
        access.record_download(view.settings.state_dir, user_access, "win-back list", {
            **request.segment.params(), **rules.params(), "campaign_id": request.campaign_id}, export.exported,
            file_name)
        return export.csv_text

    def download_description() -> str:
        cursor = view.database.cursor(view.as_of, model=False)
        try:
            export = winback.build_export(cursor, request, show_pii, opt_in_known)
        finally:
            cursor.close()
        return json.dumps(export.description(), indent=2) + "\n"

    csv_column, description_column = st.columns(2)
    csv_column.download_button(
        "Download the campaign list (CSV)", mime="text/csv", icon=":material/download:", key="winback_download",
        data=download_csv, file_name=file_name, disabled=not user_access.can_download, on_click="ignore",
        width="stretch",
    )
    description_column.download_button(
        "Download its description (rules, counts, columns)", mime="application/json", icon=":material/description:",
        key="winback_description", data=download_description, file_name=file_name.replace(".csv", ".json"),
        disabled=not user_access.can_download, on_click="ignore", width="stretch",
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
auc_gap = round(result.auc - result.baseline_auc, 3)
auc_delta = f"{auc_gap:+.3f} vs recency" if auc_gap else "0.000 vs recency"  # no sign, no arrow: not better
auc_column.metric("AUC, churn risk", f"{result.auc:.3f}", delta=auc_delta,
                  **delta_style(auc_delta, "normal"))
baseline_column.metric("AUC, days since last order", f"{result.baseline_auc:.3f}")
predicted_column.metric("Orders predicted", figures.format_count(result.predicted_orders),
                        delta=None if pd.isna(result.prediction_error) else f"{result.prediction_error:+.1%} vs placed",
                        delta_color="off",
                        help="Expected purchase days in the 90 days after the cutoff, summed over customers.")
actual_column.metric("Orders placed", figures.format_count(result.actual_orders),
                     help="Purchase days with a valid order in the 90 days after the cutoff.")
if not pd.isna(result.prediction_error):
    direction = "too many" if result.prediction_error > 0 else "too few"
    note = (f"In this backtest the model predicted {formatting.rate(abs(result.prediction_error))} {direction} "
            "orders; expected orders elsewhere on this page carry the same uncertainty.")
    if result.season_used and not pd.isna(result.predicted_orders_calendar):
        calendar_error = (result.predicted_orders_calendar - result.actual_orders) / result.actual_orders
        note += (f" Without the seasonal clock it would have predicted {figures.format_count(result.predicted_orders_calendar)}"
                 f" ({calendar_error:+.1%}).")
    elif not result.season_used:
        note += (" Seasonality is not modelled here (it needs two years of history), so a horizon with a busy "
                 "season is under-predicted and a quiet one over-predicted.")
    st.caption(note)
if result.auc <= result.baseline_auc:
    st.warning("On this data the model ranks no better than days since the last order: use the list with care.",
               icon=":material/warning:")
chart(figure(churn_figures.backtest_auc, result.auc, result.baseline_auc, result.method), key="backtest_auc")
if len(result.calibration):
    chart(figure(churn_figures.calibration, result.calibration, result.horizon_days), key="backtest_calibration")
