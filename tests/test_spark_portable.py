"""The SQL files stay portable to Spark: every construct they use is either rewritten by
dashboard/engines/transpile.py or listed as PORTABLE (compared equal on Spark by make test-spark), and every file
translates. Needs only sqlglot (requirements-dev.txt), so it runs in make test: a new DuckDB-only construct fails
here, naming the file and the construct, before anyone runs Spark."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import sqlglot

from dashboard import graph
from dashboard.engines import transpile
from dashboard.queries import QUERIES_DIR, load_sql, used_parameters

SQL_FILES = sorted(path.stem for path in QUERIES_DIR.glob("*.sql"))
for _name in SQL_FILES:
    transpile.register_macro_names(transpile.macro_names(load_sql(_name), _name))

# A value of the right kind for every parameter a file may take.
VALUES = {
    "as_of": date(2026, 11, 15), "cutoff": date(2026, 8, 17), "cutoff_at": datetime(2026, 11, 16),
    "horizon_end": date(2026, 11, 15), "horizon_end_at": datetime(2026, 11, 16), "timezone": "UTC",
    "grain": "month", "dimension": "region", "channels": ["email"], "regions": None, "categories": None,
    "tiers": None, "start_date": date(2026, 1, 1), "end_date": None, "cohort_start": date(2026, 3, 1),
    "risk_bands": ["high"], "rfm_segments": None, "nps_categories": None, "kinds": None, "search": "x",
    "method": "MBG/NBD", "message": None, "activity": "active", "pseudonym_key": "0123abcd", "season_used": True,
}


def value_for(name: str):
    if name in VALUES:
        return VALUES[name]
    if name.startswith(("is_", "has_", "show_")):
        return False
    return 1.5 if name.endswith(("_risk", "_ratio", "_share", "_days", "_revenue")) else 3


def test_sqlglot_is_the_pinned_version():
    assert sqlglot.__version__ == transpile.SQLGLOT_VERSION, (
        f"sqlglot {sqlglot.__version__} is installed; the rewrites are written for {transpile.SQLGLOT_VERSION} "
        "(requirements-dev.txt and requirements-spark.txt pin it)")


@pytest.mark.parametrize("name", SQL_FILES)
def test_sql_file_uses_only_portable_or_rewritten_constructs(name):
    unchecked = transpile.unchecked(load_sql(name), name)
    assert not unchecked, (
        f"queries/{name}.sql uses {unchecked}, which Spark may read differently: register a rewrite in "
        "dashboard/engines/transpile.py REWRITES, or run make test-spark and, when its rows are equal, add the "
        "construct to PORTABLE")


def test_every_sql_file_translates_to_spark():
    macros: dict = {}
    # The files Database.open runs first (customer_label(), the masking macros), then the model, then the rest:
    # a macro is expanded only where it is defined before the call, as on either engine.
    ordered = sorted(SQL_FILES, key=lambda name: (name not in graph.OPENED_BY_DATABASE, not name.startswith("model_"),
                                                  name != "churn_winback_macro", name))
    failures = {}
    for name in ordered:
        params = {parameter: value_for(parameter) for parameter in used_parameters(name)}
        try:
            statements = transpile.translate(load_sql(name), params, macros, name)
        except transpile.NotPortable as error:
            failures[name] = str(error)
            continue
        assert all(statement.sql for statement in statements)
        for statement in statements:  # every macro call is expanded: Spark has none of them
            calls = {call.name.lower() for call in sqlglot.parse_one(statement.sql, read="spark").find_all(
                sqlglot.exp.Anonymous)}
            left = calls & {name.lower() for name in macros}
            if left:
                failures[name] = f"macro calls left unexpanded: {sorted(left)}"
    assert not failures, failures


def test_lint_names_a_construct_spark_reads_differently():
    assert transpile.unchecked("select isodow(ordered_at) as weekday from valid_orders") == ["dayofweek_iso()"]
    assert transpile.unchecked("select epoch(ordered_at) as seconds from valid_orders") == ["time_to_unix()"]


@pytest.mark.parametrize("sql", [
    "select timezone('Europe/Paris', ordered_at) as local from valid_orders",  # a naive value: ambiguous
    "select regexp_replace(comment, 'a', 'b') as text from valid_surveys",  # DuckDB: first match only
    "select list(order_id order by ordered_at) as ids from valid_orders",  # Spark keeps no order
    "select time_bucket(interval 1 month, ordered_at) as month from valid_orders",
    "select cast(note as boolean) as flag from valid_orders",  # text: Spark trims ' true', DuckDB refuses it
    "select cast('yes' as boolean) as flag",
    "select * from query_table(table_name)",  # a dynamic table name known only when the query runs
    "select * from query_table(['valid_orders', 'valid_returns'])",
    "select query_table('valid_orders') as rows",
])
def test_a_construct_without_an_honest_rewrite_is_refused(sql):
    with pytest.raises(transpile.NotPortable):
        transpile.translate(sql, {}, {}, "example")


def test_macro_calls_are_expanded_with_their_arguments():
    macros: dict = {}
    transpile.translate("create macro double_it(x) as x * 2", {}, macros, "example")
    statements = transpile.translate("select double_it(revenue) as doubled from valid_orders", {}, macros, "example")
    parsed = sqlglot.parse_one(statements[0].sql, read="spark")
    assert not [call for call in parsed.find_all(sqlglot.exp.Anonymous) if call.name.lower() == "double_it"]


def test_query_table_is_expanded_where_a_macro_binds_its_name_to_a_literal():
    macros: dict = {}
    transpile.translate("create macro pick(source) as table select customer_id from query_table(source)", {}, macros,
                        "example")
    spark_sql = transpile.translate("select * from pick('churn_model_scores') as p", {}, macros, "example",
                                    {"churn_model_scores": "a20261115__churn_model_scores"})[0].sql
    tables = {table.name for table in sqlglot.parse_one(spark_sql, read="spark").find_all(sqlglot.exp.Table)}
    assert tables == {"a20261115__churn_model_scores"}
    with pytest.raises(transpile.NotPortable):
        transpile.translate("select * from pick(customer_id) as p", {}, macros, "example")


def test_list_list_has_any_and_a_flag_cast_need_no_portable_entry():
    # Their rows on Spark: tests/test_spark_constructs.py (make test-spark).
    assert transpile.unchecked("select list(distinct category) filter (where category is not null) as c, "
                               "list_has_any(a, b) as o, cast($season_used as boolean) as s from t") == []
