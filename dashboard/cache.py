"""Streamlit caching for the app: the only module outside pages/ that imports Streamlit.

Why cached: opening the exports and building the model layer scans the raw orders once; every
rerun after that (a filter change, a page switch, another user in the same meeting) must answer
from the derived tables without rescanning.  The database is cached per data version (a
fingerprint of the export files' paths, sizes and mtimes), so a new export is picked up on the
next rerun; query results are cached per (data version, as-of date, query, the parameters it uses), and
figures per (the function that draws them, the content of what it is given): see ``figure``.
"""

from __future__ import annotations

import atexit
import contextvars
import hashlib
import inspect
import pickle
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import date

import numpy as np
import pandas as pd
import streamlit as st
from _plotly_utils.utils import is_homogeneous_array, is_skipped_key, to_typed_array_spec
from plotly.basedatatypes import BaseFigure

from dashboard import queries
from dashboard.model import Database, data_version
from dashboard.settings import Settings


class _Live:
    """The database this server's sessions use now (a session reads ``database`` once per rerun)."""

    def __init__(self, database: Database):
        self.database = database


def _prepare_then_switch(live: _Live) -> None:
    """Build every aggregate and the scores, save the snapshot, then serve from the snapshot: nothing refers to
    the model built in memory once the last rerun using it is over (how much of it the process gives back to
    the system is up to DuckDB's allocator: at 10M orders, 12.5 GB went down to 9.6 GB)."""
    built = live.database
    try:
        built.prepare()
        reopened = built.reopened_from_snapshot()
        if reopened is not None:
            live.database = reopened
    except Exception:  # keep serving from the model already built; its pages report their own problems
        pass
    finally:
        with _BACKGROUND_LOCK:  # no reference to the built model may outlive its use
            _BACKGROUND.pop(id(built), None)


OPEN_ENTRIES = 3  # databases kept open (one per settings and data version), the least recently used let go first
_OPENED: "OrderedDict[tuple[Settings, str], _Live]" = OrderedDict()
_OPENING: dict[tuple[Settings, str], threading.Lock] = {}  # one lock per key: one session opens, the others wait
_OPENED_LOCK = threading.Lock()


def _open_database(settings: Settings, version: str) -> _Live:
    """One Database per settings and data version; shared by every session of this server.

    Once it is open, a background thread builds the churn scores and every page's aggregate tables for the
    default as-of date, so the pages people open next are answered from ready aggregates; a page opened
    before its aggregates are ready builds them itself (each is built once, whoever asks first). It then
    saves the model snapshot, so the next start on these exports (a restart, the report) skips the build,
    and switches this server to read it too.

    Kept here rather than in ``st.cache_resource``: opening new exports reads each one into its clean table (10 s
    at 10M orders), and a spinner per export ("orders, 1 of 6", its seconds ticking) can only be drawn outside
    a cached function (Streamlit replays what a cached function draws). A failed open is not kept: the next
    rerun tries again.
    """
    key = (settings, version)
    with _OPENED_LOCK:
        live = _OPENED.get(key)
        if live is not None:
            _OPENED.move_to_end(key)
            return live
        opening = _OPENING.setdefault(key, threading.Lock())
    if not opening.acquire(blocking=False):
        _announce_wait()
        with _spinner("Another view is reading these exports; this one shows them as soon as it is done…"):
            opening.acquire()
    try:
        with _OPENED_LOCK:
            live = _OPENED.get(key)
        if live is None:
            _announce_wait()
            live = _Live(Database.open(settings, progress=_open_progress))
            _warm_in_background(live)
            with _OPENED_LOCK:
                _OPENED[key] = live
                while len(_OPENED) > OPEN_ENTRIES:
                    dropped, _ = _OPENED.popitem(last=False)
                    _OPENING.pop(dropped, None)
        return live
    finally:
        opening.release()


def _open_progress(index: int, total: int, table: str):
    """The spinner while one export is read into its clean table (nothing outside a page run)."""
    return _spinner(open_progress_text(index, total, table))


