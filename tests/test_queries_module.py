"""The query runner: bound parameters only, clear errors, and a time limit that interrupts."""

from __future__ import annotations

import time

import duckdb
import pytest

from dashboard.queries import QueryError, bind, execute_with_time_limit, run_query


def test_a_query_over_the_time_limit_is_interrupted_with_a_clear_message():
    con = duckdb.connect()
    started = time.perf_counter()
    with pytest.raises(QueryError, match="ran longer than the 0.3 s time limit"):
        execute_with_time_limit(con, "select count(*) from range(100000000000) t(a), range(10) u(b)", {}, 0.3, "slow")
    assert time.perf_counter() - started < 10
    assert con.execute("select 42").fetchone() == (42,)  # the connection is usable afterwards


def test_a_fast_query_is_not_interrupted():
    con = duckdb.connect()
    frame = execute_with_time_limit(con, "select $x + 1 as y", {"x": 41}, 5, "fast")
    assert frame["y"].tolist() == [42]


def test_missing_parameters_name_the_file():
    with pytest.raises(TypeError, match="queries/kpis.sql needs parameters: categories, channels"):
        bind("kpis", {"regions": None, "tiers": None})


def test_a_failing_query_raises_query_error_naming_the_file():
    con = duckdb.connect()  # no model tables: the query cannot bind
    with pytest.raises(QueryError, match="queries/kpis.sql failed"):
        run_query(con, "kpis", channels=None, regions=None, categories=None, tiers=None)
