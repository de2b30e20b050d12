"""Model snapshots (dashboard/snapshots.py): a restart on the same exports reads the saved model and gives the
same answers as a build from the exports; any change to what the model depends on means a new build.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from dashboard import churn, demo, snapshots
from dashboard.model import Database
from dashboard.queries import run_query
from dashboard.settings import load_settings
from tests import broken_exports
from tests.segments import AGGREGATE_QUERIES, SEGMENTS, parameter_sets

NOW = datetime(2026, 11, 22, 12, 0)
PROJECT_ROOT = Path(__file__).resolve().parent.parent
LIST_QUERIES = {
    "cohort_members": {"period_number": 1, "activity": "retained", "show_email": False, "limit": 50, "offset": 0},
    "winback_segment": {"show_pii": False, "limit": 50, "offset": 0, "opted_in_only": False},
    "survey_comments": {"search": "", "kinds": None, "min_score": None, "max_score": None, "limit": 50, "offset": 0,
                        "show_pii": False},
    "theme_examples": {"theme_id": 1, "source": "any", "start_date": None, "end_date": None, "limit": 50, "offset": 0},
    "reasons_customers": {"fact_kind": "ticket_category", "fact_value": "delivery_delay", "outcome": None,
                          "source": "any", "ordered_since": None, "show_email": False, "start_date": None,
                          "end_date": None, "limit": 50, "offset": 0},
}


def settings_for(root: Path, **overrides):
    return load_settings(environ={}, data_dir=root / "data", state_dir=root / "state", **overrides)


def covering_sets(as_of) -> list[dict]:
    """Six of the twelve shared parameter sets: every grain/trend-range pair on the unfiltered segment, and each
    filtered segment once, each with another grain. Every segment rule and every grain reaches the snapshot's
    tables; the full cross product (tests/test_aggregates.py runs it, on the aggregates alone) costs twice as long
    on each of the eight answer sets here and reads no other table."""
    sets = parameter_sets(as_of)
    return [sets[index] for index in (0, 1, 2, 4, 8, 9)]


def answers(database: Database, as_of) -> dict:
    """Every page query over the covering parameter sets, plus the lists, on one as-of date."""
    churn.model_info(database.cursor(as_of))
    cursor = database.cursor(as_of)
    try:
        results = {(name, index): run_query(cursor, name, **params)
                   for name in AGGREGATE_QUERIES for index, params in enumerate(covering_sets(as_of))}
        cohort_start = run_query(cursor, "cohort_retention", **parameter_sets(as_of)[0]).cohort_start.iloc[0]
        for name, extra in LIST_QUERIES.items():
            for index, segment in enumerate(SEGMENTS):
                params = {**segment, **churn.WinbackRules().params(), "grain": "month", "cohort_start": cohort_start,
                          **extra}
                results[(name, index)] = run_query(cursor, name, **params)
        results[("segment_values", 0)] = run_query(cursor, "segment_values")
    finally:
        cursor.close()
    return results


REFIT_RTOL = 1e-6  # two fits of the churn model agree to this (as in test_churn's refit comparisons)


def assert_same_answers(expected: dict, actual: dict, refitted: bool = False) -> None:
    """Every frame equal (floats to 1e-12). With ``refitted`` (actual comes from a separate build, which fits
    the churn model again), the floats of the queries that read the churn scores are compared to REFIT_RTOL:
    DuckDB's parallel sums of order values are not bit-for-bit the same from one build to the next, and the fit
    moves by about 1e-9 with them. Counts and every other query stay exact."""
    assert expected.keys() == actual.keys()
    assert sum(len(frame) for frame in expected.values()) > 1_000, "the demo should give rows to compare"
    for key, frame in expected.items():
        reads_scores = key[0].startswith(("churn_", "winback_"))
        rtol = REFIT_RTOL if refitted and reads_scores else 1e-12
        pd.testing.assert_frame_equal(actual[key], frame, check_exact=False, rtol=rtol, obj=str(key))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Demo exports, a database built from them and prepared (aggregates, scores, snapshot), and its answers."""
    root = tmp_path_factory.mktemp("snapshots")
    demo.generate(root / "data", customers=1_500, seed=11)
    database = Database.open(settings_for(root), now=NOW)
    assert database.snapshot is None
    assert database.prepare() == []
    path = snapshots.snapshot_path(root / "state", database.snapshot_key)
    as_of = database.default_as_of()
    return {"root": root, "database": database, "path": path, "as_of": as_of,
            "answers": answers(database, as_of), "earlier": answers(database, as_of - timedelta(days=40))}


