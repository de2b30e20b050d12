"""The model layer: one DuckDB database per version of the exports, derived tables per as-of date.

``Database.open(settings)`` registers the exports as views, defines the clean tables (usable rows, first copy
of each id) and locks the connection down. ``db.cursor(as_of)`` creates, once per as-of date, a schema for that
date and returns a fresh cursor whose search path points there, with the model layer built in it
(``graph.MODEL_NODES``: ``valid_orders``, ``customer_summary``, ...) unless ``model=False``. Everything else (the
aggregates, the churn scores), and with ``model=False`` the model layer too, is built by the build graph
(``dashboard/graph.py``) when a query first reads it, through ``AsOfTarget``, once per as-of date for every
session: the app's first page after new exports builds only what it shows. Each thread or Streamlit session
must use its own cursor: a DuckDB connection refuses a second concurrent call.

When a snapshot of this version of the exports exists (``dashboard/snapshots.py``, written by
``Database.prepare``), ``open`` attaches it read-only instead of reading the exports: its clean tables,
as-of schemas, aggregates and scores are used as they are, and anything built later (another as-of date,
an aggregate it lacks) goes to an in-memory schema searched first.
"""

from __future__ import annotations

import itertools
import math
import os
import re
import threading
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone as dt_timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from dashboard import access, checks, graph, queries, snapshots
from dashboard.settings import Settings
from dashboard.sources import (CONTRACT, Catalog, export_fingerprint, normalise_free_text, quote_identifier,
                               quote_literal, register_sources)

MAX_AS_OF_SCHEMAS = 4
BUILD_CATALOG = "build"  # the file a model is built in by ``Database.open(..., build_in_file=True)``
_UNKNOWN = object()
# How long the background build waits, before each table, for the page runs in progress to end (``people_first``).
# A bound, so that people clicking without pause slow the build down instead of stopping it.
YIELD_SECONDS = 5.0


class _PageRuns:
    """The page runs in progress in this process (the app's script runs), for the background build to yield to.

    On a first start the page someone opened and the background build (every other page's aggregates, the churn
    fit) would otherwise share the two cores: at 10M orders the first KPI card took 58 s with the build running
    beside the page and 31 s without. The build waits, before each table it starts, while a page is running (at
    most ``YIELD_SECONDS`` each time); a table the page needs that the build has started is shared, not rebuilt.
    """

    def __init__(self) -> None:
        self._count = 0
        self._idle = threading.Condition()

    @contextmanager
    def running(self):
        with self._idle:
            self._count += 1
        try:
            yield
        finally:
            with self._idle:
                self._count -= 1
                if self._count == 0:
                    self._idle.notify_all()

    def wait_idle(self, limit_seconds: float) -> bool:
        """Wait until no page is running, at most limit_seconds; whether none is."""
        with self._idle:
            return self._idle.wait_for(lambda: self._count == 0, timeout=limit_seconds)


PAGE_RUNS = _PageRuns()
# ``with people_first(): ...`` around a page's run: background builds wait while it runs (``_PageRuns``).
people_first = PAGE_RUNS.running


def data_version(data_dir) -> str:
    """A cheap fingerprint of the exports (paths, sizes, mtimes): changes when any export changes."""
    return export_fingerprint(data_dir)


def cutoff_for(as_of: date, timezone: str) -> datetime:
    """The first instant after the as-of day, as a naive UTC timestamp.

    Example: ``cutoff_for(date(2024, 3, 31), "UTC") == datetime(2024, 4, 1)``.
    """
    local_midnight = datetime.combine(as_of + timedelta(days=1), datetime.min.time(), ZoneInfo(timezone))
    return local_midnight.astimezone(dt_timezone.utc).replace(tzinfo=None)


def _check_writable(folder: Path) -> None:
    """Raise OSError when no file can be created in folder (a read-only mount, a full disk, no permission)."""
    probe = folder / f".write-check-{os.getpid()}-{threading.get_ident()}"
    probe.write_bytes(b"")
    probe.unlink()


def usable_condition_sql(table: str, now: datetime) -> str:
    """The WHERE condition of a table's usable rows: none of checks' unusable-row rules holds."""
    where = checks.usable_condition(table)
    for name, value in checks.row_rule_parameters(now).items():
        # Our own constants (1990 and now + 1 day), not user input: inlined because DDL takes no parameters.
        where = where.replace(f"${name}", f"timestamp {quote_literal(value.isoformat(sep=' '))}")
    return where


def usable_rows_sql(table: str, now: datetime) -> str:
    """SELECT of a table's usable rows: none of checks' unusable-row rules holds."""
    columns = ", ".join(map(quote_identifier, CONTRACT[table].columns))
    return f"select {columns} from main.{table} where {usable_condition_sql(table, now)}"


