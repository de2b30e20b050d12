"""Streamlit caching for the app: the only module outside pages/ that imports Streamlit.

Why cached: opening the exports and building the model layer scans the raw orders once; every
rerun after that (a filter change, a page switch, another user in the same meeting) must answer
from the derived tables without rescanning.  The database is cached per data version (a
fingerprint of the export files' paths, sizes and mtimes), so a new export is picked up on the
next rerun; query results are cached per (data version, as-of date, query, the parameters it uses).
"""

from __future__ import annotations

import atexit
import threading
import time
from datetime import date

import pandas as pd
import streamlit as st

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


@st.cache_resource(show_spinner="Reading the exports and building the model…", max_entries=3)
def _open_database(settings: Settings, version: str) -> _Live:
    """One Database per settings and data version; shared by every session of this server.

    Once it is open, a background thread builds the churn scores and every page's aggregate tables for the
    default as-of date, so the pages people open next are answered from ready aggregates; a page opened
    before its aggregates are ready builds them itself (each is built once, whoever asks first). It then
    saves the model snapshot, so the next start on these exports (a restart, the report) skips the build,
    and switches this server to read it too.
    """
    live = _Live(Database.open(settings))
    _warm_in_background(live)
    return live


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


@st.cache_data(show_spinner=QUERY_SPINNER, max_entries=2048, ttl=6 * 3600)
def _cached_query(_database: Database, version: str, as_of: date, name: str, params: tuple) -> pd.DataFrame:
    """A query result; ``version`` and ``as_of`` are in the key, the database object is not."""
    cursor = _database.cursor(as_of)
    try:
        return queries.run_query(cursor, name, timeout_seconds=_database.settings.query_timeout_seconds,
                                 **{key: list(v) if isinstance(v, tuple) else v for key, v in params})
    finally:
        cursor.close()


def query(db: Database, as_of: date, name: str, **params) -> pd.DataFrame:
    """Run ``queries/<name>.sql`` for as_of with bound params, cached; a copy the caller may change."""
    # Keyed on the parameters the SQL file uses, so a change to a filter the query ignores (the trend dates
    # for a query without them) is a cache hit instead of a rerun.
    used = queries.used_parameters(name)
    frozen = tuple(sorted((key, _freeze(value)) for key, value in params.items() if key in used))
    try:
        return _cached_query(db, db.fingerprint, as_of, name, frozen).copy()
    except queries.QueryError as error:
        replacement = _without_damaged_snapshot(db, error)
        if replacement is None:
            raise
        return _cached_query(replacement, replacement.fingerprint, as_of, name, frozen).copy()


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
