"""The build graph on Spark: the same nodes, from the same SQL files, written as Parquet the app serves.

``prepare(spark, data, out, as_of, timezone)`` (``python -m dashboard prepare --engine spark``):

1. ingest: the exports' files are found and their columns mapped exactly as on one machine
   (``sources.register_sources`` reads only the files' footers); Spark reads the rows, and each batch is typed
   by ``sources``' own SQL in a DuckDB inside the Spark task (``mapInArrow``), so text numbers, text timestamps
   with zones and ids read the same as on one machine; the usable rows and the first copy of each id are kept
   with the same rules (``model.usable_rows_sql``);
2. every node of the graph is built in order at the as-of date: a SQL node's file is translated to Spark SQL
   (``dashboard/engines/transpile.py``) and each table it creates is written as Parquet and read back; the churn
   scores are fitted in Python on a sample of customers (all of them up to ``FIT_SAMPLE_CUSTOMERS``) and scored
   on every customer with ``mapInPandas``;
3. ``manifest.json`` records the exports' fingerprint, the code key, the time zone, the as-of date and every
   node with its tables, so the app (``dashboard/engines/prepared.py``) serves the folder like a snapshot.

Tables with a customer_id are range-partitioned and sorted by it, aggregates by seg_key: a page that reads one
customer or one segment reads a few row groups, not the table.
"""

from __future__ import annotations

import importlib
import json
import os
import secrets
import shutil
import sys
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone as dt_timezone
from pathlib import Path

import pandas as pd

from dashboard import checks, churn, graph, queries, snapshots
from dashboard.engines import transpile
from dashboard.model import STAGED_ROW, cutoff_for, usable_rows_sql
from dashboard.sources import BOOLEAN, CONTRACT, ID, NUMBER, TEXT, TIMESTAMP, register_sources

MANIFEST = "manifest.json"
FORMAT = 1
FIT_SAMPLE_CUSTOMERS = 2_000_000  # the churn model is fitted on at most this many customers (a uniform sample)
SPARK_TYPES = {ID: "string", TEXT: "string", TIMESTAMP: "timestamp", NUMBER: "double", BOOLEAN: "boolean"}
ROWS_PER_FILE = 2_000_000  # a partition of a written table holds about this many rows


class SparkBuildError(RuntimeError):
    """A node failed on Spark; the message names the SQL file (or node) and Spark's reason, in one line."""


