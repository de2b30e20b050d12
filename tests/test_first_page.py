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


# The wait for those tables, shown table by table


def test_pending_is_what_a_query_would_build_dependencies_first_and_each_builds_once(data_dir, tmp_path, monkeypatch):
    database = fresh(data_dir, tmp_path)
    as_of = database.default_as_of()
    built: list[str] = []
    build = graph.build

    def counted(node, target):
        built.append(node.name)
        return build(node, target)

    monkeypatch.setattr(graph, "build", counted)
    pending = database.pending(as_of, ["weekly_kpis"])
    assert built == list(graph.CURSOR_NODES)  # its cursor's (every cursor has them); nothing else is built
    built.clear()
    loaded = graph.load()
    needed = {node.name for node in loaded.upstream(["weekly_kpis"]) if node.kind != "source"}
    assert {node.name for node in pending} == needed - set(graph.CURSOR_NODES)  # the cursor built model_info
    for position, node in enumerate(pending):  # each after everything it reads
        earlier = {other.name for other in pending[:position]}
        assert all(read in earlier or loaded.nodes[read].kind == "source" or read in graph.CURSOR_NODES
                   for read in node.reads), node.name
    for node in pending:
        database.build(as_of, node.name)
    assert built == [node.name for node in pending]  # in that order, each once
    assert database.pending(as_of, ["weekly_kpis"]) == []
    cards = run_query(database.cursor(as_of, model=False), "weekly_kpis", **Filters().params(), weeks=12)
    assert built == [node.name for node in pending] and cards["orders"].sum() > 0  # the query built nothing more
    # Another query: only what it reads beyond those
    more = database.pending(as_of, ["activity_trend"])
    assert more and not {node.name for node in more} & set(built)


def test_a_prepared_snapshot_leaves_nothing_pending(data_dir, tmp_path):
    settings = load_settings(environ={}, data_dir=data_dir, state_dir=tmp_path / "state")
    first = Database.open(settings)
    as_of = first.default_as_of()
    first.prepare(as_of)
    first.close()
    again = Database.open(settings)
    assert again.pending(as_of, ["weekly_kpis", "activity_trend", "cohort_retention"]) == []


def _first_start(data_dir, tmp_path, monkeypatch):
    """The app's first run on new exports: no snapshot, no background build (each query builds what it reads)."""
    from streamlit.testing.v1 import AppTest

    from tests.test_app import APP

    for key, value in {"DASHBOARD_DATA_DIR": str(data_dir), "DASHBOARD_STATE_DIR": str(tmp_path / "state"),
                       "DASHBOARD_SETTINGS": str(tmp_path / "none.toml"), "DASHBOARD_MODEL_SNAPSHOTS": "0",
                       "DASHBOARD_BACKGROUND_BUILD": "false"}.items():
        monkeypatch.setenv(key, value)
    at = AppTest.from_file(APP, default_timeout=180).run()
    assert not at.exception, [item.value for item in at.exception]
    return at


def test_the_first_view_says_which_table_it_is_building_and_clears_it(data_dir, tmp_path, monkeypatch):
    """On new exports (no snapshot, no background build) the Weekly review's queries build their tables one by
    one, each named in a spinner ("table k of n") where the page waits, and nothing of it is left on the page."""
    from dashboard import cache

    shown: list[tuple[int, int, str]] = []
    text = cache.build_progress_text

    def recorded(index, total, label):
        shown.append((index, total, label))
        return text(index, total, label)

    monkeypatch.setattr(cache, "build_progress_text", recorded)
    at = _first_start(data_dir, tmp_path, monkeypatch)
    labels = [label for _, _, label in shown]
    assert {"valid orders", "customer summary"} <= set(labels)
    assert len(labels) == len(set(labels))  # each table shown once
    runs, current = [], []
    for index, total, _ in shown:  # each query's tables numbered 1 .. n
        if index == 1 and current:
            runs.append(current)
            current = []
        current.append((index, total))
    runs.append(current)
    assert all([index for index, _ in run] == list(range(1, run[0][1] + 1)) for run in runs), runs
    assert not [caption.value for caption in at.caption if "Building the tables" in caption.value]
    assert [metric.value for metric in at.metric if metric.label == "Orders"][0] != ""
    shown.clear()
    at.run()  # a rerun: everything is built, nothing to show
    assert shown == []


