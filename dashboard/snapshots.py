"""Model snapshots: one version of the exports' clean tables, model and aggregates, kept in a DuckDB file.

Building the model reads every export and takes about 30 s at 10M orders; reading it back from a snapshot takes
well under a second. A snapshot is written once per version of the exports (by the app's background warm-up or
by ``python -m dashboard prepare``) under ``<state_dir>/snapshots/``, and every later start (the app, the report,
the scores, on any number of processes at once) attaches it read-only instead of rebuilding.

Its name is a key of everything its content depends on, so a snapshot is never used for data or code it was
not built from:

- the exports' fingerprint (every file's path, size and modification time, and ``mapping.toml``);
- the time zone;
- the code that builds it (the text of every ``queries/*.sql`` and ``dashboard/*.py``) and DuckDB's version.

One more input changes with time: a row dated more than a day after "now" is left out as being in the future.
The snapshot records when its earliest such row stops being in the future (``valid_until``); from then on it is
not used, and the next start builds and saves a new one.

A snapshot is written to a temporary file in DuckDB's spill folder (the only folder the locked-down connection
may write to besides the exports, which it never writes) and then renamed into place, so a reader never sees a
half-written file. Nothing in a snapshot is changed after it is written.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import time
import uuid
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

import duckdb

from dashboard.sources import quote_literal

FORMAT = 2  # bump when the layout of a snapshot changes (2: the row checks' findings)
KEEP_SNAPSHOTS = 2  # newest snapshots kept per state folder (one for the running exports, one for the last)
CATALOG = "snapshot"  # the name a snapshot is attached under
_PROJECT = Path(__file__).resolve().parent.parent


@lru_cache(maxsize=1)
def code_version() -> str:
    """A hash of the code that decides what a snapshot holds: every SQL file and dashboard module, DuckDB's version."""
    digest = hashlib.sha256(f"{FORMAT}|{duckdb.__version__}".encode())
    for path in sorted([*(_PROJECT / "queries").glob("*.sql"), *(_PROJECT / "dashboard").glob("*.py")]):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def snapshot_key(exports_fingerprint: str, timezone: str) -> str:
    """The key of a snapshot: changes with the exports, the time zone and the code."""
    return hashlib.sha256(f"{exports_fingerprint}|{timezone}|{code_version()}".encode()).hexdigest()[:20]


def snapshot_dir(state_dir: Path) -> Path:
    """Where snapshots are kept."""
    return Path(state_dir) / "snapshots"


def snapshot_path(state_dir: Path, key: str) -> Path:
    """The file of the snapshot with this key (it may not exist)."""
    return snapshot_dir(state_dir) / f"model-{key}.duckdb"


def attach(connection, path: Path, now: datetime, problems: list[str] | None = None) -> dict[date, str] | None:
    """Attach the snapshot at path read-only; return its as-of dates and their schemas, or None when it cannot
    be used (missing, unreadable, or built when a row it left out as future was less than a day ahead of now).

    A snapshot that cannot be read is moved to quarantine (``quarantine``), so the next save replaces it; what
    happened is appended to problems.
    """
    if not path.is_file():
        return None
    try:
        connection.execute(f"attach {quote_literal(str(path))} as {CATALOG} (read_only)")
    except duckdb.Error as error:
        _note(problems, path, quarantine(path), error)
        return None
    try:
        valid_until, = connection.execute(f"select valid_until from {CATALOG}.main.snapshot_info").fetchone()
        schemas = dict(connection.execute(f"select as_of, schema_name from {CATALOG}.main.snapshot_schemas").fetchall())
    except duckdb.Error as error:
        connection.execute(f"detach {CATALOG}")
        _note(problems, path, quarantine(path), error)
        return None
    is_ours = all(re.fullmatch(r"asof_[0-9]{8}", str(schema)) for schema in schemas.values())  # formatted into SQL
    if (valid_until is not None and now > valid_until) or not schemas or not is_ours:
        connection.execute(f"detach {CATALOG}")
        return None
    return schemas


