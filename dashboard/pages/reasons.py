"""Why customers leave: what went wrong (ticket categories, how they ended, return reasons) and what customers
write about (comment and ticket themes, their sentiment), each tied to whether the customer ordered again within
90 days; and satisfaction over time per touchpoint and acquisition channel."""

from datetime import timedelta

import streamlit as st

from dashboard import formatting, reason_figures, themes
from dashboard.pages.common import (
    PAGE_SIZE, audited_csv, chart, current_access, current_view, empty, fetch_all, figure, query, require_data, table,
)

st.title("Why customers leave")
st.caption(
    "Every order at least 90 days old is judged by whether the same customer ordered again within 90 days "
    "(the Care page's repurchase rate), and grouped by what went wrong with it or what was written about it. "
    "Bars show 95% intervals; grey bars rest on fewer than 30 orders. These are associations, not causes: "
    "customers who complain also differ in other ways."
)
view = current_view()
if not require_data(view):
    st.stop()
tables = view.database.catalog.tables
start, end = view.filters.start_date, view.filters.end_date
user_access = current_access(view.settings)


def has_column(table_name: str, column: str) -> bool:
    """Whether the export has the table and the column (an optional column that is missing is read as empty)."""
    source = tables[table_name]
    return source.is_usable and source.columns.get(column, (None,))[0] is not None


def range_sentence(rows) -> str:
    """Which orders the numbers rest on: the trend range, less the last 90 days, which cannot be judged yet."""
    first, last = rows["first_anchor_day"].iloc[0], rows["last_anchor_day"].iloc[0]
    text = f"Orders placed {formatting.date_text(first)} – {formatting.date_text(last)}"
    if end is None or end > view.as_of - timedelta(days=90):
        text += " (orders of the last 90 days are too recent to judge)"
    return text


def customer_list(kind: str, value, outcome, source: str, key: str, what: str) -> None:
    """The customers behind one group, the ones who have not ordered since first, with an audited download."""
    if not user_access.can_see_customers:
        st.info(f"Your role ({user_access.role}) sees aggregates only; customer lists need the analyst or "
                "marketing role.", icon=":material/lock:")
        return
    only_lost = st.toggle("Only customers who have not ordered since", value=True, key=f"{key}_lost")
    params = dict(fact_kind=kind, fact_value=value, outcome=outcome, source=source,
                  ordered_since=False if only_lost else None, show_email=user_access.can_see_pii)
    rows = query(view, "reasons_customers", **params, limit=PAGE_SIZE, offset=0)
    if rows is None:
        return
    total = int(rows["total_matches"].iloc[0]) if len(rows) else 0
    if total == 0:
        empty("Nobody matches: every customer with such an order has ordered since." if only_lost
              else "No customer of this segment had such an order in the range.")
        return
    st.markdown(f"**{formatting.count(total)}** {'customers' if total != 1 else 'customer'} with {what}"
                + (", who have not ordered since" if only_lost else "") + ".")
    table(rows.drop(columns=["total_matches"]), key=f"{key}_table",
          headers={"email": "E-mail" if user_access.can_see_pii else "E-mail (masked)",
                   "group_orders": "Orders like this", "repurchased_orders": "Followed by an order within 90 days",
                   "last_group_order_at": "Latest such order", "has_ordered_since": "Ordered since",
                   "count_orders": "Orders", "revenue": "Lifetime revenue", "last_ordered_at": "Last order"})
    if total > len(rows):
        st.caption(f"Showing the first {len(rows):,} of {total:,}; the download has all of them.")
    file_name = f"why-{kind}-{formatting.humanise(str(value)).lower().replace(' ', '-')}-{view.as_of}.csv"

    def everyone():
        return fetch_all(view, "reasons_customers", **params, limit=None, offset=0).drop(columns=["total_matches"])

    st.download_button("Download CSV", mime="text/csv", icon=":material/download:", key=f"{key}_download",
                       data=audited_csv(view, f"why customers leave: {what}", file_name, everyone,
                                        {**view.filters.params(), **params}),
                       file_name=file_name, disabled=not user_access.can_download, on_click="ignore")


def example_source(row) -> str:
    """Where a text comes from, in words: ``NPS 5, after delivery`` or ``Ticket: delivery delay``."""
    if row.source == "ticket":
        return f"Ticket: {formatting.label(row.category, 'category').lower()}"
    score = formatting.decimal(row.score, 0) if formatting.is_missing(row.score) or float(row.score).is_integer() \
        else formatting.decimal(row.score, 1)
    touchpoint = formatting.label(row.touchpoint, "touchpoint")
    return f"{formatting.label(row.kind, 'kind')} {score}" + (
        f", {touchpoint[0].lower()}{touchpoint[1:]}" if formatting.is_recorded(row.touchpoint) else "")


