"""Serve a folder prepared on another engine (``python -m dashboard prepare --engine spark``) as a snapshot.

The folder holds one Parquet folder per table of the build graph (the clean tables and every node built at one
as-of date) and ``manifest.json``. ``open_database(settings)`` gives the app a ``Database`` whose snapshot is that
folder: an in-memory catalog named like an attached snapshot holds one view per table (and the macros the SQL
files define, created by those files' own ``create macro`` statements), so every query, page and report runs on
it unchanged and nothing reads the raw exports. Another as-of date is built by DuckDB from the clean tables, as
from a snapshot. Only DuckDB here: serving needs no Spark.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from pathlib import Path

import duckdb

from dashboard import access, checks, graph, queries, snapshots
from dashboard.checks import Finding
from dashboard.sources import CONTRACT, Catalog, TableSource, quote_literal

MANIFEST = "manifest.json"


class PreparedError(ValueError):
    """The prepared folder cannot be served (the message says why and names the folder)."""


def read_manifest(folder: Path) -> dict:
    """The manifest of a prepared folder; PreparedError when it is missing or not one this code wrote."""
    path = Path(folder) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PreparedError(f"prepared folder {folder} has no {MANIFEST}: run python -m dashboard prepare "
                            "--engine spark --out it first") from None
    except (OSError, ValueError) as error:
        raise PreparedError(f"{path} cannot be read: {error}") from error
    if manifest.get("format") != 1 or "tables" not in manifest or "as_of" not in manifest:
        raise PreparedError(f"{path} is not a prepared folder's manifest this version can read")
    return manifest


def version(folder: Path) -> str:
    """Changes whenever the folder is prepared again (the manifest's build time and code key)."""
    manifest = read_manifest(folder)
    return f"prepared-{manifest['built_at']}-{manifest['code_key']}"


def code_matches(manifest: dict) -> bool:
    """Whether the folder was built by this code (the SQL files and modules a snapshot's key covers)."""
    return manifest.get("code_key") == snapshots.code_version()


def catalog(folder: Path, manifest: dict, stale: str | None = None) -> Catalog:
    """The exports' catalog as the engine that prepared the folder saw it (row counts, findings); ``stale``: why
    the folder may not fit this code (``stale_message``), listed as a warning."""
    columns = manifest.get("columns", {})
    tables = {name: TableSource(name, row_count=int(manifest["row_counts"].get(name, 0)),
                                is_usable=bool(manifest["usable"].get(name, False)),
                                columns={column: tuple(mapped) for column, mapped in columns.get(name, {}).items()})
              for name in CONTRACT}
    findings = [Finding(level, table, column, message, rows)
                for level, table, column, message, rows in manifest.get("findings", [])]
    findings.append(Finding("INFO", "data", "", f"served from {folder}, prepared on {manifest.get('engine', '?')} "
                                                f"at {manifest['built_at']} from {manifest.get('data_dir', '?')}; "
                                                "row-level checks ran where it was prepared"))
    if stale:
        findings.append(Finding("WARN", "data", "", stale))
    return Catalog(Path(folder).resolve(), tables, findings, f"prepared-{manifest['data_fingerprint']}")


def _view_sql(folder: Path, name: str, interval_columns: list[str], connection) -> str:
    """A SELECT over a table's Parquet files with DuckDB's own types: Spark writes instants (timestamps with a
    zone, UTC) where DuckDB has naive UTC timestamps, and intervals as microseconds."""
    files = quote_literal(str(Path(folder) / name / "*.parquet"))
    described = connection.execute(f"describe select * from read_parquet({files})").fetchall()
    replaced = []
    for column, kind, *_ in described:
        quoted = '"' + column.replace('"', '""') + '"'
        if column in interval_columns:
            replaced.append(f"to_microseconds({quoted}) as {quoted}")
        elif kind.upper().startswith("TIMESTAMP WITH TIME ZONE"):
            replaced.append(f"cast({quoted} as timestamp) as {quoted}")
    # "select *" (not each column by name): DuckDB refuses a table macro whose parameter is named like a column of a
    # view that lists its columns ("Conflicting column names").
    return f"select * {'replace (' + ', '.join(replaced) + ') ' if replaced else ''}from read_parquet({files})"


def attach(connection, folder: Path, manifest: dict) -> dict[date, str]:
    """Create the snapshot catalog over the folder on a connection (before lockdown); return {as_of: schema}."""
    as_of = date.fromisoformat(manifest["as_of"])
    schema = "asof_" + re.sub(r"\D", "", as_of.isoformat())
    connection.execute(f"attach ':memory:' as {snapshots.CATALOG}")
    connection.execute(f"create schema {snapshots.CATALOG}.{schema}")
    for name, details in manifest["tables"].items():
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
            raise PreparedError(f"manifest names a table {name!r}")
        where = "main" if name.startswith("clean_") else schema
        sql = _view_sql(folder, name, details.get("interval_columns", []), connection)
        connection.execute(f"create view {snapshots.CATALOG}.{where}.{name} as {sql}")
    for table in CONTRACT:
        connection.execute(f"create or replace view clean_{table} as "
                           f"select * from {snapshots.CATALOG}.main.clean_{table}")
    # Macros bind the tables they name when created: created with the folder's schema on the search path.
    connection.execute(f"set search_path = '{snapshots.CATALOG}.{schema},memory.main'")
    for file in manifest.get("macro_files", []):
        for statement in duckdb.extract_statements(queries.load_sql(file)):
            text = statement.query
            if re.match(r"\s*(--[^\n]*\n\s*)*create\s+(or\s+replace\s+)?macro\b", text, re.IGNORECASE):
                body = re.sub(r"(?i)create\s+(or\s+replace\s+)?macro\s+",
                              f"create macro {snapshots.CATALOG}.{schema}.", text, count=1)
                connection.execute(body)
    connection.execute("reset search_path")
    return {as_of: schema}


def open_database(settings, now: datetime | None, database_class):
    """A ``database_class`` (``model.Database``, which calls this from ``open``) serving ``settings.prepared_dir``
    (see the module docstring)."""
    folder = Path(settings.prepared_dir).expanduser().resolve()
    manifest = read_manifest(folder)
    now = now or datetime.utcnow()
    connection = duckdb.connect(":memory:")
    connection.execute("set TimeZone = 'UTC'")
    if settings.memory_limit:
        connection.execute("set memory_limit = $limit", {"limit": settings.memory_limit})
    spill_dir = settings.state_dir / "duckdb_tmp"
    try:
        spill_dir.mkdir(parents=True, exist_ok=True)
        connection.execute("set temp_directory = $path", {"path": str(spill_dir.resolve())})
    except OSError:
        spill_dir = None
    # What Database.open runs before any model, here too: customer_label() with this server's own pseudonym key
    # (the folder holds raw ids, never labels), the text masking and Wilson interval macros.
    access.install_customer_labels(connection, settings.state_dir)
    for name in graph.OPENED_BY_DATABASE:
        if name != "privacy_macros":
            queries.execute_file(connection, name)
    schemas = attach(connection, folder, manifest)
    for table, spec in CONTRACT.items():  # the raw exports are not here: their views are the clean rows
        connection.execute(f"create or replace view {table} as select * from clean_{table}")
    stale = None if code_matches(manifest) else stale_message(folder, manifest)
    database = database_class(settings, connection, catalog(folder, manifest, stale), now,
                              spill_dir=spill_dir.resolve() if spill_dir else None)
    database.snapshot, database._snapshot_schemas = folder, schemas
    database._row_findings = []  # checked where it was prepared (the manifest's findings)
    latest = manifest.get("latest_order_date")
    database._latest_order_date = date.fromisoformat(latest) if latest else None
    database._has_usable_orders = bool(connection.execute("select exists (select 1 from clean_orders)").fetchall()[0][0])
    database.serving_problem = stale  # a banner on every page, a warning from every command
    database._lock_down()
    return database


def stale_message(folder: Path, manifest: dict) -> str:
    """What a folder prepared by another version of the code means for the numbers served from it."""
    return (f"The prepared folder {folder} was built by another version of the dashboard's code "
            f"({manifest.get('engine', '?')}, {manifest.get('built_at', '?')}): tables this version reads may be "
            "missing or built differently, so some numbers can be missing or wrong. Prepare it again: "
            f"python -m dashboard prepare --engine spark --out {folder}")