def build_clean_table(connection, table: str, now: datetime, catalog: str = "memory") -> None:
    """Materialise ``clean_<table>`` once per data version: usable rows, first copy of each id by time.

    Deduplication only sorts the rows whose id repeats (a hash aggregate finds them), so the one scan of
    the raw files dominates; every as-of model build then reads this table, never the Parquet again.
    The table goes to ``<catalog>.main`` (``memory``, or the file a model is built in).
    """
    key, time_column = checks.UNIQUE_KEYS[table]
    columns = ", ".join(map(quote_identifier, CONTRACT[table].columns))
    target = f"{catalog}.main.clean_{table}"
    # The export's view (ids trimmed, timestamps and numbers cast: ``sources``) is read once, in a materialised
    # CTE: with the rules' filter pushed into the view, DuckDB computed its expressions for the filter and again
    # for the rows kept (10M orders: 7.9 s instead of 3.7 s). The same rows as ``usable_rows_sql``.
    connection.execute(f"create or replace table {target} as with exported as materialized "
                       f"(select {columns} from main.{table}) "
                       f"select {columns} from exported where {usable_condition_sql(table, now)}")
    connection.execute(
        f"delete from {target} where rowid in ("
        f"select rowid from (select rowid, row_number() over (partition by {key} "
        f"order by {time_column} nulls last, {columns}) as copy_number from {target} "
        f"where {key} in (select {key} from {target} where {key} is not null "
        f"group by {key} having count(*) > 1)) where copy_number > 1)"
    )
    normalise_free_text(connection, target, table)  # NFKC, so comment masking sees one form of each character


