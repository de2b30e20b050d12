"""Run the SQL files in ``queries/``: the only place in the code that reads SQL text from disk.

Every file starts with a header naming its grain and the ``$parameters`` it takes::

    -- Grain: one row per cohort_month x months_since_first_order.
    -- Params: $grain, $channels

Values are always bound as DuckDB named parameters, never formatted into the SQL text.
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
    code = "\n".join(line.split("--", 1)[0] for line in sql.splitlines())
    return set(PARAMETER.findall(code))


def declared_parameters(sql: str) -> set[str]:
    """Names listed in the file's ``-- Params:`` header line (empty when it says none)."""
    match = HEADER_PARAMS.search(sql)
    if not match:
        return set()
    return set(re.findall(r"\$([a-z_][a-z0-9_]*)", match.group(1)))


def bind(name: str, params: dict) -> tuple[str, dict]:
    """The SQL of a file and the subset of params it uses; unknown or missing names raise."""
    sql = load_sql(name)
    used = sql_parameters(sql)
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
    return execute_with_time_limit(con, sql, bound, timeout_seconds, f"queries/{name}.sql")


def execute_file(con, name: str, **params) -> None:
    """Run a SQL file that creates a table (model build steps), binding the params it uses."""
    sql, bound = bind(name, params)
    try:
        con.execute(sql, bound)
    except Exception as error:
        raise QueryError(f"queries/{name}.sql failed: {str(error).splitlines()[0]}") from error