def picked_from_chart(chart_key: str, picks: dict) -> None:
    """A clicked bar picks what is listed below: ``picks`` maps a session key to (customdata position, {shown
    label: stored value}) (None: the value as it is)."""
    event = st.session_state.get(chart_key)
    points = (event.selection.points if event is not None and hasattr(event, "selection") else []) or []
    if points and points[0].get("customdata"):
        for state_key, (position, values) in picks.items():
            shown = points[0]["customdata"][position]
            if values is None or shown in values:
                st.session_state[state_key] = shown if values is None else values[shown]


# What went wrong ---------------------------------------------------------------------------------------------

st.header("What went wrong, and what it cost")
VIEWS = {"ticket_category": "Ticket category", "category_outcome": "Category and how it ended",
         "return_reason": "Return reason"}
has_care = tables["tickets"].is_usable or tables["returns"].is_usable
if not has_care:
    empty("No tickets and no returns were exported (or their files could not be read), so there is nothing to "
          "group orders by. Export tickets (with a category) or returns (with a reason) to see what went wrong.")
    dimension = None
else:
    dimension = st.segmented_control("Group orders by", options=list(VIEWS), format_func=VIEWS.get,
                                     default="ticket_category", key="why_by",
                                     bind="query-params") or "ticket_category"
needs = "tickets" if dimension != "return_reason" else "returns"
if dimension is None:
    pass
elif not tables[needs].is_usable:
    empty(f"No {needs} were exported (or the file could not be read), so orders cannot be grouped by "
          f"{VIEWS[dimension].lower()}. The Data page lists what was found.")
elif dimension == "return_reason" and not has_column("returns", "reason"):
    empty("The returns export has no reason column, so returns cannot be told apart by why they came back.")
else:
    reasons = query(view, "reasons_repurchase", dimension=dimension)
    if reasons is not None:
        if reasons.empty or reasons["anchor_orders"].sum() == 0:
            empty(f"No order with a {'return' if needs == 'returns' else 'ticket'} in the trend range is 90 days "
                  "old yet. Widen the trend range in the sidebar.")
        else:
            field = "reason" if dimension == "return_reason" else "category"
            worst = reasons.iloc[0]
            st.caption(range_sentence(reasons) + f", {formatting.count(worst['baseline_anchor_orders'])} of them "
                       f"without a ticket or return ({formatting.rate(worst['baseline_rate_90d'])} ordered again "
                       "within 90 days).")
            if dimension != "category_outcome" and (worst["repeat_orders_lost"] or 0) > 0:
                st.markdown(
                    f"**{reason_figures.group_label(worst['fact_value'], field)}** cost the most: "
                    f"{formatting.rate(worst['repurchase_rate_90d'])} of its {formatting.count(worst['anchor_orders'])} "
                    f"orders were followed by another within 90 days against "
                    f"{formatting.rate(worst['baseline_rate_90d'])} without a problem, about "
                    f"**{formatting.count(round(worst['repeat_orders_lost']))} fewer repeat orders**.")
            title = {"ticket_category": "90-day repurchase after a ticket, by category",
                     "category_outcome": "90-day repurchase after a ticket, by category and how it ended",
                     "return_reason": "90-day repurchase after a return, by reason"}[dimension]
            if dimension == "category_outcome":
                bars = figure(reason_figures.outcome_bars, reasons, title)
            else:
                bars = figure(reason_figures.reason_bars, reasons, field, title)
            by_label = {reason_figures.group_label(value, field): value for value in reasons["fact_value"]}
            picks = {"why_group": (0, by_label)}
            if dimension == "category_outcome":
                picks["why_outcome"] = (1, {formatting.label(outcome): outcome
                                            for outcome in reason_figures.OUTCOME_COLOURS})
            chart(bars, key="why_chart", on_select=lambda: picked_from_chart("why_chart", picks),
                  selection_mode="points")
            with st.expander("The numbers behind the chart"):
                table(reasons.drop(columns=["first_anchor_day", "last_anchor_day"]), key="why_numbers",
                      fields={"fact_value": field, "outcome": "outcome"},
                      headers={"fact_value": VIEWS["ticket_category" if field == "category" else "return_reason"],
                               "anchor_orders": "Orders", "repurchased_orders": "Followed by an order within 90 days",
                               "repurchase_rate_90d": "Ordered again within 90 days", "ci_low": "95% low",
                               "ci_high": "95% high", "baseline_anchor_orders": "Orders without a problem",
                               "baseline_rate_90d": "Without a problem", "rate_gap": "Gap",
                               "repeat_orders_lost": "Repeat orders lost"},
                      kinds={"rate_gap": "rate", "repeat_orders_lost": "count", "fact_value": "label",
                             "outcome": "label"})

            st.subheader("Who is behind a bar")
            values = list(dict.fromkeys(reasons["fact_value"].tolist()))
            if st.session_state.get("why_group") not in values:
                st.session_state.pop("why_group", None)
            picked = st.selectbox(
                VIEWS["ticket_category" if field == "category" else "return_reason"], options=values,
                format_func=lambda value: reason_figures.group_label(value, field), key="why_group",
                help="Click a bar or pick a group here.")
            outcome = None
            if dimension == "category_outcome":
                outcome = st.segmented_control(
                    "How it ended", options=list(reason_figures.OUTCOME_COLOURS), format_func=formatting.label,
                    key="why_outcome") or None
            kind = "return_reason" if dimension == "return_reason" else "ticket_category"
            what = f"a {'return' if kind == 'return_reason' else 'ticket'} about " \
                   f"{reason_figures.group_label(picked, field).lower()}"
            customer_list(kind, picked, outcome, "any", "why_customers",
                          what + (f", {formatting.label(outcome).lower()}" if outcome else ""))