@dataclass
class Database:
    """A DuckDB database over one version of the exports, with the derived tables per as-of date."""

    settings: Settings
    connection: duckdb.DuckDBPyConnection
    catalog: Catalog
    opened_at: datetime
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _schemas: dict[date, str] = field(default_factory=dict)
    _row_findings: list | None = None
    _row_checks: list | None = None  # the row checks' findings alone (``checks.check_rows``), kept in the snapshot
    _latest_order_date: object = None
    build_seconds: dict[date, float] = field(default_factory=dict)
    snapshot: Path | None = None  # the snapshot file this database reads, if any
    spill_dir: Path | None = None  # DuckDB's temp_directory (under the state folder), None when it cannot be made
    _snapshot_schemas: dict[date, str] = field(default_factory=dict)
    _is_decoded: bool = False  # the exports needed the full decode pass (a corrupt file was left out)
    _build_file: Path | None = None  # the file the model is being built in (attached as BUILD_CATALOG), if any
    _published_to: Path | None = None  # where that file went once saved: the database is done then
    _stopping: threading.Event = field(default_factory=threading.Event)  # set by stop_background_work
    _warm_cursor: object = None  # the cursor warm() is running queries on, if it is running
    _model_cursors: set = field(default_factory=set)  # the cursors building as-of models right now
    _building: dict = field(default_factory=dict)  # as-of date -> threading.Event set when its build ends
    _findings_lock: threading.Lock = field(default_factory=threading.Lock)  # the row checks run once
    _has_usable_orders: bool = False  # at least one order passed the row rules (set by open)
    state_problems: list = field(default_factory=list)  # why the state folder or a snapshot could not be used
    # Why the numbers served may be missing or wrong (a prepared folder built by another version of the code), in
    # words for a banner on every page and a warning from every command; None when there is no such doubt.
    serving_problem: str | None = None
    builds: graph.Builds = field(default_factory=graph.Builds)  # one lock per (as-of date, node) of the graph

    @classmethod
    def open(cls, settings: Settings, now: datetime | None = None, build_in_file: bool = False,
             progress=None) -> "Database":
        """Register the exports of settings.data_dir and lock the connection down.

        ``progress(index, total, table)``, if given, returns a context manager that the reading of each export
        into its clean table runs in (the app shows a spinner naming the export: at 10M orders this takes 10 s).

        With ``build_in_file`` (what ``prepare`` uses), a model that has to be built is built in a new DuckDB
        file in the spill folder instead of in memory, and ``save_snapshot`` renames that file into place:
        DuckDB then writes compressed blocks to that file as it goes instead of holding everything in memory
        or spilling it uncompressed, and there is no copy at the end. Such a database answers queries until
        its snapshot is saved, and not after (open it again to read the snapshot).
        """
        now = now or datetime.utcnow()
        progress = progress or (lambda index, total, table: nullcontext())
        if settings.prepared_dir is not None:  # served from a folder another engine prepared (Spark)
            from dashboard.engines import prepared

            return prepared.open_database(settings, now, cls)
        connection = duckdb.connect(":memory:")
        connection.execute("set TimeZone = 'UTC'")
        if settings.memory_limit:
            connection.execute("set memory_limit = $limit", {"limit": settings.memory_limit})
        # Before anything is read: DuckDB refuses to move its spill folder once it has spilled (a large export
        # under a memory limit spills while the clean tables are built), and would otherwise spill into .tmp
        # under the working directory.
        spill_dir = settings.state_dir / "duckdb_tmp"  # also where a snapshot is written before its rename
        state_problems = []
        try:
            spill_dir.mkdir(parents=True, exist_ok=True)
            _check_writable(spill_dir)
            connection.execute("set temp_directory = $path", {"path": str(spill_dir.resolve())})
            snapshots.remove_stopped_writers(spill_dir)  # a killed build's partial snapshot, before this one spills
        except OSError as error:
            spill_dir = None
            state_problems.append(f"the state folder {settings.state_dir} cannot be written "
                                  f"({error.strerror or error}): no model snapshot can be saved there")
        # Registration reads only the files' footers; materialising the clean tables reads every row once. A
        # file that fails there (corrupt data behind a good footer) is found by registering again with a full
        # decode pass, which reports and leaves out the broken files.
        catalog = register_sources(connection, settings.data_dir, decode=False)
        access.install_customer_labels(connection, settings.state_dir)  # before any query shows a customer id
        for name in graph.OPENED_BY_DATABASE:  # the other macros every model reads (text masking, intervals)
            if name != "privacy_macros":  # installed just above, with its key
                queries.execute_file(connection, name)
        database = cls(settings, connection, catalog, now, _latest_order_date=_UNKNOWN,
                       spill_dir=spill_dir.resolve() if spill_dir else None, state_problems=state_problems)
        if not (settings.model_snapshots and database._use_snapshot()):
            if build_in_file and settings.model_snapshots and database.spill_dir is not None:
                database._attach_build_file()
            try:
                for index, table in enumerate(CONTRACT, 1):
                    with progress(index, len(CONTRACT), table):
                        build_clean_table(connection, table, now, database._model_catalog)
            except duckdb.Error as error:
                was_in_file = database._build_file is not None
                database._drop_build_file()  # a corrupt file is left out below: nothing of this build is saved
                database.catalog = register_sources(connection, settings.data_dir, decode=True)
                database._is_decoded = True
                for index, table in enumerate(CONTRACT, 1):
                    with progress(index, len(CONTRACT), table):
                        build_clean_table(connection, table, now)
                exports_were_the_cause = any(
                    source.unreadable or any(group.is_rescued for group in source.groups)
                    for source in database.catalog.tables.values())
                if was_in_file and not exports_were_the_cause:  # writing the file failed (a full disk, a quota)
                    database.state_problems.append(
                        f"the model could not be written to its file in {database.spill_dir} "
                        f"({str(error).splitlines()[0][:200]}): it was built in memory and is not saved")
            if database._build_file is not None:  # plain cursors read the clean tables as in memory
                for table in CONTRACT:
                    connection.execute(f"create or replace view clean_{table} as "
                                       f"select * from {BUILD_CATALOG}.main.clean_{table}")
        database._has_usable_orders = bool(
            database.catalog.tables["orders"].is_usable
            and connection.execute("select exists (select 1 from clean_orders)").fetchone()[0])
        database._lock_down()
        return database

    @property
    def snapshot_key(self) -> str:
        """The key of this version's snapshot: the exports' fingerprint, the time zone and the code."""
        return snapshots.snapshot_key(self.catalog.fingerprint, self.settings.timezone)

    @property
    def snapshot_path(self) -> Path:
        """Where this version's snapshot is, or would be, saved."""
        return snapshots.snapshot_path(self.settings.state_dir, self.snapshot_key)

    @property
    def _model_catalog(self) -> str:
        """The catalog the clean tables and as-of schemas are built in."""
        return BUILD_CATALOG if self._build_file is not None else "memory"

    def _attach_build_file(self) -> None:
        """Build this model in a new file in the spill folder (named like a snapshot being written)."""
        path = snapshots.temporary_path(self.spill_dir, self.snapshot_key)
        self.connection.execute(f"attach {quote_literal(str(path))} as {BUILD_CATALOG}")  # our path, not a user's
        self._build_file = path

    def _drop_build_file(self) -> None:
        """Give up building in a file (the model is built in memory instead)."""
        if self._build_file is not None:
            self.connection.execute(f"detach {BUILD_CATALOG}")
            snapshots.remove(self._build_file)
            self._build_file = None

    def unsaved_reason(self) -> str:
        """Why ``save_snapshot`` saved nothing, in words (for ``prepare``)."""
        if self.state_problems:
            return "; ".join(self.state_problems)
        if self._is_decoded:
            return ("a file of the exports had to be left out or partly read (python -m dashboard validate names it), "
                    "so this build is not saved as the exports' model")
        if not self.settings.model_snapshots:
            return "model snapshots are off (model_snapshots = false)"
        return "no model was built"

    def close(self) -> None:
        """Remove the file a model was being built in, if it was not saved, and close the connection."""
        try:
            self._drop_build_file()
        except duckdb.Error:
            if self._build_file is not None:
                snapshots.remove(self._build_file)
        self.connection.close()

    def _use_snapshot(self) -> bool:
        """Attach this version's snapshot, if there is a usable one, and read the clean tables from it."""
        path = self.snapshot_path
        schemas = snapshots.attach(self.connection, path, self.opened_at, self.state_problems)
        if schemas is None:
            return False
        for table in CONTRACT:
            self.connection.execute(
                f"create or replace view clean_{table} as select * from {snapshots.CATALOG}.main.clean_{table}")
        self.snapshot, self._snapshot_schemas = path, schemas
        self._row_checks = snapshots.stored_row_checks(self.connection)
        return True

    def prepare(self, as_of: date | None = None) -> list[str]:
        """Build everything the pages read for as_of (``warm``), then save the snapshot so later starts on these
        exports (the app, the report, the scores) read it instead of rebuilding. Returns the problems met.
        """
        problems = self.warm(as_of)
        if self._stopping.is_set():
            return problems + ["stopped before the model snapshot was saved"]
        try:
            self.save_snapshot()
        except (duckdb.Error, OSError) as error:
            problems.append(f"model snapshot not saved: {str(error).splitlines()[0]}")
        return problems

    def reopened_from_snapshot(self) -> "Database | None":
        """Once this database's snapshot is saved: a database on the same exports that reads it, as a restart
        would, carrying over what this one computed that a snapshot does not hold (the row checks' findings,
        the latest order date). The app switches to it after its background build, so that nothing refers to
        the model it built once the reruns using it are over. None when there is nothing to switch to: this one already reads a snapshot, none
        was saved, or the exports changed since this one was opened.
        """
        if (self._stopping.is_set() or self.snapshot is not None or not self.snapshot_path.is_file()
                or export_fingerprint(self.settings.data_dir) != self.catalog.fingerprint):
            return None
        reopened = Database.open(self.settings, now=self.opened_at)
        if reopened.snapshot is None:  # changed or unreadable after all: keep serving from this one
            reopened.connection.close()
            return None
        with self._findings_lock:
            reopened._row_findings = self._row_findings
        reopened._latest_order_date = self._latest_order_date
        return reopened

    def save_snapshot(self) -> Path | None:
        """Write this database's clean tables and as-of schemas to its snapshot; None when there is nothing new to
        save (it was read from one, snapshots are off, or a corrupt export file had to be left out this time).
        """
        if (self.snapshot is not None or self._is_decoded or not self.settings.model_snapshots
                or self.spill_dir is None):
            return None
        with self._lock:
            complete = dict(self._schemas)
        if not complete:
            return None
        row_checks = self._row_checks_to_store()  # before any lock: a pass over every export
        if self._build_file is not None:
            return self._publish_build_file(complete, row_checks)
        cursor = self.connection.cursor()
        try:
            path = snapshots.write(cursor, self.settings.state_dir, self.spill_dir,
                                   self.snapshot_key, complete, self.opened_at, self._valid_until(cursor),
                                   row_checks)
        finally:
            cursor.close()
        return path

    def _publish_build_file(self, complete: dict[date, str], row_checks: list) -> Path:
        """Describe the file the model was built in, detach it and rename it into place as the snapshot."""
        with self._lock:
            cursor = self.connection.cursor()
            try:
                snapshots.describe(cursor, BUILD_CATALOG, self.snapshot_key, complete, self.opened_at,
                                   self._valid_until(cursor), row_checks)
            finally:
                cursor.close()
            self.connection.execute(f"detach {BUILD_CATALOG}")
            path = snapshots.publish(self._build_file, self.settings.state_dir, self.spill_dir, self.snapshot_key)
            self._build_file, self._schemas, self._published_to = None, {}, path
        return path

    def _row_checks_to_store(self) -> list:
        """The row checks' findings, computed now if no page asked for them yet, to be saved with the snapshot: a
        start from it then shows the Data page at once instead of reading every export again. They stay true as
        long as the snapshot is used: the exports are the same (its key) and no row left out as future has come
        due (``_valid_until``)."""
        with self._findings_lock:
            return list(self._checked_rows())

    def _valid_until(self, cursor) -> datetime | None:
        """The last "now" at which the clean tables stay as they are: a day before the earliest row left out
        for being in the future (``checks``' rule: a time at or after now + 1 day). None when no row was.
        """
        latest_at = checks.row_rule_parameters(self.opened_at)["latest_at"]
        parts = [f"select min({column}) as future_at from {table} where {column} >= $latest_at"
                 for table, rules in checks.UNUSABLE_ROW_RULES.items()
                 for column, condition, _ in rules if "$latest_at" in condition]
        earliest, = cursor.execute(f"select min(future_at) from ({' union all '.join(parts)})",
                                   {"latest_at": latest_at}).fetchone()
        return None if earliest is None else earliest - timedelta(days=1)

    @property
    def fingerprint(self) -> str:
        """Identifies the version of the exports (paths, sizes, mtimes) and the time zone."""
        return f"{self.catalog.fingerprint}-{self.settings.timezone}"

    def _lock_down(self) -> None:
        """Restrict file access to the data folder and freeze the configuration (DuckDB's order matters)."""
        allowed = [str(self.catalog.data_dir) + "/"]
        if self.spill_dir is not None:
            allowed.append(str(self.spill_dir) + "/")
        self.connection.execute("set allowed_directories = $dirs", {"dirs": allowed})
        self.connection.execute("set enable_external_access = false")
        self.connection.execute("set autoload_known_extensions = false")
        self.connection.execute("set autoinstall_known_extensions = false")
        self.connection.execute("set lock_configuration = true")

    @property
    def has_orders(self) -> bool:
        """True when the orders table could be read and at least one of its rows is usable: otherwise every
        metric would be an empty 0, so the pages, the report and the scores say why instead."""
        orders = self.catalog.tables["orders"]
        return orders.is_usable and orders.row_count > 0 and self._has_usable_orders

    def latest_order_date(self) -> date | None:
        """The local date of the latest usable, not cancelled order: the default as-of date (computed once)."""
        if self._latest_order_date is not _UNKNOWN:
            return self._latest_order_date
        cursor = self.connection.cursor()
        # Local time is converted only for orders within two days of the latest instant: no zone's offset
        # moves by two days, so the latest local time is among them (one time zone lookup per candidate row).
        row = cursor.execute(
            "with valid as (select ordered_at from clean_orders "
            "where coalesce(lower(trim(status)), '') not in ('cancelled', 'canceled')) "
            "select max(timezone($timezone, ordered_at at time zone 'UTC')) from valid "
            "where ordered_at >= (select max(ordered_at) from valid) - interval 2 day",
            {"timezone": self.settings.timezone},
        ).fetchone()
        self._latest_order_date = row[0].date() if row and row[0] is not None else None
        return self._latest_order_date

    def default_as_of(self) -> date:
        """The latest order's date, or today when there are no orders."""
        return self.latest_order_date() or self.opened_at.date()

    def findings(self) -> list:
        """Findings from reading the files plus the row-level checks (computed once)."""
        with self._findings_lock:  # not self._lock: at 100M orders the checks take minutes
            if self._row_findings is None:
                self._row_findings = list(self._checked_rows())
                try:
                    self._row_findings += self._freshness_and_drift()
                except duckdb.Error as error:
                    self._row_findings.append(checks.Finding(
                        "ERROR", "orders", "", f"freshness cannot be checked: {str(error).splitlines()[0]}"))
        return self.catalog.findings + self._row_findings

    def _checked_rows(self) -> list:
        """The row checks' findings: read from the snapshot this database reads (``prepare`` stored them), else
        computed once (a full pass over every export: about a minute at 10M orders). Call with _findings_lock."""
        if self._row_checks is None:
            self._row_checks = checks.check_rows(self.connection.cursor(), self.catalog, self.opened_at)
        return self._row_checks

    def _freshness_and_drift(self) -> list:
        """Stale newest order; row counts that dropped against the last load (see freshness.py)."""
        from dashboard import freshness

        findings = []
        if self.has_orders:
            findings += freshness.findings_for_age(self)
        counts = {name: source.row_count for name, source in self.catalog.tables.items() if source.is_usable}
        findings += freshness.incomplete_findings(self.catalog, self.settings.state_dir)
        incomplete = [name for name, source in self.catalog.tables.items() if source.is_incomplete]
        findings += freshness.drift_findings_and_record(
            self.settings.state_dir, self.catalog.data_dir, self.catalog.fingerprint, counts,
            self.settings.row_drop_warn_share, self.opened_at, incomplete)
        return findings

    def incomplete_tables(self) -> dict[str, str]:
        """Each table some of whose files could not be read, with the sentence that says so and what the last
        complete load had (freshness.incomplete_messages); cheap: no row is read."""
        from dashboard import freshness

        return freshness.incomplete_messages(self.catalog, self.settings.state_dir)

    def warm(self, as_of: date | None = None) -> list[str]:
        """Build every node of the graph for as_of (the aggregates every page reads, the churn scores, the churn
        page's backtest) ahead of the first session that needs them: the app runs this in a background thread
        after opening the exports, ``prepare`` before saving the snapshot.

        Returns the problems met (each also shows on the page that needs the failed table, when opened); a node
        whose reads failed is not tried, and one the data cannot support (``graph.Unavailable``) is no problem.
        """
        if not self.has_orders:
            return []
        as_of = as_of or self.default_as_of()
        problems, failed = [], set()
        cursor = self.cursor(as_of, model=False)  # every node is built below, in the graph's order
        self._warm_cursor = cursor
        target = AsOfTarget(self, as_of, cursor)
        # A node that builds the model of another date (the churn page's backtest refits at its cutoff, then
        # drops that model) goes first when built in a snapshot's file (prepare), so that the nodes written next
        # reuse the space it frees (DuckDB does not shrink the file: done last, it left 0.7 GB of free blocks in
        # the 10M snapshot), and last in memory (the app), where the pages' aggregates are wanted first.
        nodes = [node for node in graph.load().nodes.values() if node.kind != "source"]
        elsewhere = [node for node in nodes if node.earlier_reads]
        rest = [node for node in nodes if not node.earlier_reads]
        try:
            for node in (elsewhere + rest if self._build_file is not None else rest + elsewhere):
                PAGE_RUNS.wait_idle(YIELD_SECONDS)  # a page being opened goes first (none in ``prepare``)
                if self._stopping.is_set():
                    return problems
                if failed & set(node.reads):
                    failed.add(node.name)
                    continue
                try:
                    graph.ensure(target, [node.name])
                except graph.Unavailable:  # e.g. too little history for the backtest: its page says why
                    pass
                except Exception as error:  # reported, and the page shows it too
                    failed.add(node.name)
                    problems.append(f"{node.name}: {str(error).splitlines()[0] if str(error) else repr(error)}")
        finally:
            self._warm_cursor = None
            cursor.close()
        return problems

    def pending(self, as_of: date, names) -> list[graph.Node]:
        """The nodes the named queries (or nodes) need at as_of that are not built yet, dependencies first
        (``graph.pending``); [] without a cursor when everything they read directly is built (or cannot be)."""
        loaded = graph.load()
        direct = [read for name in names for read in ((name,) if name in loaded.nodes else loaded.reads_of(name))]
        if all(loaded.nodes[read].kind == "source" or self.builds.is_built(as_of, read)
               or self.builds.unavailable(as_of, read) is not None for read in direct):
            return []
        cursor = self.cursor(as_of, model=False)
        try:
            return graph.pending(AsOfTarget(self, as_of, cursor), names, loaded)
        finally:
            cursor.close()

    def build(self, as_of: date, name: str) -> None:
        """Build node ``name`` at as_of, and what it reads, each once whoever asks (``graph.ensure``)."""
        cursor = self.cursor(as_of, model=False)
        try:
            graph.ensure(AsOfTarget(self, as_of, cursor), [name])
        finally:
            cursor.close()

    def has_model(self, as_of: date) -> bool:
        """Whether the model for as_of is built or saved in the snapshot (``cursor(as_of)`` builds it if not)."""
        with self._lock:
            return as_of in self._schemas or as_of in self._snapshot_schemas

    def drop_model(self, as_of: date) -> None:
        """Drop the model built for as_of in this process (one built to be read once: the backtest's cutoff)."""
        with self._lock:
            schema = self._schemas.pop(as_of, None)
            self.builds.forget(as_of)
            if schema is not None and self._published_to is None:
                cursor = self.connection.cursor()
                try:
                    cursor.execute(f"drop schema if exists {self._model_catalog}.{schema} cascade")
                finally:
                    cursor.close()

    def stop_background_work(self) -> None:
        """Make a ``warm`` or ``prepare`` running in another thread stop soon: its running query is interrupted,
        no further step starts, and nothing is saved. The app calls this at exit, because a thread still inside
        DuckDB when Python shuts down aborts the process.
        """
        self._stopping.set()
        for cursor in (self._warm_cursor, *list(self._model_cursors)):  # the backtest builds the cutoff's model
            if cursor is not None:
                try:
                    cursor.interrupt()
                except (duckdb.Error, AttributeError):
                    pass

    def cursor(self, as_of: date | None = None, model: bool = True) -> duckdb.DuckDBPyConnection:
        """A new cursor whose unqualified table names resolve to the model built for as_of.

        ``model``: build the whole row-level model first (``graph.MODEL_NODES``), so that SQL run on the cursor may
        read ``valid_orders`` or ``customer_summary`` directly. The app, the report and the command line pass
        False: ``queries.run_query`` builds what each query reads when it first reads it, so the first page after
        new exports and a one-off report build only the part of the model they need (at 10M orders the weekly
        review's cards need neither ``customer_activity`` nor the tickets: 7 s of a 20 s model).
        """
        as_of = as_of or self.default_as_of()
        schema = self._ensure_model(as_of)
        cursor = self.connection.cursor()
        cursor.execute(f"set search_path = '{self._search_path(as_of, schema)}'")
        graph.bind(cursor, lambda bound: AsOfTarget(self, as_of, bound))  # run_query builds what it reads
        if model:
            try:
                graph.ensure(AsOfTarget(self, as_of, cursor), graph.MODEL_NODES)  # each once, whoever asks first
            except BaseException:
                cursor.close()
                raise
        return cursor

    def _search_path(self, as_of: date, schema: str) -> str:
        """The as-of schema first (where new tables go), then the snapshot's schema for as_of if any, then main."""
        if as_of in self._snapshot_schemas:
            return f"memory.{schema},{snapshots.CATALOG}.{self._snapshot_schemas[as_of]},memory.main"
        return f"{self._model_catalog}.{schema},memory.main"

    def _ensure_model(self, as_of: date) -> str:
        """Build the derived tables for as_of once (thread-safe); drop the oldest beyond a few.

        The lock is held only to look up and record schemas, not while a model is built: a build takes from
        seconds to minutes (the backtest's cutoff at 100M orders: minutes), and every session's cursor, for any
        date, would otherwise wait for it. A second caller for the same date waits for that date's build only.
        """
        while True:
            with self._lock:
                if self._published_to is not None:
                    raise RuntimeError(
                        f"this model was saved to {self._published_to}; open the exports again to read it")
                if as_of in self._schemas:
                    schema = self._schemas.pop(as_of)
                    self._schemas[as_of] = schema  # most recently used last
                    return schema
                building = self._building.get(as_of)
                if building is None:
                    building = self._building[as_of] = threading.Event()
                    break
            building.wait()  # then look again: built, or failed (and this caller tries the build itself)
        try:
            schema = self._build_model(as_of)
            with self._lock:
                self._schemas[as_of] = schema
                evicted = []
                while len(self._schemas) > MAX_AS_OF_SCHEMAS:
                    oldest_as_of = next(iter(self._schemas))
                    evicted.append(self._schemas.pop(oldest_as_of))
                    self.builds.forget(oldest_as_of)
            for oldest in evicted:
                cursor = self.connection.cursor()
                try:
                    cursor.execute(f"drop schema if exists {self._model_catalog}.{oldest} cascade")
                finally:
                    cursor.close()
            return schema
        finally:
            with self._lock:
                self._building.pop(as_of, None)
            building.set()

    def _build_model(self, as_of: date) -> str:
        """Create the as-of schema for as_of and build the model layer in it (without the lock); its name."""
        schema = "asof_" + re.sub(r"\D", "", as_of.isoformat())
        started = time.perf_counter()
        cursor = self.connection.cursor()
        self._model_cursors.add(cursor)
        try:
            qualified = f"{self._model_catalog}.{schema}"
            cursor.execute(f"drop schema if exists {qualified} cascade")
            cursor.execute(f"create schema {qualified}")
            self.builds.forget(as_of)  # a new schema: nothing built in an earlier one for this date is there
            cursor.execute(f"set search_path = '{self._search_path(as_of, schema)}'")
            try:
                # Only what every cursor reads directly (model_info: metrics.model_as_of); the rest of the model is
                # built by the first query that reads it (queries.run_query), or by ``cursor(as_of, model=True)``.
                graph.ensure(AsOfTarget(self, as_of, cursor), graph.CURSOR_NODES)
            except Exception:
                cursor.execute(f"drop schema if exists {qualified} cascade")
                self.builds.forget(as_of)
                raise
            self.build_seconds[as_of] = time.perf_counter() - started
            return schema
        finally:
            self._model_cursors.discard(cursor)
            cursor.close()