def stored_row_checks(connection) -> list | None:
    """The row checks' findings the attached snapshot holds (``describe``), in their order; None when it holds
    none (the database then checks the rows itself)."""
    from dashboard.findings import Finding

    exists, = connection.execute(
        "select count(*) from duckdb_tables() where database_name = $catalog and schema_name = 'main' "
        "and table_name = 'snapshot_row_checks'", {"catalog": CATALOG}).fetchone()
    if not exists:
        return None
    rows = connection.execute(f"select level, table_name, column_name, message, row_count "
                              f"from {CATALOG}.main.snapshot_row_checks order by rowid").fetchall()
    return [Finding(level, table, column, message, None if row_count is None else int(row_count))
            for level, table, column, message, row_count in rows]


def temporary_path(spill_dir: Path, key: str) -> Path:
    """A new file in the spill folder for a snapshot being written (pruned when a stopped writer leaves it)."""
    return Path(spill_dir) / f"snapshot-{key}-{os.getpid()}-{uuid.uuid4().hex[:8]}.duckdb"


_WRITER_FILE = re.compile(r"snapshot-.+-(?P<pid>\d+)-[0-9a-f]{8}\.duckdb(\.wal)?")
_SPILL_FILE = re.compile(r"duckdb_temp_(?P<pid>\d+)_\d+_.+")  # DuckDB's own spill files, named by their process


