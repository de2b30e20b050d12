"""What every page shares: the sidebar filters (kept in the URL), the view they define, and small
rendering helpers (KPI cards, charts, empty states, paged tables)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pandas as pd
import streamlit as st

from dashboard import access, cache, formatting
from dashboard.filters import GRAINS, SEGMENT_DIMENSIONS, Filters, Segment
from dashboard.model import Database
from dashboard.queries import QueryError, run_query
from dashboard.settings import Settings, SettingsError, load_settings

PAGE_SIZE = 50
FILTER_KEYS = {
    "acquisition_channel": ("channel", "channels"),
    "region": ("region", "regions"),
    "first_category": ("category", "categories"),
    "loyalty_tier": ("tier", "tiers"),
}


@dataclass(frozen=True)
class View:
    """The state every page renders: the database, the as-of date and the filters."""

    settings: Settings
    database: Database | None
    as_of: date | None
    filters: Filters
    problem: str | None = None

    @property
    def is_usable(self) -> bool:
        """True when there are orders to compute metrics from."""
        return self.database is not None and self.database.has_orders and self.as_of is not None


def build_view() -> View:
    """Open the exports (cached) and draw the shared sidebar; store the view for the pages."""
    try:
        settings = load_settings()
    except SettingsError as error:
        view = View(Settings(), None, None, Filters(), problem=f"Settings problem: {error}")
        st.session_state["view"] = view
        return view
    try:
        database = cache.database(settings)
    except Exception as error:  # the Data page explains; no traceback for users
        view = View(settings, None, None, Filters(), problem=f"The exports could not be opened: {error}")
        st.session_state["view"] = view
        return view
    if not database.has_orders:
        view = View(settings, database, None, Filters(),
                    problem="The orders export is missing, unusable or empty, so no metric can be computed. "
                            "The Data page lists what was found and what is wrong.")
        st.session_state["view"] = view
        return view
    view = _sidebar(settings, database)
    st.session_state["view"] = view
    return view


def _sidebar(settings: Settings, database: Database) -> View:
    """As-of date, trend range, grain and segment filters, each bound to a URL query parameter."""
    latest = database.default_as_of()
    sidebar = st.sidebar
    sidebar.markdown("### Filters")
    as_of = sidebar.date_input(
        "As of", value=latest, min_value=date(1990, 1, 1), max_value=latest, key="as_of", bind="query-params",
        help="Everything is computed as the company stood at the end of this day. Default: the latest order.",
    )
    default_start = max(date(1990, 1, 1), as_of - timedelta(days=365))
    trend_range = sidebar.date_input(
        "Trend range", value=(default_start, as_of), min_value=date(1990, 1, 1), max_value=latest,
        key="range", bind="query-params", help="The periods shown in trend charts.",
    )
    start_date, end_date = _range_bounds(trend_range, default_start, as_of)
    grain = sidebar.segmented_control(
        "Period", options=list(GRAINS), default="month", key="grain", bind="query-params",
        help="Calendar grain of cohorts and trends.",
    ) or "month"
    options = _segment_options(database, as_of)
    chosen = {}
    for dimension, label in SEGMENT_DIMENSIONS.items():
        url_key, param = FILTER_KEYS[dimension]
        values = sidebar.multiselect(
            label, options=options.get(dimension, []), default=[], key=url_key, bind="query-params",
            placeholder="All", help=f"Customers by {label.lower()} (from their profile or first order).",
        )
        chosen[param] = tuple(values) if values else None
    filters = Filters(Segment(**chosen), start_date=start_date, end_date=end_date, grain=grain)
    _freshness(sidebar, database, latest)
    return View(settings, database, as_of, filters)


def _range_bounds(value, default_start: date, default_end: date) -> tuple[date, date]:
    """A (start, end) pair from a date_input range, tolerating a half-picked range."""
    if isinstance(value, (tuple, list)):
        start = value[0] if len(value) > 0 else default_start
        end = value[1] if len(value) > 1 else default_end
        return start, end
    return default_start, default_end


def _segment_options(database: Database, as_of: date) -> dict[str, list[str]]:
    """Values per segment dimension, most customers first."""
    frame = cache.query(database, as_of, "segment_values")
    return {dimension: rows["segment_value"].tolist() for dimension, rows in frame.groupby("dimension", sort=False)}


def _freshness(sidebar, database: Database, latest: date) -> None:
    """How old the newest order is, with a warning past the configured age."""
    age = (database.opened_at.date() - latest).days
    text = f"Latest order: **{latest:%d %b %Y}** ({age} days ago)"
    if age > database.settings.stale_after_days:
        sidebar.warning(f"{text}. The exports may be stale.", icon=":material/schedule:")
    else:
        sidebar.caption(text)
    sidebar.caption(f"Data version `{database.fingerprint[:8]}` · read {database.opened_at:%d %b %H:%M} UTC")


def current_access(settings: Settings) -> access.Access:
    """The signed-in user's role (Streamlit's st.login when configured), else the default role."""
    user = st.user
    is_logged_in = bool(user.get("is_logged_in", False)) if hasattr(user, "get") else False
    return access.resolve_access(settings, user.get("email") if is_logged_in else None, is_logged_in)


def audited_csv(view: "View", what: str, file_name: str, build, segment: dict):
    """A download callable that builds the CSV, then records who downloaded what in the audit log."""
    user_access = current_access(view.settings)

    def download() -> str:
        frame = build()
        access.record_download(view.settings.state_dir, user_access, what, segment, len(frame), file_name)
        return frame.to_csv(index=False)

    return download


def current_view() -> View:
    """The view the router built for this rerun."""
    view = st.session_state.get("view")
    if view is None:
        view = build_view()
    return view


def require_data(view: View) -> bool:
    """Show why a page cannot render (and stop) when there are no usable orders."""
    if view.problem:
        st.error(view.problem, icon=":material/error:")
        st.page_link("dashboard/pages/data.py", label="Open the Data page", icon=":material/database:")
        return False
    return view.is_usable


def query(view: View, name: str, **params) -> pd.DataFrame | None:
    """A cached query with the view's filters; a failure is shown as a message, not a traceback."""
    try:
        return cache.query(view.database, view.as_of, name, **{**view.filters.params(), **params})
    except QueryError as error:
        st.error(f"This view could not be computed: {error}", icon=":material/error:")
        return None


