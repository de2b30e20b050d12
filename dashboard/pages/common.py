"""What every page shares: the sidebar filters (kept in the URL), the view they define, and small
rendering helpers (KPI cards, charts, empty states, paged tables)."""

from __future__ import annotations

import atexit
import gc
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard import access, cache, formatting
from dashboard.filters import GRAINS, SEGMENT_DIMENSIONS, Filters, Segment
from dashboard.model import Database
from dashboard.queries import QueryError, run_query
from dashboard.settings import Settings, SettingsError, load_settings

# The server's objects so far (Streamlit, pandas, Plotly, DuckDB and this package, imported once and kept for the
# life of the process) leave Python's cyclic garbage collector: a full collection walks every tracked object while
# holding the GIL, so every session waits for it. Measured in a server process after the eight pages' first views
# at 1M orders: 108 ms a full collection with 215k objects tracked, ~1 in 12 reruns (bench/README.md, "Garbage
# collection"). Nothing frozen is ever freed by the collector, so this happens once per process, at the first
# import, before any cache holds a figure or a frame: not again when Streamlit imports this module anew after a
# source file changed (that would freeze the cached figures, which only the collector frees). They are unfrozen at
# exit, so the interpreter's last collection frees them as before.
if gc.get_freeze_count() == 0:
    gc.freeze()
    atexit.register(gc.unfreeze)

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
    incomplete_banner(database)
    if not database.has_orders:
        view = View(settings, database, None, Filters(),
                    problem="The orders export is missing, unusable or empty, so no metric can be computed. "
                            "The Data page lists what was found and what is wrong.")
        st.session_state["view"] = view
        return view
    view = _sidebar(settings, database)
    st.session_state["view"] = view
    return view


def incomplete_banner(database: Database) -> None:
    """On every page: each table with files that could not be read (cut short, corrupt) and that its numbers
    exclude them, so a drop is never taken for a real one; and a prepared folder built by other code."""
    for message in database.incomplete_tables().values():
        st.error(f"{message}. The Data page lists the files and why.", icon=":material/warning:")
    if database.serving_problem:
        st.error(database.serving_problem, icon=":material/warning:")


# Where each segment dimension comes from: (table, column) pairs, the first exported one wins (model_customer_summary).
SEGMENT_SOURCES = {
    "acquisition_channel": (("customers", "acquisition_channel"), ("orders", "channel")),
    "region": (("customers", "region"), ("orders", "region")),
    "first_category": (("orders", "product_category"),),
    "loyalty_tier": (("customers", "loyalty_tier"),),
}
TABLE_NOUNS = {"orders": "orders", "surveys": "surveys", "customers": "customer profiles",
               "tickets": "support tickets", "returns": "returns", "campaigns": "campaigns"}
DATE_COMMIT_SCRIPT = Path(__file__).resolve().parent / "date_commit.js"


def is_exported(database: Database, table: str, column: str | None = None) -> bool:
    """True when the table was exported and readable (and, given a column, the column was in it)."""
    source = database.catalog.tables.get(table)
    if source is None or not source.is_usable:
        return False
    if column is None:
        return True
    mapped = source.columns.get(column)
    return bool(mapped and mapped[0])


def not_exported(tables: str | list | tuple, what: str) -> str:
    """``No support tickets exported: add `tickets` to the data folder to see complaint resolution.`` (several
    tables: ``No surveys or support tickets exported: add `surveys` and `tickets` ...``)."""
    names = [tables] if isinstance(tables, str) else list(tables)
    nouns = " or ".join(TABLE_NOUNS.get(name, name) for name in names)
    files = " and ".join(f"`{name}`" for name in names)
    return f"No {nouns} exported: add {files} to the data folder to see {what}."


