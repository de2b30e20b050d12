"""The build graph (dashboard/graph.py): the headers say what each SQL file reads and creates, the graph built
from them is whole and acyclic, each node is built once however many sessions ask, no page builds by hand, and
no module imports itself through another."""

from __future__ import annotations

import ast
import random
import re
import threading
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from dashboard import churn, cli, demo, graph
from dashboard.model import Database
from dashboard.queries import run_query, used_parameters
from dashboard.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
SQL_FILES = graph.sql_files()


@pytest.mark.parametrize("name", SQL_FILES)
def test_declared_reads_and_creates_are_what_the_sql_reads_and_creates(name):
    """DuckDB's own parser lists the tables, table functions and macros each file uses and the objects it
    creates; the file's '-- Reads:' and '-- Creates:' lines must name exactly those."""
    problem = graph.header_problem(name)
    assert problem is None, problem


def test_the_header_check_says_what_to_write():
    sql = graph.load_sql("kpis").replace("-- Reads: cube_repeat_customers, segment_keys()",
                                         "-- Reads: cube_repeat_customers, valid_orders")
    problem = graph.header_problem("kpis", sql)
    assert "also reads segment_keys()" in problem and "does not read valid_orders" in problem
    assert problem.endswith("\n-- Reads: cube_repeat_customers, segment_keys()")
    made = graph.header_problem("x", "-- Params: none\ncreate table t as select * from valid_orders v join cte c "
                                     "using (id)")
    assert made.endswith("\n-- Reads: cte, valid_orders\n-- Creates: t")
    assert graph.header_problem("y", "-- Reads: a\nwith a as (select 1) select * from a") is not None


def test_the_parser_sees_through_ctes_macros_and_comments():
    sql = """
    -- reads not_this_table in a comment
    create macro pick(x) as table select * from picked where seg_key in (select seg_key from keys_of(x));
    create macro scaled(x) as x * factor_of(x);
    with local as (select * from base_rows), other as (select * from local)
    select 'from fake_table' as text, scaled(1) from other join pick([1]) using (seg_key)
    """
    reads, creates = graph.parsed_references(sql)
    assert creates == {"pick()", "scaled()"}
    assert reads == {"picked", "keys_of()", "factor_of()", "base_rows"}


def test_the_graph_is_whole():
    built = graph.load()
    nodes = built.nodes
    assert {node.kind for node in nodes.values()} == set(graph.KINDS)
    assert list(nodes) == [node.name for node in built.upstream(nodes)]  # build order: every read comes first
    for node in nodes.values():
        # Database.open runs the OPENED_BY_DATABASE files every time, so a file of macros only needs no table.
        assert node.tables or node.name in graph.OPENED_BY_DATABASE, \
            f"{node.name} creates no table: nothing says it is built"
        assert all(read in nodes for read in (*node.reads, *node.earlier_reads)), node.name
        assert list(nodes).index(node.name) > max((list(nodes).index(read) for read in node.reads), default=-1)
    for query in built.queries.values():
        assert all(read in nodes for read in query.reads), query.name
    steps = {step for python in graph.PYTHON_NODES for step in (*python.steps, *python.earlier_steps)}
    assert set(SQL_FILES) == set(built.queries) | {node.sql for node in nodes.values() if node.sql} | steps
    assert all(nodes[name].kind == "sql" for name in graph.MODEL_NODES)
    assert all(nodes[name].kind == "source" for name in graph.OPENED_BY_DATABASE)
    for name in graph.MODEL_NODES:  # the model layer reads only itself and the exports
        assert all(read in graph.MODEL_NODES or nodes[read].kind == "source" for read in nodes[name].reads), name
    backtest = nodes["churn_backtest"]
    assert backtest.earlier_days == churn.RISK_HORIZON_DAYS
    for node in nodes.values():
        if node.kind == "python":
            assert callable(graph.builder(node))


def test_the_scores_command_builds_only_what_the_scores_read():
    # python -m dashboard scores runs churn_scores on new exports: at 10M orders customer_summary alone is 4-10 s
    upstream = {node.name for node in graph.load().upstream(["churn_scores"])}
    assert "customer_scores" in upstream
    assert upstream.isdisjoint({"model_customer_summary", "model_segment_customers", "model_customer_activity"})


def test_build_order_puts_the_pages_aggregates_before_the_churn_fit():
    order = list(graph.load().nodes)
    scores = order.index("customer_scores")
    assert all(order.index(name) < scores for name in graph.MODEL_NODES)
    assert order.index("cube_repeat_customers") < scores < order.index("cube_churn_risk_bins")