def fetch_all(view: View, name: str, **params) -> pd.DataFrame:
    """An uncached query on a fresh cursor: for download callables, which run outside the script thread."""
    cursor = view.database.cursor(view.as_of)
    try:
        return run_query(cursor, name, **{**view.filters.params(), **params})
    finally:
        cursor.close()


def chart(fig, key: str, **kwargs):
    """A Plotly chart at full width (with a key so selections and tests can find it)."""
    return st.plotly_chart(fig, width="stretch", key=key, config={"displaylogo": False}, **kwargs)


def empty(message: str) -> None:
    """An empty state that says why there is nothing to show."""
    st.info(message, icon=":material/info:")


def change_text(current, previous, kind: str) -> str | None:
    """``+4.2%`` for counts and money, ``+1.3 pts`` for rates and NPS; None when not comparable."""
    return formatting.change(current, previous, kind)


def format_value(value, kind: str) -> str:
    """Display text of a KPI value by kind (count, money, rate, score, days), short enough for a card."""
    return formatting.number(value, kind, short=True)


def table(frame: pd.DataFrame, key: str, kinds: dict | None = None, fields: dict | None = None,
          headers: dict | None = None, column_config: dict | None = None, **kwargs):
    """A table as people read it (formatting.frame_for_screen): human headers, labelled values, one number
    format per kind, "–" for a missing number. ``column_config`` (keyed by header) adds or overrides columns."""
    shown, formats = formatting.frame_for_screen(frame, kinds, fields, headers)
    config = {}
    for name, (kind, number_format) in formats.items():
        if kind == "number":
            config[name] = st.column_config.NumberColumn(name, format=number_format)
        elif kind == "date":
            config[name] = st.column_config.DatetimeColumn(name, format=number_format)
        elif kind == "bool":
            config[name] = st.column_config.CheckboxColumn(name)
    config.update(column_config or {})
    return st.dataframe(shown, width="stretch", hide_index=True, key=key, column_config=config,
                        placeholder=formatting.MISSING, **kwargs)


def paged_table(frame: pd.DataFrame, total: int, key: str, column_config: dict | None = None) -> None:
    """Show one page of rows with 'showing x of y'; the full list goes to a download instead."""
    st.caption(f"Showing {len(frame):,} of {total:,} rows" if total > len(frame) else formatting.plural(total, "row"))
    table(frame, key=key, column_config=column_config)


def today() -> date:
    """Today's date (UTC)."""
    return datetime.utcnow().date()
