"""The build graph: every derived table, what builds it and what it reads, declared once.

Like dbt's ``ref()``, lineage is written down, not guessed. Each SQL file in ``queries/`` says what it reads and,
when it builds something, what it creates, in header lines next to ``-- Params:``::

    -- Reads: customer_summary, model_info
    -- Creates: cube_repeat_customers

Tables are named as the SQL names them; macros end in ``()``: ``-- Reads: cube_repeat_customers, segment_keys()``.
A test parses every file with DuckDB's own parser and fails, with the line to write, when a header and the SQL
disagree (tests/test_graph.py). Nothing here looks inside the SQL at run time: the headers are the declaration.

The graph has three kinds of node, each creating tables (and macros) in the schema of one as-of date:

- ``source``: the clean tables of the exports (``clean_orders``, ...), built once per version of the exports by
  ``Database.open``, shared by every as-of date;
- ``sql``: a SQL file with a ``-- Creates:`` header (the model tables, the aggregates ``cube_*``);
- ``python``: a builder function declared below (the churn model's fit and scores, the stored backtest) that runs
  SQL files of its own (``steps``) with Python in between.

Every other SQL file is a query: it creates nothing and reads nodes (what pages, the report and the CLI run).

Building: ``ensure(target, names)`` builds, dependencies first, every node the named nodes or queries read that
is missing at the target's as-of date, each once: one lock per (as-of date, node), however many sessions ask.
``queries.run_query`` calls it for the query it runs (a query's reads include the model tables it reads, so the
model layer too is built only as far as something reads it); ``Database.cursor(as_of)`` for ``CURSOR_NODES``, which
any cursor may read directly; ``Database.warm`` for every node. A target is one engine at one as-of date
(``Target`` below); ``dashboard.model.AsOfTarget`` is DuckDB's. docs/graph.md describes the graph and this API.
"""

from __future__ import annotations

import importlib
import json
import re
import threading
import weakref
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable, Protocol

from dashboard.sources import CONTRACT

QUERIES_DIR = Path(__file__).resolve().parent.parent / "queries"
KINDS = ("source", "sql", "python")
HEADER_PARAMS = re.compile(r"^--\s*Params:\s*(.*)$", re.MULTILINE | re.IGNORECASE)
HEADER_READS = re.compile(r"^--\s*Reads:\s*(.*)$", re.MULTILINE | re.IGNORECASE)
HEADER_CREATES = re.compile(r"^--\s*Creates:\s*(.*)$", re.MULTILINE | re.IGNORECASE)
_NAME = re.compile(r"^[a-z_][a-z0-9_]*(\(\))?$")

# The row-level model every aggregate reads (marked '*' in ``describe``). Built when something first reads them,
# like every other node: a first page or a one-off report on new exports builds only the part it needs (the
# weekly review's cards need neither customer_activity nor the tickets).
MODEL_NODES = (
    "model_info",
    "model_local_offsets",
    "model_valid_orders",
    "model_customer_summary",
    "model_customer_activity",
    "model_valid_surveys",
    "model_valid_tickets",
    "model_valid_returns",
    "model_segment_customers",
)
# Built with the schema of an as-of date, before ``Database.cursor(as_of)`` returns: Python reads these directly
# (``metrics.model_as_of``), not through a query that declares them.
CURSOR_NODES = ("model_info",)


# SQL files ``Database.open`` runs once per version of the exports, in memory.main, before any as-of model: source
# nodes like the clean tables (privacy_macros: the customer_label() macro every query showing a customer id calls,
# and the pseudonym_key table it reads; model_text_masking: mask_contact_details() and the other masking macros the
# model's free text goes through; model_wilson_interval: wilson_low(), wilson_high()).
OPENED_BY_DATABASE = ("privacy_macros", "model_text_masking", "model_wilson_interval")


@dataclass(frozen=True)
class PythonNode:
    """A node built by a Python function (``builder``, "module:function", called with a ``Target``).

    ``steps``: the SQL files it runs at its own as-of date (their headers say what they read and create);
    ``registers``: frames it makes readable to its steps while it builds; ``earlier_steps``: SQL files it runs at
    the as-of date ``earlier_days`` before its own (the backtest refits the model at its cutoff).
    """

    name: str
    builder: str
    steps: tuple[str, ...]
    description: str
    registers: tuple[str, ...] = ()
    earlier_steps: tuple[str, ...] = ()
    earlier_days: int = 0


