"""Run the SQL files in ``queries/``: the only place in the code that reads SQL text from disk.

Every file starts with a header naming its grain and the ``$parameters`` it takes::

    -- Grain: one row per cohort_month x months_since_first_order.
    -- Params: $grain, $channels

Values are always bound as DuckDB named parameters, never formatted into the SQL text.

Aggregate tables (``queries/cube_<name>.sql``, each a ``create table cube_<name> as ...`` reading the model
tables) are built lazily: the first query whose SQL names ``cube_<name>`` builds it in the cursor's as-of
schema, once, for every session; later filter changes read only the aggregate.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from pathlib import Path

import pandas as pd

QUERIES_DIR = Path(__file__).resolve().parent.parent / "queries"
PARAMETER = re.compile(r"(?<![:$\w])\$([a-z_][a-z0-9_]*)")
HEADER_PARAMS = re.compile(r"^--\s*Params:\s*(.*)$", re.MULTILINE | re.IGNORECASE)
CUBE_TABLE = re.compile(r"\b(cube_[a-z0-9_]+)\b")
_CUBE_LOCKS: dict[str, threading.Lock] = {}
_CUBE_LOCKS_GUARD = threading.Lock()


class QueryError(RuntimeError):
    """A query failed; the message names the SQL file and DuckDB's reason."""


@lru_cache(maxsize=None)
def load_sql(name: str) -> str:
    """The text of ``queries/<name>.sql``."""
    path = QUERIES_DIR / f"{name}.sql"
    if not path.is_file():
        raise KeyError(f"no SQL file queries/{name}.sql")
    return path.read_text(encoding="utf-8")


def sql_parameters(sql: str) -> set[str]:
    """Names of the ``$parameters`` used in a SQL text (comments excluded)."""
    return set(PARAMETER.findall(_code(sql)))


@lru_cache(maxsize=None)
def used_parameters(name: str) -> frozenset[str]:
    """Names of the ``$parameters`` ``queries/<name>.sql`` uses: what a cached result depends on."""
    return frozenset(sql_parameters(load_sql(name)))


def declared_parameters(sql: str) -> set[str]:
    """Names listed in the file's ``-- Params:`` header line (empty when it says none)."""
    match = HEADER_PARAMS.search(sql)
    if not match:
        return set()
    return set(re.findall(r"\$([a-z_][a-z0-9_]*)", match.group(1)))


def _code(sql: str) -> str:
    """SQL text without its ``--`` comments."""
    return "\n".join(line.split("--", 1)[0] for line in sql.splitlines())


@lru_cache(maxsize=None)
def required_cubes(name: str) -> tuple[str, ...]:
    """The aggregate tables ``queries/<name>.sql`` reads, dependencies first (each a ``cube_*.sql`` file).

    Example: ``required_cubes("kpis") == ("cube_repeat_customers",)``: kpis.sql reads that aggregate.
    """
    ordered: list[str] = []

    def visit(file_name: str, trail: tuple[str, ...]) -> None:
        for cube in dict.fromkeys(CUBE_TABLE.findall(_code(load_sql(file_name)))):
            if cube == file_name or cube in ordered or not (QUERIES_DIR / f"{cube}.sql").is_file():
                continue
            if cube in trail:
                raise ValueError(f"queries/{cube}.sql depends on itself through {' -> '.join(trail)}")
            visit(cube, trail + (cube,))
            ordered.append(cube)

    visit(name, (name,))
    return tuple(ordered)


def _table_exists(con, table: str) -> bool:
    """True when the cursor's search path (its as-of schema, then main) holds the table."""
    try:
        con.table(table)
    except Exception as error:  # duckdb.CatalogException; duckdb is not imported here
        if type(error).__name__ == "CatalogException":
            return False
        raise
    return True


def _cube_lock(cube: str) -> threading.Lock:
    """The lock of one aggregate: sessions wait only for a build of the aggregate they need."""
    with _CUBE_LOCKS_GUARD:
        return _CUBE_LOCKS.setdefault(cube, threading.Lock())


def ensure_cubes(con, name: str) -> None:
    """Build the aggregate tables ``queries/<name>.sql`` reads that the cursor's schema lacks (once)."""
    for cube in required_cubes(name):
        if _table_exists(con, cube):
            continue
        with _cube_lock(cube):  # one build per cube even when many sessions open the page at once
            if not _table_exists(con, cube):
                try:
                    execute_file(con, cube)
                except QueryError:
                    # Another builder outside this lock (a second copy of this module after a code reload)
                    # may have won the race: its table is as good as ours.
                    if not _table_exists(con, cube):
                        raise


def bind(name: str, params: dict) -> tuple[str, dict]:
    """The SQL of a file and the subset of params it uses; unknown or missing names raise."""
    sql = load_sql(name)
    used = used_parameters(name)
    missing = used - set(params)
    if missing:
        raise TypeError(f"queries/{name}.sql needs parameters: {', '.join(sorted(missing))}")
    return sql, {key: params[key] for key in used}


def execute_with_time_limit(con, sql: str, params: dict, seconds: float | None, label: str) -> pd.DataFrame:
    """Run SQL with bound params; interrupt it after ``seconds`` (None = no limit) with a clear QueryError."""
    timer = threading.Timer(seconds, con.interrupt) if seconds else None
    if timer:
        timer.daemon = True
        timer.start()
    try:
        return con.execute(sql, params).df()
    except Exception as error:  # duckdb raises many exception types; callers get one
        if type(error).__name__ == "InterruptException":
            raise QueryError(f"{label} was stopped: it ran longer than the {seconds:g} s time limit") from error
        raise QueryError(f"{label} failed: {str(error).splitlines()[0]}") from error
    finally:
        if timer:
            timer.cancel()


def run_query(con, name: str, timeout_seconds: float | None = None, **params) -> pd.DataFrame:
    """Run ``queries/<name>.sql`` on a DuckDB connection or cursor with bound params; return a DataFrame.

    Example: ``run_query(cur, "repeat_rate_by_segment", dimension="region", channels=["email"])``.
    Extra keyword arguments the file does not use are ignored, so pages can pass one filter dict.
    A query running longer than ``timeout_seconds`` is interrupted (QueryError).
    """
    sql, bound = bind(name, params)
    try:
        ensure_cubes(con, name)
    except Exception as error:  # names the query the page asked for, then the aggregate that failed
        raise QueryError(f"queries/{name}.sql failed: {str(error).splitlines()[0]}") from error
    return execute_with_time_limit(con, sql, bound, timeout_seconds, f"queries/{name}.sql")


def execute_file(con, name: str, **params) -> None:
    """Run a SQL file that creates a table (model build steps), binding the params it uses."""
    sql, bound = bind(name, params)
    try:
        con.execute(sql, bound)
    except Exception as error:
        raise QueryError(f"queries/{name}.sql failed: {str(error).splitlines()[0]}") from error