def open_progress_text(index: int, total: int, table: str) -> str:
    """``Reading the exports and checking their rows (once for these exports): export 1 of 6, **orders**…``."""
    return ("Reading the exports and checking their rows (once for these exports): "
            f"export {index} of {total}, **{table}**…")


def _spinner(text: str):
    """``st.spinner`` with its seconds ticking in a page run; nothing outside one (the CLI, the tests' calls)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    return st.spinner(text, show_time=True) if get_script_run_ctx() is not None else nullcontext()


_WAITING = contextvars.ContextVar("waiting", default=None)  # what to draw before a long wait (``announcing``)


@contextmanager
def announcing(show) -> Iterator[None]:
    """Within this block, ``show()`` is called once before the first long wait of this run (opening new exports,
    building a table): the router draws the page's title with it, so a first start is not a bare spinner."""
    shown = []

    def once() -> None:
        if not shown:
            shown.append(True)
            show()

    token = _WAITING.set(once)
    try:
        yield
    finally:
        _WAITING.reset(token)


def _announce_wait() -> None:
    show = _WAITING.get()
    if show is not None:
        show()


def _warm_in_background(live: _Live) -> None:
    """Start the background build of ``live.database`` (see ``_open_database``), unless the setting
    ``background_build`` is off: then each page builds what it reads when it is first opened."""
    if not live.database.settings.background_build:
        return
    thread = threading.Thread(target=_prepare_then_switch, args=(live,), name="warm-aggregates", daemon=True)
    with _BACKGROUND_LOCK:
        _BACKGROUND[id(live.database)] = (live.database, thread)
    thread.start()


def _without_damaged_snapshot(db: Database, error: Exception) -> Database | None:
    """When a query failed because the snapshot db reads is damaged (a block fails its checksum): move the snapshot
    to quarantine, serve this server from the exports again (its background build saves a new snapshot) and return
    that database; None for any other error."""
    from dashboard import snapshots

    if db.snapshot is None or not snapshots.is_damage(error):
        return None
    live = _open_database(db.settings, data_version(db.settings.data_dir))
    with _REPLACE_LOCK:
        if live.database is db:
            snapshots.quarantine(db.snapshot)
            live.database = Database.open(db.settings)
            _warm_in_background(live)
            st.toast("The saved model of these exports was damaged: it was set aside and the model rebuilt from "
                     "the exports.", icon=":material/build:")
    return live.database


_REPLACE_LOCK = threading.Lock()


_BACKGROUND: dict[int, tuple[Database, threading.Thread]] = {}  # background builds still running
_BACKGROUND_LOCK = threading.Lock()


@atexit.register
def _stop_background_builds(timeout_seconds: float = 60.0) -> None:
    """At exit, stop the background builds and wait for them: a thread still inside DuckDB when Python shuts
    down aborts the process ("terminate called ...")."""
    with _BACKGROUND_LOCK:
        running = list(_BACKGROUND.values())
    for built, _ in running:
        built.stop_background_work()
    deadline = time.monotonic() + timeout_seconds
    for _, thread in running:
        thread.join(max(0.0, deadline - time.monotonic()))


def database(settings: Settings) -> Database:
    """The database for the current version of the exports (reopened when a file changes)."""
    if settings.prepared_dir is not None:  # a folder prepared on Spark: its manifest says when it changes
        from dashboard.engines import prepared

        return _open_database(settings, prepared.version(settings.prepared_dir)).database
    return _open_database(settings, data_version(settings.data_dir)).database


def _freeze(value):
    """Lists become tuples so parameters can be part of a cache key."""
    return tuple(value) if isinstance(value, list) else value


# Shown only while a result is computed (a cache miss): on a first start that is the model and the page's
# aggregates being built, which took 10-70 s on the 50,000-customer demo under load; the page said nothing.
QUERY_SPINNER = ("Computing from the exports: the first view after new exports builds the model and this page's "
                 "aggregates (up to a minute on large exports); later views are instant…")