# What customers write about --------------------------------------------------------------------------------------

def theme_section() -> None:
    """Themes of what customers wrote, their repurchase gap and trend, examples and the customers behind them."""
    st.header("What customers write about")
    has_comments = has_column("surveys", "comment")
    has_ticket_text = has_column("tickets", "subject") or has_column("tickets", "body")
    if not has_comments and not has_ticket_text:
        missing = ("No surveys were exported" if not tables["surveys"].is_usable
                   else "The surveys export has no comment column")
        missing += (", and no tickets were exported" if not tables["tickets"].is_usable
                    else ", and the tickets carry no subject or body")
        empty(f"{missing}, so there is no text to group into themes. Export survey comments (surveys.comment) or "
              "ticket texts (tickets.subject, tickets.body) to see them.")
        return
    if not has_comments:
        st.caption(("No surveys were exported" if not tables["surveys"].is_usable else
                    "The surveys export has no comment column") + ": the themes come from ticket texts only.")
    elif not has_ticket_text and tables["tickets"].is_usable:
        st.caption("The tickets carry no subject or body: the themes come from survey comments only.")

    SOURCES = {"any": "Comments and tickets", "survey": "Survey comments", "ticket": "Ticket texts"}
    source_options = [option for option, present in (("any", has_comments and has_ticket_text),
                                                      ("survey", has_comments), ("ticket", has_ticket_text)) if present]
    source = st.segmented_control("Texts", options=source_options, format_func=SOURCES.get, default=source_options[0],
                                  key="why_texts", bind="query-params") or source_options[0]
    summary = query(view, "theme_summary", source=source)
    if summary is None:
        return
    themed = summary[summary["theme_id"] > 0]
    total_texts = int(summary["texts"].sum())
    if total_texts == 0:
        empty("Nobody wrote anything in the trend range for this segment. Widen the trend range in the sidebar.")
        return
    unthemed = summary.set_index("theme_id")
    counted = ", ".join(f"{formatting.count(unthemed.loc[theme_id, 'texts'])} {label.lower()}"
                        for theme_id, label in themes.SPECIAL_THEMES.items() if unthemed.loc[theme_id, "texts"] > 0)
    st.caption(f"{formatting.count(total_texts)} texts in the trend range" + (f": {counted}" if counted else "") +
               ". Themes are found once per export (scikit-learn TF-IDF and NMF); sentiment is VADER's, -1 to 1.")
    if themed["texts"].sum() == 0:
        english = int(summary.loc[summary["theme_id"] >= themes.NO_CLEAR_THEME, "fitted_texts"].sum())
        empty(f"Too few texts to find themes: {english:,} different English texts with words in this export, "
              f"at least {themes.MIN_TEXTS_FOR_THEMES} are needed.")
    else:
        rising = themed[themed["is_rising"]]
        for _, theme in rising.iterrows():
            st.warning(f"**Rising: {theme['label']}** — {formatting.rate(theme['recent_texts'] / theme['recent_total'])} "
                       f"of texts in the last 91 days, against "
                       f"{formatting.rate(theme['prior_texts'] / theme['prior_total'] if theme['prior_total'] else None)}"
                       " in the year before.", icon=":material/trending_up:")
        cost = themed[(themed["anchor_orders"] >= reason_figures.SMALL_SAMPLE) & (themed["ci_high"] < themed["other_ci_low"])]
        if len(cost):
            worst = cost.sort_values("rate_gap", ascending=False).iloc[0]
            st.markdown(f"Customers who wrote about **{worst['label']}** came back least: "
                        f"{formatting.rate(worst['repurchase_rate_90d'])} ordered again within 90 days against "
                        f"{formatting.rate(worst['other_rate_90d'])} of every other order.")
        with_texts = themed[themed["texts"] > 0]
        shown = with_texts.assign(rising=with_texts["is_rising"].map({True: "Rising", False: ""}))[
            ["label", "texts", "text_share", "mean_nps_score", "mean_csat_score", "mean_sentiment", "anchor_orders",
             "repurchase_rate_90d", "other_rate_90d", "rising"]]
        table(shown, key="why_themes",
              headers={"label": "Theme (its strongest words)", "texts": "Texts", "text_share": "Share of texts",
                       "mean_nps_score": "Mean NPS score (0-10)", "mean_csat_score": "Mean CSAT score (1-5)",
                       "mean_sentiment": "Mean sentiment (-1 to 1)", "anchor_orders": "Orders 90+ days old",
                       "repurchase_rate_90d": "Ordered again within 90 days", "other_rate_90d": "Every other order",
                       "rising": "Trend"},
              kinds={"mean_nps_score": "decimal", "mean_csat_score": "decimal", "mean_sentiment": "decimal",
                     "label": "text", "rising": "text"})
        left, right = st.columns(2)
        with left:
            if themed["anchor_orders"].sum():
                chart(figure(reason_figures.theme_bars, themed, "90-day repurchase after writing about a theme"),
                      key="why_theme_chart",
                      on_select=lambda: picked_from_chart("why_theme_chart", {"why_theme": (0, None)}),
                      selection_mode="points")
            else:
                empty("No order with a text in the trend range is 90 days old yet, so repurchase cannot be compared.")
        with right:
            trend = query(view, "theme_trend", source=source)
            if trend is not None and len(trend):
                labels = dict(zip(summary["theme_id"], summary["label"]))
                top = themed.sort_values("texts", ascending=False)["theme_id"].head(6).tolist()
                chart(figure(reason_figures.theme_trend, trend[trend["theme_id"].isin(top)], labels,
                             view.filters.grain, f"Share of texts per {view.filters.grain}, six largest themes"),
                      key="why_theme_trend")

        st.subheader("What they wrote")
        theme_ids = summary.loc[summary["texts"] > 0, "theme_id"].tolist()
        labels = dict(zip(summary["theme_id"], summary["label"]))
        if st.session_state.get("why_theme") not in theme_ids:
            st.session_state.pop("why_theme", None)
        picked_theme = st.selectbox("Theme", options=theme_ids, format_func=labels.get, key="why_theme",
                                    help="Click a bar or pick a theme here.")
        examples = query(view, "theme_examples", theme_id=int(picked_theme), source=source, limit=PAGE_SIZE, offset=0)
        if examples is not None and len(examples):
            st.caption(f"{formatting.count(examples['total_matches'].iloc[0])} texts, newest first. "
                       "E-mail addresses and phone numbers are masked.")
            table(examples.assign(about=[example_source(row) for row in examples.itertuples()])[
                      ["text_at", "about", "sentiment", "text"]],
                  key="why_examples",
                  headers={"text_at": "Written", "about": "From", "text": "Text", "sentiment": "Sentiment (-1 to 1)"},
                  kinds={"sentiment": "decimal", "text": "text", "about": "text"})
        customer_list("theme", str(int(picked_theme)), None, source, "why_theme_customers",
                      f"an order they wrote about ({labels[picked_theme]})")