def _sidebar(settings: Settings, database: Database) -> View:
    """As-of date, trend range, grain and segment filters, each bound to a URL query parameter.

    The dates may range from the first to the latest order. Streamlit 1.67's date field applies a typed date only
    when the focus leaves the field: Enter and Tab left it pending (Tab moves to the field's own calendar button),
    and the next click was spent applying it. ``date_commit.js`` moves the focus out on Enter and on Tab from the
    last part of the date, so a typed date applies on Enter, Tab and blur alike (tests/test_browser.py).
    """
    latest = database.default_as_of()
    first = _first_order_date(database, latest)
    sidebar = st.sidebar
    sidebar.markdown("### Filters")
    as_of = sidebar.date_input(
        "As of", value=latest, min_value=first, max_value=latest, key="as_of", bind="query-params",
        format="YYYY-MM-DD",
        help=f"Everything is computed as the company stood at the end of this day. From the first order "
             f"({formatting.date_text(first)}) to the latest ({formatting.date_text(latest)}, the default). "
             "Type a date and press Enter or Tab, or pick one from the calendar.",
    )
    default_start = max(first, as_of - timedelta(days=365))
    trend_range = sidebar.date_input(
        "Trend range", value=(default_start, as_of), min_value=first, max_value=latest,
        key="range", bind="query-params", format="YYYY-MM-DD",
        help="The periods shown in every trend chart (Overview included). Default: the year to the as-of date.",
    )
    start_date, end_date = _range_bounds(trend_range, default_start, as_of)
    grain = sidebar.segmented_control(
        "Period", options=list(GRAINS), default="month", key="grain", bind="query-params",
        help="Calendar period of cohorts and of every trend chart.",
    ) or "month"
    options = _segment_options(database, as_of)
    chosen = {}
    missing = []
    for dimension, label in SEGMENT_DIMENSIONS.items():
        url_key, param = FILTER_KEYS[dimension]
        values = options.get(dimension, [])
        if not segment_is_recorded(database, dimension, values):
            missing.append(label)
            chosen[param] = None
            continue
        url_values_as_labels(url_key, values, lambda value, field=dimension: formatting.label(value, field))
        picked = sidebar.multiselect(
            label, options=values, default=None, key=url_key, bind="query-params", placeholder="All",
            format_func=lambda value, field=dimension: formatting.label(value, field),
            help=f"Customers by {label.lower()} (from their profile or first order).",
        )
        chosen[param] = tuple(picked) if picked else None
    if missing:
        sidebar.caption(f"Not in these exports, so no filter: {', '.join(missing)}. "
                        "The Data page lists which columns were found.")
    filters = Filters(Segment(**chosen), start_date=start_date, end_date=end_date, grain=grain)
    _freshness(sidebar, database, latest)
    sidebar.html(f"<script>{DATE_COMMIT_SCRIPT.read_text(encoding='utf-8')}</script>", unsafe_allow_javascript=True,
                 width="content")
    return View(settings, database, as_of, filters)


def url_values_as_labels(key: str, options, format_func, many: bool = True) -> None:
    """A widget bound to the URL keeps the text it shows (``?channel=Organic+search``); a link made with the
    stored value (``?channel=organic_search``, as links were before values had labels) is honoured by setting the
    widget's value from it on the first run, so old links keep working."""
    if key in st.session_state:
        return
    values = st.query_params.get_all(key)
    shown = {format_func(option) for option in options}
    if not values or all(value in shown for value in values):
        return
    by_text = {str(option): option for option in options}
    picked = [by_text[value] for value in values if value in by_text]
    if picked:
        st.session_state[key] = picked if many else picked[0]


def segment_is_recorded(database: Database, dimension: str, values: list) -> bool:
    """True when a segment dimension's column was exported and at least one customer has a value recorded."""
    if not any(is_exported(database, table, column) for table, column in SEGMENT_SOURCES[dimension]):
        return False
    return any(formatting.is_recorded(value) for value in values)


def recorded_dimensions(view: View) -> dict[str, str]:
    """The segment dimensions these exports record ({dimension: label}), for breakdown pickers."""
    options = _segment_options(view.database, view.as_of)
    return {dimension: label for dimension, label in SEGMENT_DIMENSIONS.items()
            if segment_is_recorded(view.database, dimension, options.get(dimension, []))}


def _first_order_date(database: Database, latest: date) -> date:
    """The local date of the first valid order (the earliest date the sidebar offers)."""
    try:
        frame = cache.query(database, latest, "order_date_range")
        value = frame["first_order_date"].iloc[0]
        return latest if pd.isna(value) else pd.Timestamp(value).date()
    except (QueryError, IndexError, KeyError):
        return latest - timedelta(days=3650)