def test_prepare_saves_a_snapshot_and_a_restart_reads_it(built):
    assert built["path"].is_file()
    reopened = Database.open(settings_for(built["root"]), now=NOW)
    assert reopened.snapshot == built["path"]
    assert reopened.default_as_of() == built["as_of"]
    assert_same_answers(built["answers"], answers(reopened, built["as_of"]))
    # Nothing was rebuilt: the model, every aggregate and the scores came from the snapshot.
    cursor = reopened.cursor(built["as_of"])
    built_here = cursor.execute("select table_name from information_schema.tables "
                                "where table_catalog = 'memory' and table_schema like 'asof%'").fetchall()
    assert built_here == []


def assert_same_backtest(expected: churn.Backtest, actual: churn.Backtest) -> None:
    """Same cutoff, counts and method; floats to REFIT_RTOL (each build fits the model again)."""
    for field in ("cutoff", "horizon_days", "horizon_end", "n_customers", "actual_orders", "method", "message"):
        assert getattr(actual, field) == getattr(expected, field), field
    for field in ("silent_share", "auc", "baseline_auc", "predicted_orders"):
        assert getattr(actual, field) == pytest.approx(getattr(expected, field), rel=REFIT_RTOL), field
    assert len(expected.calibration) == 10
    pd.testing.assert_frame_equal(actual.calibration, expected.calibration, check_exact=False, rtol=REFIT_RTOL)


def test_the_backtest_is_computed_by_prepare_and_read_from_the_snapshot(built, tmp_path):
    """The churn page's backtest (the model fitted again 90 days back) is part of what prepare stores: a start
    from the snapshot reads it without building the cutoff's model, and it equals one computed from scratch."""
    as_of = built["as_of"]
    cutoff = as_of - timedelta(days=churn.RISK_HORIZON_DAYS)
    scratch = load_settings(environ={}, data_dir=built["root"] / "data", state_dir=tmp_path / "state",
                            model_snapshots=False)
    computed = churn.backtest(Database.open(scratch, now=NOW), cutoff)
    assert computed.n_customers > 500 and 0.5 < computed.auc < 1
    reopened = Database.open(settings_for(built["root"]), now=NOW)
    assert reopened.snapshot == built["path"]
    assert cutoff not in reopened._snapshot_schemas  # built for the backtest only, and dropped before the save
    assert_same_backtest(computed, churn.backtest(reopened, cutoff))
    assert not reopened.has_model(cutoff)  # read, not computed
    # A cutoff nothing stored is computed as before.
    earlier = cutoff - timedelta(days=7)
    assert churn.stored_backtest(reopened, earlier) is None
    assert churn.backtest(reopened, earlier).cutoff == earlier


def test_a_model_built_in_its_file_answers_the_same_and_becomes_the_snapshot(built, tmp_path):
    """``prepare`` builds in the snapshot's file from the start: same answers before and after it is saved."""
    settings = load_settings(environ={}, data_dir=built["root"] / "data", state_dir=tmp_path / "state")
    database = Database.open(settings, now=NOW, build_in_file=True)
    building = database._build_file
    assert database.snapshot is None and building is not None and building.is_file()
    assert_same_answers(built["answers"], answers(database, built["as_of"]), refitted=True)
    in_memory, = database.cursor().execute(
        "select count(*) from duckdb_tables() where database_name = 'memory' and table_name <> 'pseudonym_key'"
    ).fetchone()
    assert in_memory == 0  # clean tables, model, aggregates and scores are all in the file (the key is per open)
    assert database.prepare() == []
    path = snapshots.snapshot_path(tmp_path / "state", database.snapshot_key)
    assert path.is_file() and not building.exists()
    assert list(database.spill_dir.iterdir()) == []
    with pytest.raises(RuntimeError, match="open the exports again"):
        database.cursor()
    reopened = Database.open(settings, now=NOW)
    assert reopened.snapshot == path
    cutoff = built["as_of"] - timedelta(days=churn.RISK_HORIZON_DAYS)
    assert churn.stored_backtest(reopened, cutoff) is not None  # stored first in this mode (see Database.warm)
    assert cutoff not in reopened._snapshot_schemas
    assert_same_answers(built["answers"], answers(reopened, built["as_of"]), refitted=True)
    assert_same_answers(built["earlier"], answers(reopened, built["as_of"] - timedelta(days=40)), refitted=True)


