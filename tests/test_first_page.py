"""The first page after new exports: it builds only what it reads, and the background build lets it go first.

On a first start the app opens the exports, and two things then want the two cores: the page someone opened and
the background build of everything else. The page asks for a cursor that builds nothing ahead of its queries
(``Database.cursor(as_of, model=False)``): each query builds the model tables and aggregates it reads. The
background build waits while a page runs (``model.people_first``), a bounded wait so it is slowed, never stopped.
"""

from __future__ import annotations

import threading
import time

import pytest

from dashboard import demo, graph, model, report
from dashboard.filters import Filters
from dashboard.metrics import contract_metrics, exported_tables
from dashboard.model import Database
from dashboard.queries import run_query
from dashboard.settings import load_settings

ROW_LEVEL = set(graph.MODEL_NODES) - set(graph.CURSOR_NODES)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("first-page") / "data"
    demo.generate(folder, customers=800, seed=21)
    return folder


def fresh(data_dir, tmp_path) -> Database:
    return Database.open(load_settings(environ={}, data_dir=data_dir, state_dir=tmp_path / "state",
                                       model_snapshots=False))


def built_nodes(database: Database, as_of) -> set[str]:
    return {name for name in graph.load().nodes if database.builds.is_built(as_of, name)}


def test_the_weekly_reviews_cards_build_only_the_model_tables_they_read(data_dir, tmp_path):
    lean_database = fresh(data_dir, tmp_path)
    as_of = lean_database.default_as_of()
    cursor = lean_database.cursor(as_of, model=False)
    assert built_nodes(lean_database, as_of) == set(graph.CURSOR_NODES)
    cards = run_query(cursor, "weekly_kpis", **Filters().params(), weeks=12)
    built = built_nodes(lean_database, as_of)
    assert {"model_valid_orders", "model_customer_summary", "model_valid_surveys"} <= built
    # What the cards do not read is left for later: the per-period activity, the tickets, the returns.
    assert not {"model_customer_activity", "model_valid_tickets", "model_valid_returns"} & built
    assert built == {node.name for node in graph.load().upstream(["weekly_kpis"]) if node.kind != "source"} \
        | set(graph.CURSOR_NODES)

    whole_database = fresh(data_dir, tmp_path / "whole")
    whole = whole_database.cursor(as_of)  # the default: the whole model first
    assert ROW_LEVEL <= built_nodes(whole_database, as_of)
    assert cards.equals(run_query(whole, "weekly_kpis", **Filters().params(), weeks=12))
    assert cards["orders"].sum() > 0

    # A cursor that asks for the whole model later gets it, on the schema the lean one started.
    lean_database.cursor(as_of)
    assert ROW_LEVEL <= built_nodes(lean_database, as_of)


def test_the_report_on_new_exports_builds_only_its_tables_and_says_the_same(data_dir, tmp_path):
    lean_database = fresh(data_dir, tmp_path)
    as_of = lean_database.default_as_of()
    metrics = report.metrics_report(lean_database, as_of)
    built = built_nodes(lean_database, as_of)
    assert "customer_scores" not in built and "churn_backtest" not in built and "themes" not in built
    assert len(built) < len([node for node in graph.load().nodes.values() if node.kind != "source"]) / 2

    whole_database = fresh(data_dir, tmp_path / "whole")
    cursor = whole_database.cursor(as_of)
    expected = contract_metrics(cursor, None, exported_tables(whole_database))
    assert {key: value for key, value in metrics.items() if key != "campaigns"} == expected
    assert metrics["orders"] > 0


def _built_after_open(database: Database, as_of) -> set[str]:
    return built_nodes(database, as_of) - set(graph.CURSOR_NODES)


def test_the_background_build_waits_while_a_page_runs(data_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(model, "YIELD_SECONDS", 60.0)
    database = fresh(data_dir, tmp_path)
    as_of = database.default_as_of()
    problems: list = []
    building = threading.Thread(target=lambda: problems.extend(database.warm(as_of)))
    with model.people_first():  # a page is running
        building.start()
        time.sleep(1.5)
        assert _built_after_open(database, as_of) == set(), "the build started a table while a page ran"
    building.join(300)  # the page is done: the build goes on
    assert not building.is_alive() and problems == []
    assert {"customer_scores", "model_customer_activity"} <= built_nodes(database, as_of)


def test_a_page_that_never_ends_slows_the_background_build_without_stopping_it(data_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(model, "YIELD_SECONDS", 0.05)
    database = fresh(data_dir, tmp_path)
    as_of = database.default_as_of()
    problems: list = []
    with model.people_first():  # pages running the whole time, as with people clicking without pause
        building = threading.Thread(target=lambda: problems.extend(database.warm(as_of)))
        building.start()
        building.join(300)
        assert not building.is_alive() and problems == []
    assert "customer_scores" in built_nodes(database, as_of)