def test_opening_new_exports_reads_each_export_inside_its_own_progress_step(data_dir, tmp_path, monkeypatch):
    """``Database.open(progress=...)``: each export is read into its clean table inside the step that names it,
    in the contract's order, once; a start on a saved snapshot reads no export, so it shows no step."""
    from contextlib import contextmanager

    from dashboard.sources import CONTRACT

    events: list[tuple] = []
    build = model.build_clean_table

    def recorded_build(connection, table, now, catalog="memory"):
        events.append(("read", table))
        build(connection, table, now, catalog)
        events.append(("rows", table, connection.execute(f"select count(*) from {catalog}.main.clean_{table}")
                       .fetchone()[0]))

    @contextmanager
    def progress(index, total, table):
        events.append(("step", index, total, table))
        yield
        events.append(("done", table))

    monkeypatch.setattr(model, "build_clean_table", recorded_build)
    settings = load_settings(environ={}, data_dir=data_dir, state_dir=tmp_path / "state")
    database = Database.open(settings, progress=progress)
    tables = list(CONTRACT)
    assert [event[:4] for event in events if event[0] == "step"] == [
        ("step", index, len(tables), table) for index, table in enumerate(tables, 1)]
    for table in tables:
        position = events.index(("step", tables.index(table) + 1, len(tables), table))
        assert events[position + 1] == ("read", table) and events[position + 2][:2] == ("rows", table)
        assert events[position + 3] == ("done", table)
    rows = {event[1]: event[2] for event in events if event[0] == "rows"}
    assert rows["orders"] == database.connection.execute("select count(*) from clean_orders").fetchone()[0] > 0
    database.prepare(database.default_as_of())
    database.close()

    events.clear()
    again = Database.open(settings, progress=progress)
    assert again.snapshot is not None and events == []  # read from the snapshot: no export read, no step shown


def test_a_first_start_names_each_export_as_it_is_read_under_the_page_title(data_dir, tmp_path, monkeypatch):
    """The app's first start on new exports: a spinner per export ("export 1 of 6, orders"), and the page's title
    drawn above the wait, which gives way to the page's own: one title once the page is drawn, no step left."""
    from dashboard import cache
    from dashboard.sources import CONTRACT

    shown: list[tuple[int, int, str]] = []
    announced: list[bool] = []
    text = cache.open_progress_text
    announce = cache._announce_wait

    def recorded(index, total, table):
        shown.append((index, total, table))
        return text(index, total, table)

    def recorded_announce():
        announced.append(cache._WAITING.get() is not None)  # inside the router's block: the title is drawn
        announce()

    monkeypatch.setattr(cache, "open_progress_text", recorded)
    monkeypatch.setattr(cache, "_announce_wait", recorded_announce)
    at = _first_start(data_dir, tmp_path, monkeypatch)
    assert shown == [(index, len(CONTRACT), table) for index, table in enumerate(CONTRACT, 1)]
    assert announced and announced[0] is True  # the open announced the wait from inside the router's block
    assert [title.value for title in at.title] == ["Weekly review"]  # the router's heading gave way
    assert not [caption.value for caption in at.caption if "for the first time" in caption.value]
    assert not [text for text in (item.value for item in at.markdown) if "Reading the exports" in text]
    assert [metric.value for metric in at.metric if metric.label == "Orders"][0] != ""
    shown.clear()
    announced.clear()
    at.run()  # the same exports: already open, nothing read, nothing announced
    assert shown == [] and announced == []
    assert [title.value for title in at.title] == ["Weekly review"]


def test_the_lifecycle_row_says_it_is_computing_only_while_it_has_tables_to_build(data_dir, tmp_path):
    """The Weekly review writes "Scoring every customer's lifecycle state…" where the row will be only when the
    row's queries have tables to build (the churn model's fit on new exports): not on a rerun, where the line
    would replace the cards for a moment, nor on a prepared start, where nothing is fitted."""
    from dashboard.pages import lifecycle_row
    from dashboard.pages.common import View

    database = fresh(data_dir, tmp_path)
    as_of = database.default_as_of()
    view = View(database.settings, database, as_of, Filters())
    assert lifecycle_row.is_pending(view)
    cursor = database.cursor(as_of, model=False)
    for name in lifecycle_row.QUERIES:
        run_query(cursor, name, **Filters().segment.params())
    assert not lifecycle_row.is_pending(view)

    settings = load_settings(environ={}, data_dir=data_dir, state_dir=tmp_path / "prepared")
    first = Database.open(settings)
    first.prepare(as_of)
    first.close()
    prepared = Database.open(settings)
    assert prepared.snapshot is not None
    assert not lifecycle_row.is_pending(View(settings, prepared, as_of, Filters()))