def test_a_built_database_hands_over_to_its_saved_snapshot(tmp_path):
    """What the app does after its background build: switch to a database that reads the snapshot."""
    demo.generate(tmp_path / "data", customers=600, seed=16)
    database = Database.open(settings_for(tmp_path), now=NOW)
    assert database.reopened_from_snapshot() is None  # nothing saved yet
    findings = database.findings()
    assert database.prepare() == []
    reopened = database.reopened_from_snapshot()
    assert reopened.snapshot == database.snapshot_path and reopened.opened_at == database.opened_at
    assert reopened.findings() == findings and reopened._row_findings is database._row_findings  # not run again
    as_of = database.default_as_of()
    for name in ("kpis", "cohort_retention", "churn_risk_distribution"):
        params = parameter_sets(as_of)[1]
        pd.testing.assert_frame_equal(run_query(reopened.cursor(as_of), name, **params),
                                      run_query(database.cursor(as_of), name, **params))
    assert reopened.reopened_from_snapshot() is None  # reads a snapshot already
    returns = pq.read_table(tmp_path / "data" / "returns.parquet")
    pq.write_table(returns.slice(0, 10), tmp_path / "data" / "returns.parquet")
    assert database.reopened_from_snapshot() is None  # the exports changed: the next rerun reopens them anyway


def test_a_background_build_stops_when_asked_and_saves_nothing(tmp_path):
    """What the app does at exit: a thread still inside DuckDB when Python shuts down aborts the process."""
    demo.generate(tmp_path / "data", customers=4_000, seed=17)
    database = Database.open(settings_for(tmp_path), now=NOW)
    outcome = {}
    worker = threading.Thread(target=lambda: outcome.setdefault("problems", database.prepare()))
    worker.start()
    deadline = time.monotonic() + 60
    while database._warm_cursor is None and worker.is_alive() and time.monotonic() < deadline:
        time.sleep(0.005)
    database.stop_background_work()
    worker.join(timeout=60)
    assert not worker.is_alive()
    assert outcome["problems"][-1] == "stopped before the model snapshot was saved"
    assert not snapshots.snapshot_dir(tmp_path / "state").exists()
    assert database.reopened_from_snapshot() is None
    # A database asked to stop still answers the pages (the build stopped, not the database).
    assert run_query(database.cursor(), "kpis", **parameter_sets(database.default_as_of())[0]).shape[0] == 1


def test_another_as_of_date_is_built_from_the_snapshots_clean_tables(built):
    reopened = Database.open(settings_for(built["root"]), now=NOW)
    assert reopened.snapshot == built["path"]
    earlier = built["as_of"] - timedelta(days=40)
    assert_same_answers(built["earlier"], answers(reopened, earlier), refitted=True)  # fitted again here


def test_a_snapshot_is_read_only_and_shared_with_another_process(built, tmp_path):
    before = (built["path"].stat().st_size, built["path"].stat().st_mtime_ns)
    reopened = Database.open(settings_for(built["root"]), now=NOW)
    answers(reopened, built["as_of"] - timedelta(days=3))  # builds a new as-of schema: in memory, not in the file
    # While this process has it attached, the command line reads it too (the app running during the report).
    environment = {**os.environ, "DASHBOARD_STATE_DIR": str(built["root"] / "state"), "PYTHONPATH": str(PROJECT_ROOT)}
    run = subprocess.run([sys.executable, "-m", "dashboard", "report", "--data", str(built["root"] / "data"),
                          "--format", "json", "--out", "-"], capture_output=True, text=True, env=environment,
                         cwd=tmp_path, timeout=120)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["as_of"] == built["as_of"].isoformat()
    assert (built["path"].stat().st_size, built["path"].stat().st_mtime_ns) == before
    assert reopened.save_snapshot() is None  # read from a snapshot: nothing new to save