_STAGE_NUMBERS = itertools.count()
STAGED_ROW = "staged_row"  # the column that names a staged row (its rowid) in Staged.frame and Staged.join


def _column_list(columns) -> str:
    """Column names from our code (churn.py's constants), quoted and joined for a select."""
    return ", ".join(quote_identifier(column) for column in columns)


@dataclass
class Staged:
    """A query's rows held by DuckDB in the temporary table ``table`` (``AsOfTarget.staged``).

    ``frame(columns)`` fetches some columns with ``staged_row``, the row's number there; ``join(name, frames)``
    makes the temporary table ``name`` from the staged rows and the columns Python computed for them, matched by
    ``staged_row``, whatever the frames' order or size (batches). So a builder holds a few numeric columns in
    pandas, never the whole result nor a copy of it beside its outputs.
    """

    cursor: duckdb.DuckDBPyConnection
    table: str
    joined: list[str] = field(default_factory=list)  # the tables this stage made (dropped when it ends)
    open_joins: set = field(default_factory=set)  # the tables every open stage of the target made

    def frame(self, columns, positive: str | None = None):
        """``staged_row`` and the named columns of every staged row (``positive``: of the rows where that column
        is above 0), in no particular order."""
        names = _column_list(columns)
        where = "" if positive is None else f" where {quote_identifier(positive)} > 0"
        return self.cursor.execute(f"select rowid as {STAGED_ROW}, {names} from {self.table}{where}").df()

    def batches(self, columns, size: int):
        """``frame(columns)`` in consecutive parts of at most ``size`` rows, each fetched when the previous one is
        done with; one empty part when there is no row."""
        names = _column_list(columns)
        count = self.cursor.execute(f"select count(*) from {self.table}").fetchone()[0]
        for start in range(0, max(count, 1), size):
            yield self.cursor.execute(f"select rowid as {STAGED_ROW}, {names} from {self.table} "
                                      "where rowid >= ? and rowid < ?", [start, start + size]).df()

    def counts(self, columns):
        """The distinct values of the named columns with ``customers``, how many staged rows have each."""
        names = _column_list(columns)
        return self.cursor.execute(
            f"select {names}, count(*) as customers from {self.table} group by all order by all").df()

    def mean(self, column: str) -> float:
        """The mean of a column over the staged rows (NaN without rows)."""
        value = self.cursor.execute(f"select avg({quote_identifier(column)}) from {self.table}").fetchone()[0]
        return math.nan if value is None else float(value)

    def join(self, name: str, frames, columns=None) -> None:
        """Make the temporary table ``name`` (or add to it when an earlier ``join`` of this block or an enclosing
        one made it): the staged ``columns`` (all by default, in the query's order), then the columns of
        ``frames`` but ``staged_row``, one row per row of the frames. Each frame has ``staged_row`` and the same
        columns; the frames are copied one at a time, so a generator keeps one batch in memory. Staged rows no
        frame names are left out. Names come from our code, never from a user."""
        results = f"{name}_results"
        self.cursor.execute(f"drop table if exists temp.{results}")
        number = -1
        try:
            for number, frame in enumerate(frames):
                self.cursor.register(f"{results}_frame", frame)
                try:
                    if number == 0:
                        self.cursor.execute(f"create temp table {results} as select * from {results}_frame")
                    else:
                        self.cursor.execute(f"insert into {results} select * from {results}_frame")
                finally:
                    self.cursor.unregister(f"{results}_frame")
            if number < 0:
                raise ValueError(f"no frame to join into {name}: give one, empty, for no rows")
            staged = "staged.*" if columns is None else ", ".join(
                f"staged.{quote_identifier(column)}" for column in columns)
            rows = (f"select {staged}, results.* exclude ({STAGED_ROW}) from {self.table} as staged "
                    f"inner join {results} as results on results.{STAGED_ROW} = staged.rowid")
            if name in self.open_joins:
                self.cursor.execute(f"insert into temp.{name} by name {rows}")
            else:
                self.cursor.execute(f"create or replace temp table {name} as {rows}")
                self.joined.append(name)
                self.open_joins.add(name)
        finally:
            self.cursor.execute(f"drop table if exists temp.{results}")

    def drop_source(self) -> None:
        """Drop the staged rows now (the tables joined from them stay until the block ends): their memory is
        DuckDB's again for the SQL that follows."""
        self.cursor.execute(f"drop table if exists temp.{self.table}")


