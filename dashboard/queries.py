"""Run the SQL files in ``queries/``: the only place in the code that runs SQL text from disk.

Every file starts with a header naming its grain, the ``$parameters`` it takes and what it reads (and creates)::

    -- Grain: one row per cohort_month x months_since_first_order.
    -- Params: $grain, $channels
    -- Reads: cube_cohort_retention, period_of_as_of(), segment_keys()

Values are always bound as DuckDB named parameters, never formatted into the SQL text.

``run_query`` first builds what the query reads and is missing at the cursor's as-of date (an aggregate
``cube_*``, the churn scores): the build graph (``dashboard/graph.py``) knows what reads what, and builds each
node once for every session; later filter changes read only the aggregate.
"""

from __future__ import annotations

import re
import threading
from contextlib import contextmanager
from functools import lru_cache

import pandas as pd

from dashboard import graph
from dashboard.graph import QUERIES_DIR, declared_parameters, load_sql  # noqa: F401 (the graph reads the headers)

PARAMETER = re.compile(r"(?<![:$\w])\$([a-z_][a-z0-9_]*)")


class QueryError(RuntimeError):
    """A query failed; the message names the SQL file and DuckDB's reason."""


def sql_parameters(sql: str) -> set[str]:
    """Names of the ``$parameters`` used in a SQL text (comments excluded)."""
    return set(PARAMETER.findall(_code(sql)))


@lru_cache(maxsize=None)
def used_parameters(name: str) -> frozenset[str]:
    """Names of the ``$parameters`` ``queries/<name>.sql`` uses: what a cached result depends on."""
    return frozenset(sql_parameters(load_sql(name)))


def _code(sql: str) -> str:
    """SQL text without its ``--`` comments."""
    return "\n".join(line.split("--", 1)[0] for line in sql.splitlines())


def bind(name: str, params: dict) -> tuple[str, dict]:
    """The SQL of a file and the subset of params it uses; unknown or missing names raise."""
    sql = load_sql(name)
    used = used_parameters(name)
    missing = used - set(params)
    if missing:
        raise TypeError(f"queries/{name}.sql needs parameters: {', '.join(sorted(missing))}")
    return sql, {key: params[key] for key in used}


def execute_with_time_limit(con, sql: str, params: dict, seconds: float | None, label: str, arrow: bool = False):
    """Run SQL with bound params; interrupt it after ``seconds`` (None = no limit) with a clear QueryError.
    ``arrow``: return a ``pyarrow.Table`` instead of a DataFrame (no pandas copy of the rows)."""
    timer = threading.Timer(seconds, con.interrupt) if seconds else None
    if timer:
        timer.daemon = True
        timer.start()
    try:
        if arrow:  # a relation, not a DB-API result: DuckDB copies the rows once more for the latter (and warns)
            return con.sql(sql, params=params or None).to_arrow_table()
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
    return _run(con, name, timeout_seconds, params, arrow=False)


def run_query_arrow(con, name: str, timeout_seconds: float | None = None, **params):
    """``run_query`` returning a ``pyarrow.Table``: for the few callers that hand millions of rows on to a file
    writer (the scores CSV), where a pandas copy of every row costs seconds and changes nothing they write."""
    return _run(con, name, timeout_seconds, params, arrow=True)


def _run(con, name: str, timeout_seconds: float | None, params: dict, arrow: bool):
    sql, bound = bind(name, params)
    with reads_ready(con, name):
        return execute_with_time_limit(con, sql, bound, timeout_seconds, f"queries/{name}.sql", arrow=arrow)


@contextmanager
def reads_ready(con, name: str):
    """A block that runs ``queries/<name>.sql`` (``run_query``; ``model.AsOfTarget.staged`` copies its rows into a
    table): what the file reads is built first, its caller frames registered (graph.CALLER_FRAMES, read fresh
    each time), and an error names the file."""
    try:
        graph.ensure_for(con, [name])
    except graph.Unavailable:  # the data cannot support what it reads: the message says why
        raise
    except Exception as error:  # names the query the page asked for, then the node that failed
        raise QueryError(f"queries/{name}.sql failed: {str(error).splitlines()[0]}") from error
    with graph.frames_for(con, name):
        try:
            yield
        except QueryError:  # already names the file (execute_with_time_limit's, a time limit's)
            raise
        except Exception as error:
            raise QueryError(f"queries/{name}.sql failed: {str(error).splitlines()[0]}") from error


def execute_file(con, name: str, **params) -> None:
    """Run a SQL file that creates a table (model build steps), binding the params it uses."""
    sql, bound = bind(name, params)
    try:
        con.execute(sql, bound)
    except Exception as error:
        raise QueryError(f"queries/{name}.sql failed: {str(error).splitlines()[0]}") from error