def test_changed_exports_are_built_again(tmp_path):
    demo.generate(tmp_path / "data", customers=600, seed=12)
    first = Database.open(settings_for(tmp_path), now=NOW)
    first.prepare()
    returns = pq.read_table(tmp_path / "data" / "returns.parquet")
    pq.write_table(returns.slice(0, returns.num_rows // 2), tmp_path / "data" / "returns.parquet")
    second = Database.open(settings_for(tmp_path), now=NOW)
    assert second.snapshot is None
    count = "select count(*) from valid_returns"
    fresh = Database.open(settings_for(tmp_path, model_snapshots=False), now=NOW)
    assert second.cursor().execute(count).fetchone() == fresh.cursor().execute(count).fetchone()
    assert second.cursor().execute(count).fetchone() != first.cursor().execute(count).fetchone()


def test_another_time_zone_or_code_version_uses_another_snapshot(built, monkeypatch):
    berlin = Database.open(settings_for(built["root"], timezone="Europe/Berlin"), now=NOW)
    assert berlin.snapshot is None
    monkeypatch.setattr(snapshots, "code_version", lambda: "a different version of the code")
    assert Database.open(settings_for(built["root"]), now=NOW).snapshot is None


def test_a_snapshot_stops_being_used_when_a_left_out_future_row_becomes_usable(tmp_path):
    # The demo ends on 2026-11-15; opened on 11-10, its orders from 11-11 on are in the future and left out.
    now = datetime(2026, 11, 10, 6, 0)
    demo.generate(tmp_path / "data", customers=600, seed=13)
    database = Database.open(settings_for(tmp_path), now=now)
    database.prepare()
    earliest_future, = database.cursor().execute(
        "select min(ordered_at) from orders where ordered_at >= $at", {"at": now + timedelta(days=1)}).fetchone()
    assert earliest_future is not None
    last_valid = earliest_future - timedelta(days=1)  # until then that order is still a day or more ahead
    same = Database.open(settings_for(tmp_path), now=last_valid)
    assert same.snapshot is not None
    assert same.default_as_of() == database.default_as_of()
    later = Database.open(settings_for(tmp_path), now=last_valid + timedelta(microseconds=1))
    assert later.snapshot is None
    assert later.default_as_of() > database.default_as_of()


def test_an_unreadable_snapshot_is_replaced(tmp_path):
    demo.generate(tmp_path / "data", customers=300, seed=14)
    database = Database.open(settings_for(tmp_path), now=NOW)
    path = snapshots.snapshot_path(tmp_path / "state", database.snapshot_key)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a duckdb file" * 100)
    reopened = Database.open(settings_for(tmp_path), now=NOW)
    assert reopened.snapshot is None
    assert not path.exists()
    assert reopened.prepare() == []
    assert Database.open(settings_for(tmp_path), now=NOW).snapshot == path


def test_no_snapshot_when_turned_off_or_when_an_export_file_was_left_out(tmp_path):
    demo.generate(tmp_path / "data", customers=300, seed=15)
    database = Database.open(settings_for(tmp_path, model_snapshots=False), now=NOW)
    assert database.prepare() == []
    assert not snapshots.snapshot_dir(tmp_path / "state").exists()
    # A file whose footer reads but whose data does not is left out, so this build is not the exports' model.
    damaged_root = tmp_path / "damaged"
    broken_exports.corrupt_data_pages(damaged_root / "data")
    for build_in_file in (False, True):
        damaged = Database.open(settings_for(damaged_root), now=NOW, build_in_file=build_in_file)
        assert any("not readable" in finding.message for finding in damaged.catalog.findings)
        assert damaged.prepare() == []
        assert not snapshots.snapshot_dir(damaged_root / "state").exists()
        assert list(damaged.spill_dir.iterdir()) == []  # the file a build started in is gone too


def test_only_the_newest_snapshots_are_kept(tmp_path):
    folder = snapshots.snapshot_dir(tmp_path)
    folder.mkdir()
    for age, name in enumerate(["model-a.duckdb", "model-b.duckdb", "model-c.duckdb"]):
        (folder / name).write_text(name)
        os.utime(folder / name, (1_000_000 - age * 100, 1_000_000 - age * 100))
    snapshots.prune(tmp_path, tmp_path / "spill")
    assert sorted(path.name for path in folder.iterdir()) == ["model-a.duckdb", "model-b.duckdb"]


def test_opening_removes_the_partial_snapshots_of_writers_that_stopped(tmp_path):
    """A killed prepare leaves its half-written snapshot and DuckDB's spill files in the spill folder; the next open
    removes them, and only them: not a running process's files (this one's), not a file another process holds
    DuckDB's lock on whatever pid its name carries (a writer in another container), not a recent spill file of a
    process that left no snapshot, nor anything else there."""
    demo.generate(tmp_path / "exports", customers=200, seed=3)
    spill = tmp_path / "state" / "duckdb_tmp"
    spill.mkdir(parents=True)

    def stopped_pid() -> int:
        return int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                                  text=True, check=True).stdout)

    dead, other_dead, elsewhere = stopped_pid(), stopped_pid(), stopped_pid()
    left = [spill / f"snapshot-f985660be662921eec88-{dead}-0a1b2c3d.duckdb",
            spill / f"snapshot-f985660be662921eec88-{dead}-0a1b2c3d.duckdb.wal",
            spill / f"snapshot-f985660be662921eec88-{dead}-99999999.duckdb.wal",
            spill / f"duckdb_temp_{dead}_0_owner", spill / f"duckdb_temp_{dead}_0_storage_DEFAULT-0.tmp",
            spill / f"duckdb_temp_{other_dead}_0_storage_S32K-0.tmp"]
    kept = [spill / f"snapshot-f985660be662921eec88-{os.getpid()}-0a1b2c3d.duckdb",
            spill / f"duckdb_temp_{os.getpid()}_0_storage_S64K-0.tmp",
            spill / f"duckdb_temp_{elsewhere}_0_storage_S64K-0.tmp",  # recent, and no snapshot of its process
            spill / f"snapshot-f985660be662921eec88-{dead}-notours.duckdb", spill / "other.duckdb"]
    for path in left + kept:
        path.write_bytes(b"partial")
    os.utime(left[-1], (time.time() - 2 * 86_400,) * 2)  # a day-old spill file of a stopped process
    held = spill / f"snapshot-f985660be662921eec88-{elsewhere}-0badcafe.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; connection = duckdb.connect(sys.argv[1]); "
                               "print('open', flush=True); time.sleep(120)", str(held)], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        database = Database.open(load_settings(environ={}, data_dir=tmp_path / "exports",
                                               state_dir=tmp_path / "state", model_snapshots=False))
        database.close()
        assert held.exists(), "a file another process holds DuckDB's lock on is left alone"
    finally:
        holder.kill()
        holder.wait()
    assert not [path for path in left if path.exists()]
    assert all(path.exists() for path in kept)