def _is_running(pid: int) -> bool:
    """Whether a process with this id runs on this machine (the state folder is one machine's)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: it runs
        return True
    return True


def _is_locked(path: Path) -> bool:
    """Whether another process holds DuckDB's lock on a database file (DuckDB locks a file it has open for
    writing, and the lock is seen from another container on the same host or over NFS, where a pid is not)."""
    try:
        descriptor = os.open(path, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.lockf(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(descriptor)  # also releases the lock just taken
    return False


def remove_stopped_writers(spill_dir: Path) -> list[Path]:
    """Remove the files a stopped ``prepare`` left in the spill folder: a partial snapshot (``temporary_path``) whose
    process no longer runs and whose file nobody holds DuckDB's lock on, with that process's DuckDB spill files
    (``duckdb_temp_<pid>_*``); spill files of other stopped processes once they are a day old. At 100M orders two
    partial snapshots (29 GB) filled the disk the next build spilled to (bench/README.md, "100M orders").
    Returns the files removed."""
    removed = []
    try:
        entries = list(Path(spill_dir).iterdir())
    except OSError:
        return removed
    stopped = set()
    for path in entries:
        match = _WRITER_FILE.fullmatch(path.name)
        if match and not _is_running(int(match["pid"])):
            database = path.with_name(path.name.removesuffix(".wal"))
            if not (database.exists() and _is_locked(database)):
                remove(database)
                stopped.add(int(match["pid"]))
                removed.append(path)
    for path in entries:
        match = _SPILL_FILE.fullmatch(path.name)
        if match and not _is_running(int(match["pid"])):
            try:
                if int(match["pid"]) in stopped or time.time() - path.stat().st_mtime > 86_400:
                    path.unlink()
                    removed.append(path)
            except OSError:
                pass
    return removed


def write(cursor, state_dir: Path, spill_dir: Path, key: str, schemas: dict[date, str], built_at: datetime,
          valid_until: datetime | None, row_checks: list | None = None) -> Path:
    """Copy the in-memory database (clean tables, as-of schemas with their aggregates and scores) into the
    snapshot for key; list only ``schemas`` (as-of schemas that were complete) as usable. Returns its path.
    """
    temporary = temporary_path(spill_dir, key)
    # The path is ours (state folder, key, pid, random), never a user's value.
    cursor.execute(f"attach {quote_literal(str(temporary))} as snapshot_out")
    try:
        cursor.execute("copy from database memory to snapshot_out")
        describe(cursor, "snapshot_out", key, schemas, built_at, valid_until, row_checks)
    except BaseException:
        cursor.execute("detach snapshot_out")
        remove(temporary)
        raise
    cursor.execute("detach snapshot_out")
    return publish(temporary, state_dir, spill_dir, key)


def describe(cursor, catalog: str, key: str, schemas: dict[date, str], built_at: datetime,
             valid_until: datetime | None, row_checks: list | None = None) -> None:
    """Write what a reader checks first into the snapshot being written (attached as catalog): its key and
    validity, which as-of schemas are complete, and (``row_checks``, a list of ``findings.Finding``) the row
    checks' findings on these exports.
    """
    if row_checks is not None:
        cursor.execute(f"create table {catalog}.main.snapshot_row_checks (level varchar, table_name varchar, "
                       "column_name varchar, message varchar, row_count bigint)")
        if row_checks:
            cursor.executemany(f"insert into {catalog}.main.snapshot_row_checks values ($level, $table, $column, "
                               "$message, $row_count)",
                               [{"level": f.level, "table": f.table, "column": f.column, "message": f.message,
                                 "row_count": f.row_count} for f in row_checks])
    cursor.execute(
        f"create table {catalog}.main.snapshot_info as select $key as key, $format as format, "
        "$built_at::timestamp as built_at, $valid_until::timestamp as valid_until",
        {"key": key, "format": FORMAT, "built_at": built_at, "valid_until": valid_until},
    )
    cursor.execute(f"create table {catalog}.main.snapshot_schemas (as_of date, schema_name varchar)")
    cursor.executemany(f"insert into {catalog}.main.snapshot_schemas values ($as_of, $schema)",
                       [{"as_of": as_of, "schema": schema} for as_of, schema in schemas.items()])


def publish(temporary: Path, state_dir: Path, spill_dir: Path, key: str) -> Path:
    """Rename a written and detached snapshot into place (atomically) and prune old ones; returns its path."""
    final = snapshot_path(state_dir, key)
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(temporary, final)
    prune(state_dir, spill_dir)
    return final


def prune(state_dir: Path, spill_dir: Path, keep: int = KEEP_SNAPSHOTS) -> None:
    """Remove all but the newest ``keep`` snapshots, and temporary files a stopped writer left (over a day old)."""
    try:
        saved = sorted(snapshot_dir(state_dir).glob("model-*.duckdb"), key=lambda path: path.stat().st_mtime,
                       reverse=True)
        for path in saved[keep:]:
            remove(path)
        for path in Path(spill_dir).glob("snapshot-*.duckdb*"):
            if time.time() - path.stat().st_mtime > 86_400:
                remove(path)
    except OSError:
        pass


QUARANTINE = "quarantine"  # under the snapshots folder: damaged snapshots, kept for a look, the newest only


def is_damage(error: BaseException) -> bool:
    """True when an error says a DuckDB file is damaged (a block's checksum, a corrupt header), not the query."""
    text = str(error)
    return "Corrupt database file" in text or ("checksum" in text and "does not match" in text)


def quarantine(path: Path) -> Path | None:
    """Move a damaged snapshot out of the way, into ``snapshots/quarantine/`` (only the newest one is kept: they
    can be large), so the next start rebuilds instead of failing on it again. Returns where it went (None when
    it could not be moved: then it is removed)."""
    folder = path.parent / QUARANTINE
    target = folder / f"{path.name}.{time.strftime('%Y%m%dT%H%M%S')}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for older in folder.glob("model-*"):
            remove(older)
        os.replace(path, target)
        remove(path)  # its write-ahead log, if any
        return target
    except OSError:
        remove(path)
        return None


def _note(problems: list[str] | None, path: Path, moved: Path | None, error: BaseException) -> None:
    """Say that a snapshot could not be read and where it went."""
    if problems is not None:
        where = f"moved to {moved}" if moved else "removed"
        problems.append(f"the model snapshot {path.name} cannot be read ({str(error).splitlines()[0][:160]}); "
                        f"{where}, and the model is built from the exports")


def remove(path: Path) -> None:
    """Delete a file and its write-ahead log if present (a process that has it open keeps reading it)."""
    for candidate in (path, path.with_name(path.name + ".wal")):
        try:
            candidate.unlink()
        except FileNotFoundError:
            pass
        except OSError:
            pass