# Frames read fresh for each query that reads them (no node builds them: they change while the app runs, so they
# are never stored): name -> the "module:function" that makes the pandas frame from the target (graph.Target),
# registered on the query's cursor while it runs. A query's '-- Reads:' line names them like tables.
# recorded_campaigns: the campaigns this app recorded in its state folder when a list was exported.
CALLER_FRAMES = {"recorded_campaigns": "dashboard.campaigns:recorded_for"}

PYTHON_NODES = (
    PythonNode(
        "customer_scores",
        builder="dashboard.churn:build_customer_scores",
        steps=("churn_features", "churn_season_repeat_days", "churn_rfm_segment_map", "churn_rfm_macro",
               "churn_customer_scores", "churn_winback_macro", "churn_model_fit"),
        registers=("churn_model_scores",),
        description="fits the MBG/NBD and Gamma-Gamma on churn_features and stores one row of scores per customer "
                    "(docs/churn.md)",
    ),
    PythonNode(
        "customer_movements",
        builder="dashboard.churn:build_customer_movements",
        steps=("churn_model_info", "churn_features", "churn_movements_store"),
        registers=("movement_features",),
        description="every customer's lifecycle state and RFM segment 7 and 28 days earlier, under today's fit "
                    "(the churn page's movement matrix)",
    ),
    PythonNode(
        "churn_backtest",
        builder="dashboard.churn:build_stored_backtest",
        steps=("churn_backtest_store", "churn_backtest_store_calibration"),
        registers=("computed_backtest_calibration",),
        earlier_steps=("churn_features", "churn_season_repeat_days", "churn_backtest_outcomes"),
        earlier_days=90,  # churn.RISK_HORIZON_DAYS (a test checks they agree)
        description="refits the churn model 90 days before the as-of date and stores how it ranked what happened "
                    "next (the churn page's backtest)",
    ),
    PythonNode(
        "themes",
        builder="dashboard.themes:build_themes",
        steps=("theme_fit_texts", "theme_store"),
        registers=("computed_themes", "computed_theme_texts"),
        description="groups survey comments and ticket texts into themes (TF-IDF + NMF) with their sentiment "
                    "(VADER), fitted once per version of the exports on all its distinct masked texts and stored "
                    "at each as-of date (the Why customers leave page)",
    ),
)


@dataclass(frozen=True)
class Node:
    """One derived table (or a few built together), built once per as-of date (sources: per version of the exports).

    ``creates``: tables and macros (``name()``) it makes; ``reads``: the nodes it reads at its own as-of date;
    ``params``: the as-of parameters its SQL takes (of ``Target.parameters()``).
    """

    name: str
    kind: str
    creates: tuple[str, ...]
    reads: tuple[str, ...]
    sql: str | None = None
    params: tuple[str, ...] = ()
    builder: str | None = None
    steps: tuple[str, ...] = ()
    registers: tuple[str, ...] = ()
    earlier_reads: tuple[str, ...] = ()
    earlier_steps: tuple[str, ...] = ()
    earlier_days: int = 0
    description: str = ""

    @property
    def tables(self) -> tuple[str, ...]:
        """The tables it creates (not its macros): the node is built when they all exist."""
        return tuple(name for name in self.creates if not name.endswith("()"))

    @property
    def label(self) -> str:
        """What it builds, for people waiting on it: ``valid orders``, ``overview weekly care windows``."""
        table = self.tables[0] if self.tables else self.name
        return table.removeprefix("cube_").replace("_", " ")

    @property
    def source(self) -> str:
        """Where it is defined, for people: ``queries/x.sql``, ``dashboard.churn:build_customer_scores``, ..."""
        if self.kind == "sql":
            return f"queries/{self.sql}.sql"
        if self.kind == "python":
            return self.builder
        return "Database.open, once per version of the exports"


@dataclass(frozen=True)
class Query:
    """A SQL file that creates nothing: ``reads`` are the nodes it reads, ``params`` what a caller binds."""

    name: str
    reads: tuple[str, ...]
    params: tuple[str, ...]
    frames: tuple[str, ...] = ()  # the CALLER_FRAMES it reads

    @property
    def source(self) -> str:
        return f"queries/{self.name}.sql"