# A resource, not st.cache_data: cache_data unpickles a copy of the frame on every hit, which cost more than
# the rest of a rerun on pages with large results. Every caller gets ``copy(deep=False)`` of the one stored
# frame instead: with pandas' copy-on-write (always on since pandas 3) a caller's changes to its copy make a
# copy of what they change and never reach the stored frame or another session's.
@st.cache_resource(show_spinner=QUERY_SPINNER, max_entries=2048, ttl=6 * 3600)
def _cached_query(_database: Database, version: str, as_of: date, name: str, params: tuple) -> pd.DataFrame:
    """A query result; ``version`` and ``as_of`` are in the key, the database object is not."""
    cursor = _database.cursor(as_of, model=False)  # each query builds what it reads
    try:
        return queries.run_query(cursor, name, timeout_seconds=_database.settings.query_timeout_seconds,
                                 **{key: list(v) if isinstance(v, tuple) else v for key, v in params})
    finally:
        cursor.close()


def query(db: Database, as_of: date, name: str, **params) -> pd.DataFrame:
    """Run ``queries/<name>.sql`` for as_of with bound params, cached; a copy the caller may change."""
    _build_showing_progress(db, as_of, name)
    # Keyed on the parameters the SQL file uses, so a change to a filter the query ignores (the trend dates
    # for a query without them) is a cache hit instead of a rerun.
    used = queries.used_parameters(name)
    frozen = tuple(sorted((key, _freeze(value)) for key, value in params.items() if key in used))
    try:
        return _cached_query(db, db.fingerprint, as_of, name, frozen).copy(deep=False)
    except queries.QueryError as error:
        replacement = _without_damaged_snapshot(db, error)
        if replacement is None:
            raise
        return _cached_query(replacement, replacement.fingerprint, as_of, name, frozen).copy(deep=False)


