"""A prepared folder (what ``prepare --engine spark`` writes: one Parquet folder per table and manifest.json) is
served like a snapshot: every query gives the rows DuckDB gives on the exports, with the exports gone. The folder
here is written from DuckDB's own tables, so this runs in make test without Spark; make test-spark serves one
that Spark wrote (tests/test_spark_parity.py)."""

from __future__ import annotations

import json
import shutil
from datetime import datetime

import pyarrow.parquet
import pytest

from dashboard import churn, demo, graph, queries, snapshots
from dashboard.engines import parity, prepared, transpile
from dashboard.model import Database
from dashboard.settings import load_settings
from dashboard.sources import CONTRACT

NOW = datetime(2026, 11, 22, 12, 0)


def write_folder(database: Database, as_of, folder) -> None:
    """The prepared folder's layout, from a DuckDB database built for as_of (intervals as microseconds)."""
    cursor = database.cursor(as_of)
    schema = cursor.execute("select current_schema()").fetchall()[0][0]
    names = [row[0] for row in cursor.execute(
        "select distinct table_name from information_schema.tables where table_schema = $schema",
        {"schema": schema}).fetchall()]
    tables = {}
    for name in [*names, *(f"clean_{table}" for table in CONTRACT)]:
        columns = cursor.execute(f"describe {name}").fetchall()
        intervals = [column for column, kind, *_ in columns if kind.upper() == "INTERVAL"]
        select = ", ".join(f"cast(round(epoch({column}) * 1000000) as bigint) as {column}" if column in intervals else f'"{column}"'
                           for column, *_ in columns)
        (folder / name).mkdir(parents=True)
        # Through Arrow, not pandas: a DATE stays a date (as Spark writes it), not a timestamp.
        pyarrow.parquet.write_table(cursor.sql(f"select {select} from {name}").to_arrow_table(),
                                    folder / name / "part-0.parquet")
        tables[name] = {"interval_columns": intervals}
    cursor.close()
    # Database.open's own files (customer_label(), the masking macros) are run by the server, not the folder.
    macro_files = [name for name in sorted(path.stem for path in queries.QUERIES_DIR.glob("*.sql"))
                   if transpile.macro_names(queries.load_sql(name), name) and name not in graph.OPENED_BY_DATABASE]
    manifest = {
        "format": 1, "engine": "duckdb (test)", "data_dir": str(database.catalog.data_dir),
        "data_fingerprint": database.catalog.fingerprint, "code_key": snapshots.code_version(),
        "timezone": database.settings.timezone, "as_of": as_of.isoformat(), "latest_order_date": as_of.isoformat(),
        "built_at": NOW.isoformat(sep=" "),
        "row_counts": {name: source.row_count for name, source in database.catalog.tables.items()},
        "usable": {name: source.is_usable for name, source in database.catalog.tables.items()},
        "columns": {name: {column: list(mapped) for column, mapped in source.columns.items()}
                    for name, source in database.catalog.tables.items()},
        "findings": [], "nodes": [], "unavailable": {}, "tables": tables, "macro_files": macro_files,
    }
    (folder / prepared.MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("prepared")
    exports = root / "exports"
    demo.generate(exports, customers=800, seed=5)
    settings = load_settings(environ={}, data_dir=exports, timezone="America/New_York", state_dir=root / "state",
                             model_snapshots=False)
    database = Database.open(settings, now=NOW)
    as_of = database.default_as_of()
    database.warm(as_of)
    folder = root / "folder"
    write_folder(database, as_of, folder)
    shutil.rmtree(exports)  # the served database may not read them
    served = Database.open(load_settings(environ={}, data_dir=exports, prepared_dir=folder,
                                         timezone="America/New_York", state_dir=root / "served-state"), now=NOW)
    return database, served, as_of


def query_names():
    return [name for name in sorted(path.stem for path in queries.QUERIES_DIR.glob("*.sql"))
            if not transpile.parse(queries.load_sql(name), name)[0].key == "create"
            and not name.startswith("churn_backtest")]


def test_the_served_folder_knows_its_date_and_orders(served):
    database, folder_database, as_of = served
    assert folder_database.has_orders
    assert folder_database.default_as_of() == as_of
    assert any("served from" in finding.message for finding in folder_database.findings())


@pytest.mark.parametrize("name", query_names())
def test_every_query_gives_the_same_rows_from_the_folder(served, name):
    database, folder_database, as_of = served
    expected_cursor, served_cursor = database.cursor(as_of), folder_database.cursor(as_of)
    cohort_start = expected_cursor.execute("select max(cohort_month) from customer_summary").fetchall()[0][0]
    theme_id = expected_cursor.execute("select coalesce(min(theme_id) filter (where theme_id >= 0), 0) from themes"
                                       ).fetchall()[0][0]
    grains = ("week", "month", "quarter") if "grain" in queries.used_parameters(name) else ("month",)
    for variant in parity.query_variants(name, int(theme_id)):
        for grain in grains:
            params = {**parity.QUERY_DEFAULTS, **churn.WINBACK_ANY, "cohort_start": cohort_start, **variant,
                      "grain": grain}
            if "as_of" in queries.used_parameters(name):  # churn_features: a query of earlier dates too
                params["as_of"] = as_of
            expected = queries.run_query(expected_cursor, name, **params)
            actual = queries.run_query(served_cursor, name, **params)
            assert parity.compare(expected, actual) is None, (
                f"{name} ({grain} {variant}): {parity.compare(expected, actual)}")


def test_a_folder_without_a_manifest_is_refused_in_one_line(tmp_path):
    with pytest.raises(prepared.PreparedError, match="has no manifest.json"):
        Database.open(load_settings(environ={}, prepared_dir=tmp_path, state_dir=tmp_path / "state"))


def test_parity_reads_a_pandas_missing_value_as_null():
    import pandas as pd

    duckdb_rows = pd.DataFrame({"ticket_number": pd.array([1, None], dtype="Int64")})
    spark_rows = pd.DataFrame({"ticket_number": [1.0, None]})
    assert parity.compare(duckdb_rows, spark_rows) is None
    assert parity.compare(duckdb_rows, pd.DataFrame({"ticket_number": [1.0, 2.0]})) is not None


def test_a_folder_prepared_by_other_code_is_flagged_on_every_page_and_command(served, tmp_path, monkeypatch,
                                                                              capsys):
    """Its tables may lack what this code reads (a new column, a new total row), so its numbers may be missing or
    wrong: every page says so in a banner and every command in a warning; a folder of this code says nothing."""
    from dashboard import cli
    from tests.test_app import run_page

    _, folder_database, _ = served
    folder = folder_database.snapshot
    stale = tmp_path / "stale"
    shutil.copytree(folder, stale)
    manifest = json.loads((stale / prepared.MANIFEST).read_text(encoding="utf-8"))
    manifest["code_key"] = "an-older-version"
    (stale / prepared.MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    exports = folder_database.settings.data_dir
    assert folder_database.serving_problem is None
    stale_database = Database.open(load_settings(environ={}, data_dir=exports, prepared_dir=stale,
                                                 timezone="America/New_York", state_dir=tmp_path / "stale-state"),
                                   now=NOW)
    assert "another version of the dashboard's code" in stale_database.serving_problem
    # the Data page lists the same words among its findings
    assert [finding.message for finding in stale_database.findings()
            if finding.level == "WARN" and finding.table == "data"] == [stale_database.serving_problem]
    for served_folder, flagged in ((stale, True), (folder, False)):
        monkeypatch.setenv("DASHBOARD_PREPARED_DIR", str(served_folder))
        monkeypatch.setenv("DASHBOARD_TIMEZONE", "America/New_York")
        for page in ("overview", "reasons"):
            at = run_page(monkeypatch, tmp_path / f"{served_folder.name}-{page}", exports, page)
            assert not at.exception, [item.value for item in at.exception]
            banners = [item.value for item in at.error if "another version of the dashboard's code" in item.value]
            assert len(banners) == int(flagged), (served_folder, page, [item.value for item in at.error])
            if flagged:
                assert f"python -m dashboard prepare --engine spark --out {stale}" in banners[0]
        monkeypatch.setenv("DASHBOARD_STATE_DIR", str(tmp_path / f"cli-state-{served_folder.name}"))
        out = tmp_path / f"report-{served_folder.name}.json"
        assert cli.main(["report", "--format", "json", "--out", str(out)]) == 0
        warnings = [line for line in capsys.readouterr().err.splitlines()
                    if "another version of the dashboard's code" in line]
        assert len(warnings) == int(flagged), warnings
        assert json.loads(out.read_text(encoding="utf-8"))["orders"] > 0