@dataclass(frozen=True)
class Graph:
    """Every node (in build order: dependencies first) and every query, with who creates each table or macro."""

    nodes: dict[str, Node]
    queries: dict[str, Query]
    creators: dict[str, str]  # table or macro name -> the node that creates it

    def reads_of(self, name: str) -> tuple[str, ...]:
        """The nodes a node or a query reads directly."""
        if name in self.nodes:
            return self.nodes[name].reads
        if name in self.queries:
            return self.queries[name].reads
        raise KeyError(f"no node or SQL file named {name!r} (queries/{name}.sql)")

    def upstream(self, names: Iterable[str]) -> list[Node]:
        """Every node the named nodes or queries read, directly or not, in build order (the named nodes too)."""
        wanted: set[str] = set()
        pending = list(names)
        while pending:
            name = pending.pop()
            if name in self.nodes and name not in wanted:
                wanted.add(name)
            pending.extend(read for read in self.reads_of(name) if read not in wanted)
        return [node for name, node in self.nodes.items() if name in wanted]


def load_sql(name: str) -> str:
    """The text of ``queries/<name>.sql``."""
    return _load_sql(name)


@lru_cache(maxsize=None)
def _load_sql(name: str) -> str:
    path = QUERIES_DIR / f"{name}.sql"
    if not path.is_file():
        raise KeyError(f"no SQL file queries/{name}.sql")
    return path.read_text(encoding="utf-8")


def declared_parameters(sql: str) -> set[str]:
    """Names listed in the file's ``-- Params:`` header line (empty when it says none)."""
    match = HEADER_PARAMS.search(sql)
    if not match:
        return set()
    return set(re.findall(r"\$([a-z_][a-z0-9_]*)", match.group(1)))


def _header_names(sql: str, header: re.Pattern, file: str, what: str) -> tuple[str, ...] | None:
    """The names on a file's ``-- Reads:`` or ``-- Creates:`` lines (None without one; ``none`` means empty)."""
    lines = header.findall(sql)
    if not lines:
        return None
    names = []
    for line in lines:
        for name in (part.strip() for part in line.split(",")):
            if name.lower() in ("", "none"):
                continue
            if not _NAME.match(name):
                raise ValueError(f"queries/{file}.sql: {name!r} on its '-- {what}:' line is not a table name or a "
                                 "macro name followed by ()")
            names.append(name)
    return tuple(sorted(set(names)))


def declared_reads(sql: str, file: str = "?") -> tuple[str, ...] | None:
    """The tables and macros (``name()``) a file's ``-- Reads:`` lines name; None when it has none."""
    return _header_names(sql, HEADER_READS, file, "Reads")


def declared_creates(sql: str, file: str = "?") -> tuple[str, ...]:
    """The tables and macros (``name()``) a file's ``-- Creates:`` lines name (empty for a query)."""
    return _header_names(sql, HEADER_CREATES, file, "Creates") or ()


def sql_files() -> list[str]:
    """Every SQL file's name (without ``.sql``), sorted."""
    return sorted(path.stem for path in QUERIES_DIR.glob("*.sql"))