def _range_bounds(value, default_start: date, default_end: date) -> tuple[date, date]:
    """A (start, end) pair from a date_input range, tolerating a half-picked range."""
    if isinstance(value, (tuple, list)):
        start = value[0] if len(value) > 0 else default_start
        end = value[1] if len(value) > 1 else default_end
        return start, end
    return default_start, default_end


def _segment_options(database: Database, as_of: date) -> dict[str, list[str]]:
    """Values per segment dimension, most customers first."""
    return cache.derived(_values_by_dimension, cache.query(database, as_of, "segment_values"))


def _values_by_dimension(frame: pd.DataFrame) -> dict[str, list[str]]:
    """``segment_values`` rows as {dimension: values in their order} (shared by every rerun: not to be changed)."""
    return {dimension: rows["segment_value"].tolist() for dimension, rows in frame.groupby("dimension", sort=False)}


def _freshness(sidebar, database: Database, latest: date) -> None:
    """How old the newest order is, with a warning past the configured age."""
    age = (database.opened_at.date() - latest).days
    ago = "today" if age == 0 else f"{formatting.plural(age, 'day')} ago"
    text = f"Latest order: **{formatting.date_text(latest)}** ({ago})"
    if age > database.settings.stale_after_days:
        sidebar.warning(f"{text}. The exports may be stale: nothing after that day is in them.",
                        icon=":material/schedule:")
    else:
        sidebar.caption(text)
    sidebar.caption(f"Data version `{database.fingerprint[:8]}` · read {formatting.date_text(database.opened_at)} {database.opened_at:%H:%M} UTC")


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
    cursor = view.database.cursor(view.as_of, model=False)
    try:
        return run_query(cursor, name, **{**view.filters.params(), **params})
    finally:
        cursor.close()


def figure(build, *args, **kwargs):
    """``build(*args, **kwargs)`` built once per content of its inputs and shared (``cache.figure``): a filter
    change that leaves a chart's data as it was serves the figure already built. Do not change the figure."""
    return cache.figure(build, *args, **kwargs)


def chart(fig, key: str, **kwargs):
    """A Plotly chart at full width (with a key so selections and tests can find it); a figure from ``figure``
    goes as the dict made when it was built (``cache.sendable``)."""
    return st.plotly_chart(cache.sendable(fig), width="stretch", key=key, config={"displaylogo": False}, **kwargs)


def empty(message: str) -> None:
    """An empty state that says why there is nothing to show."""
    st.info(message, icon=":material/info:")


def change_text(current, previous, kind: str) -> str | None:
    """``+4.2%`` for counts and money, ``+1.3 pts`` for rates and NPS; None when not comparable."""
    return formatting.change(current, previous, kind)


def delta_style(delta: str | None, colour: str) -> dict:
    """``st.metric``'s arrow and colour for a change text: ``colour`` ("normal": up is good, "inverse": up is bad)
    for a change, no arrow and no colour for none or one that reads as nothing (``formatting.is_no_change``;
    Streamlit draws an up arrow for any text but "0", so "0.0%" would read as a rise)."""
    if delta is None or formatting.is_no_change(delta):
        return {"delta_color": "off", "delta_arrow": "off"}
    return {"delta_color": colour}


def format_value(value, kind: str) -> str:
    """Display text of a KPI value by kind (count, money, rate, score, days), short enough for a card."""
    return formatting.number(value, kind, short=True)


def table(frame: pd.DataFrame, key: str, kinds: dict | None = None, fields: dict | None = None,
          headers: dict | None = None, column_config: dict | None = None, **kwargs):
    """A table as people read it (formatting.frame_for_screen): human headers, labelled values, one number
    format per kind, "–" for a missing number. ``column_config`` (keyed by header) adds or overrides columns."""
    # Formatted once per content of the rows (cache.derived: the same table from any session is served the frame
    # already formatted); st.dataframe gets a shallow copy, so nothing it does reaches the shared frame.
    shown, formats = cache.derived(formatting.frame_for_screen, frame, kinds, fields, headers)
    shown = shown.copy(deep=False)
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