@dataclass
class AsOfTarget:
    """DuckDB at one as-of date of a database (``graph.Target``): builds nodes with the cursor's search path.

    ``Database.cursor(as_of)`` binds each cursor to one, so ``queries.run_query`` builds what it reads.
    """

    database: Database
    as_of: date
    cursor: duckdb.DuckDBPyConnection
    _depth: int = field(default=0, init=False, repr=False, compare=False)  # transactions open (see transaction)
    # Tables Staged.join made in the stages open on this target: a later stage adds to them, anything else of the
    # same name (left by a failed cleanup) is replaced.
    _joined: set = field(default_factory=set, init=False, repr=False, compare=False)

    @property
    def builds(self) -> graph.Builds:
        return self.database.builds

    def parameters(self) -> dict:
        """``$as_of``, ``$cutoff_at`` (the first UTC instant after the as-of day) and ``$timezone``."""
        timezone = self.database.settings.timezone
        return {"as_of": self.as_of, "cutoff_at": cutoff_for(self.as_of, timezone), "timezone": timezone}

    def exists(self, node: graph.Node) -> bool:
        """Every table of the node resolves on the search path (this date's schema, its snapshot schema, main)."""
        for table in node.tables:
            try:
                self.cursor.table(table)
            except duckdb.CatalogException:
                return False
        return True

    def execute_file(self, sql: str, **params) -> None:
        queries.execute_file(self.cursor, sql, **params)

    def query(self, sql: str, **params):
        return queries.run_query(self.cursor, sql, **params)

    @contextmanager
    def transaction(self):
        """All or nothing; a transaction inside another joins it (a builder that registers two frames)."""
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        self.cursor.execute("begin transaction")
        self._depth = 1
        try:
            yield self
        except BaseException:
            try:
                self.cursor.execute("rollback")
            except duckdb.Error:  # an interrupted build may have ended the transaction already
                pass
            raise
        finally:
            self._depth = 0
        self.cursor.execute("commit")

    @contextmanager
    def registered(self, name: str, frame, as_table: bool = False):
        """``frame`` readable as ``name`` while the steps run, in one transaction. ``as_table``: copied into a
        temporary table first (dropped afterwards), for SQL that reads it by name with ``query_table`` (the RFM
        macro): over a registered frame DuckDB takes seconds and gigabytes for a few thousand rows there."""
        if not as_table:
            self.cursor.register(name, frame)
            try:
                with self.transaction():
                    yield self
            finally:
                self.cursor.unregister(name)
            return
        staging = f"{name}_frame"  # names from our code, never from a user
        self.cursor.register(staging, frame)
        try:
            self.cursor.execute(f"create or replace temp table {name} as select * from {staging}")
        finally:
            self.cursor.unregister(staging)
        try:
            with self.transaction():
                yield self
        finally:
            self.cursor.execute(f"drop table if exists temp.{name}")

    @contextmanager
    def staged(self, sql: str, **params):
        """The rows of ``queries/<sql>.sql`` in a temporary table while the block runs (``Staged``), dropped at its
        end with every table joined from it: DuckDB holds the rows, within its ``memory_limit`` (spilling beyond
        it), and Python fetches only the columns it computes with. At 40M customers a whole ``churn_features``
        frame and the model's outputs beside it were gigabytes outside that limit (bench/README.md, "100M
        orders")."""
        staged_table = f"staged_{sql}_{next(_STAGE_NUMBERS)}"
        sql_text, bound = queries.bind(sql, params)
        with queries.reads_ready(self.cursor, sql):
            self.cursor.execute(f"create temp table {staged_table} as {sql_text}", bound)
        staged = Staged(self.cursor, staged_table, open_joins=self._joined)
        try:
            yield staged
        finally:
            for joined in (*staged.joined, staged_table):
                self._joined.discard(joined)
                try:
                    self.cursor.execute(f"drop table if exists temp.{joined}")
                except duckdb.Error:  # an interrupted connection: the error that ended the block is the one to see
                    pass

    @contextmanager
    def at(self, as_of: date):
        """This database at another as-of date; its model is dropped afterwards unless it was built before."""
        had_model = self.database.has_model(as_of)
        cursor = self.database.cursor(as_of, model=False)  # the steps build what they read
        try:
            yield AsOfTarget(self.database, as_of, cursor)
        finally:
            cursor.close()
            if not had_model:
                self.database.drop_model(as_of)