def test_cli_prints_the_graph(capsys):
    assert cli.main(["graph"]) == 0
    text = capsys.readouterr().out
    assert "customer_scores  [python] dashboard.churn:build_customer_scores" in text
    assert re.search(r"\n  kpis  reads cube_repeat_customers, model_segment_customers\n", text)
    assert cli.main(["graph", "--format", "mermaid"]) == 0
    mermaid = capsys.readouterr().out
    assert mermaid.startswith("flowchart LR") and "  cube_repeat_customers --> q_kpis" in mermaid
    assert cli.main(["graph", "--format", "dot", "--no-queries"]) == 0
    dot = capsys.readouterr().out
    assert dot.startswith("digraph build {") and '"model_customer_summary" -> "cube_repeat_customers";' in dot
    assert "q:kpis" not in dot


def test_docs_show_the_graph_as_built():
    """docs/graph.md carries the Mermaid diagram of the nodes; it is the one the code draws today."""
    text = (ROOT / "docs" / "graph.md").read_text(encoding="utf-8")
    drawn = re.search(r"```mermaid\n(.*?)```", text, re.DOTALL)
    assert drawn, "docs/graph.md has no mermaid block"
    assert drawn.group(1) == graph.mermaid(with_queries=False), (
        "docs/graph.md's diagram is out of date: python -m dashboard graph --format mermaid --no-queries")
    assert "docs/graph.md" in (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")


# Building: once per (as-of, node), however many sessions ask


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    root = tmp_path_factory.mktemp("graph")
    demo.generate(root / "data", customers=400, seed=12)
    return Database.open(load_settings(environ={}, data_dir=root / "data", state_dir=root / "state"))


def every_query_params(as_of) -> dict:
    """One valid value for every parameter of the queries below."""
    return {
        "channels": None, "regions": None, "categories": None, "tiers": None, "start_date": None, "end_date": None,
        "grain": "month", "small_cohort_size": 30, "dimension": "acquisition_channel", "weeks": 8,
        "cohort_start": as_of.replace(day=1) - timedelta(days=90), "period_number": 1, "activity": None,
        "show_email": False, "show_pii": False, "limit": 10, "offset": 0, "search": None, "kinds": None,
        "min_score": None, "max_score": None, **churn.WinbackRules().params(),
        "cutoff": as_of - timedelta(days=churn.RISK_HORIZON_DAYS), "horizon_days": churn.RISK_HORIZON_DAYS,
        "source": "any", "theme_id": 1, "fact_kind": "ticket_category", "fact_value": "delivery_delay",
        "outcome": None, "ordered_since": None,
        "days_back": 7,
    }


def reading_every_node() -> list[str]:
    """The page queries, the stored backtest and the scores: together they read every node of the graph."""
    built = graph.load()
    names = [name for name in built.queries if not used_parameters(name) - set(every_query_params(
        pd.Timestamp("2026-01-01").date()))]
    assert {node.name for node in built.upstream(names)} == set(built.nodes)
    return names


def test_each_node_is_built_once_when_eight_sessions_ask_at_once(database, monkeypatch):
    as_of = database.default_as_of() - timedelta(days=2)
    names = reading_every_node()
    built: Counter = Counter()
    build = graph.build

    def counted(node, target):
        built[(target.as_of, node.name)] += 1
        return build(node, target)

    monkeypatch.setattr(graph, "build", counted)
    barrier = threading.Barrier(8)
    results, errors = {}, []

    def session(number: int) -> None:
        order = list(names)
        random.Random(number).shuffle(order)  # every session asks in its own order
        try:
            barrier.wait()
            cursor = database.cursor(as_of)  # the model layer too: eight sessions at once
            try:
                params = every_query_params(as_of)
                results[number] = {name: run_query(cursor, name, **params) for name in order}
            finally:
                cursor.close()
        except Exception as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=session, args=(number,)) for number in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    at_as_of = {name: count for (day, name), count in built.items() if day == as_of}
    every_node = {name for name, node in graph.load().nodes.items() if node.kind != "source"}
    assert set(at_as_of) == every_node
    assert all(count == 1 for count in built.values()), {key: count for key, count in built.items() if count > 1}
    cutoff = as_of - timedelta(days=churn.RISK_HORIZON_DAYS)
    # The backtest's cutoff model: only what it reads there (its earlier reads and theirs), and model_info, which
    # every cursor gets: not the tickets, surveys or customer_activity it never reads.
    loaded = graph.load()
    at_cutoff = {node.name for node in loaded.upstream(loaded.nodes["churn_backtest"].earlier_reads)
                 if node.kind != "source"}
    assert {name for day, name in built if day == cutoff} == at_cutoff | set(graph.CURSOR_NODES)
    assert "model_valid_tickets" not in at_cutoff
    assert not database.has_model(cutoff)  # built for the backtest only, and dropped again
    for number in range(1, 8):
        for name in names:  # some queries are unordered (churn_features): compare the rows as sets
            pd.testing.assert_frame_equal(in_row_order(results[number][name]), in_row_order(results[0][name]), obj=name)