@lru_cache(maxsize=1)
def load() -> Graph:
    """The graph declared by the SQL files' headers, ``PYTHON_NODES`` and the exports' contract (cached)."""
    headers = {}
    for file in sql_files():
        sql = load_sql(file)
        reads = declared_reads(sql, file)
        if reads is None:
            raise ValueError(f"queries/{file}.sql has no '-- Reads:' header line (write '-- Reads: none' when it "
                             "reads no table); tests/test_graph.py says which line to write")
        creates = declared_creates(sql, file)
        headers[file] = (tuple(name for name in reads if name not in creates), creates,
                         tuple(sorted(declared_parameters(sql))))

    nodes: dict[str, dict] = {}
    creators: dict[str, str] = {}

    def add(name: str, kind: str, creates: tuple[str, ...], **details) -> None:
        for created in creates:
            if created in creators:
                raise ValueError(f"{created} is created by both {creators[created]} and {name}")
            creators[created] = name
        nodes[name] = {"name": name, "kind": kind, "creates": creates, **details}

    for table in CONTRACT:
        add(f"clean_{table}", "source", (f"clean_{table}",), reads=(),
            description=f"the {table} export's usable rows, first copy of each id")
    steps_of_python = {step for node in PYTHON_NODES for step in (*node.steps, *node.earlier_steps)}
    for file, (reads, creates, params) in headers.items():
        if creates and file in OPENED_BY_DATABASE:
            add(file, "source", creates, sql=file, params=params, table_reads=reads,
                description="created once when the exports are opened, in memory.main")
        elif creates and file not in steps_of_python:
            add(file, "sql", creates, sql=file, params=params, table_reads=reads)
    for python in PYTHON_NODES:
        step_creates = tuple(sorted({name for step in python.steps for name in headers[step][1]}))
        inside = set(step_creates) | set(python.registers)
        add(python.name, "python", step_creates, builder=python.builder, steps=python.steps,
            registers=python.registers, earlier_steps=python.earlier_steps, earlier_days=python.earlier_days,
            description=python.description,
            table_reads=tuple(sorted({name for step in python.steps for name in headers[step][0]} - inside)),
            earlier_table_reads=tuple(sorted({name for step in python.earlier_steps for name in headers[step][0]})))

    def to_nodes(names: Iterable[str], reader: str) -> tuple[str, ...]:
        found = []
        for name in names:
            if name not in creators:
                raise ValueError(f"{reader} reads {name}, which no node creates: declare it on the '-- Creates:' "
                                 "line of the SQL file that builds it")
            found.append(creators[name])
        return tuple(sorted(set(found) - {reader}))

    built = {}
    for name, details in nodes.items():
        table_reads = details.pop("table_reads", ())
        earlier = details.pop("earlier_table_reads", ())
        built[name] = Node(reads=to_nodes(table_reads, name) if details["kind"] != "source" else (),
                           earlier_reads=to_nodes(earlier, name), **{k: v for k, v in details.items() if k != "reads"})
    queries = {file: Query(file, to_nodes([name for name in reads if name not in CALLER_FRAMES],
                                          f"queries/{file}.sql"), params,
                           tuple(name for name in reads if name in CALLER_FRAMES))
               for file, (reads, creates, params) in headers.items() if not creates}
    return Graph(_in_build_order(built), queries, creators)


def _in_build_order(nodes: dict[str, Node]) -> dict[str, Node]:
    """Dependencies first; among nodes that are ready, those behind fewer python nodes first, then sources, the model layer,
    then by name. So a full build (``Database.warm``) makes every aggregate the pages read from the model before
    it fits the churn model, and the aggregates of the scores after it.
    """
    depth: dict[str, int] = {}

    def python_depth(name: str, trail: tuple[str, ...] = ()) -> int:
        if name in trail:
            raise ValueError(f"{name} reads itself through {' -> '.join(trail + (name,))}")
        if name not in depth:
            node = nodes[name]
            depth[name] = (node.kind == "python") + max(
                (python_depth(read, trail + (name,)) for read in node.reads), default=0)
        return depth[name]

    ordered: dict[str, Node] = {}
    remaining = dict(nodes)
    while remaining:
        ready = [name for name, node in remaining.items() if all(read in ordered for read in node.reads)]
        if not ready:
            python_depth(next(iter(remaining)))  # raises, naming the cycle
        first = min(ready, key=lambda name: (python_depth(name), remaining[name].kind != "source",
                                            name not in MODEL_NODES, name))
        ordered[first] = remaining.pop(first)
    return ordered


# Building


class Unavailable(ValueError):
    """The data cannot support this node (e.g. no 90 days of history after the backtest's cutoff); the message says
    why. Remembered per (as-of, node), so asking again does not rebuild; pages show the message."""