def session(master: str | None = None, shuffle_partitions: int | None = None):
    """The SparkSession the environment provides: an active one, ``SPARK_REMOTE`` (Spark Connect), ``master``,
    else ``local[*]``. Its SQL session time zone is UTC: the exports' naive timestamps are UTC."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # the Python workers import this venv's packages
    project = str(Path(__file__).resolve().parents[2])  # and this project (local workers inherit the variable)
    paths = [path for path in os.environ.get("PYTHONPATH", "").split(os.pathsep) if path]
    if project not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([project, *paths])
    from pyspark.sql import SparkSession

    spark = SparkSession.getActiveSession() if master is None else None
    if spark is None:
        builder = SparkSession.builder.appName("retention-dashboard")
        if master:
            builder = builder.master(master)
        elif not os.environ.get("SPARK_REMOTE"):
            builder = builder.master("local[*]")
        if (master or "local").startswith("local") and not os.environ.get("SPARK_REMOTE"):
            # Local mode runs every task in the driver's JVM, 1 GB by default: too little for the graph's asof
            # joins on the demo (a sort ran out of memory). A cluster's own settings are left alone.
            builder = builder.config("spark.driver.memory", os.environ.get("DASHBOARD_SPARK_DRIVER_MEMORY", "4g"))
        spark = builder.getOrCreate()
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    spark.conf.set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    _ship_code(spark)
    if shuffle_partitions:
        spark.conf.set("spark.sql.shuffle.partitions", str(shuffle_partitions))
    return spark


_SHIPPED: set[int] = set()


def _ship_code(spark) -> None:
    """Send this package to the Python workers once per session (a cluster's workers do not have it; local ones
    may run from another directory): the typing and scoring functions run there."""
    import tempfile
    import zipfile

    if id(spark) in _SHIPPED:
        return
    package = Path(__file__).resolve().parents[1]
    archive = Path(tempfile.mkdtemp(prefix="dashboard-code-")) / "dashboard.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for path in sorted(package.rglob("*.py")):
            bundle.write(path, path.relative_to(package.parent).as_posix())
    if hasattr(spark, "sparkContext") and not type(spark).__module__.startswith("pyspark.sql.connect"):
        spark.sparkContext.addPyFile(str(archive))
    else:  # Spark Connect
        spark.addArtifacts(str(archive), pyfile=True)
    _SHIPPED.add(id(spark))


def _one_line(error: BaseException) -> str:
    lines = [line for line in str(error).strip().splitlines() if line.strip()]
    return (lines[0] if lines else type(error).__name__)[:400]


# Ingest


def _typed_batches(select_sql: str):
    """A ``mapInArrow`` function: each Arrow batch of ``raw_<table>`` typed by sources' own DuckDB SELECT."""

    def convert(batches):
        import duckdb
        import pyarrow as pa

        connection = duckdb.connect()
        connection.execute("set TimeZone = 'UTC'")
        for batch in batches:
            raw = pa.Table.from_batches([batch])
            connection.register("raw_batch", raw)
            table = connection.sql(select_sql).to_arrow_table()
            connection.unregister("raw_batch")
            columns = []
            for column in table.columns:  # Spark's timestamp is an instant: naive UTC values, said to be UTC
                if pa.types.is_timestamp(column.type):
                    column = column.cast(pa.timestamp("us", tz="UTC"))
                columns.append(column)
            yield from pa.Table.from_arrays(columns, names=table.column_names).to_batches()
        connection.close()

    return convert


def _spark_schema(table: str) -> str:
    return ", ".join(f"{name} {SPARK_TYPES[kind]}" for name, kind in CONTRACT[table].columns.items())


def ingest(spark, data_dir: Path, now: datetime, tables: dict[str, str]):
    """Register ``<table>`` (canonical columns, every row) and ``clean_<table>`` (usable rows, first copy of each
    id) for every contract table as Spark views named by ``tables``; return the exports' ``Catalog``."""
    import duckdb

    connection = duckdb.connect()
    catalog = register_sources(connection, data_dir, decode=False)  # footers and schemas only
    for name, spec in CONTRACT.items():
        source = catalog.tables[name]
        if source.is_usable:
            select = ", ".join(f"{expression} as {column}" for column, (_, _, expression) in source.columns.items())
            files = [str(path) for path in source.files]
            reader = spark.read.option("mergeSchema", "true")
            base = Path(data_dir) / name
            if base.is_dir() and any("=" in part for path in source.files for part in path.relative_to(base).parts[:-1]):
                reader = reader.option("basePath", str(base))
            raw = reader.parquet(*files)
            typed = raw.mapInArrow(_typed_batches(f"select {select} from raw_batch"), _spark_schema(name))
        else:
            typed = spark.createDataFrame([], _spark_schema(name))
        typed.createOrReplaceTempView(tables[name])
        key, time_column = checks.UNIQUE_KEYS[name]
        usable = transpile.to_spark(transpile.parse(usable_rows_sql(name, now))[0], {}, {}, f"clean_{name}",
                                    {name: tables[name]})
        order = ", ".join(f"{column} asc nulls last" for column in CONTRACT[name].columns)  # DuckDB's order
        # The first copy of each id by time (then by every column), as Database.open keeps it.
        clean = spark.sql(
            f"select {', '.join(CONTRACT[name].columns)} from (select *, case when {key} is null then 1 else "
            f"row_number() over (partition by {key} order by {time_column} asc nulls last, {order}) end "
            f"as copy_number from ({usable}) as usable) where copy_number = 1")
        clean.createOrReplaceTempView(tables[f"clean_{name}"] + "_source")
    connection.close()
    return catalog


# Nodes