theme_section()


# Satisfaction over time ----------------------------------------------------------------------------------------

st.header("Satisfaction over time by touchpoint and channel")
if not tables["surveys"].is_usable:
    empty("No surveys were exported, so there is no satisfaction to follow over time.")
else:
    left, right = st.columns(2)
    metric = left.segmented_control("Score", options=["nps", "csat"], format_func={"nps": "NPS", "csat": "CSAT"}.get,
                                    default="nps", key="why_score", bind="query-params") or "nps"
    by = right.segmented_control("Per", options=["touchpoint", "acquisition_channel"],
                                 format_func={"touchpoint": "Touchpoint",
                                              "acquisition_channel": "Acquisition channel"}.get,
                                 default="touchpoint", key="why_per", bind="query-params") or "touchpoint"
    trend = query(view, "satisfaction_trend_by_dimension", dimension=by)
    if trend is not None:
        counts = trend["nps_responses" if metric == "nps" else "csat_responses"]
        if counts.sum() == 0:
            empty(f"No {metric.upper()} responses in the trend range for this segment.")
        else:
            per = "touchpoint" if by == "touchpoint" else "acquisition channel"
            chart(figure(reason_figures.satisfaction_lines, trend, metric, by, view.filters.grain,
                         f"{metric.upper()} per {view.filters.grain} and {per}"),
                  key="why_satisfaction")
            st.caption("Hollow points rest on fewer than 30 responses; a dotted end is a period not over yet.")