class Builds:
    """What is built at which as-of date: one lock per (as-of date, node), the nodes known to exist (so a query
    does not look them up in the catalog again), and the nodes the data cannot support (``Unavailable``).
    One per database (or any other place nodes are built); ``forget`` an as-of date whose tables are dropped."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[tuple[date, str], threading.Lock] = {}
        self._built: set[tuple[date, str]] = set()
        self._unavailable: dict[tuple[date, str], str] = {}

    def lock(self, as_of: date, node: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault((as_of, node), threading.Lock())

    def is_built(self, as_of: date, node: str) -> bool:
        with self._guard:
            return (as_of, node) in self._built

    def mark_built(self, as_of: date, node: str) -> None:
        with self._guard:
            self._built.add((as_of, node))

    def unavailable(self, as_of: date, node: str) -> str | None:
        with self._guard:
            return self._unavailable.get((as_of, node))

    def mark_unavailable(self, as_of: date, node: str, reason: str) -> None:
        with self._guard:
            self._unavailable[(as_of, node)] = reason

    def forget(self, as_of: date) -> None:
        """Forget an as-of date whose tables were dropped (its nodes may be built again)."""
        with self._guard:
            for key in [key for key in (*self._locks, *self._unavailable, *self._built) if key[0] == as_of]:
                self._locks.pop(key, None)
                self._unavailable.pop(key, None)
                self._built.discard(key)


class Target(Protocol):
    """One engine at one as-of date: everything ``build`` needs to make a node there.

    DuckDB's is ``dashboard.model.AsOfTarget``; another engine (Spark) implements the same methods.
    """

    as_of: date
    builds: Builds

    def parameters(self) -> dict:
        """The as-of parameters SQL nodes take: ``as_of`` (date), ``cutoff_at`` (naive UTC), ``timezone``."""

    def exists(self, node: Node) -> bool:
        """Whether the node's tables exist at this as-of date (built here or read from a snapshot)."""

    def execute_file(self, sql: str, **params) -> None:
        """Run a SQL file that creates tables or macros (``queries/<sql>.sql``), binding the params it uses."""

    def query(self, sql: str, **params):
        """Run a query file and return its rows (a pandas DataFrame)."""

    def transaction(self) -> AbstractContextManager:
        """All or nothing: what the block creates is there for every reader at its end, or not at all. A
        transaction opened inside another joins it (a builder may register several frames at once)."""

    def registered(self, name: str, frame, as_table: bool = False) -> AbstractContextManager:
        """A transaction in which ``frame`` (pandas) is readable as ``name`` by the SQL run inside it (``as_table``:
        as a temporary table copied from it, for SQL that reads it by name through ``query_table``)."""

    def staged(self, sql: str, **params) -> AbstractContextManager:
        """The rows of a query file held by the engine while the block runs, for a builder that computes on a few
        of their columns (``frame(columns)``, with ``staged_row``) and joins its results back by row
        (``join(name, frames, columns)``: a table readable as ``name`` until the block ends); see
        ``dashboard.model.Staged``."""

    def at(self, as_of: date) -> AbstractContextManager["Target"]:
        """The same engine at another as-of date (its model built there), dropped again afterwards unless it was
        there before (the backtest's cutoff)."""


def builder(node: Node) -> Callable[[Target], None]:
    """The Python function of a python node."""
    module, _, function = node.builder.partition(":")
    return getattr(importlib.import_module(module), function)


def build(node: Node, target: Target) -> None:
    """Build one node at the target's as-of date (its reads must exist): run its SQL file, or its builder."""
    if node.kind == "sql":
        with target.transaction():
            target.execute_file(node.sql, **target.parameters())
    elif node.kind == "python":
        builder(node)(target)
    else:
        raise ValueError(f"{node.name} is a {node.kind} node: it is built when the exports are opened")


def ensure(target: Target, names: Iterable[str], graph: Graph | None = None) -> None:
    """Build every node the named nodes or queries read (and the named nodes) that the target lacks, dependencies
    first, each once: a second caller for the same (as-of, node) waits for the first build and uses it.

    A node that exists is not looked into: its reads were there when it was built (and may have been dropped
    since, to prove that a query reads only its aggregates). Raises the build's error, or ``Unavailable``.
    """
    graph = graph or load()
    for name in names:
        if name in graph.nodes:
            _ensure_node(target, graph.nodes[name], graph)
        else:
            for read in graph.reads_of(name):
                _ensure_node(target, graph.nodes[read], graph)


def pending(target: Target, names: Iterable[str], graph: Graph | None = None) -> list[Node]:
    """What ``ensure(target, names)`` would build now, dependencies first: the nodes the named nodes or queries
    read (directly or not) and the named nodes that the target lacks. Like ``ensure``, a node the target has is
    not looked into (and is marked built), and one the data cannot support is left out with what reads it (its
    ``ensure`` raises ``Unavailable``). Another caller may build some of them meanwhile: ``ensure`` then waits."""
    graph = graph or load()
    builds = target.builds
    missing: dict[str, Node] = {}
    buildable: dict[str, bool] = {}  # each node visited once: whether it is there or can be built

    def visit(node: Node) -> bool:
        if node.name not in buildable:
            if node.kind == "source" or builds.is_built(target.as_of, node.name):
                buildable[node.name] = True
            elif target.exists(node):
                builds.mark_built(target.as_of, node.name)
                buildable[node.name] = True
            elif builds.unavailable(target.as_of, node.name) is not None:
                buildable[node.name] = False
            else:
                buildable[node.name] = all([visit(graph.nodes[read]) for read in node.reads])
                if buildable[node.name]:
                    missing[node.name] = node  # after its reads: dependencies first
        return buildable[node.name]

    for name in names:
        for read in ([name] if name in graph.nodes else graph.reads_of(name)):
            visit(graph.nodes[read])
    return list(missing.values())


