"""The aggregate tables (queries/cube_*.sql): built lazily once per as-of date, and enough on their own.

Once a page has been opened, a filter change must be answered from aggregates whose size depends on segments x
periods, never by rescanning customers or orders. The strongest check of that is behavioural: build the
aggregates, drop every customer- and order-level table of the model, and ask again with other filters. The
answers must equal those computed while the tables were there.
"""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pandas as pd
import pytest

from dashboard import churn, demo, graph
from dashboard.model import Database
from dashboard.queries import QUERIES_DIR, run_query
from dashboard.settings import load_settings
from tests.segments import AGGREGATE_QUERIES, aggregates_read_by, parameter_sets

ROW_LEVEL_TABLES = ("valid_orders", "customer_summary", "customer_activity", "valid_surveys", "valid_tickets",
                    "valid_returns", "customer_scores")


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    root = tmp_path_factory.mktemp("aggregates")
    demo.generate(root / "data", customers=2_500, seed=4)
    database = Database.open(load_settings(environ={}, data_dir=root / "data", state_dir=root / "state"))
    return database


def test_every_page_query_reads_aggregates(database):
    """Each listed query reads at least one aggregate table (a file of queries/ named cube_*)."""
    missing = [name for name in AGGREGATE_QUERIES if not aggregates_read_by(name)]
    assert not missing, f"these page queries read no aggregate table: {missing}"
    assert all((QUERIES_DIR / f"{cube}.sql").is_file() for name in AGGREGATE_QUERIES for cube in aggregates_read_by(name))


def test_filter_changes_are_answered_from_the_aggregates_alone(database, tmp_path):
    as_of = database.default_as_of() - timedelta(days=3)  # a schema of its own: the drops below stay in it
    churn.model_info(database.cursor(as_of))
    cursor = database.cursor(as_of)
    sets = parameter_sets(as_of)
    before = {(name, index): run_query(cursor, name, **params)
              for name in AGGREGATE_QUERIES for index, params in enumerate(sets)}
    assert sum(len(frame) for frame in before.values()) > 1_000, "the demo should give rows to compare"
    for table in ROW_LEVEL_TABLES:
        cursor.execute(f"drop table {table}")  # our own constant names, not user input
    for name in AGGREGATE_QUERIES:
        for index, params in enumerate(sets):
            after = run_query(cursor, name, **params)
            pd.testing.assert_frame_equal(after, before[(name, index)], obj=f"{name} with {params}")
    with pytest.raises(Exception, match="customer_summary"):
        cursor.execute("select count(*) from customer_summary").fetchall()  # the drop did happen
    database._schemas.pop(as_of, None)  # the schema is broken now; let nothing else use it


def test_aggregates_are_built_once_when_many_sessions_ask_at_once(database):
    """Eight sessions open the same page at the same moment: each aggregate is built once, all answers agree."""
    as_of = database.default_as_of() - timedelta(days=10)
    database.cursor(as_of).close()
    results, errors = [], []
    barrier = threading.Barrier(8)

    def session():
        cursor = database.cursor(as_of)
        try:
            barrier.wait()
            results.append(run_query(cursor, "cohort_retention", channels=None, regions=None, categories=None,
                                     tiers=None, grain="month", small_cohort_size=30))
        except Exception as error:  # collected and asserted below
            errors.append(error)
        finally:
            cursor.close()

    threads = [threading.Thread(target=session) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert len(results) == 8 and all(frame.equals(results[0]) for frame in results)
    schema = database._schemas[as_of]
    cursor = database.cursor(as_of)
    tables = cursor.execute("select table_name from duckdb_tables() where schema_name = $schema",
                            {"schema": schema}).df()["table_name"].tolist()
    for cube in aggregates_read_by("cohort_retention"):
        assert tables.count(cube) == 1
    # Another as-of date has its own aggregates: they are not shared across dates.
    other = database.cursor(as_of - timedelta(days=30))
    other_tables = other.execute("select table_name from duckdb_tables() where schema_name = current_schema()").df()
    assert not set(aggregates_read_by("cohort_retention")) & set(other_tables["table_name"])


def test_warm_builds_every_aggregate_and_the_scores_ahead_of_the_pages(database):
    """What the app's background warm-up does after opening the exports: afterwards no page query builds anything."""
    as_of = database.default_as_of() - timedelta(days=20)
    assert database.warm(as_of) == []
    cursor = database.cursor(as_of)
    tables = set(cursor.execute("select table_name from duckdb_tables() where schema_name = current_schema()")
                 .df()["table_name"])
    every_cube = {cube for name in graph.load().queries for cube in aggregates_read_by(name)}
    assert every_cube and every_cube <= tables
    assert "customer_scores" in tables
    for name in AGGREGATE_QUERIES:
        run_query(cursor, name, **parameter_sets(as_of)[1])
    after = set(cursor.execute("select table_name from duckdb_tables() where schema_name = current_schema()")
                .df()["table_name"])
    assert after == tables, f"page queries built {sorted(after - tables)} after the warm-up"


def test_a_model_being_built_holds_up_only_the_callers_for_its_own_date(tmp_path, monkeypatch):
    """Building a date's model (minutes at 100M orders: the churn backtest's cutoff, another as-of date) must not
    stop other sessions from reading a date already built; a second caller for the same date waits for that one
    build instead of starting another."""
    from dashboard import graph, model, queries

    demo.generate(tmp_path / "data", customers=300, seed=21)
    database = Database.open(load_settings(environ={}, data_dir=tmp_path / "data", state_dir=tmp_path / "state"))
    as_of = database.default_as_of()
    database.cursor(as_of).close()
    earlier = as_of - timedelta(days=30)
    earlier_cutoff = model.cutoff_for(earlier, database.settings.timezone)
    started, release, builds = threading.Event(), threading.Event(), []
    execute_file = queries.execute_file

    def held_while_building_earlier(cursor, name, **params):
        if name == graph.MODEL_NODES[0] and params.get("cutoff_at") == earlier_cutoff:
            builds.append(name)
            started.set()
            assert release.wait(60), "never released"
        return execute_file(cursor, name, **params)

    monkeypatch.setattr(queries, "execute_file", held_while_building_earlier)
    answers = {}

    def count_orders(day, key):
        cursor = database.cursor(day)
        try:
            answers[key] = cursor.execute("select count(*) from valid_orders").fetchone()[0]
        finally:
            cursor.close()

    building = threading.Thread(target=count_orders, args=(earlier, "earlier"))
    building.start()
    assert started.wait(60)
    reader = threading.Thread(target=count_orders, args=(as_of, "as_of"))
    waiter = threading.Thread(target=count_orders, args=(earlier, "earlier, second caller"))
    reader.start()
    waiter.start()
    reader.join(60)
    assert not reader.is_alive(), "a cursor for a built date waited for another date's build"
    assert answers["as_of"] > 0
    waiter.join(0.5)
    assert waiter.is_alive() and "earlier, second caller" not in answers  # waits for the build under way
    release.set()
    building.join(60)
    waiter.join(60)
    assert answers["earlier"] == answers["earlier, second caller"] > 0
    assert answers["earlier"] < answers["as_of"]
    assert builds == [graph.MODEL_NODES[0]]  # built once