def in_row_order(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(list(frame.columns)).reset_index(drop=True) if len(frame.columns) else frame


def test_a_node_the_data_cannot_support_says_why_once(tmp_path, monkeypatch):
    """Too little history for the backtest: the warm-up is not a failure, the page gets the reason, and asking
    again does not refit the cutoff's model."""
    demo.generate(tmp_path / "data", customers=200, seed=5, years=1.0)
    database = Database.open(load_settings(environ={}, data_dir=tmp_path / "data", state_dir=tmp_path / "state"))
    as_of = database.default_as_of() + timedelta(days=30)  # the backtest's horizon ends after the latest order
    attempts = []
    build = graph.build

    def counted(node, target):
        attempts.append(node.name)
        return build(node, target)

    monkeypatch.setattr(graph, "build", counted)
    assert database.warm(as_of) == []
    assert attempts.count("churn_backtest") == 1
    assert database.pending(as_of, ["churn_backtest"]) == []  # nothing to build, nor to show as being built
    cutoff = as_of - timedelta(days=churn.RISK_HORIZON_DAYS)
    for _ in range(2):
        with pytest.raises(ValueError, match="pick a cutoff at least 90 days before the latest order"):
            churn.backtest(database, cutoff)
    assert attempts.count("churn_backtest") == 1


# No page builds by hand; no module imports itself


# Anything of dashboard/graph.py, and these by name: the build steps of the code before the graph and now.
BUILD_STEPS = {"warm", "prepare", "build_customer_scores", "build_stored_backtest", "execute_file", "store_backtest",
               "ensure_customer_scores", "ensure_cubes", "_ensure_model", "_build_model"}


@pytest.mark.parametrize("path", sorted((ROOT / "dashboard" / "pages").glob("*.py")) + [ROOT / "streamlit_app.py"],
                         ids=lambda path: path.name)
def test_no_page_calls_a_build_step(path):
    """Pages read (queries, ``churn.model_info_from``); the graph builds what they read."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    calls = [node.func for node in ast.walk(tree) if isinstance(node, ast.Call)]
    called = {call.attr if isinstance(call, ast.Attribute) else getattr(call, "id", "") for call in calls}
    assert not called & BUILD_STEPS, f"{path.name} calls {sorted(called & BUILD_STEPS)}"
    on_graph = [call.attr for call in calls if isinstance(call, ast.Attribute) and getattr(call.value, "id", "") == "graph"]
    assert not on_graph, f"{path.name} calls graph.{', graph.'.join(on_graph)}"
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module == "dashboard"
                for alias in node.names} | {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert "graph" not in imported and "dashboard.graph" not in imported


def module_imports() -> dict[str, set[str]]:
    """Each module of dashboard/ -> the dashboard modules it imports, at its top or inside a function."""
    modules = {}
    for path in sorted((ROOT / "dashboard").rglob("*.py")):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        modules[name] = path
    imports = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
                found |= {f"{node.module}.{alias.name}" for alias in node.names}
        imports[name] = {module for module in found if module in modules and module != name}
    return imports


def test_no_import_cycle():
    """No module of dashboard/ imports itself through others, not even with an import inside a function."""
    imports = module_imports()
    assert "dashboard.churn" in imports["dashboard.cli"] and "dashboard.graph" in imports["dashboard.queries"]
    cycles = []

    def visit(module: str, trail: list[str]) -> None:
        for imported in sorted(imports[module]):
            if imported in trail:
                cycles.append(" -> ".join(trail[trail.index(imported):] + [imported]))
            elif imported not in seen:
                visit(imported, trail + [imported])
        seen.add(module)

    seen: set[str] = set()
    for module in sorted(imports):
        if module not in seen:
            visit(module, [module])
    assert not cycles, f"import cycles: {sorted(set(cycles))}"