def _ensure_node(target: Target, node: Node, graph: Graph) -> None:
    builds = target.builds
    if node.kind == "source" or builds.is_built(target.as_of, node.name):
        return
    if target.exists(node):
        builds.mark_built(target.as_of, node.name)
        return
    reason = builds.unavailable(target.as_of, node.name)
    if reason is not None:
        raise Unavailable(reason)
    for read in node.reads:
        _ensure_node(target, graph.nodes[read], graph)
    with builds.lock(target.as_of, node.name):
        if not target.exists(node):  # else built by the caller this one waited for
            try:
                build(node, target)
            except Unavailable as error:
                builds.mark_unavailable(target.as_of, node.name, str(error))
                raise
        builds.mark_built(target.as_of, node.name)


# Cursors that know their target: ``Database.cursor(as_of)`` binds each cursor it hands out, so that
# ``queries.run_query(cursor, name)`` can build what the query reads. A plain connection builds nothing.

_TARGETS: "weakref.WeakKeyDictionary[object, Callable[[object], Target]]" = weakref.WeakKeyDictionary()
_TARGETS_GUARD = threading.Lock()


def bind(cursor, make_target: Callable[[object], Target]) -> None:
    """Remember how to make the target of a cursor (called with the cursor; must not hold it)."""
    with _TARGETS_GUARD:
        _TARGETS[cursor] = make_target


def target_of(cursor) -> Target | None:
    """The target a cursor was bound to, or None (a plain connection)."""
    with _TARGETS_GUARD:
        make_target = _TARGETS.get(cursor)
    return make_target(cursor) if make_target is not None else None


def ensure_for(cursor, names: Iterable[str]) -> None:
    """``ensure`` on the target of a bound cursor; nothing for a plain connection."""
    target = target_of(cursor)
    if target is not None:
        ensure(target, names)


@contextmanager
def frames_for(cursor, name: str):
    """The CALLER_FRAMES query ``name`` reads, made and registered on a bound cursor while the block runs (one the
    cursor already has is left as it is)."""
    query = load().queries.get(name)
    target = target_of(cursor)
    registered = []
    try:
        for frame in (query.frames if query is not None and target is not None else ()):
            try:
                cursor.table(frame)
                continue
            except Exception:  # duckdb.CatalogException: not registered yet
                pass
            module, function = CALLER_FRAMES[frame].split(":")
            cursor.register(frame, getattr(importlib.import_module(module), function)(target))
            registered.append(frame)
        yield
    finally:
        for frame in registered:
            cursor.unregister(frame)


def is_built(cursor, name: str) -> bool:
    """Whether the node exists for a bound cursor's as-of date (never builds)."""
    target = target_of(cursor)
    return target is not None and target.exists(load().nodes[name])


# Checking the headers against the SQL (tests/test_graph.py; not used to build anything)


def parsed_references(sql: str) -> tuple[set[str], set[str]]:
    """What a SQL text reads and creates, found by DuckDB's own parser: (reads, creates), macros as ``name()``.

    Each statement is split off with ``duckdb.extract_statements``; a ``create table ... as``, ``create macro``
    or plain query has its query part serialised to a parse tree (``json_serialize_sql``), in which every table
    (outside the statement's CTEs), table function and function call is listed. DuckDB's built-in functions are
    left out; what the file creates itself is not a read. Raises ValueError when DuckDB cannot parse it.
    """
    import duckdb

    reads: set[str] = set()
    creates: set[str] = set()
    for statement in duckdb.extract_statements(sql):
        kind, name, body = _statement_parts(statement)
        if name:
            creates.add(f"{name}()" if kind == "macro" else name)
        if body is None:
            continue
        tree = json.loads(_parser().execute("select json_serialize_sql($sql)", {"sql": body}).fetchone()[0])
        if tree.get("error"):
            raise ValueError(f"DuckDB cannot parse: {tree.get('error_message')}")
        _collect_references(tree, frozenset(), reads)
    builtin = _builtin_functions()
    reads = {name for name in reads if not (name.endswith("()") and name[:-2] in builtin)}
    return reads - creates, creates