def _build_showing_progress(db: Database, as_of: date, name: str) -> None:
    """Build the tables a query reads that are not built yet one by one, saying which, where the page waits.

    On the first view after new exports the query's tables are built before its rows come: at 10M orders a
    page waits 20-60 s, and a spinner that says "computing" does not say how far it got: this one names the
    table and counts them ("table 2 of 3, valid orders…", with the seconds it has taken). Each table is built as
    the query would build it (``Database.build``: once, whoever asks); when all are built (every later view)
    this costs a lookup. A failure stops here: the query then builds what is left and reports it as before.
    Outside a page run (no script context) nothing is shown and the query builds as always."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if get_script_run_ctx() is None:
        return
    try:
        missing = db.pending(as_of, [name])
    except Exception:  # the query reports it
        return
    if not missing:
        return
    _announce_wait()
    for index, node in enumerate(missing, 1):
        # A spinner: nothing left on the page afterwards, the time it has taken ticking beside it, and nothing
        # shown for a table built in under half a second (the 50,000-customer demo's, most of them).
        with st.spinner(build_progress_text(index, len(missing), node.label), show_time=True):
            try:
                db.build(as_of, node.name)
            except Exception:  # including graph.Unavailable: the query raises it again, with its message
                return


def build_progress_text(index: int, total: int, label: str) -> str:
    """``Building the tables this view reads from the exports (once for these exports and as-of date): table 2 of
    9, customer summary…``."""
    return ("Building the tables this view reads from the exports (once for these exports "
            f"and as-of date): table {index} of {total}, **{label}**…")


def campaign_outcomes(db: Database, as_of: date) -> pd.DataFrame:
    """``campaigns.campaign_outcomes`` for as_of, cached per data version, as-of date and the win-back lists this
    app recorded (each file's name, size and modification time): a list exported while the app runs is a new
    key, so it is measured at once; otherwise a rerun (the window control) does not read every order again (16 s
    a view at 10M orders before). A copy the caller may change."""
    from dashboard import winback  # here: it imports the churn model (scipy), which the first page need not wait for

    folder = winback.campaigns_dir(db.settings.state_dir)
    recorded = tuple(sorted((path.name, info.st_size, info.st_mtime_ns)
                            for path in (folder.glob("*.json") if folder.is_dir() else ())
                            for info in (path.stat(),)))
    return _cached_campaign_outcomes(db, db.fingerprint, as_of, recorded).copy(deep=False)


@st.cache_resource(show_spinner="Measuring the campaigns against every order after their sends…", max_entries=64,
                   ttl=6 * 3600)
def _cached_campaign_outcomes(_database: Database, version: str, as_of: date, recorded: tuple) -> pd.DataFrame:
    cursor = _database.cursor(as_of, model=False)
    try:
        from dashboard import campaigns

        return campaigns.campaign_outcomes(cursor)
    finally:
        cursor.close()


@st.cache_data(show_spinner="Backtesting the churn model…", max_entries=16, ttl=6 * 3600)
def _cached_backtest(_database: Database, version: str, cutoff: date, horizon_days: int):
    """The churn model refitted at cutoff and compared with the next horizon_days: once per data version,
    because it builds the model layer for the cutoff date and fits the model again."""
    from dashboard import churn

    return churn.backtest(_database, cutoff, horizon_days)


def backtest(db: Database, cutoff: date, horizon_days: int = 90):
    """The churn model's backtest at cutoff (cached): a ``churn.Backtest``."""
    return _cached_backtest(db, db.fingerprint, cutoff, horizon_days)


@st.cache_data(show_spinner=False, max_entries=64, ttl=6 * 3600)
def _cached_alerts(_database: Database, version: str, as_of: date, rules: tuple):
    """The alert rules checked as of a date: once per data version, as-of date and set of rules."""
    from dashboard import alerts

    return alerts.evaluate(_database, as_of, list(rules))


def alert_outcomes(db: Database, as_of: date) -> list:
    """The ``[[alerts]]`` rules of the settings checked as of a date (cached); AlertRuleError for a wrong rule."""
    from dashboard import alerts

    return _cached_alerts(db, db.fingerprint, as_of, tuple(alerts.rules(db.settings)))


@st.cache_data(show_spinner=False, max_entries=256, ttl=6 * 3600)
def _cached_segment_rows(_database: Database, version: str, as_of: date, letter: str, segment: tuple,
                         exported: tuple) -> dict:
    """One segment's column of the comparison (dashboard/compare.py), from the cached queries."""
    from dashboard import compare

    def run(name: str, **params) -> pd.DataFrame:
        return query(_database, as_of, name, **params)

    return compare.segment_rows(run, letter, {key: tuple(values) for key, values in segment}, dict(exported))


def segment_rows(db: Database, as_of: date, letter: str, segment: dict, exported: dict) -> dict:
    """One segment's comparison rows (cached per data version, as-of date, letter and segment)."""
    return _cached_segment_rows(db, db.fingerprint, as_of, letter, tuple(sorted(segment.items())),
                                tuple(sorted(exported.items())))


# How many times each figure function ran inside ``figure`` (a cache miss) in this process: "module.name" -> count.
FIGURE_BUILDS: Counter = Counter()


def figure(build, *args, **kwargs):
    """``build(*args, **kwargs)`` (a function of dashboard/*figures*.py), built once per content of its arguments.

    Why cached: building a Plotly figure (its traces and layout validated property by property) was most of a
    page rerun's server CPU, 30-100 ms a chart, and a filter change reran it for every chart on the page, also
    those whose data had not changed. The key is the function and a hash of the content of its arguments (the
    query results and whatever the page derived from them, the labels and options it passes), so the same
    inputs, from any session, are served the figure already built, and any change in them builds it again. The
    figure is shared: callers must not change it (``ghosts.ghosted`` draws a ghost line on a new figure).
    Arguments that cannot be hashed are built every time.
    """
    return _by_content(_cached_figure, build, args, kwargs)


def _by_content(cached, function, args: tuple, kwargs: dict):
    """``function(*args, **kwargs)`` through ``cached`` under the content key of its arguments (called directly
    when they have none: see ``_content_key``)."""
    key = _content_key(function, args, kwargs)
    if key is None:
        return function(*args, **kwargs)
    return cached(key, function, args, kwargs)


@st.cache_resource(show_spinner=False, max_entries=512, ttl=6 * 3600)
def _cached_figure(key: str, _build, _args: tuple, _kwargs: dict):
    """One built figure, with the dict ``st.plotly_chart`` sends made once (see ``sendable``); only ``key`` (see
    ``figure``) is hashed by Streamlit, and the figure is not copied."""
    FIGURE_BUILDS[f"{_build.__module__}.{_build.__qualname__}"] += 1
    built = _build(*_args, **_kwargs)
    if isinstance(built, BaseFigure):
        built._sent = _sent_dict(built)
    return built


def _sent_dict(fig: BaseFigure) -> dict:
    """``fig.to_dict()`` made in one pass: its traces and layout copied with arrays turned into typed arrays (what
    ``to_dict`` does after a deep copy), and the layout's template, the bulk of a small chart, shared instead of
    deep-copied: none of them is changed afterwards. It reads the figure's ``_data`` and ``_layout`` with Plotly's
    own helpers, as ``to_dict`` does (plotly is pinned in requirements.txt). About 4 ms a chart instead of 7.5;
    tests/test_figures_fast.py checks it sends the same JSON for every chart."""
    layout = {key: value if key == "template" else _typed(value) for key, value in fig._layout.items()}
    return {"data": [_typed(trace) for trace in fig._data], "layout": layout}


# Values that are never arrays, checked by exact type: Plotly's ``is_homogeneous_array`` asks every value whether
# it is a narwhals Series or converts to numpy, about 2.5 µs each, and a sparkline's dicts hold about 200 of them.
_SCALARS = frozenset({str, int, float, bool, type(None)})


def _typed(value):
    """A copy of a figure's dicts and lists with every array under a dict key turned into Plotly's typed-array
    spec, as ``plotly``'s ``convert_to_base64`` does (keys it skips, such as ``range``, keep their value)."""
    if isinstance(value, dict):
        copied = {}
        for key, item in value.items():
            if type(item) in _SCALARS or is_skipped_key(key):
                copied[key] = item
            elif isinstance(item, np.ndarray) or is_homogeneous_array(item):
                copied[key] = to_typed_array_spec(item)
            else:
                copied[key] = _typed(item)
        return copied
    if isinstance(value, (list, tuple)):
        return [_typed(item) for item in value]
    return value


def derived(compute, *args, **kwargs):
    """``compute(*args, **kwargs)``, a pure function of query results (the Overview's "what changed" sentences),
    once per content of its arguments, like ``figure``: pandas work a page redid on every rerun for the same rows.
    The result is shared: callers must not change it."""
    return _by_content(_cached_derived, compute, args, kwargs)


@st.cache_resource(show_spinner=False, max_entries=256, ttl=6 * 3600)
def _cached_derived(key: str, _compute, _args: tuple, _kwargs: dict):
    """One computed value; only ``key`` is hashed by Streamlit."""
    return _compute(*_args, **_kwargs)


class _Sent(BaseFigure):
    """A figure already turned into the dict ``st.plotly_chart`` sends: its ``to_dict()`` is that dict.

    ``st.plotly_chart`` takes a Plotly figure (a plain dict it would validate property by property again) and
    calls its ``to_dict()``: a deep copy of every trace and of the layout with its template, then a walk that
    turns arrays into typed arrays, 5-10 ms a chart on every rerun, also when the figure came from the cache.
    This object is only ever handed to ``st.plotly_chart`` (``sendable``), which reads nothing else of it."""

    def __init__(self, sent: dict):  # no BaseFigure.__init__: nothing to validate or copy
        self._sent = sent

    def to_dict(self) -> dict:
        return self._sent


def sendable(fig):
    """What to hand ``st.plotly_chart`` for a figure: for one from ``figure`` (built once, never changed), the
    dict it sends, made when it was built; any other figure as it is."""
    sent = getattr(fig, "_sent", None) if isinstance(fig, BaseFigure) else None
    return _Sent(sent) if sent is not None else fig


def _content_key(build, args: tuple, kwargs: dict) -> str | None:
    """A hex digest of the function's name and the content of its arguments, or None for an argument it cannot read."""
    if not inspect.isfunction(build) or "<" in build.__qualname__:  # a lambda or closure: its name says too little
        return None
    digest = hashlib.blake2b(digest_size=20)
    try:
        _digest_value(digest, (f"{build.__module__}.{build.__qualname__}", args, sorted(kwargs.items())))
    except (TypeError, ValueError, AttributeError, pickle.PicklingError):
        return None
    return digest.hexdigest()


def _digest_value(digest, value) -> None:
    """Feed a value's type and content to the digest: plain values by their repr, containers item by item, frames
    and series column by column (``_digest_column``: name, dtype, values) with their index, a module's function by
    its name, anything else by its pickle (equal bytes unpickle to equal values)."""
    digest.update(type(value).__qualname__.encode())
    if isinstance(value, (list, tuple)):
        digest.update(str(len(value)).encode())
        for item in value:
            _digest_value(digest, item)
    elif isinstance(value, dict):
        _digest_value(digest, list(value.items()))
    elif isinstance(value, (set, frozenset)):
        _digest_value(digest, sorted(value, key=repr))
    elif isinstance(value, (str, int, float, bool, type(None), date)):
        digest.update(repr(value).encode())
    elif isinstance(value, pd.DataFrame):
        _digest_column(digest, value.index)
        for name, column in value.items():
            _digest_value(digest, name)
            _digest_column(digest, column)
    elif isinstance(value, (pd.Series, pd.Index)):
        _digest_value(digest, value.name)
        _digest_column(digest, value)
        if isinstance(value, pd.Series):
            _digest_column(digest, value.index)
    elif isinstance(value, np.ndarray):
        digest.update(repr(value.shape).encode())
        _digest_array(digest, value)
    elif inspect.isfunction(value) and "<" not in value.__qualname__:  # a module's function, not a lambda or closure
        digest.update(f"{value.__module__}.{value.__qualname__}".encode())
    else:  # a lambda or a closure cannot be pickled: a figure given one is not cached
        _digest_bytes(digest, pickle.dumps(value, protocol=5))
    digest.update(b"\x00")


def _digest_column(digest, column: pd.Series | pd.Index) -> None:
    """A column's dtype (with its time zone or categories) and values; a RangeIndex by its bounds."""
    digest.update(repr(column.dtype).encode())
    if isinstance(column, pd.RangeIndex):
        digest.update(repr((column.start, column.stop, column.step)).encode())
    elif isinstance(column.dtype, np.dtype) and column.dtype.kind in "biufcmM":
        _digest_array(digest, column.to_numpy())
    elif isinstance(column.dtype, pd.DatetimeTZDtype):  # the instants (the dtype above says the time zone)
        _digest_array(digest, column.to_numpy(dtype="datetime64[ns]"))
    else:  # strings, objects, extension dtypes: each value's repr (a date and its text differ)
        _digest_array(digest, column.to_numpy(dtype=object))


def _digest_array(digest, array: np.ndarray) -> None:
    if array.dtype.kind in "biufcmM":
        digest.update(array.dtype.str.encode())
        _digest_bytes(digest, np.ascontiguousarray(array).tobytes())
    else:
        _digest_bytes(digest, "\x1f".join(map(repr, array.ravel().tolist())).encode())


def _digest_bytes(digest, data: bytes) -> None:
    """Bytes prefixed with their length, so no two sequences of values feed the digest the same bytes."""
    digest.update(f"{len(data)}:".encode())
    digest.update(data)