@dataclass(frozen=True)
class Step:
    """A node of the build graph as this engine builds it: a SQL file, or a Python builder of this module."""

    name: str
    kind: str  # "sql" or "python"
    sql: str | None = None
    steps: tuple[str, ...] = ()


def graph_steps() -> list[Step]:
    """Every node of the build graph in build order (``dashboard/graph.py``)."""
    return [Step(node.name, node.kind, node.sql, tuple(node.steps))
            for node in graph.load().nodes.values() if node.kind != "source"]


def query_names() -> list[str]:
    """Every SQL file that creates nothing: what pages, the report and the CLI run on the graph's tables."""
    return sorted(name for name in graph.load().queries if not name.startswith("churn_backtest"))


@dataclass
class SparkTarget:
    """Spark at one as-of date: the graph's nodes are built into ``folder`` (one Parquet folder per table) and
    read back as temporary views whose names carry the date (``a20261115__valid_orders``)."""

    spark: object
    as_of: date
    timezone: str
    folder: Path
    shared: dict[str, str]  # clean tables and exports: name -> view
    tables: dict[str, str] = field(default_factory=dict)  # tables built at this date: name -> view
    macros: dict[str, transpile.Macro] = field(default_factory=dict)
    interval_columns: dict[str, list[str]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # node -> build time
    partitions: int = 4
    # The macros of the files Database.open runs (graph.OPENED_BY_DATABASE: customer_label(), the text masking,
    # the Wilson interval), shared by every as-of date like the clean tables; see open_sources.
    source_macros: dict[str, transpile.Macro] = field(default_factory=dict)
    builds: object = None  # the graph's Builds of this version of the exports (a python node keys its cache by it)
    # The serving app's state folder: a query reading a graph.CALLER_FRAMES frame (recorded_campaigns) is given the
    # frame made from it, as the app gives it; None: such a query is refused.
    state_dir: Path | None = None
    staged_frames: dict[str, pd.DataFrame] = field(default_factory=dict)  # DriverStaged.join's tables, by name

    def __post_init__(self) -> None:
        for name, macro in self.source_macros.items():
            self.macros.setdefault(name, macro)
        if self.builds is None:
            self.builds = graph.Builds()

    @property
    def prefix(self) -> str:
        return f"a{self.as_of:%Y%m%d}__"

    def parameters(self) -> dict:
        """``$as_of``, ``$cutoff_at`` (the first UTC instant after the as-of day) and ``$timezone``."""
        return {"as_of": self.as_of, "cutoff_at": cutoff_for(self.as_of, self.timezone), "timezone": self.timezone}

    def exists(self, node) -> bool:
        """Whether every table of a graph node is built at this date (``graph.Target``)."""
        return all(table.lower() in self.tables or table.lower() in self.shared for table in node.tables)

    def _names(self) -> dict[str, str]:
        return {**self.shared, **self.tables}

    def statements(self, sql: str, **params) -> list[transpile.Statement]:
        """The Spark statements of ``queries/<sql>.sql`` at this date (its macros registered here)."""
        text, bound = queries.bind(sql, {**self.parameters(), **params})
        return transpile.translate(text, bound, self.macros, sql, self._names())

    def frame(self, sql: str, **params):
        """The Spark DataFrame of a query file (not collected)."""
        self._register_caller_frames(sql)
        statements = self.statements(sql, **params)
        if len(statements) != 1 or statements[0].kind != "query":
            raise SparkBuildError(f"queries/{sql}.sql is not one query")
        try:
            return self.spark.sql(statements[0].sql)
        except Exception as error:
            raise SparkBuildError(f"queries/{sql}.sql failed on Spark: {_one_line(error)}") from error

    def query(self, sql: str, **params) -> pd.DataFrame:
        """Run a query file and return its rows as pandas (what ``queries.run_query`` returns on DuckDB)."""
        frame = self.frame(sql, **params)
        try:
            return frame.toPandas()
        except Exception as error:
            raise SparkBuildError(f"queries/{sql}.sql failed on Spark: {_one_line(error)}") from error

    def _register_caller_frames(self, sql: str) -> None:
        query = graph.load().queries.get(sql)
        for name in getattr(query, "frames", ()):
            if self.state_dir is None:
                raise SparkBuildError(f"queries/{sql}.sql reads {name}, made from the serving app's state folder; "
                                      "this Spark target has none")
            module, _, function = graph.CALLER_FRAMES[name].partition(":")
            self.register_frame(name, getattr(importlib.import_module(module), function)(self))

    def execute_file(self, sql: str, **params) -> None:
        """``graph.Target.execute_file``: see ``execute``."""
        self.execute(sql, **params)

    def execute(self, sql: str, **params) -> None:
        """Run a file that creates tables (each written as Parquet) and macros (kept for later files)."""
        for statement in self.statements(sql, **params):
            if statement.kind == "query":
                raise SparkBuildError(f"queries/{sql}.sql: a query in a file that builds tables")
            try:
                self.materialize(statement.name, self.spark.sql(statement.sql))
            except SparkBuildError:
                raise
            except Exception as error:
                raise SparkBuildError(f"queries/{sql}.sql failed on Spark: {_one_line(error)}") from error

    def materialize(self, name: str, frame) -> None:
        """Write a table as Parquet under the folder (per-customer tables range-partitioned and sorted by
        customer_id, aggregates by seg_key) and read it back as this date's view of ``name``."""
        from pyspark.sql import functions
        from pyspark.sql.types import DayTimeIntervalType

        intervals = [item.name for item in frame.schema.fields if isinstance(item.dataType, DayTimeIntervalType)]
        for column in intervals:  # Parquet has no interval type: microseconds, turned back on reading
            frame = frame.withColumn(column, functions.expr(f"cast(extract(second from {column}) * 1000000 as bigint)"
                                                            f" + cast(extract(minute from {column}) as bigint) * 60000000"
                                                            f" + cast(extract(hour from {column}) as bigint) * 3600000000"
                                                            f" + cast(extract(day from {column}) as bigint) * 86400000000"))
        columns = frame.columns
        key = next((column for column in ("customer_id", "seg_key") if column in columns), None)
        if key is not None:
            frame = frame.repartitionByRange(self.partitions, key).sortWithinPartitions(key)
        path = self.folder / name
        frame.write.mode("overwrite").parquet(str(path))
        self.interval_columns[name] = intervals
        self.tables[name.lower()] = self.prefix + name
        self._register(name)

    def _register(self, name: str) -> None:
        frame = self.spark.read.parquet(str(self.folder / name))
        if self.interval_columns.get(name):
            from pyspark.sql import functions

            for column in self.interval_columns[name]:
                frame = frame.withColumn(column, functions.expr(f"make_dt_interval(0, 0, 0, {column} / 1000000)"))
        frame.createOrReplaceTempView(self.prefix + name)

    def register_frame(self, name: str, frame) -> None:
        """A DataFrame (Spark or pandas) readable as ``name`` by the files run at this date (not written)."""
        if isinstance(frame, pd.DataFrame):
            frame = self.spark.createDataFrame(frame, schema=_spark_schema_of(frame) if frame.empty else None)
        frame.createOrReplaceTempView(self.prefix + name)
        self.tables[name.lower()] = self.prefix + name

    def drop(self) -> None:
        """Forget this date's views and remove its folder (a date built only to be read once: the backtest's)."""
        for view in self.tables.values():
            self.spark.catalog.dropTempView(view)
        shutil.rmtree(self.folder, ignore_errors=True)

    @contextmanager
    def at(self, as_of: date):
        """The same engine at another date, its model built in a scratch folder and dropped afterwards."""
        other = SparkTarget(self.spark, as_of, self.timezone, self.folder.parent / f".{as_of:%Y%m%d}-scratch",
                            self.shared, partitions=self.partitions, source_macros=self.source_macros,
                            builds=self.builds)
        try:
            build_model(other)  # as graph.Target.at promises: the model is there at the other date
            yield other
        finally:
            other.drop()

    @contextmanager
    def staged(self, sql: str, **params):
        """``graph.Target.staged`` on the driver: the query's rows come to pandas, as ``query`` brings them, and
        what is joined to them is registered like ``registered``'s frames (the Spark builder of customer_scores
        keeps its features distributed instead; this serves the generic builders, the lifecycle movements)."""
        staged = DriverStaged(self, self.query(sql, **params))
        try:
            yield staged
        finally:
            for name in staged.joined:
                self.staged_frames.pop(name, None)

    def registered(self, name: str, frame, as_table: bool = False):
        """``graph.Target.registered``: ``frame`` readable as ``name`` (also through ``query_table('name')``,
        which the translation expands to the name)."""
        self.register_frame(name, frame)
        return nullcontext(self)

    def transaction(self):
        return nullcontext(self)


class DriverStaged:
    """``dashboard.model.Staged`` for an engine whose query results come to the driver as pandas (Spark):
    ``frame`` numbers the rows, ``join`` matches the frames' rows to them and registers the result."""

    def __init__(self, target: SparkTarget, rows: pd.DataFrame) -> None:
        self.target, self.rows, self.joined = target, rows.reset_index(drop=True), []

    def frame(self, columns, positive: str | None = None) -> pd.DataFrame:
        frame = self.rows[list(columns)].copy()
        frame.insert(0, STAGED_ROW, range(len(frame)))
        return frame if positive is None else frame[self.rows[positive] > 0]

    def batches(self, columns, size: int):
        frame = self.frame(columns)
        for start in range(0, max(len(frame), 1), size):
            yield frame.iloc[start:start + size]

    def counts(self, columns) -> pd.DataFrame:
        return (self.rows.groupby(list(columns), dropna=False).size().rename("customers").reset_index()
                .sort_values(list(columns), ignore_index=True))

    def mean(self, column: str) -> float:
        return float(pd.to_numeric(self.rows[column]).mean()) if len(self.rows) else float("nan")

    def join(self, name: str, frames, columns=None) -> None:
        results = pd.concat(list(frames), ignore_index=True)
        kept = self.rows if columns is None else self.rows[list(columns)]
        rows = kept.iloc[results[STAGED_ROW].to_numpy()].reset_index(drop=True)
        joined = pd.concat([rows, results.drop(columns=STAGED_ROW)], axis=1)
        if name in self.target.staged_frames:
            joined = pd.concat([self.target.staged_frames[name], joined], ignore_index=True)
        else:
            self.joined.append(name)
        self.target.staged_frames[name] = joined
        self.target.register_frame(name, joined)

    def drop_source(self) -> None:
        """Nothing to give back: the rows are the driver's, dropped with this object."""


def _spark_schema_of(frame: pd.DataFrame) -> str:
    """A Spark schema for a pandas frame Spark cannot infer one from (no rows): from its dtypes."""
    def kind(dtype) -> str:
        if pd.api.types.is_bool_dtype(dtype):
            return "boolean"
        if pd.api.types.is_integer_dtype(dtype):
            return "bigint"
        if pd.api.types.is_float_dtype(dtype):
            return "double"
        if pd.api.types.is_datetime64_any_dtype(dtype):
            return "timestamp"
        return "string"

    return ", ".join(f"`{column}` {kind(dtype)}" for column, dtype in frame.dtypes.items())


def open_sources(target: SparkTarget, pseudonym_key: str) -> list[str]:
    """Run the SQL files ``Database.open`` runs before any model (``graph.OPENED_BY_DATABASE``): their macros
    (customer_label(), mask_contact_details(), wilson_low(), ...) are kept for every as-of date; their tables
    (``pseudonym_key``) become Spark views that are never written to the prepared folder (the key is a secret of
    whoever serves: the app installs its own). Returns the files run."""
    files = list(graph.OPENED_BY_DATABASE)
    for file in files:
        for statement in target.statements(file, pseudonym_key=pseudonym_key):
            if statement.kind == "query":
                raise SparkBuildError(f"queries/{file}.sql: a query in a file that builds tables")
            try:
                target.spark.sql(statement.sql).createOrReplaceTempView(statement.name)
            except Exception as error:
                raise SparkBuildError(f"queries/{file}.sql failed on Spark: {_one_line(error)}") from error
            target.shared[statement.name.lower()] = statement.name
    target.source_macros.update(target.macros)
    return files


def _model_info(target: SparkTarget) -> None:
    params = target.parameters()
    frame = target.spark.sql(
        f"select {transpile.literal(params['as_of']).sql('spark')} as as_of, "
        f"{transpile.literal(params['cutoff_at']).sql('spark')} as cutoff_at, "
        f"{transpile.literal(params['timezone']).sql('spark')} as timezone")
    target.materialize("model_info", frame)


def _seasonality(target: SparkTarget, features):
    """``churn.estimate_seasonality`` at the target's date, from the customers' first purchase days counted on
    Spark: one row per day with its customer count reaches the driver, never one per customer."""
    days = features.groupBy("first_purchased_on").count().toPandas()
    return churn.seasonality_of_first_days(target, churn.day_numbers(days), days["count"].to_numpy(dtype=float))


def build_customer_scores(target: SparkTarget) -> churn.ModelInfo:
    """The node customer_scores on Spark (``churn.build_customer_scores`` on one machine): churn_features stays
    distributed; the seasonal index is measured as there; the purchase model and Gamma-Gamma are fitted in Python
    on a uniform sample (every customer up to ``FIT_SAMPLE_CUSTOMERS``) and every customer is predicted in
    batches with ``mapInPandas``; then the same SQL files as on one machine write the scores tables."""
    from pyspark.sql import functions

    features = target.frame("churn_features")
    count = features.count()
    sample = features if count <= FIT_SAMPLE_CUSTOMERS else features.sample(
        fraction=min(1.0, 1.2 * FIT_SAMPLE_CUSTOMERS / count), seed=20)
    season = _seasonality(target, features)
    earliest = features.agg(functions.min("first_purchased_on")).collect()[0][0]
    first_day = None if earliest is None else (earliest - date(1970, 1, 1)).days
    models = churn.fit_models(sample.toPandas(), season, first_day=first_day)
    info = replace(models.info, as_of=target.as_of, n_customers=count)
    names = [name for name in churn.PREDICTION_COLUMNS if name != "expected_orders"]  # 90 days: _90d
    kinds = {"expected_next_order_on": "date", "is_overdue": "boolean", "lifecycle_state": "string"}
    schema = features.schema.simpleString()[len("struct<"):-1].replace(":", " ")
    schema += ", " + ", ".join(f"{name} {kinds.get(name, 'double')}" for name in names) + ", snapshot smallint"

    def score(batches):
        import numpy as np

        for batch in batches:
            predictions = churn.apply_models(batch, models)
            for name in names:
                values = predictions[name]
                if name == "expected_next_order_on":
                    values = pd.to_datetime(values).dt.date.astype(object).where(values.notna(), None)
                elif name == "lifecycle_state":
                    values = values.astype(object).where(values.notna(), None)
                batch[name] = values.to_numpy()
            batch["snapshot"] = np.zeros(len(batch), dtype=np.int16)  # customer_rfm's snapshot: the as-of date
            yield batch

    target.materialize("churn_model_scores", features.mapInPandas(score, schema))
    target.execute("churn_rfm_segment_map")
    target.execute("churn_rfm_macro")
    target.execute("churn_customer_scores", high_risk=churn.HIGH_RISK, medium_risk=churn.MEDIUM_RISK,
                   overdue_gap_ratio=churn.OVERDUE_GAP_RATIO, slow_resolution_days=churn.SLOW_RESOLUTION_DAYS,
                   falling_value_share=churn.FALLING_VALUE_SHARE)
    target.execute("churn_winback_macro")
    target.execute("churn_model_fit", as_of=info.as_of, method=info.method, n_customers=info.n_customers,
                   r=info.r, alpha=info.alpha, a=info.a, b=info.b, gg_p=info.gg_p, gg_q=info.gg_q, gg_v=info.gg_v,
                   message=info.message,
                   season_index=None if info.season_index is None else ",".join(f"{v!r}" for v in info.season_index),
                   season_message=info.season_message)
    return info


def build_stored_backtest(target: SparkTarget) -> str | None:
    """The node churn_backtest on Spark: ``churn.build_stored_backtest`` itself (the model at the cutoff is
    built by ``SparkTarget.at``; the cutoff's customers are predicted in Python on the driver). Returns why there
    is no backtest (too little history after the cutoff), or None."""
    try:
        churn.build_stored_backtest(target)
    except graph.Unavailable as error:
        return str(error)
    return None


def build_model(target: SparkTarget) -> None:
    """Only the model layer (model_info and the model_* files) at the target's date."""
    for step in graph_steps():
        if step.name == "model_info" and step.kind == "python":
            _model_info(target)
        elif step.kind == "sql" and step.name in graph.MODEL_NODES:
            target.execute(step.sql)


def build_all(target: SparkTarget, progress=None) -> dict[str, str]:
    """Every node of the graph at the target's date, in order; returns the nodes that could not be built, each
    with why (the data cannot support it: e.g. the backtest without 90 days after its cutoff)."""
    unavailable = {}
    for step in graph_steps():
        started = time.perf_counter()
        if step.name == "model_info" and step.kind == "python":
            _model_info(target)
        elif step.kind == "sql":
            target.execute(step.sql)
        elif step.name == "customer_scores":
            build_customer_scores(target)
        elif step.name == "churn_backtest":
            reason = build_stored_backtest(target)
            if reason:
                unavailable[step.name] = reason
        else:  # a python node of the graph that needs nothing of Spark's own: its builder runs on this target
            graph.builder(graph.load().nodes[step.name])(target)
        target.seconds[step.name] = time.perf_counter() - started
        if progress:
            progress(step.name, target.seconds[step.name])
    return unavailable


# The prepared folder


def _clean_tables(spark, target: SparkTarget, shared: dict[str, str]) -> None:
    """Write the clean tables as Parquet (the graph's source nodes) and read them back."""
    for name in CONTRACT:
        view = shared[f"clean_{name}"]
        frame = spark.table(view + "_source")
        key = next((column for column in ("customer_id",) if column in frame.columns), None)
        if key:
            frame = frame.repartitionByRange(target.partitions, key).sortWithinPartitions(key)
        path = target.folder / f"clean_{name}"
        frame.write.mode("overwrite").parquet(str(path))
        spark.read.parquet(str(path)).createOrReplaceTempView(view)


def prepare(spark, data_dir: Path, out: Path, as_of: date | None, timezone: str, now: datetime | None = None,
            progress=None, pseudonym_key: str | None = None) -> tuple[dict, "SparkTarget"]:
    """Build every node of the graph on Spark from the exports in data_dir and write the prepared folder ``out``
    (Parquet per table and ``manifest.json``); return the manifest and the target (its views read the folder).
    ``as_of`` defaults to the latest order's date. ``pseudonym_key``: the key customer_label() uses in queries run
    on the returned target (no node stores a label, so the folder does not depend on it; random when not given)."""
    now = now or datetime.now(dt_timezone.utc).replace(tzinfo=None)
    started = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    building = out / ".building"
    shutil.rmtree(building, ignore_errors=True)
    shared = {name: name for name in CONTRACT} | {f"clean_{name}": f"clean_{name}" for name in CONTRACT}
    catalog = ingest(spark, Path(data_dir), now, shared)
    if not (catalog.tables["orders"].is_usable and catalog.tables["orders"].row_count > 0):
        problems = "; ".join(finding.line() for finding in catalog.findings if finding.level == "ERROR")
        raise SparkBuildError(f"orders are not usable: {problems or 'no rows'}")
    partitions = max(1, min(200, catalog.tables["orders"].row_count // ROWS_PER_FILE + 1))
    target = SparkTarget(spark, date(2000, 1, 1), timezone, building, shared, partitions=partitions)
    _clean_tables(spark, target, shared)
    latest = latest_order_date(spark, timezone)
    as_of = as_of or latest or now.date()
    source_macros: dict[str, transpile.Macro] = {}
    target = SparkTarget(spark, as_of, timezone, building, shared, partitions=partitions,
                         source_macros=source_macros)
    opened = open_sources(target, pseudonym_key or secrets.token_hex(16))
    ingest_seconds = time.perf_counter() - started
    unavailable = build_all(target, progress)
    manifest = {
        "format": FORMAT,
        "engine": "spark",
        "spark_version": spark.version,
        "data_dir": str(catalog.data_dir),
        "data_fingerprint": catalog.fingerprint,
        "code_key": snapshots.code_version(),
        "timezone": timezone,
        "as_of": as_of.isoformat(),
        "latest_order_date": latest.isoformat() if latest else None,
        "built_at": now.isoformat(sep=" "),
        "row_counts": {name: source.row_count for name, source in catalog.tables.items()},
        "usable": {name: source.is_usable for name, source in catalog.tables.items()},
        # which export column each canonical column was read from (the pages show only what was exported)
        "columns": {name: {column: list(mapped) for column, mapped in source.columns.items()}
                    for name, source in catalog.tables.items()},
        "findings": [[f.level, f.table, f.column, f.message, f.row_count] for f in catalog.findings],
        "nodes": [{"name": step.name, "kind": step.kind, "sql": step.sql, "steps": list(step.steps),
                   "seconds": round(target.seconds.get(step.name, 0.0), 3)} for step in graph_steps()],
        "unavailable": unavailable,
        "tables": {name: {"interval_columns": target.interval_columns.get(name, [])}
                   for name in sorted(target.interval_columns) if name != "churn_model_scores"}
                  | {f"clean_{name}": {"interval_columns": []} for name in CONTRACT},
        "opened_files": opened,  # run by the app itself when it serves the folder (Database.open's files)
        "macro_files": [file for step in graph_steps() for file in ((step.sql,) if step.sql else step.steps)
                        if transpile.macro_names(queries.load_sql(file), file)],
        "seconds": {"ingest": round(ingest_seconds, 3), "total": round(time.perf_counter() - started, 3)},
    }
    (building / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    for entry in list(out.iterdir()):  # the new folder's contents replace the old ones
        if entry.name != ".building":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    for entry in building.iterdir():
        entry.rename(out / entry.name)
    building.rmdir()
    target.folder = out
    for name in [*target.interval_columns, *(f"clean_{table}" for table in CONTRACT)]:
        if name in target.interval_columns:
            target._register(name)
        else:
            spark.read.parquet(str(out / name)).createOrReplaceTempView(shared[name])
    return manifest, target


def open_folder(spark, folder: Path, pseudonym_key: str, state_dir: Path | None = None) -> SparkTarget:
    """A SparkTarget reading a prepared folder already written (its tables as this date's views, the clean tables
    shared, Database.open's files and the graph's macro files run again for their macros): queries run on it as on
    the target ``prepare`` returns."""
    folder = Path(folder)
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    shared = {name: name for name in CONTRACT} | {f"clean_{name}": f"clean_{name}" for name in CONTRACT}
    for name in CONTRACT:
        spark.read.parquet(str(folder / f"clean_{name}")).createOrReplaceTempView(f"clean_{name}")
    target = SparkTarget(spark, date.fromisoformat(manifest["as_of"]), manifest["timezone"], folder, shared,
                         source_macros={}, state_dir=state_dir)
    open_sources(target, pseudonym_key)
    for name, details in manifest["tables"].items():
        if not name.startswith("clean_"):
            target.interval_columns[name] = details["interval_columns"]
            target.tables[name.lower()] = target.prefix + name
            target._register(name)
    for file in manifest["macro_files"]:
        params = {name: None for name in queries.used_parameters(file)}
        target.statements(file, **{**params, **target.parameters()})  # registers the file's macros
    return target


def latest_order_date(spark, timezone: str) -> date | None:
    """The local date of the latest valid order in the clean orders (``Database.latest_order_date``'s rule)."""
    zone = transpile.literal(timezone).sql("spark")
    row = spark.sql(
        "select cast(max(from_utc_timestamp(ordered_at, " + zone + ")) as date) as latest from clean_orders "
        "where coalesce(lower(trim(status)), '') not in ('cancelled', 'canceled')").collect()[0]
    return row["latest"]