@lru_cache(maxsize=1)
def _parser():
    import duckdb

    return duckdb.connect()


@lru_cache(maxsize=1)
def _builtin_functions() -> frozenset[str]:
    return frozenset(row[0] for row in _parser().execute("select distinct function_name from duckdb_functions()")
                     .fetchall())


def _statement_parts(statement) -> tuple[str | None, str | None, str | None]:
    """(``table``/``macro``/..., created name, the query part to parse) of one statement; a scalar macro's body
    becomes ``select <body>``. Tokens come from DuckDB's tokenizer, so comments and strings are never matched."""
    import duckdb

    text = statement.query
    if statement.type != duckdb.StatementType.CREATE:
        return None, None, text
    tokens = [(offset, kind) for offset, kind in duckdb.tokenize(text) if kind != duckdb.token_type.comment]
    ends = [offset for offset, _ in tokens[1:]] + [len(text)]
    words = [text[offset:end].strip() for (offset, _), end in zip(tokens, ends)]
    lowered = [word.lower() for word in words]
    index = 1
    while lowered[index] in ("or", "replace", "temp", "temporary"):
        index += 1
    kind = lowered[index]
    index += 1
    if lowered[index:index + 3] == ["if", "not", "exists"]:
        index += 3
    name = words[index]
    depth = 0
    for position in range(index + 1, len(tokens)):
        word = lowered[position]
        depth += (word == "(") - (word == ")")
        if depth == 0 and word == "as" and tokens[position][1] == duckdb.token_type.keyword:
            rest = tokens[position + 1][0]
            if kind == "macro" and lowered[position + 1] == "table":
                return kind, name, text[tokens[position + 2][0]:]
            return kind, name, ("select " if kind == "macro" else "") + text[rest:]
    return kind, name, None


def _collect_references(tree, ctes: frozenset, reads: set[str]) -> None:
    if isinstance(tree, list):
        for item in tree:
            _collect_references(item, ctes, reads)
        return
    if not isinstance(tree, dict):
        return
    if isinstance(tree.get("cte_map"), dict):
        ctes = ctes | {entry["key"].lower() for entry in tree["cte_map"]["map"]}
    if tree.get("type") == "BASE_TABLE" and (tree["schema_name"] or tree["table_name"].lower() not in ctes):
        reads.add(tree["table_name"])
    elif tree.get("type") == "TABLE_FUNCTION" and isinstance(tree.get("function"), dict):
        reads.add(f"{tree['function']['function_name']}()")
    elif tree.get("class") == "FUNCTION":
        reads.add(f"{tree['function_name']}()")
    for value in tree.values():
        _collect_references(value, ctes, reads)


def header_problem(name: str, sql: str | None = None) -> str | None:
    """None when ``queries/<name>.sql``'s ``-- Reads:``/``-- Creates:`` lines say what its SQL reads and creates;
    else what is wrong and the exact lines to write instead."""
    sql = load_sql(name) if sql is None else sql
    reads, creates = parsed_references(sql)
    declared = declared_reads(sql, name)
    declared_made = declared_creates(sql, name)
    if declared is not None and set(declared) - set(declared_made) == reads and set(declared_made) == creates:
        return None
    wrong = []
    if declared is None:
        wrong.append("it has no '-- Reads:' line")
    else:
        missing, extra = reads - set(declared), set(declared) - set(declared_made) - reads
        if missing:
            wrong.append(f"its SQL also reads {', '.join(sorted(missing))}")
        if extra:
            wrong.append(f"its SQL does not read {', '.join(sorted(extra))}")
    if set(declared_made) != creates:
        wrong.append(f"it creates {', '.join(sorted(creates)) or 'nothing'}, its header says "
                     f"{', '.join(declared_made) or 'nothing'}")
    return (f"queries/{name}.sql: {'; '.join(wrong)}. Put these lines under its '-- Params:' line (tables as the SQL "
            f"names them, macros with ()):\n{header_lines(reads, creates)}")


