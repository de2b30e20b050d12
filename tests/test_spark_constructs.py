"""The constructs the lint lets through (transpile.PORTABLE) or rewrites (transpile.REWRITES), compared on edge
values: each DuckDB SQL below runs on DuckDB and, translated, on Spark; their rows must be equal. The lint's rule
is that a construct goes into PORTABLE only after it compared equal here or in the parity cases
(tests/test_spark_parity.py). Runs under make test-spark (marker ``spark``)."""

from __future__ import annotations

import math

import duckdb
import pytest

from tests.spark_support import spark_session

pytestmark = pytest.mark.spark



def _union(rows: list[str]) -> str:
    return " union all ".join(f"select {row}" for row in rows)


CASES = {
    "cast to boolean of booleans and null (a bound $flag)":
        "select cast(true as boolean) as a, cast(false as boolean) as b, cast(null as boolean) as c, "
        "cast(1 > 2 as boolean) as d",
    "list_sort: strings with null, case, accents, ties and empty strings; empty and null lists":
        "select k, list_sort(l) as s from (" + _union([
            "1 as k, ['b', null, 'a', 'B', 'é', 'Z', 'a', ''] as l", "2, cast([] as varchar[])",
            "3, cast(null as varchar[])", "4, [cast(null as varchar), null]"]) + ") as t",
    "list_sort: integers with negatives, zero, ties and null":
        "select k, list_sort(l) as s from (" + _union(["1 as k, [3, -1, null, 0, -1, 2] as l",
                                                       "2, cast([] as integer[])"]) + ") as t",
    "list(): nulls kept, null over no rows, distinct, filter, sorted (churn_customer_scores' complaint list)":
        "select g, list_sort(list(distinct c)) as sorted_distinct, list_sort(list(c)) as sorted_all, "
        "list_sort(list(distinct c) filter (where c is not null)) as filtered, "
        "list_sort(list(n)) as numbers from (" + _union([
            "1 as g, 'refund' as c, 1 as n", "1, 'delivery', null", "1, 'refund', 1", "1, null, -2",
            "2, null, null", "3, 'x', 0"]) + ") as t group by g",
    "extract(year/month/day) of dates: leap day, New York's DST days, month halves, null (the season key)":
        "select d, extract(year from d) as y, extract(month from d) as m, extract(day from d) as dd, "
        "extract(year from d) * 24 + 2 * (extract(month from d) - 1) "
        "+ case when extract(day from d) > 15 then 1 else 0 end as period_key from (" + _union([
            "cast('2024-02-29' as date) as d", "cast('2024-03-10' as date)", "cast('2024-11-03' as date)",
            "cast('2024-03-15' as date)", "cast('2024-03-16' as date)", "cast('1999-12-31' as date)",
            "cast('2026-01-01' as date)", "cast(null as date)"]) + ") as t",
    "extract(hour/day/year) of timestamps around New York's DST changes (UTC session)":
        "select ts, extract(hour from ts) as h, extract(day from ts) as d, extract(year from ts) as y from (" + _union([
            "cast('2024-03-10 06:59:59' as timestamp) as ts", "cast('2024-03-10 07:00:00' as timestamp)",
            "cast('2024-11-03 05:30:00' as timestamp)", "cast('2024-12-31 23:59:59' as timestamp)"]) + ") as t",
    "list_has_any with null elements, empty and null lists (the win-back complaint rule)":
        "select k, list_has_any(a, b) as o, coalesce(list_has_any(a, b), false) as c, list_has_any(a, null) as unset "
        "from (" + _union([
            "1 as k, ['a', null] as a, ['b', null] as b", "2, ['a'], ['a', null]", "3, cast([] as varchar[]), ['a']",
            "4, cast(null as varchar[]), ['a']", "5, ['a', 'b'], ['c']", "6, ['x'], cast([] as varchar[])",
            "7, [cast(null as varchar)], [cast(null as varchar)]", "8, ['a'], cast(null as varchar[])"]) + ") as t",
    "list_contains with null lists, null values, lists holding a null, empty lists, bare NULLs (the win-back rules)":
        "select k, list_contains(l, x) as c, list_contains(l, null) as unset_value, list_contains(null, x) as unset_list "
        "from (" + _union([
            "1 as k, ['a', null] as l, 'b' as x", "2, ['a', null], 'a'", "3, ['a'], cast(null as varchar)",
            "4, cast([] as varchar[]), 'a'", "5, cast(null as varchar[]), 'a'", "6, ['a', 'b'], 'b'",
            "7, [cast(null as varchar)], cast(null as varchar)"]) + ") as t",
    "list_contains of integers (the RFM score rules)":
        "select k, list_contains(l, x) as c from (" + _union([
            "1 as k, [1, 2, null] as l, 3 as x", "2, [1, 2], 2", "3, [-1, 0], 0", "4, cast([] as integer[]), 1"]) + ") as t",
    "sum(cast(x as decimal(38, 6))) of doubles: halves at the 7th digit, negatives, nulls (churn_features' money)":
        "select g, sum(cast(x as decimal(38, 6))) as total, sum(cast(x2 as decimal(38, 6))) as total2 from (" + _union([
            "1 as g, cast(0.1 as double) as x, cast(1234.5678905 as double) as x2",
            "1, cast(0.2 as double), cast(-0.0000005 as double)", "1, cast(-19.99 as double), cast(2.0000015 as double)",
            "2, cast(null as double), cast(null as double)", "3, cast(1e12 as double), cast(99.9999995 as double)",
            "3, cast(0.0000004 as double), cast(-1.0000005 as double)"]) + ") as t group by g",
}


def _value(value):
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return tuple(_value(item) for item in value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return value


def _rows(rows) -> list[str]:
    return sorted(repr(tuple(_value(value) for value in row)) for row in rows)


@pytest.fixture(scope="module")
def spark():
    return spark_session()


@pytest.fixture(scope="module")
def duck():
    connection = duckdb.connect()
    connection.execute("set TimeZone = 'UTC'")
    yield connection
    connection.close()


@pytest.mark.parametrize("case", list(CASES))
def test_construct_reads_alike_on_spark(spark, duck, case):
    from dashboard.engines import transpile

    sql = CASES[case]
    translated = transpile.translate(sql, {}, {}, "constructs")[0].sql
    assert _rows(spark.sql(translated).collect()) == _rows(duck.sql(sql).fetchall()), translated


def test_query_table_through_a_macro_reads_the_named_table(spark, duck):
    from dashboard.engines import transpile

    macro = "create macro pick(source) as table select k, v from query_table(source)"
    duck.execute("create or replace table picked as select 1 as k, 'x' as v union all select 2, null")
    duck.execute(macro)
    spark.sql("select 1 as k, 'x' as v union all select 2, null").createOrReplaceTempView("a20261115__picked")
    macros: dict = {}
    transpile.translate(macro, {}, macros, "constructs")
    sql = "select * from pick('picked') as p where p.k >= 1"
    translated = transpile.translate(sql, {}, macros, "constructs", {"picked": "a20261115__picked"})[0].sql
    assert _rows(spark.sql(translated).collect()) == _rows(duck.sql(sql).fetchall()) == _rows([(1, "x"), (2, None)])