def test_a_restart_from_the_snapshot_shows_the_row_checks_without_reading_every_row_again(tmp_path, monkeypatch):
    """``prepare`` keeps the row checks' findings in the snapshot: a start from it lists the same findings on the
    Data page without the pass over every export (about a minute at 10M orders), and a new build checks again."""
    demo.generate(tmp_path / "data", customers=600, seed=5)
    first = sorted((tmp_path / "data" / "orders").rglob("*.parquet"))[0]
    copies = pq.read_table(first).slice(0, 3)  # three orders exported twice: a finding the row checks make
    pq.write_table(copies, first.parent / "repeated.parquet")
    database = Database.open(settings_for(tmp_path), now=NOW)
    assert database.prepare() == []
    computed = [finding.line() for finding in database.findings()]
    assert any("orders.order_id: duplicate values" in line for line in computed), computed

    def no_second_pass(*args, **kwargs):
        raise AssertionError("the rows were checked again")

    monkeypatch.setattr("dashboard.checks.check_rows", no_second_pass)
    reopened = Database.open(settings_for(tmp_path), now=NOW)
    assert reopened.snapshot is not None
    assert [finding.line() for finding in reopened.findings()] == computed
    monkeypatch.undo()

    fresh = Database.open(settings_for(tmp_path, model_snapshots=False), now=NOW)  # no snapshot: checked here
    assert [finding.line() for finding in fresh.findings()] == computed