def header_lines(reads: Iterable[str], creates: Iterable[str] = ()) -> str:
    """The header lines that declare these reads (and creates), as a SQL file should carry them."""
    lines = [f"-- Reads: {', '.join(sorted(reads)) or 'none'}"]
    if creates:
        lines.append(f"-- Creates: {', '.join(sorted(creates))}")
    return "\n".join(lines)


# Showing the graph


def describe(graph: Graph | None = None) -> str:
    """The graph as text: each node in build order with what builds it and what it reads, then the queries."""
    graph = graph or load()
    lines = [f"Build graph: {len(graph.nodes)} nodes, {len(graph.queries)} queries (docs/graph.md explains it).",
             "Each node is built once per as-of date (sources once per version of the exports); "
             "'*' marks the row-level model layer every aggregate reads.", "", "Nodes, in build order:"]
    for node in graph.nodes.values():
        mark = "*" if node.name in MODEL_NODES else " "
        lines.append(f" {mark}{node.name}  [{node.kind}] {node.source}")
        if node.description:
            lines.append(f"      {node.description}")
        made = ", ".join(name for name in node.creates if name != node.name)
        if made:
            lines.append(f"      creates {made}")
        if node.steps:
            lines.append(f"      runs {', '.join(node.steps)}")
        if node.reads:
            lines.append(f"      reads {', '.join(node.reads)}")
        if node.earlier_reads:
            lines.append(f"      reads at the as-of date {node.earlier_days} days earlier: {', '.join(node.earlier_reads)}"
                         f" (runs {', '.join(node.earlier_steps)} there)")
    lines += ["", "Queries (create nothing; run by pages, the report and the CLI):"]
    for query in graph.queries.values():
        lines.append(f"  {query.name}  reads {', '.join(query.reads) or 'nothing'}")
    return "\n".join(lines) + "\n"


def _group(node: Node) -> str:
    if node.kind == "source":
        return "exports"
    return "model" if node.name in MODEL_NODES else "derived"


def mermaid(graph: Graph | None = None, with_queries: bool = True) -> str:
    """The graph as a Mermaid flowchart (renders on GitHub): nodes grouped by layer, an arrow from each read."""
    graph = graph or load()
    shapes = {"source": ("[(", ")]"), "sql": ("[", "]"), "python": ("{{", "}}")}
    titles = {"exports": "exports (once per version)", "model": "model (with every as-of cursor)",
              "derived": "aggregates and scores (when first read)"}
    lines = ["flowchart LR"]
    for group, title in titles.items():
        lines.append(f'  subgraph {group}["{title}"]')
        for node in graph.nodes.values():
            if _group(node) == group:
                opening, closing = shapes[node.kind]
                lines.append(f'    {node.name}{opening}"{node.name}"{closing}')
        lines.append("  end")
    if with_queries:
        lines.append('  subgraph queries["queries (pages, report, CLI)"]')
        lines += [f'    q_{query.name}>"{query.name}"]' for query in graph.queries.values()]
        lines.append("  end")
    for node in graph.nodes.values():
        lines += [f"  {read} --> {node.name}" for read in node.reads]
        lines += [f"  {read} -. as of {node.earlier_days} days earlier .-> {node.name}" for read in node.earlier_reads]
    if with_queries:
        for query in graph.queries.values():
            lines += [f"  {read} --> q_{query.name}" for read in query.reads]
    return "\n".join(lines) + "\n"


def dot(graph: Graph | None = None, with_queries: bool = True) -> str:
    """The graph in Graphviz DOT (``dot -Tsvg``): boxes for SQL, hexagons for Python, cylinders for sources."""
    graph = graph or load()
    shapes = {"source": "cylinder", "sql": "box", "python": "hexagon"}
    lines = ["digraph build {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=10];']
    for node in graph.nodes.values():
        lines.append(f'  "{node.name}" [shape={shapes[node.kind]}];')
        lines += [f'  "{read}" -> "{node.name}";' for read in node.reads]
        lines += [f'  "{read}" -> "{node.name}" [style=dashed, label="{node.earlier_days} days earlier"];'
                  for read in node.earlier_reads]
    if with_queries:
        for query in graph.queries.values():
            lines.append(f'  "q:{query.name}" [shape=note, label="{query.name}"];')
            lines += [f'  "{read}" -> "q:{query.name}";' for read in query.reads]
    lines.append("}")
    return "\n".join(lines) + "\n"
